#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/status.h"
#include "storage/env.h"
#include "storage/fsync_stats.h"
#include "storage/sqlite_meta_store.h"

namespace cinesis::storage {

FsyncStats& FsyncStats::Global() {
  static FsyncStats stats;
  return stats;
}

namespace {

Status Errno(const std::string& what) {
  return {Code::kIoError, what + ": " + std::strerror(errno)};
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path, std::uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  Status Append(std::string_view data) override {
    return WriteAt(size_.load(std::memory_order_relaxed), data);
  }
  Status WriteAt(std::uint64_t pos, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write " + path_);
      }
      data.remove_prefix(static_cast<std::size_t>(n));
      pos += static_cast<std::uint64_t>(n);
      if (pos > size_.load(std::memory_order_relaxed)) size_.store(pos, std::memory_order_release);
    }
    return Status::Ok();
  }
  Status Sync() override {
    const auto start = std::chrono::steady_clock::now();
    const int rc = ::fdatasync(fd_);
    FsyncStats::Global().Record(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - start)
                                       .count()));
    if (rc != 0) return Errno("fdatasync " + path_);
    return Status::Ok();
  }
  void DropCache(std::uint64_t from, std::uint64_t to) override {
    // Clean pages only: the ranges given are synced. Advice, so its result does not matter.
    if (to > from) {
      // Length 0: to the end of the file.
      const off_t len = to == kToEnd ? 0 : static_cast<off_t>(to - from);
      (void)::posix_fadvise(fd_, static_cast<off_t>(from), len, POSIX_FADV_DONTNEED);
    }
  }
  void StartSync() override { (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE); }
  Result<std::size_t> ReadAt(std::uint64_t pos, char* buf, std::size_t n) const override {
    std::size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, buf + done, n - done, static_cast<off_t>(pos + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("pread " + path_);
      }
      if (r == 0) break;
      done += static_cast<std::size_t>(r);
    }
    return done;
  }
  Status Truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno("ftruncate " + path_);
    size_.store(size, std::memory_order_release);
    return Status::Ok();
  }
  std::uint64_t Size() const override { return size_.load(std::memory_order_acquire); }

 private:
  int fd_;
  std::string path_;
  std::atomic<std::uint64_t> size_;
};

class PosixLock final : public FileLock {
 public:
  PosixLock(int fd, int dir_fd) : fd_(fd), dir_fd_(dir_fd) {}
  ~PosixLock() override {  // closing the descriptors releases the flocks
    ::close(fd_);
    ::close(dir_fd_);
  }

 private:
  int fd_;
  int dir_fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) return Errno("open " + path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return Errno("fstat " + path);
    }
    return std::unique_ptr<File>(new PosixFile(fd, path, static_cast<std::uint64_t>(st.st_size)));
  }
  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    const std::string tmp = path + ".tmp";
    {
      auto f = Open(tmp, true);
      if (!f.ok()) return f.status();
      RETURN_IF_ERROR((*f)->Truncate(0));
      RETURN_IF_ERROR((*f)->Append(data));
      RETURN_IF_ERROR((*f)->Sync());
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename " + tmp);
    return SyncDir(std::filesystem::path(path).parent_path().string());
  }
  Result<std::string> ReadFile(const std::string& path) override {
    auto f = Open(path, false);
    if (!f.ok()) return f.status();
    std::string s((*f)->Size(), '\0');
    auto n = (*f)->ReadAt(0, s.data(), s.size());
    if (!n.ok()) return n.status();
    s.resize(*n);
    return s;
  }
  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("unlink " + path);
    return Status::Ok();
  }
  Status RemoveAll(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return {Code::kIoError, "remove " + dir + ": " + ec.message()};
    return Status::Ok();
  }
  Status MakeDirs(const std::string& dir) override {
    if (dir.empty()) return Status::Ok();
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::Ok();
      return {Code::kIoError, "mkdir " + dir + ": exists and is not a directory"};
    }
    const std::string parent = std::filesystem::path(dir).parent_path().string();
    if (!parent.empty() && parent != dir) RETURN_IF_ERROR(MakeDirs(parent));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir " + dir);
    return Status::Ok();
  }
  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename " + from + " to " + to);
    return Status::Ok();
  }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      out.push_back(e.path().filename().string());
    if (ec) return Status(Code::kIoError, "list " + dir + ": " + ec.message());
    return out;
  }
  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open dir " + dir);
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return Errno("fsync dir " + dir);
    return Status::Ok();
  }
  Status SyncFileSystem(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open dir " + dir);
    int rc = ::syncfs(fd);
    ::close(fd);
    if (rc != 0) return Errno("syncfs " + dir);
    return Status::Ok();
  }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path,
                                             std::string_view holder) override {
    // The directory is locked too: deleting the lock file (it looks stale to some) must not
    // let a second process in.
    std::string parent = std::filesystem::path(path).parent_path().string();
    if (parent.empty()) parent = ".";
    const int dir_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return Errno("open dir " + parent);
    const bool dir_locked = ::flock(dir_fd, LOCK_EX | LOCK_NB) == 0;
    const int dir_err = errno;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      Status st = Errno("open " + path);
      ::close(dir_fd);
      return st;
    }
    if (!dir_locked || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = dir_locked ? errno : dir_err;
      std::string who(256, '\0');
      ssize_t n = ::pread(fd, who.data(), who.size(), 0);
      ::close(fd);
      ::close(dir_fd);
      if (err != EWOULDBLOCK) {
        errno = err;
        return Errno("flock " + path);
      }
      who.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
      return Status(Code::kFailedPrecondition,
                    path + " is locked by " + (who.empty() ? std::string("another process") : who));
    }
    // Record who holds it, for the message a second process gets.
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, holder.data(), holder.size(), 0) != static_cast<ssize_t>(holder.size())) {
      Status st = Errno("write " + path);
      ::close(fd);
      ::close(dir_fd);
      return st;
    }
    return std::unique_ptr<FileLock>(new PosixLock(fd, dir_fd));
  }
  Result<std::unique_ptr<MetaStore>> OpenMetaStore(const std::string& path) override {
    // Create it 0600 first: SQLite would create it 0644, and gives its -wal and -shm files
    // the database file's permissions.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("open " + path);
    ::close(fd);
    return OpenSqliteMetaStore(path);
  }
  std::uint64_t MaxOpenFiles() override {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
    return static_cast<std::uint64_t>(rl.rlim_cur);
  }
  std::uint64_t OpenFiles() override {
    // One entry per open descriptor (and "." and ".."); the directory's own descriptor,
    // opened for this count, is not counted.
    DIR* d = ::opendir("/proc/self/fd");
    if (d == nullptr) return errno == EMFILE || errno == ENFILE ? MaxOpenFiles() : 0;  // all taken
    const int own = ::dirfd(d);
    std::uint64_t n = 0;
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (std::atoi(e->d_name) != own) ++n;
    }
    ::closedir(d);
    return n;
  }
};

}  // namespace

Env& Env::Posix() {
  static PosixEnv env;
  return env;
}

}  // namespace cinesis::storage
