// Producer: put() records one at a time; the producer batches them into PutRecords
// calls per predicted shard, respects per-shard rate limits, retries only the records
// that failed, with backoff, until each record's time to live, and completes every
// record exactly once — with its shard, sequence number and attempt history, or with
// its final error. Nothing is silently dropped.
//
// Stages: put() -> buffer (bounded, bytes) -> per-shard batcher (<= 500 records,
// <= 5 MiB, linger) -> shard map (ListShards; refreshed when a record lands in a shard
// other than predicted, or on resharding) -> per-shard token buckets (1000 records/s,
// 1 MiB/s, drained by ProvisionedThroughputExceeded) -> PutRecords -> results: failed
// records are retried first (ahead of newer records of their shard) after full-jitter
// backoff.
//
// Batching under the rate limit: a shard's batch leaves when it is full, its linger has
// passed or a flush asks for it, and only once the shard's buckets hold the budget for
// the whole batch (or as much as they can hold). When the limit, not the data, is the
// bottleneck, records therefore wait beyond linger and batches fill up: 100,000 records to
// 4 shards at 1000 records/s per shard take ~25 s in ~200 PutRecords calls. The limits are
// the client's own (the service is not asked); set both rates to
// std::numeric_limits<double>::infinity() to disable them.
//
// Ordering: with `strict_key_order`, records that share a partition key are written in
// put() order, also across retries (one PutRecords in flight per shard, at most one
// record of a key per request). Without it, order per key holds while no record fails;
// a retried record may land after later records of its key (as with the KPL).
//
// Thread safety: every method may be called from any thread. Callbacks run on the
// producer's sender threads and must not block for long.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinesis/client.h"
#include "cinesis/export.h"

namespace cinesis {

enum class OverflowPolicy { kBlock, kFailFast };

struct ProducerOptions {
  std::string stream_name{};
  std::chrono::milliseconds linger{50};              // wait this long to fill a batch
  std::size_t max_batch_records = 500;               // 1..500
  std::size_t max_batch_bytes = 5 << 20;             // 1..5 MiB (data + partition keys)
  std::size_t buffer_bytes = 64 << 20;               // records accepted but not yet completed
  OverflowPolicy overflow = OverflowPolicy::kBlock;  // when the buffer is full
  std::chrono::milliseconds record_ttl{30'000};      // give up on a record after this
  double shard_records_per_second = 1000;            // per-shard write limits
  double shard_bytes_per_second = 1 << 20;
  bool aggregate = false;  // KPL aggregation
  std::size_t aggregate_max_bytes = 51'200;
  bool strict_key_order = false;
  std::size_t max_in_flight = 16;  // concurrent PutRecords calls
  std::chrono::milliseconds retry_base_delay{100};
  std::chrono::milliseconds retry_max_delay{5'000};
  std::chrono::milliseconds shard_map_refresh{60'000};
  const Clock* clock = nullptr;  // default: system clock
  // Test seam: when set, the dispatcher's timed waits (linger, rate-limit budget, retry
  // backoff) made while no PutRecords call is in flight go through it (a test's Sleeper
  // advances the ManualClock given as `clock`, so rate-limited runs take no real time)
  // instead of a timed wait that new records cut short.
  Sleeper* sleeper = nullptr;
};

// Checks ranges; InvalidArgument naming the first bad option.
CINESIS_EXPORT Status Validate(const ProducerOptions& options);
// The option table as Markdown rows (for docs/configuration.md).
CINESIS_EXPORT std::string ProducerOptionsMarkdown();

struct Attempt {
  EpochMillis at = 0;
  Status error{};  // OK for the successful attempt
};

struct PutResult {
  Status status{};  // OK, or the record's final error
  std::string shard_id{};
  std::string sequence_number{};
  std::optional<int> sub_sequence_number{};  // position inside a KPL aggregate
  std::vector<Attempt> attempts{};
};

struct ProducerMetrics {
  std::uint64_t records_put = 0;     // completed successfully
  std::uint64_t records_failed = 0;  // completed with an error
  std::uint64_t retries = 0;         // record attempts beyond the first
  std::uint64_t put_records_calls = 0;
  std::uint64_t buffered_records = 0;
  std::uint64_t buffered_bytes = 0;
  std::map<std::string, std::uint64_t> errors_by_code{};  // every failed attempt
};

class CINESIS_EXPORT Producer {
 public:
  // `client` must outlive the producer.
  static Result<std::unique_ptr<Producer>> Create(KinesisClient& client, ProducerOptions options);
  ~Producer();  // Close() with the remaining TTLs as deadline if still open

  using Callback = std::function<void(const PutResult&)>;
  // Accepts a record; the future completes exactly once. Fails immediately (the future
  // is ready with the error) when closed (kFailedPrecondition), when the record is invalid
  // (kInvalidArgument), or when the buffer is full under OverflowPolicy::kFailFast
  // (kLimitExceeded).
  std::future<PutResult> Put(std::string partition_key, std::string data,
                             std::optional<std::string> explicit_hash_key = std::nullopt);
  // Callback form; returns the error instead of calling back when not accepted.
  Status Put(std::string partition_key, std::string data, Callback callback);
  Status Put(std::string partition_key, std::string data,
             std::optional<std::string> explicit_hash_key, Callback callback);

  // Many records in one call: one lock and one wake-up of the sender for the whole call
  // instead of one per record. Records are taken in order, each as Put would (validated; under
  // OverflowPolicy::kBlock the call waits for buffer room as it goes). Returns OK when all were
  // accepted, else the reason the first one not accepted was refused; `*accepted` (if given)
  // is the number accepted. `callback(i, result)` runs exactly once per accepted record, `i`
  // its index in `records`. With `success_details == false` a successful record's result
  // carries only its OK status (no shard id, sequence number or attempts: fewer allocations
  // per record); a failed record's result is always complete.
  struct RecordView {
    std::string_view partition_key;
    std::string_view data;
  };
  using BatchCallback = std::function<void(std::size_t index, const PutResult&)>;
  Status PutMany(const std::vector<RecordView>& records, BatchCallback callback,
                 bool success_details = true, std::size_t* accepted = nullptr);

  // Sends everything buffered without waiting for linger; returns once every record
  // accepted before the call has completed, or kDeadlineExceeded (retriable) when `timeout`
  // passes first (the records stay buffered and keep going).
  Status Flush(std::chrono::milliseconds timeout);
  // Flushes with `deadline`, then stops; records still queued then complete with
  // kDeadlineExceeded. Returns the Flush's status. Idempotent.
  Status Close(std::chrono::milliseconds deadline);

  ProducerMetrics metrics() const;

  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cinesis
