// SigV4: the request canonicalisation of src/client/sigv4 (path, query, headers) and the
// server's parsing of the Authorization header (api pipeline). Input lines:
//   method \n path \n query \n header lines "name:value" ... \n (empty line) \n payload
// Properties: the canonical query string is a fixed point (raw and encoded queries give
// the same form); a request signed by Sign() with valid header names passes the server's
// Authorization check and, when it signs a Host header, the SigV4 verifier of `--auth sigv4`
// (api/sigv4_verify) with the signing key; the same request with another secret, or one byte
// of its signature changed, is refused; an Authorization header and a query given in the
// input (presigned form included) are parsed and verified without failing.
#include <strings.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/pipeline.h"
#include "api/sigv4_verify.h"
#include "check.h"
#include "cinesis/clock.h"
#include "client/sigv4.h"
#include "fake_service.h"

namespace {

std::string_view NextLine(std::string_view& in) {
  const auto nl = in.find('\n');
  const std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

cinesis::api::WireResponse Check(std::string_view authorization, std::string_view query) {
  static cinesis::fuzz::FakeService service;
  cinesis::api::WireRequest w;
  w.method = "POST";
  w.target = "Kinesis_20131202.ListStreams";
  w.content_type = "application/x-amz-json-1.1";
  w.authorization = authorization;
  w.has_amz_date = true;
  w.query = query;
  w.body = "{}";
  return cinesis::api::HandleRequest(w, service);
}

// A header name HTTP can carry (RFC 9110 5.1: a token).
bool IsToken(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

constexpr std::string_view kKeyId = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::int64_t kSignedAtSeconds = 1700000000;

// The verifier with one key (and its session token), its clock at the signing time.
const cinesis::api::SigV4Verifier& Verifier(bool right_secret) {
  static const cinesis::ManualClock clock(kSignedAtSeconds * 1000);
  auto make = [](std::string_view secret) {
    cinesis::api::SigV4VerifierOptions o;
    o.keys.emplace(std::string(kKeyId), cinesis::api::SigV4Key{std::string(secret), "token"});
    o.clock = &clock;
    return cinesis::api::SigV4Verifier(std::move(o));
  };
  static const cinesis::api::SigV4Verifier right = make(kSecret);
  static const cinesis::api::SigV4Verifier wrong = make("another-secret");
  return right_secret ? right : wrong;
}

cinesis::Status Verify(const cinesis::client::auth::HttpRequestToSign& r, bool right_secret,
                       std::string_view query) {
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  headers.reserve(r.headers.size());
  for (const auto& [n, v] : r.headers) headers.emplace_back(n, v);
  cinesis::api::SignedRequest s;
  s.method = r.method;
  s.path = r.path;
  s.query = query;
  s.headers = &headers;
  s.body = r.payload;
  return Verifier(right_secret).Verify(s);
}

bool HasHeader(const cinesis::client::auth::HttpRequestToSign& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.first.size() == name.size() &&
        strncasecmp(h.first.c_str(), name.data(), name.size()) == 0)
      return true;
  }
  return false;
}

// A query that carries presigned parameters is verified as a presigned request instead.
bool HasPresignedParameter(std::string_view query) {
  for (std::size_t i = 0; i + 6 <= query.size(); ++i) {
    if (strncasecmp(query.data() + i, "x-amz-", 6) == 0) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace auth = cinesis::client::auth;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auth::HttpRequestToSign r;
  r.method = std::string(NextLine(in));
  r.path = std::string(NextLine(in));
  r.query = std::string(NextLine(in));
  std::string given_authorization;
  bool has_authorization = false;
  bool all_tokens = true;
  while (!in.empty()) {
    const std::string_view line = NextLine(in);
    if (line.empty()) break;
    const auto colon = line.find(':');
    std::string name(line.substr(0, colon));
    std::string value(colon == std::string_view::npos ? std::string_view()
                                                      : line.substr(colon + 1));
    if (name == "Authorization") {
      given_authorization = value;
      has_authorization = true;
      continue;
    }
    all_tokens = all_tokens && IsToken(name);
    r.headers.emplace_back(std::move(name), std::move(value));
  }
  r.payload = in;

  (void)auth::CanonicalUri(r.path);
  const std::string cq = auth::CanonicalQueryString(r.query);
  FUZZ_CHECK(auth::CanonicalQueryString(cq) == cq);
  const auto names = auth::SignedHeaderNames(r);
  (void)auth::CanonicalRequest(r, names, auth::Sha256Hex(r.payload));

  auth::Credentials c;
  c.access_key_id = std::string(kKeyId);
  c.secret_access_key = std::string(kSecret);
  c.session_token = "token";
  const auth::SigningParams p{
      "us-east-1", "kinesis",
      std::chrono::system_clock::time_point(std::chrono::seconds(kSignedAtSeconds))};
  auth::Sign(r, c, p);
  std::string signed_authorization;
  for (const auto& [n, v] : r.headers) {
    // Sign replaces an Authorization header of any case in place.
    if (n.size() == 13 && strncasecmp(n.c_str(), "authorization", 13) == 0)
      signed_authorization = v;
  }
  // What the client signs, the server's Authorization check accepts, for header names HTTP
  // can carry (a name with '=' or ',' would break SignedHeaders=..., one with blanks may be
  // taken for Authorization itself; no client sends either).
  if (all_tokens) {
    FUZZ_CHECK(!signed_authorization.empty());
    FUZZ_CHECK(Check(signed_authorization, "").status == 200);
  }
  // The verifier accepts what the signer signed (when a Host header is signed, as every
  // client does), refuses it under another secret and with a changed signature.
  if (all_tokens && HasHeader(r, "host") && !HasPresignedParameter(r.query)) {
    const cinesis::Status ok = Verify(r, true, r.query);
    FUZZ_CHECK(ok.ok());
    FUZZ_CHECK(!Verify(r, false, r.query).ok());
    for (auto& [n, v] : r.headers) {
      if (n.size() == 13 && strncasecmp(n.c_str(), "authorization", 13) == 0 && !v.empty())
        v.back() = v.back() == '0' ? '1' : '0';
    }
    FUZZ_CHECK(!Verify(r, true, r.query).ok());
  }
  if (has_authorization) {
    (void)Check(given_authorization, r.query);
    // The given Authorization header (and the query: presigned parameters) through the
    // verifier: any answer but a crash.
    for (auto& [n, v] : r.headers) {
      if (n.size() == 13 && strncasecmp(n.c_str(), "authorization", 13) == 0)
        v = given_authorization;
    }
    (void)Verify(r, true, r.query);
  }
  (void)Verify(r, true, r.query);
  return 0;
}
