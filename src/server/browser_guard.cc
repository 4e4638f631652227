#include "server/browser_guard.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>

#include "api/json_writer.h"

namespace cinesis::server {
namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "name", "name:port", "[v6]" or "[v6]:port" -> the name or address without the port.
std::string_view StripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  const auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(':') == colon) return host.substr(0, colon);
  return host;
}

bool IsIpLiteral(std::string_view name) {
  boost::system::error_code ec;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    (void)boost::asio::ip::make_address_v6(std::string(name.substr(1, name.size() - 2)), ec);
    return !ec;
  }
  (void)boost::asio::ip::make_address_v4(std::string(name), ec);
  return !ec;
}

}  // namespace

bool HostAllowed(std::string_view host, const ServerOptions& options) {
  if (host.empty()) return true;
  std::string_view name = StripPort(host);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // "localhost."
  // The usual Host of a local client, an IP literal, without the address parser (an
  // inet_pton and a string per request otherwise).
  if (name == "127.0.0.1") return true;
  if (EqualsNoCase(name, "localhost") || IsIpLiteral(name)) return true;
  return std::any_of(options.allowed_hosts.begin(), options.allowed_hosts.end(),
                     [&](const std::string& a) { return a == "*" || EqualsNoCase(a, name); });
}

api::WireResponse HostRejected(std::string_view host) {
  api::WireResponse r;
  r.status = 403;
  r.content_type = "application/x-amz-json-1.1";
  api::JsonWriter w(r.body);
  w.BeginObject();
  w.Key("__type");
  w.String("AccessDeniedException");
  w.Key("message");
  std::string name(StripPort(host).substr(0, 256));
  w.String("Host '" + name +
           "' is not served (DNS rebinding protection); start cinesis with --allowed-host " + name +
           " to allow it");
  w.EndObject();
  return r;
}

std::optional<std::string> CorsAllowOrigin(std::string_view origin, const ServerOptions& options) {
  for (const auto& o : options.cors_origins) {
    if (o == "*") return std::string("*");
    if (EqualsNoCase(o, origin)) return std::string(origin);
  }
  return std::nullopt;
}

bool IsLoopbackHost(std::string_view host) {
  if (EqualsNoCase(host, "localhost")) return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && a.is_loopback();
}

std::optional<std::string> ExposureWarning(const ServerOptions& options) {
  if (options.signatures_checked || IsLoopbackHost(options.host)) return std::nullopt;
  return "listening on " + options.host +
         ", which is not a loopback address, without checking request signatures: anyone who "
         "can reach this port can read, write and delete every stream";
}

}  // namespace cinesis::server
