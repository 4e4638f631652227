// Shared by the api_json and api_cbor harnesses: "<operation>\n<body>" through the whole
// wire pipeline (auth presence, body parse, member types, constraints, the typed decoder,
// the service, the response encoder), once answered with success and once with an error.
#pragma once

#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/pipeline.h"
#include "check.h"
#include "fake_service.h"

namespace cinesis::fuzz {

inline void RunWireRequest(const std::uint8_t* data, std::size_t size,
                           std::string_view content_type) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nl = in.find('\n');
  const std::string_view op = nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? in : in.substr(nl + 1);
  const std::string target = "Kinesis_20131202." + std::string(op);

  api::WireRequest r;
  r.method = "POST";
  r.target = target;
  r.content_type = content_type;
  r.authorization =
      "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=0000";
  r.has_amz_date = true;
  r.body = body;

  FakeService service;
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) service.fail = Status(Code::kResourceNotFound, "Stream x not found.");
    const api::WireResponse res = api::HandleRequest(r, service);
    FUZZ_CHECK(res.status >= 100 && res.status < 600);
    // Every JSON answer (success or error) is a JSON document.
    if (res.content_type.find("json") != std::string::npos && !res.body.empty()) {
      boost::system::error_code ec;
      (void)boost::json::parse(res.body, ec);
      FUZZ_CHECK(!ec);
    }
  }
}

}  // namespace cinesis::fuzz
