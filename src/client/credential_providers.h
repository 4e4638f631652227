// The credential sources of the default chain beyond static keys (see NewCredentialsChain in
// credentials.h for the order). Each follows the provider error codes of credentials.h:
// kResourceNotFound when the source is not configured (the chain moves on), any other code
// when it is configured but fails (the chain stops).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "client/credentials.h"
#include "common/clock.h"

namespace cinesis::client::auth {

// $AWS_WEB_IDENTITY_TOKEN_FILE + $AWS_ROLE_ARN (+ $AWS_ROLE_SESSION_NAME, default
// "cinesis-<epoch ms>") -> STS AssumeRoleWithWebIdentity (EKS IRSA). The token file is
// re-read on every Get() (the kubelet rotates it). Only one of the two variables set is
// kInvalidArgument. `region`: for the STS endpoint (else ResolveRegion, else us-east-1).
std::unique_ptr<CredentialsProvider> WebIdentityCredentials(
    std::optional<std::string> region = {}, std::optional<std::string> profile = {});

// The profile `profile` (else $AWS_PROFILE, else "default") of the shared files, in this
// order of precedence within the profile:
//   role_arn + web_identity_token_file -> AssumeRoleWithWebIdentity;
//   role_arn with source_profile (its credentials, resolved the same way, chained; a
//     source_profile naming the profile itself uses its static keys) or credential_source
//     (Environment, Ec2InstanceMetadata, EcsContainer) -> STS AssumeRole (role_session_name,
//     external_id, duration_seconds honoured);
//   static keys (aws_access_key_id / aws_secret_access_key / aws_session_token; the
//     credentials file wins over the config file);
//   sso_session (section [sso-session NAME]: sso_start_url, sso_region) or the legacy
//     sso_start_url + sso_region, with sso_account_id and sso_role_name -> the token cached
//     by `aws sso login` in ~/.aws/sso/cache/<sha1 of the session name or start URL>.json
//     -> the SSO portal's GetRoleCredentials (https://portal.sso.<sso_region>.amazonaws.com,
//     or $AWS_ENDPOINT_URL_SSO); an expired token is an error asking for `aws sso login`;
//   credential_process -> runs the command (/bin/sh -c), reads JSON Version 1 from stdout.
// A profile that exists but whose role/SSO/process setup fails stops the chain (e.g. a
// role_arn whose source_profile has no credentials is kInvalidArgument, not a fall-through).
std::unique_ptr<CredentialsProvider> SharedProfileCredentials(
    std::optional<std::string> profile = {}, std::optional<std::string> region = {},
    const Clock* clock = &SystemClock::Instance());

// $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2<uri>), else
// $AWS_CONTAINER_CREDENTIALS_FULL_URI: https to any host, http only to a loopback host,
// 169.254.170.2, 169.254.170.23 (EKS Pod Identity) or [fd00:ec2::23]; any other host is
// refused without connecting (kInvalidArgument). Authorization header: the content of
// $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else $AWS_CONTAINER_AUTHORIZATION_TOKEN.
// 2 s timeout, one retry.
std::unique_ptr<CredentialsProvider> ContainerCredentials();
// The URL ContainerCredentials would call; nullopt if not configured. Exposed for tests.
Result<std::optional<std::string>> ContainerCredentialsUrl();

// EC2 instance metadata (IMDS), as the SDKs configure it:
//   $AWS_EC2_METADATA_DISABLED=true: never contacted;
//   endpoint: $AWS_EC2_METADATA_SERVICE_ENDPOINT, else ec2_metadata_service_endpoint of the
//     profile, else by mode ($AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE /
//     ec2_metadata_service_endpoint_mode: IPv4 -> http://169.254.169.254, IPv6 ->
//     http://[fd00:ec2::254]);
//   IMDSv2: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds: 21600, then
//     requests with X-aws-ec2-metadata-token. If the token PUT answers 403/404/405 or times
//     out, IMDSv1 (no token) is used unless $AWS_EC2_METADATA_V1_DISABLED /
//     ec2_metadata_v1_disabled is true; a 400 is an error.
//   1 s timeout per request; a 5xx or a refused connection is retried once, a timeout is
//   not (the v1 fallback after a token timeout gets one attempt).
struct ImdsSettings {
  bool disabled = false;
  bool v1_disabled = false;
  bool endpoint_configured = false;  // set explicitly rather than the default address
  std::string endpoint;              // scheme://host[:port]
  std::chrono::milliseconds timeout{1000};
  int attempts = 2;
};
Result<ImdsSettings> ImdsSettingsFor(std::optional<std::string> profile = {});
// /latest/meta-data/iam/security-credentials/<role>.
std::unique_ptr<CredentialsProvider> ImdsCredentials(std::optional<std::string> profile = {});
// /latest/meta-data/placement/region.
Result<std::string> ImdsRegion(std::optional<std::string> profile = {});

}  // namespace cinesis::client::auth
