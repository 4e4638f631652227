// Internal to the server: what every connection shares, the two stream types a
// connection can run over (plain TCP, TLS), and the entry into HTTP/2.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/pipeline.h"
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
  // The pool a request runs on when it is heavy (with no worker pool): a body of at least
  // options.offload_body_bytes, or a GetRecords (its answer may hold 10,000 records); started
  // at the first one, one thread per core. nullptr: the request runs on the I/O thread.
  asio::thread_pool* HeavyPool(std::size_t body_bytes, std::string_view amz_target) {
    if (options.offload_body_bytes == 0) return nullptr;
    if (body_bytes < options.offload_body_bytes && !IsGetRecords(amz_target)) return nullptr;
    std::call_once(heavy_once, [this] { heavy.emplace(Cores()); });
    return &*heavy;
  }
  static bool IsGetRecords(std::string_view amz_target) {
    const auto dot = amz_target.rfind('.');
    return dot != std::string_view::npos && amz_target.substr(dot + 1) == "GetRecords";
  }
  static std::size_t Cores() { return std::max(1u, std::thread::hardware_concurrency()); }
  std::once_flag heavy_once;
  std::optional<asio::thread_pool> heavy;  // written once, under heavy_once
  std::atomic<bool> stopping{false};
  // Requests being answered (read, and not yet written back). Stop() waits for none to be
  // left, up to its grace period.
  std::shared_ptr<std::atomic<int>> inflight = std::make_shared<std::atomic<int>>(0);
  // A token held while a request is being answered (no allocation: it shares `inflight`).
  class BusyToken {
   public:
    BusyToken() = default;
    explicit BusyToken(std::shared_ptr<std::atomic<int>> n) : n_(std::move(n)) { n_->fetch_add(1); }
    BusyToken(BusyToken&& o) noexcept = default;
    BusyToken& operator=(BusyToken&& o) noexcept {
      if (this != &o) {
        reset();
        n_ = std::move(o.n_);
      }
      return *this;
    }
    BusyToken(const BusyToken&) = delete;
    BusyToken& operator=(const BusyToken&) = delete;
    ~BusyToken() { reset(); }
    void reset() {
      if (n_) n_->fetch_sub(1);
      n_.reset();
    }

   private:
    std::shared_ptr<std::atomic<int>> n_;
  };
  BusyToken Busy() { return BusyToken(inflight); }
  std::shared_ptr<asio::ssl::context> tls;  // set when the listener speaks TLS
  // Budgets over all HTTP/2 connections (options.max_queued_response_bytes,
  // options.max_buffered_body_bytes): response bytes waiting to be sent, request body
  // bytes received and not yet dispatched.
  std::atomic<std::size_t> queued_response_bytes{0};
  std::atomic<std::size_t> buffered_body_bytes{0};
  // Open HTTP/1.1 and WebSocket connections (/_cinesis/metrics).
  std::atomic<int> connections{0};
};

// Runs a request on this (I/O) thread without blocking it on the disk: `run(acks)` answers
// at once, writes register their durability waits in `acks`, and `finish(response)` is
// called here at once when nothing is left to wait for, else on `executor` once the writes
// are durable (an InternalFailure answer in `content_type`'s protocol if they failed).
// `finish(response, later)` tells which: `later` is true when called from `executor`.
// I/O threads when --threads is 0: half the cores (at least one). The clients of a local
// server share its machine, and heavy requests run on a pool of their own (Shared::HeavyPool),
// so more I/O threads than that only add hand-offs between them (docs/benchmarks.md).
inline int DefaultIoThreads() { return static_cast<int>((Shared::Cores() + 1) / 2); }

template <class Executor, class Run, class Finish>
void RunDeferred(const Executor& executor, Run run, std::string_view content_type, Finish finish) {
  struct Pending {
    api::WireResponse response;
    Status status;
    std::atomic<int> phase{0};  // 0: Run() going, 1: completed inside it, 2: Run() returned
    std::string content_type;
  };
  api::DeferredAcks acks;
  api::WireResponse r = run(&acks);
  if (acks.empty() || r.status != 200) return finish(std::move(r), false);
  auto p = std::make_shared<Pending>();
  p->response = std::move(r);
  p->content_type = std::string(content_type);
  auto complete = [p, finish](bool later) {
    if (!p->status.ok()) p->response = api::ErrorResponse(p->status, p->content_type);
    finish(std::move(p->response), later);
  };
  acks.Run([p, executor, complete](Status st) {
    p->status = std::move(st);
    if (p->phase.exchange(1) == 0) return;  // still inside Run(): completed below
    asio::post(executor, [complete] { complete(true); });
  });
  if (p->phase.exchange(2) == 1) complete(false);
}

// RunDeferred on `pool` (the heavy-request pool): `finish(response, true)` is always called on
// `executor` (the connection's strand), whether the answer was ready inside `run` or came later.
// Until then the request is outstanding work of `executor`'s context, as an asynchronous
// operation would be: the context does not run out of work (and its run() return) while the
// request is on the pool or waiting for the disk. The pool thread drops its references to
// `run` and `finish` before that work ends, so none outlives the context on the pool.
template <class Executor, class Run, class Finish>
void RunDeferredOn(asio::thread_pool& pool, const Executor& executor, Run run,
                   std::string_view content_type, Finish finish) {
  auto work = asio::prefer(executor, asio::execution::outstanding_work.tracked);
  asio::post(
      pool, [work, run = std::move(run), content_type, finish = std::move(finish)]() mutable {
        auto ran = std::move(run);
        auto done = std::move(finish);
        RunDeferred(work, ran, content_type, [work, done](api::WireResponse r, bool on_executor) {
          if (on_executor) return done(std::move(r), true);
          auto owned = std::make_shared<api::WireResponse>(std::move(r));
          asio::post(work, [done, owned] { done(std::move(*owned), true); });
        });
      });
}

// The TLS 1.2 cipher list and TLS 1.3 suites the server offers: forward secrecy only.
extern const char* const kTls12Ciphers;
extern const char* const kTls13Suites;

// Serves one accepted cleartext connection as the listener does: HTTP/1.1 (which may upgrade
// to h2c) or HTTP/2 with prior knowledge. Also the entry of the fuzz harnesses (fuzz/), which
// hand it one end of a socket pair.
void ServeCleartext(asio::ip::tcp::socket socket, std::shared_ptr<Shared> shared);

// The TLS context for `options` (certificate files or a generated self-signed one,
// ALPN h2 / http/1.1). Writes the self-signed certificate to options.tls_self_signed_path.
Result<std::shared_ptr<asio::ssl::context>> MakeTlsContext(const ServerOptions& options);

}  // namespace cinesis::server::detail
