// JSON 1.1 request decode and validation: "<operation>\n<body>" through api::HandleRequest.
#include "wire_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cinesis::fuzz::RunWireRequest(data, size, "application/x-amz-json-1.1");
  return 0;
}
