// The engine's registry: streams by name, the shared helpers of the engine's files, the
// metadata save (Persist), error reporting (Internal, Report) and describing shards.
// The other jobs: load.cc (start), lifecycle.cc, control.cc (resharding and settings),
// data_plane.cc, stream_document.cc, token.cc (sealed iterators), subscription.cc.
#include "engine/engine.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstring>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include "common/hash_key.h"
#include "common/random.h"
#include "common/status.h"
#include "engine/sequence.h"
#include "engine/state.h"
#include "engine/token.h"

namespace cinesis::engine {

using api::StreamStatus;
namespace errors = api::errors;

// Even split of the hash-key space as AWS does it: step = floor(2^128 / n), shard i gets
// [i*step, (i+1)*step - 1], the last shard ends at 2^128 - 1.
std::vector<std::pair<HashKey, HashKey>> EvenRanges(int n) {
  std::vector<std::pair<HashKey, HashKey>> out;
  const uint128 max = ~uint128{0};
  // floor(2^128 / n) computed without 2^128: (max / n) is floor((2^128-1)/n), which
  // differs only when n divides 2^128 (n a power of two).
  uint128 step = max / static_cast<uint128>(n);
  if ((max % static_cast<uint128>(n)) == static_cast<uint128>(n) - 1) ++step;
  for (int i = 0; i < n; ++i) {
    uint128 start = step * static_cast<uint128>(i);
    uint128 end = (i == n - 1) ? max : step * static_cast<uint128>(i + 1) - 1;
    out.emplace_back(HashKey{start}, HashKey{end});
  }
  return out;
}

storage::LogId LogIdFor(const StreamState& s, const ShardState& shard) {
  return storage::LogId{(s.id << 32) | shard.index};
}

void RebuildOpenShards(StreamState& s) {
  s.open.clear();
  for (const auto& sh : s.shards) {
    if (!sh->closed_ms) s.open.push_back(sh.get());
  }
  std::sort(s.open.begin(), s.open.end(),
            [](const ShardState* a, const ShardState* b) { return a->start < b->start; });
}

namespace {
// A new shard's descriptor. The storage calls it from CreateShardLogs, whose callers hold
// s.mu (NewShard's requirement) until it returns; the analysis cannot follow the call through
// the storage.
std::string ShardDescriptor(const StreamState& s,
                            const std::shared_ptr<ShardState>& shard) NO_THREAD_SAFETY_ANALYSIS {
  const std::vector<std::shared_ptr<ShardState>> only{shard};
  return StreamDocument(s, &only);
}
}  // namespace

std::shared_ptr<ShardState> NewShard(storage::Storage& storage, const StreamState& s,
                                     std::uint32_t index, HashKey start, HashKey end,
                                     EpochMillis created_ms, std::vector<storage::NewLog>& logs,
                                     std::optional<std::uint32_t> parent,
                                     std::optional<std::uint32_t> adjacent_parent) {
  auto shard = std::make_shared<ShardState>();
  shard->index = index;
  shard->start = start;
  shard->end = end;
  shard->created_ms = created_ms;
  shard->parent = parent;
  shard->adjacent_parent = adjacent_parent;
  const storage::LogId id = LogIdFor(s, *shard);
  if (auto left = storage.FindLog(id); left && left->EndOffset().value == 0) {
    // Made by an earlier attempt whose document could not be saved (see Settle): reuse it.
    shard->log = std::move(left);
    return shard;
  }
  // The log keeps the stream as it was when the shard was made, with this shard only: what
  // rebuilds the stream if its document is ever lost (RebuildStreamFromLogs). Made as the
  // storage writes the log, not here: a 10,000-shard batch then holds one descriptor at a
  // time instead of 10,000.
  logs.emplace_back(id, [&s, shard] { return ShardDescriptor(s, shard); });
  return shard;
}

Status CreateShardLogs(storage::Storage& storage, std::span<const storage::NewLog> logs,
                       std::span<const std::shared_ptr<ShardState>> shards) {
  if (logs.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(auto made, storage.CreateLogs(logs));
  std::size_t next = 0;
  for (const auto& shard : shards) {
    if (!shard->log && next < made.size()) shard->log = std::move(made[next++]);
  }
  return Status::Ok();
}

void ReleaseFreedMemory(std::size_t shards, const std::function<void()>& release) {
#if defined(__GLIBC__)
  // Counted across requests: 10,000 CreateStream calls of one shard each fragment the heap
  // as much as one of 10,000 shards.
  static std::atomic<std::size_t> since_last{0};
  if (shards == 0) return;
  if (since_last.fetch_add(shards, std::memory_order_relaxed) + shards < kReleaseAfterShards)
    return;
  since_last.store(0, std::memory_order_relaxed);
  if (release) {
    release();
  } else {
    (void)::malloc_trim(0);
  }
#else
  (void)shards;
  if (release) release();
#endif
}

Status Engine::Internal(std::string_view what, const Status& cause) const {
  Report(storage::Severity::kError, std::string(what) + ": " + cause.ToString());
  return errors::InternalFailure();
}

void Engine::Report(storage::Severity severity, const std::string& text) const {
  if (options_.events) {
    options_.events(severity, text);
    return;
  }
  static constexpr const char* kNames[] = {"info", "warning", "error"};
  std::fprintf(stderr, "cinesis engine %s: %s\n", kNames[static_cast<int>(severity)], text.c_str());
}

Status CheckLogRoom(const storage::Storage& storage, const api::AccountScope& scope, int open_total,
                    int new_logs) {
  const std::size_t room = storage.CreatableLogs();
  if (room >= static_cast<std::size_t>(new_logs)) return Status::Ok();
  return errors::ShardLimitExceeded(scope, open_total, open_total + static_cast<int>(room),
                                    new_logs);
}

Engine::Engine(EngineOptions options, std::unique_ptr<storage::Storage> storage)
    : options_(std::move(options)), storage_(std::move(storage)), sealer_(TokenSealer::NewKey()) {}

Status Engine::Persist(const StreamState& s) const {
  if (Status st = storage_->meta().Put(StreamKey(s.id), StreamDocument(s)); !st.ok())
    return Internal("cannot save the metadata of stream " + s.name, st);
  return Status::Ok();
}

Engine::~Engine() = default;

void Engine::Close() { storage_.reset(); }

std::string Engine::ArnFor(std::string_view name) const {
  return "arn:aws:kinesis:" + options_.scope.region + ":" + options_.scope.account_id + ":stream/" +
         std::string(name);
}

StreamStatus Engine::StatusOf(const StreamState& s, EpochMillis now) const {
  if (s.deleting_at_ms) return StreamStatus::kDeleting;
  if (now < s.active_at_ms) return StreamStatus::kCreating;
  if (now < s.updating_until_ms || s.has_pending) return StreamStatus::kUpdating;
  return StreamStatus::kActive;
}

bool Engine::Throttled(const StreamState& s) const {
  return options_.throttle && s.mode == api::StreamMode::kProvisioned;
}

std::shared_ptr<StreamState> Engine::Find(std::string_view name) const {
  std::shared_ptr<StreamState> s;
  {
    ReaderLock lock(&mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return nullptr;
    s = *it;
  }
  const EpochMillis now = Now();
  if (s->GoneAt(now)) return nullptr;
  if (s->has_pending.load(std::memory_order_acquire)) Settle(*s, now);
  return s;
}

Result<std::string> Engine::NameOf(const api::StreamRef& ref) const {
  std::optional<std::string> from_arn;
  if (ref.stream_arn) {
    const std::string prefix =
        "arn:aws:kinesis:" + options_.scope.region + ":" + options_.scope.account_id + ":stream/";
    const std::string& arn = *ref.stream_arn;
    auto slash = arn.find(":stream/");
    std::string name = slash == std::string::npos ? arn : arn.substr(slash + 8);
    if (arn.compare(0, prefix.size(), prefix) != 0) {
      // Another account or region: no such stream here.
      return errors::StreamNotFound(name, options_.scope);
    }
    from_arn = name;
  }
  if (ref.stream_name && from_arn && *ref.stream_name != *from_arn)
    return errors::StreamNameArnMismatch();
  if (ref.stream_name) return *ref.stream_name;
  if (from_arn) return *from_arn;
  return errors::StreamNameOrArnRequired();
}

Result<std::shared_ptr<StreamState>> Engine::Resolve(const api::StreamRef& ref) const {
  ASSIGN_OR_RETURN(std::string name, NameOf(ref));
  auto s = Find(name);
  if (!s) return errors::StreamNotFound(name, options_.scope);
  return s;
}

api::Shard Engine::Describe(const ShardState& shard) const {
  api::Shard out;
  out.shard_id = shard.id();
  out.parent_shard_id = shard.parent_id();
  out.adjacent_parent_shard_id = shard.adjacent_parent_id();
  out.hash_key_range = {ToString(shard.start), ToString(shard.end)};
  out.sequence_number_range.starting_sequence_number = shard.StartingSequence();
  if (shard.closed_ms) {
    out.sequence_number_range.ending_sequence_number =
        EncodeSequence({shard.created_s(), shard.index, kEndCounter,
                        static_cast<std::uint64_t>(*shard.closed_ms / 1000)});
  }
  return out;
}

}  // namespace cinesis::engine
