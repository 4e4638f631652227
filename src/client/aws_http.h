// Small helpers shared by the credential sources that talk HTTP (STS, IMDS, the container
// endpoint, the SSO portal): one blocking libcurl request with a total timeout, ISO-8601
// timestamps, and the JSON credential documents those services return.
//
// Contract: nothing throws; a transport failure (refused, timed out, DNS) is kIoError and
// the reply of any HTTP status is returned as is. Thread-safe (a fresh curl handle per
// call; these calls are rare: once per credential refresh).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/credentials.h"
#include "common/clock.h"
#include "common/status.h"

namespace cinesis::client::auth {

struct HttpCall {
  std::string method = "GET";  // GET, PUT, POST
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{1000};  // connect and total
};

struct HttpReply {
  long status = 0;
  std::string body;
};

// One request; kIoError when no HTTP reply arrived (its message ends with kTimeoutMarker
// when the timeout expired, as opposed to a refused or unreachable connection).
inline constexpr const char* kTimeoutMarker = " [timeout]";
Result<HttpReply> Fetch(const HttpCall& call);

// "2026-12-02T07:00:00Z" (also with fractional seconds, or a +00:00 offset) -> epoch ms.
std::optional<EpochMillis> ParseIso8601(std::string_view text);

// Credentials from a JSON object with the given member names (e.g. "AccessKeyId",
// "SecretAccessKey", "Token", "Expiration"); `expiration_key` may name an ISO-8601 string
// or epoch milliseconds (the SSO portal). `what` prefixes errors (kInvalidArgument).
Result<Credentials> CredentialsFromJson(std::string_view json, const std::string& what,
                                        const char* key_id, const char* secret, const char* token,
                                        const char* expiration_key);

// Form-encoding of one value (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view s);

// "AKIA****************" style: the first four characters, the rest masked.
std::string MaskKeyId(std::string_view key_id);

}  // namespace cinesis::client::auth
