// See aws_http.h.
#include "client/aws_http.h"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

#include "client/curl_api.h"

namespace cinesis::client::auth {
namespace {

std::size_t Collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

Result<HttpReply> Fetch(const HttpCall& call) {
  RETURN_IF_ERROR(curl::Load());
  CURL* h = curl::EasyInit();
  if (h == nullptr) return Status(Code::kIoError, "curl_easy_init failed");
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : call.headers) {
    headers = curl::SlistAppend(headers, (k + ": " + v).c_str());
  }
  headers = curl::SlistAppend(headers, "Expect:");
  HttpReply reply;
  curl::EasySetopt(h, CURLOPT_URL, call.url.c_str());
  if (call.method == "POST" || call.method == "PUT") {
    curl::EasySetopt(h, CURLOPT_POST, 1L);
    curl::EasySetopt(h, CURLOPT_POSTFIELDS, call.body.data());
    curl::EasySetopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
    if (call.method == "PUT") curl::EasySetopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  }
  curl::EasySetopt(h, CURLOPT_HTTPHEADER, headers);
  curl::EasySetopt(h, CURLOPT_WRITEFUNCTION, &Collect);
  curl::EasySetopt(h, CURLOPT_WRITEDATA, &reply.body);
  curl::EasySetopt(h, CURLOPT_NOSIGNAL, 1L);
  curl::EasySetopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(call.timeout.count()));
  curl::EasySetopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count()));
  // Metadata endpoints are link-local: never through a proxy.
  curl::EasySetopt(h, CURLOPT_NOPROXY,
                   "169.254.169.254,169.254.170.2,169.254.170.23,fd00:ec2::254,"
                   "fd00:ec2::23,127.0.0.1,localhost,::1");
  const CURLcode rc = curl::EasyPerform(h);
  curl::EasyGetinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  curl::SlistFreeAll(headers);
  curl::EasyCleanup(h);
  if (rc != CURLE_OK) {
    return Status(Code::kIoError, call.method + " " + call.url + ": " + curl::EasyStrerror(rc) +
                                      (rc == CURLE_OPERATION_TIMEDOUT ? kTimeoutMarker : ""));
  }
  return reply;
}

std::optional<EpochMillis> ParseIso8601(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const std::string t(text);
  int consumed = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
      6) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  if (!(rest == "Z" || rest == "z" || rest == "+00:00" || rest == "+0000" || rest.empty())) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<EpochMillis>(timegm(&tm)) * 1000;
}

Result<Credentials> CredentialsFromJson(std::string_view json, const std::string& what,
                                        const char* key_id, const char* secret, const char* token,
                                        const char* expiration_key) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) {
    return Status(Code::kInvalidArgument, what + ": the reply is not a JSON object");
  }
  const auto& o = v.get_object();
  auto str = [&](const char* k) -> std::string {
    const auto* f = o.if_contains(k);
    return f != nullptr && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  Credentials c;
  c.access_key_id = str(key_id);
  c.secret_access_key = str(secret);
  if (token != nullptr) c.session_token = str(token);
  if (!c.complete()) {
    return Status(Code::kInvalidArgument,
                  what + ": the reply has no " + (c.access_key_id.empty() ? key_id : secret));
  }
  if (expiration_key != nullptr) {
    if (const auto* e = o.if_contains(expiration_key); e != nullptr && !e->is_null()) {
      if (e->is_string()) {
        c.expiration = ParseIso8601(e->get_string());
        if (!c.expiration) {
          return Status(Code::kInvalidArgument, what + ": cannot parse " + expiration_key + " \"" +
                                                    std::string(e->get_string()) + "\"");
        }
      } else if (e->is_int64()) {
        c.expiration = e->get_int64();
      } else if (e->is_uint64()) {
        c.expiration = static_cast<EpochMillis>(e->get_uint64());
      } else {
        return Status(Code::kInvalidArgument, what + ": " + expiration_key + " is not a time");
      }
    }
  }
  return c;
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string MaskKeyId(std::string_view key_id) {
  if (key_id.size() <= 4) return std::string(key_id.size(), '*');
  return std::string(key_id.substr(0, 4)) + std::string(key_id.size() - 4, '*');
}

}  // namespace cinesis::client::auth
