// application/vnd.amazon.eventstream framing (used by SubscribeToShard):
//   total_length:u32 headers_length:u32 prelude_crc:u32 headers payload message_crc:u32
// big-endian, CRC-32 (zlib's) over the prelude and over everything before message_crc.
// Headers here are all strings (type 7), as the service sends them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cinesis::api::eventstream {

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string Encode(const Headers& headers, std::string_view payload);

// An event message: :message-type event, :event-type, :content-type application/json.
std::string Event(std::string_view event_type, std::string_view json_payload);
// A modelled error inside the stream: :message-type exception, :exception-type.
std::string Exception(std::string_view exception_type, std::string_view message);

struct Message {
  Headers headers;
  std::string payload;
  std::optional<std::string> Header(std::string_view name) const;
};
// Decodes one message from the front of `bytes`; sets `consumed`. nullopt when the bytes
// are incomplete or a CRC does not match (then `consumed` is 0).
std::optional<Message> Decode(std::string_view bytes, std::size_t& consumed);

}  // namespace cinesis::api::eventstream
