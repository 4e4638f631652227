// Shared by the api_json and api_cbor harnesses: "<operation>\n<body>" through the whole
// wire pipeline (auth presence, body parse, member types, constraints, the typed decoder,
// the service, the response encoder), once answered with success and once with an error.
#pragma once

#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/codec.h"
#include "api/model.h"
#include "api/pipeline.h"
#include "api/validate.h"
#include "check.h"
#include "common/base64.h"
#include "fake_service.h"

namespace cinesis::fuzz {

// The string member `key` of `o`, if a string.
inline std::optional<std::string_view> StringMember(const boost::json::object& o,
                                                    std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string_view(v->get_string());
  return std::nullopt;
}

// The fast decoders (PutRecord, PutRecords) accept only bodies the generic path (parse,
// CheckTypes, CheckConstraints) accepts, and decode them to the same input.
inline void CheckFastDecoders(std::string_view op, std::string_view body) {
  const api::Operation* o = api::Model::Get().FindOperation(op);
  if (o == nullptr || o->input == nullptr) return;
  const bool records = op == "PutRecords";
  if (!records && op != "PutRecord") return;
  api::PutRecordInput one;
  api::PutRecordsFastInput many;
  if (records ? !api::DecodePutRecordsFast(body, *o->input, many)
              : !api::DecodePutRecordFast(body, *o->input, one)) {
    return;
  }
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  FUZZ_CHECK(!ec && doc.is_object());
  auto& obj = doc.get_object();
  FUZZ_CHECK(api::CheckTypes(*o->input, obj).ok());  // (decodes Data in place)
  FUZZ_CHECK(api::CheckConstraints(*o->input, obj).ok());
  const auto same = [](std::optional<std::string_view> a, const std::optional<std::string>& b) {
    return a.has_value() == b.has_value() && (!a || *a == *b);
  };
  if (!records) {
    FUZZ_CHECK(same(StringMember(obj, "StreamName"), one.stream.stream_name));
    FUZZ_CHECK(same(StringMember(obj, "StreamARN"), one.stream.stream_arn));
    FUZZ_CHECK(StringMember(obj, "Data").value_or("") == one.data);
    FUZZ_CHECK(StringMember(obj, "PartitionKey").value_or("") == one.partition_key);
    FUZZ_CHECK(same(StringMember(obj, "ExplicitHashKey"), one.explicit_hash_key));
    FUZZ_CHECK(
        same(StringMember(obj, "SequenceNumberForOrdering"), one.sequence_number_for_ordering));
    return;
  }
  FUZZ_CHECK(same(StringMember(obj, "StreamName"), many.views.stream.stream_name));
  FUZZ_CHECK(same(StringMember(obj, "StreamARN"), many.views.stream.stream_arn));
  const auto* list = obj.if_contains("Records");
  FUZZ_CHECK(list != nullptr && list->is_array());
  FUZZ_CHECK(list->get_array().size() == many.views.records.size());
  for (std::size_t i = 0; i < many.views.records.size(); ++i) {
    const auto& e = list->get_array()[i];
    FUZZ_CHECK(e.is_object());
    const auto& r = many.views.records[i];
    FUZZ_CHECK(StringMember(e.get_object(), "Data").value_or("") == r.data);
    FUZZ_CHECK(StringMember(e.get_object(), "PartitionKey").value_or("") == r.partition_key);
    const auto hash = StringMember(e.get_object(), "ExplicitHashKey");
    FUZZ_CHECK(hash.has_value() == r.explicit_hash_key.has_value() &&
               (!hash || *hash == *r.explicit_hash_key));
  }
}

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

  if (content_type == "application/x-amz-json-1.1") CheckFastDecoders(op, body);
  {
    // Base64 (vector blocks and scalar tail): what it accepts is the canonical encoding of
    // what it decoded, so neither a wrong byte nor a character outside the alphabet passes.
    std::string decoded, why;
    if (Base64Decode(body, decoded, why)) FUZZ_CHECK(Base64Encode(decoded) == body);
  }

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
