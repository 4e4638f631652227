// Pull style: Consumer::Poll and Consumer::Commit.
//
// The first Poll() (or PollColumns()) starts the coordinator on Impl::runner with a
// QueueProcessor for every shard and switches the readers' checkpoint policy to manual:
// readers must not checkpoint records Poll has not returned yet. Readers append their
// batches, as columns, to Impl::queue (bounded: a full queue blocks the reader until Poll
// makes room); Poll (as records) and PollColumns (as columns, a batch moved whole when it
// fits) hand out up to max_records_per_call records and remember, per shard, where the
// last one is (polled_last).
// Commit() checkpoints those; a later Poll() does it first when the policy is not manual.
//
// Threads: Poll and Commit run on the application's thread (one at a time); the
// QueueProcessor on the reader threads. Impl::mu guards queue, polled_last, pull,
// pull_policy and runner; queue_ready / queue_space (with mu) signal records and room.
// Commit copies the readers' leases under mu and saves without it.
#include <algorithm>
#include <iterator>

#include "consumer/consumer_impl.h"

namespace cinesis {

using consumer::Lease;

void Consumer::Impl::StartPull() {
  std::lock_guard lock(mu);
  if (pull) return;
  pull = true;
  // Pull mode checkpoints through Commit() only: readers must not checkpoint records that
  // Poll has not returned yet.
  pull_policy = o.checkpoint_policy;
  o.checkpoint_policy = CheckpointPolicy::Manual();
  runner = std::thread([this] {
    // A fatal error is kept in `fatal`, which Poll() returns.
    (void)Coordinate(
        [this](const std::string&) { return std::make_unique<QueueProcessor>(*this); });
  });
}

void Consumer::Impl::NotePolled(const ConsumerRecordColumns& batch, std::size_t begin,
                                std::size_t end) {
  // Commit needs each shard's last record only (a queued batch holds one shard's records,
  // but a batch joined from ProcessRecords may hold several).
  std::vector<bool> seen(batch.shard_ids.size(), false);
  std::size_t left = batch.shard_ids.size();
  for (std::size_t i = end; i > begin && left > 0; --i) {
    const std::uint32_t s = batch.shard_index[i - 1];
    if (seen[s]) continue;
    seen[s] = true;
    --left;
    const auto from = batch.sequence_offsets[i - 1];
    polled_last[batch.shard_ids[s]] = {
        batch.sequence_numbers.substr(from, batch.sequence_offsets[i] - from),
        batch.sub_sequence_numbers[i - 1]};
  }
}

Result<ConsumerRecordColumns> Consumer::PollColumns(std::chrono::milliseconds timeout) {
  auto& c = *impl_;
  c.StartPull();
  // Records returned by the previous poll were processed: apply the policy to them.
  if (c.pull_policy.kind != CheckpointPolicy::Kind::kManual) RETURN_IF_ERROR(Commit());
  std::unique_lock lock(c.mu);
  c.queue_ready.wait_for(lock, timeout, [&] { return c.queued > 0 || c.stopping.load(); });
  const auto max = static_cast<std::size_t>(c.o.max_records_per_call);
  ConsumerRecordColumns out;
  while (!c.queue.empty() && out.size() < max) {
    auto& front = c.queue.front().records;
    const std::size_t n = std::min(max - out.size(), front.size() - c.queue_taken);
    c.NotePolled(front, c.queue_taken, c.queue_taken + n);
    if (out.empty() && c.queue_taken == 0 && n == front.size()) {
      out = std::move(front);  // the common case: a whole batch, moved
    } else {
      out.AppendRange(front, c.queue_taken, c.queue_taken + n);
      c.queue_taken += n;
      if (c.queue_taken < front.size()) break;
    }
    c.queue.pop_front();
    c.queue_taken = 0;
  }
  c.queued -= out.size();
  c.queue_space.notify_all();
  if (out.empty() && !c.fatal.ok()) return c.fatal;
  return out;
}

// The record-at-a-time form of PollColumns: the same batch (commit, wait, split, what Commit
// checkpoints), each record copied out of the columns.
Result<std::vector<ConsumerRecord>> Consumer::Poll(std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(ConsumerRecordColumns columns, PollColumns(timeout));
  std::vector<ConsumerRecord> out;
  out.reserve(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) out.push_back(columns.Record(i));
  return out;
}

Status Consumer::Commit() {
  auto& c = *impl_;
  std::map<std::string, consumer::Checkpoint> last;
  std::map<std::string, std::optional<Lease>> leases;
  {
    std::lock_guard lock(c.mu);
    last.swap(c.polled_last);
    for (const auto& [shard, r] : last) {
      auto it = c.readers.find(shard);
      leases[shard] = it != c.readers.end() ? it->second->lease : std::nullopt;
    }
  }
  for (const auto& [shard, r] : last) {
    bool lost = false;
    RETURN_IF_ERROR(c.Save(shard, leases[shard], r, &lost));
  }
  return Status::Ok();
}

namespace {

// Sequence numbers compare as decimal integers (no leading zeros): <0, 0 or >0.
int CompareSequence(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b);
}

}  // namespace

Status Consumer::CommitRecord(std::string_view shard_id, std::string_view sequence_number,
                              std::uint64_t sub_sequence_number) {
  auto& c = *impl_;
  const std::string shard(shard_id);
  consumer::Checkpoint cp{std::string(sequence_number), sub_sequence_number};
  std::optional<Lease> lease;
  {
    std::lock_guard lock(c.mu);
    auto last = c.polled_last.find(shard);
    if (last == c.polled_last.end()) {
      return Status(Code::kFailedPrecondition,
                    "CommitRecord: no record of " + shard + " polled since the last commit");
    }
    const int order = CompareSequence(cp.sequence_number, last->second.sequence_number);
    if (cp.sequence_number.empty() ||
        cp.sequence_number.find_first_not_of("0123456789") != std::string::npos || order > 0 ||
        (order == 0 && cp.sub_sequence_number > last->second.sub_sequence_number)) {
      return Status(Code::kInvalidArgument, "CommitRecord: " + cp.sequence_number +
                                                " is past the last record polled from " + shard);
    }
    auto it = c.readers.find(shard);
    if (it != c.readers.end()) lease = it->second->lease;
  }
  bool lost = false;
  return c.Save(shard, lease, cp, &lost);
}

}  // namespace cinesis
