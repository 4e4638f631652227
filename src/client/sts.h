// AWS STS (Security Token Service) for the credentials chain: AssumeRole (SigV4-signed with
// the source credentials) and AssumeRoleWithWebIdentity (unsigned, the token is the proof),
// over the Query protocol (form-encoded POST, XML reply).
//
// Endpoint: $AWS_ENDPOINT_URL_STS, else $AWS_ENDPOINT_URL, else the regional endpoint
// https://sts.<region>.<partition DNS suffix> (amazonaws.com, amazonaws.com.cn for cn-*).
// Errors: an ErrorResponse becomes a Status carrying AWS's Code and Message
// (kAccessDenied for AccessDenied, else kInvalidArgument; 5xx and throttling kIoError so
// a refresh is retried later); kIoError when STS cannot be reached.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "client/credentials.h"
#include "common/status.h"

namespace cinesis::client::auth {

struct StsEndpoint {
  std::string url;     // scheme://host[:port] (no trailing slash)
  std::string origin;  // "AWS_ENDPOINT_URL_STS", "regional STS endpoint", ...
};
StsEndpoint ResolveStsEndpoint(std::string_view region);

struct AssumeRoleRequest {
  std::string role_arn;
  std::string session_name;
  std::string external_id;  // optional
  std::optional<int> duration_seconds;
};

// AssumeRole signed with `source`.
Result<Credentials> AssumeRole(const Credentials& source, const AssumeRoleRequest& request,
                               std::string_view region,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// AssumeRoleWithWebIdentity with the given OIDC token.
Result<Credentials> AssumeRoleWithWebIdentity(
    const std::string& web_identity_token, const AssumeRoleRequest& request,
    std::string_view region, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Parses an STS reply body: the <Credentials> element of an AssumeRole* result, or an
// <ErrorResponse> (see the codes above). `http_status` picks the error class. Exposed for tests.
Result<Credentials> ParseStsReply(std::string_view xml, long http_status, std::string_view action);

}  // namespace cinesis::client::auth
