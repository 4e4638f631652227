// Sequence numbers: 56-digit decimals laid out as Kinesis lays them out (see
// docs/aws-behaviour.md and the table below), so clients can treat them as AWS ones and
// the engine can tell which shard, and which incarnation of it, a number came from.
//
// 188 bits, most significant first:
//   4  constant 2 | 36 shard creation time (s) | 4 low nibble of shard index |
//   64 per-shard counter (top bit 0) | 8 sub (0 for records) | 36 record arrival time (s) |
//   32 shard index | 4 version (2)
// Within a shard numbers order by counter, so they strictly increase with each record. A
// nonzero sub marks a position between two records: SubscribeToShard's
// ContinuationSequenceNumber is the last delivered record's counter with sub 1, so it
// differs from every record's number and resuming AT or AFTER it starts at the next record
// (as on AWS, issue 17).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cinesis::engine {

struct SequenceFields {
  std::uint64_t shard_created_s = 0;  // 36 bits
  std::uint32_t shard_index = 0;
  std::uint64_t counter = 0;        // 63 bits used
  std::uint64_t record_time_s = 0;  // 36 bits
  std::uint8_t sub = 0;             // 8 bits; 0 for a record's own number
};

// Counter value of a closed shard's EndingSequenceNumber.
inline constexpr std::uint64_t kEndCounter = 0x7fffffffffffffffULL;

std::string EncodeSequence(const SequenceFields& f);
// Appends EncodeSequence(f) to `out` (no allocation when `out` has room).
void AppendSequence(const SequenceFields& f, std::string& out);
// nullopt unless `text` is a well-formed version-2 sequence number.
std::optional<SequenceFields> DecodeSequence(std::string_view text);

// A sequence number as the service reads one from a request (GetShardIterator's
// StartingSequenceNumber, PutRecord's SequenceNumberForOrdering): besides today's version 2
// it accepts the older layouts (version 1, and version 0 — any number below 2^129, small
// ones read as if 2^124 were added), as recorded against AWS by kinesalite's tests. The
// fields are those the service checks; `shard_index` is negative when the top bit of
// a version-2 index field is set (AWS then names the shard "shardId--02147483648").
struct AnySequence {
  int version = 2;
  std::uint64_t shard_created_s = 0;
  std::int64_t shard_index = 0;
  std::uint64_t counter = 0;  // version 2 only
  std::uint64_t record_time_s = 0;
  std::uint64_t sub = 0;  // version 2: the 8 bits after the counter (nonzero: between records)
};
// nullopt where the service answers "... is invalid.": out of every layout's range, an
// unknown version, a counter with its top bit set, a version-0 creation time at or past
// 16025175000 s.
std::optional<AnySequence> ParseAnySequence(std::string_view text);
// The version nibble of a number in the range of the 56-digit layouts (1 < n/2^185 < 1.5),
// whether or not that version is known; -1 outside it. (PutRecord fails with a bare
// InternalFailure on version 3, as AWS does.)
int SequenceLayoutVersion(std::string_view text);

// "shardId-000000000007"
std::string ShardIdFor(std::uint32_t index);
// As AWS names an index decoded from a sequence number: "shardId--02147483648" if negative.
std::string ShardIdName(std::int64_t index);
// Lenient parse, as the service does: the part after the first '-' (or the whole text)
// must be a decimal 0..2147483647.
std::optional<std::uint32_t> ParseShardId(std::string_view text);

}  // namespace cinesis::engine
