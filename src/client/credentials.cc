// AWS credentials chain, shared config files and region resolution: see credentials.h.
#include "client/credentials.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "client/credentials_internal.h"
#include "common/status.h"

namespace cinesis::client::auth {
namespace {

using Section = std::map<std::string, std::string>;
using IniFile = std::map<std::string, Section, std::less<>>;

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Strips an inline comment: '#' or ';' preceded by whitespace.
std::string_view StripInlineComment(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if ((s[i] == '#' || s[i] == ';') && IsSpace(s[i - 1])) return s.substr(0, i);
  }
  return s;
}

// The small INI dialect of the AWS shared files (see credentials.h). Lenient:
// malformed lines are skipped rather than failing the whole file.
IniFile ParseIni(std::string_view text) {
  IniFile ini;
  Section* current = nullptr;
  bool after_property = false;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    const std::string_view t = Trim(line);
    if (t.empty() || t.front() == '#' || t.front() == ';') continue;
    if (IsSpace(line.front()) && after_property) continue;  // continuation / nested setting
    if (t.front() == '[') {
      const std::size_t close = t.find(']');
      after_property = false;
      if (close == std::string_view::npos) {
        current = nullptr;  // malformed header: ignore its keys
        continue;
      }
      std::string_view name = Trim(t.substr(1, close - 1));
      std::string key(name);
      if (name.size() > 7 && name.substr(0, 7) == "profile" && IsSpace(name[7])) {
        key = "profile " + std::string(Trim(name.substr(7)));
      }
      current = &ini[key];
      continue;
    }
    const std::string_view body = StripInlineComment(t);
    const std::size_t eq = body.find('=');
    if (eq == std::string_view::npos || current == nullptr) continue;
    const std::string key = ToLower(Trim(body.substr(0, eq)));
    if (key.empty()) continue;
    (*current)[key] = std::string(Trim(body.substr(eq + 1)));
    after_property = true;
  }
  return ini;
}

// A shared file as named by an environment variable or its default under $HOME.
struct FilePath {
  std::string path;  // empty when it cannot be determined (no $HOME)
  std::string Describe() const { return path.empty() ? std::string("(no $HOME)") : path; }
};

std::string ExpandHome(std::string path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    if (auto home = GetEnv("HOME")) path = *home + path.substr(1);
  }
  return path;
}

FilePath SharedFile(const char* env_var, const char* default_name) {
  if (auto v = GetEnv(env_var)) return {ExpandHome(*v)};
  if (auto home = GetEnv("HOME")) return {*home + "/.aws/" + default_name};
  return {};
}

FilePath CredentialsFilePath() { return SharedFile("AWS_SHARED_CREDENTIALS_FILE", "credentials"); }
FilePath ConfigFilePath() { return SharedFile("AWS_CONFIG_FILE", "config"); }

// The file's content, nullopt if it does not exist, kIoError if it cannot be read.
Result<std::optional<std::string>> ReadFileIfExists(const FilePath& f) {
  if (f.path.empty()) return std::optional<std::string>();
  std::FILE* fp = std::fopen(f.path.c_str(), "rb");
  if (fp == nullptr) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return std::optional<std::string>();
    return Status(Code::kIoError, "cannot open " + f.path + ": " + std::strerror(err));
  }
  std::string content;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) content.append(buf, n);
  const bool failed = std::ferror(fp) != 0;
  const int err = errno;
  std::fclose(fp);
  if (failed) return Status(Code::kIoError, "cannot read " + f.path + ": " + std::strerror(err));
  return std::optional<std::string>(std::move(content));
}

template <typename T>
Result<T> Prefixed(const std::string& where, Result<T> r) {
  if (r.ok()) return r;
  return Status(r.status().code(), where + ": " + r.status().message());
}

std::string ProfileName(const std::optional<std::string>& profile) {
  if (profile && !profile->empty()) return *profile;
  if (auto v = GetEnv("AWS_PROFILE")) return *v;
  return "default";
}

// The section of `profile` in the config file ("[profile name]"; the default profile
// also as "[default]"), nullopt if absent.
std::optional<Section> ConfigSection(const IniFile& ini, const std::string& profile) {
  std::optional<Section> out;
  auto merge = [&](std::string_view name) {
    auto it = ini.find(name);
    if (it == ini.end()) return;
    if (!out) out.emplace();
    for (const auto& [k, v] : it->second) (*out)[k] = v;
  };
  if (profile == "default") merge("default");
  merge("profile " + profile);
  return out;
}

std::string Lookup(const Section& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? std::string() : it->second;
}

Credentials FromSection(const Section& s) {
  return {Lookup(s, "aws_access_key_id"), Lookup(s, "aws_secret_access_key"),
          Lookup(s, "aws_session_token")};
}

Status PartialError(const std::string& where, const Credentials& c, const char* key_name,
                    const char* secret_name) {
  return Status(Code::kInvalidArgument,
                where + ": " + (c.access_key_id.empty() ? key_name : secret_name) +
                    " is missing (" + (c.access_key_id.empty() ? secret_name : key_name) +
                    " is set)");
}

class StaticProvider final : public CredentialsProvider {
 public:
  explicit StaticProvider(Credentials c) : c_(std::move(c)) {}
  Result<Credentials> Get() override {
    if (c_.empty()) return Status(Code::kResourceNotFound, "explicit: credentials are empty");
    if (!c_.complete()) {
      return PartialError("explicit", c_, "access key id", "secret access key");
    }
    return c_;
  }
  std::string Name() const override { return "explicit"; }

 private:
  const Credentials c_;
};

// Always the same complete credentials, under a given name.
class FixedProvider final : public CredentialsProvider {
 public:
  FixedProvider(Credentials c, std::string name) : c_(std::move(c)), name_(std::move(name)) {}
  Result<Credentials> Get() override { return c_; }
  std::string Name() const override { return name_; }

 private:
  const Credentials c_;
  const std::string name_;
};

class EnvironmentProvider final : public CredentialsProvider {
 public:
  Result<Credentials> Get() override {
    Credentials c{GetEnv("AWS_ACCESS_KEY_ID").value_or(""),
                  GetEnv("AWS_SECRET_ACCESS_KEY").value_or(""),
                  GetEnv("AWS_SESSION_TOKEN").value_or("")};
    if (c.empty()) {
      return Status(Code::kResourceNotFound,
                    "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
    }
    if (!c.complete()) {
      return PartialError("environment", c, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
    }
    return c;
  }
  std::string Name() const override { return "environment"; }
};

class ProfileProvider final : public CredentialsProvider {
 public:
  explicit ProfileProvider(std::optional<std::string> profile) : profile_(std::move(profile)) {}

  Result<Credentials> Get() override {
    const std::string profile = ProfileName(profile_);
    std::vector<std::string> notes;

    const std::string where = "profile \"" + profile + "\"";

    const FilePath cred_path = CredentialsFilePath();
    ASSIGN_OR_RETURN(const std::optional<std::string> cred_text,
                     Prefixed(where, ReadFileIfExists(cred_path)));
    if (!cred_text) {
      notes.push_back(cred_path.Describe() + " does not exist");
    } else {
      const IniFile ini = ParseIni(*cred_text);
      auto it = ini.find(profile);
      if (it == ini.end()) {
        notes.push_back(cred_path.Describe() + " has no [" + profile + "]");
      } else {
        const Credentials c = FromSection(it->second);
        if (!c.empty()) return Check(c, cred_path, profile);
        notes.push_back(cred_path.Describe() + " [" + profile + "] has no keys");
      }
    }

    const FilePath config_path = ConfigFilePath();
    ASSIGN_OR_RETURN(const std::optional<std::string> config_text,
                     Prefixed(where, ReadFileIfExists(config_path)));
    if (!config_text) {
      notes.push_back(config_path.Describe() + " does not exist");
    } else {
      const std::optional<Section> section = ConfigSection(ParseIni(*config_text), profile);
      const std::string header = profile == "default" ? "[default]" : "[profile " + profile + "]";
      if (!section) {
        notes.push_back(config_path.Describe() + " has no " + header);
      } else {
        const Credentials c = FromSection(*section);
        if (!c.empty()) return Check(c, config_path, profile);
        notes.push_back(config_path.Describe() + " " + header + " has no keys");
      }
    }

    std::string msg = where + ": ";
    for (std::size_t i = 0; i < notes.size(); ++i) {
      if (i != 0) msg += ", ";
      msg += notes[i];
    }
    return Status(Code::kResourceNotFound, std::move(msg));
  }

  std::string Name() const override { return "profile \"" + ProfileName(profile_) + "\""; }

 private:
  static Result<Credentials> Check(const Credentials& c, const FilePath& path,
                                   const std::string& profile) {
    if (c.complete()) return c;
    return PartialError("profile \"" + profile + "\" in " + path.Describe(), c, "aws_access_key_id",
                        "aws_secret_access_key");
  }

  const std::optional<std::string> profile_;
};

// `message` prefixed with the provider's name unless it already starts with it.
std::string WithName(const CredentialsProvider& p, const std::string& message) {
  const std::string name = p.Name();
  if (message.rfind(name, 0) == 0) return message;
  return name + ": " + message;
}

class ChainProvider final : public CredentialsProvider {
 public:
  explicit ChainProvider(std::vector<std::unique_ptr<CredentialsProvider>> providers,
                         bool explicit_given)
      : providers_(std::move(providers)), explicit_given_(explicit_given) {}

  Result<Credentials> Get() override {
    std::string tried = explicit_given_
                            ? ""
                            : "explicit (ClientOptions.access_key_id/secret_access_key): not given";
    for (const auto& p : providers_) {
      Result<Credentials> r = p->Get();
      if (r.ok()) {
        if (r->provider.empty()) r->provider = p->Name();
        return r;
      }
      if (r.status().code() != Code::kResourceNotFound) {
        return Status(r.status().code(), WithName(*p, r.status().message()));
      }
      if (!tried.empty()) tried += "; ";
      tried += WithName(*p, r.status().message());
    }
    return Status(Code::kInvalidArgument, "no AWS credentials found; tried: " + tried);
  }

  std::string Name() const override {
    std::string name = "default chain (";
    for (std::size_t i = 0; i < providers_.size(); ++i) {
      if (i != 0) name += ", ";
      name += providers_[i]->Name();
    }
    return name + ")";
  }

 private:
  const std::vector<std::unique_ptr<CredentialsProvider>> providers_;
  const bool explicit_given_;
};

}  // namespace

Result<std::vector<Credentials>> CredentialsFileKeys(const std::string& path) {
  auto text = ReadFileIfExists(FilePath{ExpandHome(path)});
  if (!text.ok()) return text.status();
  if (!*text) return Status(Code::kResourceNotFound, "no such file: " + path);
  std::vector<Credentials> out;
  for (const auto& [name, section] : ParseIni(**text)) {
    Credentials c = FromSection(section);
    if (c.empty()) continue;
    const std::string where = path + " [" + name + "]";
    if (!c.complete()) {
      return PartialError(where, c, "aws_access_key_id", "aws_secret_access_key");
    }
    c.provider = where;
    out.push_back(std::move(c));
  }
  return out;
}

std::unique_ptr<CredentialsProvider> StaticCredentials(Credentials c) {
  return std::make_unique<StaticProvider>(std::move(c));
}

std::unique_ptr<CredentialsProvider> EnvironmentCredentials() {
  return std::make_unique<EnvironmentProvider>();
}

std::unique_ptr<CredentialsProvider> ProfileCredentials(std::optional<std::string> profile) {
  return std::make_unique<ProfileProvider>(std::move(profile));
}

std::optional<std::string> ResolveRegion(std::optional<std::string> explicit_region,
                                         std::optional<std::string> profile) {
  if (explicit_region && !explicit_region->empty()) return explicit_region;
  if (auto v = GetEnv("AWS_REGION")) return v;
  if (auto v = GetEnv("AWS_DEFAULT_REGION")) return v;
  Result<std::optional<std::string>> text = ReadFileIfExists(ConfigFilePath());
  if (!text.ok() || !text.value()) return std::nullopt;
  const std::optional<Section> section = ConfigSection(ParseIni(**text), ProfileName(profile));
  if (!section) return std::nullopt;
  std::string region = Lookup(*section, "region");
  if (region.empty()) return std::nullopt;
  return region;
}

namespace {

Result<bool> ParseBoolSetting(const std::string& setting, const std::string& value) {
  const std::string v = ToLower(Trim(value));
  if (v == "true") return true;
  if (v == "false") return false;
  return Status(Code::kInvalidArgument,
                setting + ": expected true or false, got \"" + value + "\"");
}

}  // namespace

Result<std::optional<ConfiguredEndpoint>> ConfiguredEndpointUrl(
    std::optional<std::string> profile) {
  const std::string name = ProfileName(profile);
  const FilePath config_path = ConfigFilePath();
  // The config file is read only when a setting has to come from it.
  std::optional<Section> section;
  bool loaded = false;
  auto load = [&]() -> Status {
    if (loaded) return Status::Ok();
    loaded = true;
    ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadFileIfExists(config_path));
    if (text) section = ConfigSection(ParseIni(*text), name);
    return Status::Ok();
  };
  const std::string in_profile = " of profile \"" + name + "\" in " + config_path.Describe();

  bool ignore = false;
  if (auto v = GetEnv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
    ASSIGN_OR_RETURN(ignore, ParseBoolSetting("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", *v));
  } else {
    RETURN_IF_ERROR(load());
    if (section) {
      const std::string setting = Lookup(*section, "ignore_configured_endpoint_urls");
      if (!setting.empty()) {
        ASSIGN_OR_RETURN(ignore,
                         ParseBoolSetting("ignore_configured_endpoint_urls" + in_profile, setting));
      }
    }
  }
  if (ignore) return std::optional<ConfiguredEndpoint>();
  if (auto v = GetEnv("AWS_ENDPOINT_URL_KINESIS")) {
    return std::optional<ConfiguredEndpoint>(ConfiguredEndpoint{
        *v, ConfiguredEndpoint::Source::kServiceEnv, "AWS_ENDPOINT_URL_KINESIS"});
  }
  if (auto v = GetEnv("AWS_ENDPOINT_URL")) {
    return std::optional<ConfiguredEndpoint>(
        ConfiguredEndpoint{*v, ConfiguredEndpoint::Source::kGlobalEnv, "AWS_ENDPOINT_URL"});
  }
  RETURN_IF_ERROR(load());
  if (section) {
    std::string url = Lookup(*section, "endpoint_url");
    if (!url.empty()) {
      return std::optional<ConfiguredEndpoint>(ConfiguredEndpoint{
          std::move(url), ConfiguredEndpoint::Source::kProfile, "endpoint_url" + in_profile});
    }
  }
  return std::optional<ConfiguredEndpoint>();
}

bool IsLoopbackUrl(std::string_view url) {
  if (const std::size_t scheme = url.find("://"); scheme != std::string_view::npos)
    url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (const std::size_t at = url.rfind('@'); at != std::string_view::npos)
    url.remove_prefix(at + 1);
  std::string host;
  if (!url.empty() && url.front() == '[') {
    const std::size_t close = url.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(url.substr(1, close - 1));
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return false;
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  host = ToLower(url.substr(0, url.find(':')));
  if (host == "localhost" || host == "localhost.") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return false;
  return (ntohl(a4.s_addr) >> 24) == 127;
}

Partition PartitionOf(std::string_view region) {
  if (region.rfind("cn-", 0) == 0) {
    return {"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"};
  }
  if (region.rfind("us-gov-", 0) == 0) return {"aws-us-gov", "amazonaws.com", "api.aws"};
  return {"aws", "amazonaws.com", "api.aws"};
}

std::string KinesisEndpoint(std::string_view region, bool fips, bool dual_stack) {
  const Partition p = PartitionOf(region);
  const std::string r(region);
  if (fips && dual_stack) return "https://kinesis-fips." + r + "." + p.dual_stack_dns_suffix;
  if (fips) {
    if (p.name == "aws-us-gov") return "https://kinesis." + r + ".amazonaws.com";
    return "https://kinesis-fips." + r + "." + p.dns_suffix;
  }
  if (dual_stack) return "https://kinesis." + r + "." + p.dual_stack_dns_suffix;
  return "https://kinesis." + r + "." + p.dns_suffix;
}

std::string EndpointForRegion(std::string_view region) { return KinesisEndpoint(region); }

Result<EndpointVariant> ResolveEndpointVariant(std::optional<std::string> profile) {
  EndpointVariant out;
  std::optional<Section> section;
  bool loaded = false;
  const std::string name = ProfileName(profile);
  auto setting = [&](const char* env, const char* key, bool& value) -> Status {
    if (auto v = GetEnv(env)) {
      ASSIGN_OR_RETURN(value, ParseBoolSetting(env, *v));
      return Status::Ok();
    }
    if (!loaded) {
      loaded = true;
      ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadFileIfExists(ConfigFilePath()));
      if (text) section = ConfigSection(ParseIni(*text), name);
    }
    if (section) {
      const std::string v = Lookup(*section, key);
      if (!v.empty()) {
        ASSIGN_OR_RETURN(value, ParseBoolSetting(std::string(key) + " of profile \"" + name +
                                                     "\" in " + ConfigFilePath().Describe(),
                                                 v));
      }
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(setting("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", out.fips));
  RETURN_IF_ERROR(setting("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint", out.dual_stack));
  return out;
}

Result<std::string> ResolveCaBundle(const std::optional<std::string>& explicit_path,
                                    std::optional<std::string> profile) {
  std::string path;
  std::string origin;
  if (explicit_path && !explicit_path->empty()) {
    path = *explicit_path;
    origin = "ClientOptions.ca_bundle";
  } else if (auto v = GetEnv("AWS_CA_BUNDLE"); v && !v->empty()) {
    path = *v;
    origin = "$AWS_CA_BUNDLE";
  } else {
    const std::string name = ProfileName(profile);
    ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadFileIfExists(ConfigFilePath()));
    if (!text) return std::string();
    const auto section = ConfigSection(ParseIni(*text), name);
    if (!section) return std::string();
    path = Lookup(*section, "ca_bundle");
    if (path.empty()) return std::string();
    origin = "ca_bundle of profile \"" + name + "\" in " + ConfigFilePath().Describe();
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return Status(Code::kInvalidArgument,
                  origin + ": cannot read the CA bundle \"" + path + "\": " + std::strerror(errno));
  }
  return path;
}

namespace internal {

std::optional<std::string> GetEnv(const char* name) { return auth::GetEnv(name); }
std::string ProfileName(const std::optional<std::string>& profile) {
  return auth::ProfileName(profile);
}
std::string ConfigFileName() { return ConfigFilePath().Describe(); }

Result<std::optional<Section>> LoadProfile(const std::string& profile) {
  std::optional<Section> out;
  ASSIGN_OR_RETURN(const std::optional<std::string> config_text,
                   ReadFileIfExists(ConfigFilePath()));
  if (config_text) out = ConfigSection(ParseIni(*config_text), profile);
  ASSIGN_OR_RETURN(const std::optional<std::string> cred_text,
                   ReadFileIfExists(CredentialsFilePath()));
  if (cred_text) {
    const IniFile ini = ParseIni(*cred_text);
    if (auto it = ini.find(profile); it != ini.end()) {
      if (!out) out.emplace();
      for (const auto& [k, v] : it->second) (*out)[k] = v;
    }
  }
  return out;
}

Result<std::optional<Section>> LoadConfigSection(const std::string& header) {
  ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadFileIfExists(ConfigFilePath()));
  if (!text) return std::optional<Section>();
  const IniFile ini = ParseIni(*text);
  auto it = ini.find(header);
  if (it == ini.end()) return std::optional<Section>();
  return std::optional<Section>(it->second);
}

std::string Lookup(const Section& s, const std::string& key) { return auth::Lookup(s, key); }

Result<bool> ParseBool(const std::string& setting, const std::string& value) {
  return ParseBoolSetting(setting, value);
}

Result<std::optional<std::string>> ReadFile(const std::string& path) {
  return ReadFileIfExists(FilePath{path});
}

std::unique_ptr<CredentialsProvider> NewChain(
    std::vector<std::unique_ptr<CredentialsProvider>> providers, bool explicit_given) {
  return std::make_unique<ChainProvider>(std::move(providers), explicit_given);
}

std::unique_ptr<CredentialsProvider> NewFixed(Credentials c, std::string name) {
  return std::make_unique<FixedProvider>(std::move(c), std::move(name));
}

}  // namespace internal

}  // namespace cinesis::client::auth
