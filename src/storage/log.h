// Storage interface: append-only record logs, one per shard, plus a small durable
// metadata store.
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
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cinesis::storage {

class Env;

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
  Offset end;              // one past the last appended record
  EpochMillis arrival_ms;  // arrival time stored for every record of the batch
};

// Called once per record read, in offset order. Return false to stop early (the
// record passed in is then not counted as read).
using RecordVisitor = std::function<bool(const RecordView&)>;

struct ReadResult {
  Offset next;            // offset to continue from
  std::size_t count = 0;  // records delivered
};

// One shard's log. Thread-safe: appends are serialised per log, reads run concurrently
// with each other and with appends; no lock is shared between logs.
//
// Visibility: a record becomes readable once it is durable (see WaitDurable), so a reader
// never sees a record that a crash could still take away.
class Log {
 public:
  virtual ~Log() = default;

  // Assigns offsets to the batch and queues it for writing; does not wait for the disk.
  // The arrival time is max(`arrival_ms`, the last record's arrival time).
  virtual Result<AppendResult> Append(std::span<const AppendRecord> records,
                                      EpochMillis arrival_ms) = 0;

  // Blocks until every record before `end` is durable (written, and synced unless the
  // storage was opened without fsync). Concurrent callers share one sync (group commit).
  virtual Status WaitDurable(Offset end) = 0;
  // The asynchronous form: calls `done` once, from any thread (possibly this one, at once),
  // when every record before `end` is durable, or with the error that stopped the log.
  // `done` must not block: the storage's flusher may be running it.
  virtual void OnDurable(Offset end, std::function<void(Status)> done) = 0;

  // Visits readable records from `from` (clamped to StartOffset()) until `max_records`
  // were delivered, the visitor declines, or the end. Records that arrived before
  // `not_before_ms` are skipped (retention). A record that fails its checksum is never
  // delivered: the read stops with Code::kCorruption.
  virtual Result<ReadResult> Read(Offset from, std::size_t max_records, const RecordVisitor& visit,
                                  EpochMillis not_before_ms = 0) const = 0;

  // Offset of the oldest stored record (== EndOffset() when empty).
  virtual Offset StartOffset() const = 0;
  // One past the newest readable record.
  virtual Offset EndOffset() const = 0;
  // First readable offset whose arrival time is >= `ms` (EndOffset() if none).
  virtual Offset OffsetAtTime(EpochMillis ms) const = 0;
  // Arrival time of the newest readable record, or nullopt when there is none.
  virtual std::optional<EpochMillis> LastArrival() const = 0;
  // Frees whole stored units (segments, blocks) whose records all arrived before `ms`.
  virtual void TrimBefore(EpochMillis ms) = 0;
};

// A small durable key-value store for metadata (the engine keeps one document per
// stream there). Every call is atomic and durable when it returns. Thread-safe.
class MetaStore {
 public:
  virtual ~MetaStore() = default;
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Erase(std::string_view key) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> LoadAll() = 0;
};

// A set of logs and the metadata store. Thread-safe.
class Storage {
 public:
  virtual ~Storage() = default;
  // Creates an empty log; ResourceInUse if the id exists.
  virtual Result<std::shared_ptr<Log>> CreateLog(LogId id) = 0;
  // Removes a log and its data. Outstanding shared_ptrs stay readable until released.
  virtual Status DropLog(LogId id) = 0;
  virtual std::shared_ptr<Log> FindLog(LogId id) const = 0;
  // Ids of every log present (after recovery, for a durable storage).
  virtual std::vector<LogId> ListLogs() const = 0;
  virtual MetaStore& meta() = 0;
  // Human-readable description, e.g. "in-memory" or "durable at /var/lib/cinesis (fsync)".
  virtual std::string Describe() const = 0;
};

// Storage kept in process memory; nothing survives the process.
std::unique_ptr<Storage> NewMemoryStorage();

struct DiskOptions {
  std::string dir;                            // created if missing
  bool fsync = true;                          // false: write() only, survives process crashes only
  std::uint64_t segment_bytes = 64ULL << 20;  // roll the active segment past this size
  std::uint64_t index_interval_bytes = 64 << 10;  // one sparse index entry per this many log bytes
  // Threads that write and sync the logs (a log always uses the same one); 0: one per core,
  // at most 4. Each syncs all its logs per cycle with overlapping device writes.
  int flush_threads = 0;
  Env* env = nullptr;  // nullptr: the POSIX file system
};

// Opens (recovering) or creates durable storage. Recovery findings (a torn tail cut off,
// orphan files) are appended to `report`, one line each.
Result<std::unique_ptr<Storage>> OpenDiskStorage(const DiskOptions& options,
                                                 std::vector<std::string>* report);

}  // namespace cinesis::storage
