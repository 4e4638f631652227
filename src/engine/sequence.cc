#include "engine/sequence.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "common/hash_key.h"

namespace cinesis::engine {
namespace {

using u128 = cinesis::uint128;

// A 192-bit unsigned number, limbs little-endian.
struct U192 {
  std::array<std::uint64_t, 3> limb{};

  void ShiftInBits(std::uint64_t value, int bits) {
    // this = (this << bits) | value, for 0 < bits <= 64.
    if (bits == 64) {
      limb[2] = limb[1];
      limb[1] = limb[0];
      limb[0] = value;
      return;
    }
    limb[2] = (limb[2] << bits) | (limb[1] >> (64 - bits));
    limb[1] = (limb[1] << bits) | (limb[0] >> (64 - bits));
    limb[0] = (limb[0] << bits) | value;
  }
  std::uint64_t Bits(int lsb, int width) const {
    // Extract `width` (<= 64) bits starting at bit `lsb`.
    std::uint64_t out = 0;
    for (int i = 0; i < width; ++i) {
      int b = lsb + i;
      std::uint64_t bit = (limb[static_cast<std::size_t>(b / 64)] >> (b % 64)) & 1U;
      out |= bit << i;
    }
    return out;
  }
  bool IsZero() const { return limb[0] == 0 && limb[1] == 0 && limb[2] == 0; }
  // Divides by d, returns the remainder.
  std::uint64_t DivMod(std::uint64_t d) {
    u128 rem = 0;
    for (int i = 2; i >= 0; --i) {
      u128 cur = (rem << 64) | limb[static_cast<std::size_t>(i)];
      limb[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(cur / d);
      rem = cur % d;
    }
    return static_cast<std::uint64_t>(rem);
  }
  // this = this * 10 + digit; false on overflow of 192 bits.
  bool MulAdd(unsigned digit) {
    u128 carry = digit;
    for (auto& l : limb) {
      u128 cur = static_cast<u128>(l) * 10 + carry;
      l = static_cast<std::uint64_t>(cur);
      carry = cur >> 64;
    }
    return carry == 0;
  }
};

constexpr std::uint64_t kMask36 = (1ULL << 36) - 1;

}  // namespace

namespace {

// Consecutive records of a shard (a GetRecords batch, a PutRecords group) differ only in the
// counter, by one: their numbers differ by 2^80, which is added to the previous number in
// base 10^18 (its two low 18-digit limbs are kept beside the text) instead of converting 188
// bits again; only those 36 digits are written again. Single PutRecords spread over shards
// and connections: each thread keeps the last number of up to kLastSlots shards (slot: the
// shard index modulo kLastSlots), and a counter up to kMaxStep ahead of the kept one is
// derived the same way (d * 2^80 added).
constexpr std::uint64_t kLimb = 1000000000000000000ULL;  // 10^18
// 2^80 = 1208925819614629174706176 = kTwoTo80High * 10^18 + kTwoTo80Low.
constexpr std::uint64_t kTwoTo80Low = 819614629174706176ULL;
constexpr std::uint64_t kTwoTo80High = 1208925ULL;

struct LastSequence {
  SequenceFields f;
  char buf[64];
  int begin = 64;                   // digits are buf[begin, 64)
  std::uint64_t low = 0, high = 0;  // the digits buf[46, 64) and buf[28, 46) as numbers
};
constexpr std::size_t kLastSlots = 8;
constexpr std::uint64_t kMaxStep = 16;  // kMaxStep * kTwoTo80Low + kLimb < 2^64
thread_local std::array<LastSequence, kLastSlots> last_sequences;

LastSequence& LastOf(const SequenceFields& f) { return last_sequences[f.shard_index % kLastSlots]; }

std::uint64_t ParseDigits(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v * 10 + static_cast<std::uint64_t>(p[i] - '0');
  return v;
}

// Writes `v` (< 10^18) as exactly 18 digits ending at `end`.
void WriteDigits18(std::uint64_t v, char* end) {
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  for (int i = 0; i < 9; ++i) {
    const std::uint64_t pair = v % 100;
    v /= 100;
    end -= 2;
    std::memcpy(end, kPairs + 2 * pair, 2);
  }
}

bool NextOfLast(const SequenceFields& f) {
  LastSequence& l = LastOf(f);
  // The numbers have 56 or more digits, so both limbs lie within the text.
  if (l.begin > 28 || f.counter <= l.f.counter || f.counter - l.f.counter > kMaxStep ||
      f.counter > 0x7fffffffffffffffULL || f.shard_created_s != l.f.shard_created_s ||
      f.shard_index != l.f.shard_index || f.record_time_s != l.f.record_time_s ||
      f.sub != l.f.sub) {
    return false;
  }
  const std::uint64_t step = f.counter - l.f.counter;
  std::uint64_t low = l.low + step * kTwoTo80Low;  // < 2^64: step <= kMaxStep
  std::uint64_t high = l.high + step * kTwoTo80High + low / kLimb;
  low %= kLimb;
  if (high >= kLimb) return false;  // a carry into the upper digits: convert in full
  l.low = low;
  l.high = high;
  WriteDigits18(low, l.buf + 64);
  WriteDigits18(high, l.buf + 46);
  l.f.counter = f.counter;
  return true;
}

}  // namespace

std::string EncodeSequence(const SequenceFields& f) {
  std::string out;
  AppendSequence(f, out);
  return out;
}

void AppendSequence(const SequenceFields& f, std::string& out) {
  LastSequence& l = LastOf(f);
  if (NextOfLast(f)) {
    out.append(l.buf + l.begin, l.buf + 64);
    return;
  }
  U192 n;
  n.ShiftInBits(2, 4);
  n.ShiftInBits(f.shard_created_s & kMask36, 36);
  n.ShiftInBits(f.shard_index & 0xFU, 4);
  n.ShiftInBits(f.counter & 0x7fffffffffffffffULL, 64);
  n.ShiftInBits(f.sub, 8);
  n.ShiftInBits(f.record_time_s & kMask36, 36);
  n.ShiftInBits(f.shard_index, 32);
  n.ShiftInBits(2, 4);
  char buf[64];
  char* end = buf + sizeof buf;
  char* p = end;
  constexpr std::uint64_t kChunk = 10000000000000000000ULL;  // 10^19
  do {
    std::uint64_t r = n.DivMod(kChunk);
    bool more = !n.IsZero();
    for (int i = 0; i < 19 && (more || r != 0); ++i) {
      *--p = static_cast<char>('0' + r % 10);
      r /= 10;
    }
  } while (!n.IsZero());
  if (p == end) *--p = '0';
  l.f = f;
  l.begin = static_cast<int>(p - buf);
  std::memcpy(l.buf + l.begin, p, static_cast<std::size_t>(end - p));
  if (l.begin <= 28) {
    l.low = ParseDigits(l.buf + 46, 18);
    l.high = ParseDigits(l.buf + 28, 18);
  }
  out.append(p, end);
}

std::optional<SequenceFields> DecodeSequence(std::string_view text) {
  if (text.empty() || text.size() > 58 || text[0] == '0') return std::nullopt;
  U192 n;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (!n.MulAdd(static_cast<unsigned>(c - '0'))) return std::nullopt;
  }
  // Exactly 188 significant bits with the leading nibble 2 and version 2.
  if (n.limb[2] >> 60 != 0) return std::nullopt;
  if (n.Bits(184, 4) != 2 || n.Bits(0, 4) != 2) return std::nullopt;
  SequenceFields f;
  f.sub = static_cast<std::uint8_t>(n.Bits(72, 8));
  f.shard_index = static_cast<std::uint32_t>(n.Bits(4, 32));
  f.record_time_s = n.Bits(36, 36);
  f.counter = n.Bits(80, 64);
  if (n.Bits(144, 4) != (f.shard_index & 0xFU)) return std::nullopt;
  f.shard_created_s = n.Bits(148, 36);
  if (f.counter > kEndCounter) return std::nullopt;
  return f;
}

namespace {

std::optional<AnySequence> ParseLayout(std::string_view text, int* version_seen) {
  // Anything above 1.5 * 2^185 (56 digits) has no layout; bound the digits before parsing.
  if (text.empty() || text.size() > 57) return std::nullopt;
  U192 n;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (!n.MulAdd(static_cast<unsigned>(c - '0'))) return std::nullopt;
  }
  // Below 2^124 a number is read as if 2^124 were added (bit 124 is clear there).
  if (n.limb[2] == 0 && n.limb[1] < (1ULL << 60)) n.limb[1] |= 1ULL << 60;
  // Lower-case hex digits without leading zeros, as the fields are cut from them.
  char hex_buf[48];
  for (int i = 0; i < 48; ++i) {
    const int nibble = static_cast<int>(n.Bits(4 * (47 - i), 4));
    hex_buf[i] = "0123456789abcdef"[nibble];
  }
  std::string_view hex(hex_buf, 48);
  hex.remove_prefix(std::min(hex.find_first_not_of('0'), hex.size() - 1));
  auto field = [&](std::size_t from, std::size_t to) -> std::uint64_t {
    std::uint64_t v = 0;
    for (std::size_t i = from; i < to && i < hex.size(); ++i) {
      const char c = hex[i];
      v = v * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
  };
  constexpr std::uint64_t kMaxCreatedS = 16025175000ULL;
  AnySequence out;
  const std::uint64_t top = n.limb[2];
  const bool below_2_129 = top <= 1;
  const bool in_185_range =
      (top > (1ULL << 57) || (top == (1ULL << 57) && (n.limb[1] | n.limb[0]) != 0)) &&
      top < 3ULL << 56;
  if (below_2_129) {
    out.version = 0;
    out.shard_created_s = field(1, 10);
    if (out.shard_created_s >= kMaxCreatedS) return std::nullopt;
    out.shard_index = static_cast<std::int64_t>(field(28, 32));
    return out;
  }
  if (!in_185_range) return std::nullopt;
  out.version = static_cast<int>(field(hex.size() - 1, hex.size()));
  if (version_seen) *version_seen = out.version;
  if (out.version == 2) {
    if (field(11, 12) > 7) return std::nullopt;
    out.counter = field(11, 27);
    out.sub = field(27, 29);
    // (No creation-time bound here: AWS takes "2ffffffffff7fff...2" as SequenceNumberForOrdering;
    // only a version-0 number past 16025175000 s is invalid.)
    out.shard_created_s = field(1, 10);
    out.record_time_s = field(29, 38);
    const std::uint64_t index = field(38, 46);
    out.shard_index =
        field(38, 39) > 7 ? -static_cast<std::int64_t>(index) : static_cast<std::int64_t>(index);
    return out;
  }
  if (out.version == 1) {
    out.shard_created_s = field(1, 10);
    out.record_time_s = field(13, 22);
    out.shard_index = static_cast<std::int64_t>(field(38, 46));
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<AnySequence> ParseAnySequence(std::string_view text) {
  return ParseLayout(text, nullptr);
}

int SequenceLayoutVersion(std::string_view text) {
  int version = -1;
  (void)ParseLayout(text, &version);
  return version;
}

std::string ShardIdName(std::int64_t index) {
  if (index >= 0) return ShardIdFor(static_cast<std::uint32_t>(index));
  char buf[40];
  std::snprintf(buf, sizeof buf, "shardId--%011lld", -static_cast<long long>(index));
  return buf;
}

std::string ShardIdFor(std::uint32_t index) {
  // "shardId-%012u" without snprintf: shards keep only their index, and the data path makes
  // the id for every record it answers (PutRecords).
  std::string out = "shardId-000000000000";
  for (std::size_t i = out.size(); index != 0; index /= 10)
    out[--i] = static_cast<char>('0' + index % 10);
  return out;
}

std::optional<std::uint32_t> ParseShardId(std::string_view text) {
  auto dash = text.find('-');
  std::string_view digits = dash == std::string_view::npos ? text : text.substr(dash + 1);
  if (auto dash2 = digits.find('-'); dash2 != std::string_view::npos)
    digits = digits.substr(0, dash2);
  if (digits.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : digits) {  // any number of leading zeros: "a-00002147483647" is shard 2147483647
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > 2147483647ULL) return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

}  // namespace cinesis::engine
