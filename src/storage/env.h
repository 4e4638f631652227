// Env: all file access of the durable storage goes through here, so tests can inject
// faults (fail writes, lose unsynced data) without touching real disks' behaviour.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cinesis::storage {

// An open file. Not thread-safe for writes; ReadAt may run concurrently with Append.
class File {
 public:
  virtual ~File() = default;
  virtual Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  // Starts writing what was appended to the device without waiting (a hint: Sync() is still
  // what makes it durable). Lets one thread overlap the syncs of several files.
  virtual void StartSync() {}
  // Reads up to `n` bytes at `pos`; returns the count read (short at end of file).
  virtual Result<std::size_t> ReadAt(std::uint64_t pos, char* buf, std::size_t n) const = 0;
  virtual Status Truncate(std::uint64_t size) = 0;
  virtual std::uint64_t Size() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  // Opens for append and read, creating the file when `create` is set.
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, bool create) = 0;
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status RemoveAll(const std::string& dir) = 0;
  virtual Status MakeDirs(const std::string& dir) = 0;
  // Names (not paths) of the entries of `dir`.
  virtual Result<std::vector<std::string>> List(const std::string& dir) = 0;
  // Makes directory entries (creations, removals) durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  static Env& Posix();
};

}  // namespace cinesis::storage
