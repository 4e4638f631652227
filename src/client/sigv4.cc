// AWS Signature Version 4 signing for the client: see sigv4.h for the contract.
#include "client/sigv4.h"

#include <algorithm>

namespace cinesis::client::auth {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

void SetHeader(std::vector<std::pair<std::string, std::string>>& headers, std::string_view name,
               std::string value) {
  auto it = std::find_if(headers.begin(), headers.end(),
                         [&](const auto& h) { return IEquals(Trim(h.first), name); });
  if (it == headers.end()) {
    headers.emplace_back(std::string(name), std::move(value));
    return;
  }
  it->second = std::move(value);
  const auto first = static_cast<std::size_t>(it - headers.begin());
  std::size_t w = first + 1;
  for (std::size_t i = first + 1; i < headers.size(); ++i) {
    if (IEquals(Trim(headers[i].first), name)) continue;
    if (w != i) headers[w] = std::move(headers[i]);
    ++w;
  }
  headers.resize(w);
}

}  // namespace

std::string AuthorizationHeader(const HttpRequestToSign& r, const Credentials& c,
                                const SigningParams& p) {
  const std::vector<std::string> names = SignedHeaderNames(r);
  const std::string creq = CanonicalRequest(r, names, Sha256Hex(r.payload));
  const std::string sts = StringToSign(creq, p);
  std::string out;
  out.append(kSigV4Algorithm).append(" Credential=").append(c.access_key_id);
  out.append("/").append(CredentialScope(p)).append(", SignedHeaders=");
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out.push_back(';');
    out.append(names[i]);
  }
  out.append(", Signature=").append(SignatureHex(sts, c.secret_access_key, p));
  return out;
}

void Sign(HttpRequestToSign& r, const Credentials& c, const SigningParams& p) {
  SetHeader(r.headers, "X-Amz-Date", AmzDate(p.time));
  if (!c.session_token.empty()) SetHeader(r.headers, "X-Amz-Security-Token", c.session_token);
  std::string authorization = AuthorizationHeader(r, c, p);
  SetHeader(r.headers, "Authorization", std::move(authorization));
}

}  // namespace cinesis::client::auth
