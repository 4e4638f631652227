// HTTP/1.1 request handling: the bytes as a whole cleartext connection (request line,
// headers, framing, pipelined requests, Upgrade: h2c) through the server's own connection
// code and the wire pipeline, with a fake service behind it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cinesis::fuzz::ServeBytes(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
