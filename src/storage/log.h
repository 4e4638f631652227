// Storage interface: append-only record logs, one per shard.
//
// Storage knows nothing of Kinesis, HTTP or JSON: a log is a sequence of records
// addressed by a dense 64-bit offset (0, 1, 2, ...), each holding a key, an optional
// explicit routing key, opaque data and an arrival time. Offsets never repeat within a
// log; arrival times never decrease along a log (Append clamps them), which makes
// "first record at or after time T" a binary search.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace cinesis::storage {

// Strong ids: a log id is chosen by the caller and is unique within a Storage.
struct LogId {
  std::uint64_t value = 0;
  friend constexpr auto operator<=>(LogId, LogId) = default;
};
struct Offset {
  std::uint64_t value = 0;
  friend constexpr auto operator<=>(Offset, Offset) = default;
};

struct AppendRecord {
  std::string_view key;
  std::string_view explicit_key;  // empty when absent
  std::string_view data;
};

// A record as read. Views stay valid only during the visitor call.
struct RecordView {
  Offset offset;
  EpochMillis arrival_ms = 0;
  std::string_view key;
  std::string_view explicit_key;
  std::string_view data;
};

struct AppendResult {
  Offset first;            // offset of the first appended record; the rest follow densely
  EpochMillis arrival_ms;  // arrival time stored for every record of the batch
};

// Called once per record read, in offset order. Return false to stop early (the
// record passed in is then not counted as read).
using RecordVisitor = std::function<bool(const RecordView&)>;

struct ReadResult {
  Offset next;           // offset to continue from
  std::size_t count = 0;  // records delivered
};

// One shard's log. Thread-safe: appends are serialised per log, reads run concurrently
// with each other and with appends; no lock is shared between logs.
class Log {
 public:
  virtual ~Log() = default;

  // Appends the batch atomically (all records or none) and returns where it landed.
  // The arrival time is max(`arrival_ms`, the last record's arrival time).
  virtual Result<AppendResult> Append(std::span<const AppendRecord> records,
                                      EpochMillis arrival_ms) = 0;

  // Visits records from `from` (clamped to StartOffset()) until `max_records` were
  // delivered, the visitor declines, or the end of the log.
  virtual Result<ReadResult> Read(Offset from, std::size_t max_records,
                                  const RecordVisitor& visit) const = 0;

  // Offset of the oldest retained record (== EndOffset() when empty).
  virtual Offset StartOffset() const = 0;
  // Offset the next appended record will get.
  virtual Offset EndOffset() const = 0;
  // First offset whose arrival time is >= `ms` (EndOffset() if none).
  virtual Offset OffsetAtTime(EpochMillis ms) const = 0;
  // Arrival time of the newest record, or nullopt when the log is empty.
  virtual std::optional<EpochMillis> LastArrival() const = 0;
};

// A set of logs. Thread-safe.
class Storage {
 public:
  virtual ~Storage() = default;
  // Creates an empty log; ResourceInUse if the id exists.
  virtual Result<std::shared_ptr<Log>> CreateLog(LogId id) = 0;
  // Removes a log and its data. Outstanding shared_ptrs stay readable until released.
  virtual Status DropLog(LogId id) = 0;
  virtual std::shared_ptr<Log> FindLog(LogId id) const = 0;
};

// Storage kept in process memory; nothing survives the process.
std::unique_ptr<Storage> NewMemoryStorage();

}  // namespace cinesis::storage
