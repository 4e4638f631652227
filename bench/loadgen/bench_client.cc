// `cinesis bench`: the HTTP/1.1 keep-alive client (Boost.Beast, synchronous) and the
// request builder. Kept apart from bench.cc so that only this file pays for Beast.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <ctime>
#include <optional>

#include "bench.h"

namespace cinesis::app::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool ParseEndpoint(std::string_view url, Endpoint& out) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return false;
  url.remove_prefix(kScheme.size());
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.find('/') != std::string_view::npos) return false;
  std::string_view host = url;
  std::string_view port = "80";
  if (!url.empty() && url.front() == '[') {  // [::1]:port
    auto close = url.find(']');
    if (close == std::string_view::npos) return false;
    host = url.substr(1, close - 1);
    if (close + 1 < url.size()) {
      if (url[close + 1] != ':') return false;
      port = url.substr(close + 2);
    }
  } else if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return false;
  }
  out.host = std::string(host);
  out.port = std::string(port);
  return true;
}

std::string BuildRequest(const Endpoint& ep, std::string_view op, std::string_view body) {
  // A date of today keeps a server that checks clock skew content; the signature is a
  // fixed dummy (local emulators check that the pieces are present, not the signature).
  char date[32];
  char day[16];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
  std::strftime(day, sizeof day, "%Y%m%d", &tm);

  std::string req;
  req.reserve(body.size() + 512);
  req += "POST / HTTP/1.1\r\nHost: ";
  req += ep.host;
  req += ':';
  req += ep.port;
  req += "\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.";
  req += op;
  req += "\r\nX-Amz-Date: ";
  req += date;
  req += "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDCINESISBENCH/";
  req += day;
  req +=
      "/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
      "Signature=0000000000000000000000000000000000000000000000000000000000000000";
  req += "\r\nContent-Length: ";
  req += std::to_string(body.size());
  req += "\r\nConnection: keep-alive\r\n\r\n";
  req += body;
  return req;
}

struct Connection::Impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  bool open = false;
  std::optional<tcp::resolver::results_type> resolved;
};

Connection::Connection(Endpoint ep) : ep_(std::move(ep)), impl_(std::make_unique<Impl>()) {
  // Beast reads at most the buffer's free capacity per call; multi-megabyte GetRecords
  // answers would otherwise arrive 512 bytes per recv().
  impl_->buffer.reserve(256 * 1024);
}
Connection::~Connection() { Close(); }

void Connection::Close() {
  if (!impl_->open) return;
  beast::error_code ec;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ec);
  impl_->socket.close(ec);
  impl_->buffer.clear();
  impl_->open = false;
}

bool Connection::Send(std::string_view request, Response& out) {
  out.status = 0;
  out.body.clear();
  out.error.clear();
  beast::error_code ec;
  if (!impl_->open) {
    if (!impl_->resolved) {
      tcp::resolver resolver(impl_->ioc);
      auto results = resolver.resolve(ep_.host, ep_.port, ec);
      if (ec) {
        out.error = "resolve " + ep_.host + ": " + ec.message();
        return false;
      }
      impl_->resolved = std::move(results);
    }
    impl_->socket = tcp::socket(impl_->ioc);
    asio::connect(impl_->socket, *impl_->resolved, ec);
    if (ec) {
      out.error = "connect: " + ec.message();
      return false;
    }
    impl_->socket.set_option(tcp::no_delay(true), ec);
    impl_->buffer.clear();
    impl_->open = true;
    ++opened_;
  }
  asio::write(impl_->socket, asio::buffer(request.data(), request.size()), ec);
  if (ec) {
    out.error = "write: " + ec.message();
    Close();
    return false;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{1} << 30);
  parser.header_limit(64 << 10);
  http::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec) {
    out.error = "read: " + ec.message();
    Close();
    return false;
  }
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  if (!res.keep_alive()) Close();
  return true;
}

}  // namespace cinesis::app::bench
