// The HTTP/1.1 and HTTP/2 front end (cleartext h2c and TLS with ALPN): Boost.Beast over Asio. One
// strand per connection, a body limit and a timeout on every read, keep-alive, a thread pool,
// graceful stop. It only turns HTTP into api::WireRequest and back; all Kinesis behaviour lives
// below it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/live.h"
#include "api/service.h"
#include "api/sigv4_verify.h"
#include "common/status.h"

namespace cinesis::server {

namespace live {
class FaultRules;
}

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4567;  // 0: pick a free port
  int threads = 0;            // 0: half the cores, at least one
  // Requests run on this many worker threads instead of the I/O threads, so requests that
  // wait for the disk (group commit) do not stall the event loop and can share a sync.
  // 0: run requests inline on the I/O threads (right for in-memory storage).
  int worker_threads = 0;
  // With worker_threads 0: a request whose body is at least this large, and every GetRecords,
  // runs on a pool of its own (one thread per core, started at the first such request), so
  // decoding or encoding it does not stall the other connections of its I/O thread; its
  // writes are acknowledged by callbacks there too. 0: every request runs on the I/O threads.
  std::size_t offload_body_bytes = 16 << 10;
  std::size_t max_body_bytes = 32 << 20;
  std::chrono::milliseconds read_timeout{30'000};   // per request, headers and body
  std::chrono::milliseconds idle_timeout{120'000};  // keep-alive connection with no request
  std::chrono::milliseconds tick_interval{100};     // housekeeping period
  // TLS: when a certificate is given (or generated), the listener speaks TLS and ALPN
  // chooses h2 or http/1.1; otherwise it speaks cleartext HTTP/1.1 and h2c.
  std::string tls_cert;              // PEM certificate chain file
  std::string tls_key;               // PEM private key file
  bool tls_self_signed = false;      // generate a certificate for 127.0.0.1/localhost at start
  std::string tls_self_signed_path;  // where the generated certificate (PEM) is written
  // HTTP/2 limits (per connection), the same header limit as HTTP/1.1.
  std::uint32_t h2_max_concurrent_streams = 100;
  std::uint32_t max_header_bytes = 64 * 1024;

  // ---- Budgets and browser safety (issue 17; docs/security.md) ----
  // A response (or an HTTP/2 stream's queued DATA) that makes no send progress for this
  // long is abandoned: HTTP/1.1 closes the connection, HTTP/2 resets the stream.
  std::chrono::milliseconds write_timeout{30'000};
  // Response bytes waiting to be sent, per HTTP/2 connection and over all connections:
  // above either, completed requests wait (bodies kept) until responses drain.
  std::size_t max_connection_response_bytes = 64 << 20;
  std::size_t max_queued_response_bytes = 512 << 20;
  // HTTP/2 request bodies received and not yet dispatched, over all connections: a stream
  // whose DATA would go beyond it is refused (RST_STREAM REFUSED_STREAM). Per connection
  // the flow-control window bounds them (max_body_bytes + 1 MiB, reopened only as
  // requests are dispatched).
  std::size_t max_buffered_body_bytes = 256 << 20;
  // Origins answered with CORS headers (the Origin echoed); "*" allows any. Empty: no CORS.
  std::vector<std::string> cors_origins;
  // Host names accepted in Host / :authority besides localhost and IP literals (so DNS
  // rebinding cannot reach the server); "*" accepts any.
  std::vector<std::string> allowed_hosts;
  // Whether requests' signatures are verified (set by the --auth option): binding a
  // non-loopback address without it logs a warning.
  bool signatures_checked = false;
  // SigV4 signature verification (`--auth sigv4`); null: signatures are not checked.
  std::shared_ptr<const api::SigV4Verifier> verifier;
  // The /_cinesis/ endpoints (issue 18; docs/console.md). Without `live` they answer 404.
  api::LiveService* live = nullptr;
  api::KinesisService* direct = nullptr;  // the engine without fault rules (tail's ListShards)
  live::FaultRules* faults = nullptr;     // /_cinesis/faults; nullptr: fault injection off
  // WebSocket: records and bytes of record data queued per connection before the session
  // stops reading shards; how long one message may take to be accepted by the client.
  std::size_t ws_queue_records = 1000;
  std::size_t ws_queue_bytes = 1 << 20;
  std::chrono::milliseconds ws_send_timeout{30'000};
};

class HttpServer {
 public:
  // `service` (and `events`, which serves SubscribeToShard when given) must outlive the
  // server. `tick` (optional) runs every tick_interval. A write that waits for the disk is
  // answered by a callback the service calls later (api::DeferredAcks), which posts to the
  // server's io_context: every such callback must have been called before the server is
  // destroyed (after Run() returned, close the service's storage: engine::Engine::Close).
  HttpServer(ServerOptions options, api::KinesisService& service, std::function<void()> tick = {},
             api::EventStreamService* events = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; returns the bound port. Does not start threads.
  Result<std::uint16_t> Listen();
  // Runs the I/O threads; returns after Stop() once in-flight requests have finished.
  void Run();
  // Stops accepting, lets in-flight responses complete, then ends Run(). Thread-safe and
  // async-signal-agnostic (call it from a signal handler installed via Asio).
  void Stop();

  // Installs SIGINT/SIGTERM handlers that call Stop().
  void StopOnSignals();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cinesis::server
