// The on-disk format of log segments and their index files (docs/storage-format.md).
// Names are built and parsed by one pair of functions; frames are encoded and decoded
// by one pair too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "storage/log.h"

namespace cinesis::storage::format {

// kSegment: the records; kIndex: a sealed segment's index; kCheckpoint: the active
// segment's index as of a clean shutdown (same encoding as kIndex), consumed at the next start.
enum class FileKind { kSegment, kIndex, kCheckpoint };

// "00000000000000001234.log" / ".idx" / ".cpt": the base offset, zero-padded to 20 digits.
std::string FileName(Offset base, FileKind kind);
struct ParsedName {
  Offset base;
  FileKind kind;
};
std::optional<ParsedName> ParseFileName(std::string_view name);

// Log directory of a log id: 16 hex digits (never a stream name).
std::string LogDirName(LogId id);
std::optional<LogId> ParseLogDirName(std::string_view name);

// Segment header: magic "CNSSEG01", base offset (u64 LE). 16 bytes.
inline constexpr std::size_t kSegmentHeaderSize = 16;
std::string SegmentHeader(Offset base);
std::optional<Offset> ParseSegmentHeader(std::string_view bytes);

// Record frame: u32 body length, u32 masked CRC-32C of the body, then the body:
//   u64 offset | i64 arrival ms | u16 key len | u16 explicit key len | u32 data len |
//   key | explicit key | data
inline constexpr std::size_t kFrameHeaderSize = 8;
inline constexpr std::size_t kBodyFixedSize = 24;
inline constexpr std::size_t kMaxBodySize = kBodyFixedSize + 512 + 64 + (16U << 20);

void AppendFrame(std::string& out, std::uint64_t offset, EpochMillis arrival_ms,
                 const AppendRecord& r);
inline std::size_t FrameSize(const AppendRecord& r) {
  return kFrameHeaderSize + kBodyFixedSize + r.key.size() + r.explicit_key.size() + r.data.size();
}

enum class FrameStatus { kOk, kIncomplete, kCorrupt };

// Frames that still verify (length, layout, checksum) inside damaged bytes, found by trying
// every byte position: what a cut after a damaged frame would otherwise throw away unseen.
// Only frames whose offset is at least `min_offset` count.
struct IntactFrames {
  std::size_t count = 0;
  std::uint64_t first = 0;  // offsets of the first and last intact frame found
  std::uint64_t last = 0;
};
IntactFrames FindIntactFrames(std::string_view bytes, std::uint64_t min_offset);
struct DecodedFrame {
  RecordView record;
  std::size_t size = 0;  // whole frame, header included
};
// Decodes the frame at the start of `bytes`. kIncomplete: `bytes` ends inside the frame
// (read more, or a torn tail); kCorrupt: a length out of range or a checksum mismatch.
FrameStatus DecodeFrame(std::string_view bytes, DecodedFrame& out);
// Bytes needed to decode the frame starting at `bytes` (>= 8 bytes given), or 0 if the
// length field is out of range.
std::size_t FrameSizeFromHeader(std::string_view bytes);

// Sparse index entry: the frame of `offset` starts at byte `position` of the segment.
struct IndexEntry {
  std::uint64_t offset;
  std::uint64_t position;
  EpochMillis arrival_ms;
};
// Index file of a sealed segment: magic "CNSIDX01", entries, then a footer
// (end offset, segment size, first and last arrival, entry count) and a CRC-32C of all.
struct SealedIndex {
  std::vector<IndexEntry> entries;
  std::uint64_t end_offset = 0;
  std::uint64_t segment_size = 0;
  EpochMillis first_arrival = 0;
  EpochMillis last_arrival = 0;
};
std::string EncodeIndex(const SealedIndex& index);
std::optional<SealedIndex> DecodeIndex(std::string_view bytes);

}  // namespace cinesis::storage::format
