// In-memory storage: each log keeps record bytes in arena blocks (no heap allocation per
// record) and a compact index of fixed-size entries. A log's blocks grow geometrically, from
// 4 KiB up to 4 MiB, and are never zeroed, so idle and lightly written logs cost little.
//
// Optional cap (MemoryOptions::max_bytes): the storage counts the bytes it keeps for records
// (see MemoryOptions) and, when an append takes the count above the cap, trims the oldest
// records of all its logs first, exactly as retention would (a log's StartOffset moves; readers
// before it continue from there). Arrival order across logs comes from a FIFO of append batches
// (consecutive batches of one log share an entry), so a trim never scans the logs.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "common/thread_annotations.h"
#include "storage/log.h"

namespace cinesis::storage {
namespace {

constexpr std::size_t kFirstBlockSize = 4 << 10;
constexpr std::size_t kMaxBlockSize = 4 << 20;

struct Entry {
  const char* bytes;  // key, explicit key, data, back to back
  std::uint32_t key_len;
  std::uint32_t explicit_len;
  std::uint32_t data_len;
  EpochMillis arrival_ms;
};

// What a kept record costs against the cap besides its bytes: its index entry (the sizes
// MemoryOptions documents are those of 64-bit targets).
constexpr std::size_t kRecordOverhead = sizeof(Entry);
static_assert(sizeof(void*) != 8 || kRecordOverhead == 32);

struct Block {
  std::unique_ptr<char[]> data;
  std::size_t capacity = 0;
  std::size_t used = 0;
  std::uint64_t last_offset = 0;  // newest record stored in this block
};

class MemoryLog;

// The cap shared by a capped storage and its logs. Lock order: Budget::mu, then a log's mu_.
class Budget {
 public:
  explicit Budget(std::uint64_t cap) : cap_(cap) {}

  // Counted bytes change under the log's lock (appends add, trims subtract); never blocks.
  void Add(std::uint64_t n) { used_.fetch_add(n, std::memory_order_relaxed); }
  void Sub(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t cap() const { return cap_; }

  // Records that `log` now holds records up to `end` (exclusive), then trims the oldest
  // records of any log until the count is back under the cap. Called after an append, with
  // no log lock held.
  void Appended(const std::shared_ptr<MemoryLog>& log, std::uint64_t end) EXCLUDES(mu_);

  // The queue entry of one run of consecutive batches of one log.
  struct Chunk {
    std::weak_ptr<MemoryLog> log;
    std::uint64_t end = 0;  // one past the run's newest record
  };
  static constexpr std::size_t kChunkOverhead = sizeof(Chunk);
  static_assert(sizeof(void*) != 8 || kChunkOverhead == 24);

 private:
  const std::uint64_t cap_;
  std::atomic<std::uint64_t> used_{0};
  Mutex mu_;
  std::deque<Chunk> queue_ GUARDED_BY(mu_);  // oldest first
};

class MemoryLog final : public Log, public std::enable_shared_from_this<MemoryLog> {
 public:
  explicit MemoryLog(std::shared_ptr<Budget> budget) : budget_(std::move(budget)) {}
  ~MemoryLog() override {
    if (budget_) budget_->Sub(counted_);
  }
  MemoryLog(const MemoryLog&) = delete;
  MemoryLog& operator=(const MemoryLog&) = delete;

  Result<AppendResult> Append(std::span<const AppendRecord> records,
                              EpochMillis arrival_ms) override {
    AppendResult result;
    {
      WriterLock lock(&mu_);
      if (!index_.empty()) arrival_ms = std::max(arrival_ms, index_.back().arrival_ms);
      const std::uint64_t first = base_ + index_.size();
      std::uint64_t added = 0;
      for (const auto& r : records) {
        std::size_t need = r.key.size() + r.explicit_key.size() + r.data.size();
        char* p = Allocate(need, base_ + index_.size());
        Copy(p, r.key);
        Copy(p + r.key.size(), r.explicit_key);
        Copy(p + r.key.size() + r.explicit_key.size(), r.data);
        index_.push_back(Entry{p, static_cast<std::uint32_t>(r.key.size()),
                               static_cast<std::uint32_t>(r.explicit_key.size()),
                               static_cast<std::uint32_t>(r.data.size()), arrival_ms});
        added += need + kRecordOverhead;
      }
      if (budget_) {
        counted_ += added;
        budget_->Add(added);
      }
      result = AppendResult{Offset{first}, Offset{base_ + index_.size()}, arrival_ms};
    }
    if (budget_) budget_->Appended(shared_from_this(), result.end.value);
    return result;
  }

  Status WaitDurable(const AppendResult&) override { return Status::Ok(); }
  void OnDurable(const AppendResult&, std::function<void(Status)> done) override {
    done(Status::Ok());
  }
  bool DurableOnAppend() const override { return true; }

  Result<ReadResult> Read(Offset from, std::size_t max_records, const RecordVisitor& visit,
                          EpochMillis not_before_ms) const override {
    ReaderLock lock(&mu_);
    std::uint64_t pos = std::max(from.value, base_);
    ReadResult result{Offset{pos}, 0};
    const std::uint64_t end = base_ + index_.size();
    while (pos < end && result.count < max_records) {
      const Entry& e = index_[pos - base_];
      if (e.arrival_ms >= not_before_ms) {
        RecordView v{Offset{pos},
                     e.arrival_ms,
                     {e.bytes, e.key_len},
                     {e.bytes + e.key_len, e.explicit_len},
                     {e.bytes + e.key_len + e.explicit_len, e.data_len}};
        if (!visit(v)) break;
        ++result.count;
      }
      ++pos;
    }
    result.next = Offset{pos};
    return result;
  }

  Offset StartOffset() const override {
    ReaderLock lock(&mu_);
    return Offset{base_};
  }
  Offset EndOffset() const override {
    ReaderLock lock(&mu_);
    return Offset{base_ + index_.size()};
  }
  Offset OffsetAtTime(EpochMillis ms) const override {
    ReaderLock lock(&mu_);
    auto it = std::lower_bound(index_.begin(), index_.end(), ms,
                               [](const Entry& e, EpochMillis t) { return e.arrival_ms < t; });
    return Offset{base_ + static_cast<std::uint64_t>(it - index_.begin())};
  }
  std::optional<EpochMillis> LastArrival() const override {
    ReaderLock lock(&mu_);
    if (index_.empty()) return std::nullopt;
    return index_.back().arrival_ms;
  }
  std::size_t ReservedBytes() const override {
    ReaderLock lock(&mu_);
    std::size_t n = 0;
    for (const Block& b : blocks_) n += b.capacity;
    return n;
  }
  void TrimBefore(EpochMillis ms) override {
    WriterLock lock(&mu_);
    while (!index_.empty() && index_.front().arrival_ms < ms) PopFront();
    FreeTrimmedBlocks();
  }

  // The cap's trim: drops records from the front while their offset is below `end`, until
  // `want` counted bytes were freed. Returns the bytes freed; the run up to `end` is gone
  // when the result is below `want`.
  std::uint64_t TrimForCap(std::uint64_t end, std::uint64_t want) {
    WriterLock lock(&mu_);
    std::uint64_t freed = 0;
    while (freed < want && !index_.empty() && base_ < end) freed += PopFront();
    FreeTrimmedBlocks();
    return freed;
  }

 private:
  static void Copy(char* to, std::string_view from) {
    if (!from.empty()) std::memcpy(to, from.data(), from.size());  // empty views may be null
  }
  // Drops the oldest record; returns what it counted against the cap.
  std::uint64_t PopFront() REQUIRES(mu_) {
    const Entry& e = index_.front();
    const std::uint64_t n =
        std::uint64_t{e.key_len} + e.explicit_len + e.data_len + kRecordOverhead;
    index_.pop_front();
    ++base_;
    if (!budget_) return n;
    counted_ -= n;
    budget_->Sub(n);
    return n;
  }
  // Frees blocks holding only trimmed records (never the block being filled).
  void FreeTrimmedBlocks() REQUIRES(mu_) {
    while (blocks_.size() > 1 && blocks_.front().last_offset < base_) blocks_.pop_front();
  }
  char* Allocate(std::size_t n, std::uint64_t offset) REQUIRES(mu_) {
    if (blocks_.empty() || blocks_.back().used + n > blocks_.back().capacity) {
      // Each new block doubles the last arena's size, up to kMaxBlockSize. Large records get a
      // block of their own; the next small one starts a fresh arena. Not zeroed: every byte
      // is written before it is read.
      const std::size_t arena = next_block_;
      next_block_ = std::min(next_block_ * 2, kMaxBlockSize);
      const std::size_t cap = std::max(n, arena);
      blocks_.push_back(Block{std::make_unique_for_overwrite<char[]>(cap), cap, 0, offset});
    }
    Block& b = blocks_.back();
    char* p = b.data.get() + b.used;
    b.used += n;
    b.last_offset = offset;
    return p;
  }

  const std::shared_ptr<Budget> budget_;  // nullptr: no cap
  mutable SharedMutex mu_;
  std::uint64_t base_ GUARDED_BY(mu_) = 0;  // offset of index_[0]
  std::deque<Entry> index_ GUARDED_BY(mu_);
  std::deque<Block> blocks_ GUARDED_BY(mu_);
  std::size_t next_block_ GUARDED_BY(mu_) = kFirstBlockSize;  // size of the next arena block
  std::uint64_t counted_ GUARDED_BY(mu_) = 0;                 // bytes this log added to budget_
};

void Budget::Appended(const std::shared_ptr<MemoryLog>& log, std::uint64_t end) {
  MutexLock lock(&mu_);
  const std::weak_ptr<MemoryLog> weak = log;
  auto same = [&](const Chunk& c) {
    return !c.log.owner_before(weak) && !weak.owner_before(c.log);
  };
  if (!queue_.empty() && same(queue_.back())) {
    queue_.back().end = std::max(queue_.back().end, end);
  } else {
    queue_.push_back(Chunk{weak, end});
    Add(kChunkOverhead);
  }
  // Oldest first: the front run loses records until the count fits; a run wholly trimmed (or
  // whose log is gone, or whose records retention took) leaves the queue.
  while (!queue_.empty()) {
    const std::uint64_t now_used = used();
    if (now_used <= cap_) break;
    const std::uint64_t want = now_used - cap_;
    Chunk& front = queue_.front();
    std::uint64_t freed = 0;
    if (auto l = front.log.lock()) freed = l->TrimForCap(front.end, want);
    if (freed >= want) break;
    queue_.pop_front();
    Sub(kChunkOverhead);
  }
}

class MemoryMetaStore final : public MetaStore {
 public:
  Status Put(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    map_[std::string(key)] = std::string(value);
    return Status::Ok();
  }
  Status Erase(std::string_view key) override {
    std::lock_guard lock(mu_);
    map_.erase(std::string(key));
    return Status::Ok();
  }
  Result<std::vector<std::pair<std::string, std::string>>> LoadAll() override {
    std::lock_guard lock(mu_);
    return std::vector<std::pair<std::string, std::string>>(map_.begin(), map_.end());
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> map_;
};

class MemoryStorage final : public Storage {
 public:
  explicit MemoryStorage(const MemoryOptions& options)
      : budget_(options.max_bytes ? std::make_shared<Budget>(options.max_bytes) : nullptr) {}

  Result<std::shared_ptr<Log>> CreateLog(LogId id, std::string_view descriptor) override {
    std::unique_lock lock(mu_);
    auto [it, inserted] = logs_.try_emplace(id.value);
    if (!inserted) return Status(Code::kResourceInUse, "log exists");
    it->second = std::make_shared<MemoryLog>(budget_);
    descriptors_[id.value] = std::string(descriptor);
    return std::shared_ptr<Log>(it->second);
  }
  Result<std::string> Descriptor(LogId id) const override {
    std::shared_lock lock(mu_);
    auto it = descriptors_.find(id.value);
    if (it == descriptors_.end()) return Status(Code::kResourceNotFound, "no such log");
    return it->second;
  }
  Status DropLog(LogId id) override {
    std::unique_lock lock(mu_);
    logs_.erase(id.value);
    descriptors_.erase(id.value);
    return Status::Ok();
  }
  // Nothing outlives the process here, so setting aside is dropping.
  Status QuarantineLog(LogId id, std::string_view) override { return DropLog(id); }
  std::shared_ptr<Log> FindLog(LogId id) const override {
    std::shared_lock lock(mu_);
    auto it = logs_.find(id.value);
    return it == logs_.end() ? nullptr : it->second;
  }
  std::vector<LogId> ListLogs() const override {
    std::shared_lock lock(mu_);
    std::vector<LogId> ids;
    for (const auto& [id, _] : logs_) ids.push_back(LogId{id});
    return ids;
  }
  MetaStore& meta() override { return meta_; }
  std::string Describe() const override {
    std::string text = "in-memory (nothing survives a restart)";
    if (budget_)
      text += ", oldest records trimmed beyond " + std::to_string(budget_->cap()) + " bytes";
    return text;
  }

 private:
  const std::shared_ptr<Budget> budget_;
  mutable std::shared_mutex mu_;
  std::map<std::uint64_t, std::shared_ptr<Log>> logs_;
  std::map<std::uint64_t, std::string> descriptors_;
  MemoryMetaStore meta_;
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage(const MemoryOptions& options) {
  return std::make_unique<MemoryStorage>(options);
}

}  // namespace cinesis::storage
