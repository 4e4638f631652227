// Internals of the durable storage (OpenDiskStorage in log.h), shared by its files; not part
// of any interface. One job per file:
//   disk_storage.cc        the storage: data-directory lock, metadata store, the map of logs
//                          (create, drop, set aside), flusher threads
//   disk_log_write.cc      the write path: Append, group commit by the Flusher, fsync, rolling
//                          segments, failed writes (cut back, new epoch), durability waiters,
//                          the clean-shutdown checkpoint
//   disk_log_read.cc       reads, time seeks and retention (TrimBefore)
//   disk_log_recovery.cc   opening a log at start: scans, checkpoints, cut markers, torn tails
//                          and damage set aside under quarantine/
// Format and recovery rules: docs/storage-format.md.
//
// Offsets: dense per log; Append hands them out (next_offset_) and the log's writer (below)
// makes them durable in order. A failed write cuts the log back to its last durable record and
// starts a new epoch that reuses the failed offsets (rewinds_ remembers how each epoch ended).
// Recovery may leave a gap (offsets set aside): a new segment then starts above them.
// Visibility: readers see records below visible_end_, raised by the writer only after the
// write (and fsync, with DiskOptions::fsync) succeeded: nothing a crash can take is served.
// Durability: durable_end_ (under sync_mu_) is what WaitDurable/OnDurable answer from; it
// equals visible_end_ once a flush is published.
// Threading: appenders on any thread; a log is written by one owner at a time (writing_): its
// Flusher thread or, without fsync, an appender that found it idle and no roll or cut due
// (flusher_only_; flush_ and needs_cut_ are the owner's); readers on any thread. Recovery runs
// before the log is shared. The storage's close waits for the appenders in Append (in_hand_)
// before it joins the flushers and checkpoints, so no owner is left when it does. No
// thread-safety annotations here yet: the storage uses plain std::mutex (docs/architecture.md,
// "Locks"), so each field names its guard in a comment.
// Locks of a log (lock order: mu_ -> sync_mu_; append_mu_ is taken alone, Flusher::mu_ only
// after append_mu_ is released):
//   append_mu_    next_offset_, last_arrival_, pending_, pending_frames_, epoch_, closed_,
//                 writing_, flusher_only_, closing_, in_hand_
//   mu_           segments_ (and every Segment's fields once published), visible_end_
//   sync_mu_      durable_end_, io_error_, rewinds_, durable_waiters_, reported_
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "storage/env.h"
#include "storage/file_cache.h"
#include "storage/log.h"
#include "storage/segment_format.h"

namespace cinesis::storage::disk {

using format::IndexEntry;

constexpr std::size_t kReadChunk = 256 << 10;

// One segment file of a log. Fields are written by recovery (before the log is shared) or by
// the log's writer under DiskLog::mu_ (exclusive), and read under DiskLog::mu_.
struct Segment {
  Offset base;
  // Its file is `Path(log directory)`, built when needed (a stored path took ~100 bytes of
  // heap per log). `unreadable`: the placeholder of a log whose recovery failed (no file).
  bool unreadable = false;
  std::string Path(const std::string& dir) const {
    return dir + "/" +
           (unreadable ? std::string("unreadable")
                       : format::FileName(base, format::FileKind::kSegment));
  }
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

// Where a log reports and sets things aside; shared by the storage and its logs. Immutable
// once built.
struct LogContext {
  Env* env = nullptr;
  DiskOptions opts;
  std::string logs_dir;  // <opts.dir>/logs: a log's directory is <logs_dir>/<LogDirName(id)>
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

// Reads frames of one segment sequentially through a chunk buffer. Used by one thread at a
// time (readers pass a thread-local buffer).
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
  DiskLog(Context ctx, LogId id, Flusher* flusher)
      : ctx_(std::move(ctx)), id_(id), flusher_(flusher) {}

  // A new, empty log in dir() (disk_log_write.cc). `sync`: its files and the entries of its
  // own directory are synced before it returns; otherwise the caller syncs (or, without
  // fsync, nothing does: the log then survives process crashes only, as its records do).
  static Result<std::shared_ptr<DiskLog>> Create(const Context& ctx, LogId id,
                                                 std::string_view descriptor, Flusher* flusher,
                                                 bool sync);
  // Opens the log in dir() at start (disk_log_recovery.cc).
  static Result<std::shared_ptr<DiskLog>> Recover(const Context& shared, LogId id, Flusher* flusher,
                                                  std::vector<std::string>* report);

  // A log recovered only when first used (disk_log_recovery.cc): DiskStorage opens the logs
  // this way after a clean shutdown (DiskOptions::open_lazily), so a start costs no file
  // access per log. Recovery findings then go to the EventSink when it runs.
  static std::shared_ptr<DiskLog> Unopened(const Context& shared, LogId id, Flusher* flusher);
  // Recovers an unopened log now (once; every call that needs its state does this first).
  // A recovery that fails is reported; the log then reads as empty and refuses appends.
  Status EnsureOpen() const;
  bool opened() const { return opened_.load(std::memory_order_acquire); }

  // Write path (disk_log_write.cc).
  Result<AppendResult> Append(std::span<const AppendRecord> records,
                              EpochMillis arrival_ms) override;
  Status WaitDurable(const AppendResult& appended) override;
  void OnDurable(const AppendResult& appended, std::function<void(Status)> done) override;

  // Read path and retention (disk_log_read.cc).
  Result<ReadResult> Read(Offset from, std::size_t max_records, const RecordVisitor& visit,
                          EpochMillis not_before_ms) const override;
  Offset StartOffset() const override;
  Offset EndOffset() const override;
  Offset OffsetAtTime(EpochMillis ms) const override;
  std::optional<EpochMillis> LastArrival() const override;
  void TrimBefore(EpochMillis ms) override;

  // Writes queued frames, syncs, publishes; by the owner of the log's write (writing_), the
  // log's flusher thread or, without fsync, an appender (FlushInline). In two steps, so a
  // flusher can write (and start the device writes of) all its logs before it waits for the
  // first sync. BeginFlush takes the ownership (`owned`: the caller holds it already) and
  // returns true when FinishFlush must follow; FinishFlush gives it back.
  // The durability callbacks a flush completes are handed back to the caller, which runs
  // them with no lock held and the ownership given back (so a callback that appends to this
  // log again can write it).
  struct Answer {
    std::function<void(Status)> done;
    Status status;
  };
  static void RunAnswers(std::vector<Answer>& answers) {
    for (auto& a : answers) a.done(std::move(a.status));
    answers.clear();
  }
  bool BeginFlush(bool owned = false);
  void FinishFlush(std::vector<Answer>& answers);
  // Without fsync only, by an appender that took the ownership in Append: writes and
  // publishes what is queued on its own thread, so that the answer needs no hand-off to the
  // flusher and back. A segment roll (which syncs the sealed segment) or a cut that is due is
  // left to the flusher.
  void FlushInline();
  // Gives the ownership of the write back; queues the log for its flusher if frames arrived
  // meanwhile (their appenders, finding it owned, left them to this owner). `flusher_only`:
  // a roll or a cut is due (FlusherOnly), so appenders leave their frames to the flusher.
  void EndWriting(bool flusher_only);
  // By the owner of the write: the next write must be the flusher's, since it rolls the
  // active segment (full) or cuts it back (needs_cut_).
  bool FlusherOnly(const Segment& active) const {
    return needs_cut_ || (active.size >= opts().segment_bytes && !active.empty());
  }
  // Times an appender took the write only to hand it to the flusher (FlushInline found a
  // roll or a cut due although flusher_only_ was not set); a measure for tests.
  std::uint64_t handed_on() const { return handed_on_.load(std::memory_order_relaxed); }
  // After a failed write: fails the batch and everything queued behind it, cuts the file
  // back to its durable size and starts a new epoch, so the next Append can succeed.
  void FailFlush(const Status& error, Segment& active, std::vector<Answer>& answers);
  // Fails every waiter and stops writing (the log was dropped or storage closes).
  void Shutdown(const Status& why);
  // The storage closes, in two steps before its flushers are joined. CloseToAppends: every
  // later Append is refused (an appender held by the back-pressure too), so none takes the
  // write any more; frames already queued stay for the flusher. WaitForAppenders: returns
  // once no appender is still in Append past that check: an inline write in progress was
  // given back (with what was queued behind it handed to the flusher) and its answers ran,
  // and no appender is about to queue the log for its flusher. Then nothing but the flusher
  // writes the log or uses its Flusher.
  void CloseToAppends();
  void WaitForAppenders();
  std::atomic<bool> queued{false};  // in its flusher's dirty list
  // The log's directory, built when needed (not kept: ~60 bytes of heap per log).
  std::string dir() const { return ctx_->logs_dir + "/" + format::LogDirName(id_); }
  static constexpr const char* kDescriptorFile = "DESCRIPTOR";

  // After recovery, before the log is used: hands the files recovery opened to the cache
  // (which closes the least recently used beyond its capacity).
  void ReleaseRecoveryFiles();
  // Closes the log's files (once nobody reads them), before they are removed.
  void ForgetFiles();
  // At a clean shutdown, after the last flush: syncs the active segment and records its
  // index, so the next start verifies only its tail instead of scanning it.
  void WriteCheckpoint();

 private:
  // An appender leaves Append after its inline write or its MarkDirty (in_hand_).
  void LeaveHand();
  // Recovery of this log from its directory (Recover, EnsureOpen); before it is shared.
  Status RecoverInto(std::vector<std::string>* report);
  // TrimBefore on an opened log.
  void TrimOpened(EpochMillis ms);
  // A new active segment starting at `base`: header written and, with `sync`, synced with
  // its directory entry.
  Result<std::shared_ptr<Segment>> NewSegment(Offset base, bool sync);
  // The segment's file, open: recovery's own while it reads the segment, otherwise from the
  // cache (opened on a miss). Held for one operation only, so open files stay bounded.
  Result<std::shared_ptr<File>> OpenFile(const Segment& seg) const {
    if (seg.file) return seg.file;
    return files().Get(seg.key, seg.Path(dir()));
  }
  // Writes the sealed segment's index file (syncing the segment first without fsync, and
  // cutting its preallocated zeros off first).
  Status Seal(Segment& seg);
  // With fsync: extends the active segment's file with zeros when a write of `n` bytes at
  // `pos` comes within half a chunk of the zeros' end (DiskOptions::preallocate_bytes). Best
  // effort: a failed extension is cut off again and the write goes on without it.
  void ZeroAhead(File& file, std::uint64_t pos, std::size_t n) const;
  // After the sync of a write that took the active segment's file from `before` to `after`
  // bytes (DiskOptions::cached_tail_bytes): drops its bytes more than cached_tail_bytes
  // behind `after` from the page cache, whenever that point passes a 2 MiB boundary. Derived
  // from the write alone, so a log keeps no state for it.
  void DropColdCache(File& file, std::uint64_t before, std::uint64_t after) const;
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
  // Copies bytes [from, until) of `seg` (default: to the end of the file) under quarantine/
  // and says what they held.
  static Result<std::string> SetAsideTail(const LogContext& ctx, const std::string& dir,
                                          Segment& seg, std::uint64_t from,
                                          std::optional<std::uint64_t> until = std::nullopt);
  // Where the zero bytes that end `file` start, at or after `from` (its size if its last
  // byte is not zero): preallocated space that no write reached.
  static Result<std::uint64_t> ZeroTailStart(const File& file, std::uint64_t from);
  // A scan stopped at `pos` on a frame that does not verify, with zeros from `zeros` to the end
  // of the file: true when those zeros reach a 512-byte boundary inside the frame, as a write
  // that the crash kept only the first pages (or sectors) of leaves it (a write cut by a
  // kill stops at a page boundary). A frame that was written whole and then damaged looks so
  // only when its data ends with zeros across such a boundary.
  static Result<bool> TornIntoZeros(const File& file, std::uint64_t pos, std::uint64_t zeros);
  // Moves a whole file of the log under quarantine/.
  static Status SetAsideFile(const LogContext& ctx, const std::string& dir,
                             const std::string& path);
  // Restores the active segment from the checkpoint of a clean shutdown, verifying the
  // frames from its last index entry to the end of the file. False: scan it whole.
  static bool LoadCheckpoint(Segment& seg, const format::SealedIndex& ckpt,
                             const DiskOptions& opts);

  // "<base>.cut": the durable size of a segment whose failed bytes could not be cut yet.
  static std::string CutMarkerName(Offset base) {
    return format::FileName(base, format::FileKind::kSegment) + ".cut";
  }
  // Truncates the segment back to its durable size (and syncs), through `file` if given.
  Status CutBack(const Segment& seg, std::shared_ptr<File> file = nullptr);
  // Removes the segment's cut marker, if any, and syncs the directory (with fsync on).
  Status RemoveCutMarker(const Segment& seg);
  // The outcome of a batch's write when known: OK once durable, the error once failed.
  // Requires sync_mu_.
  std::optional<Status> VerdictLocked(const AppendResult& a) const;
  // Reports a damaged record met by a read, once per position.
  void ReportCorruption(const Segment& seg, std::uint64_t offset) const;
  // The segment holding `offset` (or the gap after it); requires mu_ (shared).
  std::shared_ptr<Segment> SegmentFor(std::uint64_t offset) const;

  // Through the context, not copies of its pointers (32 bytes per log). ctx_ is shared: a log
  // may outlive its storage, and the context (with the FileCache) lives as long as the log.
  Env& env() const { return *ctx_->env; }
  const DiskOptions& opts() const { return ctx_->opts; }  // not a copy (~600 bytes of heap)
  FileCache& files() const { return *ctx_->files; }

  // Immutable after construction.
  Context ctx_;
  LogId id_;
  Flusher* flusher_;

  // Lazy opening (EnsureOpen): opened_ is set, with release, once recovery ran; until then
  // only EnsureOpen (under open_mu_) touches the fields below. TrimBefore before that only
  // raises deferred_trim_, applied when the log opens.
  mutable std::mutex open_mu_;
  mutable std::atomic<bool> opened_{true};
  // guarded by open_mu_; written once, before opened_ is set; nullptr: opened fine (a Status
  // per log took 40 bytes).
  std::unique_ptr<Status> open_error_;
  Status OpenError() const { return open_error_ ? *open_error_ : Status::Ok(); }
  std::atomic<EpochMillis> deferred_trim_{0};

  // Appenders: offsets, arrival clamp and the queue of encoded frames.
  std::mutex append_mu_;
  std::uint64_t next_offset_ = 0;             // guarded by append_mu_
  EpochMillis last_arrival_ = 0;              // guarded by append_mu_
  std::string pending_;                       // guarded by append_mu_
  std::vector<PendingFrame> pending_frames_;  // guarded by append_mu_
  std::uint64_t epoch_ = 0;  // guarded by append_mu_; of the frames in pending_ (AppendResult)
  bool closed_ = false;      // guarded by append_mu_
  // guarded by append_mu_: a write of the log (BeginFlush to the end of FinishFlush) is
  // running; its owner alone uses flush_ and needs_cut_. Taken and given back under
  // append_mu_, so an appender that finds it taken knows the owner will see its frames.
  bool writing_ = false;
  // guarded by append_mu_: without fsync, the next write is the flusher's until it has rolled
  // the full active segment or cut it back (set by the owner that gives the write back, from
  // FlusherOnly): appenders leave their frames to the flusher instead of taking the write
  // only to hand it on (and the flusher losing the log to the next one, then retrying).
  bool flusher_only_ = false;
  // guarded by append_mu_: the storage closes (CloseToAppends): Append refuses, as closed_,
  // but what is queued is still written (closed_ comes later, with Shutdown).
  bool closing_ = false;
  // guarded by append_mu_: appenders past the closed_/closing_ check that may still write the
  // log inline or queue it for its flusher (Append); WaitForAppenders waits for none.
  std::uint32_t in_hand_ = 0;
  // With append_mu_: room in pending_, or closed_ or closing_; or, once closing_, in_hand_
  // back to 0. Made (under append_mu_) by the first appender that has to wait (or by
  // WaitForAppenders), and kept until the log goes: notifiers take the pointer under
  // append_mu_ (a log never that far behind holds none: 48 bytes per log).
  std::unique_ptr<std::condition_variable> space_cv_;

  struct DurableWaiter {
    std::uint64_t end;
    std::uint64_t epoch;
    std::function<void(Status)> done;
  };
  // Flusher-owned scratch (capacity reused between flushes) and BeginFlush's results: used
  // only by the owner of the write (writing_). Made at the first flush (a log never written has
  // none: ~150 bytes per idle log), and let go after a flush that left it holding large buffers.
  struct FlushState {
    std::string buf;
    std::vector<PendingFrame> frames;
    std::shared_ptr<Segment> active;
    std::shared_ptr<File> file;  // held open from the write to the sync
    std::uint64_t pos0 = 0;
    Status status;
  };
  std::unique_ptr<FlushState> flush_;
  // Scratch beyond this is freed after its flush instead of kept for the next one.
  static constexpr std::size_t kKeepFlushBytes = 256 << 10;
  void ReleaseLargeFlushState() {
    if (flush_ && flush_->buf.capacity() > kKeepFlushBytes) flush_.reset();
  }
  // Used by the owner of the write only (and WriteCheckpoint, once nothing writes).
  bool needs_cut_ = false;  // a failed write may have left bytes past the active's size
  std::atomic<std::uint64_t> handed_on_{0};  // handed_on()

  // Readers and the flusher's publication.
  mutable std::shared_mutex mu_;
  // A vector, not a deque: an idle log holds one segment, and an empty std::deque already
  // takes 576 bytes of heap (trimming erases from the front, O(segments)).
  std::vector<std::shared_ptr<Segment>> segments_;  // guarded by mu_
  std::uint64_t visible_end_ = 0;                   // guarded by mu_

  // Durability waiters.
  mutable std::mutex sync_mu_;
  std::condition_variable sync_cv_;  // with sync_mu_: durable_end_, rewinds_ or io_error_ moved
  std::uint64_t durable_end_ = 0;    // guarded by sync_mu_
  Status io_error_;  // guarded by sync_mu_; set by Shutdown only: the log is closed for good
  struct Rewind {
    std::uint64_t durable_end;  // the log was cut back to here
    Status error;               // what failed the rest of the epoch
  };
  std::vector<Rewind> rewinds_;  // guarded by sync_mu_; by epoch: how each ended epoch ended
  std::vector<DurableWaiter> durable_waiters_;  // guarded by sync_mu_; OnDurable callers

  // guarded by sync_mu_ (taken alone for it): (segment, offset) of corruptions already
  // reported; made at the first (a set and a lock of its own per log took 88 bytes).
  mutable std::unique_ptr<std::set<std::pair<std::uint64_t, std::uint64_t>>> reported_;

  friend class Flusher;
};

// One thread that writes and syncs the logs assigned to it. Every log with queued frames
// is flushed once per cycle, so all appends that arrived during the previous sync share
// the next one (group commit). Defined in disk_log_write.cc.
class Flusher {
 public:
  // `max_open`: logs flushed together, each holding its segment file open from write to sync.
  explicit Flusher(std::size_t max_open);
  // Stops the thread after it flushed what is queued.
  ~Flusher();
  // Queues `log` for the next cycle (once, however often it is called before that cycle).
  void MarkDirty(std::shared_ptr<DiskLog> log);

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;                   // with mu_: dirty_ or stop_ changed
  std::vector<std::shared_ptr<DiskLog>> dirty_;  // guarded by mu_
  bool stop_ = false;                            // guarded by mu_
  const std::size_t max_open_;
  std::thread thread_;
};

}  // namespace cinesis::storage::disk
