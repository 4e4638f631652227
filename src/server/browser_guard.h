// Browser safety (issue 17, docs/security.md): which Host headers the server answers (a
// defence against DNS rebinding) and which Origins get CORS headers. Pure functions of the
// request's headers and the ServerOptions, shared by HTTP/1.1 and HTTP/2.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/pipeline.h"
#include "server/http_server.h"

namespace cinesis::server {

// True if `host` (a Host header or :authority, with or without a port) may be answered:
// empty (a client that sends none is not a browser), an IP literal (v4, or v6 in
// brackets), "localhost" or a name in options.allowed_hosts (case-insensitive; "*" allows
// every name). A rebinding page's requests carry the attacker's host name, so they fail.
bool HostAllowed(std::string_view host, const ServerOptions& options);

// The 403 answer to a request whose Host is not allowed, naming the option that allows it.
api::WireResponse HostRejected(std::string_view host);

// The Access-Control-Allow-Origin value for a request's Origin: the origin itself if it is
// in options.cors_origins, "*" if that list holds "*", else nullopt (no CORS headers).
std::optional<std::string> CorsAllowOrigin(std::string_view origin, const ServerOptions& options);

// True if `host` is a loopback address or "localhost" (no warning needed when binding it).
bool IsLoopbackHost(std::string_view host);

// The warning logged at start when the server listens on a non-loopback address without
// checking signatures (anyone who reaches the port can read and change every stream);
// nullopt when there is nothing to warn about.
std::optional<std::string> ExposureWarning(const ServerOptions& options);

}  // namespace cinesis::server
