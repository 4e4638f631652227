#include "storage/file_cache.h"

#include <algorithm>
#include <atomic>

namespace cinesis::storage {

FileCache::FileCache(Env& env, std::size_t capacity)
    : env_(env),
      capacity_(std::max<std::size_t>(capacity, 1)),
      // At least 16 files per part, at most 16 parts: small caches stay one exact LRU.
      parts_(std::clamp<std::size_t>(capacity_ / 16, 1, 16)) {
  part_capacity_ = capacity_ / parts_.size();
}

std::uint64_t FileCache::NewKey() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

Result<std::shared_ptr<File>> FileCache::Get(std::uint64_t key, const std::string& path) {
  Part& p = PartOf(key);
  {
    std::lock_guard lock(p.mu);
    if (auto it = p.map.find(key); it != p.map.end()) {
      p.lru.splice(p.lru.begin(), p.lru, it->second);
      ++p.stats.hits;
      return it->second->file;
    }
  }
  // Opened outside the lock; a concurrent Get of the same key may open it too, and the
  // first one inserted wins (InsertLocked returns it).
  auto opened = env_.Open(path, false);
  if (!opened.ok() && size() > 0) {
    Shrink(std::max<std::size_t>(size() / 4, 1));
    opened = env_.Open(path, false);
  }
  if (!opened.ok()) return opened.status();
  std::shared_ptr<File> file = std::move(opened).value();
  std::vector<std::shared_ptr<File>> closed;
  std::lock_guard lock(p.mu);
  ++p.stats.opens;
  return InsertLocked(p, key, std::move(file), closed);
  // `closed` is destroyed after the lock is released (declared before it): files close there.
}

std::shared_ptr<File> FileCache::Insert(std::uint64_t key, std::shared_ptr<File> file) {
  Part& p = PartOf(key);
  std::vector<std::shared_ptr<File>> closed;
  std::lock_guard lock(p.mu);
  return InsertLocked(p, key, std::move(file), closed);
}

std::shared_ptr<File> FileCache::InsertLocked(Part& p, std::uint64_t key,
                                              std::shared_ptr<File> file,
                                              std::vector<std::shared_ptr<File>>& closed) {
  if (auto it = p.map.find(key); it != p.map.end()) {
    p.lru.splice(p.lru.begin(), p.lru, it->second);
    closed.push_back(std::move(file));  // a concurrent open won; ours is closed
    return it->second->file;
  }
  while (p.lru.size() >= part_capacity_) {
    closed.push_back(std::move(p.lru.back().file));
    p.map.erase(p.lru.back().key);
    p.lru.pop_back();
    ++p.stats.evictions;
  }
  p.lru.push_front(Entry{key, std::move(file)});
  p.map.emplace(key, p.lru.begin());
  return p.lru.front().file;
}

void FileCache::Erase(std::uint64_t key) {
  Part& p = PartOf(key);
  std::shared_ptr<File> closed;
  std::lock_guard lock(p.mu);
  auto it = p.map.find(key);
  if (it == p.map.end()) return;
  closed = std::move(it->second->file);
  p.lru.erase(it->second);
  p.map.erase(it);
}

void FileCache::Shrink(std::size_t n) {
  while (n > 0) {
    bool any = false;
    for (Part& p : parts_) {
      if (n == 0) break;
      std::shared_ptr<File> closed;
      std::lock_guard lock(p.mu);
      if (p.lru.empty()) continue;
      closed = std::move(p.lru.back().file);
      p.map.erase(p.lru.back().key);
      p.lru.pop_back();
      ++p.stats.evictions;
      --n;
      any = true;
    }
    if (!any) break;
  }
}

std::size_t FileCache::size() const {
  std::size_t n = 0;
  for (const Part& p : parts_) {
    std::lock_guard lock(p.mu);
    n += p.lru.size();
  }
  return n;
}

FileCache::Stats FileCache::stats() const {
  Stats s;
  for (const Part& p : parts_) {
    std::lock_guard lock(p.mu);
    s.hits += p.stats.hits;
    s.opens += p.stats.opens;
    s.evictions += p.stats.evictions;
  }
  return s;
}

}  // namespace cinesis::storage
