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

// PutRecords' input read straight from the request text, as DecodePutRecordFast reads
// PutRecord's: one plain JSON object whose members are members of `input` (PutRecordsInput's
// shape), Records an array of plain objects of the entry's members (Data, PartitionKey,
// ExplicitHashKey), strings as DecodePutRecordFast takes them, every check of CheckTypes and
// CheckConstraints satisfied (1 to 500 records, lengths, patterns, Data valid base64 within
// its limit). Returns false for anything else: the generic path decides and words the errors.
// When it returns true, the generic path would have accepted the body and handed the engine
// the same records. `in.views` then points into `body` (partition and hash keys) and into
// `in.data` (every record's decoded Data, one after the other). Reused, it decodes without
// allocating once its buffers have grown.
struct PutRecordsFastInput {
  PutRecordsViewInput views;
  std::string data;
  std::vector<std::size_t> data_ends;  // where each record's Data ends in `data`
  std::string scratch;                 // one record's Data while it is decoded
};
bool DecodePutRecordsFast(std::string_view body, const Shape& input, PutRecordsFastInput& in);
// Calls `batch` with `in` and writes PutRecords' answer to `out`, as InvokeJson does.
Status InvokePutRecordsBatch(const PutRecordsViewInput& in, BatchDataPlane& batch,
                             std::string& out);

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
