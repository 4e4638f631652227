// In-memory storage: each log keeps record bytes in large arena blocks (no heap
// allocation per record) and a compact index of fixed-size entries.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "storage/log.h"

namespace cinesis::storage {
namespace {

constexpr std::size_t kBlockSize = 4 << 20;

struct Entry {
  const char* bytes;  // key, explicit key, data, back to back
  std::uint32_t key_len;
  std::uint32_t explicit_len;
  std::uint32_t data_len;
  EpochMillis arrival_ms;
};

class MemoryLog final : public Log {
 public:
  Result<AppendResult> Append(std::span<const AppendRecord> records,
                              EpochMillis arrival_ms) override {
    std::unique_lock lock(mu_);
    if (!index_.empty()) arrival_ms = std::max(arrival_ms, index_.back().arrival_ms);
    AppendResult result{Offset{base_ + index_.size()}, arrival_ms};
    for (const auto& r : records) {
      std::size_t need = r.key.size() + r.explicit_key.size() + r.data.size();
      char* p = Allocate(need);
      Copy(p, r.key);
      Copy(p + r.key.size(), r.explicit_key);
      Copy(p + r.key.size() + r.explicit_key.size(), r.data);
      index_.push_back(Entry{p, static_cast<std::uint32_t>(r.key.size()),
                             static_cast<std::uint32_t>(r.explicit_key.size()),
                             static_cast<std::uint32_t>(r.data.size()), arrival_ms});
    }
    return result;
  }

  Result<ReadResult> Read(Offset from, std::size_t max_records,
                          const RecordVisitor& visit) const override {
    std::shared_lock lock(mu_);
    std::uint64_t pos = std::max(from.value, base_);
    ReadResult result{Offset{pos}, 0};
    const std::uint64_t end = base_ + index_.size();
    while (pos < end && result.count < max_records) {
      const Entry& e = index_[pos - base_];
      RecordView v{Offset{pos}, e.arrival_ms, {e.bytes, e.key_len},
                   {e.bytes + e.key_len, e.explicit_len},
                   {e.bytes + e.key_len + e.explicit_len, e.data_len}};
      if (!visit(v)) break;
      ++pos;
      ++result.count;
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

 private:
  static void Copy(char* to, std::string_view from) {
    if (!from.empty()) std::memcpy(to, from.data(), from.size());  // empty views may be null
  }
  char* Allocate(std::size_t n) {
    if (n > kBlockSize / 4) {
      // Large records get a block of their own so they do not waste arena space.
      blocks_.push_back(std::make_unique<char[]>(n == 0 ? 1 : n));
      char* p = blocks_.back().get();
      // Keep the current arena block as the one to continue filling.
      if (blocks_.size() >= 2) std::swap(blocks_[blocks_.size() - 1], blocks_[blocks_.size() - 2]);
      return p;
    }
    if (blocks_.empty() || used_ + n > kBlockSize) {
      blocks_.push_back(std::make_unique<char[]>(kBlockSize));
      used_ = 0;
    }
    char* p = blocks_.back().get() + used_;
    used_ += n;
    return p;
  }

  mutable std::shared_mutex mu_;
  std::uint64_t base_ = 0;  // offset of index_[0]
  std::vector<Entry> index_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t used_ = kBlockSize;  // bytes used in blocks_.back(); full until one exists
};

class MemoryStorage final : public Storage {
 public:
  Result<std::shared_ptr<Log>> CreateLog(LogId id) override {
    std::unique_lock lock(mu_);
    auto [it, inserted] = logs_.try_emplace(id.value);
    if (!inserted) return Status(Code::kResourceInUse, "log exists");
    it->second = std::make_shared<MemoryLog>();
    return std::shared_ptr<Log>(it->second);
  }
  Status DropLog(LogId id) override {
    std::unique_lock lock(mu_);
    logs_.erase(id.value);
    return Status::Ok();
  }
  std::shared_ptr<Log> FindLog(LogId id) const override {
    std::shared_lock lock(mu_);
    auto it = logs_.find(id.value);
    return it == logs_.end() ? nullptr : it->second;
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::uint64_t, std::shared_ptr<Log>> logs_;
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage() { return std::make_unique<MemoryStorage>(); }

}  // namespace cinesis::storage
