#include "engine/token.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/base64.h"
#include "common/random.h"

namespace cinesis::engine {
namespace {

constexpr std::uint8_t kMagic[8] = {0, 0, 0, 0, 0, 0, 0, 1};
constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

EVP_CIPHER_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return c;
}

}  // namespace

bool TokenReader::Raw(void* p, std::size_t n) {
  if (in_.size() < n) return false;
  std::memcpy(p, in_.data(), n);
  in_.remove_prefix(n);
  return true;
}

TokenSealer::TokenSealer() : key_(NewKey()) {}

TokenSealer::Key TokenSealer::NewKey() {
  Key k;
  RandomBytes(k.data(), k.size());
  return k;
}

std::string TokenSealer::Seal(std::string_view plaintext) const {
  // The sealed body is the plaintext's length (u32), the plaintext and zero padding, so
  // that a token is at least 152 bytes and longer ones grow in steps of 16, as AWS's
  // iterators do (kinesalite's tests, run against AWS, check exactly that).
  constexpr std::size_t kOverhead = sizeof kMagic + kNonce + kTag;
  constexpr std::size_t kMinBody = kMinTokenBytes - kOverhead;  // 116
  const std::size_t need = 4 + plaintext.size();
  const std::size_t body =
      need <= kMinBody ? kMinBody : kMinBody + (need - kMinBody + 15) / 16 * 16;
  // Built by appending (not memcpy into a sized buffer): GCC 12 at -O2 reports a bogus
  // stringop-overflow for the memcpy form (issue 12).
  const auto n = static_cast<std::uint32_t>(plaintext.size());
  std::string framed;
  framed.reserve(body);
  framed.append(reinterpret_cast<const char*>(&n), 4);
  framed.append(plaintext);
  framed.resize(body, '\0');
  std::string raw(kOverhead + body, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  std::memcpy(out, kMagic, sizeof kMagic);
  unsigned char* nonce = out + sizeof kMagic;
  RandomBytes(nonce, kNonce);
  nonce[0] &= 0x3F;  // so the text starts "AAAAAAAAAAE", as AWS iterators do
  unsigned char* ct = nonce + kNonce;
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  int len = 0;
  EVP_EncryptInit_ex2(ctx, Aes256Gcm(), key_.data(), nonce, nullptr);
  EVP_EncryptUpdate(ctx, ct, &len, reinterpret_cast<const unsigned char*>(framed.data()),
                    static_cast<int>(framed.size()));
  int fin = 0;
  EVP_EncryptFinal_ex(ctx, ct + len, &fin);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, ct + framed.size());
  return Base64Encode(raw);
}

std::optional<std::string> TokenSealer::Open(std::string_view token) const {
  std::string raw, why;
  if (token.size() > 4096 || !Base64Decode(token, raw, why)) return std::nullopt;
  if (raw.size() < sizeof kMagic + kNonce + kTag) return std::nullopt;
  auto* in = reinterpret_cast<unsigned char*>(raw.data());
  if (std::memcmp(in, kMagic, sizeof kMagic) != 0) return std::nullopt;
  unsigned char* nonce = in + sizeof kMagic;
  unsigned char* ct = nonce + kNonce;
  const std::size_t ct_len = raw.size() - sizeof kMagic - kNonce - kTag;
  std::string plain(ct_len, '\0');
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  int len = 0;
  if (EVP_DecryptInit_ex2(ctx, Aes256Gcm(), key_.data(), nonce, nullptr) != 1) return std::nullopt;
  if (EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len, ct,
                        static_cast<int>(ct_len)) != 1) {
    return std::nullopt;
  }
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, ct + ct_len);
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data()) + len, &fin) != 1) {
    return std::nullopt;
  }
  std::uint32_t n = 0;
  if (plain.size() < 4) return std::nullopt;
  std::memcpy(&n, plain.data(), 4);
  if (n > plain.size() - 4) return std::nullopt;
  return plain.substr(4, n);
}

std::string SealIterator(const TokenSealer& sealer, const IteratorPayload& p) {
  TokenWriter w;
  w.U8(kIteratorTag);
  w.U64(p.stream_id);
  w.U32(p.shard_index);
  w.U64(p.position);
  w.I64(p.created_ms);
  w.Str(p.stream_name);
  return sealer.Seal(w.data());
}

std::optional<IteratorPayload> OpenIterator(const TokenSealer& sealer, std::string_view token) {
  auto plain = sealer.Open(token);
  if (!plain) return std::nullopt;
  TokenReader r(*plain);
  IteratorPayload p;
  std::uint8_t tag = 0;
  if (!r.U8(tag) || tag != kIteratorTag || !r.U64(p.stream_id) || !r.U32(p.shard_index) ||
      !r.U64(p.position) || !r.I64(p.created_ms) || !r.Str(p.stream_name) || !r.done()) {
    return std::nullopt;
  }
  return p;
}

}  // namespace cinesis::engine
