// The request pipeline of the AWS JSON 1.1 and CBOR protocols, in the order the service
// applies it: method -> content type -> body parse -> target -> auth presence -> member
// types -> constraints -> operation semantics (the KinesisService). Transport-neutral: the
// HTTP/1.1 and HTTP/2 sessions fill a WireRequest and send back the WireResponse.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/service.h"
#include "api/sigv4_verify.h"

namespace cinesis::api {

struct WireRequest {
  std::string_view method;
  std::string_view target;        // X-Amz-Target
  std::string_view content_type;  // Content-Type, parameters included
  std::optional<std::string_view> authorization;
  bool has_amz_date = false;  // X-Amz-Date or Date present
  std::optional<std::string_view> origin;
  // The Access-Control-Allow-Origin value for `origin` if the server allows it (the
  // transport decides: server/browser_guard.h); unset: no CORS headers, no preflight.
  std::optional<std::string_view> cors_allow_origin;
  std::string_view cors_request_headers;  // Access-Control-Request-Headers
  std::string_view cors_request_method;   // Access-Control-Request-Method
  std::string_view query;                 // text after '?', may be empty
  std::string_view body;
  // When set, a valid SubscribeToShard request is not answered: its input is stored here
  // and HandleRequest returns status 0, for the transport to stream the events.
  std::optional<SubscribeToShardInput>* subscribe = nullptr;
  // When set, writes do not wait for the disk: they register their durability waits here
  // and the transport answers once they complete (see DeferredAcks).
  DeferredAcks* acks = nullptr;
  // Signature verification (`cinesis serve --auth sigv4`): when set, a request that passed the
  // presence check is verified; `path` (before '?') and `headers` (every header as received,
  // HTTP/2's :authority also as "host" when there is no Host header) feed the canonical request.
  const SigV4Verifier* verifier = nullptr;
  std::string_view path;
  const std::vector<std::pair<std::string_view, std::string_view>>* headers = nullptr;
};

struct WireResponse {
  int status = 200;
  std::string content_type;  // empty: no Content-Type header
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A CORS preflight answer: AWS sends it without x-amz-id-2.
  bool preflight = false;
};

// Error messages longer than this are cut (then "..."), so an error answer stays small
// whatever the request (docs/security.md).
inline constexpr std::size_t kMaxErrorMessageBytes = 64 * 1024;

// Runs one request through the pipeline. Never throws.
WireResponse HandleRequest(const WireRequest& req, KinesisService& service);

// An error answer in the protocol of the request's content type (JSON 1.1 or CBOR).
WireResponse ErrorResponse(const Status& st, std::string_view content_type);

// True if `name` is an operation of the service model.
bool IsKnownOperation(std::string_view name);

}  // namespace cinesis::api
