#include "api/json_writer.h"

#include <array>
#include <charconv>

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

void JsonWriter::Escaped(std::string_view s) {
  out_ += '"';
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t run = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = p[i];
    if (!kNeedsEscape[c]) [[likely]]
      continue;
    out_.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      case '\b':
        out_ += "\\b";
        break;
      case '\f':
        out_ += "\\f";
        break;
      default:
        out_ += "\\u00";
        out_ += kHex[c >> 4];
        out_ += kHex[c & 15];
    }
  }
  out_.append(s.data() + run, n - run);
  out_ += '"';
}

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

void JsonWriter::RawTimestamp(EpochMillis ms) {
  std::int64_t sec = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --sec;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + 32, sec);
  char* end = r.ptr;
  if (frac != 0) {
    *end++ = '.';
    *end++ = static_cast<char>('0' + frac / 100);
    *end++ = static_cast<char>('0' + frac / 10 % 10);
    *end++ = static_cast<char>('0' + frac % 10);
  }
  out_.append(buf, end);
}

}  // namespace cinesis::api
