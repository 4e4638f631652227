// CBOR decode: the body alone through api::CborToJson (and what it gives back through
// JsonToCbor and CborToJson again), then "<operation>\n<body>" through api::HandleRequest as
// a CBOR request.
#include <string_view>

#include "api/cbor.h"
#include "wire_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cinesis;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nl = in.find('\n');
  const std::string_view body = nl == std::string_view::npos ? in : in.substr(nl + 1);
  auto doc = api::CborToJson(body);
  if (doc.ok()) {
    // What the decoder accepted, encoded again, decodes again.
    const std::string again = api::JsonToCbor(doc.value(), nullptr);
    FUZZ_CHECK(api::CborToJson(again).ok());
  }
  fuzz::RunWireRequest(data, size, "application/x-amz-cbor-1.1");
  return 0;
}
