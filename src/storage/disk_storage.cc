// The durable storage (OpenDiskStorage): the data directory and its lock, the metadata store
// (SQLite through the Env; a damaged one set aside on request), the map of logs (create,
// drop, set aside under quarantine/, recovery of every log at start) and the flusher threads
// that write them. The logs themselves: disk_storage_impl.h and the disk_log_*.cc files.
//
// Durability: a log's directory entry is synced before CreateLog returns (CreateLogs: one
// SyncFileSystem for the whole batch; neither syncs without fsync), and before
// DropLog/QuarantineLog return their removal or move is synced. A directory left by an
// interrupted create or drop is removed only when it holds no record; otherwise it is set
// aside. The metadata store's calls are durable when they return (MetaStore).
// Threading: every call on any thread. Locks: mu_ (reader-writer) guards logs_ and is taken
// before any lock of a log; the other fields are set at Open, before the storage is shared.
// At destruction every log is first closed to appenders and the appenders still in an
// Append (an inline write without fsync, or queueing the log) are waited for; then the
// flushers are joined (after flushing what is queued), then every log writes its checkpoint
// and is shut down.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "storage/disk_storage_impl.h"
#include "storage/env.h"
#include "storage/file_cache.h"
#include "storage/log.h"
#include "storage/segment_format.h"

namespace cinesis::storage {
namespace {

using disk::DiskLog;
using disk::Flusher;
using disk::LogContext;

class DiskStorage final : public Storage {
 public:
  explicit DiskStorage(const DiskOptions& opts)
      : opts_(opts), env_(opts.env ? *opts.env : Env::Posix()), logs_dir_(opts.dir + "/logs") {
    auto ctx = std::make_shared<LogContext>();
    ctx->env = &env_;
    ctx->opts = opts;
    ctx->quarantine_dir = opts.dir + "/quarantine";
    ctx->logs_dir = logs_dir_;
    std::size_t capacity = opts.max_open_files;
    if (capacity == 0) capacity = std::max<std::size_t>(env_.MaxOpenFiles() / 2, 16);
    files_ = ctx->files = std::make_shared<FileCache>(env_, capacity);
    ctx_ = std::move(ctx);
    // Four by default whatever the cores: a flusher mostly waits in fdatasync, and with fewer
    // a write waits for the syncs of the other logs of its flusher's cycle (issue 19: on 2
    // cores, PutRecord p50 0.61-0.74 -> 0.53-0.63 ms, p99 8-14 -> 3.2-3.8 ms).
    const int flushers = opts.flush_threads > 0 ? opts.flush_threads : 4;
    // The flushers together hold at most a quarter of the cache's capacity on top of it.
    flush_group_ = std::max<std::size_t>(files_->capacity() / (4 * flushers), 1);
    for (int i = 0; i < flushers; ++i) flushers_.push_back(std::make_unique<Flusher>(flush_group_));
  }
  ~DiskStorage() override {
    // Appenders first: a log's Flusher must not be queued after it is gone, nor its write be
    // given back while it checkpoints. Without the lock while waiting: an inline write's
    // answers run in that wait.
    std::vector<std::shared_ptr<DiskLog>> logs;
    {
      std::shared_lock lock(mu_);
      logs.reserve(logs_.size());
      for (auto& [_, log] : logs_) logs.push_back(log);
    }
    for (auto& log : logs) log->CloseToAppends();
    for (auto& log : logs) log->WaitForAppenders();
    logs.clear();
    flushers_.clear();  // joins after flushing what is queued
    std::unique_lock lock(mu_);
    for (auto& [_, log] : logs_) log->WriteCheckpoint();
    for (auto& [_, log] : logs_) log->Shutdown(Status(Code::kIoError, "storage closed"));
    // Last: the next open may open the logs lazily. A log whose checkpoint could not be
    // written is scanned whole by its recovery then, as after a crash.
    if (open_ok_) (void)env_.WriteFileAtomic(clean_path(), "");
  }

  Status Open(std::vector<std::string>* report) {
    RETURN_IF_ERROR(env_.MakeDirs(opts_.dir));
    char host[256] = {};
    (void)::gethostname(host, sizeof host - 1);
    ASSIGN_OR_RETURN(lock_, env_.LockFile(opts_.dir + "/LOCK", "pid " + std::to_string(::getpid()) +
                                                                   " on host " + host + "\n"));
    RETURN_IF_ERROR(env_.MakeDirs(logs_dir_));
    RETURN_IF_ERROR(OpenMeta(report));
    // A clean shutdown's marker is used once: gone (durably) before any log is written, so a
    // crash after this start does not pass for a clean shutdown. It decides only when logs
    // are recovered (the same recovery either way): if it cannot be removed, all are now.
    bool lazy = false;
    if (env_.Exists(clean_path()) && env_.Remove(clean_path()).ok()) {
      lazy = opts_.open_lazily && (!opts_.fsync || env_.SyncDir(opts_.dir).ok());
    }
    ASSIGN_OR_RETURN(auto names, env_.List(logs_dir_));
    for (const auto& n : names) {
      auto id = format::ParseLogDirName(n);
      if (!id) {
        const std::string line = "ignored unexpected entry " + logs_dir_ + "/" + n;
        ctx_->Emit(Severity::kWarning, line);
        if (report) report->push_back(line);
        continue;
      }
      if (lazy) {
        logs_[id->value] = DiskLog::Unopened(ctx_, *id, FlusherFor(*id));
        continue;
      }
      ASSIGN_OR_RETURN(auto log, DiskLog::Recover(ctx_, *id, FlusherFor(*id), report));
      log->ReleaseRecoveryFiles();
      logs_[id->value] = std::move(log);
    }
    open_ok_ = true;
    return Status::Ok();
  }

  Result<std::shared_ptr<Log>> CreateLog(LogId id, std::string_view descriptor) override {
    std::unique_lock lock(mu_);
    if (logs_.count(id.value)) return Status(Code::kResourceInUse, "log exists");
    ASSIGN_OR_RETURN(auto log, MakeLog(id, descriptor, /*sync=*/opts_.fsync));
    if (opts_.fsync) RETURN_IF_ERROR(env_.SyncDir(logs_dir_));
    logs_[id.value] = log;
    return std::shared_ptr<Log>(log);
  }
  // Every log's files are written first, then one SyncFileSystem makes all of them durable
  // (with fsync; without, nothing is synced, as for records): O(1) syncs for the batch
  // instead of four per log (each log's descriptor, segment header and directory, and the
  // logs directory), which took ~15 ms per log on a disk where a sync costs ~4 ms.
  Result<std::vector<std::shared_ptr<Log>>> CreateLogs(std::span<const NewLog> batch) override {
    if (batch.size() == 1) {
      ASSIGN_OR_RETURN(auto log, CreateLog(batch[0].id, batch[0].Descriptor()));
      return std::vector<std::shared_ptr<Log>>{std::move(log)};
    }
    std::unique_lock lock(mu_);
    std::vector<std::uint64_t> ids;
    ids.reserve(batch.size());
    for (const auto& l : batch) {
      if (logs_.count(l.id.value)) return Status(Code::kResourceInUse, "log exists");
      ids.push_back(l.id.value);
    }
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end())
      return Status(Code::kResourceInUse, "log id repeated in the batch");
    std::vector<std::shared_ptr<Log>> made;
    made.reserve(batch.size());
    for (const auto& l : batch) {
      ASSIGN_OR_RETURN(auto log, MakeLog(l.id, l.Descriptor(), /*sync=*/false));
      log->ForgetFiles();       // its segment is opened again when used: no descriptor held
      logs_[l.id.value] = log;  // listed at once, so that DropLog finds it after a failure
      made.push_back(std::move(log));
    }
    if (opts_.fsync) RETURN_IF_ERROR(env_.SyncFileSystem(logs_dir_));
    return made;
  }
  Result<std::string> Descriptor(LogId id) const override {
    const std::string path =
        logs_dir_ + "/" + format::LogDirName(id) + "/" + DiskLog::kDescriptorFile;
    if (!env_.Exists(path)) return Status(Code::kResourceNotFound, "no descriptor: " + path);
    return env_.ReadFile(path);
  }
  Status DropLog(LogId id) override {
    std::shared_ptr<DiskLog> log;
    {
      std::unique_lock lock(mu_);
      auto it = logs_.find(id.value);
      if (it == logs_.end()) return Status::Ok();
      log = it->second;
      logs_.erase(it);
    }
    log->Shutdown(Status(Code::kResourceNotFound, "log dropped"));
    log->ForgetFiles();
    RETURN_IF_ERROR(env_.RemoveAll(log->dir()));
    return opts_.fsync ? env_.SyncDir(logs_dir_) : Status::Ok();
  }
  Status QuarantineLog(LogId id, std::string_view why) override {
    std::shared_ptr<DiskLog> log;
    {
      std::unique_lock lock(mu_);
      auto it = logs_.find(id.value);
      if (it == logs_.end()) return Status(Code::kResourceNotFound, "no such log");
      log = it->second;
      logs_.erase(it);
    }
    log->Shutdown(Status(Code::kResourceNotFound, "log set aside"));
    return SetAside(log->dir(), why);
  }
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
  MetaStore& meta() override { return *meta_; }
  std::string Describe() const override {
    return "durable at " + opts_.dir +
           (opts_.fsync ? " (fsync before acknowledging" : " (no fsync") + "; up to " +
           std::to_string(files_->capacity()) + " segment files open)";
  }
  // A log takes no descriptor of its own (its files go through the cache), so the number of
  // logs is not limited; but none is created while the descriptors the storage may still
  // need (the cache filling up, the flushers' groups) and a reserve for transient files and
  // connections would not fit under the process's limit.
  std::size_t CreatableLogs() const override {
    const std::uint64_t limit = env_.MaxOpenFiles();
    if (limit == 0) return SIZE_MAX;  // unknown
    const std::uint64_t growth = files_->capacity() - std::min(files_->size(), files_->capacity()) +
                                 flush_group_ * flushers_.size();
    // Counting the open descriptors lists /proc/self/fd, which costs O(descriptors) (30 ms
    // with 10,000 logs open): a count less than a second old is reused while it leaves more
    // than kRecountMargin descriptors spare; near the limit every call counts.
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now().time_since_epoch())
                                    .count();
    std::uint64_t open = open_files_seen_.load(std::memory_order_relaxed);
    if (open == 0 || now_ms - open_files_seen_ms_.load(std::memory_order_relaxed) >= 1000 ||
        open + growth + kReservedFiles + kRecountMargin > limit) {
      open = env_.OpenFiles();
      if (open == 0) return SIZE_MAX;  // unknown
      open_files_seen_.store(open, std::memory_order_relaxed);
      open_files_seen_ms_.store(now_ms, std::memory_order_relaxed);
    }
    return open + growth + kReservedFiles <= limit ? SIZE_MAX : 0;
  }

 private:
  static constexpr std::uint64_t kReservedFiles = 64;
  static constexpr std::uint64_t kRecountMargin = 1024;
  // The last count of open descriptors and when it was taken (CreatableLogs).
  mutable std::atomic<std::uint64_t> open_files_seen_{0};
  mutable std::atomic<std::int64_t> open_files_seen_ms_{0};

  Flusher* FlusherFor(LogId id) { return flushers_[id.value % flushers_.size()].get(); }

  // The log's directory and files (CreateLog, CreateLogs); requires mu_ (exclusive). `sync`:
  // its files and its directory's entries synced, not yet its entry in logs/.
  Result<std::shared_ptr<DiskLog>> MakeLog(LogId id, std::string_view descriptor, bool sync) {
    const std::string dir = logs_dir_ + "/" + format::LogDirName(id);
    // A directory left by an interrupted drop or create: set aside, never deleted blindly.
    if (env_.Exists(dir)) {
      // Left by a create that failed half-way (nothing but a header), or by an interrupted
      // drop: only the first kind may simply go; anything holding records is set aside.
      if (HoldsRecords(dir)) {
        RETURN_IF_ERROR(SetAside(dir, "leftover"));
      } else {
        RETURN_IF_ERROR(env_.RemoveAll(dir));
      }
    }
    return DiskLog::Create(ctx_, id, descriptor, FlusherFor(id), sync);
  }

  // Opens the metadata store; a damaged one is set aside (kept) and replaced by an empty
  // one only when the options ask for it, since the streams it describes must then be
  // rebuilt from the logs.
  Status OpenMeta(std::vector<std::string>* report) {
    const std::string path = opts_.dir + "/meta.sqlite";
    auto opened = env_.OpenMetaStore(path);
    if (opened.ok()) {
      meta_ = std::move(opened).value();
      return Status::Ok();
    }
    if (opened.status().code() != Code::kCorruption || !opts_.set_aside_damaged_metadata)
      return opened.status();
    RETURN_IF_ERROR(env_.MakeDirs(ctx_->quarantine_dir));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string from = path + suffix;
      if (!env_.Exists(from)) continue;
      const std::string to = ctx_->quarantine_dir + "/meta.sqlite" + suffix + "-" +
                             std::to_string(SystemClock::Instance().NowMillis());
      RETURN_IF_ERROR(env_.Rename(from, to));
    }
    RETURN_IF_ERROR(env_.SyncDir(opts_.dir));
    const std::string line = "metadata store " + path + " is damaged (" +
                             opened.status().message() +
                             "); moved to quarantine/ and started afresh";
    ctx_->Emit(Severity::kError, line);
    if (report) report->push_back(line);
    ASSIGN_OR_RETURN(meta_, env_.OpenMetaStore(path));
    return Status::Ok();
  }
  // True unless every segment file in `dir` is at most a header long.
  bool HoldsRecords(const std::string& dir) {
    auto names = env_.List(dir);
    if (!names.ok()) return true;
    for (const auto& n : *names) {
      auto parsed = format::ParseFileName(n);
      if (!parsed || parsed->kind != format::FileKind::kSegment) continue;
      auto f = env_.Open(dir + "/" + n, false);
      if (!f.ok() || (*f)->Size() > format::kSegmentHeaderSize) return true;
    }
    return false;
  }
  Status SetAside(const std::string& dir, std::string_view why) {
    RETURN_IF_ERROR(env_.MakeDirs(ctx_->quarantine_dir));
    const std::string to = ctx_->QuarantinePath(dir, std::string(why));
    RETURN_IF_ERROR(env_.Rename(dir, to));
    RETURN_IF_ERROR(env_.SyncDir(ctx_->quarantine_dir));
    ctx_->Emit(Severity::kWarning,
               "log " + dir + " set aside as " + to + " (" + std::string(why) + ")");
    return env_.SyncDir(logs_dir_);
  }

  std::string clean_path() const { return opts_.dir + "/CLEAN"; }

  DiskOptions opts_;
  Env& env_;
  std::string logs_dir_;
  bool open_ok_ = false;  // Open succeeded: the destructor may mark a clean shutdown
  std::shared_ptr<const LogContext> ctx_;
  std::unique_ptr<FileLock> lock_;  // held for the storage's lifetime
  std::unique_ptr<MetaStore> meta_;
  std::shared_ptr<FileCache> files_;
  std::size_t flush_group_ = 1;  // logs a flusher writes before their syncs
  std::vector<std::unique_ptr<Flusher>> flushers_;
  mutable std::shared_mutex mu_;
  std::map<std::uint64_t, std::shared_ptr<DiskLog>> logs_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenDiskStorage(const DiskOptions& options,
                                                 std::vector<std::string>* report) {
  auto storage = std::make_unique<DiskStorage>(options);
  RETURN_IF_ERROR(storage->Open(report));
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace cinesis::storage
