// Internal state of the engine shared by its translation units (engine.cc: data plane
// and stream lifecycle; control.cc: resharding, tags, consumers and the other control
// operations). Not part of any public interface.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/types.h"
#include "common/hash_key.h"
#include "engine/sequence.h"
#include "storage/log.h"

namespace cinesis::engine {

// AWS's per-shard limits of a provisioned stream, as token buckets on the engine's clock
// (enforced only with EngineOptions::throttle): writes 1000 records/s and 1 MiB/s; reads
// 5 GetRecords calls/s and 2 MiB/s, where one call may take up to 10 MiB and the debt then
// blocks the shard's reads until paid off (AWS: "the next 5 seconds" after 10 MiB).
class ShardThrottle {
 public:
  static constexpr double kWriteRecordsPerMs = 1.0;
  static constexpr double kWriteBytesPerMs = 1048576.0 / 1000;
  static constexpr double kReadCallsPerMs = 5.0 / 1000;
  static constexpr double kReadBytesPerMs = 2097152.0 / 1000;

  // Takes one record of `bytes` from the write allowance; false when over the limit.
  bool TakeWrite(std::size_t bytes, EpochMillis now) {
    std::lock_guard lock(mu_);
    Refill(now);
    if (write_records_ < 1 || write_bytes_ < static_cast<double>(bytes)) return false;
    write_records_ -= 1;
    write_bytes_ -= static_cast<double>(bytes);
    return true;
  }
  // Takes one GetRecords call; false when over the call rate or still paying for bytes.
  bool TakeRead(EpochMillis now) {
    std::lock_guard lock(mu_);
    Refill(now);
    if (read_calls_ < 1 || read_bytes_ <= 0) return false;
    read_calls_ -= 1;
    return true;
  }
  void ChargeRead(std::size_t bytes) {
    std::lock_guard lock(mu_);
    read_bytes_ -= static_cast<double>(bytes);
  }

 private:
  void Refill(EpochMillis now) {
    if (at_ == 0) at_ = now;
    const double ms = static_cast<double>(std::max<EpochMillis>(0, now - at_));
    at_ = std::max(at_, now);
    write_records_ = std::min(1000.0, write_records_ + ms * kWriteRecordsPerMs);
    write_bytes_ = std::min(1048576.0, write_bytes_ + ms * kWriteBytesPerMs);
    read_calls_ = std::min(5.0, read_calls_ + ms * kReadCallsPerMs);
    read_bytes_ = std::min(2097152.0, read_bytes_ + ms * kReadBytesPerMs);
  }
  std::mutex mu_;
  EpochMillis at_ = 0;
  double write_records_ = 1000, write_bytes_ = 1048576;
  double read_calls_ = 5, read_bytes_ = 2097152;
};

struct ShardState {
  std::uint32_t index = 0;
  std::string id;
  HashKey start, end;
  EpochMillis created_ms = 0;
  std::optional<std::string> parent, adjacent_parent;
  std::optional<EpochMillis> closed_ms;  // set when resharding closes the shard
  std::shared_ptr<storage::Log> log;
  std::string starting_sequence;
  ShardThrottle throttle;

  // SubscribeToShard: one-shot callbacks run after records are appended.
  std::mutex listen_mu;
  std::vector<std::function<void()>> listeners;
  std::atomic<bool> has_listeners{false};
  void NotifyAppended() {
    if (!has_listeners.load(std::memory_order_acquire)) return;
    std::vector<std::function<void()>> run;
    {
      std::lock_guard lock(listen_mu);
      run.swap(listeners);
      has_listeners.store(false, std::memory_order_release);
    }
    for (auto& f : run) f();
  }

  std::uint64_t created_s() const { return static_cast<std::uint64_t>(created_ms / 1000); }
  std::string SequenceAt(std::uint64_t offset, EpochMillis arrival_ms) const {
    return EncodeSequence(
        {created_s(), index, offset + 1, static_cast<std::uint64_t>(arrival_ms / 1000)});
  }
};

// A reshard accepted while ACTIVE, applied when the UPDATING period ends.
struct PendingReshard {
  enum class Kind { kSplit, kMerge, kUniform };
  Kind kind = Kind::kSplit;
  std::uint32_t shard = 0;     // split: the shard; merge: ShardToMerge
  std::uint32_t adjacent = 0;  // merge: AdjacentShardToMerge
  HashKey new_start;           // split
  int target = 0;              // uniform scaling
};

struct ConsumerState {
  std::string name;
  std::string arn;
  EpochMillis created_ms = 0;
  EpochMillis active_at_ms = 0;
  std::optional<EpochMillis> deleting_at_ms;
  EpochMillis gone_at_ms = 0;
  std::map<std::string, std::string> tags;
  std::optional<std::string> policy;
};

struct StreamState {
  std::uint64_t id = 0;
  std::string name;
  std::string arn;
  EpochMillis created_ms = 0;
  EpochMillis active_at_ms = 0;
  std::optional<EpochMillis> deleting_at_ms;  // when DeleteStream was accepted
  EpochMillis gone_at_ms = 0;                 // when a deleting stream disappears
  api::StreamMode mode = api::StreamMode::kProvisioned;
  std::atomic<int> retention_hours{24};  // read on the data path without the lock
  int max_record_size_kib = 1024;
  std::map<std::string, std::string> tags;
  std::atomic<api::EncryptionType> encryption{api::EncryptionType::kNone};  // read on the data path
  std::optional<std::string> key_id;
  std::set<std::string> shard_level_metrics;
  std::optional<int> warm_throughput_mibps;
  std::optional<std::string> policy;  // resource policy of the stream
  std::vector<EpochMillis> scalings;  // UpdateShardCount calls (rolling 24 h limit)
  std::vector<ConsumerState> consumers;

  // UPDATING: until `updating_until_ms`; a reshard is applied when that time comes.
  EpochMillis updating_until_ms = 0;
  std::optional<PendingReshard> pending;
  std::atomic<bool> has_pending{false};  // lets the data path skip the settle check

  mutable std::shared_mutex mu;                     // guards the shard topology
  std::vector<std::shared_ptr<ShardState>> shards;  // by index
  std::vector<ShardState*> open;                    // open shards sorted by start hash key

  EpochMillis RetentionStart(EpochMillis now) const {
    return now - static_cast<EpochMillis>(retention_hours) * 3'600'000;
  }

  ShardState* Route(HashKey k) const {
    auto it = std::upper_bound(open.begin(), open.end(), k,
                               [](HashKey key, const ShardState* s) { return key < s->start; });
    if (it == open.begin()) return nullptr;
    ShardState* s = *(it - 1);
    return k <= s->end ? s : nullptr;
  }
};

// Helpers shared by engine.cc and control.cc (defined in engine.cc).
storage::LogId LogIdFor(const StreamState& s, const ShardState& shard);
std::vector<std::pair<HashKey, HashKey>> EvenRanges(int n);
void RebuildOpenShards(StreamState& s);
// Creates shard `index` of `s` with the given range and parents, and its log (whose
// descriptor is the stream's document with this shard only).
Result<std::shared_ptr<ShardState>> NewShard(
    storage::Storage& storage, const StreamState& s, std::uint32_t index, HashKey start,
    HashKey end, EpochMillis created_ms, std::optional<std::string> parent = std::nullopt,
    std::optional<std::string> adjacent_parent = std::nullopt);
// The stream document (JSON; docs/storage-format.md): with `shards`, only those shards.
std::string StreamDocument(const StreamState& s,
                           const std::vector<std::shared_ptr<ShardState>>* shards = nullptr);
Result<std::shared_ptr<StreamState>> ParseStreamDocument(std::string_view text);
// Rebuilds a stream from the descriptors of its logs (recovery.cc): every shard with its
// range, parents and log; parents are closed when their children were made; no pending
// reshard, no deletion. Corruption when a descriptor is missing or does not parse.
// Retention becomes at least the age of the oldest record at `now` (a retention raised after
// the last shard was made is not in any descriptor, and must not trim records at once).
Result<std::shared_ptr<StreamState>> RebuildStreamFromLogs(storage::Storage& storage,
                                                           const std::vector<storage::LogId>& logs,
                                                           EpochMillis now);
// Refuses a request that would create `new_logs` shard logs while the storage cannot take
// them (it is short of file descriptors): AWS's shard-limit error, with the limit lowered to
// `open_total` plus what still fits (docs/aws-behaviour.md).
Status CheckLogRoom(const storage::Storage& storage, const api::AccountScope& scope, int open_total,
                    int new_logs);

}  // namespace cinesis::engine
