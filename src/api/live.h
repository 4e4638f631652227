// The live side of the server (issue 18): what the `/_cinesis/` endpoints need from the
// engine beyond the Kinesis operations. Shard cursors for the WebSocket tail (woken by the
// same append notification as SubscribeToShard), per-shard metrics with a 1-second history,
// and the lookups the fault rules use to name a request's stream and shard.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "api/types.h"
#include "common/status.h"

namespace cinesis::api {

// The per-shard metrics, named after Kinesis's CloudWatch metrics. All are counters per
// second except IteratorAgeMilliseconds (the largest MillisBehindLatest seen in the second).
enum class Metric : std::uint8_t {
  kIncomingRecords,
  kIncomingBytes,
  kGetRecordsRecords,
  kGetRecordsBytes,
  kReadProvisionedThroughputExceeded,
  kWriteProvisionedThroughputExceeded,
  kIteratorAgeMilliseconds,
  kSubscribeToShardEventRecords,
  kSubscribeToShardEventBytes,
};
inline constexpr std::size_t kMetricCount = 9;
inline constexpr std::array<std::string_view, kMetricCount> kMetricNames = {
    "IncomingRecords",
    "IncomingBytes",
    "GetRecords.Records",
    "GetRecords.Bytes",
    "ReadProvisionedThroughputExceeded",
    "WriteProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
    "SubscribeToShardEvent.Records",
    "SubscribeToShardEvent.Bytes",
};
// True for the gauge (max per second, current value in `totals`), false for counters.
inline constexpr bool IsGauge(Metric m) { return m == Metric::kIteratorAgeMilliseconds; }

// The history kept per shard: one value per metric per second for this many seconds.
inline constexpr int kMetricHistorySeconds = 900;

// SubscribeToShardEvent.MillisBehindLatest of one registered consumer on one shard (the
// CloudWatch metric of that name, per consumer): the largest MillisBehindLatest sent to the
// consumer's subscription in each second; a second in which an open subscription sent no event
// repeats the last value; 0 once no subscription is open.
struct ConsumerLagSnapshot {
  std::string consumer_name;
  std::uint64_t last = 0;              // the last second's value
  std::vector<std::uint64_t> history;  // `seconds` values, oldest first
};
inline constexpr std::string_view kConsumerLagMetricName =
    "SubscribeToShardEvent.MillisBehindLatest";

struct ShardMetricsSnapshot {
  std::string shard_id;
  // Since the server started (counters) or the last second's value (the gauge).
  std::array<std::uint64_t, kMetricCount> totals{};
  // `seconds` values per metric, oldest first; the last is the second ending at end_ms.
  std::array<std::vector<std::uint64_t>, kMetricCount> history;
  std::vector<ConsumerLagSnapshot> consumer_lags;  // consumers that subscribed to the shard
};
// SubscribeToShardEvent.* per registered consumer (counters since start).
struct ConsumerMetricsSnapshot {
  std::string consumer_name;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
};
struct StreamMetricsSnapshot {
  std::string stream_name;
  std::vector<ShardMetricsSnapshot> shards;
  std::vector<ConsumerMetricsSnapshot> consumers;
};
// Histogram of the storage's fsync (fdatasync) latency; cumulative bucket counts.
struct FsyncHistogram {
  static constexpr std::array<double, 12> kBoundsSeconds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};
  std::array<std::uint64_t, kBoundsSeconds.size()> buckets{};  // count <= bound
  std::uint64_t count = 0;
  double sum_seconds = 0;
};
struct MetricsSnapshot {
  EpochMillis end_ms = 0;  // epoch ms of the end of the last complete second
  int seconds = 0;
  std::vector<StreamMetricsSnapshot> streams;
};

// One shard's records from a position on, woken by appends (no polling). Used by one
// connection's strand at a time; NotifyOnAppend's callback may run on any thread.
class ShardCursor {
 public:
  struct Batch {
    std::vector<Record> records;
    // Set once the end of a closed shard is reached (the cursor is then finished).
    std::optional<std::vector<ChildShard>> child_shards;
  };
  virtual ~ShardCursor() = default;
  // At most `max_records` records and (but at least one record) `max_bytes` of data and keys.
  virtual Result<Batch> Next(std::size_t max_records, std::size_t max_bytes) = 0;
  // Calls `notify` once, from any thread, when records (or the shard's end) are waiting; at
  // once if they are.
  virtual void NotifyOnAppend(std::function<void()> notify) = 0;
  virtual const std::string& shard_id() const = 0;
};

struct CursorStart {
  std::string stream;
  std::string shard_id;
  ShardIteratorType type = ShardIteratorType::kLatest;
  std::optional<std::string> sequence_number;
  std::optional<EpochMillis> timestamp;
};

class LiveService {
 public:
  virtual ~LiveService() = default;
  // A cursor at the starting position (the errors of GetShardIterator).
  virtual Result<std::unique_ptr<ShardCursor>> OpenCursor(const CursorStart& start) = 0;
  // Metrics of one stream (ResourceNotFoundException if it does not exist) or of all; the
  // last `seconds` seconds of history (1..kMetricHistorySeconds).
  virtual Result<MetricsSnapshot> Metrics(const std::optional<std::string>& stream,
                                          int seconds) = 0;
  virtual FsyncHistogram Fsyncs() const = 0;
  // The stream and shard id a shard iterator belongs to (nullopt if it is not one of ours).
  virtual std::optional<std::pair<std::string, std::string>> StreamOfIterator(
      std::string_view iterator) const = 0;
  // The open shard a record would go to.
  virtual Result<std::string> RouteRecord(const std::string& stream, std::string_view partition_key,
                                          const std::optional<std::string>& explicit_hash_key) = 0;
  virtual const AccountScope& scope() const = 0;
};

// What a fault rule asks of the transport that carries the request (installed per request on
// the calling thread by the HTTP/1.1 session; without one, latency is slept and a reset or a
// 503 becomes InternalFailure).
struct FaultDirective {
  std::int64_t latency_ms = 0;  // delay the answer this long
  bool reset = false;           // cut the connection instead of answering
  int http_status = 0;          // non-zero: answer this status with `error_type`
  std::string error_type;       // e.g. "ServiceUnavailable"
  std::string error_message;

  static FaultDirective* Current();
};
class ScopedFaultDirective {
 public:
  explicit ScopedFaultDirective(FaultDirective* d);
  ~ScopedFaultDirective();
  ScopedFaultDirective(const ScopedFaultDirective&) = delete;
  ScopedFaultDirective& operator=(const ScopedFaultDirective&) = delete;

 private:
  FaultDirective* previous_;
};

}  // namespace cinesis::api
