// See sts.h.
#include "client/sts.h"

#include <cstdlib>

#include "client/aws_http.h"
#include "client/sigv4.h"

namespace cinesis::client::auth {
namespace {

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// The text of the first <tag>...</tag> inside `xml` (namespace prefixes and attributes on
// the opening tag tolerated), XML entities decoded; nullopt if absent.
std::optional<std::string> Element(std::string_view xml, std::string_view tag) {
  std::size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string_view::npos) {
    std::size_t name_start = pos + 1;
    const std::size_t end = xml.find('>', name_start);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view name = xml.substr(name_start, end - name_start);
    if (!name.empty() && (name.front() == '/' || name.front() == '?' || name.front() == '!')) {
      pos = end + 1;
      continue;
    }
    bool self_closing = !name.empty() && name.back() == '/';
    if (self_closing) name.remove_suffix(1);
    name = name.substr(0, name.find_first_of(" \t\r\n"));
    if (const std::size_t colon = name.find(':'); colon != std::string_view::npos) {
      name.remove_prefix(colon + 1);
    }
    if (name != tag) {
      pos = end + 1;
      continue;
    }
    if (self_closing) return std::string();
    // The matching close tag (any prefix).
    std::size_t search = end + 1;
    for (;;) {
      const std::size_t close = xml.find("</", search);
      if (close == std::string_view::npos) return std::nullopt;
      const std::size_t close_end = xml.find('>', close);
      if (close_end == std::string_view::npos) return std::nullopt;
      std::string_view cname = xml.substr(close + 2, close_end - close - 2);
      if (const std::size_t colon = cname.find(':'); colon != std::string_view::npos) {
        cname.remove_prefix(colon + 1);
      }
      while (!cname.empty() && (cname.back() == ' ' || cname.back() == '\t'))
        cname.remove_suffix(1);
      if (cname == tag) {
        std::string_view raw = xml.substr(end + 1, close - end - 1);
        std::string out;
        for (std::size_t i = 0; i < raw.size(); ++i) {
          if (raw[i] != '&') {
            out += raw[i];
            continue;
          }
          static constexpr std::pair<std::string_view, char> kEntities[] = {
              {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
          bool matched = false;
          for (const auto& [ent, ch] : kEntities) {
            if (raw.substr(i, ent.size()) == ent) {
              out += ch;
              i += ent.size() - 1;
              matched = true;
              break;
            }
          }
          if (!matched) out += '&';
        }
        // Trim surrounding whitespace (pretty-printed replies).
        const std::size_t b = out.find_first_not_of(" \t\r\n");
        const std::size_t e = out.find_last_not_of(" \t\r\n");
        return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
      }
      search = close_end + 1;
    }
  }
  return std::nullopt;
}

std::string SuffixFor(std::string_view region) {
  return region.rfind("cn-", 0) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

Result<Credentials> Call(const std::string& action, const std::string& form,
                         const Credentials* signer, std::string_view region,
                         std::chrono::milliseconds timeout) {
  const StsEndpoint ep = ResolveStsEndpoint(region);
  std::string host = ep.url.substr(ep.url.find("://") + 3);
  host = host.substr(0, host.find('/'));
  HttpCall call;
  call.method = "POST";
  call.url = ep.url;
  if (call.url.empty() || call.url.back() != '/') call.url += '/';
  call.body = form;
  call.timeout = timeout;
  call.headers = {{"Host", host},
                  {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  if (signer != nullptr) {
    HttpRequestToSign req;
    req.method = "POST";
    req.path = "/";
    req.headers = call.headers;
    req.payload = call.body;
    Sign(req, *signer, {std::string(region), "sts", std::chrono::system_clock::now()});
    call.headers = req.headers;
  }
  auto reply = Fetch(call);
  if (!reply.ok()) {
    return Status(Code::kIoError, "STS " + action + " at " + ep.url + " (" + ep.origin +
                                      "): " + reply.status().message());
  }
  return ParseStsReply(reply->body, reply->status, action);
}

}  // namespace

StsEndpoint ResolveStsEndpoint(std::string_view region) {
  if (auto v = Env("AWS_ENDPOINT_URL_STS")) return {*v, "AWS_ENDPOINT_URL_STS"};
  if (auto v = Env("AWS_ENDPOINT_URL")) return {*v, "AWS_ENDPOINT_URL"};
  return {"https://sts." + std::string(region) + "." + SuffixFor(region),
          "the regional STS endpoint"};
}

Result<Credentials> ParseStsReply(std::string_view xml, long http_status, std::string_view action) {
  const std::string what = "STS " + std::string(action);
  if (http_status != 200) {
    const std::string code = Element(xml, "Code").value_or("HTTP " + std::to_string(http_status));
    const std::string message = Element(xml, "Message").value_or(std::string(xml.substr(0, 200)));
    Code c = Code::kInvalidArgument;
    if (http_status >= 500 || code == "Throttling" || code == "IDPCommunicationError") {
      c = Code::kIoError;
    } else if (code == "AccessDenied") {
      c = Code::kAccessDenied;
    }
    return Status(c, what + " failed: " + code + ": " + message);
  }
  const auto creds_xml = Element(xml, "Credentials");
  if (!creds_xml) return Status(Code::kInvalidArgument, what + ": the reply has no <Credentials>");
  Credentials c;
  c.access_key_id = Element(*creds_xml, "AccessKeyId").value_or("");
  c.secret_access_key = Element(*creds_xml, "SecretAccessKey").value_or("");
  c.session_token = Element(*creds_xml, "SessionToken").value_or("");
  if (!c.complete() || c.session_token.empty()) {
    return Status(Code::kInvalidArgument,
                  what + ": <Credentials> lacks AccessKeyId, SecretAccessKey or SessionToken");
  }
  const std::string exp = Element(*creds_xml, "Expiration").value_or("");
  c.expiration = ParseIso8601(exp);
  if (!c.expiration) {
    return Status(Code::kInvalidArgument, what + ": cannot parse Expiration \"" + exp + "\"");
  }
  return c;
}

namespace {

std::string CommonForm(const std::string& action, const AssumeRoleRequest& r) {
  std::string form = "Action=" + action + "&Version=2011-06-15&RoleArn=" + UrlEncode(r.role_arn) +
                     "&RoleSessionName=" + UrlEncode(r.session_name);
  if (!r.external_id.empty()) form += "&ExternalId=" + UrlEncode(r.external_id);
  if (r.duration_seconds) form += "&DurationSeconds=" + std::to_string(*r.duration_seconds);
  return form;
}

}  // namespace

Result<Credentials> AssumeRole(const Credentials& source, const AssumeRoleRequest& request,
                               std::string_view region, std::chrono::milliseconds timeout) {
  return Call("AssumeRole", CommonForm("AssumeRole", request), &source, region, timeout);
}

Result<Credentials> AssumeRoleWithWebIdentity(const std::string& web_identity_token,
                                              const AssumeRoleRequest& request,
                                              std::string_view region,
                                              std::chrono::milliseconds timeout) {
  return Call("AssumeRoleWithWebIdentity",
              CommonForm("AssumeRoleWithWebIdentity", request) +
                  "&WebIdentityToken=" + UrlEncode(web_identity_token),
              nullptr, region, timeout);
}

}  // namespace cinesis::client::auth
