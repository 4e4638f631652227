// HTTP/2 session input: the client preface followed by the bytes (frames: SETTINGS, HEADERS
// with HPACK, DATA, RST_STREAM, WINDOW_UPDATE, ...) into the server's HTTP/2 session
// (nghttp2) and the wire pipeline, with a fake service behind it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  bytes.append(reinterpret_cast<const char*>(data), size);
  cinesis::fuzz::ServeBytes(bytes);
  return 0;
}
