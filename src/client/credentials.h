// AWS credentials, the credentials chain and region/endpoint resolution for the client.
//
// Contract:
// * Nothing here throws; failures are Status/Result.
// * Providers read their source on every Get() (no caching): environment variables
//   via getenv, profile files from disk. Get() on one provider may be called from
//   several threads, but getenv is not safe against a concurrent setenv/unsetenv
//   elsewhere in the process (POSIX); do not mutate the environment while clients
//   resolve credentials.
// * Provider error codes:
//     kResourceNotFound  this source holds no credentials (a chain moves on);
//     kInvalidArgument   the source is misconfigured, e.g. an access key without a
//                        secret (a chain stops: silently falling through to another
//                        identity would be worse);
//     kIoError           a file exists but cannot be read (a chain stops).
// * Shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials, sections
//   "[name]") and AWS_CONFIG_FILE (default ~/.aws/config, sections "[profile name]",
//   and "[default]" or "[profile default]" for the default profile). A leading "~/"
//   is expanded with $HOME. INI syntax: full-line comments start with '#' or ';', and
//   a '#' or ';' preceded by whitespace starts an inline comment; "key = value" with
//   whitespace around '=' ignored; key names are case-insensitive; indented lines
//   following a property are continuation lines (nested settings) and are ignored;
//   repeated sections are merged, the last value of a key wins.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cinesis::client::auth {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty = none (long-term credentials)
  // When temporary credentials stop working (epoch ms); nullopt = no known expiry.
  std::optional<EpochMillis> expiration = std::nullopt;
  // The provider that supplied them (set by the chain), e.g. "container credentials".
  std::string provider = {};

  // True when there is neither an access key id nor a secret key (no credentials).
  // A half-filled value (one without the other) is not empty but is invalid.
  bool empty() const { return access_key_id.empty() && secret_access_key.empty(); }
  // True when both the access key id and the secret key are present.
  bool complete() const { return !access_key_id.empty() && !secret_access_key.empty(); }
};

// Every profile of a shared-credentials file (INI, see above) that has an aws_access_key_id,
// with its secret and session token (`provider` = "<path> [<profile>]"): the keys
// `cinesis serve --auth-credentials-file` accepts. kIoError if the file cannot be read
// (kResourceNotFound if it does not exist); kInvalidArgument for a profile with only one of
// the key id and the secret.
Result<std::vector<Credentials>> CredentialsFileKeys(const std::string& path);

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Complete credentials, or an error (see the codes above).
  virtual Result<Credentials> Get() = 0;
  // Short human-readable description, e.g. "environment".
  virtual std::string Name() const = 0;
};

// Always returns `c` (kResourceNotFound if c is empty, kInvalidArgument if partial).
std::unique_ptr<CredentialsProvider> StaticCredentials(Credentials c);

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional). Unset and
// empty variables are treated alike.
std::unique_ptr<CredentialsProvider> EnvironmentCredentials();

// Profile `profile`, else $AWS_PROFILE, else "default", from the shared credentials
// file and the config file (keys aws_access_key_id, aws_secret_access_key,
// aws_session_token). The credentials file wins over the config file for the same
// profile: if its section has a key id or secret, the config file is not consulted
// for credentials. Missing files are not an error (kResourceNotFound).
std::unique_ptr<CredentialsProvider> ProfileCredentials(std::optional<std::string> profile = {});

// The default chain in the order of the AWS SDKs ("standardized credential providers" of the
// AWS SDKs and Tools reference guide); the sources are in credential_providers.h:
//   explicit (if given and not empty) -> environment -> web identity
//   ($AWS_WEB_IDENTITY_TOKEN_FILE + $AWS_ROLE_ARN) -> the shared config/credentials profile
//   (static keys, role_arn with source_profile or credential_source, sso_session /
//   sso_start_url, credential_process) -> container credentials
//   ($AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI) -> EC2 instance metadata (IMDS).
// Get() returns the first complete credentials; stops at the first misconfigured source
// (any error but kResourceNotFound); if none has credentials it fails with
// kInvalidArgument and a message listing every source tried and why it yielded nothing.
// Each Get() re-reads the environment and files and may call STS/IMDS: wrap the chain in
// RefreshingCredentials for a hot path (KinesisClient does).
struct ChainOptions {
  std::optional<Credentials> explicit_credentials;
  std::optional<std::string> profile;  // default: $AWS_PROFILE, else "default"
  // Region for STS and the SSO portal when the profile names none (then $AWS_REGION, ...,
  // else us-east-1).
  std::optional<std::string> region;
  // For a loopback endpoint: IMDS is consulted only when its endpoint is configured
  // ($AWS_EC2_METADATA_SERVICE_ENDPOINT or ec2_metadata_service_endpoint), so a laptop
  // does not wait for 169.254.169.254, and dummy credentials end the chain
  // (kDummyAccessKeyId / kDummySecretAccessKey, "dummy credentials (loopback endpoint)").
  bool loopback = false;
  const Clock* clock = &SystemClock::Instance();  // SSO token expiry
};
std::unique_ptr<CredentialsProvider> NewCredentialsChain(ChainOptions options);

// Compatibility forms of NewCredentialsChain.
std::unique_ptr<CredentialsProvider> DefaultCredentialsChain(
    std::optional<Credentials> explicit_credentials = {}, std::optional<std::string> profile = {});
inline constexpr const char* kDummyAccessKeyId = "cinesis-local";
inline constexpr const char* kDummySecretAccessKey = "cinesis-local";
std::unique_ptr<CredentialsProvider> LoopbackCredentialsChain(
    std::optional<Credentials> explicit_credentials = {}, std::optional<std::string> profile = {});

// Caching and refresh in front of any provider (thread-safe; what the signer calls on every
// request):
// * Credentials with an expiration are refreshed `advance` (5 min) before it. While they are
//   still valid exactly one caller refreshes (single flight); every other caller keeps
//   getting the current credentials without waiting. A failed refresh keeps the current
//   credentials until they actually expire, is reported through the log hook (warning,
//   component "client") and is retried no sooner than `retry_after` later.
// * Once expired (or before the first fetch) callers must wait: one fetches, the others
//   wait for its result (and get its error if it fails).
// * Credentials without an expiration are re-read every `static_ttl` (5 min) the same way,
//   so rotated keys in files are picked up.
// Every successful fetch is logged at debug level naming the provider (no secrets).
struct RefreshOptions {
  std::chrono::milliseconds advance = std::chrono::minutes(5);
  std::chrono::milliseconds static_ttl = std::chrono::minutes(5);
  std::chrono::milliseconds retry_after = std::chrono::seconds(10);
  std::chrono::milliseconds wait_limit = std::chrono::seconds(60);  // for waiting callers
};
std::unique_ptr<CredentialsProvider> RefreshingCredentials(
    std::unique_ptr<CredentialsProvider> inner, const Clock& clock, RefreshOptions options = {});

// An endpoint URL configured outside the code, and where it was found.
struct ConfiguredEndpoint {
  enum class Source { kServiceEnv, kGlobalEnv, kProfile };
  std::string url;
  Source source = Source::kServiceEnv;
  std::string origin;  // e.g. "AWS_ENDPOINT_URL_KINESIS", "endpoint_url of profile \"dev\" in ..."
};

// The AWS SDKs' configured endpoint for Kinesis ("service-specific endpoints" of the AWS
// SDKs and Tools reference guide), explicit endpoints aside: $AWS_ENDPOINT_URL_KINESIS,
// then $AWS_ENDPOINT_URL, then `endpoint_url` in the profile's section of the config
// file (`profile`, else $AWS_PROFILE, else "default"). All of them are skipped when
// $AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is "true", or, when that variable is unset, when
// the profile sets `ignore_configured_endpoint_urls = true` (values are case-insensitive;
// anything but true/false is kInvalidArgument naming the setting). The `services` section
// of the config file (per-service endpoint_url) is not read. nullopt: nothing configured.
// An unreadable config file is kIoError.
Result<std::optional<ConfiguredEndpoint>> ConfiguredEndpointUrl(
    std::optional<std::string> profile = {});

// True when the host of `url` (scheme://host[:port][/path]) is a loopback address:
// 127.0.0.0/8, ::1 (written [::1]), ::ffff:127.x.y.z, or the name "localhost"
// (case-insensitive, also with a trailing dot). No name resolution is done.
bool IsLoopbackUrl(std::string_view url);

// explicit (non-empty) -> $AWS_REGION -> $AWS_DEFAULT_REGION -> `region` of the
// profile (`profile`, else $AWS_PROFILE, else "default") in the config file;
// nullopt if none is set (or the config file cannot be read). No IMDS (see RegionFromImds).
std::optional<std::string> ResolveRegion(std::optional<std::string> explicit_region = {},
                                         std::optional<std::string> profile = {});

// A region and where it came from ("ClientOptions.region", "AWS_REGION", ...,
// "instance metadata", "default").
struct RegionAndOrigin {
  std::string region;
  std::string origin;
};
// ResolveRegion's chain with its origin, then (when `allow_imds` and nothing else is set)
// the instance's region from IMDS (/latest/meta-data/placement/region), else us-east-1.
RegionAndOrigin ResolveRegionWithOrigin(std::optional<std::string> explicit_region,
                                        std::optional<std::string> profile, bool allow_imds);

// The partitions: "aws", "aws-cn" (cn-*), "aws-us-gov" (us-gov-*).
struct Partition {
  std::string name;
  std::string dns_suffix;             // amazonaws.com, amazonaws.com.cn
  std::string dual_stack_dns_suffix;  // api.aws, api.amazonwebservices.com.cn
};
Partition PartitionOf(std::string_view region);

// Kinesis's endpoint for a region, as the Kinesis endpoint rule set (endpoint-rule-set-1.json
// of the service model, e.g. as generated into aws-sdk-net's AmazonKinesisEndpointProvider)
// builds it:
//   FIPS + dual-stack: https://kinesis-fips.{region}.{dualStackDnsSuffix}
//   FIPS:              https://kinesis-fips.{region}.{dnsSuffix}, except aws-us-gov:
//                      https://kinesis.{region}.amazonaws.com (already FIPS)
//   dual-stack:        https://kinesis.{region}.{dualStackDnsSuffix}
//   otherwise:         https://kinesis.{region}.{dnsSuffix}
std::string KinesisEndpoint(std::string_view region, bool fips = false, bool dual_stack = false);
// Kept for callers: KinesisEndpoint(region).
std::string EndpointForRegion(std::string_view region);

// $AWS_USE_FIPS_ENDPOINT / $AWS_USE_DUALSTACK_ENDPOINT, else use_fips_endpoint /
// use_dualstack_endpoint of the profile (true/false, case-insensitive; anything else is
// kInvalidArgument naming the setting).
struct EndpointVariant {
  bool fips = false;
  bool dual_stack = false;
};
Result<EndpointVariant> ResolveEndpointVariant(std::optional<std::string> profile = {});

// The certificate authorities for https (as the AWS CLI and SDKs): `explicit_path`, else
// $AWS_CA_BUNDLE, else ca_bundle of the profile, else "" (the system's store). A named file
// that cannot be read is kInvalidArgument naming where the name came from.
Result<std::string> ResolveCaBundle(const std::optional<std::string>& explicit_path,
                                    std::optional<std::string> profile = {});

}  // namespace cinesis::client::auth
