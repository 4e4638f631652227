// In-process checkpoint and lease store: two maps under one mutex. The rules (who may
// take a lease, when the counter moves, when a fenced write is accepted) are the ones
// every shared store implements; see docs/client.md, "Checkpoint and lease stores".
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "cinesis/stores.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "consumer/store_checks.h"

namespace cinesis::consumer {
namespace {

using namespace checks;  // argument checks shared by every store

struct LeaseRow {
  std::string owner;
  std::uint64_t counter = 0;
  EpochMillis expires_at = 0;
};

using ScopeKey = std::pair<std::string, std::string>;

class MemoryStore final : public Store {
 public:
  Status Save(const Scope& scope, const std::string& shard_id, const Checkpoint& cp) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    MutexLock lock(&mu_);
    checkpoints_[Key(scope)][shard_id] = cp;
    return Status::Ok();
  }

  Result<bool> SaveIfOwner(const Scope& scope, const Lease& lease, const Checkpoint& cp,
                           EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    MutexLock lock(&mu_);
    const LeaseRow* row = FindLease(scope, lease.shard_id);
    if (row == nullptr || row->owner.empty() || row->owner != lease.owner ||
        row->counter != lease.counter || row->expires_at <= now) {
      return false;
    }
    checkpoints_[Key(scope)][lease.shard_id] = cp;
    return true;
  }

  Result<std::optional<Checkpoint>> Load(const Scope& scope, const std::string& shard_id) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    MutexLock lock(&mu_);
    auto it = checkpoints_.find(Key(scope));
    if (it == checkpoints_.end()) return std::optional<Checkpoint>();
    auto cp = it->second.find(shard_id);
    if (cp == it->second.end()) return std::optional<Checkpoint>();
    return std::optional<Checkpoint>(cp->second);
  }

  Result<std::map<std::string, Checkpoint>> LoadAll(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    MutexLock lock(&mu_);
    auto it = checkpoints_.find(Key(scope));
    if (it == checkpoints_.end()) return std::map<std::string, Checkpoint>();
    return it->second;
  }

  Result<std::optional<Lease>> TryAcquire(const Scope& scope, const std::string& shard_id,
                                          const std::string& owner, EpochMillis ttl_ms,
                                          EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    RETURN_IF_ERROR(CheckName("owner", owner));
    ASSIGN_OR_RETURN(EpochMillis expires_at, ExpiresAt(now, ttl_ms));
    MutexLock lock(&mu_);
    auto [it, inserted] = leases_[Key(scope)].try_emplace(shard_id);
    LeaseRow& row = it->second;
    if (!inserted && row.owner != owner) {
      if (!row.owner.empty() && row.expires_at > now) return std::optional<Lease>();
    }
    if (inserted || row.owner != owner) ++row.counter;
    row.owner = owner;
    row.expires_at = expires_at;
    return std::optional<Lease>(Lease{shard_id, row.owner, row.counter, row.expires_at});
  }

  Result<bool> Renew(const Scope& scope, const Lease& lease, EpochMillis ttl_ms,
                     EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    ASSIGN_OR_RETURN(EpochMillis expires_at, ExpiresAt(now, ttl_ms));
    MutexLock lock(&mu_);
    LeaseRow* row = FindLease(scope, lease.shard_id);
    if (!Holds(row, lease)) return false;
    row->expires_at = expires_at;
    return true;
  }

  Status Release(const Scope& scope, const Lease& lease) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    MutexLock lock(&mu_);
    LeaseRow* row = FindLease(scope, lease.shard_id);
    if (Holds(row, lease)) {
      row->owner.clear();
      row->expires_at = 0;
    }
    return Status::Ok();
  }

  Result<std::vector<Lease>> List(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    MutexLock lock(&mu_);
    std::vector<Lease> out;
    auto it = leases_.find(Key(scope));
    if (it == leases_.end()) return out;
    for (const auto& [shard, row] : it->second) {
      out.push_back(Lease{shard, row.owner, row.counter, row.expires_at});
    }
    return out;
  }

  Result<std::size_t> DeleteExpired(const Scope& scope, const std::string& prefix,
                                    EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("prefix", prefix));
    MutexLock lock(&mu_);
    auto it = leases_.find(Key(scope));
    if (it == leases_.end()) return std::size_t{0};
    std::size_t deleted = 0;
    for (auto row = it->second.lower_bound(prefix);
         row != it->second.end() && row->first.compare(0, prefix.size(), prefix) == 0;) {
      if (row->second.owner.empty() || row->second.expires_at <= now) {
        row = it->second.erase(row);
        ++deleted;
      } else {
        ++row;
      }
    }
    return deleted;
  }

 private:
  static ScopeKey Key(const Scope& scope) { return {scope.application, scope.stream}; }

  // The row still names lease.owner with lease.counter (expired or not).
  static bool Holds(const LeaseRow* row, const Lease& lease) {
    return row != nullptr && !row->owner.empty() && row->owner == lease.owner &&
           row->counter == lease.counter;
  }

  LeaseRow* FindLease(const Scope& scope, const std::string& shard_id) REQUIRES(mu_) {
    auto it = leases_.find(Key(scope));
    if (it == leases_.end()) return nullptr;
    auto row = it->second.find(shard_id);
    return row == it->second.end() ? nullptr : &row->second;
  }

  Mutex mu_;
  std::map<ScopeKey, std::map<std::string, Checkpoint>> checkpoints_ GUARDED_BY(mu_);
  std::map<ScopeKey, std::map<std::string, LeaseRow>> leases_ GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<Store> NewMemoryStore() { return std::make_shared<MemoryStore>(); }

// A checkpoint store made alone knows no leases, so its SaveIfOwner always answers false;
// use NewMemoryStore() as both stores to fence checkpoints in process.
std::shared_ptr<CheckpointStore> NewMemoryCheckpointStore() { return NewMemoryStore(); }
std::shared_ptr<LeaseStore> NewMemoryLeaseStore() { return NewMemoryStore(); }

}  // namespace cinesis::consumer
