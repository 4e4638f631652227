#include "client/wire_codec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
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
void EncodeInto(const api::PutRecordsInput& in, std::string& out) {
  // The exact size unless keys need escaping (then the string grows once or twice).
  std::size_t size = 64 + (in.stream.stream_name ? in.stream.stream_name->size() : 0) +
                     (in.stream.stream_arn ? in.stream.stream_arn->size() + 16 : 0);
  for (const auto& r : in.records) {
    size += Base64EncodedSize(r.data.size()) + r.partition_key.size() + 36 +
            (r.explicit_hash_key ? r.explicit_hash_key->size() + 22 : 0);
  }
  out.clear();
  out.reserve(size);
  JsonWriter w(out);
  w.BeginObject();
  if (in.stream.stream_name) {
    w.Key("StreamName");
    w.String(*in.stream.stream_name);
  }
  if (in.stream.stream_arn) {
    w.Key("StreamARN");
    w.String(*in.stream.stream_arn);
  }
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
  w.EndObject();
}
std::string Encode(const api::PutRecordsInput& in) {
  std::string out;
  EncodeInto(in, out);
  return out;
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
namespace {

// A forward-only reader of one JSON text, just enough to take a PutRecords answer apart
// without building a tree: the answer of every producer call, up to 500 entries of four
// short strings (a parsed tree cost more than the rest of the decoding; perf). Strict
// JSON; anything else is an error, never a crash. Unknown members are skipped whatever
// their type.
class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool Eat(char c) {
    SkipSpace();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return p_ < end_ ? *p_ : '\0';
  }
  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }
  // A string: a view of the text when it has no escapes, else unescaped into `scratch`.
  bool String(std::string_view& out, std::string& scratch) {
    if (!Eat('"')) return false;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"' && *p_ != '\\') {
      if (static_cast<unsigned char>(*p_) < 0x20) return false;
      ++p_;
    }
    if (p_ >= end_) return false;
    if (*p_ == '"') {
      out = std::string_view(start, static_cast<std::size_t>(p_ - start));
      ++p_;
      return true;
    }
    scratch.assign(start, p_);
    while (p_ < end_ && *p_ != '"') {
      const char c = *p_++;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        scratch += c;
        continue;
      }
      if (p_ >= end_) return false;
      switch (const char e = *p_++) {
        case '"':
        case '\\':
        case '/':
          scratch += e;
          break;
        case 'b':
          scratch += '\b';
          break;
        case 'f':
          scratch += '\f';
          break;
        case 'n':
          scratch += '\n';
          break;
        case 'r':
          scratch += '\r';
          break;
        case 't':
          scratch += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            std::uint32_t lo = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!Hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          AppendUtf8(cp, scratch);
          break;
        }
        default:
          return false;
      }
    }
    if (p_ >= end_) return false;
    ++p_;
    out = scratch;
    return true;
  }
  // An integer; a number with a fraction or exponent is refused.
  bool Int(std::int64_t& v) {
    SkipSpace();
    auto [ptr, ec] = std::from_chars(p_, end_, v);
    if (ec != std::errc() || (ptr < end_ && (*ptr == '.' || *ptr == 'e' || *ptr == 'E')))
      return false;
    p_ = ptr;
    return true;
  }
  // Any value, nested at most kMaxDepth deep.
  bool Skip(int depth = 0) {
    if (depth > kMaxDepth) return false;
    std::string_view s;
    switch (Peek()) {
      case '"':
        return String(s, scratch_);
      case '{':
        ++p_;
        if (Eat('}')) return true;
        do {
          if (!String(s, scratch_) || !Eat(':') || !Skip(depth + 1)) return false;
        } while (Eat(','));
        return Eat('}');
      case '[':
        ++p_;
        if (Eat(']')) return true;
        do {
          if (!Skip(depth + 1)) return false;
        } while (Eat(','));
        return Eat(']');
      case 't':
        return Word("true");
      case 'f':
        return Word("false");
      case 'n':
        return Word("null");
      default:
        return Number();
    }
  }

 private:
  static constexpr int kMaxDepth = 64;
  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Word(std::string_view w) {
    if (static_cast<std::size_t>(end_ - p_) < w.size() || std::string_view(p_, w.size()) != w)
      return false;
    p_ += w.size();
    return true;
  }
  bool Number() {
    double d = 0;
    auto [ptr, ec] = std::from_chars(p_, end_, d);
    if (ec != std::errc() && ec != std::errc::result_out_of_range) return false;
    p_ = ptr;
    return true;
  }
  bool Hex4(std::uint32_t& v) {
    if (end_ - p_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  static void AppendUtf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  const char* p_;
  const char* end_;
  std::string scratch_;  // escaped strings that are skipped
};

// One entry of the Records array; a member that is not a string counts as absent.
bool ScanPutRecordsEntry(JsonScanner& in, api::PutRecordsResultEntry& out, std::string& scratch) {
  if (in.Peek() != '{') return in.Skip();  // not an object: an empty entry
  in.Eat('{');
  if (in.Eat('}')) return true;
  do {
    std::string_view key;
    std::string key_buf;
    if (!in.String(key, key_buf) || !in.Eat(':')) return false;
    std::optional<std::string>* field = nullptr;
    if (key == "SequenceNumber") {
      field = &out.sequence_number;
    } else if (key == "ShardId") {
      field = &out.shard_id;
    } else if (key == "ErrorCode") {
      field = &out.error_code;
    } else if (key == "ErrorMessage") {
      field = &out.error_message;
    }
    if (field != nullptr && in.Peek() == '"') {
      std::string_view v;
      if (!in.String(v, scratch)) return false;
      field->emplace(v);
    } else if (!in.Skip(1)) {
      return false;
    }
  } while (in.Eat(','));
  return in.Eat('}');
}

}  // namespace

Result<api::PutRecordsOutput> DecodePutRecords(std::string_view body) {
  const Status bad(Code::kCorruption, "unparsable response body");
  JsonScanner in(body.empty() ? std::string_view("{}") : body);
  api::PutRecordsOutput out;
  std::string scratch;
  if (!in.Eat('{')) return bad;
  if (!in.Eat('}')) {
    do {
      std::string_view key;
      std::string key_buf;
      if (!in.String(key, key_buf) || !in.Eat(':')) return bad;
      const char next = in.Peek();
      if (key == "FailedRecordCount" && (next == '-' || (next >= '0' && next <= '9'))) {
        std::int64_t n = 0;
        if (!in.Int(n)) return bad;
        out.failed_record_count = static_cast<int>(n);
      } else if (key == "EncryptionType" && next == '"') {
        std::string_view v;
        if (!in.String(v, scratch)) return bad;
        out.encryption_type = Enc(v);
      } else if (key == "Records" && next == '[') {
        in.Eat('[');
        out.records.clear();
        out.records.reserve(512);
        if (!in.Eat(']')) {
          do {
            if (!ScanPutRecordsEntry(in, out.records.emplace_back(), scratch)) return bad;
          } while (in.Eat(','));
          if (!in.Eat(']')) return bad;
        }
      } else if (!in.Skip(1)) {
        return bad;
      }
    } while (in.Eat(','));
    if (!in.Eat('}')) return bad;
  }
  if (!in.AtEnd()) return bad;
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
  // Same Records encoding as GetRecords; the tree decoder (this file's), so that the streaming
  // one (get_records_decoder.cc, which falls back to this file's) is used in one direction.
  ASSIGN_OR_RETURN(auto records, DecodeGetRecordsTree(payload));
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
