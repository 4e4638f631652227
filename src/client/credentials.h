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

// explicit (non-empty) -> $AWS_REGION -> $AWS_DEFAULT_REGION -> `region` of the
// profile (`profile`, else $AWS_PROFILE, else "default") in the config file;
// nullopt if none is set (or the config file cannot be read).
std::optional<std::string> ResolveRegion(std::optional<std::string> explicit_region = {},
                                         std::optional<std::string> profile = {});

// https://kinesis.{region}.amazonaws.com, or ...amazonaws.com.cn for "cn-" regions.
std::string EndpointForRegion(std::string_view region);

}  // namespace cinesis::client::auth
