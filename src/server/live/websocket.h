// The WebSocket endpoint /_cinesis/ws (issue 18; protocol in docs/console.md "Endpoints"):
// `tail` pushes a stream's records as they become durable (woken by the append notification
// that feeds SubscribeToShard), in order per shard, parents before children; `put` writes
// records through the Kinesis pipeline. A bounded queue per connection: when it is full the
// session stops reading shards and resumes from its cursors when the client drains it; a
// client that takes longer than the send timeout to accept a message is disconnected.
#pragma once

#include <boost/beast/http.hpp>
#include <memory>

#include "server/session_common.h"

namespace cinesis::server::detail {

// Takes over an HTTP/1.1 connection whose request is a WebSocket upgrade to /_cinesis/ws
// (the Origin was checked by the caller).
void StartWebSocket(TcpStream stream,
                    boost::beast::http::request<boost::beast::http::string_body> req,
                    std::shared_ptr<Shared> shared);
void StartWebSocket(TlsStream stream,
                    boost::beast::http::request<boost::beast::http::string_body> req,
                    std::shared_ptr<Shared> shared);

}  // namespace cinesis::server::detail
