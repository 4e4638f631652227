// Internal state of the engine shared by its translation units (engine.cc: data plane
// and stream lifecycle; control.cc: resharding, tags, consumers and the other control
// operations). Not part of any public interface.
//
// Concurrency contract (docs/architecture.md, "Locks"): every mutable field names its guard
// with the annotations of common/thread_annotations.h, checked by clang's -Wthread-safety.
// Fields without a guard are immutable once the stream (or shard) is published in
// Engine::streams_ (or StreamState::shards), or are atomics. Lock order:
// Engine::mu_ -> StreamState::mu -> ShardState::Waiters::mu / ShardThrottle::mu_ -> the
// storage's log locks.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/types.h"
#include "common/hash_key.h"
#include "common/thread_annotations.h"
#include "engine/metrics.h"
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
  bool TakeWrite(std::size_t bytes, EpochMillis now) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    Refill(now);
    if (write_records_ < 1 || write_bytes_ < static_cast<double>(bytes)) return false;
    write_records_ -= 1;
    write_bytes_ -= static_cast<double>(bytes);
    return true;
  }
  // Takes one GetRecords call; false when over the call rate or still paying for bytes.
  bool TakeRead(EpochMillis now) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    Refill(now);
    if (read_calls_ < 1 || read_bytes_ <= 0) return false;
    read_calls_ -= 1;
    return true;
  }
  void ChargeRead(std::size_t bytes) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    read_bytes_ -= static_cast<double>(bytes);
  }

 private:
  void Refill(EpochMillis now) REQUIRES(mu_) {
    if (at_ == 0) at_ = now;
    const double ms = static_cast<double>(std::max<EpochMillis>(0, now - at_));
    at_ = std::max(at_, now);
    write_records_ = std::min(1000.0, write_records_ + ms * kWriteRecordsPerMs);
    write_bytes_ = std::min(1048576.0, write_bytes_ + ms * kWriteBytesPerMs);
    read_calls_ = std::min(5.0, read_calls_ + ms * kReadCallsPerMs);
    read_bytes_ = std::min(2097152.0, read_bytes_ + ms * kReadBytesPerMs);
  }
  Mutex mu_;
  EpochMillis at_ GUARDED_BY(mu_) = 0;
  double write_records_ GUARDED_BY(mu_) = 1000;
  double write_bytes_ GUARDED_BY(mu_) = 1048576;
  double read_calls_ GUARDED_BY(mu_) = 5;
  double read_bytes_ GUARDED_BY(mu_) = 2097152;
};

struct ShardState {
  ShardState() = default;
  ShardState(const ShardState&) = delete;
  ShardState& operator=(const ShardState&) = delete;
  ~ShardState() {
    delete throttle_.load(std::memory_order_acquire);
    delete waiters_.load(std::memory_order_acquire);
  }

  // Immutable once the shard is in its stream's `shards` (set before it is published).
  // Ids are not kept: a shard's is ShardIdFor(index), and so are its parents' (a string per
  // id took 64 bytes per shard with its heap block).
  std::uint32_t index = 0;
  HashKey start, end;
  EpochMillis created_ms = 0;
  std::optional<std::uint32_t> parent, adjacent_parent;  // indexes of the parent shards
  std::shared_ptr<storage::Log> log;                     // internally synchronised
  std::string id() const { return ShardIdFor(index); }
  std::optional<std::string> parent_id() const {
    return parent ? std::optional<std::string>(ShardIdFor(*parent)) : std::nullopt;
  }
  std::optional<std::string> adjacent_parent_id() const {
    return adjacent_parent ? std::optional<std::string>(ShardIdFor(*adjacent_parent))
                           : std::nullopt;
  }

  // Set when resharding closes the shard. Guarded by the owning StreamState::mu (read with
  // it held at least shared, written with it held exclusively); the annotations cannot
  // name another object's lock, so this one is checked by reading and by TSan.
  std::optional<EpochMillis> closed_ms;

  // The shard's throughput limits (EngineOptions::throttle only): made at first use, so a
  // server that does not throttle carries none (80 bytes per shard). Internally synchronised.
  ShardThrottle& throttle() {
    ShardThrottle* t = throttle_.load(std::memory_order_acquire);
    if (t) return *t;
    auto made = std::make_unique<ShardThrottle>();
    if (throttle_.compare_exchange_strong(t, made.get(), std::memory_order_acq_rel)) {
      return *made.release();
    }
    return *t;  // another thread made it first
  }
  ShardMetrics metrics;  // internally synchronised (metrics.h)

  // SubscribeToShard: one-shot callbacks run after records are appended. They are the
  // transports' wake-ups (they only post to an executor or notify a condition variable)
  // and must not call back into the engine: NotifyAppended may run with StreamState::mu
  // held (a reshard wakes the subscribers of the shards it closes). Made at the first wait
  // (Listeners()), so a shard nobody waited on carries none (56 bytes per shard).
  struct Waiters {
    Mutex mu;
    std::vector<std::function<void()>> listeners GUARDED_BY(mu);
  };
  Waiters& Listeners() {
    Waiters* w = waiters_.load(std::memory_order_acquire);
    if (w) return *w;
    auto made = std::make_unique<Waiters>();
    if (waiters_.compare_exchange_strong(w, made.get(), std::memory_order_acq_rel)) {
      return *made.release();
    }
    return *w;  // another thread made them first
  }
  // Set (with Waiters::mu held, so after the Waiters were made) when a listener may wait.
  std::atomic<bool> has_listeners{false};
  void NotifyAppended() {
    // Pairs with the fence in EngineSubscription::NotifyOnAppend: the append that precedes
    // this call and a listener's check of the end offset cannot both miss each other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!has_listeners.load(std::memory_order_seq_cst)) return;
    Waiters* w = waiters_.load(std::memory_order_acquire);  // made before has_listeners was set
    if (!w) return;
    std::vector<std::function<void()>> run;
    {
      MutexLock lock(&w->mu);
      run.swap(w->listeners);
      has_listeners.store(false, std::memory_order_release);
    }
    for (auto& f : run) f();
  }

  std::uint64_t created_s() const { return static_cast<std::uint64_t>(created_ms / 1000); }
  // The sequence number range's start: computed when asked, not kept (~64 bytes per shard).
  std::string StartingSequence() const {
    return EncodeSequence({created_s(), index, 0, created_s()});
  }
  std::string SequenceAt(std::uint64_t offset, EpochMillis arrival_ms) const {
    return EncodeSequence(
        {created_s(), index, offset + 1, static_cast<std::uint64_t>(arrival_ms / 1000)});
  }
  void AppendSequenceAt(std::uint64_t offset, EpochMillis arrival_ms, std::string& out) const {
    AppendSequence({created_s(), index, offset + 1, static_cast<std::uint64_t>(arrival_ms / 1000)},
                   out);
  }

 private:
  std::atomic<ShardThrottle*> throttle_{nullptr};  // owned
  std::atomic<Waiters*> waiters_{nullptr};         // owned
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

// Guarded, field by field, by the owning StreamState::mu (it lives in StreamState::consumers).
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

// The settings and state most streams never use (tags, encryption key, enhanced monitoring,
// warm throughput, resource policy, scaling history, consumers, a pending reshard): kept apart
// and made when first set, so a stream that has none of them does not carry them (~290 bytes
// per stream; issue 19 item 5).
struct StreamExtras {
  std::map<std::string, std::string> tags;
  std::optional<std::string> key_id;
  std::set<std::string> shard_level_metrics;
  std::optional<int> warm_throughput_mibps;
  std::optional<std::string> policy;  // resource policy of the stream
  std::vector<EpochMillis> scalings;  // UpdateShardCount calls (rolling 24 h)
  std::vector<ConsumerState> consumers;
  std::optional<PendingReshard> pending;  // see StreamState::updating_until_ms
};

struct StreamState {
  // Immutable once the stream is in Engine::streams_. (Its ARN is not kept: Engine::ArnFor
  // makes it from the name.)
  std::uint64_t id = 0;
  std::string name;
  EpochMillis created_ms = 0;
  EpochMillis active_at_ms = 0;

  // Guards the stream's mutable state below: its settings, consumers and shard topology.
  // Writers (control operations, Settle, DeleteStream) hold it exclusively; the data path
  // holds it shared while it routes and appends.
  mutable SharedMutex mu;

  std::optional<EpochMillis> deleting_at_ms GUARDED_BY(mu);  // when DeleteStream was accepted
  // When a deleting stream disappears; kNever while not deleting. Written with `mu` held
  // exclusively (and Engine::mu_), read without a lock by the lookups that skip gone streams.
  std::atomic<EpochMillis> gone_at_ms{kNever};
  api::StreamMode mode GUARDED_BY(mu) = api::StreamMode::kProvisioned;
  std::atomic<int> retention_hours{24};  // read on the data path without the lock
  int max_record_size_kib GUARDED_BY(mu) = 1024;
  std::atomic<api::EncryptionType> encryption{api::EncryptionType::kNone};  // read on the data path

  // The rarely used settings (StreamExtras): read through extras() (empty ones when none were
  // ever set), changed through mutable_extras(), which makes them.
  const StreamExtras& extras() const REQUIRES_SHARED(mu) {
    static const StreamExtras kNone;
    return extras_ ? *extras_ : kNone;
  }
  // The extras, or nullptr when none were ever set; for callers that hand out a consumer to
  // change under the lock they hold (the pointer stays valid while `mu` is held).
  StreamExtras* extras_if_any() const REQUIRES_SHARED(mu) { return extras_.get(); }
  StreamExtras& mutable_extras() REQUIRES(mu) {
    if (!extras_) extras_ = std::make_unique<StreamExtras>();
    return *extras_;
  }

  // UPDATING: until `updating_until_ms`; a reshard (extras().pending) is applied when that
  // time comes.
  EpochMillis updating_until_ms GUARDED_BY(mu) = 0;
  std::atomic<bool> has_pending{false};  // lets the data path skip the settle check
  // Set by Tick (with `mu` held exclusively, under Engine::mu_) when it takes the stream out
  // of Engine::streams_ and its open shards out of the account's count. A request may still
  // hold the stream: Settle then applies nothing, so no shard of a stream that is gone is
  // counted, given a log or written to the metadata again.
  bool removed GUARDED_BY(mu) = false;

  std::vector<std::shared_ptr<ShardState>> shards GUARDED_BY(mu);  // by index
  std::vector<ShardState*> open GUARDED_BY(mu);  // open shards sorted by start hash key

  static constexpr EpochMillis kNever = std::numeric_limits<EpochMillis>::max();

  // True once a deleted stream's deletion delay has passed (it is then not found).
  bool GoneAt(EpochMillis now) const { return now >= gone_at_ms.load(std::memory_order_acquire); }

  EpochMillis RetentionStart(EpochMillis now) const {
    return now - static_cast<EpochMillis>(retention_hours) * 3'600'000;
  }

  ShardState* Route(HashKey k) const REQUIRES_SHARED(mu) {
    auto it = std::upper_bound(open.begin(), open.end(), k,
                               [](HashKey key, const ShardState* s) { return key < s->start; });
    if (it == open.begin()) return nullptr;
    ShardState* s = *(it - 1);
    return k <= s->end ? s : nullptr;
  }

 private:
  std::unique_ptr<StreamExtras> extras_ GUARDED_BY(mu);
};

// Helpers shared by the engine's files (defined in engine.cc).
storage::LogId LogIdFor(const StreamState& s, const ShardState& shard);
std::vector<std::pair<HashKey, HashKey>> EvenRanges(int n);
void RebuildOpenShards(StreamState& s) REQUIRES(s.mu);
// Shard `index` of `s` with the given range and parents. Its log is an empty one left by an
// earlier attempt when there is one; otherwise it has none yet and the log to create (whose
// descriptor is the stream's document with this shard only) is added to `logs`, for
// CreateShardLogs to make together with the others. The descriptor is made when the log is
// written: `s` (and `s.mu`, held) must outlive CreateShardLogs, and the shard's fields and
// `s`'s settings must not change before it.
std::shared_ptr<ShardState> NewShard(storage::Storage& storage, const StreamState& s,
                                     std::uint32_t index, HashKey start, HashKey end,
                                     EpochMillis created_ms, std::vector<storage::NewLog>& logs,
                                     std::optional<std::uint32_t> parent = std::nullopt,
                                     std::optional<std::uint32_t> adjacent_parent = std::nullopt)
    REQUIRES_SHARED(s.mu);
// Creates `logs` in one batch (Storage::CreateLogs) and gives them, in order, to the shards
// that have no log yet.
Status CreateShardLogs(storage::Storage& storage, std::span<const storage::NewLog> logs,
                       std::span<const std::shared_ptr<ShardState>> shards);
// Counts `shards` made (or loaded at start); each time kReleaseAfterShards more were counted,
// hands the heap's free pages back to the system (glibc's malloc_trim). The transient memory
// of the requests that made them (stream documents, the batch's bookkeeping) is freed in
// pieces among the shards' long-lived objects, which glibc keeps otherwise. A trim costs
// ~O(heap size): paid once per kReleaseAfterShards shards, not per request.
inline constexpr std::size_t kReleaseAfterShards = 1000;
// `release`: EngineOptions::release_memory.
void ReleaseFreedMemory(std::size_t shards, const std::function<void()>& release);
// Keys of the metadata store (docs/storage-format.md).
inline constexpr std::string_view kStreamKeyPrefix = "stream/";
inline constexpr std::string_view kSealerKey = "engine/token-key";
inline constexpr std::string_view kNextIdKey = "engine/next-stream-id";
// "stream/<id as 16 hex digits>": where a stream's document is kept.
std::string StreamKey(std::uint64_t id);
// The stream document (JSON; docs/storage-format.md): with `shards`, only those shards.
std::string StreamDocument(const StreamState& s,
                           const std::vector<std::shared_ptr<ShardState>>* shards = nullptr)
    REQUIRES_SHARED(s.mu);
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
