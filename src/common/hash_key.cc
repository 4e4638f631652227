#include "common/hash_key.h"

// MD5's own functions (deprecated in OpenSSL 3 in favour of EVP): EVP_DigestInit_ex
// allocates a context for every key, the low-level calls work on the stack.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>

#include <algorithm>

namespace cinesis {

std::string ToDecimal(uint128 v) {
  char buf[40];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  return {p, end};
}

std::optional<uint128> ParseDecimal128(std::string_view text) {
  if (text.empty() || text.size() > 39) return std::nullopt;
  uint128 v = 0;
  constexpr uint128 kMax = ~uint128{0};
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto d = static_cast<unsigned>(c - '0');
    if (v > (kMax - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

HashKey Md5HashKey(std::string_view bytes) {
  unsigned char digest[MD5_DIGEST_LENGTH];
  MD5_CTX ctx;
  MD5_Init(&ctx);
  MD5_Update(&ctx, bytes.data(), bytes.size());
  MD5_Final(digest, &ctx);
  uint128 v = 0;
  for (unsigned char b : digest) v = (v << 8) | b;
  return HashKey{v};
}

}  // namespace cinesis
