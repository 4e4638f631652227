// 128-bit hash keys: the Kinesis routing space 0 .. 2^128-1.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cinesis {

__extension__ typedef unsigned __int128 uint128;  // NOLINT(modernize-use-using)

// A position in the hash-key space. Strong type: never mix with counters or offsets.
struct HashKey {
  uint128 value = 0;
  friend constexpr auto operator<=>(HashKey, HashKey) = default;
  static constexpr HashKey Max() { return HashKey{~uint128{0}}; }
};

// Decimal text of a 128-bit unsigned value.
std::string ToDecimal(uint128 v);
inline std::string ToString(HashKey k) { return ToDecimal(k.value); }

// Parses a decimal string of digits only (no sign, no spaces). Returns nullopt if the
// text is empty, has a non-digit, or the value is >= 2^128.
std::optional<uint128> ParseDecimal128(std::string_view text);

// MD5 of the bytes, read as a big-endian unsigned 128-bit integer: how Kinesis maps a
// partition key to a hash key. Thread-safe.
HashKey Md5HashKey(std::string_view bytes);

}  // namespace cinesis
