// The client's and the retry policy's option tables, declared once: Validate() enforces them
// (KinesisClient::Create calls it), docs/configuration.md is generated from them and
// option_table_test checks their defaults against ClientOptions' and RetryOptions'.
#include "client/client_options.h"

#include "common/status.h"

namespace cinesis {
namespace {

std::string Unset(const std::optional<std::string>& v, const char* unset) {
  return v ? *v : std::string(unset);
}

}  // namespace

const options::Table<ClientOptions>& ClientOptionTable() {
  using O = ClientOptions;
  using options::kNoMax;
  static const auto* table = new options::Table<O>{
      options::Custom<O>(
          "endpoint", "URL", "(as the AWS SDKs)", "http://HOST:PORT or https://HOST[:PORT]",
          "Where requests go. Unset: `$AWS_ENDPOINT_URL_KINESIS`, `$AWS_ENDPOINT_URL`, the "
          "profile's endpoint_url, else the regional AWS endpoint (see ResolveEndpoint).",
          [](const O& o) { return Unset(o.endpoint, "(as the AWS SDKs)"); }),
      options::Custom<O>("region", "string", "(as the AWS SDKs)", "",
                         "Signing region. Unset: `$AWS_REGION`, `$AWS_DEFAULT_REGION`, the "
                         "profile's region, instance metadata, else us-east-1.",
                         [](const O& o) { return Unset(o.region, "(as the AWS SDKs)"); }),
      options::Custom<O>(
          "access_key_id", "string", "(credentials chain)", "with secret_access_key",
          "Explicit credentials. Unset: the AWS SDKs' chain; a loopback endpoint needs none.",
          [](const O& o) { return Unset(o.access_key_id, "(credentials chain)"); },
          [](const O& o) -> std::string {
            return o.access_key_id.has_value() != o.secret_access_key.has_value()
                       ? "goes together with secret_access_key"
                       : "";
          }),
      options::Custom<O>("secret_access_key", "string", "(credentials chain)", "with access_key_id",
                         "Explicit credentials: the secret.",
                         [](const O& o) {
                           return std::string(o.secret_access_key ? "(given)"
                                                                  : "(credentials chain)");
                         }),
      options::Custom<O>(
          "session_token", "string", "(none)", "",
          "Explicit credentials: session token of temporary credentials.",
          [](const O& o) { return std::string(o.session_token ? "(given)" : "(none)"); }),
      options::Custom<O>("profile", "string", "(as the AWS SDKs)", "",
                         "Shared config/credentials profile. Unset: `$AWS_PROFILE`, else "
                         "default.",
                         [](const O& o) { return Unset(o.profile, "(as the AWS SDKs)"); }),
      options::Whole<O>("connect_timeout", "ms", &O::connect_timeout, 1, kNoMax, "3000",
                        "Time allowed to connect (a dead endpoint fails this fast)."),
      options::Whole<O>("request_timeout", "ms", &O::request_timeout, 1, kNoMax, "30000",
                        "Time allowed for one HTTP request."),
      options::Flag<O>("verify_tls", &O::verify_tls, "true",
                       "Check the server's certificate (https endpoints)."),
      options::Custom<O>("ca_bundle", "string", "(as the AWS SDKs)", "",
                         "PEM file of the certificate authorities to trust (https). Unset: "
                         "`$AWS_CA_BUNDLE`, the profile's ca_bundle, else the system's.",
                         [](const O& o) { return Unset(o.ca_bundle, "(as the AWS SDKs)"); }),
      options::Custom<O>("retry", "RetryOptions", "(below)", "",
                         "Retries of retriable errors (the RetryOptions table).",
                         [](const O&) { return std::string("(below)"); }),
  };
  return *table;
}

const options::Table<RetryOptions>& RetryOptionTable() {
  using O = RetryOptions;
  using options::kNoMax;
  static const auto* table = new options::Table<O>{
      options::Whole<O>("max_attempts", "integer", &O::max_attempts, 1, kNoMax, "5",
                        "Calls made for one request, retries included (1: no retries)."),
      options::Whole<O>("base_delay", "ms", &O::base_delay, 0, kNoMax, "50",
                        "The wait before attempt n is uniform in [0, min(max_delay, "
                        "base_delay * 2^(n-2))] (full jitter)."),
      options::Custom<O>(
          "max_delay", "ms", "2000", ">= base_delay", "Cap on one wait.",
          [](const O& o) { return std::to_string(o.max_delay.count()); },
          [](const O& o) -> std::string {
            return o.max_delay < o.base_delay ? "must be >= base_delay" : "";
          }),
      options::Custom<O>(
          "deadline", "ms", "(none)", ">= 1",
          "Overall time from the first attempt; no retry starts after it.",
          [](const O& o) { return o.deadline ? std::to_string(o.deadline->count()) : "(none)"; },
          [](const O& o) -> std::string {
            return o.deadline && o.deadline->count() < 1 ? "must be >= 1 ms" : "";
          }),
      options::Custom<O>(
          "clock", "Clock*", "(system clock)", "not null", "Time source (tests: ManualClock).",
          [](const O& o) {
            return std::string(o.clock == &SystemClock::Instance() ? "(system clock)" : "(given)");
          },
          [](const O& o) -> std::string { return o.clock ? "" : "must not be null"; }),
      options::Custom<O>(
          "sleeper", "Sleeper*", "(real)", "not null",
          "Waits between attempts (tests: one that advances a ManualClock).",
          [](const O& o) {
            return std::string(o.sleeper == &Sleeper::Real() ? "(real)" : "(given)");
          },
          [](const O& o) -> std::string { return o.sleeper ? "" : "must not be null"; }),
  };
  return *table;
}

Status Validate(const RetryOptions& o) {
  return options::Validate(RetryOptionTable(), o, "RetryOptions");
}

Status Validate(const ClientOptions& o) {
  RETURN_IF_ERROR(options::Validate(ClientOptionTable(), o, "ClientOptions"));
  return options::Validate(RetryOptionTable(), o.retry, "ClientOptions.retry");
}

std::string ClientOptionsMarkdown() { return options::Markdown(ClientOptionTable()); }
std::string RetryOptionsMarkdown() { return options::Markdown(RetryOptionTable()); }

}  // namespace cinesis
