// AWS Signature Version 4 (AWS4-HMAC-SHA256): the canonical-request and signing primitives
// shared by the client (src/client/sigv4.h signs) and the server (src/api/sigv4_verify.h checks).
//
// Contract:
// * Pure functions: no global state, no I/O, no exceptions. Every function here is
//   thread-safe for concurrent calls on distinct objects (Sign mutates only its
//   argument). OpenSSL 3 EVP APIs do the SHA-256 / HMAC work.
// * Canonicalisation follows AWS rules for non-S3 services (validated against the
//   public AWS SigV4 test suite and botocore, see tests/unit/sigv4_test.cc):
//   - path: dot segments removed and duplicate slashes collapsed (same as botocore's
//     remove_dot_segments: "/a/b/.." -> "/a", a trailing '/' is kept), then every
//     segment percent-encoded with the RFC 3986 unreserved set kept. The path is
//     encoded as given, so a path that is already %-encoded on the wire is encoded a
//     second time ('%' -> "%25"), which is what non-S3 services expect.
//   - query: split on '&', each parameter at its first '='; names and values are
//     %-decoded (only valid %XX escapes; '+' is a literal plus) and re-encoded, so
//     both raw and already-encoded query strings give the same canonical form; empty
//     parameters ("a&&b") are dropped, a name without '=' gets an empty value; pairs
//     sorted by encoded name, then encoded value.
//   - headers: names lower-cased; values trimmed and runs of spaces/tabs collapsed to
//     one space; a folded (obs-fold, multi-line) value has its lines trimmed and
//     joined with ','; repeated headers are joined with ',' in the order sent.
// * Time: SigningParams::time is converted to UTC; sub-second parts are dropped.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cinesis::sigv4 {

struct HttpRequestToSign {
  std::string method;  // "POST"
  std::string path;    // raw path, e.g. "/" (may contain %-escapes, spaces, dots); "" = "/"
  std::string query;   // raw query string after '?', may be empty
  // Headers as sent (name case preserved, repeats allowed); must include Host
  // ("host:port" when the port is not the scheme's default).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view payload;  // the exact body bytes; not owned
};

struct SigningParams {
  std::string region;                          // e.g. "us-east-1"
  std::string service;                         // "kinesis"
  std::chrono::system_clock::time_point time;  // signing time (normally now)
};

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// "YYYYMMDD'T'HHMMSS'Z'" (UTC), the X-Amz-Date format.
std::string AmzDate(std::chrono::system_clock::time_point t);

// The inverse of AmzDate; nullopt unless `s` is exactly YYYYMMDD'T'HHMMSS'Z' with a valid
// calendar date and time.
std::optional<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view s);

// The credential scope of p: "<YYYYMMDD>/<region>/<service>/aws4_request".
std::string CredentialScope(const SigningParams& p);

// The canonical URI of a raw path / the canonical query string of a raw query
// (see the contract above).
std::string CanonicalUri(std::string_view raw_path);
std::string CanonicalQueryString(std::string_view raw_query);

// Decodes valid %XX escapes; anything else (including '+') is kept literally.
std::string PercentDecode(std::string_view in);

// The canonical request. Only the headers named in `signed_header_names` (lower-case,
// sorted, no duplicates) are canonicalised, matched case-insensitively against
// r.headers; a named header absent from r is canonicalised with an empty value.
std::string CanonicalRequest(const HttpRequestToSign& r,
                             const std::vector<std::string>& signed_header_names,
                             std::string_view payload_hash_hex);

// The string to sign: algorithm, X-Amz-Date of p.time, credential scope
// (<date>/<region>/<service>/aws4_request), hex SHA-256 of the canonical request.
std::string StringToSign(std::string_view canonical_request, const SigningParams& p);

// The lower-case names of every header of `r` except Authorization, sorted, unique:
// the headers Sign/AuthorizationHeader sign.
std::vector<std::string> SignedHeaderNames(const HttpRequestToSign& r);

// Lower-case hex signature of a string to sign: HMAC-SHA256 with the key derived from
// "AWS4"+secret, the date of p.time, p.region, p.service and "aws4_request".
std::string SignatureHex(std::string_view string_to_sign, std::string_view secret_access_key,
                         const SigningParams& p);

}  // namespace cinesis::sigv4
