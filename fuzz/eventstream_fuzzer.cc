// Event-stream decode: messages one after another from the front of the input; each one
// decoded is encoded again and must decode to the same headers and payload.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/eventstream.h"
#include "check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace es = cinesis::api::eventstream;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    std::size_t consumed = 0;
    auto m = es::Decode(in, consumed);
    if (!m) {
      FUZZ_CHECK(consumed == 0);
      break;
    }
    FUZZ_CHECK(consumed > 0 && consumed <= in.size());
    (void)m->Header(":message-type");
    const std::string again = es::Encode(m->headers, m->payload);
    std::size_t consumed2 = 0;
    auto m2 = es::Decode(again, consumed2);
    FUZZ_CHECK(m2.has_value());
    FUZZ_CHECK(consumed2 == again.size());
    FUZZ_CHECK(m2->headers == m->headers);
    FUZZ_CHECK(m2->payload == m->payload);
    in.remove_prefix(consumed);
  }
  return 0;
}
