#include "storage/segment_format.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/crc32c.h"

namespace cinesis::storage::format {
namespace {

constexpr char kSegmentMagic[8] = {'C', 'N', 'S', 'S', 'E', 'G', '0', '1'};
constexpr char kIndexMagic[8] = {'C', 'N', 'S', 'I', 'D', 'X', '0', '1'};
constexpr std::uint32_t kMaskDelta = 0xa282ead8U;

// Checksums are stored masked (rotated and offset), so a CRC computed over data that
// itself embeds CRCs does not degenerate (the LevelDB practice).
std::uint32_t Mask(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

template <typename T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(buf, sizeof(T));
}
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

std::string FileName(Offset base, FileKind kind) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%020llu.%s", static_cast<unsigned long long>(base.value),
                kind == FileKind::kSegment ? "log"
                : kind == FileKind::kIndex ? "idx"
                                           : "cpt");
  return buf;
}

std::optional<ParsedName> ParseFileName(std::string_view name) {
  if (name.size() != 24 || name[20] != '.') return std::nullopt;
  auto ext = name.substr(21);
  FileKind kind;
  if (ext == "log") {
    kind = FileKind::kSegment;
  } else if (ext == "idx") {
    kind = FileKind::kIndex;
  } else if (ext == "cpt") {
    kind = FileKind::kCheckpoint;
  } else {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  auto digits = name.substr(0, 20);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return ParsedName{Offset{v}, kind};
}

std::string LogDirName(LogId id) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id.value));
  return buf;
}

std::optional<LogId> ParseLogDirName(std::string_view name) {
  if (name.size() != 16) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v, 16);
  if (ec != std::errc() || p != name.data() + name.size()) return std::nullopt;
  if (name != LogDirName(LogId{v})) return std::nullopt;  // canonical spelling only
  return LogId{v};
}

std::string SegmentHeader(Offset base) {
  std::string h(kSegmentMagic, sizeof kSegmentMagic);
  Put<std::uint64_t>(h, base.value);
  return h;
}

std::optional<Offset> ParseSegmentHeader(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderSize || std::memcmp(bytes.data(), kSegmentMagic, 8) != 0)
    return std::nullopt;
  return Offset{Get<std::uint64_t>(bytes.data() + 8)};
}

void AppendFrame(std::string& out, std::uint64_t offset, EpochMillis arrival_ms,
                 const AppendRecord& r) {
  const std::size_t body = kBodyFixedSize + r.key.size() + r.explicit_key.size() + r.data.size();
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderSize);  // header filled in below
  Put<std::uint64_t>(out, offset);
  Put<std::int64_t>(out, arrival_ms);
  Put<std::uint16_t>(out, static_cast<std::uint16_t>(r.key.size()));
  Put<std::uint16_t>(out, static_cast<std::uint16_t>(r.explicit_key.size()));
  Put<std::uint32_t>(out, static_cast<std::uint32_t>(r.data.size()));
  out.append(r.key);
  out.append(r.explicit_key);
  out.append(r.data);
  const std::uint32_t len = static_cast<std::uint32_t>(body);
  const std::uint32_t crc = Mask(Crc32c(0, out.data() + start + kFrameHeaderSize, body));
  std::memcpy(out.data() + start, &len, 4);
  std::memcpy(out.data() + start + 4, &crc, 4);
}

std::size_t FrameSizeFromHeader(std::string_view bytes) {
  const auto len = Get<std::uint32_t>(bytes.data());
  if (len < kBodyFixedSize || len > kMaxBodySize) return 0;
  return kFrameHeaderSize + len;
}

FrameStatus DecodeFrame(std::string_view bytes, DecodedFrame& out) {
  if (bytes.size() < kFrameHeaderSize) return FrameStatus::kIncomplete;
  const std::size_t size = FrameSizeFromHeader(bytes);
  if (size == 0) return FrameStatus::kCorrupt;
  if (bytes.size() < size) return FrameStatus::kIncomplete;
  const char* body = bytes.data() + kFrameHeaderSize;
  const std::size_t body_len = size - kFrameHeaderSize;
  if (Mask(Crc32c(0, body, body_len)) != Get<std::uint32_t>(bytes.data() + 4))
    return FrameStatus::kCorrupt;
  const auto key_len = Get<std::uint16_t>(body + 16);
  const auto ek_len = Get<std::uint16_t>(body + 18);
  const auto data_len = Get<std::uint32_t>(body + 20);
  if (kBodyFixedSize + key_len + ek_len + std::size_t{data_len} != body_len)
    return FrameStatus::kCorrupt;
  const char* p = body + kBodyFixedSize;
  out.record = RecordView{Offset{Get<std::uint64_t>(body)},
                          Get<std::int64_t>(body + 8),
                          {p, key_len},
                          {p + key_len, ek_len},
                          {p + key_len + ek_len, data_len}};
  out.size = size;
  return FrameStatus::kOk;
}

IntactFrames FindIntactFrames(std::string_view bytes, std::uint64_t min_offset) {
  IntactFrames found;
  std::size_t i = 0;
  while (i + kFrameHeaderSize + kBodyFixedSize <= bytes.size()) {
    const std::string_view rest = bytes.substr(i);
    const std::size_t size = FrameSizeFromHeader(rest);
    // Cheap checks before the checksum: the frame fits, and its offset is plausible (at or
    // after `min_offset`, and not more frames ahead than there are bytes left).
    const std::uint64_t offset = Get<std::uint64_t>(rest.data() + kFrameHeaderSize);
    DecodedFrame frame;
    if (size != 0 && size <= rest.size() && offset >= min_offset &&
        offset - min_offset <= bytes.size() / (kFrameHeaderSize + kBodyFixedSize) &&
        DecodeFrame(rest, frame) == FrameStatus::kOk) {
      if (found.count == 0) found.first = offset;
      found.last = offset;
      ++found.count;
      i += frame.size;
    } else {
      ++i;
    }
  }
  return found;
}

std::string EncodeIndex(const SealedIndex& index) {
  std::string out(kIndexMagic, sizeof kIndexMagic);
  for (const auto& e : index.entries) {
    Put<std::uint64_t>(out, e.offset);
    Put<std::uint64_t>(out, e.position);
    Put<std::int64_t>(out, e.arrival_ms);
  }
  Put<std::uint64_t>(out, index.end_offset);
  Put<std::uint64_t>(out, index.segment_size);
  Put<std::int64_t>(out, index.first_arrival);
  Put<std::int64_t>(out, index.last_arrival);
  Put<std::uint64_t>(out, index.entries.size());
  Put<std::uint32_t>(out, Mask(Crc32c(out)));
  return out;
}

std::optional<SealedIndex> DecodeIndex(std::string_view bytes) {
  constexpr std::size_t kFooter = 40 + 4;
  if (bytes.size() < sizeof kIndexMagic + kFooter ||
      std::memcmp(bytes.data(), kIndexMagic, 8) != 0) {
    return std::nullopt;
  }
  const std::size_t crc_at = bytes.size() - 4;
  if (Mask(Crc32c(bytes.substr(0, crc_at))) != Get<std::uint32_t>(bytes.data() + crc_at))
    return std::nullopt;
  const char* f = bytes.data() + bytes.size() - kFooter;
  SealedIndex idx;
  idx.end_offset = Get<std::uint64_t>(f);
  idx.segment_size = Get<std::uint64_t>(f + 8);
  idx.first_arrival = Get<std::int64_t>(f + 16);
  idx.last_arrival = Get<std::int64_t>(f + 24);
  const auto count = Get<std::uint64_t>(f + 32);
  if (count * 24 != bytes.size() - sizeof kIndexMagic - kFooter) return std::nullopt;
  const char* p = bytes.data() + sizeof kIndexMagic;
  idx.entries.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i, p += 24) {
    idx.entries.push_back(
        {Get<std::uint64_t>(p), Get<std::uint64_t>(p + 8), Get<std::int64_t>(p + 16)});
  }
  return idx;
}

}  // namespace cinesis::storage::format
