#include "auth_config.h"

#include <cstdlib>
#include <string>
#include <utility>

#include "client/credentials.h"

namespace cinesis::app {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

Result<std::shared_ptr<const api::SigV4Verifier>> MakeVerifier(const ServeConfig& config,
                                                               const Clock& clock) {
  if (config.auth != "sigv4") {
    if (!config.auth_keys.empty() || !config.auth_credentials_file.empty()) {
      return Status(Code::kInvalidArgument,
                    "--auth-key and --auth-credentials-file need --auth sigv4");
    }
    return std::shared_ptr<const api::SigV4Verifier>();
  }
  api::SigV4VerifierOptions o;
  o.region = config.engine.scope.region;
  o.max_skew = std::chrono::minutes(config.auth_max_skew_minutes);
  o.clock = &clock;
  for (const std::string& k : config.auth_keys) {
    const std::size_t c1 = k.find(':');
    const std::size_t c2 = c1 == std::string::npos ? c1 : k.find(':', c1 + 1);
    if (c1 == std::string::npos || c1 == 0 || c1 + 1 == k.size() || c2 == c1 + 1 ||
        (c2 != std::string::npos && (c2 + 1 == k.size() || k.find(':', c2 + 1) != k.npos))) {
      return Status(Code::kInvalidArgument,
                    "--auth-key: expected ID:SECRET or ID:SECRET:SESSION_TOKEN, got '" +
                        k.substr(0, c1) + ":...'");
    }
    api::SigV4Key key{k.substr(c1 + 1, c2 == std::string::npos ? c2 : c2 - c1 - 1),
                      c2 == std::string::npos ? std::string() : k.substr(c2 + 1)};
    o.keys.emplace(k.substr(0, c1), std::move(key));
  }
  if (!config.auth_credentials_file.empty()) {
    auto file = client::auth::CredentialsFileKeys(config.auth_credentials_file);
    if (!file.ok()) {
      return Status(Code::kInvalidArgument, "--auth-credentials-file: " + file.status().ToString());
    }
    for (auto& c : *file) {
      o.keys.emplace(c.access_key_id, api::SigV4Key{c.secret_access_key, c.session_token});
    }
  }
  const std::string env_id = Env("AWS_ACCESS_KEY_ID");
  const std::string env_secret = Env("AWS_SECRET_ACCESS_KEY");
  if (!env_id.empty() && !env_secret.empty()) {
    o.keys.emplace(env_id, api::SigV4Key{env_secret, Env("AWS_SESSION_TOKEN")});
  }
  if (o.keys.empty()) {
    return Status(Code::kInvalidArgument,
                  "--auth sigv4 needs at least one access key: --auth-key ID:SECRET, "
                  "--auth-credentials-file FILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return std::shared_ptr<const api::SigV4Verifier>(
      std::make_shared<api::SigV4Verifier>(std::move(o)));
}

}  // namespace cinesis::app
