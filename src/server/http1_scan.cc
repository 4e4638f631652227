#include "server/http1_scan.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cinesis::server::http1 {

namespace {

// RFC 9110 5.6.2: tchar.
constexpr std::array<bool, 256> MakeTchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = MakeTchar();

bool AllTchar(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kTchar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// True when every byte of [p, p + n) is SP, HTAB or visible ASCII (no other control, no
// DEL, no obs-text).
bool AllText(const char* p, std::size_t n) {
#if defined(__SSE2__)
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i sp = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (n >= 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: the bytes 0x80..0xff are negative, so below SP too.
    const __m128i ctl = _mm_andnot_si128(_mm_cmpeq_epi8(b, tab), _mm_cmplt_epi8(b, sp));
    if (_mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(b, del))) != 0) return false;
    p += 16;
    n -= 16;
  }
#endif
  for (; n > 0; --n, ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if ((c < 0x20 && c != '\t') || c >= 0x7f) return false;
  }
  return true;
}

// Two tchar names of the same size, compared without case.
bool SameName(std::string_view a, std::string_view b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y && ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z')) return false;
  }
  return true;
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool NameIs(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if ((static_cast<unsigned char>(name[i]) | 0x20) != static_cast<unsigned char>(lower[i]))
      return false;
  }
  return true;
}

ScanResult ScanRequest(std::string_view buffered, const ScanLimits& limits, ScannedRequest& out) {
  const char* const begin = buffered.data();
  const std::size_t window = std::min(buffered.size(), limits.max_header_bytes);
  const char* const head_end = begin + window;  // the head's last byte lies before this
  // Where the head could not be complete yet: more may make it one, unless the head limit is
  // reached already (Beast answers that).
  const ScanResult incomplete =
      buffered.size() >= limits.max_header_bytes ? ScanResult::kNotMine : ScanResult::kNeedMore;

  // The request line.
  const char* p = begin;
  const auto* lf = static_cast<const char*>(std::memchr(p, '\n', window));
  if (lf == nullptr) return incomplete;
  if (lf == p || lf[-1] != '\r') return ScanResult::kNotMine;
  std::string_view line(p, static_cast<std::size_t>(lf - 1 - p));
  if (!AllText(line.data(), line.size())) return ScanResult::kNotMine;
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return ScanResult::kNotMine;
  out.method = line.substr(0, sp1);
  if (!AllTchar(out.method)) return ScanResult::kNotMine;
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return ScanResult::kNotMine;
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (out.target.empty() || out.target.front() != '/' ||
      out.target.find('\t') != std::string_view::npos) {
    return ScanResult::kNotMine;
  }
  const std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    out.version = 11;
  } else if (version == "HTTP/1.0") {
    out.version = 10;
  } else {
    return ScanResult::kNotMine;
  }
  p = lf + 1;

  // The header fields, up to the empty line.
  out.field_count = 0;
  bool has_length = false, close = false, keep_alive = false;
  std::uint64_t length = 0;
  for (;;) {
    lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(head_end - p)));
    if (lf == nullptr) return incomplete;
    if (lf == p || lf[-1] != '\r') return ScanResult::kNotMine;  // a bare LF
    if (lf - p == 1) {
      p = lf + 1;
      break;
    }
    line = std::string_view(p, static_cast<std::size_t>(lf - 1 - p));
    p = lf + 1;
    if (!AllText(line.data(), line.size())) return ScanResult::kNotMine;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return ScanResult::kNotMine;
    const std::string_view name = line.substr(0, colon);
    if (!AllTchar(name)) return ScanResult::kNotMine;  // also obs-fold and an empty name
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && IsOws(value.front())) value.remove_prefix(1);
    while (!value.empty() && IsOws(value.back())) value.remove_suffix(1);
    if (out.field_count == kMaxScanFields) return ScanResult::kNotMine;
    // Beast lists a repeated name next to its first occurrence (not in arrival order), and
    // merges some (Content-Length): a repeated name is Beast's.
    for (std::size_t i = 0; i < out.field_count; ++i) {
      const std::string_view seen = out.fields[i].name;
      if (seen.size() == name.size() && SameName(seen, name)) return ScanResult::kNotMine;
    }
    out.fields[out.field_count++] = ScanField{name, value};
    // The fields that change Beast's framing or the connection's semantics.
    switch (name.size()) {
      case 6:
        if (NameIs(name, "expect")) return ScanResult::kNotMine;
        break;
      case 7:
        if (NameIs(name, "upgrade")) return ScanResult::kNotMine;
        break;
      case 10:
        if (NameIs(name, "connection")) {
          if (NameIs(value, "close")) {
            close = true;
          } else if (NameIs(value, "keep-alive")) {
            keep_alive = true;
          } else {
            return ScanResult::kNotMine;
          }
        }
        break;
      case 14:
        if (NameIs(name, "content-length")) {
          if (value.empty() || value.size() > 15) return ScanResult::kNotMine;
          has_length = true;
          for (char c : value) {
            if (c < '0' || c > '9') return ScanResult::kNotMine;
            length = length * 10 + static_cast<unsigned>(c - '0');
          }
        } else if (NameIs(name, "http2-settings")) {
          return ScanResult::kNotMine;
        }
        break;
      case 16:
        if (NameIs(name, "proxy-connection")) return ScanResult::kNotMine;
        break;
      case 17:
        if (NameIs(name, "transfer-encoding")) return ScanResult::kNotMine;
        break;
      default:
        break;
    }
  }
  if (!has_length || length > limits.max_body_bytes) return ScanResult::kNotMine;
  const auto head = static_cast<std::size_t>(p - begin);
  if (buffered.size() - head < length) return ScanResult::kNeedMore;
  out.body = std::string_view(p, static_cast<std::size_t>(length));
  out.keep_alive = out.version == 11 ? !close : keep_alive;
  out.size = head + static_cast<std::size_t>(length);
  return ScanResult::kComplete;
}

}  // namespace cinesis::server::http1
