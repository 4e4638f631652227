// Sealed tokens: shard iterators and pagination tokens are opaque to clients and
// tamper-evident. The payload is encrypted and authenticated with AES-256-GCM under a
// key held by the engine; anything that fails to open is rejected as invalid.
//
// Wire form: base64( 00 00 00 00 00 00 00 01 | nonce(12) | ciphertext | tag(16) ), the
// same leading 8 bytes AWS's iterators carry; the ciphertext covers the payload's length,
// the payload and zero padding, so tokens are 152 + 16k bytes long, as AWS's are.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace cinesis::engine {

// The shortest token, in bytes before base64 (AWS's iterators: 152 + 16k).
inline constexpr std::size_t kMinTokenBytes = 152;

class TokenSealer {
 public:
  using Key = std::array<std::uint8_t, 32>;
  // A sealer with a fresh random key.
  TokenSealer();
  static Key NewKey();
  explicit TokenSealer(const Key& key) : key_(key) {}

  std::string Seal(std::string_view plaintext) const;
  // nullopt when the token is malformed, forged, or sealed under another key.
  std::optional<std::string> Open(std::string_view token) const;

 private:
  Key key_;
};

// Little-endian field packing for token payloads.
class TokenWriter {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(std::uint32_t v) { Raw(&v, 4); }
  void U64(std::uint64_t v) { Raw(&v, 8); }
  void I64(std::int64_t v) { Raw(&v, 8); }
  void Str(std::string_view s) {
    U32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  const std::string& data() const { return out_; }

 private:
  void Raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

class TokenReader {
 public:
  explicit TokenReader(std::string_view in) : in_(in) {}
  bool U8(std::uint8_t& v) { return Raw(&v, 1); }
  bool U32(std::uint32_t& v) { return Raw(&v, 4); }
  bool U64(std::uint64_t& v) { return Raw(&v, 8); }
  bool I64(std::int64_t& v) { return Raw(&v, 8); }
  bool Str(std::string& s) {
    std::uint32_t n = 0;
    if (!U32(n) || n > in_.size()) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  bool Raw(void* p, std::size_t n);
  std::string_view in_;
};

// The first payload byte tells the kinds of sealed token apart.
inline constexpr std::uint8_t kIteratorTag = 'I';
inline constexpr std::uint8_t kListShardsTag = 'S';
inline constexpr std::uint8_t kListStreamsTag = 'L';

// What a shard iterator carries: the stream (its id, so a recreated stream of the same
// name does not accept it), the shard, the log offset to read from, and when it was made
// (iterators expire after 5 minutes).
struct IteratorPayload {
  std::uint64_t stream_id = 0;
  std::string stream_name;
  std::uint32_t shard_index = 0;
  std::uint64_t position = 0;
  EpochMillis created_ms = 0;
};

std::string SealIterator(const TokenSealer& sealer, const IteratorPayload& p);
// nullopt when the token is not a shard iterator sealed by `sealer`.
std::optional<IteratorPayload> OpenIterator(const TokenSealer& sealer, std::string_view token);

}  // namespace cinesis::engine
