// Pull style: Consumer::Poll and Consumer::Commit.
//
// The first Poll() starts the coordinator on Impl::runner with a QueueProcessor for every
// shard and switches the readers' checkpoint policy to manual: readers must not checkpoint
// records Poll has not returned yet. Readers append their batches to Impl::queue (bounded:
// a full queue blocks the reader until Poll makes room); Poll hands out up to
// max_records_per_call records and remembers, per shard, the last one (polled_last).
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

Result<std::vector<ConsumerRecord>> Consumer::Poll(std::chrono::milliseconds timeout) {
  auto& c = *impl_;
  {
    std::lock_guard lock(c.mu);
    if (!c.pull) {
      c.pull = true;
      // Pull mode checkpoints through Commit() only: readers must not checkpoint records
      // that Poll has not returned yet.
      c.pull_policy = c.o.checkpoint_policy;
      c.o.checkpoint_policy = CheckpointPolicy::Manual();
      c.runner = std::thread([&c] {
        // A fatal error is kept in c.fatal, which Poll() returns.
        (void)c.Coordinate(
            [&c](const std::string&) { return std::make_unique<QueueProcessor>(c); });
      });
    }
  }
  // Records returned by the previous Poll were processed: apply the policy to them.
  if (c.pull_policy.kind != CheckpointPolicy::Kind::kManual) RETURN_IF_ERROR(Commit());
  std::unique_lock lock(c.mu);
  c.queue_ready.wait_for(lock, timeout, [&] { return c.queued > 0 || c.stopping.load(); });
  const auto max = static_cast<std::size_t>(c.o.max_records_per_call);
  std::vector<ConsumerRecord> out;
  while (!c.queue.empty() && out.size() < max) {
    auto& front = c.queue.front();
    if (out.empty() && c.queue_taken == 0 && front.size() <= max) {
      out = std::move(front);  // the common case: a whole batch, moved
    } else {
      if (out.empty()) out.reserve(std::min(max, c.queued));
      const std::size_t n = std::min(max - out.size(), front.size() - c.queue_taken);
      const auto from = front.begin() + static_cast<std::ptrdiff_t>(c.queue_taken);
      out.insert(out.end(), std::make_move_iterator(from),
                 std::make_move_iterator(from + static_cast<std::ptrdiff_t>(n)));
      c.queue_taken += n;
      if (c.queue_taken < front.size()) break;
    }
    c.queue.pop_front();
    c.queue_taken = 0;
  }
  c.queued -= out.size();
  // Commit needs each shard's last record only: one copy per shard, not one per record.
  std::vector<const std::string*> seen;
  for (auto it = out.rbegin(); it != out.rend(); ++it) {
    if (std::any_of(seen.begin(), seen.end(),
                    [&](const std::string* s) { return *s == it->shard_id; }))
      continue;
    seen.push_back(&it->shard_id);
    c.polled_last[it->shard_id] = *it;
  }
  c.queue_space.notify_all();
  if (out.empty() && !c.fatal.ok()) return c.fatal;
  return out;
}

Status Consumer::Commit() {
  auto& c = *impl_;
  std::map<std::string, ConsumerRecord> last;
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
    RETURN_IF_ERROR(
        c.Save(shard, leases[shard], {r.sequence_number, r.sub_sequence_number}, &lost));
  }
  return Status::Ok();
}

}  // namespace cinesis
