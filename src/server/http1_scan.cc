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

// The end of the tchar run starting at `p` (bounded: the line ends in CR, not a tchar).
const char* SkipTchar(const char* p) {
  const auto t = [](const char* q) { return kTchar[static_cast<unsigned char>(*q)]; };
  while (t(p) && t(p + 1) && t(p + 2) && t(p + 3)) p += 4;  // stops at the CR at the latest
  while (t(p)) ++p;
  return p;
}

// The first byte of [p, end) that is not SP, HTAB or visible ASCII (a control such as CR
// or LF, DEL, obs-text), or `end`: where a line of text ends, or goes wrong.
const char* FirstNonText(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i sp = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: the bytes 0x80..0xff are negative, so below SP too.
    const __m128i ctl = _mm_andnot_si128(_mm_cmpeq_epi8(b, tab), _mm_cmplt_epi8(b, sp));
    const auto bad =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(b, del))));
    if (bad != 0) return p + __builtin_ctz(bad);
    p += 16;
  }
#endif
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if ((c < 0x20 && c != '\t') || c >= 0x7f) return p;
  }
  return end;
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
  // Eight bytes at a time: setting bit 0x20 lowers a letter and keeps a digit or '-'.
  const auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
  };
  constexpr std::uint64_t kLower = 0x2020202020202020ull;
  const std::size_t n = name.size();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      if ((word(name.data() + i) | kLower) != word(lower.data() + i)) return false;
    }
    return (word(name.data() + n - 8) | kLower) == word(lower.data() + n - 8);
  }
  for (std::size_t i = 0; i < n; ++i) {
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

  // The line starting at `p`, text up to CRLF within the head's limit; kComplete when it is
  // one, else what to answer.
  std::string_view line;
  const auto next_line = [&](const char* p) {
    const char* cr = FirstNonText(p, head_end);
    if (cr == head_end) return incomplete;
    if (*cr != '\r') return ScanResult::kNotMine;  // a bare LF, another control, obs-text
    if (cr + 1 == head_end) return incomplete;
    if (cr[1] != '\n') return ScanResult::kNotMine;
    line = std::string_view(p, static_cast<std::size_t>(cr - p));
    return ScanResult::kComplete;
  };

  // The request line.
  const char* p = begin;
  if (const auto r = next_line(p); r != ScanResult::kComplete) return r;
  const auto sp1 = static_cast<std::size_t>(SkipTchar(p) - p);
  if (sp1 == 0 || p[sp1] != ' ') return ScanResult::kNotMine;
  out.method = line.substr(0, sp1);
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
  p = line.data() + line.size() + 2;

  // The header fields, up to the empty line.
  out.field_count = 0;
  out.known_mask = 0;
  bool has_length = false, close = false, keep_alive = false;
  std::uint32_t sizes_seen = 0;
  std::uint64_t length = 0;
  for (;;) {
    if (const auto r = next_line(p); r != ScanResult::kComplete) return r;
    p = line.data() + line.size() + 2;
    if (line.empty()) break;
    // The name: tchar up to the colon (an empty one is refused: also obs-fold).
    const auto colon = static_cast<std::size_t>(SkipTchar(line.data()) - line.data());
    if (colon == 0 || line.data()[colon] != ':') return ScanResult::kNotMine;
    const std::string_view name = line.substr(0, colon);
    const char* v = line.data() + colon + 1;
    const char* v_end = line.data() + line.size();
    if (v != v_end && *v == ' ') ++v;  // the usual single space
    while (v != v_end && IsOws(*v)) ++v;
    while (v != v_end && IsOws(v_end[-1])) --v_end;
    const std::string_view value(v, static_cast<std::size_t>(v_end - v));
    if (out.field_count == kMaxScanFields) return ScanResult::kNotMine;
    // Beast lists a repeated name next to its first occurrence (not in arrival order), and
    // merges some (Content-Length): a repeated name is Beast's. Names are compared only
    // when one of the same size (mod 32) was seen.
    const std::uint32_t size_bit = 1u << (name.size() % 32);
    if ((sizes_seen & size_bit) != 0) {
      for (std::size_t i = 0; i < out.field_count; ++i) {
        const std::string_view seen = out.fields[i].name;
        if (seen.size() == name.size() && SameName(seen, name)) return ScanResult::kNotMine;
      }
    }
    sizes_seen |= size_bit;
    out.fields[out.field_count++] = ScanField{name, value};
    // The fields that change Beast's framing or the connection's semantics, and those the
    // server reads (each name is there once at most).
    const auto known = [&](Known k) {
      out.known[static_cast<std::size_t>(k)] = value;
      out.known_mask |= 1u << static_cast<unsigned>(k);
    };
    switch (name.size()) {
      case 4:
        if (NameIs(name, "host")) {
          known(Known::kHost);
        } else if (NameIs(name, "date")) {
          known(Known::kDate);
        }
        break;
      case 6:
        if (NameIs(name, "expect")) return ScanResult::kNotMine;
        if (NameIs(name, "origin")) known(Known::kOrigin);
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
        } else if (NameIs(name, "x-amz-date")) {
          known(Known::kAmzDate);
        }
        break;
      case 12:
        if (NameIs(name, "x-amz-target")) {
          known(Known::kAmzTarget);
        } else if (NameIs(name, "content-type")) {
          known(Known::kContentType);
        }
        break;
      case 13:
        if (NameIs(name, "authorization")) {
          known(Known::kAuthorization);
        } else if (NameIs(name, "if-none-match")) {
          known(Known::kIfNoneMatch);
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
      case 29:
        if (NameIs(name, "access-control-request-method")) known(Known::kAcrm);
        break;
      case 30:
        if (NameIs(name, "access-control-request-headers")) known(Known::kAcrh);
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
