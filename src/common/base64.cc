#include "common/base64.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace cinesis {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xFF;
constexpr std::uint8_t kPad = 0xFE;

constexpr std::array<std::uint8_t, 256> MakeDecodeTable() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<std::uint8_t>(kAlphabet[i])] = i;
  t['='] = kPad;
  return t;
}
constexpr auto kDecode = MakeDecodeTable();

// The two characters of every 12-bit value.
constexpr std::array<std::array<char, 2>, 4096> kPairs = [] {
  std::array<std::array<char, 2>, 4096> t{};
  for (std::size_t v = 0; v < 4096; ++v) t[v] = {kAlphabet[v >> 6], kAlphabet[v & 63]};
  return t;
}();

}  // namespace

char* Base64EncodeTo(std::string_view in, char* o) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  // Two characters per lookup: 12 bits of input at a time.
  for (; i + 3 <= n; i += 3) {
    std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    std::memcpy(o, kPairs[v >> 12].data(), 2);
    std::memcpy(o + 2, kPairs[v & 0xFFF].data(), 2);
    o += 4;
  }
  if (std::size_t rest = n - i; rest > 0) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (rest == 2) v |= std::uint32_t{p[i + 1]} << 8;
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  return o;
}

void Base64Encode(std::string_view in, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + Base64EncodedSize(in.size()));
  Base64EncodeTo(in, out.data() + start);
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  Base64Encode(in, out);
  return out;
}

namespace {

// Decodes every group but the last, assuming they hold only alphabet characters (no '=').
// Returns false, having written garbage, if one of them holds anything else.
bool DecodeBody(const std::uint8_t* p, std::size_t n, std::uint8_t* o) {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i + 4 < n; i += 4) {
    const std::uint32_t a = kDecode[p[i]], b = kDecode[p[i + 1]], c = kDecode[p[i + 2]],
                        d = kDecode[p[i + 3]];
    bad |= a | b | c | d;  // kInvalid and kPad have the top bits set, characters never
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    o[0] = static_cast<std::uint8_t>(v >> 16);
    o[1] = static_cast<std::uint8_t>(v >> 8);
    o[2] = static_cast<std::uint8_t>(v);
    o += 3;
  }
  return (bad & 0xC0) == 0;
}

// The character starting at `in[i]` as the error text names it: a whole UTF-8 sequence
// when one starts there (the service, in Java, names characters, not bytes; half of one
// would make the JSON answer invalid UTF-8), else the single byte.
std::string_view CharacterAt(std::string_view in, std::size_t i) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
  const std::uint8_t c = p[i];
  std::size_t len = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  }
  if (len == 0 || i + len > in.size() || p[i + 1] < lo || p[i + 1] > hi) return in.substr(i, 1);
  for (std::size_t k = 2; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return in.substr(i, 1);
  }
  return in.substr(i, len);
}

}  // namespace

bool Base64Decode(std::string_view in, std::string& out, std::string& why) {
  out.clear();
  const std::size_t n = in.size();
  if (n % 4 != 0) {
    why = "Base64 encoded length is expected a multiple of 4 bytes but found: " + std::to_string(n);
    return false;
  }
  if (n == 0) return true;
  // One pass over the body when it is clean (the common case), then the last group with
  // the padding rules; otherwise the checks below find and name the first bad character.
  std::size_t check_from = 0;
  out.resize(n / 4 * 3);
  if (DecodeBody(reinterpret_cast<const std::uint8_t*>(in.data()), n,
                 reinterpret_cast<std::uint8_t*>(out.data()))) {
    check_from = n - 4;
  }
  // Character check, in text order: a non-alphabet character, or '=' followed by anything
  // but '=', is reported as the offending character.
  std::size_t pad = 0;
  for (std::size_t i = check_from; i < n; ++i) {
    auto c = static_cast<std::uint8_t>(in[i]);
    std::uint8_t d = kDecode[c];
    if (d == kInvalid) {
      why = "Invalid Base64 character: '" + std::string(CharacterAt(in, i)) + "'";
      return false;
    }
    if (d == kPad) {
      if (i + 1 < n && in[i + 1] != '=') {
        why = "Invalid Base64 character: '='";
        return false;
      }
      ++pad;
    }
  }
  if (pad > 2) {
    why = "Invalid last non-pad Base64 character dectected";
    return false;
  }
  out.resize(Base64DecodedSize(n, pad));
  auto* o = reinterpret_cast<std::uint8_t*>(out.data());
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
  const std::size_t full = pad ? n - 4 : n;
  std::size_t i = check_from;  // the body is already decoded when it was clean
  o += i / 4 * 3;
  for (; i < full; i += 4) {
    std::uint32_t v = (std::uint32_t{kDecode[p[i]]} << 18) |
                      (std::uint32_t{kDecode[p[i + 1]]} << 12) |
                      (std::uint32_t{kDecode[p[i + 2]]} << 6) | kDecode[p[i + 3]];
    *o++ = static_cast<std::uint8_t>(v >> 16);
    *o++ = static_cast<std::uint8_t>(v >> 8);
    *o++ = static_cast<std::uint8_t>(v);
  }
  if (pad) {
    std::uint32_t a = kDecode[p[i]], b = kDecode[p[i + 1]];
    std::uint32_t c = pad == 1 ? kDecode[p[i + 2]] : 0;
    // The bits of the last non-pad character that fall outside the output must be zero,
    // otherwise the text is not the canonical encoding of any byte string.
    bool clean = pad == 2 ? (b & 0x0F) == 0 : (c & 0x03) == 0;
    if (!clean) {
      why = "Invalid last non-pad Base64 character dectected";
      out.clear();
      return false;
    }
    std::uint32_t v = (a << 18) | (b << 12) | (c << 6);
    *o++ = static_cast<std::uint8_t>(v >> 16);
    if (pad == 1) *o++ = static_cast<std::uint8_t>(v >> 8);
  }
  return true;
}

}  // namespace cinesis
