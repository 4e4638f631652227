// Shared by the http1 and http2 harnesses: the server's connection code over one end of a
// socket pair. The input is written to the other end, which is then shut for writing (the
// server reads the bytes, then end-of-stream); everything the server answers is read and
// dropped. Returns once the connection is closed and no handler is left.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "check.h"
#include "fake_service.h"
#include "server/session_common.h"

namespace cinesis::fuzz {

inline void ServeBytes(std::string_view bytes) {
  namespace asio = boost::asio;
  // At most what the socket pair buffers (written before the server runs).
  bytes = bytes.substr(0, std::min<std::size_t>(bytes.size(), 128 * 1024));
  int fds[2];
  FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  const int size = 1 << 20;
  (void)::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  (void)::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const auto n = ::write(fds[0], bytes.data() + off, bytes.size() - off);
    FUZZ_CHECK(n > 0);
    off += static_cast<std::size_t>(n);
  }
  ::shutdown(fds[0], SHUT_WR);
  FUZZ_CHECK(::fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);

  // One Shared for every input, as one server has for every connection (and its pool for
  // heavy requests is started once); after each input its counters are back to zero.
  static FakeService service;  // stateless
  static const std::shared_ptr<server::detail::Shared> shared = [] {
    server::ServerOptions options;
    options.read_timeout = std::chrono::seconds(2);
    options.idle_timeout = std::chrono::seconds(2);
    return std::make_shared<server::detail::Shared>(options, service, nullptr);
  }();
  asio::io_context ctx;
  {
    asio::ip::tcp::socket socket(ctx);
    socket.assign(asio::ip::tcp::v4(), fds[1]);
    server::detail::ServeCleartext(std::move(socket), shared);
  }
  char sink[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!ctx.stopped()) {
    ctx.run_one_for(std::chrono::milliseconds(5));
    while (::read(fds[0], sink, sizeof sink) > 0) {
    }
    // A connection left open after its input ended would be a hang (libFuzzer's -timeout
    // catches it too; this names it).
    FUZZ_CHECK(std::chrono::steady_clock::now() < deadline);
  }
  ::close(fds[0]);
  // Every request answered (a request still on the pool would be work of ctx), every budget
  // given back, the connection closed.
  FUZZ_CHECK(shared->inflight->load() == 0);
  FUZZ_CHECK(shared->queued_response_bytes.load() == 0);
  FUZZ_CHECK(shared->buffered_body_bytes.load() == 0);
  FUZZ_CHECK(shared->connections.load() == 0);
}

}  // namespace cinesis::fuzz
