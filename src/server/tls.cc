// The server's TLS context: certificate files or a self-signed certificate generated at
// start for local use, and ALPN that prefers h2 over http/1.1.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/random.h"
#include "server/session_common.h"

namespace cinesis::server::detail {

namespace {

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  for (std::string_view want : {std::string_view("h2"), std::string_view("http/1.1")}) {
    for (unsigned int i = 0; i < inlen;) {
      const unsigned int len = in[i];
      if (i + 1 + len > inlen) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};

bool AddExt(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Deleter> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// Writes `cert` to `path` without following or reusing anything planted there: a new file
// `path`.tmp (O_CREAT|O_EXCL|O_NOFOLLOW, 0600; a stale one is unlinked first, which never
// follows a link) renamed over `path` (which replaces a symlink itself, not its target).
// The directory must be private: the data directory (0700) or the mkdtemp directory the
// caller made for --in-memory.
Status WritePem(X509* cert, const std::string& path) {
  const std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return Status(Code::kIoError, "cannot remove " + tmp + ": " + std::strerror(errno));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kIoError, "cannot create " + tmp + ": " + std::strerror(errno));
  std::FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status(Code::kIoError, "cannot write " + tmp);
  }
  const bool ok = PEM_write_X509(f, cert) == 1;
  if (std::fclose(f) != 0 || !ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status(Code::kIoError, "cannot write " + path);
  }
  return Status();
}

// A P-256 key and a one-year self-signed certificate for localhost / 127.0.0.1 / ::1.
Status GenerateSelfSigned(SSL_CTX* ctx, const std::string& pem_path) {
  std::unique_ptr<EVP_PKEY, Deleter> key(EVP_EC_gen("P-256"));
  if (!key) return Status(Code::kInternalFailure, "cannot generate a TLS key");
  std::unique_ptr<X509, Deleter> cert(X509_new());
  X509_set_version(cert.get(), 2);
  std::uint8_t serial[8];
  RandomBytes(serial, sizeof serial);
  std::uint64_t sn = 0;
  for (auto b : serial) sn = (sn << 8) | b;
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), sn >> 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("cinesis"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!AddExt(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExt(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !AddExt(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !AddExt(cert.get(), NID_subject_key_identifier, "hash") ||
      !AddExt(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1")) {
    return Status(Code::kInternalFailure, "cannot build the TLS certificate");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return Status(Code::kInternalFailure, "cannot sign the certificate");
  if (SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return Status(Code::kInternalFailure, "cannot use the generated certificate");
  }
  if (!pem_path.empty()) return WritePem(cert.get(), pem_path);
  return Status();
}

}  // namespace

const char* const kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
const char* const kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

Result<std::shared_ptr<asio::ssl::context>> MakeTlsContext(const ServerOptions& o) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  SSL_CTX* native = ctx->native_handle();
  // Forward secrecy only: TLS 1.2 with ECDHE and AEAD ciphers (no static RSA key exchange,
  // no CBC), and TLS 1.3's suites (all ephemeral). The server's preference decides.
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1) {
    return Status(Code::kInternalFailure, "cannot set the TLS cipher list");
  }
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (o.tls_self_signed) {
    if (auto st = GenerateSelfSigned(native, o.tls_self_signed_path); !st.ok()) return st;
  } else {
    beast::error_code ec;
    ctx->use_certificate_chain_file(o.tls_cert, ec);
    if (ec) return Status(Code::kInvalidArgument, "--tls-cert " + o.tls_cert + ": " + ec.message());
    ctx->use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
    if (ec) return Status(Code::kInvalidArgument, "--tls-key " + o.tls_key + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Status(Code::kInvalidArgument, "the TLS key does not match the certificate");
  }
  SSL_CTX_set_alpn_select_cb(native, &SelectAlpn, nullptr);
  return ctx;
}

}  // namespace cinesis::server::detail
