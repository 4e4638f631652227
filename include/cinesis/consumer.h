// Consumer: reads every shard of a stream and hands records to your code, push style (a
// processor per shard) or pull style (Poll()).
//
// - Shards are found with ListShards every `shard_sync_interval` and at every shard end
//   (ChildShards); a child starts only after each of its parents was read to SHARD_END
//   and checkpointed there; closed shards finish and drop out.
// - Start position: the shard's checkpoint (resuming inside a KPL aggregate at the right
//   user record), else `initial_position`.
// - At most `max_get_records_per_second` GetRecords calls per shard (AWS allows 5), backoff
//   on throttling, idle shards back off up to `idle_backoff`, expired iterators are renewed
//   from the last sequence number.
// - Checkpoints (CheckpointStore; scoped by application and stream) follow the policy;
//   at-least-once: a record is checkpointed only after your code returned from it, so a
//   crash replays at most what the policy leaves uncheckpointed.
// - With a LeaseStore, processes that share `application` split the shards between them
//   (each takes about shards/workers), take over the shards of a dead worker once its
//   leases expire, and a process that lost a lease cannot checkpoint that shard (fencing).
//   A consumer that stops cleanly releases its leases, so a restarted (or another) worker
//   takes the shards at once; a worker that died holds them until they expire.
// - Errors: a consumer that cannot proceed (stream missing, access denied, the endpoint
//   or the lease store unreachable for longer than `retry_budget`) stops and Run()/Poll()
//   return the error. Every error, transient or fatal, goes to `on_error`, to the log hook
//   (cinesis/log.h, component "consumer") and to metrics().last_error.
//
// Thread safety: Stop() and metrics() may be called from any thread. Processors run on
// the consumer's reader threads, one thread per shard, never concurrently for one shard.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinesis/checkpoint.h"
#include "cinesis/client.h"
#include "cinesis/export.h"

namespace cinesis {

struct ConsumerRecord {
  std::string shard_id{};
  std::string sequence_number{};
  std::uint64_t sub_sequence_number = 0;  // index inside a KPL aggregate (0 for plain records)
  bool aggregated = false;
  std::string partition_key{};
  std::optional<std::string> explicit_hash_key{};
  std::string data{};
  EpochMillis approximate_arrival_timestamp = 0;
};

// The records of one PollColumns(), as columns: one buffer per string field with offsets
// (record i's data is data[data_offsets[i] .. data_offsets[i + 1]); likewise its partition
// key, sequence number and explicit hash key, empty when it has none: see flags), the
// distinct shard ids once each (record i is in shard_ids[shard_index[i]]). Offset vectors
// have size() + 1 entries; the others size(). A few buffers per batch instead of three or
// four strings per record: the form a binding copies from (the C ABI's batch columns).
struct CINESIS_EXPORT ConsumerRecordColumns {
  static constexpr std::uint8_t kAggregated = 1;
  static constexpr std::uint8_t kHasExplicitHashKey = 2;

  std::string data{};
  std::vector<std::uint64_t> data_offsets{0};
  std::string partition_keys{};
  std::vector<std::uint64_t> key_offsets{0};
  std::string sequence_numbers{};
  std::vector<std::uint64_t> sequence_offsets{0};
  std::string explicit_hash_keys{};
  std::vector<std::uint64_t> explicit_hash_key_offsets{0};
  std::vector<std::uint64_t> sub_sequence_numbers{};
  std::vector<EpochMillis> arrival_ms{};
  std::vector<std::uint8_t> flags{};
  std::vector<std::string> shard_ids{};
  std::vector<std::uint32_t> shard_index{};

  std::size_t size() const { return flags.size(); }
  bool empty() const { return flags.empty(); }
  // Appends one record; `shard` indexes shard_ids (the caller adds the id first).
  void Append(std::uint32_t shard, std::string_view sequence_number,
              std::uint64_t sub_sequence_number, bool aggregated, std::string_view partition_key,
              const std::optional<std::string>& explicit_hash_key, std::string_view data,
              EpochMillis arrival_ms);
  // Appends one record, adding its shard id when new.
  void Append(const ConsumerRecord& record);
  // Appends records [begin, end) of `from` (offsets shifted; shard indexes translated to
  // this batch's shard_ids, adding the new ones).
  void AppendRange(const ConsumerRecordColumns& from, std::size_t begin, std::size_t end);
  // Record i as a ConsumerRecord (copies).
  ConsumerRecord Record(std::size_t i) const;
  // Reserves room for `records` more records of `data_bytes` data bytes.
  void Reserve(std::size_t records, std::size_t data_bytes);
};

enum class InitialPosition { kTrimHorizon, kLatest, kAtTimestamp };

struct CheckpointPolicy {
  enum class Kind { kManual, kEveryNRecords, kEveryInterval, kAfterEachBatch };
  Kind kind = Kind::kAfterEachBatch;
  std::size_t every_records = 1000;
  std::chrono::milliseconds every_interval{5000};
  static CheckpointPolicy Manual() { return {Kind::kManual}; }
  static CheckpointPolicy AfterEachBatch() { return {Kind::kAfterEachBatch}; }
  static CheckpointPolicy EveryNRecords(std::size_t n) { return {Kind::kEveryNRecords, n}; }
  static CheckpointPolicy EveryInterval(std::chrono::milliseconds t) {
    return {Kind::kEveryInterval, 1000, t};
  }
};

// An error the consumer met. Transient errors (throttling, network errors and timeouts,
// InternalFailure, store I/O errors) are retried; fatal ones stop the consumer.
struct ConsumerError {
  Status status{};          // code and message
  EpochMillis time = 0;     // when (ConsumerOptions::clock)
  std::string operation{};  // "ListShards", "GetRecords", "LeaseStore.List", ...
  std::string shard_id{};   // empty when the error is not about one shard
  bool fatal = false;       // true: Run() and Poll() return `status`
};

// A change in what this worker reads (ConsumerOptions::on_event).
struct ConsumerEvent {
  enum class Kind {
    kShardStarted,  // this worker started reading the shard (after loading its checkpoint)
    kShardEnded,    // read to SHARD_END and checkpointed there
    kLeaseTaken,    // the shard's lease was taken for this worker (with a lease store)
    kLeaseLost,     // another worker took the lease; no more checkpoints for the shard
  };
  Kind kind = Kind::kShardStarted;
  std::string shard_id;
  EpochMillis time = 0;  // when (ConsumerOptions::clock)
};

struct ConsumerOptions {
  std::string application{};
  std::string stream_name{};
  // Identifies this worker in the lease store. Default: "<hostname>-<pid>-<8 random hex>",
  // new for every process, so a restarted process cannot resume the leases a crashed one
  // held and waits until they expire (`lease_ttl`). Give a stable id (unique among the
  // processes running at the same time) to resume one's own leases at once after a crash.
  std::string worker_id{};
  InitialPosition initial_position = InitialPosition::kTrimHorizon;
  std::optional<EpochMillis> initial_timestamp{};  // for kAtTimestamp
  CheckpointPolicy checkpoint_policy{};
  std::shared_ptr<consumer::CheckpointStore> checkpoints{};  // default: in memory
  std::shared_ptr<consumer::LeaseStore> leases{};            // null: this process reads every shard
  std::chrono::milliseconds lease_ttl{10'000};
  std::chrono::milliseconds shard_sync_interval{10'000};
  double max_get_records_per_second = 5;
  int max_records_per_call = 10'000;
  std::chrono::milliseconds idle_backoff{1'000};
  bool deaggregate = true;
  // Enhanced fan-out: register (or reuse) this stream consumer and receive records pushed
  // over SubscribeToShard (HTTP/2) instead of polling GetRecords. Checkpoints, leases and
  // shard tracking work the same.
  std::optional<std::string> enhanced_fan_out_consumer{};
  const Clock* clock = nullptr;
  // How long the consumer keeps trying while calls keep failing with a retriable error
  // (network errors, timeouts, InternalFailure, store I/O errors; each call was already
  // retried by the client, ClientOptions::retry) before it gives up and Run()/Poll()
  // return the error. Measured on `clock` from the first failure of a run of failures; a
  // success ends the run. Throttling does not count: it is retried as long as it lasts.
  // Non-retriable errors (ResourceNotFound for the stream, AccessDenied, ...) are fatal
  // at once.
  std::chrono::milliseconds retry_budget{60'000};
  // Called for every error, transient or fatal, on the consumer's threads (possibly on
  // several at once) and never while the consumer holds a lock (it may call metrics() or
  // Stop()). Must not throw.
  std::function<void(const ConsumerError&)> on_error;
  // Called for every ConsumerEvent, on the reader thread of the shard concerned (several
  // shards at once), never while the consumer holds a lock. Errors go to on_error, not
  // here. Must not throw (an exception is logged and ignored).
  std::function<void(const ConsumerEvent&)> on_event;
};

// Checks the option table's ranges (docs/configuration.md); InvalidArgument naming the first
// bad option, e.g. "ConsumerOptions.lease_ttl: must be >= 1 ms". Consumer::Create calls it.
CINESIS_EXPORT Status Validate(const ConsumerOptions& options);
// The option table as Markdown rows (for docs/configuration.md).
CINESIS_EXPORT std::string ConsumerOptionsMarkdown();

// Handed to processors: checkpoints the shard at a record (or the last one delivered).
class CINESIS_EXPORT Checkpointer {
 public:
  virtual ~Checkpointer() = default;
  virtual Status Checkpoint() = 0;  // everything delivered so far
  virtual Status Checkpoint(const ConsumerRecord& record) = 0;
};

class CINESIS_EXPORT ShardProcessor {
 public:
  virtual ~ShardProcessor() = default;
  virtual void Initialize(const std::string& shard_id,
                          const std::optional<consumer::Checkpoint>& resume_from) {
    (void)shard_id;
    (void)resume_from;
  }
  virtual void ProcessRecords(const std::vector<ConsumerRecord>& records,
                              Checkpointer& checkpointer) = 0;
  // The shard was read to its end; the consumer checkpoints SHARD_END after this returns.
  virtual void ShardEnded(Checkpointer& checkpointer) { (void)checkpointer; }
  // Another worker took the shard; checkpoints are no longer possible.
  virtual void LeaseLost() {}
  // Stop() was called; checkpoint what you have finished.
  virtual void ShutdownRequested(Checkpointer& checkpointer) { (void)checkpointer; }
};

using ProcessorFactory =
    std::function<std::unique_ptr<ShardProcessor>(const std::string& shard_id)>;

struct ConsumerMetrics {
  std::uint64_t records = 0;
  std::uint64_t get_records_calls = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t throttled = 0;
  std::uint64_t expired_iterators = 0;
  std::uint64_t shards_finished = 0;
  std::uint64_t leases_taken = 0;
  std::uint64_t leases_lost = 0;
  std::vector<std::string> owned_shards{};
  std::uint64_t errors = 0;                   // every error reported (transient and fatal)
  std::optional<ConsumerError> last_error{};  // the most recent one
  // Per shard this worker is reading: how far the last GetRecords result (or
  // SubscribeToShard event) was behind the tip of the shard, in ms (MillisBehindLatest);
  // 0 means caught up. A shard leaves the map when this worker stops reading it.
  std::map<std::string, std::int64_t> millis_behind_latest{};
};

class CINESIS_EXPORT Consumer {
 public:
  // `client` must outlive the consumer.
  static Result<std::unique_ptr<Consumer>> Create(KinesisClient& client, ConsumerOptions options);
  ~Consumer();

  // Push style: runs until Stop() (then OK) or until a fatal error, which it returns
  // (after processors saw ShutdownRequested and leases were released).
  Status Run(ProcessorFactory factory);
  // Pull style: the next records (from any shard), waiting up to `timeout`. Records of a
  // shard come in order. After a fatal error, the records still queued and then that
  // error. With the manual policy call Commit() to checkpoint what Poll
  // returned; otherwise the policy applies once the next Poll() starts.
  Result<std::vector<ConsumerRecord>> Poll(std::chrono::milliseconds timeout);
  // As Poll (same queue, same commit rules; Poll and PollColumns may be mixed), the records
  // as columns: the readers build them as records arrive, so this call copies only when a
  // batch is split or several are joined. For bindings (the C ABI's cinesis_consumer_poll).
  Result<ConsumerRecordColumns> PollColumns(std::chrono::milliseconds timeout);
  Status Commit();
  // Checkpoints one shard at a record the last Poll returned: it and the shard's records
  // before it count as processed (for stopping in the middle of a batch; a later Commit()
  // still checkpoints the whole poll). kFailedPrecondition if the last Poll returned no
  // record of `shard_id` or it was committed since; kInvalidArgument if the position is past
  // the shard's last record in that poll.
  Status CommitRecord(std::string_view shard_id, std::string_view sequence_number,
                      std::uint64_t sub_sequence_number = 0);
  // Takes effect within one GetRecords round trip; Run() returns after processors saw
  // ShutdownRequested and final checkpoints were written.
  void Stop();

  ConsumerMetrics metrics() const;
  const std::string& worker_id() const;

  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cinesis
