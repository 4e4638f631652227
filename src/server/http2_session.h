// HTTP/2 (nghttp2) sessions over a plain or TLS connection, driven by the connection's
// strand. Internal to the server.
#pragma once

#include "server/session_common.h"

namespace cinesis::server::detail {

// An HTTP/1.1 request that asked for `Upgrade: h2c`: it becomes HTTP/2 stream 1.
struct H2Upgrade {
  std::string settings;  // the decoded HTTP2-Settings payload
  bool head = false;
  // Lowercase names; the pseudo-headers :method and :path first.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Runs HTTP/2 on a connection. `buffer` holds bytes already read from it (the client
// preface or part of it). Call on the connection's strand.
void StartHttp2(TcpStream stream, beast::flat_buffer buffer, std::shared_ptr<Shared> shared,
                std::optional<H2Upgrade> upgrade = std::nullopt);
void StartHttp2(TlsStream stream, beast::flat_buffer buffer, std::shared_ptr<Shared> shared);

}  // namespace cinesis::server::detail
