// SigV4 signature verification for `cinesis serve --auth sigv4` (off by default).
//
// Contract:
// * Verify() checks one request signed with AWS4-HMAC-SHA256, in the Authorization header or
//   presigned in the query string (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
//   X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Security-Token), against the configured access
//   keys, with the canonicalisation of common/sigv4.h (the client's signer uses the same code).
//   The caller has already checked that the auth pieces are present (pipeline's presence
//   check, which answers MissingAuthenticationToken / IncompleteSignature).
// * Order of checks, first failure wins: algorithm and credential format
//   (IncompleteSignature), date format (IncompleteSignature), credential scope: region, service,
//   terminator, date (InvalidSignature), access key and session token (UnrecognizedClient:
//   Code::kAccessDenied, sent as UnrecognizedClientException), clock skew (InvalidSignature,
//   "Signature expired" / "Signature not yet current"), 'host' signed (InvalidSignature),
//   signature (InvalidSignature with the canonical request and string to sign echoed).
// * Session tokens: a key configured with a token requires exactly that token in
//   X-Amz-Security-Token (header or query); a key without one rejects any token.
// * Payload: the canonical request's payload hash is the hex SHA-256 of the body; a client's
//   x-amz-content-sha256 is used instead when it equals that hash or is UNSIGNED-PAYLOAD.
// * Date: X-Amz-Date (header, or query for presigned requests), else an RFC 7231 Date header.
//   X-Amz-Expires of presigned requests is not enforced beyond the clock-skew window.
// * Thread-safe: Verify() is const and reads only immutable options and the clock.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cinesis::api {

struct SigV4Key {
  std::string secret_access_key;
  std::string session_token;  // empty: the key takes no session token
};

struct SigV4VerifierOptions {
  std::map<std::string, SigV4Key, std::less<>> keys;  // by access key id
  std::string region = "us-east-1";                   // the credential scope's region
  std::string service = "kinesis";
  std::chrono::minutes max_skew{5};  // AWS: 5 minutes either way
  const Clock* clock = &SystemClock::Instance();
};

// One request as received. Header names in any case; HTTP/2's ":authority" is given under its
// own name (the AWS SDK for JavaScript v3 signs it) and as "host" when there is no Host header.
struct SignedRequest {
  std::string_view method;
  std::string_view path;   // before '?'
  std::string_view query;  // after '?', raw
  const std::vector<std::pair<std::string_view, std::string_view>>* headers = nullptr;
  std::string_view body;
};

class SigV4Verifier {
 public:
  explicit SigV4Verifier(SigV4VerifierOptions options);
  [[nodiscard]] Status Verify(const SignedRequest& r) const;
  const SigV4VerifierOptions& options() const { return options_; }

 private:
  SigV4VerifierOptions options_;
};

}  // namespace cinesis::api
