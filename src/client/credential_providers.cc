// The credential sources beyond static keys, the chain, the refreshing cache and the region
// chain with IMDS: see credential_providers.h and credentials.h.
#include "client/credential_providers.h"

#include <openssl/evp.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <set>
#include <utility>
#include <vector>

#include "cinesis/log.h"
#include "client/aws_http.h"
#include "client/credentials_internal.h"
#include "client/sts.h"
#include "common/thread_annotations.h"

namespace cinesis::client::auth {
namespace {

using internal::GetEnv;
using internal::Lookup;
using internal::Section;

EpochMillis WallMillis() { return SystemClock::Instance().NowMillis(); }

std::string RegionFor(const std::optional<std::string>& region,
                      const std::optional<std::string>& profile) {
  return ResolveRegion(region, profile).value_or("us-east-1");
}

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Sets a default provider name on success.
Result<Credentials> Named(Result<Credentials> r, const std::string& name) {
  if (r.ok() && r->provider.empty()) r->provider = name;
  return r;
}

// A configured source that failed: never kResourceNotFound (which would let the chain
// fall through to another identity).
Status Misconfigured(const Status& st, const std::string& where) {
  const Code c = st.code() == Code::kResourceNotFound ? Code::kInvalidArgument : st.code();
  return Status(c, where + ": " + st.message());
}

// ---- web identity --------------------------------------------------------------------

Result<Credentials> WebIdentity(const std::string& token_file, const std::string& role_arn,
                                std::string session_name, const std::string& region,
                                const std::string& where) {
  ASSIGN_OR_RETURN(const std::optional<std::string> token, internal::ReadFile(token_file));
  if (!token || TrimNewlines(*token).empty()) {
    return Status(Code::kInvalidArgument,
                  where + ": web identity token file " + token_file + " is missing or empty");
  }
  if (session_name.empty()) session_name = "cinesis-" + std::to_string(WallMillis());
  auto r =
      AssumeRoleWithWebIdentity(TrimNewlines(*token), {role_arn, session_name, "", {}}, region);
  if (!r.ok()) return Misconfigured(r.status(), where);
  return r;
}

class WebIdentityProvider final : public CredentialsProvider {
 public:
  WebIdentityProvider(std::optional<std::string> region, std::optional<std::string> profile)
      : region_(std::move(region)), profile_(std::move(profile)) {}
  Result<Credentials> Get() override {
    const auto file = GetEnv("AWS_WEB_IDENTITY_TOKEN_FILE");
    const auto role = GetEnv("AWS_ROLE_ARN");
    if (!file && !role) {
      return Status(Code::kResourceNotFound,
                    "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set");
    }
    if (!file || !role) {
      return Status(Code::kInvalidArgument,
                    std::string(file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE") +
                        " is missing (" + (file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN") +
                        " is set)");
    }
    return Named(WebIdentity(*file, *role, GetEnv("AWS_ROLE_SESSION_NAME").value_or(""),
                             RegionFor(region_, profile_), Name()),
                 Name());
  }
  std::string Name() const override { return "web identity"; }

 private:
  const std::optional<std::string> region_, profile_;
};

// ---- container -------------------------------------------------------------------------

bool AllowedContainerHost(const std::string& url) {
  if (url.rfind("https://", 0) == 0) return true;
  if (url.rfind("http://", 0) != 0) return false;
  if (IsLoopbackUrl(url)) return true;
  std::string_view rest = std::string_view(url).substr(7);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    rest.remove_prefix(at + 1);
  }
  std::string host;
  if (!rest.empty() && rest.front() == '[') {
    host = std::string(rest.substr(1, rest.find(']') - 1));
    for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return host == "fd00:ec2::23";
  }
  host = std::string(rest.substr(0, rest.find(':')));
  return host == "169.254.170.2" || host == "169.254.170.23";
}

}  // namespace

Result<std::optional<std::string>> ContainerCredentialsUrl() {
  if (auto rel = GetEnv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    std::string path = *rel;
    if (path.front() != '/') path = "/" + path;
    return std::optional<std::string>("http://169.254.170.2" + path);
  }
  if (auto full = GetEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    if (!AllowedContainerHost(*full)) {
      return Status(Code::kInvalidArgument,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI \"" + *full +
                        "\": an http URL must name a loopback host, 169.254.170.2, "
                        "169.254.170.23 or [fd00:ec2::23] (or use https)");
    }
    return std::optional<std::string>(*full);
  }
  return std::optional<std::string>();
}

namespace {

Result<Credentials> FetchContainer(const std::string& where) {
  ASSIGN_OR_RETURN(const std::optional<std::string> url, ContainerCredentialsUrl());
  if (!url) {
    return Status(Code::kResourceNotFound,
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set");
  }
  HttpCall call;
  call.url = *url;
  call.timeout = std::chrono::seconds(2);
  std::optional<std::string> token;
  if (auto file = GetEnv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    ASSIGN_OR_RETURN(const std::optional<std::string> text, internal::ReadFile(*file));
    if (!text) {
      return Status(Code::kInvalidArgument,
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + *file + " does not exist");
    }
    token = TrimNewlines(*text);
  } else if (auto t = GetEnv("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    token = *t;
  }
  if (token) {
    if (token->find_first_of("\r\n") != std::string::npos) {
      return Status(Code::kInvalidArgument, "the container authorization token contains a newline");
    }
    call.headers.emplace_back("Authorization", *token);
  }
  call.headers.emplace_back("Accept", "application/json");
  Result<HttpReply> reply = Status(Code::kIoError, "not sent");
  for (int attempt = 0; attempt < 2; ++attempt) {
    reply = Fetch(call);
    if (reply.ok() && reply->status < 500) break;
  }
  if (!reply.ok()) return Status(Code::kIoError, where + ": " + reply.status().message());
  if (reply->status != 200) {
    return Status(reply->status >= 500 ? Code::kIoError : Code::kInvalidArgument,
                  where + ": " + *url + " answered HTTP " + std::to_string(reply->status) + ": " +
                      reply->body.substr(0, 200));
  }
  return CredentialsFromJson(reply->body, where, "AccessKeyId", "SecretAccessKey", "Token",
                             "Expiration");
}

class ContainerProvider final : public CredentialsProvider {
 public:
  Result<Credentials> Get() override { return Named(FetchContainer(Name()), Name()); }
  std::string Name() const override { return "container credentials"; }
};

// ---- IMDS ------------------------------------------------------------------------------

class Imds {
 public:
  explicit Imds(ImdsSettings s) : s_(std::move(s)) {}

  // GET of a metadata path with the v2 token when there is one.
  Result<std::string> GetPath(const std::string& path) {
    if (!token_checked_) {
      RETURN_IF_ERROR(FetchToken());
    }
    HttpCall call;
    call.url = s_.endpoint + path;
    call.timeout = s_.timeout;
    if (token_) call.headers.emplace_back("X-aws-ec2-metadata-token", *token_);
    ASSIGN_OR_RETURN(HttpReply reply, Send(call));
    if (reply.status == 404) {
      return Status(Code::kResourceNotFound, "IMDS " + path + " not found (HTTP 404)");
    }
    if (reply.status != 200) {
      return Status(Code::kIoError,
                    "IMDS " + path + " answered HTTP " + std::to_string(reply.status));
    }
    return std::move(reply.body);
  }

 private:
  // Retries a 5xx and a refused connection once; a timeout is not retried, and after one
  // nothing is (so a laptop, where nothing answers at 169.254.169.254, gives up after one
  // timeout for the token and at most one for the v1 attempt).
  Result<HttpReply> Send(const HttpCall& call) {
    Result<HttpReply> reply = Status(Code::kIoError, "not sent");
    for (int attempt = 0; attempt < s_.attempts; ++attempt) {
      reply = Fetch(call);
      if (reply.ok() && reply->status < 500) break;
      if (!reply.ok() &&
          (silent_ || reply.status().message().find(kTimeoutMarker) != std::string::npos)) {
        silent_ = true;
        break;
      }
    }
    return reply;
  }

  Status FetchToken() {
    token_checked_ = true;
    HttpCall call;
    call.method = "PUT";
    call.url = s_.endpoint + "/latest/api/token";
    call.timeout = s_.timeout;
    call.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    Result<HttpReply> reply = Send(call);
    if (reply.ok() && reply->status == 200 && !reply->body.empty()) {
      token_ = reply->body;
      return Status::Ok();
    }
    if (!reply.ok()) {
      // No reply: not on EC2, or (a timeout) a container behind the default hop limit of 1,
      // where the PUT's reply is dropped but v1 GETs work: try v1 when allowed.
      const bool timed_out = reply.status().message().find(kTimeoutMarker) != std::string::npos;
      if (s_.v1_disabled || !timed_out) {
        return Status(Code::kResourceNotFound,
                      "IMDS at " + s_.endpoint + " not reachable: " + reply.status().message());
      }
      return Status::Ok();
    }
    if (reply->status == 400) {
      return Status(Code::kInvalidArgument, "IMDS token request rejected (HTTP 400)");
    }
    if (s_.v1_disabled) {
      return Status(Code::kResourceNotFound,
                    "IMDSv2 token request answered HTTP " + std::to_string(reply->status) +
                        " and IMDSv1 is disabled (AWS_EC2_METADATA_V1_DISABLED / "
                        "ec2_metadata_v1_disabled)");
    }
    return Status::Ok();  // 403/404/405/...: IMDSv1
  }

  const ImdsSettings s_;
  bool silent_ = false;
  bool token_checked_ = false;
  std::optional<std::string> token_;
};

class ImdsProvider final : public CredentialsProvider {
 public:
  explicit ImdsProvider(std::optional<std::string> profile) : profile_(std::move(profile)) {}
  Result<Credentials> Get() override {
    ASSIGN_OR_RETURN(ImdsSettings s, ImdsSettingsFor(profile_));
    if (s.disabled) {
      return Status(Code::kResourceNotFound, "disabled by AWS_EC2_METADATA_DISABLED");
    }
    Imds imds(s);
    const std::string base = "/latest/meta-data/iam/security-credentials/";
    auto role = imds.GetPath(base);
    if (!role.ok()) {
      // Unreachable or no instance profile: not configured here, the chain moves on.
      const Code c = role.status().code();
      return Status(c == Code::kInvalidArgument ? c : Code::kResourceNotFound,
                    role.status().message());
    }
    std::string name = TrimNewlines(*role);
    name = name.substr(0, name.find('\n'));
    if (name.empty()) return Status(Code::kResourceNotFound, "IMDS: no instance profile role");
    ASSIGN_OR_RETURN(const std::string doc, imds.GetPath(base + name));
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(doc, ec);
    if (!ec && v.is_object()) {
      if (const auto* code = v.get_object().if_contains("Code");
          code != nullptr && code->is_string() && code->get_string() != "Success") {
        return Status(Code::kIoError, "IMDS credentials for role " + name + ": Code " +
                                          std::string(code->get_string()));
      }
    }
    auto c = CredentialsFromJson(doc, "IMDS role " + name, "AccessKeyId", "SecretAccessKey",
                                 "Token", "Expiration");
    return Named(std::move(c), Name());
  }
  std::string Name() const override { return "EC2 instance metadata"; }

 private:
  const std::optional<std::string> profile_;
};

}  // namespace

Result<ImdsSettings> ImdsSettingsFor(std::optional<std::string> profile) {
  ImdsSettings s;
  const std::string name = internal::ProfileName(profile);
  ASSIGN_OR_RETURN(const std::optional<Section> section, internal::LoadProfile(name));
  auto setting = [&](const char* env, const char* key) -> std::optional<std::string> {
    if (auto v = GetEnv(env)) return v;
    if (section) {
      std::string v = Lookup(*section, key);
      if (!v.empty()) return v;
    }
    return std::nullopt;
  };
  if (auto v = GetEnv("AWS_EC2_METADATA_DISABLED")) {
    ASSIGN_OR_RETURN(s.disabled, internal::ParseBool("AWS_EC2_METADATA_DISABLED", *v));
  }
  if (auto v = setting("AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled")) {
    ASSIGN_OR_RETURN(s.v1_disabled, internal::ParseBool("AWS_EC2_METADATA_V1_DISABLED", *v));
  }
  if (auto v = setting("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint")) {
    s.endpoint = *v;
    s.endpoint_configured = true;
  } else {
    const std::string mode =
        setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ec2_metadata_service_endpoint_mode")
            .value_or("IPv4");
    if (mode == "IPv6" || mode == "ipv6") {
      s.endpoint = "http://[fd00:ec2::254]";
    } else if (mode == "IPv4" || mode == "ipv4") {
      s.endpoint = "http://169.254.169.254";
    } else {
      return Status(
          Code::kInvalidArgument,
          "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: expected IPv4 or IPv6, got \"" + mode + "\"");
    }
  }
  while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
  return s;
}

std::unique_ptr<CredentialsProvider> ImdsCredentials(std::optional<std::string> profile) {
  return std::make_unique<ImdsProvider>(std::move(profile));
}

Result<std::string> ImdsRegion(std::optional<std::string> profile) {
  ASSIGN_OR_RETURN(ImdsSettings s, ImdsSettingsFor(std::move(profile)));
  if (s.disabled) return Status(Code::kResourceNotFound, "IMDS disabled");
  Imds imds(s);
  ASSIGN_OR_RETURN(std::string region, imds.GetPath("/latest/meta-data/placement/region"));
  region = TrimNewlines(region);
  if (region.empty()) return Status(Code::kResourceNotFound, "IMDS: empty region");
  return region;
}

std::unique_ptr<CredentialsProvider> WebIdentityCredentials(std::optional<std::string> region,
                                                            std::optional<std::string> profile) {
  return std::make_unique<WebIdentityProvider>(std::move(region), std::move(profile));
}

std::unique_ptr<CredentialsProvider> ContainerCredentials() {
  return std::make_unique<ContainerProvider>();
}

namespace {

// ---- credential_process ------------------------------------------------------------------

Result<Credentials> RunProcess(const std::string& command, const std::string& where) {
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return Status(Code::kIoError, where + ": cannot run credential_process");
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0 && out.size() < (1 << 20)) out.append(buf, n);
  const int status = ::pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status(Code::kInvalidArgument,
                  where + ": credential_process \"" + command + "\" failed (exit status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(out, ec);
  if (ec || !v.is_object()) {
    return Status(Code::kInvalidArgument, where + ": credential_process output is not JSON");
  }
  const auto* version = v.get_object().if_contains("Version");
  if (version == nullptr || !version->is_int64() || version->get_int64() != 1) {
    return Status(Code::kInvalidArgument,
                  where + ": credential_process output must have \"Version\": 1");
  }
  return CredentialsFromJson(out, where + ": credential_process", "AccessKeyId", "SecretAccessKey",
                             "SessionToken", "Expiration");
}

// ---- SSO ---------------------------------------------------------------------------------

std::string Sha1Hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

Result<Credentials> Sso(const Section& profile, const std::string& where, const Clock& clock) {
  std::string start_url = Lookup(profile, "sso_start_url");
  std::string sso_region = Lookup(profile, "sso_region");
  std::string cache_key = start_url;
  const std::string session = Lookup(profile, "sso_session");
  if (!session.empty()) {
    ASSIGN_OR_RETURN(const std::optional<Section> s,
                     internal::LoadConfigSection("sso-session " + session));
    if (!s) {
      return Status(Code::kInvalidArgument, where + ": sso_session \"" + session +
                                                "\" has no [sso-session " + session + "] in " +
                                                internal::ConfigFileName());
    }
    start_url = Lookup(*s, "sso_start_url");
    sso_region = Lookup(*s, "sso_region");
    cache_key = session;
  }
  const std::string account = Lookup(profile, "sso_account_id");
  const std::string role = Lookup(profile, "sso_role_name");
  if (start_url.empty() || sso_region.empty() || account.empty() || role.empty()) {
    return Status(Code::kInvalidArgument,
                  where +
                      ": an SSO profile needs sso_start_url, sso_region (in the profile or "
                      "its sso-session), sso_account_id and sso_role_name");
  }
  const auto home = GetEnv("HOME");
  if (!home) return Status(Code::kInvalidArgument, where + ": $HOME is not set (SSO cache)");
  const std::string cache = *home + "/.aws/sso/cache/" + Sha1Hex(cache_key) + ".json";
  ASSIGN_OR_RETURN(const std::optional<std::string> text, internal::ReadFile(cache));
  if (!text) {
    return Status(Code::kInvalidArgument,
                  where + ": no SSO token in " + cache + "; run `aws sso login" +
                      (session.empty() ? "" : " --sso-session " + session) + "`");
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(*text, ec);
  const boost::json::object* o = !ec && v.is_object() ? &v.get_object() : nullptr;
  const boost::json::value* token = o != nullptr ? o->if_contains("accessToken") : nullptr;
  const boost::json::value* expires = o != nullptr ? o->if_contains("expiresAt") : nullptr;
  if (token == nullptr || !token->is_string() || expires == nullptr || !expires->is_string()) {
    return Status(Code::kInvalidArgument, where + ": " + cache + " lacks accessToken or expiresAt");
  }
  const auto exp = ParseIso8601(expires->get_string());
  if (!exp || clock.NowMillis() >= *exp) {
    return Status(Code::kInvalidArgument,
                  where + ": the SSO token in " + cache + " has expired; run `aws sso login`");
  }
  std::string portal;
  if (auto v2 = GetEnv("AWS_ENDPOINT_URL_SSO")) {
    portal = *v2;
  } else {
    portal = "https://portal.sso." + sso_region + "." + PartitionOf(sso_region).dns_suffix;
  }
  while (!portal.empty() && portal.back() == '/') portal.pop_back();
  HttpCall call;
  call.url = portal + "/federation/credentials?account_id=" + UrlEncode(account) +
             "&role_name=" + UrlEncode(role);
  call.timeout = std::chrono::seconds(10);
  call.headers = {{"x-amz-sso_bearer_token", std::string(token->get_string())}};
  auto reply = Fetch(call);
  if (!reply.ok()) return Status(Code::kIoError, where + ": " + reply.status().message());
  if (reply->status != 200) {
    return Status(reply->status >= 500 ? Code::kIoError : Code::kInvalidArgument,
                  where + ": SSO GetRoleCredentials answered HTTP " +
                      std::to_string(reply->status) + ": " + reply->body.substr(0, 200));
  }
  const boost::json::value r = boost::json::parse(reply->body, ec);
  const boost::json::value* rc =
      !ec && r.is_object() ? r.get_object().if_contains("roleCredentials") : nullptr;
  if (rc == nullptr || !rc->is_object()) {
    return Status(Code::kInvalidArgument, where + ": SSO reply has no roleCredentials");
  }
  return CredentialsFromJson(boost::json::serialize(*rc), where + ": SSO", "accessKeyId",
                             "secretAccessKey", "sessionToken", "expiration");
}

// ---- the profile -------------------------------------------------------------------------

class SharedProfileProvider final : public CredentialsProvider {
 public:
  SharedProfileProvider(std::optional<std::string> profile, std::optional<std::string> region,
                        const Clock* clock)
      : profile_(std::move(profile)), region_(std::move(region)), clock_(clock) {}

  Result<Credentials> Get() override {
    std::set<std::string> visited;
    return Named(Resolve(internal::ProfileName(profile_), visited, true), Name());
  }
  std::string Name() const override {
    return "profile \"" + internal::ProfileName(profile_) + "\"";
  }

 private:
  Result<Credentials> Resolve(const std::string& name, std::set<std::string>& visited, bool top) {
    const std::string where = "profile \"" + name + "\"";
    visited.insert(name);
    ASSIGN_OR_RETURN(const std::optional<Section> section, internal::LoadProfile(name));
    const std::string region = RegionFor(region_, name);
    if (section && !Lookup(*section, "role_arn").empty()) {
      const Section& s = *section;
      const std::string role_arn = Lookup(s, "role_arn");
      std::string session_name = Lookup(s, "role_session_name");
      if (session_name.empty()) session_name = "cinesis-" + std::to_string(WallMillis());
      if (const std::string file = Lookup(s, "web_identity_token_file"); !file.empty()) {
        return WebIdentity(file, role_arn, session_name, region, where);
      }
      const std::string source_profile = Lookup(s, "source_profile");
      const std::string credential_source = Lookup(s, "credential_source");
      if (source_profile.empty() == credential_source.empty()) {
        return Status(Code::kInvalidArgument,
                      where +
                          ": role_arn needs exactly one of source_profile and "
                          "credential_source");
      }
      Result<Credentials> source = Status(Code::kInternalFailure, "unset");
      if (!source_profile.empty()) {
        if (source_profile == name) {
          source = StaticKeys(name, where);
        } else if (visited.count(source_profile) != 0) {
          return Status(Code::kInvalidArgument,
                        where + ": source_profile \"" + source_profile + "\" forms a cycle");
        } else {
          source = Resolve(source_profile, visited, false);
        }
      } else if (credential_source == "Environment") {
        source = EnvironmentCredentials()->Get();
      } else if (credential_source == "Ec2InstanceMetadata") {
        source = ImdsCredentials(name)->Get();
      } else if (credential_source == "EcsContainer") {
        source = FetchContainer("container credentials");
      } else {
        return Status(Code::kInvalidArgument,
                      where + ": credential_source \"" + credential_source +
                          "\" is not Environment, Ec2InstanceMetadata or EcsContainer");
      }
      if (!source.ok()) {
        return Misconfigured(source.status(),
                             where + ": the source credentials of role " + role_arn);
      }
      AssumeRoleRequest req{role_arn, session_name, Lookup(s, "external_id"), {}};
      if (const std::string d = Lookup(s, "duration_seconds"); !d.empty()) {
        int seconds = 0;
        const auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), seconds);
        if (ec != std::errc() || end != d.data() + d.size() || seconds <= 0) {
          return Status(Code::kInvalidArgument,
                        where + ": duration_seconds \"" + d + "\" is not a positive number");
        }
        req.duration_seconds = seconds;
      }
      auto r = AssumeRole(*source, req, region);
      if (!r.ok()) return Misconfigured(r.status(), where);
      return r;
    }
    // Static keys (the credentials file wins over the config file).
    Result<Credentials> keys = StaticKeys(name, where);
    if (keys.ok() || keys.status().code() != Code::kResourceNotFound) {
      if (!top && !keys.ok()) return Misconfigured(keys.status(), where);
      return keys;
    }
    if (section &&
        (!Lookup(*section, "sso_session").empty() || !Lookup(*section, "sso_start_url").empty())) {
      return Sso(*section, where, *clock_);
    }
    if (section && !Lookup(*section, "credential_process").empty()) {
      return RunProcess(Lookup(*section, "credential_process"), where);
    }
    if (!top) {
      return Status(Code::kInvalidArgument,
                    where + ": has no credentials (" + keys.status().message() + ")");
    }
    return keys;
  }

  static Result<Credentials> StaticKeys(const std::string& name, const std::string& where) {
    auto r = ProfileCredentials(name)->Get();
    if (!r.ok() && r.status().message().rfind(where, 0) != 0) {
      return Status(r.status().code(), where + ": " + r.status().message());
    }
    return r;
  }

  const std::optional<std::string> profile_, region_;
  const Clock* clock_;
};

// ---- refresh -----------------------------------------------------------------------------

std::string Describe(const Credentials& c, const Clock& clock) {
  std::string s = "credentials from " + (c.provider.empty() ? "?" : c.provider) + " (key " +
                  MaskKeyId(c.access_key_id);
  if (c.expiration) {
    s += ", expire in " + std::to_string((*c.expiration - clock.NowMillis()) / 1000) + " s";
  }
  return s + ")";
}

class RefreshingProvider final : public CredentialsProvider {
 public:
  RefreshingProvider(std::unique_ptr<CredentialsProvider> inner, const Clock& clock,
                     RefreshOptions options)
      : inner_(std::move(inner)), clock_(clock), options_(options) {}

  Result<Credentials> Get() override {
    MutexLock lock(&mu_);
    for (;;) {
      const EpochMillis now = clock_.NowMillis();
      if (cached_ && !Expired(now)) {
        if (!DueForRefresh(now) || refreshing_ || now < next_attempt_) return *cached_;
        // Advisory refresh: this caller refreshes, the others keep the current credentials.
        Fetch();
        return *cached_;  // new ones, or (refresh failed) the still-valid old ones
      }
      if (refreshing_) {
        const std::uint64_t gen = generation_;
        const auto deadline = std::chrono::steady_clock::now() + options_.wait_limit;
        while (refreshing_ || generation_ == gen) {
          if (!cv_.WaitUntil(&mu_, deadline) && (refreshing_ || generation_ == gen)) {
            return Status(Code::kIoError, "timed out waiting for a credentials refresh");
          }
        }
        if (!last_error_.ok() && !(cached_ && !Expired(clock_.NowMillis()))) return last_error_;
        continue;
      }
      Fetch();
      if (cached_ && !Expired(clock_.NowMillis())) return *cached_;
      if (!last_error_.ok()) return last_error_;
      return Status(Code::kInvalidArgument,
                    inner_->Name() + " returned credentials that have already expired");
    }
  }

  std::string Name() const override { return inner_->Name(); }

 private:
  bool Expired(EpochMillis now) const REQUIRES(mu_) {
    return cached_->expiration && now >= *cached_->expiration;
  }
  bool DueForRefresh(EpochMillis now) const REQUIRES(mu_) {
    if (cached_->expiration) return now >= *cached_->expiration - options_.advance.count();
    return now >= fetched_at_ + options_.static_ttl.count();
  }

  // Runs the inner provider without the lock held; one caller at a time.
  void Fetch() REQUIRES(mu_) {
    refreshing_ = true;
    const bool had_credentials = cached_.has_value();
    mu_.Unlock();
    Result<Credentials> r = inner_->Get();
    std::string log_line;
    LogLevel level = LogLevel::kDebug;
    if (r.ok()) {
      log_line = Describe(*r, clock_);
    } else {
      level = had_credentials ? LogLevel::kWarning : LogLevel::kDebug;
      log_line = "credentials refresh failed: " + r.status().ToString();
    }
    mu_.Lock();
    const EpochMillis now = clock_.NowMillis();
    if (r.ok()) {
      cached_ = std::move(r).value();
      fetched_at_ = now;
      last_error_ = Status::Ok();
    } else {
      last_error_ = std::move(r).take_status();
      if (cached_ && !Expired(now)) {
        log_line += "; keeping the current credentials until they expire";
      }
    }
    next_attempt_ = now + options_.retry_after.count();
    refreshing_ = false;
    ++generation_;
    cv_.SignalAll();
    // Never log under the lock (a sink may call back into the library).
    mu_.Unlock();
    if (LogEnabled(level)) Log(level, "client", log_line);
    mu_.Lock();
  }

  const std::unique_ptr<CredentialsProvider> inner_;
  const Clock& clock_;
  const RefreshOptions options_;
  Mutex mu_;
  CondVar cv_;
  std::optional<Credentials> cached_ GUARDED_BY(mu_);
  EpochMillis fetched_at_ GUARDED_BY(mu_) = 0;
  EpochMillis next_attempt_ GUARDED_BY(mu_) = 0;
  bool refreshing_ GUARDED_BY(mu_) = false;  // one Fetch at a time runs the inner provider
  std::uint64_t generation_ GUARDED_BY(mu_) = 0;
  Status last_error_ GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<CredentialsProvider> SharedProfileCredentials(std::optional<std::string> profile,
                                                              std::optional<std::string> region,
                                                              const Clock* clock) {
  return std::make_unique<SharedProfileProvider>(std::move(profile), std::move(region), clock);
}

std::unique_ptr<CredentialsProvider> RefreshingCredentials(
    std::unique_ptr<CredentialsProvider> inner, const Clock& clock, RefreshOptions options) {
  return std::make_unique<RefreshingProvider>(std::move(inner), clock, options);
}

std::unique_ptr<CredentialsProvider> NewCredentialsChain(ChainOptions o) {
  std::vector<std::unique_ptr<CredentialsProvider>> providers;
  const bool explicit_given = o.explicit_credentials.has_value();
  if (o.explicit_credentials) {
    providers.push_back(StaticCredentials(std::move(*o.explicit_credentials)));
  }
  providers.push_back(EnvironmentCredentials());
  providers.push_back(WebIdentityCredentials(o.region, o.profile));
  providers.push_back(SharedProfileCredentials(o.profile, o.region, o.clock));
  providers.push_back(ContainerCredentials());
  bool imds = true;
  if (o.loopback) {
    auto s = ImdsSettingsFor(o.profile);
    imds = s.ok() && s->endpoint_configured;
  }
  if (imds) providers.push_back(ImdsCredentials(o.profile));
  if (o.loopback) {
    providers.push_back(
        internal::NewFixed(Credentials{kDummyAccessKeyId, kDummySecretAccessKey, ""},
                           "dummy credentials (loopback endpoint)"));
  }
  return internal::NewChain(std::move(providers), explicit_given);
}

std::unique_ptr<CredentialsProvider> DefaultCredentialsChain(
    std::optional<Credentials> explicit_credentials, std::optional<std::string> profile) {
  ChainOptions o;
  o.explicit_credentials = std::move(explicit_credentials);
  o.profile = std::move(profile);
  return NewCredentialsChain(std::move(o));
}

std::unique_ptr<CredentialsProvider> LoopbackCredentialsChain(
    std::optional<Credentials> explicit_credentials, std::optional<std::string> profile) {
  ChainOptions o;
  o.explicit_credentials = std::move(explicit_credentials);
  o.profile = std::move(profile);
  o.loopback = true;
  return NewCredentialsChain(std::move(o));
}

RegionAndOrigin ResolveRegionWithOrigin(std::optional<std::string> explicit_region,
                                        std::optional<std::string> profile, bool allow_imds) {
  if (explicit_region && !explicit_region->empty()) {
    return {*explicit_region, "ClientOptions.region"};
  }
  if (auto v = GetEnv("AWS_REGION")) return {*v, "AWS_REGION"};
  if (auto v = GetEnv("AWS_DEFAULT_REGION")) return {*v, "AWS_DEFAULT_REGION"};
  if (auto r = ResolveRegion(std::nullopt, profile)) {
    return {*r, "region of profile \"" + internal::ProfileName(profile) + "\" in " +
                    internal::ConfigFileName()};
  }
  if (allow_imds) {
    if (auto r = ImdsRegion(profile); r.ok()) return {*r, "EC2 instance metadata"};
  }
  return {"us-east-1", "default (no region configured)"};
}

}  // namespace cinesis::client::auth
