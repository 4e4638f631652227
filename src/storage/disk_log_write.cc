// The write path of a durable log: Append queues encoded frames; the log's Flusher thread
// writes them, syncs and publishes them (group commit), rolls segments, and handles failed
// writes (without fsync, an appender that finds the log idle writes and publishes them
// itself); WaitDurable/OnDurable answer from what was published.
//
// Offsets: Append assigns them densely under append_mu_; a failed write hands the failed
// offsets (and those queued behind them) out again in a new epoch, after cutting the file
// back to its last durable record (or, when the cut fails too, leaving a "<base>.cut" marker
// for the next start).
// Visibility and durability: FinishFlush raises visible_end_ (under mu_) and then
// durable_end_ (under sync_mu_) only after the write and, with DiskOptions::fsync, its fsync
// succeeded; durability callbacks run after that with no lock held.
// Threading: Append, WaitDurable, OnDurable and Shutdown run on any thread; BeginFlush,
// FinishFlush and FailFlush by the owner of the log's write (writing_, taken and given back
// under append_mu_; it alone uses flush_ and needs_cut_): the log's flusher thread, or,
// without fsync, an appender that found the log idle (FlushInline), so that a write's
// answer needs no hand-off to the flusher and back. Frames queued while the write is owned
// are the owner's to hand on (EndWriting queues the log for the flusher); while a roll or a
// cut is due (flusher_only_, set by the owner that gives the write back), appenders queue the
// log for the flusher instead of taking the write. WriteCheckpoint
// at a clean shutdown, once nothing writes: the storage's close first refuses appends
// (CloseToAppends) and waits for the appenders still in Append (WaitForAppenders: an inline
// write given back, a MarkDirty done), then joins the flushers. Durability callbacks run with
// no lock held and the ownership given back.
// Locks (disk_storage_impl.h): append_mu_ for the queue and the ownership, mu_ for the
// segments and visible_end_, sync_mu_ for the durability state, Flusher::mu_ for its dirty
// list (taken after append_mu_ is released).
#include <algorithm>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/disk_storage_impl.h"
#include "storage/env.h"
#include "storage/segment_format.h"

namespace cinesis::storage::disk {
namespace {

constexpr std::size_t kMaxPendingBytes = 64 << 20;

}  // namespace

Result<std::shared_ptr<DiskLog>> DiskLog::Create(const Context& ctx, LogId id,
                                                 std::string_view descriptor, Flusher* flusher,
                                                 bool sync) {
  auto log = std::make_shared<DiskLog>(ctx, id, flusher);
  const std::string dir = log->dir();
  RETURN_IF_ERROR(ctx->env->MakeDirs(dir));
  if (!descriptor.empty()) {
    // Written in place: a descriptor cut short by a crash belongs to a log the crash left
    // empty and without a stream document, which recovery removes (docs/storage-format.md).
    ASSIGN_OR_RETURN(auto file, ctx->env->Open(dir + "/" + kDescriptorFile, true));
    RETURN_IF_ERROR(file->Truncate(0));
    RETURN_IF_ERROR(file->Append(descriptor));
    if (sync) RETURN_IF_ERROR(file->Sync());
  }
  ASSIGN_OR_RETURN(auto seg, log->NewSegment(Offset{0}, sync));
  log->segments_.push_back(std::move(seg));
  return log;
}

Status DiskLog::WaitDurable(const AppendResult& appended) {
  std::unique_lock lock(sync_mu_);
  std::optional<Status> verdict;
  sync_cv_.wait(lock, [&] { return (verdict = VerdictLocked(appended)).has_value(); });
  return *verdict;
}

void DiskLog::OnDurable(const AppendResult& appended, std::function<void(Status)> done) {
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

void DiskLog::Shutdown(const Status& why) {
  std::condition_variable* space = nullptr;  // made by a waiting appender, kept until the end
  {
    std::lock_guard lock(append_mu_);
    closed_ = true;
    space = space_cv_.get();
  }
  // An appender held by the back-pressure wakes up to its "closed" error (no flush will
  // make room for it any more).
  if (space) space->notify_all();
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

Result<std::shared_ptr<Segment>> DiskLog::NewSegment(Offset base, bool sync) {
  auto seg = std::make_shared<Segment>();
  seg->base = base;
  seg->end = base.value;
  const std::string dir = this->dir();
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, env().Open(seg->Path(dir), true));
  RETURN_IF_ERROR(file->Truncate(0));
  RETURN_IF_ERROR(file->Append(format::SegmentHeader(base)));
  if (sync) {
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(env().SyncDir(dir));
  }
  seg->size = format::kSegmentHeaderSize;
  files().Insert(seg->key, std::move(file));
  return seg;
}

void DiskLog::ZeroAhead(File& file, std::uint64_t pos, std::size_t n) const {
  const std::uint64_t most = opts().preallocate_bytes;
  if (!opts().fsync || most == 0 || pos < std::min<std::uint64_t>(most, 64 << 10)) return;
  // As much as the segment holds (it doubles), at most `most`.
  const std::uint64_t chunk = std::min(most, pos);
  const std::uint64_t have = file.Size();
  const std::uint64_t need = pos + n;
  if (have >= need + chunk / 2) return;
  // Not past the size at which the segment rolls (the write that crosses it appends).
  constexpr std::uint64_t kPage = 4096;
  const std::uint64_t target =
      std::min((need + chunk + kPage - 1) / kPage * kPage, std::max(opts().segment_bytes, need));
  static const std::string zeros(64 << 10, '\0');
  for (std::uint64_t at = have; at < target;) {
    const std::size_t k =
        static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), target - at));
    if (!file.WriteAt(at, std::string_view(zeros).substr(0, k)).ok()) {
      // Best effort: on a nearly full disk the records may still fit where zeros do not.
      // The write that follows reports a real error.
      (void)file.Truncate(have);
      return;
    }
    at += k;
  }
}

void DiskLog::DropColdCache(File& file, std::uint64_t before, std::uint64_t after) const {
  const std::uint64_t tail = opts().cached_tail_bytes;
  // The kernel drops only whole folios of a range; a folio is at most 2 MiB and aligned to
  // its size, so none crosses a 2 MiB boundary and ranges between boundaries drop whole.
  constexpr std::uint64_t kStep = 2 << 20;
  if (tail == 0 || after < tail + kStep) return;
  // Everything before the last boundary at least `tail` behind the end; what lies before
  // `before`'s boundary was dropped by an earlier write.
  const std::uint64_t to = (after - tail) / kStep * kStep;
  const std::uint64_t done = before > tail ? (before - tail) / kStep * kStep : 0;
  if (to > done) file.DropCache(done, to);
}

Status DiskLog::Seal(Segment& seg) {
  ASSIGN_OR_RETURN(auto file, OpenFile(seg));
  // Preallocated zeros: a sealed segment ends with its last frame (its index says so).
  // Defensive: zeros stop at --segment-bytes, so the write that fills a segment covers them.
  if (file->Size() > seg.size) RETURN_IF_ERROR(CutBack(seg, file));
  if (!opts().fsync) RETURN_IF_ERROR(file->Sync());
  format::SealedIndex idx{seg.index, seg.end, seg.size, seg.first_arrival, seg.last_arrival};
  RETURN_IF_ERROR(
      env().WriteFileAtomic(dir() + "/" + format::FileName(seg.base, format::FileKind::kIndex),
                            format::EncodeIndex(idx)));
  // Synced (by its writes' syncs, or just above), it leaves the page cache whole: the next
  // segment takes the tail readers follow. To the end of the file, past the last page: a
  // large folio there, across the size (left by the cut of the zeros), is dropped only whole.
  if (opts().cached_tail_bytes > 0) file->DropCache(0, File::kToEnd);
  return Status::Ok();
}

void DiskLog::WriteCheckpoint() {
  // Never opened: its files, checkpoint included, are as the last clean shutdown left them.
  if (!opened()) return;
  std::shared_lock lock(mu_);
  if (segments_.empty()) return;
  {
    std::lock_guard sync_lock(sync_mu_);
    if (!io_error_.ok()) return;
  }
  const Segment& seg = *segments_.back();
  // The marker tells the next start to cut when this cut fails.
  if (needs_cut_ && (!CutBack(seg).ok() || !RemoveCutMarker(seg).ok())) return;
  auto file = OpenFile(seg);
  if (!file.ok()) return;
  // Preallocated zeros are cut off: the checkpoint says where the file ends.
  if ((*file)->Size() > seg.size && !CutBack(seg, *file).ok()) return;
  // With one index entry the next start scans the same bytes with or without a checkpoint
  // (from that entry); skipping it saves a sync and two files per idle log.
  if (seg.index.size() < 2) return;
  if (!(*file)->Sync().ok()) return;
  format::SealedIndex idx{seg.index, seg.end, seg.size, seg.first_arrival, seg.last_arrival};
  (void)env().WriteFileAtomic(
      dir() + "/" + format::FileName(seg.base, format::FileKind::kCheckpoint),
      format::EncodeIndex(idx));
}

// A cut marker must go (durably) before anything is written past the cut: left behind, the
// next start would cut acknowledged records off. No marker: nothing to do.
Status DiskLog::RemoveCutMarker(const Segment& seg) {
  RETURN_IF_ERROR(env().Remove(dir() + "/" + CutMarkerName(seg.base)));
  return opts().fsync ? env().SyncDir(dir()) : Status::Ok();
}

Status DiskLog::CutBack(const Segment& seg, std::shared_ptr<File> file) {
  if (!file) {
    ASSIGN_OR_RETURN(file, OpenFile(seg));
  }
  RETURN_IF_ERROR(file->Truncate(seg.size));
  return opts().fsync ? file->Sync() : Status::Ok();
}

std::optional<Status> DiskLog::VerdictLocked(const AppendResult& a) const {
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

Flusher::Flusher(std::size_t max_open)
    : max_open_(std::max<std::size_t>(max_open, 1)), thread_([this] { Run(); }) {}

Flusher::~Flusher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Flusher::MarkDirty(std::shared_ptr<DiskLog> log) {
  if (log->queued.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    dirty_.push_back(std::move(log));
  }
  cv_.notify_one();
}

void Flusher::Run() {
  std::vector<std::shared_ptr<DiskLog>> batch;
  std::vector<DiskLog*> started;
  std::vector<DiskLog::Answer> answers;
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
        // (False too when an appender is writing the log: it queues it again if needed.)
        if (batch[i]->BeginFlush()) started.push_back(batch[i].get());
      }
      for (DiskLog* log : started) {
        log->FinishFlush(answers);
        DiskLog::RunAnswers(answers);
      }
    }
    batch.clear();
  }
}

Result<AppendResult> DiskLog::Append(std::span<const AppendRecord> records,
                                     EpochMillis arrival_ms) {
  RETURN_IF_ERROR(EnsureOpen());
  AppendResult result{};
  bool own = false;   // this appender writes the log (FlushInline)
  bool busy = false;  // another writer owns the log and hands these frames on
  {
    std::unique_lock lock(append_mu_);
    // Back-pressure: a flusher that cannot keep up bounds the memory queued here.
    auto room = [&] { return pending_.size() < kMaxPendingBytes || closed_ || closing_; };
    if (!room()) {
      if (!space_cv_) space_cv_ = std::make_unique<std::condition_variable>();
      space_cv_->wait(lock, room);
    }
    if (closed_ || closing_) return Status(Code::kIoError, "log " + dir() + " is closed");
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
    if (!opts().fsync) {
      // Without fsync, the appender writes an idle log itself; a log being written is left
      // to its writer, which hands the frames on when it is done (EndWriting); while a roll
      // or a cut is due, the frames are the flusher's (flusher_only_).
      busy = writing_;
      own = !writing_ && !flusher_only_;
      if (own) writing_ = true;
    }
    // The storage's close waits for this appender before it joins the flushers (and
    // checkpoints): until then its inline write, or its MarkDirty, may still run.
    if (!busy) ++in_hand_;
  }
  if (own) {
    FlushInline();
  } else if (!busy) {
    flusher_->MarkDirty(shared_from_this());
  }
  if (!busy) LeaveHand();
  return result;
}

void DiskLog::LeaveHand() {
  std::condition_variable* done = nullptr;
  {
    std::lock_guard lock(append_mu_);
    if (--in_hand_ == 0 && closing_) done = space_cv_.get();
  }
  if (done) done->notify_all();
}

void DiskLog::CloseToAppends() {
  std::condition_variable* space = nullptr;
  {
    std::lock_guard lock(append_mu_);
    closing_ = true;
    space = space_cv_.get();
  }
  if (space) space->notify_all();  // an appender held by the back-pressure: refused
}

void DiskLog::WaitForAppenders() {
  std::unique_lock lock(append_mu_);
  if (in_hand_ == 0) return;
  if (!space_cv_) space_cv_ = std::make_unique<std::condition_variable>();
  space_cv_->wait(lock, [&] { return in_hand_ == 0; });
}

void DiskLog::FlushInline() {
  bool defer = needs_cut_;
  if (!defer) {
    // A roll syncs the sealed segment: not on an appender's thread.
    std::shared_lock lock(mu_);
    const Segment& active = *segments_.back();
    defer = active.size >= opts().segment_bytes && !active.empty();
  }
  if (defer) {
    // (Only when no owner set flusher_only_ yet: a log recovered with a full segment.)
    handed_on_.fetch_add(1, std::memory_order_relaxed);
    return EndWriting(/*flusher_only=*/true);  // queues the log: the flusher rolls or cuts
  }
  std::vector<Answer> answers;
  if (BeginFlush(/*owned=*/true)) FinishFlush(answers);
  RunAnswers(answers);
}

void DiskLog::EndWriting(bool flusher_only) {
  bool more = false;
  {
    std::lock_guard lock(append_mu_);
    writing_ = false;
    flusher_only_ = flusher_only;
    more = !pending_frames_.empty() && !closed_;
  }
  if (more) flusher_->MarkDirty(shared_from_this());
}

bool DiskLog::BeginFlush(bool owned) {
  std::condition_variable* space = nullptr;  // made by a waiting appender, kept until the end
  {
    std::lock_guard lock(append_mu_);
    if (!owned && writing_) return false;  // an appender writes it (and hands on the rest)
    if (closed_ || pending_frames_.empty()) {
      writing_ = false;
      return false;
    }
    writing_ = true;
    if (!flush_) flush_ = std::make_unique<FlushState>();
    flush_->buf.swap(pending_);
    flush_->frames.swap(pending_frames_);
    space = space_cv_.get();
  }
  if (space) space->notify_all();

  std::shared_ptr<Segment> active;
  {
    std::shared_lock lock(mu_);
    active = segments_.back();
  }
  Status st;
  if (needs_cut_) {
    // The cut after an earlier failed write did not succeed then: do it before writing.
    // Until the cut and the marker's removal both succeed this batch fails and the next
    // flush retries them.
    st = CutBack(*active);
    if (st.ok()) st = RemoveCutMarker(*active);
    if (st.ok()) needs_cut_ = false;
  }
  if (st.ok() && active->size >= opts().segment_bytes && !active->empty()) {
    st = Seal(*active);
    if (st.ok()) {
      auto next = NewSegment(Offset{flush_->frames.front().offset}, opts().fsync);
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
  flush_->pos0 = active->size;
  std::shared_ptr<File> file;
  if (st.ok()) {
    auto opened = OpenFile(*active);
    if (opened.ok()) {
      file = std::move(opened).value();
    } else {
      st = opened.status();
    }
  }
  if (st.ok()) ZeroAhead(*file, flush_->pos0, flush_->buf.size());
  if (st.ok()) st = file->WriteAt(flush_->pos0, flush_->buf);
  if (st.ok() && opts().fsync) file->StartSync();
  flush_->file = std::move(file);
  flush_->active = std::move(active);
  flush_->status = std::move(st);
  return true;
}

void DiskLog::FinishFlush(std::vector<Answer>& answers) {
  std::shared_ptr<Segment> active = std::move(flush_->active);
  const std::uint64_t pos0 = flush_->pos0;
  Status st = std::move(flush_->status);
  if (st.ok() && opts().fsync) st = flush_->file->Sync();
  if (!st.ok()) {
    FailFlush(st, *active, answers);
    flush_->file.reset();
    flush_->buf.clear();
    flush_->frames.clear();
    ReleaseLargeFlushState();
    bool flusher_only = false;
    {
      std::shared_lock lock(mu_);
      flusher_only = FlusherOnly(*active);
    }
    EndWriting(flusher_only);
    sync_cv_.notify_all();
    return;
  }
  bool flusher_only = false;  // this write filled the segment: the flusher rolls it
  {
    std::unique_lock lock(mu_);
    for (const auto& f : flush_->frames) {
      const std::uint64_t pos = pos0 + f.rel_pos;
      if (active->index.empty() || pos >= active->last_index_pos + opts().index_interval_bytes) {
        active->index.push_back({f.offset, pos, f.arrival_ms});
        active->last_index_pos = pos;
      }
    }
    if (active->empty()) active->first_arrival = flush_->frames.front().arrival_ms;
    active->last_arrival = flush_->frames.back().arrival_ms;
    active->end = flush_->frames.back().offset + 1;
    active->size = pos0 + flush_->buf.size();
    visible_end_ = active->end;
    flusher_only = FlusherOnly(*active);
  }
  if (opts().fsync) DropColdCache(*flush_->file, pos0, pos0 + flush_->buf.size());
  flush_->file.reset();
  {
    std::lock_guard lock(sync_mu_);
    durable_end_ = flush_->frames.back().offset + 1;
    // (Not necessarily a prefix: appenders register after appending, in any order.)
    std::size_t keep = 0;
    for (auto& w : durable_waiters_) {
      if (w.end <= durable_end_) {
        answers.push_back({std::move(w.done), Status::Ok()});
      } else {
        durable_waiters_[keep++] = std::move(w);
      }
    }
    durable_waiters_.resize(keep);
  }
  flush_->buf.clear();
  flush_->frames.clear();
  ReleaseLargeFlushState();
  // Only now, after durable_end_ was published: the next owner publishes a higher one, which
  // must never be overwritten with this lower one.
  EndWriting(flusher_only);
  // Blocked waiters are woken once the write is given back, so that one that appends again
  // at once finds the log idle (and, without fsync, writes it itself).
  sync_cv_.notify_all();
}

void DiskLog::FailFlush(const Status& error, Segment& active, std::vector<Answer>& answers) {
  const std::uint64_t first = flush_->frames.front().offset;
  std::size_t behind = 0;
  std::uint64_t epoch = 0;
  std::condition_variable* space = nullptr;
  {
    std::lock_guard lock(append_mu_);
    // Frames queued behind the failed ones have offsets after them: they fail too, and
    // the offsets are handed out again from the last durable record.
    behind = pending_frames_.size();
    pending_.clear();
    pending_frames_.clear();
    next_offset_ = first;
    epoch = epoch_++;
    space = space_cv_.get();
  }
  if (space) space->notify_all();
  // Cut the failed bytes off now, so that a restart cannot find complete frames of records
  // that were answered as failed (a write can land although its fsync failed).
  // (Through the descriptor that wrote them, unless opening the file was what failed.)
  Status cut = CutBack(active, flush_->file);
  const std::string marker = dir() + "/" + CutMarkerName(active.base);
  Status marked;
  if (!cut.ok()) {
    // Tell the next start where to cut, in case no later write gets to retry it.
    marked = env().WriteFileAtomic(marker, std::to_string(active.size));
  } else {
    // Cut: a marker an earlier failure left must not outlive it (the next write, or the
    // clean stop, retries the removal).
    marked = RemoveCutMarker(active);
  }
  needs_cut_ = !cut.ok() || !marked.ok();
  ctx_->Emit(Severity::kError,
             "write to " + active.Path(dir()) + " failed: " + error.message() + "; " +
                 std::to_string(flush_->frames.size() + behind) + " records from offset " +
                 std::to_string(first) +
                 " answered as failed; the log was cut back to its last durable record" +
                 (cut.ok() ? std::string() : " (the cut failed too: " + cut.message() + ")") +
                 " and takes writes again");
  if (!marked.ok() && !cut.ok()) {
    // The batch still fails below, and needs_cut_ has the next write (or the clean stop)
    // retry the cut; without the marker, only a crash before then can bring them back.
    ctx_->Emit(Severity::kError, "cut marker " + marker + " not written: " + marked.message() +
                                     "; until a later write or the clean stop cuts " +
                                     active.Path(dir()) + " back to " +
                                     std::to_string(active.size) +
                                     " bytes, a crash may bring back the records answered as "
                                     "failed");
  } else if (!marked.ok()) {
    ctx_->Emit(Severity::kError, "cut marker " + marker + " not removed: " + marked.message() +
                                     "; writes to " + active.Path(dir()) +
                                     " fail until it is removed (the next write retries)");
  }
  const Status err(Code::kIoError, "write failed: " + error.message());
  {
    std::lock_guard lock(sync_mu_);
    rewinds_.resize(epoch + 1, Rewind{durable_end_, err});  // epochs end one at a time
    std::size_t keep = 0;
    for (auto& w : durable_waiters_) {
      if (w.epoch == epoch) {
        answers.push_back({std::move(w.done), err});
      } else {
        durable_waiters_[keep++] = std::move(w);
      }
    }
    durable_waiters_.resize(keep);
  }
  // (Blocked waiters are woken by FinishFlush, once the write is given back.)
}

}  // namespace cinesis::storage::disk
