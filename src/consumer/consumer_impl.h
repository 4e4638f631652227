// The Consumer's private state, shared by its translation units (not API; never included
// outside src/consumer/):
//   consumer.cc              the public facade and lifecycle (Create, Run, Stop, metrics),
//                            plus what every thread shares: error reports, events,
//                            checkpoint writes (Save)
//   consumer_coordinator.cc  the coordinator: shard graph, parents before children,
//                            leases and rebalancing, reader start and reaping, shutdown
//   consumer_reader.cc       one Reader per shard: GetRecords / SubscribeToShard loops,
//                            iterators, deaggregation, checkpoints by policy, SHARD_END
//   consumer_poll.cc         the pull API: Poll() and Commit() over a bounded queue
//
// Threads: the coordinator runs on the caller of Run() (or, in pull mode, on `runner`,
// started by the first Poll()); each Reader runs on its own `thread`; Poll(), Commit(),
// Stop() and metrics() run on the application's threads.
//
// Locks: one mutex, Impl::mu. It guards the fields marked "guarded by mu" below and is
// never held while user code runs (factory, processors, on_error, on_event, the log sink)
// except the lease store's TryAcquire in Balance (docs/architecture.md, "Locks"). The
// consumer still uses std::mutex and std::condition_variable, which carry no Clang
// thread-safety annotations (src/common/thread_annotations.h), so the guards are written
// here as comments and checked by TSan. Fields marked otherwise are immutable once the
// thread that reads them has started, atomics, or owned by one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cinesis/consumer.h"
#include "cinesis/log.h"
#include "common/hash_key.h"
#include "common/status.h"

namespace cinesis {

// A run of consecutive failures of one activity (the coordinator's round, one reader).
struct Streak {
  EpochMillis since = -1;  // first failure of the run; -1: none
  std::uint64_t count = 0;
};

inline bool IsThrottling(Code code) {
  return code == Code::kProvisionedThroughputExceeded || code == Code::kLimitExceeded ||
         code == Code::kKmsThrottling;
}

// "2026-12-02T03:04:05.678Z"
std::string IsoTime(EpochMillis ms);

inline void LogConsumer(LogLevel level, const std::string& message) {
  Log(level, "consumer", message);
}

struct Reader;

// A reader's batch in the Poll queue. Hidden: a std::deque of the exported
// ConsumerRecordColumns would export the deque's instantiations from libcinesis.so
// (tests/packaging/check_exports.py).
struct __attribute__((visibility("hidden"))) QueuedBatch {
  ConsumerRecordColumns records;
};

// Hidden: nested in an exported class, it would otherwise be exported with it (the
// pimpl is not API; tests/packaging/check_exports.py).
struct __attribute__((visibility("hidden"))) Consumer::Impl {
  Impl(KinesisClient& c, ConsumerOptions opts)
      : client(c),
        o(std::move(opts)),
        clock(o.clock ? *o.clock : SystemClock::Instance()),
        scope{o.application, o.stream_name} {}

  // Immutable after construction, except `o.checkpoint_policy`: the first Poll() sets it
  // to manual (with mu held) before it starts the coordinator, so no reader exists yet.
  KinesisClient& client;
  ConsumerOptions o;
  const Clock& clock;
  consumer::Scope scope;

  mutable std::mutex mu;
  std::condition_variable cv;  // with mu: wakes the coordinator and the readers
  std::atomic<bool> stopping{false};
  bool resync = true;  // guarded by mu
  // Guarded by mu; changed only by the coordinator thread.
  std::map<std::string, std::shared_ptr<Reader>> readers;
  std::map<std::string, api::Shard> known;
  ConsumerMetrics stats;                        // guarded by mu
  Status fatal;                                 // guarded by mu: the first fatal error
  std::optional<consumer::Lease> worker_lease;  // guarded by mu
  // Lease waits already logged: shard -> "owner/counter". Guarded by mu.
  std::map<std::string, std::string> wait_logged;

  // Reports an error (log hook, on_error, metrics); true when it is fatal, in which case
  // the consumer is stopping and Run()/Poll() will return it. Call without holding mu.
  bool Report(const std::string& operation, const std::string& shard_id, const Status& st,
              Streak& streak);
  // A success after failures: ends the run (and logs the recovery).
  void Recovered(const std::string& operation, const std::string& shard_id, Streak& streak);
  void Fail(const Status& st);
  // Calls on_event (if set). Call without holding mu.
  void Emit(ConsumerEvent::Kind kind, const std::string& shard_id);
  // Enhanced fan-out: the registered stream consumer. Written by the coordinator before
  // it starts any reader; read-only after.
  std::string consumer_arn;
  Status RegisterFanOut();

  // Pull style.
  bool pull = false;             // guarded by mu
  CheckpointPolicy pull_policy;  // guarded by mu (written once, by the first Poll)
  // Batches as the readers delivered them, as columns built on the reader threads (moved
  // out whole by PollColumns when they fit), the records already taken from the front one,
  // and the records queued. Guarded by mu.
  std::deque<QueuedBatch> queue;
  std::size_t queue_taken = 0;
  std::size_t queued = 0;
  std::condition_variable queue_space, queue_ready;  // with mu: room in / records in `queue`
  // Per shard: where the last record handed out by Poll/PollColumns is. Guarded by mu.
  std::map<std::string, consumer::Checkpoint> polled_last;
  // The first Poll/PollColumns: starts the coordinator (pull mode). Takes mu.
  void StartPull();
  // Remembers each shard's last record of `taken` (a queue batch's [begin, end)). With mu.
  void NotePolled(const ConsumerRecordColumns& batch, std::size_t begin, std::size_t end);
  std::thread runner;  // the pull-mode coordinator; started under mu, joined by ~Consumer

  Status Coordinate(const ProcessorFactory& factory);
  // One coordination round; on failure, `op` names what failed.
  Status Round(const ProcessorFactory& factory, std::string* op);
  Status SyncShards();
  Result<std::set<std::string>> Finished();
  Status Balance(const ProcessorFactory& factory, const std::set<std::string>& finished,
                 std::string* op);
  void LogLeaseWait(const consumer::Lease& held, bool holder_alive, EpochMillis now);
  // Called with `lock` (on mu) held; releases it while the user's factory runs.
  void StartReader(std::unique_lock<std::mutex>& lock, const std::string& shard_id,
                   std::optional<consumer::Lease> lease, const ProcessorFactory& factory);
  Status Save(const std::string& shard_id, const std::optional<consumer::Lease>& lease,
              const consumer::Checkpoint& cp, bool* lost);
};

// One shard being read, on its own thread (consumer_reader.cc). Created and started by
// the coordinator (StartReader), joined by it once `done`.
struct Reader : Checkpointer {
  Reader(Consumer::Impl& impl, std::string shard, std::optional<consumer::Lease> l,
         std::unique_ptr<ShardProcessor> p)
      : c(impl), shard_id(std::move(shard)), lease(std::move(l)), processor(std::move(p)) {}

  // Set before the thread starts; read-only after.
  Consumer::Impl& c;
  std::string shard_id;
  // The reader's lease. Engaged or not from construction on; its fields change only on the
  // coordinator thread (Balance extends `expires_at` on renewal, under c.mu). Other threads
  // (the reader, Commit()) copy it under c.mu: HeldLease().
  std::optional<consumer::Lease> lease;
  std::optional<consumer::Lease> HeldLease() const;
  std::unique_ptr<ShardProcessor> processor;
  std::thread thread;  // written (under mu) and joined by the coordinator only
  std::atomic<bool> stop{false};
  std::atomic<bool> handover{false};  // give the lease up (rebalancing)
  std::atomic<bool> lost{false};
  // Set as the reader thread's last step: the coordinator joins done readers while it
  // holds c.mu, so nothing after it may take c.mu.
  std::atomic<bool> done{false};
  // The reader thread's own (the processor calls Checkpoint on it, on this thread).
  bool shard_ended = false;                // read to SHARD_END
  HashKey start{0}, end = HashKey::Max();  // set before the thread starts
  std::optional<ConsumerRecord> last_delivered;
  std::optional<consumer::Checkpoint> last_saved;
  std::size_t since_checkpoint = 0;
  EpochMillis last_checkpoint_ms = 0;
  Streak streak;  // consecutive failed calls of this reader

  // Reports a failed call; true when the consumer must stop (fatal).
  bool Failed(const std::string& op, const Status& st) {
    return c.Report(op, shard_id, st, streak);
  }
  void Succeeded(const std::string& op) {
    if (streak.count > 0) c.Recovered(op, shard_id, streak);
  }
  void RecordLag(std::int64_t millis_behind);

  Status Checkpoint() override;
  Status Checkpoint(const ConsumerRecord& r) override;

  void Run();
  void RunPolling(std::optional<consumer::Checkpoint> resume);
  void RunFanOut(std::optional<consumer::Checkpoint> resume);
  // Deaggregates, skips what `resume` covers, hands the batch over, applies the policy.
  // The records' strings are swapped with those of the batch's records (push mode): the
  // caller may hand them back to the decoder (wire::RecycleRecords), whose next answer is
  // then written into buffers that already exist.
  void Deliver(std::vector<api::Record>& records,
               const std::optional<consumer::Checkpoint>& resume);
  // Push mode: the batch handed to ProcessRecords, kept from one call to the next with its
  // records' strings (no allocation per record once they are large enough), and the
  // records a smaller batch did not need. The reader thread's own.
  std::vector<ConsumerRecord> push_batch, push_spare;
  void EndShard();
  // A checkpoint the policy asked for: a failure is reported (a lost lease is not an
  // error: the processor hears LeaseLost).
  void CheckpointByPolicy();
  // Gives the lease up, so that another (or a restarted) worker takes it at once; a
  // failure is logged with the time the lease expires instead.
  void ReleaseLease();
  Result<std::string> IteratorFrom(const std::optional<consumer::Checkpoint>& cp);
  bool AlreadyDone(const ConsumerRecord& r,
                   const std::optional<consumer::Checkpoint>& resume) const {
    if (!resume || resume->sequence_number != r.sequence_number) return false;
    return !r.aggregated || r.sub_sequence_number <= resume->sub_sequence_number;
  }
};

// Pull style: a processor that hands records to the Poll() queue (consumer_poll.cc). The
// readers' path (Reader::Deliver) builds the columns itself and moves them in with Take.
class QueueProcessor final : public ShardProcessor {
 public:
  explicit QueueProcessor(Consumer::Impl& impl) : c_(impl) {}
  void ProcessRecords(const std::vector<ConsumerRecord>& records, Checkpointer&) override {
    ConsumerRecordColumns batch;
    for (const auto& r : records) batch.Append(r);
    Take(std::move(batch));
  }
  void Take(ConsumerRecordColumns&& records) {
    if (records.empty()) return;
    std::unique_lock lock(c_.mu);
    c_.queue_space.wait(lock, [&] { return c_.queued < 50'000 || c_.stopping.load(); });
    c_.queued += records.size();
    c_.queue.push_back(QueuedBatch{std::move(records)});
    c_.queue_ready.notify_all();
  }

 private:
  Consumer::Impl& c_;
};

}  // namespace cinesis
