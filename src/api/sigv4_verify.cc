// SigV4 verification: see sigv4_verify.h for the contract.
#include "api/sigv4_verify.h"

#include <ctime>
#include <optional>

#include "api/errors.h"
#include "common/sigv4.h"

namespace cinesis::api {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::string_view> Header(const SignedRequest& r, std::string_view name) {
  if (r.headers == nullptr) return std::nullopt;
  for (const auto& [n, v] : *r.headers) {
    if (IEquals(n, name)) return Trim(v);
  }
  return std::nullopt;
}

// The decoded value of query parameter `name` (first occurrence).
std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const std::size_t eq = part.find('=');
    if (sigv4::PercentDecode(part.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string()
                                          : sigv4::PercentDecode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// `query` without its X-Amz-Signature parameter(s).
std::string QueryWithoutSignature(std::string_view query) {
  std::string out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    if (sigv4::PercentDecode(part.substr(0, part.find('='))) != "X-Amz-Signature") {
      if (!out.empty()) out.push_back('&');
      out.append(part);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// RFC 7231 IMF-fixdate, e.g. "Sun, 30 Aug 2015 12:36:00 GMT".
std::optional<TimePoint> ParseHttpDate(std::string_view s) {
  std::tm tm{};
  const std::string text(s);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

// The pieces of a signature, from the Authorization header or the query string.
struct SignatureParts {
  std::string algorithm, credential, signed_headers, signature, date, token;
  bool has_token = false;
  bool presigned = false;
};

SignatureParts FromHeader(const SignedRequest& r, std::string_view authorization) {
  SignatureParts p;
  authorization = Trim(authorization);
  const std::size_t sp = authorization.find_first_of(" ,");
  p.algorithm = std::string(authorization.substr(0, sp));
  std::string_view rest = sp == std::string_view::npos ? "" : authorization.substr(sp);
  while (!rest.empty()) {
    const std::size_t j = rest.find_first_of(", ");
    const std::string_view tok = rest.substr(0, j);
    if (const std::size_t eq = tok.find('='); eq != std::string_view::npos) {
      const std::string_view key = tok.substr(0, eq);
      const std::string value(tok.substr(eq + 1));
      if (key == "Credential") p.credential = value;
      if (key == "SignedHeaders") p.signed_headers = value;
      if (key == "Signature") p.signature = value;
    }
    if (j == std::string_view::npos) break;
    rest.remove_prefix(j + 1);
  }
  if (auto d = Header(r, "x-amz-date")) {
    p.date = std::string(*d);
  } else if (auto d2 = Header(r, "date")) {
    p.date = std::string(*d2);
  }
  if (auto t = Header(r, "x-amz-security-token")) p.token = std::string(*t), p.has_token = true;
  return p;
}

SignatureParts FromQuery(const SignedRequest& r) {
  SignatureParts p;
  p.presigned = true;
  p.algorithm = QueryParam(r.query, "X-Amz-Algorithm").value_or("");
  p.credential = QueryParam(r.query, "X-Amz-Credential").value_or("");
  p.signed_headers = QueryParam(r.query, "X-Amz-SignedHeaders").value_or("");
  p.signature = QueryParam(r.query, "X-Amz-Signature").value_or("");
  p.date = QueryParam(r.query, "X-Amz-Date").value_or("");
  if (auto t = QueryParam(r.query, "X-Amz-Security-Token")) p.token = *t, p.has_token = true;
  return p;
}

}  // namespace

SigV4Verifier::SigV4Verifier(SigV4VerifierOptions options) : options_(std::move(options)) {}

Status SigV4Verifier::Verify(const SignedRequest& r) const {
  const auto authorization = Header(r, "authorization");
  const SignatureParts p = authorization ? FromHeader(r, *authorization) : FromQuery(r);

  if (p.algorithm != sigv4::kSigV4Algorithm) return errors::UnsupportedAlgorithm(p.algorithm);
  const std::vector<std::string_view> scope = Split(p.credential, '/');
  if (scope.size() != 5 || scope[0].empty()) return errors::MalformedCredential(p.credential);

  // The signing time: X-Amz-Date (basic ISO 8601), else an HTTP Date header.
  std::optional<TimePoint> when = sigv4::ParseAmzDate(p.date);
  if (!when && !p.presigned && !Header(r, "x-amz-date")) when = ParseHttpDate(p.date);
  if (!when) return errors::MalformedDate(p.date);
  const std::string amz_date = sigv4::AmzDate(*when);

  if (scope[2] != options_.region) return errors::CredentialWrongRegion(scope[2]);
  if (scope[3] != options_.service) return errors::CredentialWrongService(options_.service);
  if (scope[4] != "aws4_request") return errors::CredentialWrongTerminator(scope[4]);
  if (scope[1] != std::string_view(amz_date).substr(0, 8)) {
    return errors::CredentialDateMismatch(scope[1], std::string_view(amz_date).substr(0, 8),
                                          p.date);
  }

  const auto key = options_.keys.find(scope[0]);
  if (key == options_.keys.end()) return errors::UnrecognizedClient();
  if (p.has_token != !key->second.session_token.empty() ||
      (p.has_token && !ConstantTimeEquals(p.token, key->second.session_token))) {
    return errors::UnrecognizedClient();
  }

  const TimePoint now{std::chrono::milliseconds(options_.clock->NowMillis())};
  const long skew_min = static_cast<long>(options_.max_skew.count());
  if (*when < now - options_.max_skew) {
    return errors::SignatureExpired(amz_date, sigv4::AmzDate(now - options_.max_skew),
                                    sigv4::AmzDate(now), skew_min);
  }
  if (*when > now + options_.max_skew) {
    return errors::SignatureNotYetCurrent(amz_date, sigv4::AmzDate(now + options_.max_skew),
                                          sigv4::AmzDate(now), skew_min);
  }

  std::vector<std::string> names;
  bool host_signed = false;
  for (std::string_view n : Split(p.signed_headers, ';')) {
    std::string name(n);
    for (char& c : name) c = Lower(c);
    host_signed = host_signed || name == "host" || name == ":authority";
    names.push_back(std::move(name));
  }
  if (!host_signed) return errors::HostNotSigned();

  sigv4::HttpRequestToSign req;
  req.method = std::string(r.method);
  req.path = std::string(r.path);
  req.query = p.presigned ? QueryWithoutSignature(r.query) : std::string(r.query);
  if (r.headers != nullptr) {
    req.headers.reserve(r.headers->size());
    for (const auto& [n, v] : *r.headers) req.headers.emplace_back(std::string(n), std::string(v));
  }
  std::string payload_hash = sigv4::Sha256Hex(r.body);
  if (auto claimed = Header(r, "x-amz-content-sha256");
      claimed && (*claimed == "UNSIGNED-PAYLOAD" || *claimed == payload_hash)) {
    payload_hash = std::string(*claimed);
  }
  const std::string creq = sigv4::CanonicalRequest(req, names, payload_hash);
  const sigv4::SigningParams params{std::string(scope[2]), std::string(scope[3]), *when};
  const std::string sts = sigv4::StringToSign(creq, params);
  const std::string expected = sigv4::SignatureHex(sts, key->second.secret_access_key, params);
  if (!ConstantTimeEquals(expected, p.signature)) return errors::SignatureMismatch(creq, sts);
  return Status::Ok();
}

}  // namespace cinesis::api
