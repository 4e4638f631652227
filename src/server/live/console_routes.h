// The `/_cinesis/` endpoints (issue 18), in one place so that access checks (signatures,
// Host, CORS) can be put in front of them: the HTTP/1.1 session hands every request whose path
// starts with /_cinesis/ to Route() (the WebSocket upgrade to StartWebSocket). HTTP/2 requests
// to these paths get 404 from the Kinesis pipeline's router (not served over HTTP/2).
//
//   GET    /_cinesis/metrics.json?stream=S&seconds=N   metrics with 1-second history (JSON)
//   GET    /_cinesis/metrics                           Prometheus text format
//   GET    /_cinesis/faults                            {"rules":[...]}
//   POST   /_cinesis/faults                            add rules: {"rules":[...]} or one rule
//   DELETE /_cinesis/faults[?id=f1]                    remove one rule, or all
//   GET    /_cinesis/ws                                WebSocket (websocket.h)
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "api/live.h"
#include "api/pipeline.h"
#include "server/live/faults.h"

namespace cinesis::server::live {

inline constexpr std::string_view kPrefix = "/_cinesis/";

struct Context {
  api::LiveService* live = nullptr;
  FaultRules* faults = nullptr;
  const std::atomic<int>* connections = nullptr;  // open connections (HTTP/1.1, WebSocket)
};

// True for a request path under /_cinesis/.
bool IsLivePath(std::string_view target);
// The path without the query.
std::string_view PathOf(std::string_view target);
// The value of `key` in the query of `target`, percent-decoded.
std::optional<std::string> QueryParam(std::string_view target, std::string_view key);

// Same-origin check for the WebSocket upgrade and every /_cinesis/ request: no Origin (a
// non-browser client) or an Origin whose host[:port] is the Host the request was sent to.
bool OriginAllowed(std::optional<std::string_view> origin, std::string_view host);

// Answers a plain (non-upgrade) request under /_cinesis/.
api::WireResponse Route(const Context& ctx, std::string_view method, std::string_view target,
                        std::string_view body);

// Escapes `s` as a JSON string (with the quotes) onto `out`.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace cinesis::server::live
