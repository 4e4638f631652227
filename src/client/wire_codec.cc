#include "client/wire_codec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "api/json_writer.h"
#include "common/base64.h"
#include "common/status.h"

namespace cinesis::client::wire {
namespace {

namespace json = boost::json;
using api::JsonWriter;

// Builds a request object member by member; absent optionals are skipped.
class Obj {
 public:
  Obj() : w_(out_) { w_.BeginObject(); }
  Obj& S(std::string_view k, const std::string& v) {
    w_.Key(k);
    w_.String(v);
    return *this;
  }
  Obj& S(std::string_view k, const std::optional<std::string>& v) {
    if (v) S(k, *v);
    return *this;
  }
  Obj& I(std::string_view k, std::optional<std::int64_t> v) {
    if (v) {
      w_.Key(k);
      w_.Int(*v);
    }
    return *this;
  }
  Obj& B(std::string_view k, bool v) {
    w_.Key(k);
    w_.Bool(v);
    return *this;
  }
  Obj& Blob(std::string_view k, std::string_view bytes) {
    w_.Key(k);
    w_.Base64(bytes);
    return *this;
  }
  Obj& T(std::string_view k, std::optional<EpochMillis> ms) {
    if (ms) {
      w_.Key(k);
      w_.Timestamp(*ms);
    }
    return *this;
  }
  Obj& Ref(const api::StreamRef& r) {
    return S("StreamName", r.stream_name).S("StreamARN", r.stream_arn);
  }
  Obj& List(std::string_view k, const std::vector<std::string>& v) {
    w_.Key(k);
    w_.BeginArray();
    for (const auto& x : v) w_.String(x);
    w_.EndArray();
    return *this;
  }
  Obj& Map(std::string_view k, const api::TagMap& m) {
    w_.Key(k);
    w_.BeginObject();
    for (const auto& [key, v] : m) {
      w_.Key(key);
      w_.String(v);
    }
    w_.EndObject();
    return *this;
  }
  JsonWriter& w() { return w_; }
  std::string Done() {
    w_.EndObject();
    return std::move(out_);
  }

 private:
  std::string out_;
  JsonWriter w_;
};

// ---- decoding helpers ----

Result<json::object> Parse(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body.empty() ? std::string_view("{}") : body, ec);
  if (ec || !v.is_object()) return Status(Code::kCorruption, "unparsable response body");
  return std::move(v.as_object());
}
std::string_view StrView(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}
std::string Str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::optional<std::string> OptStr(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (v && v->is_string()) return std::string(v->get_string());
  return std::nullopt;
}
std::int64_t Int(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_number() ? v->to_number<std::int64_t>() : 0;
}
bool Bool(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() && v->get_bool();
}
EpochMillis Time(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_number()
             ? static_cast<EpochMillis>(std::llround(v->to_number<double>() * 1000.0))
             : 0;
}
const json::object& Sub(const json::object& o, std::string_view k) {
  static const json::object kEmpty;
  auto* v = o.if_contains(k);
  return v && v->is_object() ? v->get_object() : kEmpty;
}
const json::array& Arr(const json::object& o, std::string_view k) {
  static const json::array kEmpty;
  auto* v = o.if_contains(k);
  return v && v->is_array() ? v->get_array() : kEmpty;
}
std::vector<std::string> Strings(const json::object& o, std::string_view k) {
  std::vector<std::string> out;
  for (const auto& e : Arr(o, k)) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}
api::StreamStatus Status_(const std::string& s) {
  if (s == "CREATING") return api::StreamStatus::kCreating;
  if (s == "DELETING") return api::StreamStatus::kDeleting;
  if (s == "UPDATING") return api::StreamStatus::kUpdating;
  return api::StreamStatus::kActive;
}
api::EncryptionType Enc(std::string_view s) {
  return s == "KMS" ? api::EncryptionType::kKms : api::EncryptionType::kNone;
}
api::StreamMode Mode(const json::object& o) {
  return api::ParseStreamMode(Str(Sub(o, "StreamModeDetails"), "StreamMode"))
      .value_or(api::StreamMode::kProvisioned);
}
api::HashKeyRange Range(const json::object& o) {
  return {Str(o, "StartingHashKey"), Str(o, "EndingHashKey")};
}
api::Shard ShardOf(const json::object& o) {
  api::Shard s;
  s.shard_id = Str(o, "ShardId");
  s.parent_shard_id = OptStr(o, "ParentShardId");
  s.adjacent_parent_shard_id = OptStr(o, "AdjacentParentShardId");
  s.hash_key_range = Range(Sub(o, "HashKeyRange"));
  const auto& seq = Sub(o, "SequenceNumberRange");
  s.sequence_number_range = {Str(seq, "StartingSequenceNumber"),
                             OptStr(seq, "EndingSequenceNumber")};
  return s;
}
std::vector<api::Shard> Shards(const json::object& o) {
  std::vector<api::Shard> out;
  for (const auto& e : Arr(o, "Shards")) {
    if (e.is_object()) out.push_back(ShardOf(e.get_object()));
  }
  return out;
}
std::vector<api::EnhancedMetrics> Monitoring(const json::object& o) {
  std::vector<api::EnhancedMetrics> out;
  for (const auto& e : Arr(o, "EnhancedMonitoring")) {
    if (e.is_object()) out.push_back({Strings(e.get_object(), "ShardLevelMetrics")});
  }
  return out;
}
std::vector<api::Tag> TagList(const json::object& o) {
  std::vector<api::Tag> out;
  for (const auto& e : Arr(o, "Tags")) {
    if (e.is_object()) out.push_back({Str(e.get_object(), "Key"), Str(e.get_object(), "Value")});
  }
  return out;
}
api::Consumer ConsumerOf(const json::object& o) {
  api::Consumer c;
  c.consumer_name = Str(o, "ConsumerName");
  c.consumer_arn = Str(o, "ConsumerARN");
  const auto st = Str(o, "ConsumerStatus");
  c.consumer_status = st == "ACTIVE"     ? api::ConsumerStatus::kActive
                      : st == "DELETING" ? api::ConsumerStatus::kDeleting
                                         : api::ConsumerStatus::kCreating;
  c.consumer_creation_timestamp = Time(o, "ConsumerCreationTimestamp");
  c.stream_arn = Str(o, "StreamARN");
  return c;
}

template <typename T, typename F>
Result<T> Decode(std::string_view body, F fill) {
  ASSIGN_OR_RETURN(json::object o, Parse(body));
  T out;
  fill(o, out);
  return out;
}

}  // namespace

std::string Encode(const api::CreateStreamInput& in) {
  Obj o;
  o.S("StreamName", in.stream_name).I("ShardCount", in.shard_count);
  if (in.stream_mode) {
    o.w().Key("StreamModeDetails");
    o.w().BeginObject();
    o.w().Key("StreamMode");
    o.w().String(api::ToString(*in.stream_mode));
    o.w().EndObject();
  }
  if (!in.tags.empty()) o.Map("Tags", in.tags);
  o.I("WarmThroughputMiBps", in.warm_throughput_mibps)
      .I("MaxRecordSizeInKiB", in.max_record_size_kib);
  return o.Done();
}
std::string Encode(const api::DeleteStreamInput& in) {
  Obj o;
  o.Ref(in.stream);
  if (in.enforce_consumer_deletion) o.B("EnforceConsumerDeletion", true);
  return o.Done();
}
std::string Encode(const api::DescribeStreamInput& in) {
  return Obj()
      .Ref(in.stream)
      .I("Limit", in.limit)
      .S("ExclusiveStartShardId", in.exclusive_start_shard_id)
      .Done();
}
std::string Encode(const api::DescribeStreamSummaryInput& in) {
  return Obj().Ref(in.stream).Done();
}
std::string Encode(const api::ListStreamsInput& in) {
  return Obj()
      .I("Limit", in.limit)
      .S("ExclusiveStartStreamName", in.exclusive_start_stream_name)
      .S("NextToken", in.next_token)
      .Done();
}
std::string Encode(const api::ListShardsInput& in) {
  Obj o;
  o.Ref(in.stream)
      .S("NextToken", in.next_token)
      .S("ExclusiveStartShardId", in.exclusive_start_shard_id)
      .I("MaxResults", in.max_results)
      .T("StreamCreationTimestamp", in.stream_creation_timestamp);
  if (in.shard_filter) {
    static constexpr std::string_view kTypes[] = {"AFTER_SHARD_ID",    "AT_TRIM_HORIZON",
                                                  "FROM_TRIM_HORIZON", "AT_LATEST",
                                                  "AT_TIMESTAMP",      "FROM_TIMESTAMP"};
    o.w().Key("ShardFilter");
    o.w().BeginObject();
    o.w().Key("Type");
    o.w().String(kTypes[static_cast<int>(in.shard_filter->type)]);
    if (in.shard_filter->shard_id) {
      o.w().Key("ShardId");
      o.w().String(*in.shard_filter->shard_id);
    }
    if (in.shard_filter->timestamp) {
      o.w().Key("Timestamp");
      o.w().Timestamp(*in.shard_filter->timestamp);
    }
    o.w().EndObject();
  }
  return o.Done();
}
std::string Encode(const api::PutRecordInput& in) {
  return Obj()
      .Ref(in.stream)
      .Blob("Data", in.data)
      .S("PartitionKey", in.partition_key)
      .S("ExplicitHashKey", in.explicit_hash_key)
      .S("SequenceNumberForOrdering", in.sequence_number_for_ordering)
      .Done();
}
std::string Encode(const api::PutRecordsInput& in) {
  Obj o;
  o.Ref(in.stream);
  auto& w = o.w();
  w.Key("Records");
  w.BeginArray();
  for (const auto& r : in.records) {
    w.BeginObject();
    w.Key("Data");
    w.Base64(r.data);
    w.Key("PartitionKey");
    w.String(r.partition_key);
    if (r.explicit_hash_key) {
      w.Key("ExplicitHashKey");
      w.String(*r.explicit_hash_key);
    }
    w.EndObject();
  }
  w.EndArray();
  return o.Done();
}
std::string Encode(const api::GetShardIteratorInput& in) {
  return Obj()
      .Ref(in.stream)
      .S("ShardId", in.shard_id)
      .S("ShardIteratorType", std::string(api::ToString(in.shard_iterator_type)))
      .S("StartingSequenceNumber", in.starting_sequence_number)
      .T("Timestamp", in.timestamp)
      .Done();
}
std::string Encode(const api::GetRecordsInput& in) {
  return Obj()
      .S("ShardIterator", in.shard_iterator)
      .I("Limit", in.limit)
      .S("StreamARN", in.stream_arn)
      .Done();
}
std::string Encode(const api::UpdateRetentionPeriodInput& in) {
  return Obj().Ref(in.stream).I("RetentionPeriodHours", in.retention_period_hours).Done();
}
std::string Encode(const api::SplitShardInput& in) {
  return Obj()
      .Ref(in.stream)
      .S("ShardToSplit", in.shard_to_split)
      .S("NewStartingHashKey", in.new_starting_hash_key)
      .Done();
}
std::string Encode(const api::MergeShardsInput& in) {
  return Obj()
      .Ref(in.stream)
      .S("ShardToMerge", in.shard_to_merge)
      .S("AdjacentShardToMerge", in.adjacent_shard_to_merge)
      .Done();
}
std::string Encode(const api::UpdateShardCountInput& in) {
  return Obj()
      .Ref(in.stream)
      .I("TargetShardCount", in.target_shard_count)
      .S("ScalingType", in.scaling_type.empty() ? std::string("UNIFORM_SCALING") : in.scaling_type)
      .Done();
}
std::string Encode(const api::AddTagsToStreamInput& in) {
  return Obj().Ref(in.stream).Map("Tags", in.tags).Done();
}
std::string Encode(const api::RemoveTagsFromStreamInput& in) {
  return Obj().Ref(in.stream).List("TagKeys", in.tag_keys).Done();
}
std::string Encode(const api::ListTagsForStreamInput& in) {
  return Obj()
      .Ref(in.stream)
      .S("ExclusiveStartTagKey", in.exclusive_start_tag_key)
      .I("Limit", in.limit)
      .Done();
}
std::string Encode(const api::TagResourceInput& in) {
  return Obj().S("ResourceARN", in.resource_arn).Map("Tags", in.tags).Done();
}
std::string Encode(const api::UntagResourceInput& in) {
  return Obj().S("ResourceARN", in.resource_arn).List("TagKeys", in.tag_keys).Done();
}
std::string Encode(const api::ListTagsForResourceInput& in) {
  return Obj().S("ResourceARN", in.resource_arn).Done();
}
std::string Encode(const api::StreamEncryptionInput& in) {
  return Obj()
      .Ref(in.stream)
      .S("EncryptionType", std::string(api::ToString(in.encryption_type)))
      .S("KeyId", in.key_id)
      .Done();
}
std::string Encode(const api::EnhancedMonitoringInput& in) {
  return Obj().Ref(in.stream).List("ShardLevelMetrics", in.shard_level_metrics).Done();
}
std::string Encode(const api::UpdateStreamModeInput& in) {
  Obj o;
  o.S("StreamARN", in.stream_arn);
  o.w().Key("StreamModeDetails");
  o.w().BeginObject();
  o.w().Key("StreamMode");
  o.w().String(api::ToString(in.stream_mode));
  o.w().EndObject();
  o.I("WarmThroughputMiBps", in.warm_throughput_mibps);
  return o.Done();
}
std::string Encode(const api::UpdateAccountSettingsInput& in) {
  Obj o;
  o.w().Key("MinimumThroughputBillingCommitment");
  o.w().BeginObject();
  o.w().Key("Status");
  o.w().String(in.minimum_throughput_billing_commitment_status);
  o.w().EndObject();
  return o.Done();
}
std::string Encode(const api::ResourcePolicyInput& in, bool with_policy) {
  Obj o;
  o.S("ResourceARN", in.resource_arn);
  if (with_policy) o.S("Policy", in.policy);
  return o.Done();
}
std::string Encode(const api::UpdateMaxRecordSizeInput& in) {
  return Obj().Ref(in.stream).I("MaxRecordSizeInKiB", in.max_record_size_kib).Done();
}
std::string Encode(const api::UpdateStreamWarmThroughputInput& in) {
  return Obj().Ref(in.stream).I("WarmThroughputMiBps", in.warm_throughput_mibps).Done();
}
std::string Encode(const api::RegisterStreamConsumerInput& in) {
  Obj o;
  o.S("StreamARN", in.stream_arn).S("ConsumerName", in.consumer_name);
  if (!in.tags.empty()) o.Map("Tags", in.tags);
  return o.Done();
}
std::string Encode(const api::ConsumerRef& in) {
  return Obj()
      .S("StreamARN", in.stream_arn)
      .S("ConsumerName", in.consumer_name)
      .S("ConsumerARN", in.consumer_arn)
      .Done();
}
std::string Encode(const api::ListStreamConsumersInput& in) {
  return Obj()
      .S("StreamARN", in.stream_arn)
      .S("NextToken", in.next_token)
      .I("MaxResults", in.max_results)
      .T("StreamCreationTimestamp", in.stream_creation_timestamp)
      .Done();
}

Result<api::DescribeStreamOutput> DecodeDescribeStream(std::string_view body) {
  return Decode<api::DescribeStreamOutput>(
      body, [](const json::object& o, api::DescribeStreamOutput& out) {
        const auto& d = Sub(o, "StreamDescription");
        auto& s = out.stream_description;
        s.stream_name = Str(d, "StreamName");
        s.stream_arn = Str(d, "StreamARN");
        s.stream_status = Status_(Str(d, "StreamStatus"));
        s.stream_mode = Mode(d);
        s.shards = Shards(d);
        s.has_more_shards = Bool(d, "HasMoreShards");
        s.retention_period_hours = static_cast<int>(Int(d, "RetentionPeriodHours"));
        s.stream_creation_timestamp = Time(d, "StreamCreationTimestamp");
        s.enhanced_monitoring = Monitoring(d);
        s.encryption_type = Enc(Str(d, "EncryptionType"));
        s.key_id = OptStr(d, "KeyId");
      });
}
Result<api::DescribeStreamSummaryOutput> DecodeDescribeStreamSummary(std::string_view body) {
  return Decode<api::DescribeStreamSummaryOutput>(
      body, [](const json::object& o, api::DescribeStreamSummaryOutput& out) {
        const auto& d = Sub(o, "StreamDescriptionSummary");
        auto& s = out.stream_description_summary;
        s.stream_name = Str(d, "StreamName");
        s.stream_arn = Str(d, "StreamARN");
        s.stream_status = Status_(Str(d, "StreamStatus"));
        s.stream_mode = Mode(d);
        s.retention_period_hours = static_cast<int>(Int(d, "RetentionPeriodHours"));
        s.stream_creation_timestamp = Time(d, "StreamCreationTimestamp");
        s.enhanced_monitoring = Monitoring(d);
        s.encryption_type = Enc(Str(d, "EncryptionType"));
        s.key_id = OptStr(d, "KeyId");
        s.open_shard_count = static_cast<int>(Int(d, "OpenShardCount"));
        s.consumer_count = static_cast<int>(Int(d, "ConsumerCount"));
        if (d.contains("MaxRecordSizeInKiB"))
          s.max_record_size_kib = static_cast<int>(Int(d, "MaxRecordSizeInKiB"));
      });
}
Result<api::ListStreamsOutput> DecodeListStreams(std::string_view body) {
  return Decode<api::ListStreamsOutput>(
      body, [](const json::object& o, api::ListStreamsOutput& out) {
        out.stream_names = Strings(o, "StreamNames");
        out.has_more_streams = Bool(o, "HasMoreStreams");
        out.next_token = OptStr(o, "NextToken");
        for (const auto& e : Arr(o, "StreamSummaries")) {
          if (!e.is_object()) continue;
          const auto& s = e.get_object();
          out.stream_summaries.push_back({Str(s, "StreamName"), Str(s, "StreamARN"),
                                          Status_(Str(s, "StreamStatus")), Mode(s),
                                          Time(s, "StreamCreationTimestamp")});
        }
      });
}
Result<api::ListShardsOutput> DecodeListShards(std::string_view body) {
  return Decode<api::ListShardsOutput>(body, [](const json::object& o, api::ListShardsOutput& out) {
    out.shards = Shards(o);
    out.next_token = OptStr(o, "NextToken");
  });
}
Result<api::PutRecordOutput> DecodePutRecord(std::string_view body) {
  return Decode<api::PutRecordOutput>(body, [](const json::object& o, api::PutRecordOutput& out) {
    out.shard_id = Str(o, "ShardId");
    out.sequence_number = Str(o, "SequenceNumber");
    out.encryption_type = Enc(Str(o, "EncryptionType"));
  });
}
Result<api::PutRecordsOutput> DecodePutRecords(std::string_view body) {
  // Every producer's answer: up to 500 entries. The parsed tree lives in one arena (as in
  // DecodeGetRecords) instead of an allocation per string and per object.
  json::monotonic_resource arena(body.size() * 2 + 1024);
  json::error_code ec;
  json::value v = json::parse(body.empty() ? std::string_view("{}") : body, ec, &arena);
  if (ec || !v.is_object()) return Status(Code::kCorruption, "unparsable response body");
  const json::object& o = v.get_object();
  api::PutRecordsOutput out;
  out.failed_record_count = static_cast<int>(Int(o, "FailedRecordCount"));
  out.encryption_type = Enc(Str(o, "EncryptionType"));
  const json::array& records = Arr(o, "Records");
  out.records.reserve(records.size());
  for (const auto& e : records) {
    if (!e.is_object()) {
      out.records.emplace_back();
      continue;
    }
    const auto& r = e.get_object();
    out.records.push_back({OptStr(r, "SequenceNumber"), OptStr(r, "ShardId"),
                           OptStr(r, "ErrorCode"), OptStr(r, "ErrorMessage")});
  }
  return out;
}
Result<api::GetShardIteratorOutput> DecodeGetShardIterator(std::string_view body) {
  return Decode<api::GetShardIteratorOutput>(
      body, [](const json::object& o, api::GetShardIteratorOutput& out) {
        out.shard_iterator = Str(o, "ShardIterator");
      });
}
namespace {

// Arena blocks for DecodeGetRecords, kept between answers: a fresh block of megabytes is
// mapped by malloc and its pages faulted in and zeroed by the kernel for every answer (a
// fifth of a consumer's CPU, perf: clear_page_erms). At most kKeep blocks of at most
// kMaxBlock bytes are kept, whatever the number of reader threads.
class ArenaBlocks {
 public:
  struct Block {
    std::unique_ptr<unsigned char[]> data;
    std::size_t size = 0;
  };
  // A kept block of at least `size` bytes, else a new one (none above kMaxBlock).
  static Block Take(std::size_t size) {
    if (size > kMaxBlock) return {};
    {
      std::lock_guard lock(mu_);
      for (auto it = kept_.begin(); it != kept_.end(); ++it) {
        if (it->size >= size) {
          Block b = std::move(*it);
          kept_.erase(it);
          return b;
        }
      }
    }
    return {std::make_unique_for_overwrite<unsigned char[]>(size), size};
  }
  static void Give(Block b) {
    if (!b.data) return;
    std::lock_guard lock(mu_);
    if (kept_.size() < kKeep) {
      kept_.push_back(std::move(b));
    } else if (auto smallest =
                   std::min_element(kept_.begin(), kept_.end(),
                                    [](const Block& x, const Block& y) { return x.size < y.size; });
               smallest->size < b.size) {
      *smallest = std::move(b);  // keep the larger
    }
  }

 private:
  static constexpr std::size_t kKeep = 4;
  static constexpr std::size_t kMaxBlock = std::size_t{32} << 20;
  static inline std::mutex mu_;
  static inline std::vector<Block> kept_;
};

}  // namespace

Result<api::GetRecordsOutput> DecodeGetRecordsTree(std::string_view body) {
  // The hot path of every consumer: up to 10,000 records per answer. The parsed tree lives
  // in one arena (a kept block, then more blocks if it is not enough; all freed at once,
  // instead of an allocation per string and per object), and each record's Base64 text is
  // decoded straight from the tree into its final buffer.
  const std::size_t want = body.size() * 2 + 4096;
  ArenaBlocks::Block block = ArenaBlocks::Take(want);
  struct GiveBack {
    ArenaBlocks::Block& b;
    ~GiveBack() { ArenaBlocks::Give(std::move(b)); }
  } give_back{block};
  std::optional<json::monotonic_resource> arena;
  if (block.data) {
    arena.emplace(block.data.get(), block.size);
  } else {
    arena.emplace(want);
  }
  json::error_code ec;
  json::value v = json::parse(body.empty() ? std::string_view("{}") : body, ec, &*arena);
  if (ec || !v.is_object()) return Status(Code::kCorruption, "unparsable response body");
  const json::object& o = v.get_object();
  api::GetRecordsOutput out;
  const json::array& records = Arr(o, "Records");
  out.records.reserve(records.size());
  std::string why;
  for (const auto& e : records) {
    if (!e.is_object()) continue;
    const auto& r = e.get_object();
    api::Record& rec = out.records.emplace_back();
    rec.sequence_number = StrView(r, "SequenceNumber");
    rec.approximate_arrival_timestamp = Time(r, "ApproximateArrivalTimestamp");
    if (!Base64Decode(StrView(r, "Data"), rec.data, why))
      return Status(Code::kCorruption, "bad record data: " + why);
    rec.partition_key = StrView(r, "PartitionKey");
    if (auto* enc = r.if_contains("EncryptionType"); enc && enc->is_string())
      rec.encryption_type = Enc(enc->get_string());
  }
  out.next_shard_iterator = OptStr(o, "NextShardIterator");
  out.millis_behind_latest = Int(o, "MillisBehindLatest");
  if (auto* c = o.if_contains("ChildShards"); c && c->is_array()) {
    std::vector<api::ChildShard> children;
    for (const auto& e : c->get_array()) {
      if (!e.is_object()) continue;
      const auto& x = e.get_object();
      children.push_back(
          {Str(x, "ShardId"), Strings(x, "ParentShards"), Range(Sub(x, "HashKeyRange"))});
    }
    out.child_shards = std::move(children);
  }
  return out;
}
Result<api::SubscribeToShardEvent> DecodeSubscribeToShardEvent(std::string_view payload) {
  // Same Records encoding as GetRecords.
  ASSIGN_OR_RETURN(auto records, DecodeGetRecords(payload));
  ASSIGN_OR_RETURN(json::object o, Parse(payload));
  api::SubscribeToShardEvent ev;
  ev.records = std::move(records.records);
  ev.millis_behind_latest = records.millis_behind_latest;
  ev.child_shards = std::move(records.child_shards);
  ev.continuation_sequence_number = OptStr(o, "ContinuationSequenceNumber");
  return ev;
}

std::string Encode(const api::SubscribeToShardInput& in) {
  Obj o;
  o.S("ConsumerARN", in.consumer_arn).S("ShardId", in.shard_id);
  auto& w = o.w();
  w.Key("StartingPosition");
  w.BeginObject();
  w.Key("Type");
  w.String(api::ToString(in.starting_position.type));
  if (in.starting_position.sequence_number) {
    w.Key("SequenceNumber");
    w.String(*in.starting_position.sequence_number);
  }
  if (in.starting_position.timestamp) {
    w.Key("Timestamp");
    w.Timestamp(*in.starting_position.timestamp);
  }
  w.EndObject();
  return o.Done();
}

Result<api::UpdateShardCountOutput> DecodeUpdateShardCount(std::string_view body) {
  return Decode<api::UpdateShardCountOutput>(
      body, [](const json::object& o, api::UpdateShardCountOutput& out) {
        out.stream_name = Str(o, "StreamName");
        out.stream_arn = Str(o, "StreamARN");
        out.current_shard_count = static_cast<int>(Int(o, "CurrentShardCount"));
        out.target_shard_count = static_cast<int>(Int(o, "TargetShardCount"));
      });
}
Result<api::ListTagsForStreamOutput> DecodeListTagsForStream(std::string_view body) {
  return Decode<api::ListTagsForStreamOutput>(
      body, [](const json::object& o, api::ListTagsForStreamOutput& out) {
        out.tags = TagList(o);
        out.has_more_tags = Bool(o, "HasMoreTags");
      });
}
Result<api::ListTagsForResourceOutput> DecodeListTagsForResource(std::string_view body) {
  return Decode<api::ListTagsForResourceOutput>(
      body,
      [](const json::object& o, api::ListTagsForResourceOutput& out) { out.tags = TagList(o); });
}
Result<api::EnhancedMonitoringOutput> DecodeEnhancedMonitoring(std::string_view body) {
  return Decode<api::EnhancedMonitoringOutput>(
      body, [](const json::object& o, api::EnhancedMonitoringOutput& out) {
        out.stream_name = Str(o, "StreamName");
        out.stream_arn = Str(o, "StreamARN");
        out.current_shard_level_metrics = Strings(o, "CurrentShardLevelMetrics");
        out.desired_shard_level_metrics = Strings(o, "DesiredShardLevelMetrics");
      });
}
Result<api::DescribeLimitsOutput> DecodeDescribeLimits(std::string_view body) {
  return Decode<api::DescribeLimitsOutput>(
      body, [](const json::object& o, api::DescribeLimitsOutput& out) {
        out.shard_limit = static_cast<int>(Int(o, "ShardLimit"));
        out.open_shard_count = static_cast<int>(Int(o, "OpenShardCount"));
        out.on_demand_stream_count = static_cast<int>(Int(o, "OnDemandStreamCount"));
        out.on_demand_stream_count_limit = static_cast<int>(Int(o, "OnDemandStreamCountLimit"));
      });
}
Result<api::AccountSettingsOutput> DecodeAccountSettings(std::string_view body) {
  return Decode<api::AccountSettingsOutput>(
      body, [](const json::object& o, api::AccountSettingsOutput& out) {
        if (!o.contains("MinimumThroughputBillingCommitment")) return;
        const auto& c = Sub(o, "MinimumThroughputBillingCommitment");
        api::MinimumThroughputBillingCommitment m;
        m.status = Str(c, "Status");
        if (c.contains("StartedAt")) m.started_at = Time(c, "StartedAt");
        if (c.contains("EndedAt")) m.ended_at = Time(c, "EndedAt");
        if (c.contains("EarliestAllowedEndAt"))
          m.earliest_allowed_end_at = Time(c, "EarliestAllowedEndAt");
        out.minimum_throughput_billing_commitment = m;
      });
}
Result<api::GetResourcePolicyOutput> DecodeGetResourcePolicy(std::string_view body) {
  return Decode<api::GetResourcePolicyOutput>(
      body, [](const json::object& o, api::GetResourcePolicyOutput& out) {
        out.policy = Str(o, "Policy");
      });
}
Result<api::UpdateStreamWarmThroughputOutput> DecodeUpdateStreamWarmThroughput(
    std::string_view body) {
  return Decode<api::UpdateStreamWarmThroughputOutput>(
      body, [](const json::object& o, api::UpdateStreamWarmThroughputOutput& out) {
        out.stream_name = Str(o, "StreamName");
        out.stream_arn = Str(o, "StreamARN");
        const auto& w = Sub(o, "WarmThroughput");
        out.target_mibps = static_cast<int>(Int(w, "TargetMiBps"));
        out.current_mibps = static_cast<int>(Int(w, "CurrentMiBps"));
      });
}
Result<api::Consumer> DecodeConsumer(std::string_view body, std::string_view wrapper) {
  ASSIGN_OR_RETURN(json::object o, Parse(body));
  return ConsumerOf(Sub(o, wrapper));
}
Result<api::ListStreamConsumersOutput> DecodeListStreamConsumers(std::string_view body) {
  return Decode<api::ListStreamConsumersOutput>(
      body, [](const json::object& o, api::ListStreamConsumersOutput& out) {
        for (const auto& e : Arr(o, "Consumers")) {
          if (e.is_object()) out.consumers.push_back(ConsumerOf(e.get_object()));
        }
        out.next_token = OptStr(o, "NextToken");
      });
}

Status DecodeError(int http_status, std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  std::string type, message;
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    type = Str(o, "__type");
    message = o.contains("message") ? Str(o, "message") : Str(o, "Message");
  }
  if (auto pos = type.rfind('#'); pos != std::string::npos) type = type.substr(pos + 1);
  if (auto code = CodeFromName(type); code && *code != Code::kOk) return {*code, message};
  // Not a Kinesis error name: keep what the server said, led by the wire type name.
  std::string what =
      type.empty() ? "HTTP " + std::to_string(http_status) + ": " + std::string(body.substr(0, 200))
                   : type + ": " + message;
  // Errors every AWS service shares (AWS common errors) that have a code of their own.
  static constexpr std::string_view kDenied[] = {"UnrecognizedClientException",
                                                 "InvalidClientTokenId", "ExpiredTokenException",
                                                 "ExpiredToken", "NotAuthorized"};
  static constexpr std::string_view kThrottled[] = {"ThrottlingException", "Throttling",
                                                    "RequestLimitExceeded"};
  for (std::string_view t : kDenied) {
    if (type == t) return {Code::kAccessDenied, std::move(what)};
  }
  for (std::string_view t : kThrottled) {
    if (type == t) return {Code::kLimitExceeded, std::move(what)};
  }
  // A server-side failure stays retriable; anything else is an error this version does not
  // know (kUnknown, not retried).
  if (http_status >= 500) {
    return {Code::kInternalFailure,
            "HTTP " + std::to_string(http_status) + (type.empty() ? "" : " " + what)};
  }
  return {Code::kUnknown, std::move(what)};
}

}  // namespace cinesis::client::wire
