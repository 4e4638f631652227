// ConsumerRecordColumns: a batch of consumer records as a few buffers (the pull API's
// queue and PollColumns; the C ABI's batch columns).
#include <algorithm>

#include "cinesis/consumer.h"

namespace cinesis {

void ConsumerRecordColumns::Append(std::uint32_t shard, std::string_view sequence_number,
                                   std::uint64_t sub_sequence_number, bool aggregated,
                                   std::string_view partition_key,
                                   const std::optional<std::string>& explicit_hash_key,
                                   std::string_view record_data, EpochMillis arrival) {
  data.append(record_data);
  data_offsets.push_back(data.size());
  partition_keys.append(partition_key);
  key_offsets.push_back(partition_keys.size());
  sequence_numbers.append(sequence_number);
  sequence_offsets.push_back(sequence_numbers.size());
  if (explicit_hash_key) explicit_hash_keys.append(*explicit_hash_key);
  explicit_hash_key_offsets.push_back(explicit_hash_keys.size());
  sub_sequence_numbers.push_back(sub_sequence_number);
  arrival_ms.push_back(arrival);
  flags.push_back(static_cast<std::uint8_t>((aggregated ? kAggregated : 0) |
                                            (explicit_hash_key ? kHasExplicitHashKey : 0)));
  shard_index.push_back(shard);
}

void ConsumerRecordColumns::Append(const ConsumerRecord& r) {
  // Few shards per batch: the last one first, then a linear search.
  auto s = static_cast<std::uint32_t>(shard_ids.size());
  if (!shard_index.empty() && shard_ids[shard_index.back()] == r.shard_id) {
    s = shard_index.back();
  } else {
    s = static_cast<std::uint32_t>(std::find(shard_ids.begin(), shard_ids.end(), r.shard_id) -
                                   shard_ids.begin());
    if (s == shard_ids.size()) shard_ids.push_back(r.shard_id);
  }
  Append(s, r.sequence_number, r.sub_sequence_number, r.aggregated, r.partition_key,
         r.explicit_hash_key, r.data, r.approximate_arrival_timestamp);
}

namespace {

// Appends [begin, end) of a string column and its shifted offsets.
void AppendColumn(std::string& to, std::vector<std::uint64_t>& to_offsets, const std::string& from,
                  const std::vector<std::uint64_t>& from_offsets, std::size_t begin,
                  std::size_t end) {
  const std::uint64_t first = from_offsets[begin];
  const std::uint64_t base = to.size();
  to.append(from, first, from_offsets[end] - first);
  for (std::size_t i = begin + 1; i <= end; ++i)
    to_offsets.push_back(from_offsets[i] - first + base);
}

}  // namespace

void ConsumerRecordColumns::AppendRange(const ConsumerRecordColumns& from, std::size_t begin,
                                        std::size_t end) {
  end = std::min(end, from.size());
  if (begin >= end) return;
  AppendColumn(data, data_offsets, from.data, from.data_offsets, begin, end);
  AppendColumn(partition_keys, key_offsets, from.partition_keys, from.key_offsets, begin, end);
  AppendColumn(sequence_numbers, sequence_offsets, from.sequence_numbers, from.sequence_offsets,
               begin, end);
  AppendColumn(explicit_hash_keys, explicit_hash_key_offsets, from.explicit_hash_keys,
               from.explicit_hash_key_offsets, begin, end);
  const auto b = static_cast<std::ptrdiff_t>(begin), e = static_cast<std::ptrdiff_t>(end);
  sub_sequence_numbers.insert(sub_sequence_numbers.end(), from.sub_sequence_numbers.begin() + b,
                              from.sub_sequence_numbers.begin() + e);
  arrival_ms.insert(arrival_ms.end(), from.arrival_ms.begin() + b, from.arrival_ms.begin() + e);
  flags.insert(flags.end(), from.flags.begin() + b, from.flags.begin() + e);
  // from's shard i is this batch's translate[i] (added when new).
  std::vector<std::uint32_t> translate(from.shard_ids.size());
  for (std::size_t i = 0; i < from.shard_ids.size(); ++i) {
    auto s = static_cast<std::uint32_t>(
        std::find(shard_ids.begin(), shard_ids.end(), from.shard_ids[i]) - shard_ids.begin());
    if (s == shard_ids.size()) {
      // Only the shards the range uses are added.
      if (std::find(from.shard_index.begin() + b, from.shard_index.begin() + e, i) ==
          from.shard_index.begin() + e) {
        continue;
      }
      shard_ids.push_back(from.shard_ids[i]);
    }
    translate[i] = s;
  }
  for (std::size_t i = begin; i < end; ++i) shard_index.push_back(translate[from.shard_index[i]]);
}

ConsumerRecord ConsumerRecordColumns::Record(std::size_t i) const {
  auto field = [i](const std::string& s, const std::vector<std::uint64_t>& offsets) {
    return s.substr(offsets[i], offsets[i + 1] - offsets[i]);
  };
  ConsumerRecord r;
  r.shard_id = shard_ids[shard_index[i]];
  r.sequence_number = field(sequence_numbers, sequence_offsets);
  r.sub_sequence_number = sub_sequence_numbers[i];
  r.aggregated = (flags[i] & kAggregated) != 0;
  r.partition_key = field(partition_keys, key_offsets);
  if ((flags[i] & kHasExplicitHashKey) != 0) {
    r.explicit_hash_key = field(explicit_hash_keys, explicit_hash_key_offsets);
  }
  r.data = field(data, data_offsets);
  r.approximate_arrival_timestamp = arrival_ms[i];
  return r;
}

void ConsumerRecordColumns::Reserve(std::size_t records, std::size_t data_bytes) {
  const std::size_t n = size() + records;
  data.reserve(data.size() + data_bytes);
  for (auto* v : {&data_offsets, &key_offsets, &sequence_offsets, &explicit_hash_key_offsets}) {
    v->reserve(n + 1);
  }
  sub_sequence_numbers.reserve(n);
  arrival_ms.reserve(n);
  flags.reserve(n);
  shard_index.reserve(n);
}

}  // namespace cinesis
