// JSON 1.1 codec: typed inputs from validated request documents, JSON text from typed
// outputs.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "api/batch.h"
#include "api/json_writer.h"
#include "api/model.h"
#include "api/service.h"

namespace cinesis::api {

// Decodes the input of operation `op` from `body` (which passed CheckTypes and
// CheckConstraints), calls `service`, and on success writes the JSON response body to
// `out` (empty for operations without output).
Status InvokeJson(std::string_view op, const boost::json::object& body, KinesisService& service,
                  std::string& out);

// PutRecord's input read straight from the request text, without a JSON document, when the
// body has the plain form SDKs send: one JSON object whose members are members of `input`
// (PutRecordInput's shape) of type string or blob, each at most once, with string values of
// printable ASCII without escapes, that satisfy every check of CheckTypes and CheckConstraints
// (required members, lengths, patterns; Data valid base64). Returns false for anything else,
// `in` then unspecified: the caller takes the generic path (parse, CheckTypes,
// CheckConstraints), which alone words the errors. When it returns true, the generic path would
// have accepted the body and decoded the same input. `in`'s strings keep their capacity, so a
// reused `in` decodes without allocating.
bool DecodePutRecordFast(std::string_view body, const Shape& input, PutRecordInput& in);
// Calls `service` with `in` and writes PutRecord's answer to `out`, as InvokeJson does.
Status InvokePutRecord(const PutRecordInput& in, KinesisService& service, std::string& out);

// Output encoders (exposed for tests and the in-process transport).
void Encode(JsonWriter& w, const DescribeStreamOutput& v);
void Encode(JsonWriter& w, const DescribeStreamSummaryOutput& v);
void Encode(JsonWriter& w, const ListStreamsOutput& v);
void Encode(JsonWriter& w, const ListShardsOutput& v);
void Encode(JsonWriter& w, const PutRecordOutput& v);
void Encode(JsonWriter& w, const PutRecordsOutput& v);
void Encode(JsonWriter& w, const PutRecordsBatchOutput& v);  // the same text as PutRecordsOutput
void Encode(JsonWriter& w, const GetShardIteratorOutput& v);
void Encode(JsonWriter& w, const GetRecordsOutput& v);
void Encode(JsonWriter& w, const GetRecordsBatchOutput& v);  // the same text as GetRecordsOutput
void Encode(JsonWriter& w, const SubscribeToShardEvent& v);
// SubscribeToShard input from a validated document.
SubscribeToShardInput DecodeSubscribeToShard(const boost::json::object& body);

}  // namespace cinesis::api
