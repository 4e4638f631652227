// KPL aggregation: many user records packed into one Kinesis record, in the exact format
// of the Kinesis Producer Library (magic F3 89 9A C2, protobuf AggregatedRecord, MD5), so
// the KCL, aws-kinesis-agg and our consumer can unpack what we pack, and vice versa.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinesis/export.h"

namespace cinesis::aggregation {

struct UserRecord {
  std::string partition_key{};
  std::optional<std::string> explicit_hash_key{};
  std::string data{};
};

// The framed blob for >= 1 records (callers send a single record unaggregated, as the
// KPL does).
CINESIS_EXPORT std::string Encode(const std::vector<UserRecord>& records);
// Bytes Encode adds for one more record of these sizes, an upper bound.
CINESIS_EXPORT std::size_t EncodedRecordOverhead(std::size_t key_bytes,
                                                 std::size_t explicit_key_bytes,
                                                 std::size_t data_bytes);
inline constexpr std::size_t kFramingBytes = 4 + 16;

// Unpacks an aggregated record; nullopt when `data` is not one (no magic, bad MD5 or
// protobuf) — then it is a plain record, as the KCL treats it.
CINESIS_EXPORT std::optional<std::vector<UserRecord>> Decode(std::string_view data);

}  // namespace cinesis::aggregation
