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
#include "consumer/consumer_impl.h"

namespace cinesis {

using consumer::Lease;

namespace {

// Pull style: a processor that hands records to the Poll() queue.
class QueueProcessor final : public ShardProcessor {
 public:
  explicit QueueProcessor(Consumer::Impl& impl) : c_(impl) {}
  void ProcessRecords(const std::vector<ConsumerRecord>& records, Checkpointer&) override {
    std::unique_lock lock(c_.mu);
    c_.queue_space.wait(lock, [&] { return c_.queue.size() < 50'000 || c_.stopping.load(); });
    for (const auto& r : records) c_.queue.push_back(r);
    c_.queue_ready.notify_all();
  }

 private:
  Consumer::Impl& c_;
};

}  // namespace

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
  c.queue_ready.wait_for(lock, timeout, [&] { return !c.queue.empty() || c.stopping.load(); });
  std::vector<ConsumerRecord> out;
  while (!c.queue.empty() && out.size() < static_cast<std::size_t>(c.o.max_records_per_call)) {
    out.push_back(std::move(c.queue.front()));
    c.queue.pop_front();
  }
  for (const auto& r : out) c.polled_last[r.shard_id] = r;
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
