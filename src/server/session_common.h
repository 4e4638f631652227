// Internal to the server: what every connection shares, the two stream types a
// connection can run over (plain TCP, TLS), and the entry into HTTP/2.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/service.h"
#include "server/http_server.h"

namespace cinesis::server::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Shared {
  Shared(ServerOptions o, api::KinesisService& s, api::EventStreamService* e)
      : options(std::move(o)), service(s), events(e) {
    if (options.worker_threads > 0)
      workers.emplace(static_cast<std::size_t>(options.worker_threads));
  }
  ServerOptions options;
  api::KinesisService& service;
  api::EventStreamService* events = nullptr;
  std::optional<asio::thread_pool> workers;
  std::atomic<bool> stopping{false};
  std::shared_ptr<asio::ssl::context> tls;  // set when the listener speaks TLS
};

// The TLS context for `options` (certificate files or a generated self-signed one,
// ALPN h2 / http/1.1). Writes the self-signed certificate to options.tls_self_signed_path.
Result<std::shared_ptr<asio::ssl::context>> MakeTlsContext(const ServerOptions& options);

}  // namespace cinesis::server::detail
