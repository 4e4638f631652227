// The web console (issue 18, docs/console.md): its files are embedded in the binary at build
// time (cmake/CinesisConsole.cmake generates console_assets.cc) and served from those static
// read-only arrays at /_cinesis/console and /_cinesis/console/<asset>.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace cinesis::server {

struct ConsoleAsset {
  std::string_view name;          // "app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, from the file's SHA-256
  const unsigned char* data;
  std::size_t size;

  std::string_view body() const { return {reinterpret_cast<const char*>(data), size}; }
};

// Every embedded asset (generated).
std::span<const ConsoleAsset> ConsoleAssets();

// What the server answers to a console request.
struct ConsoleReply {
  unsigned status = 200;                // 200, 304, 404 or 405
  const ConsoleAsset* asset = nullptr;  // the body for 200 (headers for 304)
};

inline constexpr std::string_view kConsolePath = "/_cinesis/console";

// nullopt when `target` is not under /_cinesis/console; otherwise the reply: GET only (405
// otherwise), index.html at /_cinesis/console and /_cinesis/console/, 304 when
// `if_none_match` names the asset's ETag, 404 for an unknown asset. The query is ignored.
std::optional<ConsoleReply> ServeConsole(std::string_view method, std::string_view target,
                                         std::string_view if_none_match);

// Headers every console answer carries besides Content-Type and ETag: revalidate each time
// (the ETag makes that a 304), no sniffing, no framing, scripts only from the console.
inline constexpr std::string_view kConsoleCacheControl = "no-cache";
inline constexpr std::string_view kConsoleCsp =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'";

}  // namespace cinesis::server
