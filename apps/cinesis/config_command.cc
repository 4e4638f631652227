// See config_command.h.
#include "config_command.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cinesis/client.h"
#include "cinesis/log.h"
#include "cli_util.h"
#include "client/aws_http.h"
#include "client/credential_providers.h"
#include "client/credentials.h"

namespace cinesis::app {

ConfigCommand::ConfigCommand(CLI::App& app) {
  cmd_ = app.add_subcommand(
      "config",
      "Print the region, endpoint and credentials source a client command would use "
      "(no secrets; Kinesis is not called)");
  cmd_->add_option("--endpoint", endpoint_,
                   "As for `cinesis streams`: default AWS_ENDPOINT_URL_KINESIS, else "
                   "AWS_ENDPOINT_URL, else http://127.0.0.1:4567; empty for AWS itself");
  cmd_->add_option("--region", region_, "Region (default: the AWS region chain)");
  cmd_->add_option("--profile", profile_, "Profile of the shared files (default: AWS_PROFILE)");
  cmd_->add_flag("--debug", debug_, "Also log the library's debug lines (e.g. the provider)");
  cmd_->footer(std::string(ExitCodesHelp()));
}

int ConfigCommand::Run() {
  if (debug_) SetLogLevel(LogLevel::kDebug);
  const std::string endpoint = ResolveEndpoint(
      endpoint_, +[](const char* name) -> const char* { return std::getenv(name); });
  ClientOptions o;
  if (endpoint.empty()) {
    ::setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
  } else {
    o.endpoint = endpoint;
  }
  if (!region_.empty()) o.region = region_;
  if (!profile_.empty()) o.profile = profile_;
  // The region first (IMDS only for a non-loopback endpoint), so it is asked at most once.
  const bool loopback = !endpoint.empty() && client::auth::IsLoopbackUrl(endpoint);
  const auto region = client::auth::ResolveRegionWithOrigin(o.region, o.profile, !loopback);
  o.region = region.region;
  auto resolved = cinesis::ResolveEndpoint(o);
  if (!resolved.ok()) {
    std::fprintf(stderr, "cinesis: %s\n", resolved.status().ToString().c_str());
    return ExitCodeFor(resolved.status());
  }
  std::printf("profile:     %s\n",
              o.profile ? o.profile->c_str()
                        : (std::getenv("AWS_PROFILE") != nullptr && *std::getenv("AWS_PROFILE")
                               ? std::getenv("AWS_PROFILE")
                               : "default"));
  std::printf("region:      %s (%s)\n", region.region.c_str(),
              region_.empty() ? region.origin.c_str() : "--region");
  // The CLI picks the endpoint itself (cli_util.h); say which rule applied.
  std::string origin = resolved->origin;
  if (resolved->source == ResolvedEndpoint::Source::kExplicit) {
    if (endpoint_) {
      origin = "--endpoint";
    } else if (const char* v = std::getenv("AWS_ENDPOINT_URL_KINESIS"); v != nullptr && *v) {
      origin = "AWS_ENDPOINT_URL_KINESIS";
    } else if (const char* g = std::getenv("AWS_ENDPOINT_URL"); g != nullptr && *g) {
      origin = "AWS_ENDPOINT_URL";
    } else {
      origin = "the cinesis default: the local server";
    }
  }
  std::printf("endpoint:    %s (%s%s)\n", resolved->url.c_str(), origin.c_str(),
              resolved->loopback ? ", loopback" : "");

  client::auth::ChainOptions chain;
  chain.profile = o.profile;
  chain.region = resolved->region;
  chain.loopback = resolved->loopback;
  auto provider = client::auth::RefreshingCredentials(
      client::auth::NewCredentialsChain(std::move(chain)), SystemClock::Instance());
  auto creds = provider->Get();
  if (!creds.ok()) {
    std::printf("credentials: none\n");
    std::fprintf(stderr, "cinesis: %s\n", creds.status().ToString().c_str());
    return ExitCodeFor(creds.status()) == kExitUsage ? kExitAccess : ExitCodeFor(creds.status());
  }
  std::printf("credentials: %s\n", creds->provider.c_str());
  std::printf("  access key id: %s\n", client::auth::MaskKeyId(creds->access_key_id).c_str());
  std::printf("  session token: %s\n", creds->session_token.empty() ? "no" : "yes");
  if (creds->expiration) {
    const std::time_t t = static_cast<std::time_t>(*creds->expiration / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const long long left = (*creds->expiration - SystemClock::Instance().NowMillis()) / 60'000;
    std::printf("  expires:       %s (in %lld min)\n", buf, left);
  } else {
    std::printf("  expires:       never (long-term or unknown)\n");
  }
  return kExitOk;
}

}  // namespace cinesis::app
