#include "common/base64.h"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

#if defined(__x86_64__)
bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

// 24 bytes into 32 characters with AVX2 (Muła and Lemire's method: spread each 3 bytes over 4
// lanes of 6 bits with two multiplies, then add each value's offset to its character, found
// by a shuffle). `in`: lane 0 holds the first 12 bytes at bytes 4..15, lane 1 the next 12 at
// bytes 0..11.
__attribute__((target("avx2"))) void EncodeStepAvx2(__m256i in, char* o) {
  const __m256i spread = _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1, 14, 15,
                                         13, 14, 11, 12, 10, 11, 8, 9, 7, 8, 5, 6, 4, 5);
  const __m256i lut =
      _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0, 65, 71, -4,
                       -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
  in = _mm256_shuffle_epi8(in, spread);
  const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0FC0FC00));
  const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
  const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003F03F0));
  const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
  const __m256i values = _mm256_or_si256(t1, t3);
  __m256i index = _mm256_subs_epu8(values, _mm256_set1_epi8(51));
  index = _mm256_sub_epi8(index, _mm256_cmpgt_epi8(values, _mm256_set1_epi8(25)));
  const __m256i chars = _mm256_add_epi8(values, _mm256_shuffle_epi8(lut, index));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), chars);
}

// 24 bytes per step while a step's 32-byte read stays inside `p` (it reads from 4 bytes
// before the 24 it encodes; the first step, from them on). Returns where the scalar loop goes
// on; `o` is moved past what was written.
__attribute__((target("avx2"))) std::size_t EncodeBlocksAvx2(const std::uint8_t* p, std::size_t n,
                                                             char*& o) {
  if (n < 32) return 0;
  // The first 24 bytes: moved 4 up, where the later loads from 4 before find theirs.
  EncodeStepAvx2(
      _mm256_permutevar8x32_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)),
                                  _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6)),
      o);
  o += 32;
  std::size_t i = 24;
  for (; i + 28 <= n; i += 24) {
    EncodeStepAvx2(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i - 4)), o);
    o += 32;
  }
  return i;
}
#endif

}  // namespace

char* Base64EncodeTo(std::string_view in, char* o) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
#if defined(__x86_64__)
  if (HasAvx2()) i = EncodeBlocksAvx2(p, n, o);
#endif
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

#if defined(__x86_64__)
// 32 characters into 24 bytes per step with AVX2 (the method of Muła and Lemire, "Faster
// Base64 Encoding and Decoding using AVX2 Instructions", 2018: classify by nibbles, add the
// offset of each character's range, merge the 6-bit values with two multiply-adds), while at
// least 48 characters are left (a step stores 32 bytes; the last group, which may hold
// padding, is left to the scalar loop). Returns false at a block holding anything but
// alphabet characters; `i` is where the scalar loop goes on.
__attribute__((target("avx2"))) bool DecodeBlocksAvx2(const std::uint8_t* p, std::size_t n,
                                                      std::uint8_t*& o, std::size_t& i) {
  const __m256i lut_lo =
      _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B,
                       0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                       0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
  const __m256i lut_hi =
      _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10,
                       0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10,
                       0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  const __m256i lut_roll =
      _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4, -65,
                       -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i mask_2f = _mm256_set1_epi8(0x2f);
  const __m256i merge_ab_bc = _mm256_set1_epi32(0x01400140);
  const __m256i merge_abc = _mm256_set1_epi32(0x00011000);
  const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2,
                                        1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1);
  for (; i + 48 <= n; i += 32) {
    const __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(in, 4), mask_2f);
    const __m256i lo_nibbles = _mm256_and_si256(in, mask_2f);
    const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
    const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
    if (!_mm256_testz_si256(lo, hi)) return false;
    const __m256i eq_2f = _mm256_cmpeq_epi8(in, mask_2f);
    const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles));
    const __m256i values = _mm256_add_epi8(in, roll);
    __m256i out = _mm256_madd_epi16(_mm256_maddubs_epi16(values, merge_ab_bc), merge_abc);
    out = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(out, pack), lanes);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), out);
    o += 24;
  }
  return true;
}

#endif

// Decodes every group but the last, assuming they hold only alphabet characters (no '=').
// Returns false, having written garbage, if one of them holds anything else.
bool DecodeBody(const std::uint8_t* p, std::size_t n, std::uint8_t* o) {
  std::uint32_t bad = 0;
  std::size_t i = 0;
#if defined(__x86_64__)
  if (HasAvx2() && !DecodeBlocksAvx2(p, n, o, i)) return false;
#endif
  for (; i + 4 < n; i += 4) {
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
