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

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cinesis::client::auth {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty = none (long-term credentials)

  // True when there is neither an access key id nor a secret key (no credentials).
  // A half-filled value (one without the other) is not empty but is invalid.
  bool empty() const { return access_key_id.empty() && secret_access_key.empty(); }
  // True when both the access key id and the secret key are present.
  bool complete() const { return !access_key_id.empty() && !secret_access_key.empty(); }
};

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

// explicit (if given and not empty) -> environment -> profile (`profile`, else
// $AWS_PROFILE, else "default"). Get() returns the first complete credentials; stops
// at the first misconfigured source; if none has credentials it fails with
// kInvalidArgument and a message listing every source tried and why it yielded
// nothing. Each Get() re-reads the environment and files: callers on a hot path
// should cache the result (no expiry handling exists for these sources).
std::unique_ptr<CredentialsProvider> DefaultCredentialsChain(
    std::optional<Credentials> explicit_credentials = {}, std::optional<std::string> profile = {});

// The chain above followed by a last source that always yields dummy credentials
// (kDummyAccessKeyId / kDummySecretAccessKey), named "dummy credentials (loopback
// endpoint)". For loopback endpoints only: a local server accepts any signature, and
// real credentials, when found, are still used first. Misconfigured sources still stop it.
inline constexpr const char* kDummyAccessKeyId = "cinesis-local";
inline constexpr const char* kDummySecretAccessKey = "cinesis-local";
std::unique_ptr<CredentialsProvider> LoopbackCredentialsChain(
    std::optional<Credentials> explicit_credentials = {}, std::optional<std::string> profile = {});

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
// nullopt if none is set (or the config file cannot be read).
std::optional<std::string> ResolveRegion(std::optional<std::string> explicit_region = {},
                                         std::optional<std::string> profile = {});

// https://kinesis.{region}.amazonaws.com, or ...amazonaws.com.cn for "cn-" regions.
std::string EndpointForRegion(std::string_view region);

}  // namespace cinesis::client::auth
