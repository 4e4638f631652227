// Durable storage: per-log directories of segment files, a sparse in-memory index per
// segment (persisted for sealed segments), group commit by flusher threads, write-error
// recovery, crash recovery that cuts torn tails (setting cut bytes aside), and a metadata
// store (SQLite, through the Env). Format and rules: docs/storage-format.md.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "storage/env.h"
#include "storage/file_cache.h"
#include "storage/log.h"
#include "storage/segment_format.h"

namespace cinesis::storage {
namespace {

using format::IndexEntry;

constexpr std::size_t kReadChunk = 256 << 10;
constexpr std::size_t kMaxPendingBytes = 64 << 20;

struct Segment {
  Offset base;
  std::string path;
  std::uint64_t key = FileCache::NewKey();  // of its file in the FileCache
  // Set only while recovery reads the segment; afterwards the file is opened through the
  // FileCache when used (DiskLog::OpenFile).
  std::shared_ptr<File> file;
  std::vector<IndexEntry> index;  // sparse, by offset; first entry is the first record
  std::uint64_t end = 0;          // one past the last durable record
  std::uint64_t size = 0;         // durable bytes, header included
  std::uint64_t last_index_pos = 0;
  EpochMillis first_arrival = 0;
  EpochMillis last_arrival = 0;
  bool sealed = false;
  bool empty() const { return end == base.value; }
};

struct PendingFrame {
  std::uint64_t offset;
  std::uint64_t rel_pos;
  EpochMillis arrival_ms;
};

class Flusher;

// Where a log reports and sets things aside; shared by the storage and its logs.
struct LogContext {
  Env* env = nullptr;
  DiskOptions opts;
  std::string quarantine_dir;
  std::shared_ptr<FileCache> files;  // open segment files
  void Emit(Severity severity, const std::string& text) const {
    if (opts.events) {
      opts.events(severity, text);
      return;
    }
    static constexpr const char* kNames[] = {"info", "warning", "error"};
    std::fprintf(stderr, "cinesis storage %s: %s\n", kNames[static_cast<int>(severity)],
                 text.c_str());
  }
  // A unique path under quarantine/ for `what` (a file or directory of log `dir`).
  std::string QuarantinePath(const std::string& dir, const std::string& what) const {
    std::string name = dir.substr(dir.find_last_of('/') + 1) + "-" + what + "-" +
                       std::to_string(SystemClock::Instance().NowMillis());
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
    }
    return quarantine_dir + "/" + name;
  }
};

// Reads frames of one segment sequentially through a chunk buffer.
class SegmentScanner {
 public:
  SegmentScanner(const File& file, std::uint64_t pos, std::uint64_t limit, std::string& buf)
      : file_(file), pos_(pos), limit_(limit), buf_(buf) {}
  // Recovery: the segment's own file.
  SegmentScanner(const Segment& seg, std::uint64_t pos, std::uint64_t limit, std::string& buf)
      : SegmentScanner(*seg.file, pos, limit, buf) {}

  // kOk with `frame` filled, kIncomplete at `limit` (end of durable data), kCorrupt on a
  // bad frame or an I/O error.
  format::FrameStatus Next(format::DecodedFrame& frame) {
    if (pos_ >= limit_) return format::FrameStatus::kIncomplete;
    // At most three passes: the header may need a read, then the whole frame another.
    for (int pass = 0; pass < 3; ++pass) {
      const std::size_t avail = Available();
      if (avail >= format::kFrameHeaderSize) {
        std::string_view bytes(buf_.data() + (pos_ - chunk_pos_), avail);
        const std::size_t need = format::FrameSizeFromHeader(bytes);
        if (need == 0) return format::FrameStatus::kCorrupt;
        if (pos_ + need > limit_)
          return format::FrameStatus::kIncomplete;  // torn: ends past the data
        if (avail >= need) {
          auto st = format::DecodeFrame(bytes.substr(0, need), frame);
          if (st == format::FrameStatus::kOk) pos_ += frame.size;
          return st;
        }
        if (!Fill(std::max(kReadChunk, need))) return format::FrameStatus::kCorrupt;
      } else {
        if (pos_ + format::kFrameHeaderSize > limit_) return format::FrameStatus::kIncomplete;
        if (!Fill(kReadChunk)) return format::FrameStatus::kCorrupt;
      }
    }
    return format::FrameStatus::kCorrupt;
  }
  std::uint64_t position() const { return pos_; }

 private:
  // Bytes buffered from pos_ on.
  std::size_t Available() const {
    if (pos_ < chunk_pos_ || pos_ >= chunk_pos_ + chunk_len_) return 0;
    return static_cast<std::size_t>(chunk_pos_ + chunk_len_ - pos_);
  }
  // Reads up to `want` bytes at pos_ (never past limit_). False on an I/O error.
  bool Fill(std::size_t want) {
    want = static_cast<std::size_t>(std::min<std::uint64_t>(want, limit_ - pos_));
    if (buf_.size() < want) buf_.resize(want);
    auto n = file_.ReadAt(pos_, buf_.data(), want);
    if (!n.ok()) return false;
    chunk_pos_ = pos_;
    chunk_len_ = *n;
    return true;
  }

  const File& file_;
  std::uint64_t pos_;
  std::uint64_t limit_;
  std::string& buf_;
  std::uint64_t chunk_pos_ = 0;
  std::size_t chunk_len_ = 0;
};

class DiskLog final : public Log, public std::enable_shared_from_this<DiskLog> {
 public:
  using Context = std::shared_ptr<const LogContext>;
  DiskLog(Context ctx, std::string dir, LogId id, Flusher* flusher)
      : ctx_(std::move(ctx)),
        env_(*ctx_->env),
        dir_(std::move(dir)),
        id_(id),
        opts_(ctx_->opts),
        flusher_(flusher),
        files_(ctx_->files) {}

  static Result<std::shared_ptr<DiskLog>> Create(const Context& ctx, const std::string& dir,
                                                 LogId id, std::string_view descriptor,
                                                 Flusher* flusher) {
    auto log = std::make_shared<DiskLog>(ctx, dir, id, flusher);
    RETURN_IF_ERROR(ctx->env->MakeDirs(dir));
    if (!descriptor.empty())
      RETURN_IF_ERROR(ctx->env->WriteFileAtomic(dir + "/" + kDescriptorFile, descriptor));
    ASSIGN_OR_RETURN(auto seg, log->NewSegment(Offset{0}));
    log->segments_.push_back(std::move(seg));
    return log;
  }

  static Result<std::shared_ptr<DiskLog>> Recover(const Context& shared, const std::string& dir,
                                                  LogId id, Flusher* flusher,
                                                  std::vector<std::string>* report);

  Result<AppendResult> Append(std::span<const AppendRecord> records,
                              EpochMillis arrival_ms) override;
  Status WaitDurable(const AppendResult& appended) override {
    std::unique_lock lock(sync_mu_);
    std::optional<Status> verdict;
    sync_cv_.wait(lock, [&] { return (verdict = VerdictLocked(appended)).has_value(); });
    return *verdict;
  }
  void OnDurable(const AppendResult& appended, std::function<void(Status)> done) override {
    std::optional<Status> verdict;
    {
      std::lock_guard lock(sync_mu_);
      verdict = VerdictLocked(appended);
      if (!verdict) {
        durable_waiters_.push_back({appended.end.value, appended.epoch, std::move(done)});
        return;
      }
    }
    done(std::move(*verdict));
  }
  Result<ReadResult> Read(Offset from, std::size_t max_records, const RecordVisitor& visit,
                          EpochMillis not_before_ms) const override;
  Offset StartOffset() const override {
    std::shared_lock lock(mu_);
    return segments_.front()->base;
  }
  Offset EndOffset() const override {
    std::shared_lock lock(mu_);
    return Offset{visible_end_};
  }
  Offset OffsetAtTime(EpochMillis ms) const override;
  std::optional<EpochMillis> LastArrival() const override {
    std::shared_lock lock(mu_);
    for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
      if (!(*it)->empty()) return (*it)->last_arrival;
    }
    return std::nullopt;
  }
  void TrimBefore(EpochMillis ms) override;

  // Writes queued frames, syncs, publishes; called by this log's flusher thread only. In two
  // steps, so a flusher can write (and start the device writes of) all its logs before it
  // waits for the first sync. BeginFlush returns true when FinishFlush must follow.
  bool BeginFlush();
  void FinishFlush();
  // After a failed write: fails the batch and everything queued behind it, cuts the file
  // back to its durable size and starts a new epoch, so the next Append can succeed.
  void FailFlush(const Status& error, Segment& active);
  // Fails every waiter and stops writing (the log was dropped or storage closes).
  void Shutdown(const Status& why) {
    {
      std::lock_guard lock(append_mu_);
      closed_ = true;
    }
    std::vector<DurableWaiter> failed;
    Status err;
    {
      std::lock_guard lock(sync_mu_);
      if (io_error_.ok()) io_error_ = why;
      err = io_error_;
      failed.swap(durable_waiters_);
      sync_cv_.notify_all();
    }
    for (auto& w : failed) w.done(err);
  }
  std::atomic<bool> queued{false};
  const std::string& dir() const { return dir_; }
  static constexpr const char* kDescriptorFile = "DESCRIPTOR";

  // After recovery, before the log is used: hands the files recovery opened to the cache
  // (which closes the least recently used beyond its capacity).
  void ReleaseRecoveryFiles() {
    std::unique_lock lock(mu_);
    for (auto& seg : segments_) {
      if (seg->file) files_->Insert(seg->key, std::move(seg->file));
    }
  }
  // Closes the log's files (once nobody reads them), before they are removed.
  void ForgetFiles() {
    std::shared_lock lock(mu_);
    for (const auto& seg : segments_) files_->Erase(seg->key);
  }

 private:
  Result<std::shared_ptr<Segment>> NewSegment(Offset base) {
    auto seg = std::make_shared<Segment>();
    seg->base = base;
    seg->end = base.value;
    seg->path = dir_ + "/" + format::FileName(base, format::FileKind::kSegment);
    ASSIGN_OR_RETURN(std::shared_ptr<File> file, env_.Open(seg->path, true));
    RETURN_IF_ERROR(file->Truncate(0));
    RETURN_IF_ERROR(file->Append(format::SegmentHeader(base)));
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(env_.SyncDir(dir_));
    seg->size = format::kSegmentHeaderSize;
    files_->Insert(seg->key, std::move(file));
    return seg;
  }
  // The segment's file, open: recovery's own while it reads the segment, otherwise from the
  // cache (opened on a miss). Held for one operation only, so open files stay bounded.
  Result<std::shared_ptr<File>> OpenFile(const Segment& seg) const {
    if (seg.file) return seg.file;
    return files_->Get(seg.key, seg.path);
  }
  Status Seal(Segment& seg) {
    if (!opts_.fsync) {
      ASSIGN_OR_RETURN(auto file, OpenFile(seg));
      RETURN_IF_ERROR(file->Sync());
    }
    format::SealedIndex idx{seg.index, seg.end, seg.size, seg.first_arrival, seg.last_arrival};
    return env_.WriteFileAtomic(dir_ + "/" + format::FileName(seg.base, format::FileKind::kIndex),
                                format::EncodeIndex(idx));
  }
  // Scans a segment from its start, rebuilding its index; stops at the first frame that
  // does not verify. Returns the byte length of the valid prefix.
  // Why a scan stopped: the end of the file, a frame cut short by the end (a torn write),
  // or a frame that does not verify with bytes after it (damage).
  enum class ScanStop { kEnd, kTorn, kDamaged };
  static std::uint64_t Scan(Segment& seg, const DiskOptions& opts, ScanStop* stop = nullptr);
  // Continues a scan at byte `from`, a frame boundary where record `seg.end` starts (the
  // index, end and arrival times describe everything before it).
  // `limit`: scan no further than this byte (default: the file's size).
  static std::uint64_t ScanFrom(Segment& seg, std::uint64_t from, const DiskOptions& opts,
                                ScanStop* stop = nullptr,
                                std::optional<std::uint64_t> limit = std::nullopt);
  // Copies bytes [from, end of file) of `seg` under quarantine/ and says what they held.
  static Result<std::string> SetAsideTail(const LogContext& ctx, const std::string& dir,
                                          Segment& seg, std::uint64_t from);
  // Moves a whole file of the log under quarantine/.
  static Status SetAsideFile(const LogContext& ctx, const std::string& dir,
                             const std::string& path);
  // Restores the active segment from the checkpoint of a clean shutdown, verifying the
  // frames from its last index entry to the end of the file. False: scan it whole.
  static bool LoadCheckpoint(Segment& seg, const format::SealedIndex& ckpt,
                             const DiskOptions& opts);

 public:
  // At a clean shutdown, after the last flush: syncs the active segment and records its
  // index, so the next start verifies only its tail instead of scanning it.
  void WriteCheckpoint() {
    std::shared_lock lock(mu_);
    if (segments_.empty()) return;
    {
      std::lock_guard sync_lock(sync_mu_);
      if (!io_error_.ok()) return;
    }
    const Segment& seg = *segments_.back();
    if (needs_cut_ && !CutBack(seg).ok()) return;  // the marker tells the next start to cut
    // With one index entry the next start scans the same bytes with or without a checkpoint
    // (from that entry); skipping it saves a sync and two files per idle log.
    if (seg.index.size() < 2) return;
    auto file = OpenFile(seg);
    if (!file.ok() || !(*file)->Sync().ok()) return;
    format::SealedIndex idx{seg.index, seg.end, seg.size, seg.first_arrival, seg.last_arrival};
    (void)env_.WriteFileAtomic(
        dir_ + "/" + format::FileName(seg.base, format::FileKind::kCheckpoint),
        format::EncodeIndex(idx));
  }

 private:
  // "<base>.cut": the durable size of a segment whose failed bytes could not be cut yet.
  static std::string CutMarkerName(Offset base) {
    return format::FileName(base, format::FileKind::kSegment) + ".cut";
  }
  // Truncates the segment back to its durable size (and syncs), through `file` if given.
  Status CutBack(const Segment& seg, std::shared_ptr<File> file = nullptr) {
    if (!file) {
      ASSIGN_OR_RETURN(file, OpenFile(seg));
    }
    RETURN_IF_ERROR(file->Truncate(seg.size));
    return opts_.fsync ? file->Sync() : Status::Ok();
  }
  // The outcome of a batch's write when known: OK once durable, the error once failed.
  std::optional<Status> VerdictLocked(const AppendResult& a) const {
    if (a.epoch < rewinds_.size()) {
      // The batch's epoch ended with a failed write: what was durable by then stays so,
      // the rest failed (its offsets were reused by later epochs).
      const Rewind& r = rewinds_[a.epoch];
      return a.end.value <= r.durable_end ? Status::Ok() : r.error;
    }
    if (durable_end_ >= a.end.value) return Status::Ok();
    if (!io_error_.ok()) return io_error_;
    return std::nullopt;
  }
  // Reports a damaged record met by a read, once per position.
  void ReportCorruption(const Segment& seg, std::uint64_t offset) const {
    {
      std::lock_guard lock(reported_mu_);
      if (!reported_.insert({seg.base.value, offset}).second) return;
    }
    ctx_->Emit(Severity::kError, "corrupt record at offset " + std::to_string(offset) + " in " +
                                     seg.path + ": reads of this shard stop there");
  }

  std::shared_ptr<Segment> SegmentFor(std::uint64_t offset) const {
    auto it = std::upper_bound(
        segments_.begin(), segments_.end(), offset,
        [](std::uint64_t o, const std::shared_ptr<Segment>& s) { return o < s->base.value; });
    return it == segments_.begin() ? nullptr : *(it - 1);
  }

  Context ctx_;
  Env& env_;
  std::string dir_;
  LogId id_;
  DiskOptions opts_;
  Flusher* flusher_;
  std::shared_ptr<FileCache> files_;  // shared: a log may outlive its storage

  // Appenders: offsets, arrival clamp and the queue of encoded frames.
  std::mutex append_mu_;
  std::uint64_t next_offset_ = 0;
  EpochMillis last_arrival_ = 0;
  std::string pending_;
  std::vector<PendingFrame> pending_frames_;
  std::uint64_t epoch_ = 0;  // of the frames in pending_ (see AppendResult::epoch)
  bool closed_ = false;
  std::condition_variable_any space_cv_;

  // Flusher-owned scratch (capacity reused between flushes) and BeginFlush's results.
  std::string flush_buf_;
  std::vector<PendingFrame> flush_frames_;
  std::shared_ptr<Segment> flush_active_;
  std::shared_ptr<File> flush_file_;  // held open from the write to the sync
  std::uint64_t flush_pos0_ = 0;
  Status flush_status_;
  bool needs_cut_ = false;  // a failed write may have left bytes past the active's size

  // Readers and the flusher's publication.
  mutable std::shared_mutex mu_;
  std::deque<std::shared_ptr<Segment>> segments_;
  std::uint64_t visible_end_ = 0;

  // Durability waiters.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::uint64_t durable_end_ = 0;
  Status io_error_;  // set by Shutdown only: the log is closed for good
  struct Rewind {
    std::uint64_t durable_end;  // the log was cut back to here
    Status error;               // what failed the rest of the epoch
  };
  std::vector<Rewind> rewinds_;  // by epoch: how each ended epoch ended
  struct DurableWaiter {
    std::uint64_t end;
    std::uint64_t epoch;
    std::function<void(Status)> done;
  };
  std::vector<DurableWaiter> durable_waiters_;  // OnDurable callers
  std::vector<DurableWaiter> ready_;            // flusher scratch

  mutable std::mutex reported_mu_;
  mutable std::set<std::pair<std::uint64_t, std::uint64_t>> reported_;  // (segment, offset)

  friend class Flusher;
};

// One thread that writes and syncs the logs assigned to it. Every log with queued frames
// is flushed once per cycle, so all appends that arrived during the previous sync share
// the next one (group commit).
class Flusher {
 public:
  // `max_open`: logs flushed together, each holding its segment file open from write to sync.
  explicit Flusher(std::size_t max_open)
      : max_open_(std::max<std::size_t>(max_open, 1)), thread_([this] { Run(); }) {}
  ~Flusher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void MarkDirty(std::shared_ptr<DiskLog> log) {
    if (log->queued.exchange(true)) return;
    {
      std::lock_guard lock(mu_);
      dirty_.push_back(std::move(log));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::vector<std::shared_ptr<DiskLog>> batch;
    std::vector<DiskLog*> started;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !dirty_.empty(); });
        if (dirty_.empty() && stop_) return;
        batch.swap(dirty_);
      }
      // Write every log of the cycle (starting its device writes) before waiting for any
      // sync, so the syncs of one cycle overlap instead of queueing behind each other; in
      // groups of at most max_open_ logs, since each holds its file open until its sync.
      for (std::size_t from = 0; from < batch.size(); from += max_open_) {
        started.clear();
        const std::size_t to = std::min(batch.size(), from + max_open_);
        for (std::size_t i = from; i < to; ++i) {
          batch[i]->queued.store(false);
          if (batch[i]->BeginFlush()) started.push_back(batch[i].get());
        }
        for (DiskLog* log : started) log->FinishFlush();
      }
      batch.clear();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<DiskLog>> dirty_;
  bool stop_ = false;
  const std::size_t max_open_;
  std::thread thread_;
};

Result<AppendResult> DiskLog::Append(std::span<const AppendRecord> records,
                                     EpochMillis arrival_ms) {
  AppendResult result{};
  {
    std::unique_lock lock(append_mu_);
    // Back-pressure: a flusher that cannot keep up bounds the memory queued here.
    space_cv_.wait(lock, [&] { return pending_.size() < kMaxPendingBytes || closed_; });
    if (closed_) return Status(Code::kIoError, "log " + dir_ + " is closed");
    arrival_ms = std::max(arrival_ms, last_arrival_);
    last_arrival_ = arrival_ms;
    result.first = Offset{next_offset_};
    result.arrival_ms = arrival_ms;
    result.epoch = epoch_;
    for (const auto& r : records) {
      pending_frames_.push_back({next_offset_, pending_.size(), arrival_ms});
      format::AppendFrame(pending_, next_offset_, arrival_ms, r);
      ++next_offset_;
    }
    result.end = Offset{next_offset_};
  }
  flusher_->MarkDirty(shared_from_this());
  return result;
}

bool DiskLog::BeginFlush() {
  {
    std::lock_guard lock(append_mu_);
    if (closed_) return false;
    flush_buf_.swap(pending_);
    flush_frames_.swap(pending_frames_);
  }
  space_cv_.notify_all();
  if (flush_frames_.empty()) return false;

  std::shared_ptr<Segment> active;
  {
    std::shared_lock lock(mu_);
    active = segments_.back();
  }
  Status st;
  if (needs_cut_) {
    // The cut after an earlier failed write did not succeed then: do it before writing.
    st = CutBack(*active);
    if (st.ok()) {
      needs_cut_ = false;
      (void)env_.Remove(dir_ + "/" + CutMarkerName(active->base));
    }
  }
  if (st.ok() && active->size >= opts_.segment_bytes && !active->empty()) {
    st = Seal(*active);
    if (st.ok()) {
      auto next = NewSegment(Offset{flush_frames_.front().offset});
      if (next.ok()) {
        std::unique_lock lock(mu_);
        active->sealed = true;
        segments_.push_back(*next);
        active = *next;
      } else {
        st = next.status();
      }
    }
  }
  flush_pos0_ = active->size;
  std::shared_ptr<File> file;
  if (st.ok()) {
    auto opened = OpenFile(*active);
    if (opened.ok()) {
      file = std::move(opened).value();
    } else {
      st = opened.status();
    }
  }
  if (st.ok()) st = file->Append(flush_buf_);
  if (st.ok() && opts_.fsync) file->StartSync();
  flush_file_ = std::move(file);
  flush_active_ = std::move(active);
  flush_status_ = std::move(st);
  return true;
}

void DiskLog::FinishFlush() {
  std::shared_ptr<Segment> active = std::move(flush_active_);
  const std::uint64_t pos0 = flush_pos0_;
  Status st = std::move(flush_status_);
  if (st.ok() && opts_.fsync) st = flush_file_->Sync();
  if (!st.ok()) {
    FailFlush(st, *active);
    flush_file_.reset();
    flush_buf_.clear();
    flush_frames_.clear();
    return;
  }
  flush_file_.reset();
  {
    std::unique_lock lock(mu_);
    for (const auto& f : flush_frames_) {
      const std::uint64_t pos = pos0 + f.rel_pos;
      if (active->index.empty() || pos >= active->last_index_pos + opts_.index_interval_bytes) {
        active->index.push_back({f.offset, pos, f.arrival_ms});
        active->last_index_pos = pos;
      }
    }
    if (active->empty()) active->first_arrival = flush_frames_.front().arrival_ms;
    active->last_arrival = flush_frames_.back().arrival_ms;
    active->end = flush_frames_.back().offset + 1;
    active->size = pos0 + flush_buf_.size();
    visible_end_ = active->end;
  }
  {
    std::lock_guard lock(sync_mu_);
    durable_end_ = flush_frames_.back().offset + 1;
    // (Not necessarily a prefix: appenders register after appending, in any order.)
    std::size_t keep = 0;
    for (auto& w : durable_waiters_) {
      if (w.end <= durable_end_) {
        ready_.push_back(std::move(w));
      } else {
        durable_waiters_[keep++] = std::move(w);
      }
    }
    durable_waiters_.resize(keep);
  }
  sync_cv_.notify_all();
  for (auto& w : ready_) w.done(Status::Ok());
  ready_.clear();
  flush_buf_.clear();
  flush_frames_.clear();
}

void DiskLog::FailFlush(const Status& error, Segment& active) {
  const std::uint64_t first = flush_frames_.front().offset;
  std::size_t behind = 0;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(append_mu_);
    // Frames queued behind the failed ones have offsets after them: they fail too, and
    // the offsets are handed out again from the last durable record.
    behind = pending_frames_.size();
    pending_.clear();
    pending_frames_.clear();
    next_offset_ = first;
    epoch = epoch_++;
  }
  space_cv_.notify_all();
  // Cut the failed bytes off now, so that a restart cannot find complete frames of records
  // that were answered as failed (a write can land although its fsync failed).
  // (Through the descriptor that wrote them, unless opening the file was what failed.)
  Status cut = CutBack(active, flush_file_);
  needs_cut_ = !cut.ok();
  if (needs_cut_) {
    // Tell the next start where to cut, in case no later write gets to retry it.
    (void)env_.WriteFileAtomic(dir_ + "/" + CutMarkerName(active.base),
                               std::to_string(active.size));
  }
  ctx_->Emit(Severity::kError,
             "write to " + active.path + " failed: " + error.message() + "; " +
                 std::to_string(flush_frames_.size() + behind) + " records from offset " +
                 std::to_string(first) +
                 " answered as failed; the log was cut back to its last durable record" +
                 (cut.ok() ? std::string() : " (the cut failed too: " + cut.message() + ")") +
                 " and takes writes again");
  std::vector<DurableWaiter> failed;
  const Status err(Code::kIoError, "write failed: " + error.message());
  {
    std::lock_guard lock(sync_mu_);
    rewinds_.resize(epoch + 1, Rewind{durable_end_, err});  // epochs end one at a time
    std::size_t keep = 0;
    for (auto& w : durable_waiters_) {
      if (w.epoch == epoch) {
        failed.push_back(std::move(w));
      } else {
        durable_waiters_[keep++] = std::move(w);
      }
    }
    durable_waiters_.resize(keep);
  }
  sync_cv_.notify_all();
  for (auto& w : failed) w.done(err);
}

Result<ReadResult> DiskLog::Read(Offset from, std::size_t max_records, const RecordVisitor& visit,
                                 EpochMillis not_before_ms) const {
  thread_local std::string buf;
  std::shared_lock lock(mu_);
  std::uint64_t pos = std::max(from.value, segments_.front()->base.value);
  ReadResult result{Offset{pos}, 0};
  while (pos < visible_end_ && result.count < max_records) {
    auto seg = SegmentFor(pos);
    if (!seg) break;
    if (pos >= seg->end) {
      // In a gap (offsets recovery set aside): go on at the next segment.
      auto next = std::upper_bound(
          segments_.begin(), segments_.end(), pos,
          [](std::uint64_t o, const std::shared_ptr<Segment>& s) { return o < s->base.value; });
      if (next == segments_.end()) break;
      pos = (*next)->base.value;
      continue;
    }
    // Start at the last sparse-index entry at or before `pos`.
    auto it = std::upper_bound(seg->index.begin(), seg->index.end(), pos,
                               [](std::uint64_t o, const IndexEntry& e) { return o < e.offset; });
    std::uint64_t file_pos = format::kSegmentHeaderSize;
    std::uint64_t cur = seg->base.value;
    if (it != seg->index.begin()) {
      --it;
      file_pos = it->position;
      cur = it->offset;
    }
    ASSIGN_OR_RETURN(auto file, OpenFile(*seg));
    SegmentScanner scan(*file, file_pos, seg->size, buf);
    format::DecodedFrame frame;
    while (cur < seg->end && result.count < max_records) {
      auto st = scan.Next(frame);
      if (st != format::FrameStatus::kOk || frame.record.offset.value != cur) {
        ReportCorruption(*seg, cur);
        return Status(Code::kCorruption,
                      "corrupt record at offset " + std::to_string(cur) + " in " + seg->path);
      }
      if (cur >= pos) {
        if (frame.record.arrival_ms >= not_before_ms) {
          if (!visit(frame.record)) {
            result.next = Offset{pos};
            return result;
          }
          ++result.count;
        }
        pos = cur + 1;
      }
      ++cur;
    }
  }
  result.next = Offset{pos};
  return result;
}

Offset DiskLog::OffsetAtTime(EpochMillis ms) const {
  thread_local std::string buf;
  std::shared_lock lock(mu_);
  for (const auto& seg : segments_) {
    if (seg->empty() || seg->last_arrival < ms) continue;
    if (seg->first_arrival >= ms) return seg->base;
    auto it = std::lower_bound(seg->index.begin(), seg->index.end(), ms,
                               [](const IndexEntry& e, EpochMillis t) { return e.arrival_ms < t; });
    // `it` is the first entry at or after ms; the answer lies between its predecessor and it.
    std::uint64_t file_pos = format::kSegmentHeaderSize;
    if (it != seg->index.begin()) file_pos = (it - 1)->position;
    auto file = OpenFile(*seg);
    // Unreadable now: answer the indexed offset before the time rather than skip records.
    if (!file.ok()) return it != seg->index.begin() ? Offset{(it - 1)->offset} : seg->base;
    SegmentScanner scan(**file, file_pos, seg->size, buf);
    format::DecodedFrame frame;
    while (scan.Next(frame) == format::FrameStatus::kOk) {
      if (frame.record.arrival_ms >= ms) return frame.record.offset;
    }
    return Offset{seg->end};
  }
  return Offset{visible_end_};
}

void DiskLog::TrimBefore(EpochMillis ms) {
  std::vector<std::shared_ptr<Segment>> removed;
  {
    std::unique_lock lock(mu_);
    while (segments_.size() > 1 && segments_.front()->sealed &&
           (segments_.front()->empty() || segments_.front()->last_arrival < ms)) {
      removed.push_back(segments_.front());
      segments_.pop_front();
    }
  }
  for (const auto& seg : removed) {
    files_->Erase(seg->key);
    (void)env_.Remove(seg->path);
    (void)env_.Remove(dir_ + "/" + format::FileName(seg->base, format::FileKind::kIndex));
  }
}

std::uint64_t DiskLog::Scan(Segment& seg, const DiskOptions& opts, ScanStop* stop) {
  seg.index.clear();
  seg.end = seg.base.value;
  seg.last_index_pos = 0;
  return ScanFrom(seg, format::kSegmentHeaderSize, opts, stop);
}

std::uint64_t DiskLog::ScanFrom(Segment& seg, std::uint64_t from, const DiskOptions& opts,
                                ScanStop* stop, std::optional<std::uint64_t> limit) {
  std::string buf;
  const std::uint64_t file_size = std::min(seg.file->Size(), limit.value_or(UINT64_MAX));
  SegmentScanner scan(seg, from, file_size, buf);
  format::DecodedFrame frame;
  std::uint64_t valid = from;
  format::FrameStatus st;
  bool out_of_order = false;
  while ((st = scan.Next(frame)) == format::FrameStatus::kOk) {
    const auto& r = frame.record;
    if (r.offset.value != seg.end || (!seg.empty() && r.arrival_ms < seg.last_arrival)) {
      out_of_order = true;
      break;
    }
    if (seg.index.empty() || valid >= seg.last_index_pos + opts.index_interval_bytes) {
      seg.index.push_back({r.offset.value, valid, r.arrival_ms});
      seg.last_index_pos = valid;
    }
    if (seg.empty()) seg.first_arrival = r.arrival_ms;
    seg.last_arrival = r.arrival_ms;
    seg.end = r.offset.value + 1;
    valid = scan.position();
  }
  seg.size = valid;
  if (stop) {
    if (valid == file_size) {
      *stop = ScanStop::kEnd;
    } else if (st == format::FrameStatus::kIncomplete && !out_of_order) {
      *stop = ScanStop::kTorn;
    } else {
      *stop = ScanStop::kDamaged;
    }
  }
  return valid;
}

Result<std::string> DiskLog::SetAsideTail(const LogContext& ctx, const std::string& dir,
                                          Segment& seg, std::uint64_t from) {
  const std::uint64_t size = seg.file->Size();
  std::string bytes(static_cast<std::size_t>(size - from), '\0');
  ASSIGN_OR_RETURN(std::size_t n, seg.file->ReadAt(from, bytes.data(), bytes.size()));
  bytes.resize(n);
  RETURN_IF_ERROR(ctx.env->MakeDirs(ctx.quarantine_dir));
  const std::string name = seg.path.substr(seg.path.find_last_of('/') + 1);
  const std::string to = ctx.QuarantinePath(dir, name + "-at-" + std::to_string(from));
  RETURN_IF_ERROR(ctx.env->WriteFileAtomic(to, bytes));
  const format::IntactFrames intact = format::FindIntactFrames(bytes, seg.end);
  std::string what = std::to_string(bytes.size()) + " bytes copied to " + to;
  if (intact.count > 0) {
    what += "; they hold " + std::to_string(intact.count) +
            " intact records after the damaged one (offsets " + std::to_string(intact.first) +
            ".." + std::to_string(intact.last) + ")";
  }
  return what;
}

Status DiskLog::SetAsideFile(const LogContext& ctx, const std::string& dir,
                             const std::string& path) {
  RETURN_IF_ERROR(ctx.env->MakeDirs(ctx.quarantine_dir));
  const std::string to = ctx.QuarantinePath(dir, path.substr(path.find_last_of('/') + 1));
  RETURN_IF_ERROR(ctx.env->Rename(path, to));
  RETURN_IF_ERROR(ctx.env->SyncDir(ctx.quarantine_dir));
  return ctx.env->SyncDir(dir);
}

bool DiskLog::LoadCheckpoint(Segment& seg, const format::SealedIndex& ckpt,
                             const DiskOptions& opts) {
  const std::uint64_t file_size = seg.file->Size();
  if (ckpt.entries.empty() || ckpt.segment_size > file_size || ckpt.end_offset <= seg.base.value)
    return false;
  const IndexEntry from = ckpt.entries.back();
  if (from.offset < seg.base.value || from.offset >= ckpt.end_offset ||
      from.position < format::kSegmentHeaderSize || from.position >= ckpt.segment_size) {
    return false;
  }
  seg.index.assign(ckpt.entries.begin(), ckpt.entries.end() - 1);
  seg.last_index_pos = seg.index.empty() ? 0 : seg.index.back().position;
  seg.end = from.offset;
  seg.first_arrival = ckpt.first_arrival;
  seg.last_arrival = from.arrival_ms;
  // The tail: from the last index entry (at most one index interval before the end).
  const std::uint64_t valid = ScanFrom(seg, from.position, opts);
  return valid == file_size && seg.end == ckpt.end_offset && valid == ckpt.segment_size;
}

Result<std::shared_ptr<DiskLog>> DiskLog::Recover(const Context& shared, const std::string& dir,
                                                  LogId id, Flusher* flusher,
                                                  std::vector<std::string>* report) {
  const LogContext& ctx = *shared;
  Env& env = *ctx.env;
  const DiskOptions& opts = ctx.opts;
  auto log = std::make_shared<DiskLog>(shared, dir, id, flusher);
  ASSIGN_OR_RETURN(auto names, env.List(dir));
  std::map<std::uint64_t, bool> segs;  // base -> has index file
  std::set<std::uint64_t> checkpoints;
  for (const auto& n : names) {
    auto parsed = format::ParseFileName(n);
    if (!parsed) continue;
    if (parsed->kind == format::FileKind::kSegment) {
      segs.try_emplace(parsed->base.value, false);
    } else if (parsed->kind == format::FileKind::kIndex) {
      segs[parsed->base.value] |= true;
    } else {
      checkpoints.insert(parsed->base.value);
    }
  }
  // A checkpoint is used once: read now, removed before anything is appended, so a later
  // crash never meets a stale one.
  std::optional<format::SealedIndex> checkpoint;
  for (std::uint64_t base : checkpoints) {
    const std::string path =
        dir + "/" + format::FileName(Offset{base}, format::FileKind::kCheckpoint);
    if (!segs.empty() && base == segs.rbegin()->first) {
      if (auto bytes = env.ReadFile(path); bytes.ok()) checkpoint = format::DecodeIndex(*bytes);
    }
    (void)env.Remove(path);
  }
  auto note = [&](Severity severity, const std::string& s) {
    const std::string line = "log " + dir + ": " + s;
    ctx.Emit(severity, line);
    if (report) report->push_back(line);
  };
  // Index files without their segment are leftovers of a trim interrupted by a crash.
  for (auto it = segs.begin(); it != segs.end();) {
    if (!env.Exists(dir + "/" + format::FileName(Offset{it->first}, format::FileKind::kSegment))) {
      (void)env.Remove(dir + "/" + format::FileName(Offset{it->first}, format::FileKind::kIndex));
      it = segs.erase(it);
    } else {
      ++it;
    }
  }
  // Offsets set aside may have been given to clients as sequence numbers: new records must
  // get higher ones. `floor` bounds them from above (a frame takes at least 32 bytes).
  std::uint64_t floor = 0;
  // A segment's offsets also stay below the next segment's base.
  auto bound = [&segs](std::uint64_t first, std::uint64_t bytes) {
    std::uint64_t b = first + bytes / (format::kFrameHeaderSize + format::kBodyFixedSize) + 1;
    if (auto next = segs.upper_bound(first); next != segs.end()) b = std::min(b, next->first);
    return b;
  };
  std::size_t i = 0;
  for (const auto& [base, has_index] : segs) {
    const bool last = ++i == segs.size();
    const std::string path = dir + "/" + format::FileName(Offset{base}, format::FileKind::kSegment);
    auto seg = std::make_shared<Segment>();
    seg->base = Offset{base};
    seg->path = path;
    ASSIGN_OR_RETURN(seg->file, env.Open(path, false));
    std::string header(format::kSegmentHeaderSize, '\0');
    auto hn = seg->file->ReadAt(0, header.data(), header.size());
    if (!hn.ok()) return hn.status();
    header.resize(*hn);
    auto hb = format::ParseSegmentHeader(header);
    // A later segment may start after the previous one's end (a gap: offsets set aside by an
    // earlier recovery), never before it.
    const std::uint64_t prev_end = log->segments_.empty() ? 0 : log->segments_.back()->end;
    if (!hb || hb->value != base || base < prev_end) {
      const std::uint64_t size = seg->file->Size();
      seg->file.reset();
      if (size <= format::kSegmentHeaderSize && last && !hb) {
        // A crash while a segment was being created: nothing in it.
        RETURN_IF_ERROR(env.Remove(path));
        note(Severity::kWarning, "segment " + path + " had no valid header and no record; removed");
        continue;
      }
      floor = std::max(floor, bound(base, size));
      RETURN_IF_ERROR(SetAsideFile(ctx, dir, path));
      (void)env.Remove(dir + "/" + format::FileName(Offset{base}, format::FileKind::kIndex));
      note(Severity::kError, "segment " + path +
                                 " has a bad header or overlaps the one before it; moved to "
                                 "quarantine/ (the segments after it stay in service)");
      continue;
    }
    bool loaded = false;
    if (has_index && !last) {
      auto bytes =
          env.ReadFile(dir + "/" + format::FileName(Offset{base}, format::FileKind::kIndex));
      if (bytes.ok()) {
        if (auto idx = format::DecodeIndex(*bytes); idx && idx->segment_size == seg->file->Size()) {
          seg->index = std::move(idx->entries);
          seg->end = idx->end_offset;
          seg->size = idx->segment_size;
          seg->first_arrival = idx->first_arrival;
          seg->last_arrival = idx->last_arrival;
          loaded = true;
        }
      }
    }
    if (last) {
      // A write that failed and could not be cut back left this marker with the durable size:
      // what lies past it was answered as failed and must not come back.
      const std::string marker = dir + "/" + CutMarkerName(Offset{base});
      if (env.Exists(marker)) {
        ASSIGN_OR_RETURN(std::string text, env.ReadFile(marker));
        const std::uint64_t durable = std::strtoull(text.c_str(), nullptr, 10);
        if (durable >= format::kSegmentHeaderSize && seg->file->Size() > durable) {
          ASSIGN_OR_RETURN(std::string kept, SetAsideTail(ctx, dir, *seg, durable));
          note(Severity::kWarning, "cut " + std::to_string(seg->file->Size() - durable) +
                                       " bytes of writes answered as failed from " + path + "; " +
                                       kept);
          RETURN_IF_ERROR(seg->file->Truncate(durable));
          RETURN_IF_ERROR(seg->file->Sync());
          checkpoint.reset();  // it describes the file as it was before the cut
        }
        RETURN_IF_ERROR(env.Remove(marker));
      }
    }
    if (!loaded && last && checkpoint) loaded = LoadCheckpoint(*seg, *checkpoint, opts);
    if (!loaded) {
      const std::uint64_t file_size = seg->file->Size();
      ScanStop stop = ScanStop::kEnd;
      const std::uint64_t valid = Scan(*seg, opts, &stop);
      if (valid < file_size) {
        // Copy what is cut before cutting it: a torn write holds only records that were
        // never acknowledged, but damage may be followed by intact, acknowledged records.
        // Only damage stops the start when the copy fails (e.g. the disk is full).
        auto copied = SetAsideTail(ctx, dir, *seg, valid);
        if (!copied.ok() && stop != ScanStop::kTorn) return copied.status();
        const std::string kept =
            copied.ok() ? *copied : "not copied: " + copied.status().ToString();
        if (stop == ScanStop::kTorn) {
          note(Severity::kWarning, "cut a torn write of " + std::to_string(file_size - valid) +
                                       " bytes at byte " + std::to_string(valid) + " of " + path +
                                       " (offset " + std::to_string(seg->end) +
                                       " on, never acknowledged); " + kept);
        } else {
          note(Severity::kError, "corruption at byte " + std::to_string(valid) + " of " + path +
                                     " (offset " + std::to_string(seg->end) + "): cut " +
                                     std::to_string(file_size - valid) + " bytes; " + kept);
        }
        RETURN_IF_ERROR(seg->file->Truncate(valid));
        RETURN_IF_ERROR(seg->file->Sync());
        // Its index (if sealed) describes the old size: rewritten below.
        (void)env.Remove(dir + "/" + format::FileName(Offset{base}, format::FileKind::kIndex));
        if (stop != ScanStop::kTorn) floor = std::max(floor, bound(seg->end, file_size - valid));
      }
    }
    seg->sealed = !last;
    log->segments_.push_back(seg);
  }
  // New records go above every offset set aside: a new segment starts there (a gap).
  const std::uint64_t tail_end = log->segments_.empty() ? 0 : log->segments_.back()->end;
  if (log->segments_.empty() || floor > tail_end) {
    const std::uint64_t next = std::max(floor, tail_end);
    if (next > tail_end) {
      note(Severity::kError, "offsets " + std::to_string(tail_end) + ".." +
                                 std::to_string(next - 1) +
                                 " may have been set aside; new records start at offset " +
                                 std::to_string(next) + ", so no sequence number is reused");
    }
    ASSIGN_OR_RETURN(auto seg, log->NewSegment(Offset{next}));
    log->segments_.push_back(std::move(seg));
  }
  // Everything before the last segment is sealed; make sure sealed ones have index files.
  for (std::size_t k = 0; k + 1 < log->segments_.size(); ++k) {
    auto& s = *log->segments_[k];
    s.sealed = true;
    if (!env.Exists(dir + "/" + format::FileName(s.base, format::FileKind::kIndex)))
      RETURN_IF_ERROR(log->Seal(s));
  }
  log->segments_.back()->sealed = false;
  const auto& tail = *log->segments_.back();
  log->next_offset_ = log->durable_end_ = log->visible_end_ = tail.end;
  for (auto it = log->segments_.rbegin(); it != log->segments_.rend(); ++it) {
    if (!(*it)->empty()) {
      log->last_arrival_ = (*it)->last_arrival;
      break;
    }
  }
  return log;
}

// ---- the storage ----------------------------------------------------------------------

class DiskStorage final : public Storage {
 public:
  explicit DiskStorage(const DiskOptions& opts)
      : opts_(opts), env_(opts.env ? *opts.env : Env::Posix()), logs_dir_(opts.dir + "/logs") {
    auto ctx = std::make_shared<LogContext>();
    ctx->env = &env_;
    ctx->opts = opts;
    ctx->quarantine_dir = opts.dir + "/quarantine";
    std::size_t capacity = opts.max_open_files;
    if (capacity == 0) capacity = std::max<std::size_t>(env_.MaxOpenFiles() / 2, 16);
    files_ = ctx->files = std::make_shared<FileCache>(env_, capacity);
    ctx_ = std::move(ctx);
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    const int flushers = opts.flush_threads > 0 ? opts.flush_threads : std::min(cores, 4);
    // The flushers together hold at most a quarter of the cache's capacity on top of it.
    flush_group_ = std::max<std::size_t>(files_->capacity() / (4 * flushers), 1);
    for (int i = 0; i < flushers; ++i) flushers_.push_back(std::make_unique<Flusher>(flush_group_));
  }
  ~DiskStorage() override {
    flushers_.clear();  // joins after flushing what is queued
    std::unique_lock lock(mu_);
    for (auto& [_, log] : logs_) log->WriteCheckpoint();
    for (auto& [_, log] : logs_) log->Shutdown(Status(Code::kIoError, "storage closed"));
  }

  Status Open(std::vector<std::string>* report) {
    RETURN_IF_ERROR(env_.MakeDirs(opts_.dir));
    char host[256] = {};
    (void)::gethostname(host, sizeof host - 1);
    ASSIGN_OR_RETURN(lock_, env_.LockFile(opts_.dir + "/LOCK", "pid " + std::to_string(::getpid()) +
                                                                   " on host " + host + "\n"));
    RETURN_IF_ERROR(env_.MakeDirs(logs_dir_));
    RETURN_IF_ERROR(OpenMeta(report));
    ASSIGN_OR_RETURN(auto names, env_.List(logs_dir_));
    for (const auto& n : names) {
      auto id = format::ParseLogDirName(n);
      if (!id) {
        const std::string line = "ignored unexpected entry " + logs_dir_ + "/" + n;
        ctx_->Emit(Severity::kWarning, line);
        if (report) report->push_back(line);
        continue;
      }
      ASSIGN_OR_RETURN(auto log,
                       DiskLog::Recover(ctx_, logs_dir_ + "/" + n, *id, FlusherFor(*id), report));
      log->ReleaseRecoveryFiles();
      logs_[id->value] = std::move(log);
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<Log>> CreateLog(LogId id, std::string_view descriptor) override {
    std::unique_lock lock(mu_);
    if (logs_.count(id.value)) return Status(Code::kResourceInUse, "log exists");
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
    ASSIGN_OR_RETURN(auto log, DiskLog::Create(ctx_, dir, id, descriptor, FlusherFor(id)));
    RETURN_IF_ERROR(env_.SyncDir(logs_dir_));
    logs_[id.value] = log;
    return std::shared_ptr<Log>(log);
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
    return env_.SyncDir(logs_dir_);
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

  DiskOptions opts_;
  Env& env_;
  std::string logs_dir_;
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
