// HTTP/1.1 request handling: the bytes as a whole cleartext connection (request line,
// headers, framing, pipelined requests, Upgrade: h2c) through the server's own connection
// code and the wire pipeline, with a fake service behind it. Also the scanner of the common
// path (server/http1_scan.h) against Beast: whatever it accepts, Beast reads the same.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "check.h"
#include "server/http1_scan_oracle.h"
#include "server_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const cinesis::server::http1::ScanLimits limits :
       {cinesis::server::http1::ScanLimits{}, cinesis::server::http1::ScanLimits{200, 16}}) {
    const std::string why = cinesis::server::http1::ScanDisagreesWithBeast(in, limits);
    if (!why.empty()) std::fprintf(stderr, "scanner and Beast differ: %s\n", why.c_str());
    FUZZ_CHECK(why.empty());
  }
  cinesis::fuzz::ServeBytes(in);
  return 0;
}
