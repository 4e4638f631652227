// DecodeGetRecords: the GetRecords answer (up to 10,000 records) parsed as a stream of
// events (Boost.JSON's basic_parser) straight into api::Record fields, without building a
// tree: no node, key or string per field, no lookups by key. What it reads:
//   {"Records": [{"SequenceNumber": s, "ApproximateArrivalTimestamp": n, "Data": base64,
//                 "PartitionKey": s, "EncryptionType": s}, ...],
//    "NextShardIterator": s, "MillisBehindLatest": n, "ChildShards": [...]}
// with DecodeGetRecordsTree's rules (a field of the wrong type counts as missing, a
// non-object record is skipped, other keys are ignored). ChildShards (nested objects,
// once per shard) are left to DecodeGetRecordsTree: the answer is decoded again there.
#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "client/wire_codec.h"
#include "common/base64.h"

namespace cinesis::client::wire {
namespace {

namespace json = boost::json;

// Records handed back by RecycleRecords (consumer readers), taken from the back by the
// DecodeGetRecords calls of this thread.
thread_local std::vector<api::Record> t_recycled;
// Whether DecodeGetRecords ran on this thread: records are kept only where they are used.
thread_local bool t_decodes = false;

class GetRecordsHandler {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  api::GetRecordsOutput out;
  bool child_shards = false;  // the answer has ChildShards: decode it with the tree
  bool top_not_object = false;
  bool data_bad = false;  // a record's Data is not Base64 (parse stopped); why:
  std::string bad_data;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    if (depth_ == 2 && in_records_) {
      if (!t_recycled.empty()) {
        // A recycled record, emptied: its strings keep their buffers.
        api::Record& r = out.records.emplace_back(std::move(t_recycled.back()));
        t_recycled.pop_back();
        r.sequence_number.clear();
        r.approximate_arrival_timestamp = 0;
        r.data.clear();
        r.partition_key.clear();
        r.encryption_type.reset();
      } else {
        out.records.emplace_back();
      }
      in_record_ = true;
    }
    ++depth_;
    key_ = Key::kOther;
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    --depth_;
    if (depth_ == 2) in_record_ = false;
    return true;
  }
  bool on_array_begin(json::error_code&) {
    if (depth_ == 0) top_not_object = true;
    if (depth_ == 1 && key_ == Key::kRecords) in_records_ = true;
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    --depth_;
    if (depth_ == 1) in_records_ = false;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    part_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    const std::string_view k = Whole(s);
    key_ = Key::kOther;
    if (depth_ == 1) {
      if (k == "Records") {
        key_ = Key::kRecords;
      } else if (k == "NextShardIterator") {
        key_ = Key::kNextShardIterator;
      } else if (k == "MillisBehindLatest") {
        key_ = Key::kMillisBehindLatest;
      } else if (k == "ChildShards") {
        child_shards = true;
      }
    } else if (depth_ == 3 && in_record_) {
      if (k == "SequenceNumber") {
        key_ = Key::kSequenceNumber;
      } else if (k == "ApproximateArrivalTimestamp") {
        key_ = Key::kArrival;
      } else if (k == "Data") {
        key_ = Key::kData;
      } else if (k == "PartitionKey") {
        key_ = Key::kPartitionKey;
      } else if (k == "EncryptionType") {
        key_ = Key::kEncryptionType;
      }
    }
    part_.clear();
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    part_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code& ec) {
    const std::string_view v = Whole(s);
    bool ok = true;
    if (depth_ == 0) {
      top_not_object = true;
    } else if (depth_ == 1 && key_ == Key::kNextShardIterator) {
      out.next_shard_iterator = std::string(v);
    } else if (depth_ == 3 && in_record_) {
      api::Record& r = out.records.back();
      switch (key_) {
        case Key::kSequenceNumber:
          r.sequence_number.assign(v);
          break;
        case Key::kData:
          if (!Base64Decode(v, r.data, bad_data)) {
            data_bad = true;
            ec = json::error::syntax;  // stops the parse; bad_data says why
            ok = false;
          }
          break;
        case Key::kPartitionKey:
          r.partition_key.assign(v);
          break;
        case Key::kEncryptionType:
          r.encryption_type = v == "KMS" ? api::EncryptionType::kKms : api::EncryptionType::kNone;
          break;
        default:
          break;
      }
    }
    part_.clear();
    return ok;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    return Number(static_cast<double>(i), i);
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    return Number(static_cast<double>(u), static_cast<std::int64_t>(u));
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    // As json::value::to_number<std::int64_t>: only a double that is an integer converts.
    const bool integral = std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18;
    return Number(d, integral ? static_cast<std::int64_t>(d) : 0);
  }
  bool on_bool(bool, json::error_code&) { return Scalar(); }
  bool on_null(json::error_code&) { return Scalar(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  enum class Key {
    kOther,
    kRecords,
    kNextShardIterator,
    kMillisBehindLatest,
    kSequenceNumber,
    kArrival,
    kData,
    kPartitionKey,
    kEncryptionType,
  };

  // `s` joined to the parts before it (a string split by escapes or buffer ends).
  std::string_view Whole(json::string_view s) {
    if (part_.empty()) return {s.data(), s.size()};
    part_.append(s.data(), s.size());
    return part_;
  }
  bool Scalar() {
    if (depth_ == 0) top_not_object = true;
    return true;
  }
  bool Number(double d, std::int64_t i) {
    if (depth_ == 0) {
      top_not_object = true;
    } else if (depth_ == 1 && key_ == Key::kMillisBehindLatest) {
      out.millis_behind_latest = i;
    } else if (depth_ == 3 && in_record_ && key_ == Key::kArrival) {
      out.records.back().approximate_arrival_timestamp =
          static_cast<EpochMillis>(std::llround(d * 1000.0));
    }
    return true;
  }

  int depth_ = 0;
  bool in_records_ = false;  // inside the top object's Records array
  bool in_record_ = false;   // inside one of its objects
  Key key_ = Key::kOther;    // the key of the value at this depth
  std::string part_;
};

}  // namespace

Result<api::GetRecordsOutput> DecodeGetRecords(std::string_view body) {
  if (body.empty()) body = "{}";
  t_decodes = true;
  json::basic_parser<GetRecordsHandler> parser{json::parse_options{}};
  // A record takes at least ~150 bytes of JSON (field names ~80, a sequence number 56):
  // room for every record at once, without the vector's regrowth copies.
  parser.handler().out.records.reserve(std::min<std::size_t>(body.size() / 150 + 1, 10'000));
  json::error_code ec;
  const std::size_t n = parser.write_some(false, body.data(), body.size(), ec);
  GetRecordsHandler& h = parser.handler();
  if (h.data_bad) return Status(Code::kCorruption, "bad record data: " + h.bad_data);
  if (ec || n != body.size() || h.top_not_object) {
    return Status(Code::kCorruption, "unparsable response body");
  }
  if (h.child_shards) return DecodeGetRecordsTree(body);
  return std::move(h.out);
}

void RecycleRecords(std::vector<api::Record>&& records) {
  // Taken from the back by the decoder; the larger batch is kept.
  if (t_decodes && records.size() > t_recycled.size()) t_recycled = std::move(records);
}

}  // namespace cinesis::client::wire
