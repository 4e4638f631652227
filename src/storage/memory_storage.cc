// In-memory storage: each log keeps record bytes in arena blocks (no heap allocation per
// record) and a compact index of fixed-size entries. A log's blocks grow geometrically, from
// 4 KiB up to 4 MiB, and are never zeroed, so idle and lightly written logs cost little.
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

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

struct Block {
  std::unique_ptr<char[]> data;
  std::size_t capacity = 0;
  std::size_t used = 0;
  std::uint64_t last_offset = 0;  // newest record stored in this block
};

class MemoryLog final : public Log {
 public:
  Result<AppendResult> Append(std::span<const AppendRecord> records,
                              EpochMillis arrival_ms) override {
    std::unique_lock lock(mu_);
    if (!index_.empty()) arrival_ms = std::max(arrival_ms, index_.back().arrival_ms);
    const std::uint64_t first = base_ + index_.size();
    for (const auto& r : records) {
      std::size_t need = r.key.size() + r.explicit_key.size() + r.data.size();
      char* p = Allocate(need, base_ + index_.size());
      Copy(p, r.key);
      Copy(p + r.key.size(), r.explicit_key);
      Copy(p + r.key.size() + r.explicit_key.size(), r.data);
      index_.push_back(Entry{p, static_cast<std::uint32_t>(r.key.size()),
                             static_cast<std::uint32_t>(r.explicit_key.size()),
                             static_cast<std::uint32_t>(r.data.size()), arrival_ms});
    }
    return AppendResult{Offset{first}, Offset{base_ + index_.size()}, arrival_ms};
  }

  Status WaitDurable(const AppendResult&) override { return Status::Ok(); }
  void OnDurable(const AppendResult&, std::function<void(Status)> done) override {
    done(Status::Ok());
  }

  Result<ReadResult> Read(Offset from, std::size_t max_records, const RecordVisitor& visit,
                          EpochMillis not_before_ms) const override {
    std::shared_lock lock(mu_);
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
    std::shared_lock lock(mu_);
    return Offset{base_};
  }
  Offset EndOffset() const override {
    std::shared_lock lock(mu_);
    return Offset{base_ + index_.size()};
  }
  Offset OffsetAtTime(EpochMillis ms) const override {
    std::shared_lock lock(mu_);
    auto it = std::lower_bound(index_.begin(), index_.end(), ms,
                               [](const Entry& e, EpochMillis t) { return e.arrival_ms < t; });
    return Offset{base_ + static_cast<std::uint64_t>(it - index_.begin())};
  }
  std::optional<EpochMillis> LastArrival() const override {
    std::shared_lock lock(mu_);
    if (index_.empty()) return std::nullopt;
    return index_.back().arrival_ms;
  }
  std::size_t ReservedBytes() const override {
    std::shared_lock lock(mu_);
    std::size_t n = 0;
    for (const Block& b : blocks_) n += b.capacity;
    return n;
  }
  void TrimBefore(EpochMillis ms) override {
    std::unique_lock lock(mu_);
    while (!index_.empty() && index_.front().arrival_ms < ms) {
      index_.pop_front();
      ++base_;
    }
    // Free blocks holding only trimmed records (never the block being filled).
    while (blocks_.size() > 1 && blocks_.front().last_offset < base_) blocks_.pop_front();
  }

 private:
  static void Copy(char* to, std::string_view from) {
    if (!from.empty()) std::memcpy(to, from.data(), from.size());  // empty views may be null
  }
  char* Allocate(std::size_t n, std::uint64_t offset) {
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

  mutable std::shared_mutex mu_;
  std::uint64_t base_ = 0;  // offset of index_[0]
  std::deque<Entry> index_;
  std::deque<Block> blocks_;
  std::size_t next_block_ = kFirstBlockSize;  // size of the next arena block
};

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
  Result<std::shared_ptr<Log>> CreateLog(LogId id, std::string_view descriptor) override {
    std::unique_lock lock(mu_);
    auto [it, inserted] = logs_.try_emplace(id.value);
    if (!inserted) return Status(Code::kResourceInUse, "log exists");
    it->second = std::make_shared<MemoryLog>();
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
  std::string Describe() const override { return "in-memory (nothing survives a restart)"; }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::uint64_t, std::shared_ptr<Log>> logs_;
  std::map<std::uint64_t, std::string> descriptors_;
  MemoryMetaStore meta_;
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage() { return std::make_unique<MemoryStorage>(); }

}  // namespace cinesis::storage
