// AWS Signature Version 4 primitives: see sigv4.h for the contract.
#include "common/sigv4.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace cinesis::sigv4 {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kHexUpper = "0123456789ABCDEF";

std::string Hex(const unsigned char* data, std::size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHexDigits[data[i] >> 4]);
    out.push_back(kHexDigits[data[i] & 0x0f]);
  }
  return out;
}

const unsigned char* Bytes(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// HMAC-SHA256(key, data) as raw bytes; empty on an OpenSSL failure (allocation),
// which yields a signature the service rejects rather than a crash.
std::string HmacSha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, Bytes(key), key.size(), Bytes(data),
                data.size(), out.data(), out.size(), &out_len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out.data()), out_len);
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// RFC 3986 percent-encoding keeping only the unreserved set.
void UriEncode(std::string_view in, std::string& out) {
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0x0f]);
    }
  }
}

std::string UriEncode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  UriEncode(in, out);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Canonical value of one header occurrence: each (folded) line trimmed, internal
// whitespace runs collapsed to one space, lines joined with ','.
void AppendCanonicalValue(std::string_view value, std::string& out) {
  bool first_line = true;
  while (true) {
    const std::size_t nl = value.find('\n');
    const std::string_view line = Trim(value.substr(0, nl));
    if (!line.empty()) {
      if (!first_line) out.push_back(',');
      first_line = false;
      bool in_space = false;
      for (char c : line) {
        if (IsSpace(c)) {
          in_space = true;
          continue;
        }
        if (in_space) out.push_back(' ');
        in_space = false;
        out.push_back(c);
      }
    }
    if (nl == std::string_view::npos) break;
    value.remove_prefix(nl + 1);
  }
}

struct DateParts {
  std::string amz_date;  // 20150830T123600Z
  std::string date;      // 20150830
};

DateParts Dates(std::chrono::system_clock::time_point t) {
  DateParts d;
  d.amz_date = AmzDate(t);
  d.date = d.amz_date.substr(0, 8);
  return d;
}

std::string Scope(const std::string& date, const SigningParams& p) {
  std::string s;
  s.reserve(date.size() + p.region.size() + p.service.size() + 16);
  s.append(date).append("/").append(p.region).append("/").append(p.service);
  s.append("/aws4_request");
  return s;
}

}  // namespace

// Decodes valid %XX escapes; anything else (including '+') is kept literally.
std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (EVP_Digest(Bytes(data), data.size(), md.data(), &md_len, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return Hex(md.data(), md_len);
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view s) {
  using namespace std::chrono;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  int v[6] = {};
  const std::size_t pos[6] = {0, 4, 6, 9, 11, 13};
  const std::size_t len[6] = {4, 2, 2, 2, 2, 2};
  for (int i = 0; i < 6; ++i) {
    for (std::size_t j = 0; j < len[i]; ++j) {
      const char c = s[pos[i] + j];
      if (c < '0' || c > '9') return std::nullopt;
      v[i] = v[i] * 10 + (c - '0');
    }
  }
  const year_month_day ymd{year{v[0]}, month{static_cast<unsigned>(v[1])},
                           day{static_cast<unsigned>(v[2])}};
  if (!ymd.ok() || v[3] > 23 || v[4] > 59 || v[5] > 59) return std::nullopt;
  return sys_days{ymd} + hours{v[3]} + minutes{v[4]} + seconds{v[5]};
}

std::string CredentialScope(const SigningParams& p) { return Scope(Dates(p.time).date, p); }

std::string CanonicalUri(std::string_view raw_path) {
  // Remove "." and ".." segments and empty segments (duplicate slashes), like
  // botocore's remove_dot_segments; keep a trailing slash.
  std::vector<std::string_view> segments;
  std::string_view rest = raw_path;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i != 0) out.push_back('/');
    UriEncode(segments[i], out);
  }
  if (!segments.empty() && raw_path.back() == '/') out.push_back('/');
  return out;
}

std::string CanonicalQueryString(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string_view rest = raw_query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view param = rest.substr(0, amp);
    if (!param.empty()) {
      const std::size_t eq = param.find('=');
      std::string name = UriEncode(PercentDecode(param.substr(0, eq)));
      std::string value = eq == std::string_view::npos
                              ? std::string()
                              : UriEncode(PercentDecode(param.substr(eq + 1)));
      params.emplace_back(std::move(name), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string CanonicalRequest(const HttpRequestToSign& r,
                             const std::vector<std::string>& signed_header_names,
                             std::string_view payload_hash_hex) {
  std::string out;
  out.reserve(256 + r.path.size() + r.query.size());
  out.append(r.method).push_back('\n');
  out.append(CanonicalUri(r.path)).push_back('\n');
  out.append(CanonicalQueryString(r.query)).push_back('\n');
  for (const std::string& name : signed_header_names) {
    out.append(name).push_back(':');
    bool first = true;
    for (const auto& [hname, hvalue] : r.headers) {
      if (!IEquals(Trim(hname), name)) continue;
      if (!first) out.push_back(',');
      first = false;
      AppendCanonicalValue(hvalue, out);
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  for (std::size_t i = 0; i < signed_header_names.size(); ++i) {
    if (i != 0) out.push_back(';');
    out.append(signed_header_names[i]);
  }
  out.push_back('\n');
  out.append(payload_hash_hex);
  return out;
}

std::string StringToSign(std::string_view canonical_request, const SigningParams& p) {
  const DateParts d = Dates(p.time);
  std::string out;
  out.append(kSigV4Algorithm).push_back('\n');
  out.append(d.amz_date).push_back('\n');
  out.append(Scope(d.date, p)).push_back('\n');
  out.append(Sha256Hex(canonical_request));
  return out;
}

std::string SignatureHex(std::string_view string_to_sign, std::string_view secret_access_key,
                         const SigningParams& p) {
  const DateParts d = Dates(p.time);
  std::string key = "AWS4";
  key.append(secret_access_key);
  key = HmacSha256(key, d.date);
  key = HmacSha256(key, p.region);
  key = HmacSha256(key, p.service);
  key = HmacSha256(key, "aws4_request");
  const std::string sig = HmacSha256(key, string_to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

std::vector<std::string> SignedHeaderNames(const HttpRequestToSign& r) {
  std::vector<std::string> names;
  names.reserve(r.headers.size());
  for (const auto& h : r.headers) {
    std::string name = ToLower(Trim(h.first));
    if (name.empty() || name == "authorization") continue;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace cinesis::sigv4
