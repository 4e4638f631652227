// PutRecords and GetRecords without a std::string per record (issue 19 item 2): the server's
// pipeline hands the engine views of the parsed request (the decoded Data and the partition
// keys stay in the parsed document), and the engine answers with one text buffer holding every
// sequence number, shard id and record it returns, plus fixed-size entries that point into it.
// The wire encoding of these answers is byte for byte that of PutRecordsOutput and
// GetRecordsOutput (codec.cc encodes both through the same code).
//
// Internal to the server: the public KinesisService keeps its types; a service that also
// implements BatchDataPlane (the engine, the fault injector in front of it) is called through
// it by the pipeline. The conversions below give the public types from the batch ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinesis/status.h"
#include "cinesis/types.h"

namespace cinesis::api {

// A piece of a batch answer's text; absent when offset is kAbsent.
struct TextSpan {
  static constexpr std::uint32_t kAbsent = 0xffffffffU;
  std::uint32_t offset = kAbsent;
  std::uint32_t size = 0;
  bool present() const { return offset != kAbsent; }
};

// The text of a batch answer: spans are offsets, so it may grow while being filled.
struct TextArena {
  std::string text;
  TextSpan Add(std::string_view s) {
    TextSpan span{static_cast<std::uint32_t>(text.size()), static_cast<std::uint32_t>(s.size())};
    text.append(s);
    return span;
  }
  // The span of what was appended to `text` since `offset`.
  TextSpan Since(std::size_t offset) const {
    return {static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(text.size() - offset)};
  }
  std::string_view View(TextSpan s) const { return {text.data() + s.offset, s.size}; }
  std::optional<std::string_view> Optional(TextSpan s) const {
    if (!s.present()) return std::nullopt;
    return View(s);
  }
};

struct PutRecordsEntryView {
  std::string_view data;  // decoded bytes
  std::string_view partition_key;
  std::optional<std::string_view> explicit_hash_key;
};
struct PutRecordsViewInput {
  StreamRef stream{};
  std::vector<PutRecordsEntryView> records;
};

struct PutRecordsBatchOutput {
  struct Entry {
    TextSpan sequence_number, shard_id, error_code, error_message;
  };
  int failed_record_count = 0;
  EncryptionType encryption_type = EncryptionType::kNone;
  TextArena arena;
  std::vector<Entry> records;
};

struct GetRecordsBatchOutput {
  struct Entry {
    TextSpan sequence_number, data, partition_key;
    EpochMillis approximate_arrival_timestamp = 0;
    std::optional<EncryptionType> encryption_type;
  };
  TextArena arena;
  std::vector<Entry> records;
  std::optional<std::string> next_shard_iterator;
  std::int64_t millis_behind_latest = 0;
  std::optional<std::vector<ChildShard>> child_shards;
};

class BatchDataPlane {
 public:
  virtual ~BatchDataPlane() = default;
  // As KinesisService::PutRecords and GetRecords, answering the same (errors included).
  virtual Result<PutRecordsBatchOutput> PutRecordsBatch(const PutRecordsViewInput& in) = 0;
  virtual Result<GetRecordsBatchOutput> GetRecordsBatch(const GetRecordsInput& in) = 0;
};

PutRecordsViewInput ViewsOf(const PutRecordsInput& in);
PutRecordsInput CopyOf(const PutRecordsViewInput& in);
PutRecordsOutput ToOutput(const PutRecordsBatchOutput& b);
PutRecordsBatchOutput ToBatch(const PutRecordsOutput& o);
// The public records of a batch (one std::string each for sequence number, data and key).
std::vector<Record> RecordsOf(const GetRecordsBatchOutput& b);
GetRecordsOutput ToOutput(GetRecordsBatchOutput&& b);
GetRecordsBatchOutput ToBatch(const GetRecordsOutput& o);

}  // namespace cinesis::api
