// Rebuilding a stream's document from its logs, for a data directory whose metadata was
// lost (docs/storage-format.md, "Recovering lost metadata"). Each log carries, as its
// descriptor, the stream's document as it was when the shard was made, with that shard
// only: names, ranges and parents are exact; what changed later (tags, retention, consumers)
// comes from the newest descriptor.
#include <algorithm>
#include <map>

#include "engine/state.h"

namespace cinesis::engine {

Result<std::shared_ptr<StreamState>> RebuildStreamFromLogs(storage::Storage& storage,
                                                           const std::vector<storage::LogId>& logs,
                                                           EpochMillis now) {
  std::shared_ptr<StreamState> newest;
  EpochMillis newest_created = 0;  // when newest's shard was made
  std::map<std::uint32_t, std::shared_ptr<ShardState>> shards;
  for (auto id : logs) {
    auto text = storage.Descriptor(id);
    if (!text.ok()) {
      return Status(Code::kCorruption, "log " + std::to_string(id.value) + " has no descriptor (" +
                                           text.status().message() + ")");
    }
    auto doc = ParseStreamDocument(*text);
    if (!doc.ok()) return doc.status();
    auto& d = *doc;
    WriterLock lock(&d->mu);  // not shared yet; taken so that every access is checked
    if (d->shards.size() != 1 || LogIdFor(*d, *d->shards.front()).value != id.value) {
      return Status(Code::kCorruption,
                    "log " + std::to_string(id.value) + ": descriptor names another shard");
    }
    if (newest && d->name != newest->name) {
      return Status(Code::kCorruption, "logs of one stream id name two streams (" + d->name + ", " +
                                           newest->name + ")");
    }
    auto shard = d->shards.front();
    shard->log = storage.FindLog(id);
    if (!newest || shard->created_ms >= newest_created) {
      newest = d;
      newest_created = shard->created_ms;
    }
    shards[shard->index] = std::move(shard);
  }
  if (!newest) return Status(Code::kCorruption, "no logs");
  // Shards are numbered densely from 0 and found by index: a missing one (its log lost)
  // would leave a hole in the hash-key space and shift the others.
  if (shards.rbegin()->first + 1 != shards.size()) {
    return Status(Code::kCorruption, std::to_string(shards.rbegin()->first + 1 - shards.size()) +
                                         " of its shard logs are missing");
  }
  auto s = newest;
  WriterLock lock(&s->mu);  // not shared yet
  s->shards.clear();
  for (auto& [_, sh] : shards) s->shards.push_back(sh);
  // Open shards always partition the hash-key space, so a shard that overlaps a newer one
  // was closed when the first such newer shard was made (this also covers parents that a
  // child of UpdateShardCount does not name: it lists at most two).
  for (const auto& older : s->shards) {
    for (const auto& newer : s->shards) {
      if (newer->index <= older->index || newer->start > older->end || newer->end < older->start)
        continue;
      if (!older->closed_ms || *older->closed_ms > newer->created_ms)
        older->closed_ms = newer->created_ms;
    }
  }
  // It comes back ACTIVE: a deletion or reshard in flight when the metadata was lost is
  // forgotten (the records are what matters).
  s->deleting_at_ms.reset();
  s->gone_at_ms = StreamState::kNever;
  s->active_at_ms = s->created_ms;
  if (StreamExtras* x = s->extras_if_any()) x->pending.reset();
  s->has_pending = false;
  s->updating_until_ms = 0;
  // Keep every record: retention covers the oldest one (up to AWS's maximum, 8760 h).
  EpochMillis oldest = now;
  for (const auto& sh : s->shards) {
    if (!sh->log) continue;
    auto first = sh->log->Read(sh->log->StartOffset(), 1, [&](const storage::RecordView& r) {
      oldest = std::min(oldest, r.arrival_ms);
      return true;
    });
    (void)first;  // a damaged first record leaves `oldest` as it is; reads report it
  }
  const EpochMillis age_hours = (now - oldest) / 3'600'000 + 1;
  if (age_hours > s->retention_hours) {
    s->retention_hours = static_cast<int>(std::min<EpochMillis>(age_hours, 8760));
  }
  RebuildOpenShards(*s);
  return s;
}

}  // namespace cinesis::engine
