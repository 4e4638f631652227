// Checkpoints and leases: where a consumer application records how far it has read each
// shard, and how consumer processes of the same application share a stream's shards.
//
// Everything is scoped by (application, stream): two applications reading the same
// stream, or one application reading two streams, never see each other's state.
//
// Fencing: a lease carries a counter that increases every time the lease changes hands.
// A checkpoint written "under" a lease succeeds only while that lease (owner + counter)
// is still the current one, so a process that lost its lease cannot overwrite the new
// owner's progress.
//
// Thread safety: every store may be used from any number of threads (and processes, for
// the shared stores) at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cinesis/clock.h"
#include "cinesis/export.h"
#include "cinesis/status.h"

namespace cinesis::consumer {

struct Checkpoint {
  // A Kinesis sequence number, or the sentinels "TRIM_HORIZON", "LATEST", "SHARD_END".
  std::string sequence_number{};
  // Position inside a KPL aggregate: the user records up to and including this one are
  // done. 0 for plain records.
  std::uint64_t sub_sequence_number = 0;
  friend bool operator==(const Checkpoint& a, const Checkpoint& b) {
    return a.sequence_number == b.sequence_number && a.sub_sequence_number == b.sub_sequence_number;
  }
  friend bool operator!=(const Checkpoint& a, const Checkpoint& b) { return !(a == b); }
};

inline constexpr const char* kShardEnd = "SHARD_END";

struct Lease {
  std::string shard_id{};
  std::string owner{};        // worker id; empty when free
  std::uint64_t counter = 0;  // fencing token: +1 on every change of hands
  EpochMillis expires_at = 0;
};

struct Scope {
  std::string application{};
  std::string stream{};
};

class CINESIS_EXPORT CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // Unconditional write (single-process use without leases).
  virtual Status Save(const Scope& scope, const std::string& shard_id, const Checkpoint& cp) = 0;
  // Write only if `lease` is still current (owner and counter match and not expired at
  // `now`); false when the lease was lost.
  virtual Result<bool> SaveIfOwner(const Scope& scope, const Lease& lease, const Checkpoint& cp,
                                   EpochMillis now) = 0;
  virtual Result<std::optional<Checkpoint>> Load(const Scope& scope,
                                                 const std::string& shard_id) = 0;
  virtual Result<std::map<std::string, Checkpoint>> LoadAll(const Scope& scope) = 0;
};

class CINESIS_EXPORT LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Takes the shard's lease for `owner` if it is free, expired at `now`, or already
  // owner's; the counter increases when it changes hands. nullopt when someone else
  // holds it. Atomic across processes.
  virtual Result<std::optional<Lease>> TryAcquire(const Scope& scope, const std::string& shard_id,
                                                  const std::string& owner, EpochMillis ttl_ms,
                                                  EpochMillis now) = 0;
  // Extends a held lease; false when it was lost (taken over or expired and taken).
  virtual Result<bool> Renew(const Scope& scope, const Lease& lease, EpochMillis ttl_ms,
                             EpochMillis now) = 0;
  // Gives the lease up (only if still held by lease.owner with lease.counter).
  virtual Status Release(const Scope& scope, const Lease& lease) = 0;
  // Every lease of the scope (free ones included).
  virtual Result<std::vector<Lease>> List(const Scope& scope) = 0;
  // Deletes the lease rows of the scope whose shard id starts with `prefix` (not empty)
  // and that are free (released) or expired at `now`; answers how many were deleted.
  // Atomic per row: a row renewed or taken meanwhile stays. Meant for rows that never
  // fence checkpoints, such as the consumer's worker heartbeats ("__worker__/<id>"): a
  // deleted shard lease would start its fencing counter again. The default deletes
  // nothing (stores written before this call existed).
  virtual Result<std::size_t> DeleteExpired(const Scope& scope, const std::string& prefix,
                                            EpochMillis now) {
    (void)scope;
    (void)prefix;
    (void)now;
    return std::size_t{0};
  }
};

// In process only (tests, single-process consumers).
CINESIS_EXPORT std::shared_ptr<CheckpointStore> NewMemoryCheckpointStore();
CINESIS_EXPORT std::shared_ptr<LeaseStore> NewMemoryLeaseStore();

}  // namespace cinesis::consumer
