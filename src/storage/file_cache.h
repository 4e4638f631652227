// FileCache: the durable storage's bounded set of open segment files (docs/storage-format.md,
// "Open files"). Segments are opened on demand and the least recently used are closed beyond
// the capacity, so the number of logs is not bounded by the process's file-descriptor limit.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "storage/env.h"

namespace cinesis::storage {

class FileCache {
 public:
  // `capacity`: files kept open at once (at least 1).
  FileCache(Env& env, std::size_t capacity);
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // A key for a new file, never handed out before (process-wide).
  static std::uint64_t NewKey();

  // The open file of `key`, opening `path` (never creating it) on a miss. A file held by a
  // caller stays open, even when evicted meanwhile, until the last holder lets it go; hold it
  // no longer than one operation. When an open fails and the cache holds files, a quarter of
  // them are closed and the open is tried once more (the process may be short of descriptors).
  Result<std::shared_ptr<File>> Get(std::uint64_t key, const std::string& path);
  // Adds a file opened elsewhere (a new segment, one opened by recovery) as most recently used.
  std::shared_ptr<File> Insert(std::uint64_t key, std::shared_ptr<File> file);
  // Forgets `key` (before its file is removed): the file closes once no caller holds it.
  void Erase(std::uint64_t key);

  std::size_t capacity() const { return capacity_; }
  // Files the cache holds now (not counting evicted files callers still hold).
  std::size_t size() const;

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t opens = 0;      // misses that opened the file
    std::uint64_t evictions = 0;  // files let go to stay within the capacity (or to retry)
  };
  Stats stats() const;

 private:
  struct Entry {
    std::uint64_t key;
    std::shared_ptr<File> file;
  };
  // Independent parts (by key), each with its own lock and least-recently-used order, so
  // concurrent readers and flushers rarely wait for each other.
  struct Part {
    mutable std::mutex mu;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<std::uint64_t, std::list<Entry>::iterator> map;
    Stats stats;
  };
  Part& PartOf(std::uint64_t key) { return parts_[key % parts_.size()]; }
  // Inserts (or refreshes) under the part's lock; evicted files go to `closed`, to be closed
  // outside the lock.
  std::shared_ptr<File> InsertLocked(Part& p, std::uint64_t key, std::shared_ptr<File> file,
                                     std::vector<std::shared_ptr<File>>& closed);
  // Lets go of up to `n` least recently used files across all parts.
  void Shrink(std::size_t n);

  Env& env_;
  const std::size_t capacity_;
  std::size_t part_capacity_;
  std::vector<Part> parts_;
};

}  // namespace cinesis::storage
