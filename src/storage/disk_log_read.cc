// The read path of a durable log: reads, offsets by time, and retention (TrimBefore).
//
// Offsets: a read starts at max(from, StartOffset()) and steps over gaps (offsets recovery
// set aside) to the next segment. Visibility: only records below visible_end_ are read, so
// nothing that is not yet durable is ever served. A record that fails its checksum stops the
// read with Corruption and is reported (path and offset) once through the EventSink.
// Threading: any thread, concurrently with each other and with the log's writer. Locks
// (disk_storage_impl.h): reads hold mu_ shared for their whole duration (segment files are
// opened through the FileCache and held for one segment only); TrimBefore takes mu_
// exclusively to drop whole sealed segments, then removes their files with no lock held;
// sync_mu_ guards the set of corruptions already reported.
#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/disk_storage_impl.h"
#include "storage/segment_format.h"

namespace cinesis::storage::disk {

Offset DiskLog::StartOffset() const {
  (void)EnsureOpen();
  std::shared_lock lock(mu_);
  return segments_.front()->base;
}

Offset DiskLog::EndOffset() const {
  (void)EnsureOpen();
  std::shared_lock lock(mu_);
  return Offset{visible_end_};
}

std::optional<EpochMillis> DiskLog::LastArrival() const {
  (void)EnsureOpen();
  std::shared_lock lock(mu_);
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    if (!(*it)->empty()) return (*it)->last_arrival;
  }
  return std::nullopt;
}

void DiskLog::ReleaseRecoveryFiles() {
  std::unique_lock lock(mu_);
  for (auto& seg : segments_) {
    if (seg->file) files().Insert(seg->key, std::move(seg->file));
  }
}

void DiskLog::ForgetFiles() {
  if (!opened()) return;  // nothing of it in the cache
  std::shared_lock lock(mu_);
  for (const auto& seg : segments_) files().Erase(seg->key);
}

void DiskLog::ReportCorruption(const Segment& seg, std::uint64_t offset) const {
  {
    std::lock_guard lock(sync_mu_);
    if (!reported_)
      reported_ = std::make_unique<std::set<std::pair<std::uint64_t, std::uint64_t>>>();
    if (!reported_->insert({seg.base.value, offset}).second) return;
  }
  ctx_->Emit(Severity::kError, "corrupt record at offset " + std::to_string(offset) + " in " +
                                   seg.Path(dir()) + ": reads of this shard stop there");
}

std::shared_ptr<Segment> DiskLog::SegmentFor(std::uint64_t offset) const {
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), offset,
      [](std::uint64_t o, const std::shared_ptr<Segment>& s) { return o < s->base.value; });
  return it == segments_.begin() ? nullptr : *(it - 1);
}

Result<ReadResult> DiskLog::Read(Offset from, std::size_t max_records, const RecordVisitor& visit,
                                 EpochMillis not_before_ms) const {
  RETURN_IF_ERROR(EnsureOpen());
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
        return Status(Code::kCorruption, "corrupt record at offset " + std::to_string(cur) +
                                             " in " + seg->Path(dir()));
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
  (void)EnsureOpen();
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
  if (!opened()) {
    // Retention of an idle log does not open it: applied when something does.
    EpochMillis seen = deferred_trim_.load(std::memory_order_relaxed);
    while (ms > seen && !deferred_trim_.compare_exchange_weak(seen, ms)) {
    }
    if (!opened()) return;
  }
  TrimOpened(ms);
}

void DiskLog::TrimOpened(EpochMillis ms) {
  std::vector<std::shared_ptr<Segment>> removed;
  {
    std::unique_lock lock(mu_);
    std::size_t n = 0;
    while (segments_.size() - n > 1 && segments_[n]->sealed &&
           (segments_[n]->empty() || segments_[n]->last_arrival < ms)) {
      removed.push_back(segments_[n++]);
    }
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  const std::string dir = this->dir();
  for (const auto& seg : removed) {
    files().Erase(seg->key);
    (void)env().Remove(seg->Path(dir));
    (void)env().Remove(dir + "/" + format::FileName(seg->base, format::FileKind::kIndex));
  }
}

}  // namespace cinesis::storage::disk
