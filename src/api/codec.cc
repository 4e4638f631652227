#include "api/codec.h"

#include <boost/json.hpp>

namespace cinesis::api {
namespace {

namespace json = boost::json;

std::optional<std::string> Str(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return std::string(v->get_string());
  return std::nullopt;
}
std::optional<int> Int(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_number()) return static_cast<int>(v->to_number<std::int64_t>());
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
  w.String(s.shard_id);
  if (s.parent_shard_id) {
    w.Key("ParentShardId");
    w.String(*s.parent_shard_id);
  }
  if (s.adjacent_parent_shard_id) {
    w.Key("AdjacentParentShardId");
    w.String(*s.adjacent_parent_shard_id);
  }
  w.Key("HashKeyRange");
  EncodeHashKeyRange(w, s.hash_key_range);
  w.Key("SequenceNumberRange");
  w.BeginObject();
  w.Key("StartingSequenceNumber");
  w.String(s.sequence_number_range.starting_sequence_number);
  if (s.sequence_number_range.ending_sequence_number) {
    w.Key("EndingSequenceNumber");
    w.String(*s.sequence_number_range.ending_sequence_number);
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
  w.String(ToString(m));
  w.EndObject();
}

void EncodeChildShards(JsonWriter& w, const std::vector<ChildShard>& children) {
  w.BeginArray();
  for (const auto& c : children) {
    w.BeginObject();
    w.Key("ShardId");
    w.String(c.shard_id);
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
  w.String(ToString(d.stream_status));
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
  w.String(ToString(d.encryption_type));
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
  w.String(ToString(d.stream_status));
  EncodeMode(w, d.stream_mode);
  w.Key("RetentionPeriodHours");
  w.Int(d.retention_period_hours);
  w.Key("StreamCreationTimestamp");
  w.Timestamp(d.stream_creation_timestamp);
  w.Key("EnhancedMonitoring");
  EncodeMonitoring(w, d.enhanced_monitoring);
  w.Key("EncryptionType");
  w.String(ToString(d.encryption_type));
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
    w.String(ToString(s.stream_status));
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
  w.BeginObject();
  w.Key("ShardId");
  w.String(v.shard_id);
  w.Key("SequenceNumber");
  w.String(v.sequence_number);
  w.Key("EncryptionType");
  w.String(ToString(v.encryption_type));
  w.EndObject();
}

void Encode(JsonWriter& w, const PutRecordsOutput& v) {
  w.BeginObject();
  w.Key("FailedRecordCount");
  w.Int(v.failed_record_count);
  w.Key("Records");
  w.BeginArray();
  for (const auto& r : v.records) {
    w.BeginObject();
    if (r.sequence_number) {
      w.Key("SequenceNumber");
      w.String(*r.sequence_number);
    }
    if (r.shard_id) {
      w.Key("ShardId");
      w.String(*r.shard_id);
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
  w.Key("EncryptionType");
  w.String(ToString(v.encryption_type));
  w.EndObject();
}

void Encode(JsonWriter& w, const GetShardIteratorOutput& v) {
  w.BeginObject();
  w.Key("ShardIterator");
  w.String(v.shard_iterator);
  w.EndObject();
}

void Encode(JsonWriter& w, const GetRecordsOutput& v) {
  w.BeginObject();
  w.Key("Records");
  w.BeginArray();
  for (const auto& r : v.records) {
    w.BeginObject();
    w.Key("SequenceNumber");
    w.String(r.sequence_number);
    w.Key("ApproximateArrivalTimestamp");
    w.Timestamp(r.approximate_arrival_timestamp);
    w.Key("Data");
    w.Base64(r.data);
    w.Key("PartitionKey");
    w.String(r.partition_key);
    if (r.encryption_type) {
      w.Key("EncryptionType");
      w.String(ToString(*r.encryption_type));
    }
    w.EndObject();
  }
  w.EndArray();
  if (v.next_shard_iterator) {
    w.Key("NextShardIterator");
    w.String(*v.next_shard_iterator);
  }
  w.Key("MillisBehindLatest");
  w.Int(v.millis_behind_latest);
  if (v.child_shards) {
    w.Key("ChildShards");
    EncodeChildShards(w, *v.child_shards);
  }
  w.EndObject();
}

Status InvokeJson(std::string_view op, const json::object& b, KinesisService& service, std::string& out) {
  if (op == "PutRecords") {
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
  if (op == "GetRecords") {
    GetRecordsInput in{Str(b, "ShardIterator").value_or(""), Int(b, "Limit"), Str(b, "StreamARN")};
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
    in.shard_iterator_type =
        ParseShardIteratorType(Str(b, "ShardIteratorType").value_or("")).value_or(ShardIteratorType::kLatest);
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
        if (kv.value().is_string()) in.tags[std::string(kv.key())] = std::string(kv.value().get_string());
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
    return Emit(service.DescribeStream({Ref(b), Int(b, "Limit"), Str(b, "ExclusiveStartShardId")}), out);
  }
  if (op == "DescribeStreamSummary") {
    return Emit(service.DescribeStreamSummary({Ref(b)}), out);
  }
  if (op == "ListStreams") {
    return Emit(service.ListStreams({Int(b, "Limit"), Str(b, "ExclusiveStartStreamName"), Str(b, "NextToken")}),
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
      filter.type = ParseShardFilterType(Str(fo, "Type").value_or("")).value_or(ShardFilterType::kFromTrimHorizon);
      filter.shard_id = Str(fo, "ShardId");
      filter.timestamp = Time(fo, "Timestamp");
      in.shard_filter = filter;
    }
    return Emit(service.ListShards(in), out);
  }
  if (op == "IncreaseStreamRetentionPeriod" || op == "DecreaseStreamRetentionPeriod") {
    UpdateRetentionPeriodInput in{Ref(b), Int(b, "RetentionPeriodHours").value_or(0)};
    return op[0] == 'I' ? service.IncreaseStreamRetentionPeriod(in) : service.DecreaseStreamRetentionPeriod(in);
  }
  return {Code::kUnknownOperation, "Operation " + std::string(op) + " is not supported by this server yet."};
}

}  // namespace cinesis::api
