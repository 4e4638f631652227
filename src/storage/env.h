// Env: all file access of the durable storage goes through here, metadata included, so tests
// can inject faults (fail writes or syncs, run out of space, lose unsynced data and files
// created since the last directory sync, fail metadata writes) without touching real disks.
//
// Permissions: record data is user data. Files are created 0600 and directories 0700.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cinesis::storage {

// An open file. Not thread-safe for writes; ReadAt may run concurrently with a write.
class File {
 public:
  virtual ~File() = default;
  // Writes at the end of the file.
  virtual Status Append(std::string_view data) = 0;
  // Writes at `pos` (at most Size()): over bytes already there, extending the file if it
  // runs past its end. The durable storage writes frames this way, over space it zeroed and
  // synced beforehand, so that their fdatasync has no file size or block allocation to write.
  virtual Status WriteAt(std::uint64_t pos, std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  // Starts writing what was appended to the device without waiting (a hint: Sync() is still
  // what makes it durable). Lets one thread overlap the syncs of several files.
  virtual void StartSync() {}
  // Tells the OS that bytes [from, to) (kToEnd: to the end of the file) will not be read
  // soon: the page cache may drop them. A hint: what a read returns does not change. Asked
  // only of synced bytes, since the kernel keeps dirty pages (it starts writing them back).
  static constexpr std::uint64_t kToEnd = ~std::uint64_t{0};
  virtual void DropCache(std::uint64_t from, std::uint64_t to) {
    (void)from;
    (void)to;
  }
  // Reads up to `n` bytes at `pos`; returns the count read (short at end of file).
  virtual Result<std::size_t> ReadAt(std::uint64_t pos, char* buf, std::size_t n) const = 0;
  virtual Status Truncate(std::uint64_t size) = 0;
  virtual std::uint64_t Size() const = 0;
};

class MetaStore;

// An exclusive lock held until destroyed (or until the process dies, whatever the way).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  // Opens for append and read, creating the file (0600) when `create` is set.
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, bool create) = 0;
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status RemoveAll(const std::string& dir) = 0;
  // Creates `dir` and missing parents (0700 each).
  virtual Status MakeDirs(const std::string& dir) = 0;
  // Renames a file or directory (atomic within a file system; the caller syncs the dirs).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Names (not paths) of the entries of `dir`.
  virtual Result<std::vector<std::string>> List(const std::string& dir) = 0;
  // Makes directory entries (creations, removals) durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Makes everything written so far to the file system that holds `dir` durable at once: the
  // data of every file and every directory entry, as a Sync of each file and a SyncDir of
  // each directory would (the POSIX Env: syncfs(2), which reports write-back errors since
  // Linux 5.8). One call instead of two syncs per file when many files were just created.
  virtual Status SyncFileSystem(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (created 0600 if missing) without waiting, and
  // writes `holder` into it once locked. FailedPrecondition naming the holder recorded in
  // the file when another process (or another open in this one) holds it. The lock is
  // released when the returned object is destroyed or the process exits, even by SIGKILL.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path,
                                                     std::string_view holder) = 0;
  // Opens (creating, 0600) the metadata store kept at `path`. The POSIX Env uses SQLite.
  virtual Result<std::unique_ptr<MetaStore>> OpenMetaStore(const std::string& path) = 0;

  // File descriptors: the most this process may have open (the RLIMIT_NOFILE soft limit) and
  // how many it has open now; 0 when unknown. The durable storage sizes its cache of open
  // segment files from the first and stops creating logs when the two come close.
  virtual std::uint64_t MaxOpenFiles() { return 0; }
  virtual std::uint64_t OpenFiles() { return 0; }

  static Env& Posix();
};

}  // namespace cinesis::storage
