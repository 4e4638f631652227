// Recovery: opens a durable log at start from the files in its directory, before the log is
// shared with any other thread (so it takes no lock).
//
// Offsets: every segment is verified (a sealed one through its index file when that matches
// the file; the active one through the checkpoint of a clean shutdown, or by a scan); a torn
// tail is cut, damage cuts the segment before it. Nothing holding records is deleted: cut
// bytes are copied, and unusable segments moved, under quarantine/. Offsets that may have
// been set aside are never handed out again: new records then start in a new segment above
// them (a gap readers step over).
// Durability: cuts are synced before the log takes writes; a "<base>.cut" marker left by a
// failed write whose cut failed is applied first; a checkpoint is read once and removed.
// Findings go to the EventSink and to the caller's report, one line each.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/disk_storage_impl.h"
#include "storage/env.h"
#include "storage/segment_format.h"

namespace cinesis::storage::disk {

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

Result<std::uint64_t> DiskLog::ZeroTailStart(const File& file, std::uint64_t from) {
  std::uint64_t end = file.Size();
  std::string buf;
  while (end > from) {
    const std::uint64_t at = end - std::min<std::uint64_t>(end - from, 64 << 10);
    buf.resize(static_cast<std::size_t>(end - at));
    ASSIGN_OR_RETURN(std::size_t n, file.ReadAt(at, buf.data(), buf.size()));
    if (n < buf.size()) return Status(Code::kIoError, "short read at byte " + std::to_string(at));
    const auto last = buf.find_last_not_of('\0');
    if (last != std::string::npos) return at + last + 1;
    end = at;
  }
  return end;
}

Result<bool> DiskLog::TornIntoZeros(const File& file, std::uint64_t pos, std::uint64_t zeros) {
  char header[format::kFrameHeaderSize];
  ASSIGN_OR_RETURN(std::size_t n, file.ReadAt(pos, header, sizeof header));
  if (n < sizeof header) return false;
  std::uint32_t length = 0;
  std::memcpy(&length, header, sizeof length);  // little-endian, as the format
  if (length < format::kBodyFixedSize || length > format::kMaxBodySize) return false;
  const std::uint64_t frame_end = pos + format::kFrameHeaderSize + length;
  constexpr std::uint64_t kBlock = 512;
  const std::uint64_t first_zero_block = (zeros + kBlock - 1) / kBlock * kBlock;
  if (zeros <= pos || first_zero_block >= frame_end) return false;
  // A frame that verifies (out of sequence, or back in time) is damage, whatever it holds.
  std::string frame(static_cast<std::size_t>(frame_end - pos), '\0');
  ASSIGN_OR_RETURN(n, file.ReadAt(pos, frame.data(), frame.size()));
  frame.resize(n);
  format::DecodedFrame decoded;
  return format::DecodeFrame(frame, decoded) != format::FrameStatus::kOk;
}

Result<std::string> DiskLog::SetAsideTail(const LogContext& ctx, const std::string& dir,
                                          Segment& seg, std::uint64_t from,
                                          std::optional<std::uint64_t> until) {
  const std::uint64_t size = std::min(seg.file->Size(), until.value_or(UINT64_MAX));
  std::string bytes(static_cast<std::size_t>(size - from), '\0');
  ASSIGN_OR_RETURN(std::size_t n, seg.file->ReadAt(from, bytes.data(), bytes.size()));
  bytes.resize(n);
  RETURN_IF_ERROR(ctx.env->MakeDirs(ctx.quarantine_dir));
  const std::string name = format::FileName(seg.base, format::FileKind::kSegment);
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

Result<std::shared_ptr<DiskLog>> DiskLog::Recover(const Context& shared, LogId id, Flusher* flusher,
                                                  std::vector<std::string>* report) {
  auto log = std::make_shared<DiskLog>(shared, id, flusher);
  RETURN_IF_ERROR(log->RecoverInto(report));
  return log;
}

std::shared_ptr<DiskLog> DiskLog::Unopened(const Context& shared, LogId id, Flusher* flusher) {
  auto log = std::make_shared<DiskLog>(shared, id, flusher);
  log->opened_.store(false, std::memory_order_relaxed);
  return log;
}

Status DiskLog::EnsureOpen() const {
  // open_error_ is written once, before opened_ is set (release): readable after it.
  if (opened_.load(std::memory_order_acquire)) return OpenError();
  std::lock_guard lock(open_mu_);
  if (opened_.load(std::memory_order_relaxed)) return OpenError();
  // Nobody else uses the log's fields until opened_ is set: every call waits here first.
  auto* self = const_cast<DiskLog*>(this);
  std::vector<std::string> found;
  Status st = self->RecoverInto(&found);
  if (st.ok()) {
    self->ReleaseRecoveryFiles();
    if (const EpochMillis ms = deferred_trim_.load(std::memory_order_relaxed); ms > 0)
      self->TrimOpened(ms);
  } else {
    ctx_->Emit(Severity::kError, "log " + dir() + " cannot be opened: " + st.ToString() +
                                     " (it reads as empty and refuses appends)");
    // Readers need one segment; nothing is visible in it.
    self->segments_.clear();
    auto seg = std::make_shared<Segment>();
    seg->unreadable = true;
    self->segments_.push_back(std::move(seg));
    self->next_offset_ = self->durable_end_ = self->visible_end_ = 0;
    self->closed_ = true;
    self->io_error_ = st;
    self->open_error_ = std::make_unique<Status>(st);
  }
  opened_.store(true, std::memory_order_release);
  return OpenError();
}

Status DiskLog::RecoverInto(std::vector<std::string>* report) {
  const LogContext& ctx = *ctx_;
  Env& env = *ctx.env;
  const DiskOptions& opts = ctx.opts;
  const std::string dir = this->dir();
  DiskLog* log = this;
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
        // Durably gone before new writes are acknowledged past `durable`.
        RETURN_IF_ERROR(env.Remove(marker));
        if (opts.fsync) RETURN_IF_ERROR(env.SyncDir(dir));
      }
    }
    if (!loaded && last && checkpoint) loaded = LoadCheckpoint(*seg, *checkpoint, opts);
    if (!loaded) {
      const std::uint64_t file_size = seg->file->Size();
      ScanStop stop = ScanStop::kEnd;
      const std::uint64_t valid = Scan(*seg, opts, &stop);
      // Preallocated space (DiskOptions::preallocate_bytes) ends the file with zeros.
      std::uint64_t zeros = file_size;
      if (valid < file_size) {
        ASSIGN_OR_RETURN(zeros, ZeroTailStart(*seg->file, valid));
        if (stop == ScanStop::kDamaged && zeros < file_size) {
          ASSIGN_OR_RETURN(const bool torn, TornIntoZeros(*seg->file, valid, zeros));
          if (torn) stop = ScanStop::kTorn;
        }
      }
      if (valid < file_size && zeros == valid) {
        // Nothing was written past the last record: cut the zeros off, nothing to report.
        RETURN_IF_ERROR(seg->file->Truncate(valid));
        RETURN_IF_ERROR(seg->file->Sync());
        (void)env.Remove(dir + "/" + format::FileName(Offset{base}, format::FileKind::kIndex));
      } else if (valid < file_size) {
        // Copy what is cut before cutting it: a torn write holds only records that were
        // never acknowledged, but damage may be followed by intact, acknowledged records.
        // Only damage stops the start when the copy fails (e.g. the disk is full).
        auto copied = SetAsideTail(ctx, dir, *seg, valid, zeros);
        if (!copied.ok() && stop != ScanStop::kTorn) return copied.status();
        const std::string kept =
            copied.ok() ? *copied : "not copied: " + copied.status().ToString();
        // Bytes written (the preallocated zeros after them held nothing).
        const std::string cut = std::to_string(zeros - valid) + " bytes" +
                                (zeros < file_size ? " (and " + std::to_string(file_size - zeros) +
                                                         " bytes of preallocated zeros)"
                                                   : "");
        if (stop == ScanStop::kTorn) {
          note(Severity::kWarning,
               "cut a torn write of " + cut + " at byte " + std::to_string(valid) + " of " + path +
                   " (offset " + std::to_string(seg->end) + " on, never acknowledged); " + kept);
        } else {
          note(Severity::kError, "corruption at byte " + std::to_string(valid) + " of " + path +
                                     " (offset " + std::to_string(seg->end) + "): cut " + cut +
                                     "; " + kept);
        }
        RETURN_IF_ERROR(seg->file->Truncate(valid));
        RETURN_IF_ERROR(seg->file->Sync());
        // Its index (if sealed) describes the old size: rewritten below.
        (void)env.Remove(dir + "/" + format::FileName(Offset{base}, format::FileKind::kIndex));
        if (stop != ScanStop::kTorn) floor = std::max(floor, bound(seg->end, zeros - valid));
      }
    }
    seg->sealed = !last;
    log->segments_.push_back(seg);
  }
  // New records go above every offset set aside: a new segment starts there (a gap). They
  // also never go into a sealed segment (the last file was removed or set aside): one trusted
  // through its index was not scanned, and a damaged record in it would stop every read of
  // the records appended behind it.
  const std::uint64_t tail_end = log->segments_.empty() ? 0 : log->segments_.back()->end;
  if (log->segments_.empty() || floor > tail_end || log->segments_.back()->sealed) {
    const std::uint64_t next = std::max(floor, tail_end);
    if (next > tail_end) {
      note(Severity::kError, "offsets " + std::to_string(tail_end) + ".." +
                                 std::to_string(next - 1) +
                                 " may have been set aside; new records start at offset " +
                                 std::to_string(next) + ", so no sequence number is reused");
    }
    ASSIGN_OR_RETURN(auto seg, log->NewSegment(Offset{next}, opts.fsync));
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
  return Status::Ok();
}

}  // namespace cinesis::storage::disk
