// api::KinesisService over HTTP: JSON 1.1 requests signed with SigV4 and sent with
// libcurl (a pool of keep-alive handles, TLS with verification, proxies from the
// environment as libcurl reads them). One attempt per call; retries live above it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/service.h"
#include "client/credentials.h"

namespace cinesis::client {

struct HttpOptions {
  std::string endpoint;  // scheme://host[:port]
  std::string region;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
  bool verify_tls = true;
  std::string ca_bundle;  // CURLOPT_CAINFO when not empty
};

// Streams SubscribeToShard events to `on_event` (return false to stop) until the
// subscription ends. Implemented by the HTTP service (HTTP/2 via libcurl) and by an
// adapter over the in-process engine.
class EventStreams {
 public:
  virtual ~EventStreams() = default;
  virtual Status SubscribeToShard(
      const api::SubscribeToShardInput& in,
      const std::function<bool(const api::SubscribeToShardEvent&)>& on_event) = 0;
};

// The service and its event-stream side (the same object).
struct HttpBackend {
  std::unique_ptr<api::KinesisService> service;
  EventStreams* events = nullptr;
};
HttpBackend NewHttpService(HttpOptions options,
                           std::unique_ptr<auth::CredentialsProvider> credentials);

// Event streams from an in-process api::EventStreamService (the engine).
std::unique_ptr<EventStreams> NewInProcessEventStreams(api::EventStreamService& events);

}  // namespace cinesis::client
