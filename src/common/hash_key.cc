#include "common/hash_key.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

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

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

const EVP_MD* Md5() {
  // Fetched once: EVP_md5() would look the algorithm up on every call in OpenSSL 3.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md;
}

}  // namespace

HashKey Md5HashKey(std::string_view bytes) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  unsigned char digest[16];
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), Md5(), nullptr);
  EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  uint128 v = 0;
  for (unsigned char b : digest) v = (v << 8) | b;
  return HashKey{v};
}

}  // namespace cinesis
