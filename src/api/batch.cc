#include "api/batch.h"

namespace cinesis::api {
namespace {

std::optional<std::string> CopyOf(const TextArena& a, TextSpan s) {
  if (!s.present()) return std::nullopt;
  return std::string(a.View(s));
}
TextSpan AddOptional(TextArena& a, const std::optional<std::string>& s) {
  return s ? a.Add(*s) : TextSpan{};
}

}  // namespace

PutRecordsViewInput ViewsOf(const PutRecordsInput& in) {
  PutRecordsViewInput out;
  out.stream = in.stream;
  out.records.reserve(in.records.size());
  for (const auto& r : in.records) {
    std::optional<std::string_view> ehk;
    if (r.explicit_hash_key) ehk = *r.explicit_hash_key;
    out.records.push_back({r.data, r.partition_key, ehk});
  }
  return out;
}

PutRecordsInput CopyOf(const PutRecordsViewInput& in) {
  PutRecordsInput out;
  out.stream = in.stream;
  out.records.reserve(in.records.size());
  for (const auto& r : in.records) {
    PutRecordsRequestEntry e;
    e.data = std::string(r.data);
    e.partition_key = std::string(r.partition_key);
    if (r.explicit_hash_key) e.explicit_hash_key = std::string(*r.explicit_hash_key);
    out.records.push_back(std::move(e));
  }
  return out;
}

PutRecordsOutput ToOutput(const PutRecordsBatchOutput& b) {
  PutRecordsOutput out;
  out.failed_record_count = b.failed_record_count;
  out.encryption_type = b.encryption_type;
  out.records.reserve(b.records.size());
  for (const auto& e : b.records) {
    out.records.push_back({CopyOf(b.arena, e.sequence_number), CopyOf(b.arena, e.shard_id),
                           CopyOf(b.arena, e.error_code), CopyOf(b.arena, e.error_message)});
  }
  return out;
}

PutRecordsBatchOutput ToBatch(const PutRecordsOutput& o) {
  PutRecordsBatchOutput out;
  out.failed_record_count = o.failed_record_count;
  out.encryption_type = o.encryption_type;
  out.records.reserve(o.records.size());
  for (const auto& e : o.records) {
    out.records.push_back({AddOptional(out.arena, e.sequence_number),
                           AddOptional(out.arena, e.shard_id), AddOptional(out.arena, e.error_code),
                           AddOptional(out.arena, e.error_message)});
  }
  return out;
}

std::vector<Record> RecordsOf(const GetRecordsBatchOutput& b) {
  std::vector<Record> out;
  out.reserve(b.records.size());
  for (const auto& e : b.records) {
    Record r;
    r.sequence_number = std::string(b.arena.View(e.sequence_number));
    r.approximate_arrival_timestamp = e.approximate_arrival_timestamp;
    r.data = std::string(b.arena.View(e.data));
    r.partition_key = std::string(b.arena.View(e.partition_key));
    r.encryption_type = e.encryption_type;
    out.push_back(std::move(r));
  }
  return out;
}

GetRecordsOutput ToOutput(GetRecordsBatchOutput&& b) {
  GetRecordsOutput out;
  out.records = RecordsOf(b);
  out.next_shard_iterator = std::move(b.next_shard_iterator);
  out.millis_behind_latest = b.millis_behind_latest;
  out.child_shards = std::move(b.child_shards);
  return out;
}

GetRecordsBatchOutput ToBatch(const GetRecordsOutput& o) {
  GetRecordsBatchOutput out;
  out.records.reserve(o.records.size());
  for (const auto& r : o.records) {
    out.records.push_back({out.arena.Add(r.sequence_number), out.arena.Add(r.data),
                           out.arena.Add(r.partition_key), r.approximate_arrival_timestamp,
                           r.encryption_type});
  }
  out.next_shard_iterator = o.next_shard_iterator;
  out.millis_behind_latest = o.millis_behind_latest;
  out.child_shards = o.child_shards;
  return out;
}

}  // namespace cinesis::api
