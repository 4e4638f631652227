#include "api/json_writer.h"

#include <array>
#include <charconv>
#include <cstring>

#include "common/base64.h"

namespace cinesis::api {

namespace {

// 1 for the bytes JSON requires escaped: controls, '"' and '\\'.
constexpr std::array<std::uint8_t, 256> kNeedsEscape = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  return t;
}();

}  // namespace

char* JsonWriter::EscapedTo(std::string_view s, char* o) {
  *o++ = '"';
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t run = 0;
  auto put = [&o](const char* text, std::size_t len) {
    if (len != 0) std::memcpy(o, text, len);
    o += len;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = p[i];
    if (!kNeedsEscape[c]) [[likely]]
      continue;
    put(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        put("\\\"", 2);
        break;
      case '\\':
        put("\\\\", 2);
        break;
      case '\n':
        put("\\n", 2);
        break;
      case '\r':
        put("\\r", 2);
        break;
      case '\t':
        put("\\t", 2);
        break;
      case '\b':
        put("\\b", 2);
        break;
      case '\f':
        put("\\f", 2);
        break;
      default:
        put("\\u00", 4);
        *o++ = kHex[c >> 4];
        *o++ = kHex[c & 15];
    }
  }
  put(s.data() + run, n - run);
  *o++ = '"';
  return o;
}

void JsonWriter::Escaped(std::string_view s) { Trim(EscapedTo(s, Extend(EscapedBound(s.size())))); }

void JsonWriter::Base64(std::string_view bytes) {
  Sep();
  out_ += '"';
  Base64Encode(bytes, out_);
  out_ += '"';
}

void JsonWriter::Int(std::int64_t v) {
  Sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

void JsonWriter::RawBase64(std::string_view bytes) { Base64Encode(bytes, out_); }

char* JsonWriter::TimestampTo(EpochMillis ms, char* o) {
  std::int64_t sec = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --sec;
  }
  char* end = std::to_chars(o, o + 24, sec).ptr;
  if (frac != 0) {
    *end++ = '.';
    *end++ = static_cast<char>('0' + frac / 100);
    *end++ = static_cast<char>('0' + frac / 10 % 10);
    *end++ = static_cast<char>('0' + frac % 10);
  }
  return end;
}

void JsonWriter::RawTimestamp(EpochMillis ms) { Trim(TimestampTo(ms, Extend(kTimestampBound))); }

}  // namespace cinesis::api
