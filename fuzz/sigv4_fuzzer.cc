// SigV4: the request canonicalisation of src/client/sigv4 (path, query, headers) and the
// server's parsing of the Authorization header (api pipeline). Input lines:
//   method \n path \n query \n header lines "name:value" ... \n (empty line) \n payload
// Properties: the canonical query string is a fixed point (raw and encoded queries give
// the same form); a request signed by Sign() with valid header names passes the server's
// Authorization check; an Authorization header given in the input is parsed without failing.
#include <strings.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/pipeline.h"
#include "check.h"
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
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  c.session_token = "token";
  const auth::SigningParams p{
      "us-east-1", "kinesis",
      std::chrono::system_clock::time_point(std::chrono::seconds(1700000000))};
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
  if (has_authorization) (void)Check(given_authorization, r.query);
  return 0;
}
