// Internal to the auth library: the shared-file helpers of credentials.cc that the other
// credential sources (credential_providers.cc) reuse. Not part of any public contract.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/credentials.h"

namespace cinesis::client::auth::internal {

using Section = std::map<std::string, std::string>;

// getenv, with unset and empty treated alike.
std::optional<std::string> GetEnv(const char* name);
// `profile`, else $AWS_PROFILE, else "default".
std::string ProfileName(const std::optional<std::string>& profile);
// The path of the config file ($AWS_CONFIG_FILE or ~/.aws/config), for messages.
std::string ConfigFileName();

// The settings of `profile`: its config-file section ("[profile name]", "[default]")
// overlaid with its credentials-file section; nullopt if neither file has it. kIoError
// when a file exists but cannot be read.
Result<std::optional<Section>> LoadProfile(const std::string& profile);
// A raw section of the config file by its full header, e.g. "sso-session my-sso".
Result<std::optional<Section>> LoadConfigSection(const std::string& header);
// The value of `key` in `s`, "" when absent.
std::string Lookup(const Section& s, const std::string& key);
// true/false (case-insensitive); anything else is kInvalidArgument naming `setting`.
Result<bool> ParseBool(const std::string& setting, const std::string& value);
// The content of a file, nullopt if it does not exist, kIoError if unreadable.
Result<std::optional<std::string>> ReadFile(const std::string& path);

// The chain: the first provider that yields credentials wins; kResourceNotFound moves on,
// any other error stops the chain (see credentials.h). Sets Credentials::provider.
std::unique_ptr<CredentialsProvider> NewChain(
    std::vector<std::unique_ptr<CredentialsProvider>> providers, bool explicit_given);
// A provider that always yields `c` under `name`.
std::unique_ptr<CredentialsProvider> NewFixed(Credentials c, std::string name);

}  // namespace cinesis::client::auth::internal
