#include "api/codec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstring>

#include "api/validate.h"
#include "common/base64.h"

namespace cinesis::api {
namespace {

namespace json = boost::json;

std::optional<std::string> Str(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return std::string(v->get_string());
  return std::nullopt;
}
std::optional<std::string_view> View(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return std::string_view(v->get_string());
  return std::nullopt;
}
std::optional<int> Int(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_number())
    return static_cast<int>(v->to_number<std::int64_t>());
  return std::nullopt;
}
std::optional<EpochMillis> Time(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_number()) return v->to_number<std::int64_t>();
  return std::nullopt;
}
bool Bool(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() && v->get_bool();
}
StreamRef Ref(const json::object& o) { return {Str(o, "StreamName"), Str(o, "StreamARN")}; }
std::vector<std::string> StrList(const json::object& o, std::string_view k) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(k); v && v->is_array()) {
    for (const auto& e : v->get_array()) {
      if (e.is_string()) out.emplace_back(e.get_string());
    }
  }
  return out;
}
TagMap Tags(const json::object& o) {
  TagMap out;
  if (auto* t = o.if_contains("Tags"); t && t->is_object()) {
    for (const auto& kv : t->get_object()) {
      if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  return out;
}
ConsumerRef CRef(const json::object& o) {
  return {Str(o, "StreamARN"), Str(o, "ConsumerName"), Str(o, "ConsumerARN")};
}
void EncodeTags(JsonWriter& w, const std::vector<Tag>& tags) {
  w.Key("Tags");
  w.BeginArray();
  for (const auto& t : tags) {
    w.BeginObject();
    w.Key("Key");
    w.String(t.key);
    w.Key("Value");
    w.String(t.value);
    w.EndObject();
  }
  w.EndArray();
}
void EncodeConsumerFields(JsonWriter& w, const Consumer& c) {
  w.Key("ConsumerName");
  w.String(c.consumer_name);
  w.Key("ConsumerARN");
  w.String(c.consumer_arn);
  w.Key("ConsumerStatus");
  w.Plain(ToString(c.consumer_status));
  w.Key("ConsumerCreationTimestamp");
  w.Timestamp(c.consumer_creation_timestamp);
}
void EncodeStrings(JsonWriter& w, std::string_view key, const std::vector<std::string>& v) {
  w.Key(key);
  w.BeginArray();
  for (const auto& x : v) w.String(x);
  w.EndArray();
}
void EncodeAccount(JsonWriter& w, const AccountSettingsOutput& v) {
  w.BeginObject();
  if (v.minimum_throughput_billing_commitment) {
    const auto& c = *v.minimum_throughput_billing_commitment;
    w.Key("MinimumThroughputBillingCommitment");
    w.BeginObject();
    w.Key("Status");
    w.String(c.status);
    if (c.started_at) {
      w.Key("StartedAt");
      w.Timestamp(*c.started_at);
    }
    if (c.ended_at) {
      w.Key("EndedAt");
      w.Timestamp(*c.ended_at);
    }
    if (c.earliest_allowed_end_at) {
      w.Key("EarliestAllowedEndAt");
      w.Timestamp(*c.earliest_allowed_end_at);
    }
    w.EndObject();
  }
  w.EndObject();
}

void EncodeHashKeyRange(JsonWriter& w, const HashKeyRange& r) {
  w.BeginObject();
  w.Key("StartingHashKey");
  w.String(r.starting_hash_key);
  w.Key("EndingHashKey");
  w.String(r.ending_hash_key);
  w.EndObject();
}

void EncodeShard(JsonWriter& w, const Shard& s) {
  w.BeginObject();
  w.Key("ShardId");
  w.Plain(s.shard_id);
  if (s.parent_shard_id) {
    w.Key("ParentShardId");
    w.Plain(*s.parent_shard_id);
  }
  if (s.adjacent_parent_shard_id) {
    w.Key("AdjacentParentShardId");
    w.Plain(*s.adjacent_parent_shard_id);
  }
  w.Key("HashKeyRange");
  EncodeHashKeyRange(w, s.hash_key_range);
  w.Key("SequenceNumberRange");
  w.BeginObject();
  w.Key("StartingSequenceNumber");
  w.Plain(s.sequence_number_range.starting_sequence_number);
  if (s.sequence_number_range.ending_sequence_number) {
    w.Key("EndingSequenceNumber");
    w.Plain(*s.sequence_number_range.ending_sequence_number);
  }
  w.EndObject();
  w.EndObject();
}

void EncodeShards(JsonWriter& w, const std::vector<Shard>& shards) {
  w.BeginArray();
  for (const auto& s : shards) EncodeShard(w, s);
  w.EndArray();
}

void EncodeMonitoring(JsonWriter& w, const std::vector<EnhancedMetrics>& m) {
  w.BeginArray();
  for (const auto& e : m) {
    w.BeginObject();
    w.Key("ShardLevelMetrics");
    w.BeginArray();
    for (const auto& s : e.shard_level_metrics) w.String(s);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

void EncodeMode(JsonWriter& w, StreamMode m) {
  w.Key("StreamModeDetails");
  w.BeginObject();
  w.Key("StreamMode");
  w.Plain(ToString(m));
  w.EndObject();
}

void EncodeChildShards(JsonWriter& w, const std::vector<ChildShard>& children) {
  w.BeginArray();
  for (const auto& c : children) {
    w.BeginObject();
    w.Key("ShardId");
    w.Plain(c.shard_id);
    w.Key("ParentShards");
    w.BeginArray();
    for (const auto& p : c.parent_shards) w.String(p);
    w.EndArray();
    w.Key("HashKeyRange");
    EncodeHashKeyRange(w, c.hash_key_range);
    w.EndObject();
  }
  w.EndArray();
}

template <typename Out, typename Fn>
Status EmitWith(Result<Out> r, std::string& out, Fn encode) {
  if (!r.ok()) return std::move(r).take_status();
  JsonWriter w(out);
  encode(w, r.value());
  return Status::Ok();
}

template <typename Out>
Status Emit(Result<Out> r, std::string& out) {
  if (!r.ok()) return std::move(r).take_status();
  JsonWriter w(out);
  Encode(w, r.value());
  return Status::Ok();
}

}  // namespace

void Encode(JsonWriter& w, const DescribeStreamOutput& v) {
  const auto& d = v.stream_description;
  w.BeginObject();
  w.Key("StreamDescription");
  w.BeginObject();
  w.Key("StreamName");
  w.String(d.stream_name);
  w.Key("StreamARN");
  w.String(d.stream_arn);
  w.Key("StreamStatus");
  w.Plain(ToString(d.stream_status));
  EncodeMode(w, d.stream_mode);
  w.Key("Shards");
  EncodeShards(w, d.shards);
  w.Key("HasMoreShards");
  w.Bool(d.has_more_shards);
  w.Key("RetentionPeriodHours");
  w.Int(d.retention_period_hours);
  w.Key("StreamCreationTimestamp");
  w.Timestamp(d.stream_creation_timestamp);
  w.Key("EnhancedMonitoring");
  EncodeMonitoring(w, d.enhanced_monitoring);
  w.Key("EncryptionType");
  w.Plain(ToString(d.encryption_type));
  if (d.key_id) {
    w.Key("KeyId");
    w.String(*d.key_id);
  }
  w.EndObject();
  w.EndObject();
}

void Encode(JsonWriter& w, const DescribeStreamSummaryOutput& v) {
  const auto& d = v.stream_description_summary;
  w.BeginObject();
  w.Key("StreamDescriptionSummary");
  w.BeginObject();
  w.Key("StreamName");
  w.String(d.stream_name);
  w.Key("StreamARN");
  w.String(d.stream_arn);
  w.Key("StreamStatus");
  w.Plain(ToString(d.stream_status));
  EncodeMode(w, d.stream_mode);
  w.Key("RetentionPeriodHours");
  w.Int(d.retention_period_hours);
  w.Key("StreamCreationTimestamp");
  w.Timestamp(d.stream_creation_timestamp);
  w.Key("EnhancedMonitoring");
  EncodeMonitoring(w, d.enhanced_monitoring);
  w.Key("EncryptionType");
  w.Plain(ToString(d.encryption_type));
  if (d.key_id) {
    w.Key("KeyId");
    w.String(*d.key_id);
  }
  w.Key("OpenShardCount");
  w.Int(d.open_shard_count);
  w.Key("ConsumerCount");
  w.Int(d.consumer_count);
  w.Key("MaxRecordSizeInKiB");
  w.Int(d.max_record_size_kib);
  if (d.warm_throughput_mibps) {
    w.Key("WarmThroughput");
    w.BeginObject();
    w.Key("TargetMiBps");
    w.Int(*d.warm_throughput_mibps);
    w.Key("CurrentMiBps");
    w.Int(*d.warm_throughput_mibps);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
}

void Encode(JsonWriter& w, const ListStreamsOutput& v) {
  w.BeginObject();
  w.Key("StreamNames");
  w.BeginArray();
  for (const auto& n : v.stream_names) w.String(n);
  w.EndArray();
  w.Key("HasMoreStreams");
  w.Bool(v.has_more_streams);
  if (v.next_token) {
    w.Key("NextToken");
    w.String(*v.next_token);
  }
  w.Key("StreamSummaries");
  w.BeginArray();
  for (const auto& s : v.stream_summaries) {
    w.BeginObject();
    w.Key("StreamName");
    w.String(s.stream_name);
    w.Key("StreamARN");
    w.String(s.stream_arn);
    w.Key("StreamStatus");
    w.Plain(ToString(s.stream_status));
    EncodeMode(w, s.stream_mode);
    w.Key("StreamCreationTimestamp");
    w.Timestamp(s.stream_creation_timestamp);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void Encode(JsonWriter& w, const ListShardsOutput& v) {
  w.BeginObject();
  w.Key("Shards");
  EncodeShards(w, v.shards);
  if (v.next_token) {
    w.Key("NextToken");
    w.String(*v.next_token);
  }
  w.EndObject();
}

void Encode(JsonWriter& w, const PutRecordOutput& v) {
  // The whole answer's room at once (the string would otherwise grow three or four times),
  // and its members as literal text between the values (what Key and Plain write).
  w.Reserve(v.shard_id.size() + v.sequence_number.size() + 64);
  w.BeginObject();
  w.Raw(R"("ShardId":")");
  w.Raw(v.shard_id);
  w.Raw(R"(","SequenceNumber":")");
  w.Raw(v.sequence_number);
  w.Raw("\"");
  // AWS names the encryption of writes and records only when it is KMS (recorded answers
  // of unencrypted streams carry no EncryptionType).
  if (v.encryption_type != EncryptionType::kNone) {
    w.Raw(R"(,"EncryptionType":")");
    w.Raw(ToString(v.encryption_type));
    w.Raw("\"");
  }
  w.EndObject();
}

namespace {
// PutRecordsOutput and PutRecordsBatchOutput: `entry(i)` gives the i-th result's four optional
// members as views.
struct PutResultText {
  std::optional<std::string_view> sequence_number, shard_id, error_code, error_message;
};
template <class Entry>
void EncodePutRecords(JsonWriter& w, int failed_record_count, std::size_t n,
                      EncryptionType encryption_type, Entry entry) {
  w.Reserve(64 + n * 112);  // {"SequenceNumber":"<56>","ShardId":"<20>"},
  w.BeginObject();
  w.Key("FailedRecordCount");
  w.Int(failed_record_count);
  w.Key("Records");
  w.BeginArray();
  for (std::size_t i = 0; i < n; ++i) {
    const PutResultText r = entry(i);
    w.BeginObject();
    if (r.sequence_number) {
      w.Key("SequenceNumber");
      w.Plain(*r.sequence_number);
    }
    if (r.shard_id) {
      w.Key("ShardId");
      w.Plain(*r.shard_id);
    }
    if (r.error_code) {
      w.Key("ErrorCode");
      w.String(*r.error_code);
    }
    if (r.error_message) {
      w.Key("ErrorMessage");
      w.String(*r.error_message);
    }
    w.EndObject();
  }
  w.EndArray();
  if (encryption_type != EncryptionType::kNone) {
    w.Key("EncryptionType");
    w.Plain(ToString(encryption_type));
  }
  w.EndObject();
}
std::optional<std::string_view> ViewOf(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return std::string_view(*s);
}
}  // namespace

void Encode(JsonWriter& w, const PutRecordsOutput& v) {
  EncodePutRecords(w, v.failed_record_count, v.records.size(), v.encryption_type,
                   [&](std::size_t i) {
                     const auto& r = v.records[i];
                     return PutResultText{ViewOf(r.sequence_number), ViewOf(r.shard_id),
                                          ViewOf(r.error_code), ViewOf(r.error_message)};
                   });
}

void Encode(JsonWriter& w, const PutRecordsBatchOutput& v) {
  EncodePutRecords(w, v.failed_record_count, v.records.size(), v.encryption_type,
                   [&](std::size_t i) {
                     const auto& r = v.records[i];
                     const auto& a = v.arena;
                     return PutResultText{a.Optional(r.sequence_number), a.Optional(r.shard_id),
                                          a.Optional(r.error_code), a.Optional(r.error_message)};
                   });
}

void Encode(JsonWriter& w, const GetShardIteratorOutput& v) {
  w.BeginObject();
  w.Key("ShardIterator");
  w.Plain(v.shard_iterator);
  w.EndObject();
}

namespace {
// One record of an answer, as views.
struct RecordText {
  std::string_view sequence_number;
  EpochMillis approximate_arrival_timestamp = 0;
  std::string_view data;
  std::string_view partition_key;
  std::optional<EncryptionType> encryption_type;
};
// Copies a string literal (without its terminating NUL) or a view to `o`; returns the end.
template <std::size_t N>
char* Put(char* o, const char (&text)[N]) {
  std::memcpy(o, text, N - 1);
  return o + N - 1;
}
char* Put(char* o, std::string_view text) {
  if (!text.empty()) std::memcpy(o, text.data(), text.size());
  return o + text.size();
}
template <class Entry>
void EncodeRecordsWith(JsonWriter& w, std::size_t n, Entry entry) {
  // One allocation for the whole answer: per record, its base64 data plus the members.
  std::size_t estimate = 64;
  for (std::size_t i = 0; i < n; ++i) {
    const RecordText r = entry(i);
    estimate += (r.data.size() + 2) / 3 * 4 + r.partition_key.size() + 160;
  }
  w.Reserve(estimate);
  w.BeginArray();
  // Each record is {"SequenceNumber":"…","ApproximateArrivalTimestamp":…,"Data":"…",
  // "PartitionKey":"…"[,"EncryptionType":"…"]} (the same text as Key/Plain/Timestamp/
  // Base64/String calls), written through a pointer into a buffer on the stack and appended
  // at once; a record too large for it is written in place (room made by Extend, cut back
  // by Trim).
  static constexpr std::size_t kLiterals =
      sizeof(R"(,{"SequenceNumber":")") + sizeof(R"(","ApproximateArrivalTimestamp":)") +
      sizeof(R"(,"Data":")") + sizeof(R"(","PartitionKey":)") + sizeof(R"(,"EncryptionType":")") +
      sizeof("\"}") + 16;  // the encryption type's name ("KMS")
  char stack[4096];
  std::int64_t seconds = 0;  // the last arrival second written, as text:
  char seconds_text[24];
  std::size_t seconds_len = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const RecordText r = entry(i);
    const std::size_t bound = kLiterals + r.sequence_number.size() + JsonWriter::kTimestampBound +
                              Base64EncodedSize(r.data.size()) +
                              JsonWriter::EscapedBound(r.partition_key.size());
    char* const start = bound <= sizeof stack ? stack : w.Extend(bound);
    char* o = start;
    o = i == 0 ? Put(o, R"({"SequenceNumber":")") : Put(o, R"(,{"SequenceNumber":")");
    o = Put(o, r.sequence_number);
    o = Put(o, R"(","ApproximateArrivalTimestamp":)");
    {
      // As JsonWriter::TimestampTo, with the seconds' digits written once per second: the
      // records of a batch mostly arrived within a few seconds.
      std::int64_t sec = r.approximate_arrival_timestamp / 1000;
      std::int64_t frac = r.approximate_arrival_timestamp % 1000;
      if (frac < 0) {
        frac += 1000;
        --sec;
      }
      if (seconds_len == 0 || sec != seconds) {
        seconds = sec;
        seconds_len = static_cast<std::size_t>(
            std::to_chars(seconds_text, seconds_text + sizeof seconds_text, sec).ptr -
            seconds_text);
      }
      o = Put(o, std::string_view(seconds_text, seconds_len));
      if (frac != 0) {
        *o++ = '.';
        *o++ = static_cast<char>('0' + frac / 100);
        *o++ = static_cast<char>('0' + frac / 10 % 10);
        *o++ = static_cast<char>('0' + frac % 10);
      }
    }
    o = Put(o, R"(,"Data":")");
    o = Base64EncodeTo(r.data, o);
    o = Put(o, R"(","PartitionKey":)");
    o = JsonWriter::EscapedTo(r.partition_key, o);
    if (r.encryption_type && *r.encryption_type != EncryptionType::kNone) {
      o = Put(o, R"(,"EncryptionType":")");
      o = Put(o, ToString(*r.encryption_type));
      o = Put(o, "\"}");
    } else {
      o = Put(o, "}");
    }
    if (start == stack) {
      w.Raw({stack, static_cast<std::size_t>(o - stack)});
    } else {
      w.Trim(o);
    }
  }
  w.EndArray();
}
void EncodeRecords(JsonWriter& w, const std::vector<Record>& records) {
  EncodeRecordsWith(w, records.size(), [&](std::size_t i) {
    const auto& r = records[i];
    return RecordText{r.sequence_number, r.approximate_arrival_timestamp, r.data, r.partition_key,
                      r.encryption_type};
  });
}
void EncodeRecords(JsonWriter& w, const GetRecordsBatchOutput& v) {
  EncodeRecordsWith(w, v.records.size(), [&](std::size_t i) {
    const auto& r = v.records[i];
    return RecordText{v.arena.View(r.sequence_number), r.approximate_arrival_timestamp,
                      v.arena.View(r.data), v.arena.View(r.partition_key), r.encryption_type};
  });
}

// GetRecords and SubscribeToShard events: records, where to continue (`cursor_key`: the
// next iterator or the continuation sequence number), lag, and child shards at the end.
template <class Batch>
void EncodeRecordBatch(JsonWriter& w, const Batch& v, std::string_view cursor_key,
                       const std::optional<std::string>& cursor) {
  w.BeginObject();
  w.Key("Records");
  if constexpr (std::is_same_v<Batch, GetRecordsBatchOutput>) {
    EncodeRecords(w, v);
  } else {
    EncodeRecords(w, v.records);
  }
  if (cursor) {
    w.Key(cursor_key);
    w.Plain(*cursor);
  }
  w.Key("MillisBehindLatest");
  w.Int(v.millis_behind_latest);
  if (v.child_shards) {
    w.Key("ChildShards");
    EncodeChildShards(w, *v.child_shards);
  }
  w.EndObject();
}
}  // namespace

void Encode(JsonWriter& w, const SubscribeToShardEvent& v) {
  EncodeRecordBatch(w, v, "ContinuationSequenceNumber", v.continuation_sequence_number);
}

SubscribeToShardInput DecodeSubscribeToShard(const json::object& b) {
  SubscribeToShardInput in;
  in.consumer_arn = Str(b, "ConsumerARN").value_or("");
  in.shard_id = Str(b, "ShardId").value_or("");
  if (auto* p = b.if_contains("StartingPosition"); p && p->is_object()) {
    const auto& o = p->get_object();
    in.starting_position.type =
        ParseShardIteratorType(Str(o, "Type").value_or("")).value_or(ShardIteratorType::kLatest);
    in.starting_position.sequence_number = Str(o, "SequenceNumber");
    in.starting_position.timestamp = Time(o, "Timestamp");
  }
  return in;
}

void Encode(JsonWriter& w, const GetRecordsOutput& v) {
  EncodeRecordBatch(w, v, "NextShardIterator", v.next_shard_iterator);
}

void Encode(JsonWriter& w, const GetRecordsBatchOutput& v) {
  EncodeRecordBatch(w, v, "NextShardIterator", v.next_shard_iterator);
}

Status InvokeJson(std::string_view op, const json::object& b, KinesisService& service,
                  std::string& out) {
  if (op == "PutRecords") {
    // Through BatchDataPlane when the service has it: views of the parsed document (Data
    // was decoded in place by CheckTypes), no string per record.
    auto* batch = dynamic_cast<BatchDataPlane*>(&service);
    if (batch == nullptr) {
      PutRecordsInput in;
      in.stream = Ref(b);
      if (auto* recs = b.if_contains("Records"); recs && recs->is_array()) {
        in.records.reserve(recs->get_array().size());
        for (const auto& e : recs->get_array()) {
          if (!e.is_object()) continue;
          const auto& o = e.get_object();
          PutRecordsRequestEntry entry;
          entry.data = Str(o, "Data").value_or("");
          entry.partition_key = Str(o, "PartitionKey").value_or("");
          entry.explicit_hash_key = Str(o, "ExplicitHashKey");
          in.records.push_back(std::move(entry));
        }
      }
      return Emit(service.PutRecords(in), out);
    }
    PutRecordsViewInput in;
    in.stream = Ref(b);
    if (auto* recs = b.if_contains("Records"); recs && recs->is_array()) {
      in.records.reserve(recs->get_array().size());
      for (const auto& e : recs->get_array()) {
        if (!e.is_object()) continue;
        const auto& o = e.get_object();
        in.records.push_back({View(o, "Data").value_or(std::string_view{}),
                              View(o, "PartitionKey").value_or(std::string_view{}),
                              View(o, "ExplicitHashKey")});
      }
    }
    return Emit(batch->PutRecordsBatch(in), out);
  }
  if (op == "GetRecords") {
    GetRecordsInput in{Str(b, "ShardIterator").value_or(""), Int(b, "Limit"), Str(b, "StreamARN")};
    if (auto* batch = dynamic_cast<BatchDataPlane*>(&service)) {
      return Emit(batch->GetRecordsBatch(in), out);
    }
    return Emit(service.GetRecords(in), out);
  }
  if (op == "PutRecord") {
    PutRecordInput in{Ref(b), Str(b, "Data").value_or(""), Str(b, "PartitionKey").value_or(""),
                      Str(b, "ExplicitHashKey"), Str(b, "SequenceNumberForOrdering")};
    return Emit(service.PutRecord(in), out);
  }
  if (op == "GetShardIterator") {
    GetShardIteratorInput in;
    in.stream = Ref(b);
    in.shard_id = Str(b, "ShardId").value_or("");
    in.shard_iterator_type = ParseShardIteratorType(Str(b, "ShardIteratorType").value_or(""))
                                 .value_or(ShardIteratorType::kLatest);
    in.starting_sequence_number = Str(b, "StartingSequenceNumber");
    in.timestamp = Time(b, "Timestamp");
    return Emit(service.GetShardIterator(in), out);
  }
  if (op == "CreateStream") {
    CreateStreamInput in;
    in.stream_name = Str(b, "StreamName").value_or("");
    in.shard_count = Int(b, "ShardCount");
    if (auto* m = b.if_contains("StreamModeDetails"); m && m->is_object()) {
      in.stream_mode = ParseStreamMode(Str(m->get_object(), "StreamMode").value_or(""));
    }
    if (auto* t = b.if_contains("Tags"); t && t->is_object()) {
      for (const auto& kv : t->get_object()) {
        if (kv.value().is_string())
          in.tags[std::string(kv.key())] = std::string(kv.value().get_string());
      }
    }
    in.warm_throughput_mibps = Int(b, "WarmThroughputMiBps");
    in.max_record_size_kib = Int(b, "MaxRecordSizeInKiB");
    return service.CreateStream(in);
  }
  if (op == "DeleteStream") {
    return service.DeleteStream(DeleteStreamInput{Ref(b), Bool(b, "EnforceConsumerDeletion")});
  }
  if (op == "DescribeStream") {
    return Emit(service.DescribeStream({Ref(b), Int(b, "Limit"), Str(b, "ExclusiveStartShardId")}),
                out);
  }
  if (op == "DescribeStreamSummary") {
    return Emit(service.DescribeStreamSummary({Ref(b)}), out);
  }
  if (op == "ListStreams") {
    return Emit(service.ListStreams(
                    {Int(b, "Limit"), Str(b, "ExclusiveStartStreamName"), Str(b, "NextToken")}),
                out);
  }
  if (op == "ListShards") {
    ListShardsInput in;
    in.stream = Ref(b);
    in.next_token = Str(b, "NextToken");
    in.exclusive_start_shard_id = Str(b, "ExclusiveStartShardId");
    in.max_results = Int(b, "MaxResults");
    in.stream_creation_timestamp = Time(b, "StreamCreationTimestamp");
    if (auto* f = b.if_contains("ShardFilter"); f && f->is_object()) {
      const auto& fo = f->get_object();
      ShardFilter filter;
      filter.type = ParseShardFilterType(Str(fo, "Type").value_or(""))
                        .value_or(ShardFilterType::kFromTrimHorizon);
      filter.shard_id = Str(fo, "ShardId");
      filter.timestamp = Time(fo, "Timestamp");
      in.shard_filter = filter;
    }
    return Emit(service.ListShards(in), out);
  }
  if (op == "IncreaseStreamRetentionPeriod" || op == "DecreaseStreamRetentionPeriod") {
    UpdateRetentionPeriodInput in{Ref(b), Int(b, "RetentionPeriodHours").value_or(0)};
    return op[0] == 'I' ? service.IncreaseStreamRetentionPeriod(in)
                        : service.DecreaseStreamRetentionPeriod(in);
  }
  if (op == "SplitShard") {
    return service.SplitShard(
        {Ref(b), Str(b, "ShardToSplit").value_or(""), Str(b, "NewStartingHashKey").value_or("")});
  }
  if (op == "MergeShards") {
    return service.MergeShards(
        {Ref(b), Str(b, "ShardToMerge").value_or(""), Str(b, "AdjacentShardToMerge").value_or("")});
  }
  if (op == "UpdateShardCount") {
    return EmitWith(service.UpdateShardCount({Ref(b), Int(b, "TargetShardCount").value_or(0),
                                              Str(b, "ScalingType").value_or("")}),
                    out, [](JsonWriter& w, const UpdateShardCountOutput& v) {
                      w.BeginObject();
                      w.Key("StreamName");
                      w.String(v.stream_name);
                      w.Key("CurrentShardCount");
                      w.Int(v.current_shard_count);
                      w.Key("TargetShardCount");
                      w.Int(v.target_shard_count);
                      w.Key("StreamARN");
                      w.String(v.stream_arn);
                      w.EndObject();
                    });
  }
  if (op == "AddTagsToStream") return service.AddTagsToStream({Ref(b), Tags(b)});
  if (op == "RemoveTagsFromStream")
    return service.RemoveTagsFromStream({Ref(b), StrList(b, "TagKeys")});
  if (op == "ListTagsForStream") {
    return EmitWith(
        service.ListTagsForStream({Ref(b), Str(b, "ExclusiveStartTagKey"), Int(b, "Limit")}), out,
        [](JsonWriter& w, const ListTagsForStreamOutput& v) {
          w.BeginObject();
          EncodeTags(w, v.tags);
          w.Key("HasMoreTags");
          w.Bool(v.has_more_tags);
          w.EndObject();
        });
  }
  if (op == "TagResource")
    return service.TagResource({Str(b, "ResourceARN").value_or(""), Tags(b)});
  if (op == "UntagResource")
    return service.UntagResource({Str(b, "ResourceARN").value_or(""), StrList(b, "TagKeys")});
  if (op == "ListTagsForResource") {
    return EmitWith(service.ListTagsForResource({Str(b, "ResourceARN").value_or("")}), out,
                    [](JsonWriter& w, const ListTagsForResourceOutput& v) {
                      w.BeginObject();
                      EncodeTags(w, v.tags);
                      w.EndObject();
                    });
  }
  if (op == "StartStreamEncryption" || op == "StopStreamEncryption") {
    StreamEncryptionInput in{Ref(b),
                             Str(b, "EncryptionType").value_or("") == "NONE" ? EncryptionType::kNone
                                                                             : EncryptionType::kKms,
                             Str(b, "KeyId").value_or("")};
    return op[2] == 'a' ? service.StartStreamEncryption(in) : service.StopStreamEncryption(in);
  }
  if (op == "EnableEnhancedMonitoring" || op == "DisableEnhancedMonitoring") {
    EnhancedMonitoringInput in{Ref(b), StrList(b, "ShardLevelMetrics")};
    auto r =
        op[0] == 'E' ? service.EnableEnhancedMonitoring(in) : service.DisableEnhancedMonitoring(in);
    return EmitWith(std::move(r), out, [](JsonWriter& w, const EnhancedMonitoringOutput& v) {
      w.BeginObject();
      w.Key("StreamName");
      w.String(v.stream_name);
      EncodeStrings(w, "CurrentShardLevelMetrics", v.current_shard_level_metrics);
      EncodeStrings(w, "DesiredShardLevelMetrics", v.desired_shard_level_metrics);
      w.Key("StreamARN");
      w.String(v.stream_arn);
      w.EndObject();
    });
  }
  if (op == "DescribeLimits") {
    return EmitWith(service.DescribeLimits(), out,
                    [](JsonWriter& w, const DescribeLimitsOutput& v) {
                      w.BeginObject();
                      w.Key("ShardLimit");
                      w.Int(v.shard_limit);
                      w.Key("OpenShardCount");
                      w.Int(v.open_shard_count);
                      w.Key("OnDemandStreamCount");
                      w.Int(v.on_demand_stream_count);
                      w.Key("OnDemandStreamCountLimit");
                      w.Int(v.on_demand_stream_count_limit);
                      w.EndObject();
                    });
  }
  if (op == "UpdateStreamMode") {
    UpdateStreamModeInput in;
    in.stream_arn = Str(b, "StreamARN").value_or("");
    if (auto* m = b.if_contains("StreamModeDetails"); m && m->is_object()) {
      in.stream_mode = ParseStreamMode(Str(m->get_object(), "StreamMode").value_or(""))
                           .value_or(StreamMode::kProvisioned);
    }
    in.warm_throughput_mibps = Int(b, "WarmThroughputMiBps");
    return service.UpdateStreamMode(in);
  }
  if (op == "DescribeAccountSettings")
    return EmitWith(service.DescribeAccountSettings(), out, EncodeAccount);
  if (op == "UpdateAccountSettings") {
    UpdateAccountSettingsInput in;
    if (auto* c = b.if_contains("MinimumThroughputBillingCommitment"); c && c->is_object()) {
      in.minimum_throughput_billing_commitment_status = Str(c->get_object(), "Status").value_or("");
    }
    return EmitWith(service.UpdateAccountSettings(in), out, EncodeAccount);
  }
  if (op == "PutResourcePolicy") {
    return service.PutResourcePolicy(
        {Str(b, "ResourceARN").value_or(""), Str(b, "Policy").value_or("")});
  }
  if (op == "GetResourcePolicy") {
    return EmitWith(service.GetResourcePolicy({Str(b, "ResourceARN").value_or(""), ""}), out,
                    [](JsonWriter& w, const GetResourcePolicyOutput& v) {
                      w.BeginObject();
                      w.Key("Policy");
                      w.String(v.policy);
                      w.EndObject();
                    });
  }
  if (op == "DeleteResourcePolicy")
    return service.DeleteResourcePolicy({Str(b, "ResourceARN").value_or(""), ""});
  if (op == "UpdateMaxRecordSize") {
    return service.UpdateMaxRecordSize({Ref(b), Int(b, "MaxRecordSizeInKiB").value_or(0)});
  }
  if (op == "UpdateStreamWarmThroughput") {
    return EmitWith(
        service.UpdateStreamWarmThroughput({Ref(b), Int(b, "WarmThroughputMiBps").value_or(0)}),
        out, [](JsonWriter& w, const UpdateStreamWarmThroughputOutput& v) {
          w.BeginObject();
          w.Key("StreamARN");
          w.String(v.stream_arn);
          w.Key("StreamName");
          w.String(v.stream_name);
          w.Key("WarmThroughput");
          w.BeginObject();
          w.Key("TargetMiBps");
          w.Int(v.target_mibps);
          w.Key("CurrentMiBps");
          w.Int(v.current_mibps);
          w.EndObject();
          w.EndObject();
        });
  }
  if (op == "RegisterStreamConsumer") {
    return EmitWith(service.RegisterStreamConsumer({Str(b, "StreamARN").value_or(""),
                                                    Str(b, "ConsumerName").value_or(""), Tags(b)}),
                    out, [](JsonWriter& w, const Consumer& c) {
                      w.BeginObject();
                      w.Key("Consumer");
                      w.BeginObject();
                      EncodeConsumerFields(w, c);
                      w.EndObject();
                      w.EndObject();
                    });
  }
  if (op == "DeregisterStreamConsumer") return service.DeregisterStreamConsumer(CRef(b));
  if (op == "DescribeStreamConsumer") {
    return EmitWith(service.DescribeStreamConsumer(CRef(b)), out,
                    [](JsonWriter& w, const Consumer& c) {
                      w.BeginObject();
                      w.Key("ConsumerDescription");
                      w.BeginObject();
                      EncodeConsumerFields(w, c);
                      w.Key("StreamARN");
                      w.String(c.stream_arn);
                      w.EndObject();
                      w.EndObject();
                    });
  }
  if (op == "ListStreamConsumers") {
    ListStreamConsumersInput in{Str(b, "StreamARN").value_or(""), Str(b, "NextToken"),
                                Int(b, "MaxResults"), Time(b, "StreamCreationTimestamp")};
    return EmitWith(service.ListStreamConsumers(in), out,
                    [](JsonWriter& w, const ListStreamConsumersOutput& v) {
                      w.BeginObject();
                      w.Key("Consumers");
                      w.BeginArray();
                      for (const auto& c : v.consumers) {
                        w.BeginObject();
                        EncodeConsumerFields(w, c);
                        w.EndObject();
                      }
                      w.EndArray();
                      if (v.next_token) {
                        w.Key("NextToken");
                        w.String(*v.next_token);
                      }
                      w.EndObject();
                    });
  }
  return {Code::kUnknownOperation,
          "Operation " + std::string(op) + " is not supported by this server yet."};
}

namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether any of the 8 bytes of `w` is zero / less than `n` (n <= 128). Exact as to whether
// one is; bytes above the first such byte may be flagged too (only zero is tested here).
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
constexpr std::uint64_t HasZero(std::uint64_t w) { return (w - kOnes) & ~w & kHighs; }
constexpr std::uint64_t HasLess(std::uint64_t w, std::uint64_t n) {
  return (w - kOnes * n) & ~w & kHighs;
}

// The string whose opening quote is just before `p`: printable ASCII (0x20-0x7f) without
// escapes up to the closing quote. Returns the position after the closing quote, or nullptr
// when the string is anything else (escapes, control characters, non-ASCII, no end).
const char* PlainString(const char* p, const char* end, std::string_view& out) {
  const char* start = p;
  // 8 bytes at a time while none of them is special; the byte loop below decides.
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    if (((w & kHighs) | HasLess(w, 0x20) | HasZero(w ^ (kOnes * '"')) |
         HasZero(w ^ (kOnes * '\\'))) != 0) {
      break;
    }
    p += 8;
  }
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') {
      out = std::string_view(start, static_cast<std::size_t>(p - start));
      return p + 1;
    }
    if (c == '\\' || c < 0x20 || c >= 0x80) return nullptr;
  }
  return nullptr;
}

// CheckMember's checks of a present value of `m` (string or blob, `size` its length in
// UTF-16 units or decoded bytes): whether it passes all of them.
bool InRange(const Member& m, std::size_t size) {
  const auto min = m.service_min ? m.service_min : m.shape->min;
  const auto max = m.service_max ? m.service_max : m.shape->max;
  const auto n = static_cast<std::int64_t>(size);
  return !(min && n < *min) && !(max && n > *max);
}
bool StringPasses(const Member& m, std::string_view s) {
  const Shape& shape = *m.shape;
  // CheckMember skips the pattern of a value over 64 KiB; such values are left to it.
  if (s.size() > 65536) return false;
  if (shape.pattern && !shape.PatternMatches(s)) return false;
  if (!InRange(m, s.size())) return false;  // ASCII: one UTF-16 unit per byte
  if (!shape.enum_values.empty() &&
      std::find(shape.enum_values.begin(), shape.enum_values.end(), s) == shape.enum_values.end()) {
    return false;
  }
  return true;
}

void SetOptional(std::optional<std::string>& o, std::string_view v) {
  if (o) {
    o->assign(v);
  } else {
    o.emplace(v);
  }
}

// Reading the plain form (DecodePutRecordFast, DecodePutRecordsFast) from `p` on; each returns
// false (p then unspecified) where the body is not of that form.
class PlainReader {
 public:
  PlainReader(const char* p, const char* end) : p_(p), end_(end) {}
  void SkipSpace() {
    while (p_ < end_ && IsJsonSpace(*p_)) ++p_;
  }
  // The next character, after spaces, is `c` (taken).
  bool Take(char c) {
    SkipSpace();
    return p_ < end_ && *p_++ == c;
  }
  // A string without escapes (after '"', taken).
  bool String(std::string_view& out) {
    if (!Take('"')) return false;
    p_ = PlainString(p_, end_, out);
    return p_ != nullptr;
  }
  // `"key":` of a member of `shape` not seen yet (marked in `seen`, one bit per member).
  const Member* Key(const Shape& shape, std::uint64_t& seen) {
    std::string_view key;
    if (!String(key)) return nullptr;
    const Member* m = shape.FindMember(key);
    if (m == nullptr) return nullptr;
    const auto bit = std::uint64_t{1} << (m - shape.members.data());
    if ((seen & bit) != 0 || !Take(':')) return nullptr;
    seen |= bit;
    SkipSpace();
    return m;
  }
  // After a value: ',' (true: another member or element follows) or `close` (false, `*done`
  // set); anything else: false with `*done` unset.
  bool Next(char close, bool* done) {
    SkipSpace();
    if (p_ == end_) return false;
    const char c = *p_++;
    *done = c == close;
    return c == ',';
  }
  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }

 private:
  const char* p_;
  const char* end_;
};

// Every required member of `shape` is in `seen`.
bool HasRequired(const Shape& shape, std::uint64_t seen) {
  for (std::size_t i = 0; i < shape.members.size(); ++i) {
    if (shape.members[i].required && !(seen & (std::uint64_t{1} << i))) return false;
  }
  return true;
}

}  // namespace

bool DecodePutRecordFast(std::string_view body, const Shape& input, PutRecordInput& in) {
  if (input.members.size() > 64) return false;
  PlainReader r(body.data(), body.data() + body.size());
  if (!r.Take('{')) return false;
  std::uint64_t seen = 0;
  bool data = false, partition_key = false;
  bool stream_name = false, stream_arn = false, explicit_hash_key = false, ordering = false;
  std::string why;
  for (bool done = false; !done;) {
    const Member* m = r.Key(input, seen);  // "{}" and "{...,}" too: left to the parser
    if (m == nullptr) return false;
    std::string_view value;
    if (!r.String(value)) return false;
    if (m->shape->type == ShapeType::kBlob) {
      if (m->name != "Data" || !Base64Decode(value, in.data, why) || !InRange(*m, in.data.size()))
        return false;
      data = true;
    } else if (m->shape->type == ShapeType::kString) {
      if (!StringPasses(*m, value)) return false;
      if (m->name == "StreamName") {
        SetOptional(in.stream.stream_name, value);
        stream_name = true;
      } else if (m->name == "PartitionKey") {
        in.partition_key.assign(value);
        partition_key = true;
      } else if (m->name == "ExplicitHashKey") {
        SetOptional(in.explicit_hash_key, value);
        explicit_hash_key = true;
      } else if (m->name == "SequenceNumberForOrdering") {
        SetOptional(in.sequence_number_for_ordering, value);
        ordering = true;
      } else if (m->name == "StreamARN") {
        SetOptional(in.stream.stream_arn, value);
        stream_arn = true;
      }
      // Any other string member (StreamId) is checked, then ignored as by InvokeJson.
    } else {
      return false;
    }
    if (!r.Next('}', &done) && !done) return false;
  }
  if (!r.AtEnd() || !HasRequired(input, seen)) return false;
  // Both are required by the model; without either the generic path decides.
  if (!data || !partition_key) return false;
  if (!stream_name) in.stream.stream_name.reset();
  if (!stream_arn) in.stream.stream_arn.reset();
  if (!explicit_hash_key) in.explicit_hash_key.reset();
  if (!ordering) in.sequence_number_for_ordering.reset();
  return true;
}

Status InvokePutRecord(const PutRecordInput& in, KinesisService& service, std::string& out) {
  return Emit(service.PutRecord(in), out);
}

namespace {

// One PutRecords entry, after its '{'. Appends its decoded Data to `in.data` and its view
// (Data filled in later) to `in.views.records`. False: not the plain form.
bool DecodeEntryFast(PlainReader& r, const Shape& entry, PutRecordsFastInput& in) {
  if (entry.members.size() > 64) return false;
  std::uint64_t seen = 0;
  PutRecordsEntryView view;
  bool data = false;
  std::string why;
  for (bool done = false; !done;) {
    const Member* m = r.Key(entry, seen);
    if (m == nullptr) return false;
    std::string_view value;
    if (!r.String(value)) return false;
    if (m->shape->type == ShapeType::kBlob) {
      if (m->name != "Data" || !Base64Decode(value, in.scratch, why) ||
          !InRange(*m, in.scratch.size())) {
        return false;
      }
      in.data.append(in.scratch);
      data = true;
    } else if (m->shape->type == ShapeType::kString) {
      if (!StringPasses(*m, value)) return false;
      if (m->name == "PartitionKey") {
        view.partition_key = value;
      } else if (m->name == "ExplicitHashKey") {
        view.explicit_hash_key = value;
      } else {
        return false;  // a string member the engine would not see: left to the generic path
      }
    } else {
      return false;
    }
    if (!r.Next('}', &done) && !done) return false;
  }
  if (!HasRequired(entry, seen) || !data || view.partition_key.empty()) return false;
  in.data_ends.push_back(in.data.size());
  in.views.records.push_back(view);
  return true;
}

}  // namespace

bool DecodePutRecordsFast(std::string_view body, const Shape& input, PutRecordsFastInput& in) {
  in.views.records.clear();
  in.data.clear();
  in.data_ends.clear();
  if (input.members.size() > 64) return false;
  PlainReader r(body.data(), body.data() + body.size());
  if (!r.Take('{')) return false;
  std::uint64_t seen = 0;
  bool records = false, stream_name = false, stream_arn = false;
  for (bool done = false; !done;) {
    const Member* m = r.Key(input, seen);
    if (m == nullptr) return false;
    if (m->shape->type == ShapeType::kList) {
      if (m->name != "Records" || m->shape->member == nullptr || !r.Take('[')) return false;
      for (bool last = false; !last;) {
        // "[]" too: the generic path words it.
        if (!r.Take('{') || !DecodeEntryFast(r, *m->shape->member, in)) return false;
        if (!r.Next(']', &last) && !last) return false;
      }
      if (!InRange(*m, in.views.records.size())) return false;
      records = true;
    } else if (m->shape->type == ShapeType::kString) {
      std::string_view value;
      if (!r.String(value) || !StringPasses(*m, value)) return false;
      if (m->name == "StreamName") {
        SetOptional(in.views.stream.stream_name, value);
        stream_name = true;
      } else if (m->name == "StreamARN") {
        SetOptional(in.views.stream.stream_arn, value);
        stream_arn = true;
      }
      // Any other string member (StreamId) is checked, then ignored as by InvokeJson.
    } else {
      return false;
    }
    if (!r.Next('}', &done) && !done) return false;
  }
  if (!r.AtEnd() || !HasRequired(input, seen) || !records) return false;
  if (!stream_name) in.views.stream.stream_name.reset();
  if (!stream_arn) in.views.stream.stream_arn.reset();
  // `data` no longer grows: the views into it are taken now.
  std::size_t from = 0;
  for (std::size_t i = 0; i < in.views.records.size(); ++i) {
    in.views.records[i].data = std::string_view(in.data).substr(from, in.data_ends[i] - from);
    from = in.data_ends[i];
  }
  return true;
}

Status InvokePutRecordsBatch(const PutRecordsViewInput& in, BatchDataPlane& batch,
                             std::string& out) {
  return Emit(batch.PutRecordsBatch(in), out);
}

}  // namespace cinesis::api
