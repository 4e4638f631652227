// Storage interface: append-only record logs, one per shard, plus a small durable
// metadata store.
//
// Storage knows nothing of Kinesis, HTTP or JSON: a log is a sequence of records
// addressed by a dense 64-bit offset (0, 1, 2, ...), each holding a key, an optional
// explicit routing key, opaque data and an arrival time. Offsets never repeat within a
// log; arrival times never decrease along a log (Append clamps them), which makes
// "first record at or after time T" a binary search.
#pragma once

#include <cstddef>
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
  // Which run of the log's offsets the batch belongs to: a failed write cuts the log back
  // to its last durable record and starts a new epoch, reusing the failed offsets. Passed
  // back to WaitDurable/OnDurable so a batch that failed is never taken for the records
  // that reused its offsets.
  std::uint64_t epoch = 0;
};

// How serious something storage reports is.
enum class Severity { kInfo, kWarning, kError };
// Receives what storage finds and does outside any call's answer: corruption (with path and
// offset), failed writes, what recovery cut or set aside. Called from any storage thread;
// must be thread-safe, must not block for long, must not call back into the storage.
using EventSink = std::function<void(Severity, const std::string&)>;

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
//
// Write errors (disk full, EIO): the batch being written and every batch queued behind it
// fail (their waiters get the error); the log is cut back to its last durable record (the
// file truncated there, so a failed record does not reappear after a restart) and the next
// Append tries again, with the failed offsets reused. Only Shutdown closes a log for good.
class Log {
 public:
  virtual ~Log() = default;

  // Assigns offsets to the batch and queues it for writing; does not wait for a sync. (A
  // storage opened without fsync may write the batch to its file on the calling thread
  // before returning, when nothing else is writing the log and no segment roll or cut back
  // after a failed write is due: those are the flusher's.) The arrival time is max(`arrival_ms`,
  // the last record's arrival time).
  virtual Result<AppendResult> Append(std::span<const AppendRecord> records,
                                      EpochMillis arrival_ms) = 0;

  // Blocks until the appended batch is durable (written, and synced unless the storage was
  // opened without fsync), or returns the error that failed its write. Concurrent callers
  // share one sync (group commit).
  virtual Status WaitDurable(const AppendResult& appended) = 0;
  // The asynchronous form: calls `done` once, from any thread (possibly this one, at once),
  // when the batch is durable, or with the error that failed it or stopped the log.
  // `done` must not block: the storage's flusher, or (without fsync) another appender, may be
  // running it.
  virtual void OnDurable(const AppendResult& appended, std::function<void(Status)> done) = 0;
  // True when every successful Append is durable once it returns (the in-memory storage):
  // writers then need neither WaitDurable nor OnDurable.
  virtual bool DurableOnAppend() const { return false; }

  // Visits readable records from `from` (clamped to StartOffset()) until `max_records`
  // were delivered, the visitor declines, or the end. Records that arrived before
  // `not_before_ms` are skipped (retention). A record that fails its checksum is never
  // delivered: the read stops with Code::kCorruption (and the storage reports the path and
  // offset through its EventSink; the Status is for the caller, never for a client).
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
  // Bytes of memory held for record data (the in-memory storage's blocks); 0 where the storage
  // keeps records elsewhere.
  virtual std::size_t ReservedBytes() const { return 0; }
};

// A small durable key-value store for metadata (the engine keeps one document per
// stream there). Every call is atomic and durable when it returns. Thread-safe.
class MetaStore {
 public:
  virtual ~MetaStore() = default;
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Erase(std::string_view key) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> LoadAll() = 0;
  // Calls `visit` for every entry, in key order, one at a time: a start need not hold every
  // document at once (the views are valid during the call only). `visit` returns false to
  // stop early. `visit` runs without the store's lock held (the SQLite store reads 64 entries
  // at a time, then visits them), so it may take locks that are held around this store's
  // calls elsewhere, and may write to the store: entries it puts or erases after the one it
  // visits may or may not be visited. By default, through LoadAll.
  using EntryVisitor = std::function<bool(std::string_view key, std::string_view value)>;
  virtual Status ForEach(const EntryVisitor& visit) {
    ASSIGN_OR_RETURN(auto all, LoadAll());
    for (const auto& [key, value] : all) {
      if (!visit(key, value)) break;
    }
    return Status::Ok();
  }
};

// One log for Storage::CreateLogs.
struct NewLog {
  NewLog(LogId log, std::string text) : id(log), descriptor(std::move(text)) {}
  NewLog(LogId log, std::function<std::string()> make)
      : id(log), make_descriptor(std::move(make)) {}
  LogId id;
  std::string descriptor;
  // When set, used instead of `descriptor`: called once, on the thread calling CreateLogs,
  // just before this log is written, so that a batch of N logs holds one descriptor at a time
  // instead of N (a 10,000-shard stream's descriptors took 7 MB at once, and the heap they
  // fragmented stayed with the process).
  std::function<std::string()> make_descriptor;
  std::string Descriptor() const { return make_descriptor ? make_descriptor() : descriptor; }
};

// A set of logs and the metadata store. Thread-safe.
class Storage {
 public:
  virtual ~Storage() = default;
  // Creates an empty log; ResourceInUse if the id exists. `descriptor` is kept with the log
  // (opaque to storage) so that its owner can be rebuilt from the logs alone if the metadata
  // is lost.
  virtual Result<std::shared_ptr<Log>> CreateLog(LogId id, std::string_view descriptor) = 0;
  // Creates several empty logs, as CreateLog would each (in the same order), and makes them
  // durable together: the durable storage syncs once for the whole batch, not per log
  // (docs/storage-format.md, "Creating logs"). ResourceInUse, before anything is created, if
  // an id exists or repeats. On another error the logs of the batch made so far stay, empty
  // (their durability unknown): the caller drops them or reuses them on a retry.
  virtual Result<std::vector<std::shared_ptr<Log>>> CreateLogs(std::span<const NewLog> logs) {
    std::vector<std::shared_ptr<Log>> made;
    made.reserve(logs.size());
    for (const auto& l : logs) {
      auto log = CreateLog(l.id, l.Descriptor());
      if (!log.ok()) return log.status();
      made.push_back(std::move(log).value());
    }
    return made;
  }
  // The descriptor given at creation (NotFound for a log created without one).
  virtual Result<std::string> Descriptor(LogId id) const = 0;
  // Removes a log and its data. Outstanding shared_ptrs stay readable until released.
  virtual Status DropLog(LogId id) = 0;
  // Sets a log aside without deleting anything (durable storage: moves its directory under
  // `quarantine/`); it is no longer listed or found.
  virtual Status QuarantineLog(LogId id, std::string_view why) = 0;
  virtual std::shared_ptr<Log> FindLog(LogId id) const = 0;
  // Ids of every log present (after recovery, for a durable storage).
  virtual std::vector<LogId> ListLogs() const = 0;
  // How many more logs CreateLog can take now without running the process short of a
  // resource the storage needs (file descriptors); SIZE_MAX when nothing limits it. The engine
  // refuses shard-creating requests beyond it.
  virtual std::size_t CreatableLogs() const { return SIZE_MAX; }
  virtual MetaStore& meta() = 0;
  // Human-readable description, e.g. "in-memory" or "durable at /var/lib/cinesis (fsync)".
  virtual std::string Describe() const = 0;
};

struct MemoryOptions {
  // Opt-in bound on what the logs keep; 0: none (records stay until retention). Counted: each
  // kept record's partition key, explicit hash key and data bytes plus its 32-byte index entry,
  // and 24 bytes per entry of the queue that orders appends across logs (one per run of
  // consecutive appends to the same log). When an append takes the count above the bound, the
  // oldest records of all logs (by arrival) are trimmed first until it fits again, as retention
  // would trim them: StartOffset moves, and a read from before it starts there. Not counted:
  // the free tail of each log's arena block being filled (up to 4 MiB) and the unused part of
  // a block whose older records were trimmed, which is freed when all of its records are.
  std::uint64_t max_bytes = 0;
};

// Storage kept in process memory; nothing survives the process.
std::unique_ptr<Storage> NewMemoryStorage(const MemoryOptions& options = {});

struct DiskOptions {
  std::string dir;                            // created if missing
  bool fsync = true;                          // false: write() only, survives process crashes only
  std::uint64_t segment_bytes = 64ULL << 20;  // roll the active segment past this size
  std::uint64_t index_interval_bytes = 64 << 10;  // one sparse index entry per this many log bytes
  // With fsync: how far ahead of its records an active segment is extended with zeros (made
  // durable by the sync of the write that extends it), so that the syncs that acknowledge
  // records write over allocated space and change no file size: fdatasync then has no
  // metadata to write (docs/storage-format.md, "Preallocated space"). A segment is extended
  // once it holds this many bytes or 64 KiB, whichever is less, by as much as it holds, up to
  // this. 0: no preallocation.
  std::uint64_t preallocate_bytes = 1 << 20;
  // How much of each log's newest data stays in the OS page cache once durable. With fsync,
  // the synced bytes of the active segment more than this far behind its end are dropped from
  // the cache (posix_fadvise DONTNEED, at 2 MiB boundaries), and a segment leaves the cache
  // whole when it is sealed (synced first, with or without fsync). Readers that follow a
  // stream read from the cache; older records are read from the disk. A server that writes
  // gigabytes then holds a few MiB of page cache per written log instead of everything it
  // wrote, and its writes reuse the pages it gave back (docs/benchmarks.md, "Page cache
  // behind the tail"). 0: leave the cache to the kernel.
  std::uint64_t cached_tail_bytes = 16 << 20;
  // Threads that write and sync the logs (a log always uses the same one); 0: 4 (they
  // mostly wait for the disk). Each syncs all its logs per cycle with overlapping device
  // writes.
  int flush_threads = 0;
  // Segment files kept open at once (an LRU cache; the rest are opened when used); 0: half of
  // the process's open-files limit (Env::MaxOpenFiles), at least 16.
  std::size_t max_open_files = 0;
  Env* env = nullptr;  // nullptr: the POSIX file system
  EventSink events;    // nullptr: lines on stderr
  // After a clean shutdown (the file CLEAN, written last by the storage's destructor and
  // removed first by the next open), open each log only when it is first used instead of
  // recovering every log at start: a start then costs no file access per log (a 10,000-shard
  // restart took 0.4-0.6 s). What the recovery of such a log finds goes to `events` when it
  // runs, not to the open's `report`. After a crash every log is recovered at start.
  bool open_lazily = false;
  // A metadata store that cannot be opened because it is damaged is moved to quarantine/
  // and replaced by an empty one (the engine then rebuilds streams from the logs). Off: the
  // open fails with Corruption.
  bool set_aside_damaged_metadata = false;
};

// Opens (recovering) or creates durable storage. Takes an exclusive lock on `dir` (file
// LOCK) for the storage's lifetime: a second opener gets FailedPrecondition naming the
// holder; a lock left by a killed process never blocks (the kernel drops it). Recovery
// findings (a torn tail cut off, damaged bytes set aside) go to `options.events` and are
// appended to `report`, one line each. Nothing holding records is ever deleted by
// recovery: damaged or unplaceable bytes are moved or copied under `<dir>/quarantine/`.
Result<std::unique_ptr<Storage>> OpenDiskStorage(const DiskOptions& options,
                                                 std::vector<std::string>* report);

}  // namespace cinesis::storage
