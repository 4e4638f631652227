#include "api/eventstream.h"

#include <zlib.h>

#include <cstdint>

#include "api/json_writer.h"

namespace cinesis::api::eventstream {
namespace {

std::uint32_t Crc(std::string_view s, std::uint32_t crc = 0) {
  return static_cast<std::uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

void Put32(std::string& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint32_t Get32(std::string_view s) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
  return v;
}

}  // namespace

std::string Encode(const Headers& headers, std::string_view payload) {
  std::string h;
  for (const auto& [name, value] : headers) {
    h += static_cast<char>(name.size());
    h += name;
    h += static_cast<char>(7);  // string
    h += static_cast<char>((value.size() >> 8) & 0xFF);
    h += static_cast<char>(value.size() & 0xFF);
    h += value;
  }
  const auto total = static_cast<std::uint32_t>(16 + h.size() + payload.size());
  std::string out;
  out.reserve(total);
  Put32(out, total);
  Put32(out, static_cast<std::uint32_t>(h.size()));
  Put32(out, Crc(out));
  out += h;
  out += payload;
  Put32(out, Crc(out));
  return out;
}

std::string Event(std::string_view event_type, std::string_view json_payload) {
  return Encode({{":event-type", std::string(event_type)},
                 {":content-type", "application/json"},
                 {":message-type", "event"}},
                json_payload);
}

std::string Exception(std::string_view exception_type, std::string_view message) {
  std::string payload;
  JsonWriter w(payload);
  w.BeginObject();
  w.Key("message");
  w.String(message);
  w.EndObject();
  return Encode({{":exception-type", std::string(exception_type)},
                 {":content-type", "application/json"},
                 {":message-type", "exception"}},
                payload);
}

std::optional<std::string> Message::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<Message> Decode(std::string_view bytes, std::size_t& consumed) {
  consumed = 0;
  if (bytes.size() < 16) return std::nullopt;
  const std::uint32_t total = Get32(bytes);
  const std::uint32_t hlen = Get32(bytes.substr(4));
  if (total < 16 || hlen > total - 16 || bytes.size() < total) return std::nullopt;
  if (Crc(bytes.substr(0, 8)) != Get32(bytes.substr(8))) return std::nullopt;
  if (Crc(bytes.substr(0, total - 4)) != Get32(bytes.substr(total - 4))) return std::nullopt;
  Message m;
  std::string_view h = bytes.substr(12, hlen);
  while (!h.empty()) {
    const std::size_t nlen = static_cast<unsigned char>(h[0]);
    if (h.size() < 1 + nlen + 1) return std::nullopt;
    std::string name(h.substr(1, nlen));
    const auto type = static_cast<unsigned char>(h[1 + nlen]);
    h.remove_prefix(2 + nlen);
    if (type != 7 && type != 6) return std::nullopt;  // only strings and bytes are used here
    if (h.size() < 2) return std::nullopt;
    const std::size_t vlen = (static_cast<std::size_t>(static_cast<unsigned char>(h[0])) << 8) |
                             static_cast<unsigned char>(h[1]);
    if (h.size() < 2 + vlen) return std::nullopt;
    m.headers.emplace_back(std::move(name), std::string(h.substr(2, vlen)));
    h.remove_prefix(2 + vlen);
  }
  m.payload = std::string(bytes.substr(12 + hlen, total - 16 - hlen));
  consumed = total;
  return m;
}

}  // namespace cinesis::api::eventstream
