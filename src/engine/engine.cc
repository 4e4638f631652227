#include "engine/engine.h"

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
#include "engine/sequence.h"
#include "engine/state.h"

namespace cinesis::engine {

using api::StreamStatus;
namespace errors = api::errors;

namespace {

constexpr std::uint8_t kIteratorTag = 'I';
constexpr std::uint8_t kListShardsTag = 'S';
constexpr std::uint8_t kListStreamsTag = 'L';

struct IteratorPayload {
  std::uint64_t stream_id = 0;
  std::string stream_name;
  std::uint32_t shard_index = 0;
  std::uint64_t position = 0;
  EpochMillis created_ms = 0;
};

std::string SealIterator(const TokenSealer& sealer, const IteratorPayload& p) {
  TokenWriter w;
  w.U8(kIteratorTag);
  w.U64(p.stream_id);
  w.U32(p.shard_index);
  w.U64(p.position);
  w.I64(p.created_ms);
  w.Str(p.stream_name);
  return sealer.Seal(w.data());
}

std::optional<IteratorPayload> OpenIterator(const TokenSealer& sealer, std::string_view token) {
  auto plain = sealer.Open(token);
  if (!plain) return std::nullopt;
  TokenReader r(*plain);
  IteratorPayload p;
  std::uint8_t tag = 0;
  if (!r.U8(tag) || tag != kIteratorTag || !r.U64(p.stream_id) || !r.U32(p.shard_index) ||
      !r.U64(p.position) || !r.I64(p.created_ms) || !r.Str(p.stream_name) || !r.done()) {
    return std::nullopt;
  }
  return p;
}

constexpr std::string_view kStreamKeyPrefix = "stream/";
constexpr std::string_view kSealerKey = "engine/token-key";
constexpr std::string_view kNextIdKey = "engine/next-stream-id";

std::string StreamKey(std::uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return std::string(kStreamKeyPrefix) + buf;
}

}  // namespace

// One JSON document per stream: everything but the records, which live in the logs. With
// `shards`, only those shards (a shard's descriptor, kept with its log).
std::string StreamDocument(const StreamState& s,
                           const std::vector<std::shared_ptr<ShardState>>* shards)
    REQUIRES_SHARED(s.mu) {
  namespace json = boost::json;
  json::object o;
  o["id"] = s.id;
  o["name"] = s.name;
  o["created_ms"] = s.created_ms;
  o["active_at_ms"] = s.active_at_ms;
  if (s.deleting_at_ms) {
    o["deleting_at_ms"] = *s.deleting_at_ms;
    o["gone_at_ms"] = s.gone_at_ms.load();
  }
  o["mode"] = api::ToString(s.mode);
  o["retention_hours"] = s.retention_hours.load();
  o["max_record_size_kib"] = s.max_record_size_kib;
  json::object tags;
  for (const auto& [k, v] : s.tags) tags[k] = v;
  o["tags"] = std::move(tags);
  json::array shard_docs;
  for (const auto& sh : shards ? *shards : s.shards) {
    json::object j;
    j["index"] = sh->index;
    j["start"] = ToString(sh->start);
    j["end"] = ToString(sh->end);
    j["created_ms"] = sh->created_ms;
    if (sh->parent) j["parent"] = *sh->parent;
    if (sh->adjacent_parent) j["adjacent_parent"] = *sh->adjacent_parent;
    if (sh->closed_ms) j["closed_ms"] = *sh->closed_ms;
    shard_docs.push_back(std::move(j));
  }
  o["shards"] = std::move(shard_docs);
  o["encryption"] = api::ToString(s.encryption);
  if (s.key_id) o["key_id"] = *s.key_id;
  json::array metrics;
  for (const auto& m : s.shard_level_metrics) metrics.emplace_back(m);
  o["metrics"] = std::move(metrics);
  if (s.warm_throughput_mibps) o["warm_throughput_mibps"] = *s.warm_throughput_mibps;
  if (s.policy) o["policy"] = *s.policy;
  json::array scalings;
  for (auto t : s.scalings) scalings.emplace_back(t);
  o["scalings"] = std::move(scalings);
  o["updating_until_ms"] = s.updating_until_ms;
  if (s.pending) {
    json::object p;
    p["kind"] = static_cast<int>(s.pending->kind);
    p["shard"] = s.pending->shard;
    p["adjacent"] = s.pending->adjacent;
    p["new_start"] = ToString(s.pending->new_start);
    p["target"] = s.pending->target;
    o["pending"] = std::move(p);
  }
  json::array consumers;
  for (const auto& c : s.consumers) {
    json::object j;
    j["name"] = c.name;
    j["created_ms"] = c.created_ms;
    j["active_at_ms"] = c.active_at_ms;
    if (c.deleting_at_ms) {
      j["deleting_at_ms"] = *c.deleting_at_ms;
      j["gone_at_ms"] = c.gone_at_ms;
    }
    json::object ctags;
    for (const auto& [k, v] : c.tags) ctags[k] = v;
    j["tags"] = std::move(ctags);
    if (c.policy) j["policy"] = *c.policy;
    consumers.push_back(std::move(j));
  }
  o["consumers"] = std::move(consumers);
  return json::serialize(o);
}

Result<std::shared_ptr<StreamState>> ParseStreamDocument(std::string_view text) {
  namespace json = boost::json;
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Status(Code::kCorruption, "unreadable stream document");
  try {
    const auto& o = v.as_object();
    auto s = std::make_shared<StreamState>();
    WriterLock lock(&s->mu);  // not shared yet; taken so that every access is checked
    s->id = o.at("id").to_number<std::uint64_t>();
    s->name = std::string(o.at("name").as_string());
    s->created_ms = o.at("created_ms").to_number<std::int64_t>();
    s->active_at_ms = o.at("active_at_ms").to_number<std::int64_t>();
    if (auto* d = o.if_contains("deleting_at_ms")) {
      s->deleting_at_ms = d->to_number<std::int64_t>();
      s->gone_at_ms = o.at("gone_at_ms").to_number<std::int64_t>();
    }
    s->mode =
        api::ParseStreamMode(o.at("mode").as_string()).value_or(api::StreamMode::kProvisioned);
    s->retention_hours = o.at("retention_hours").to_number<int>();
    s->max_record_size_kib = o.at("max_record_size_kib").to_number<int>();
    for (const auto& [k, tv] : o.at("tags").as_object())
      s->tags[std::string(k)] = std::string(tv.as_string());
    for (const auto& jv : o.at("shards").as_array()) {
      const auto& j = jv.as_object();
      auto sh = std::make_shared<ShardState>();
      sh->index = j.at("index").to_number<std::uint32_t>();
      sh->id = ShardIdFor(sh->index);
      auto start = ParseDecimal128(j.at("start").as_string());
      auto end = ParseDecimal128(j.at("end").as_string());
      if (!start || !end) return Status(Code::kCorruption, "bad hash range in stream document");
      sh->start = HashKey{*start};
      sh->end = HashKey{*end};
      sh->created_ms = j.at("created_ms").to_number<std::int64_t>();
      if (auto* p = j.if_contains("parent")) sh->parent = std::string(p->as_string());
      if (auto* p = j.if_contains("adjacent_parent"))
        sh->adjacent_parent = std::string(p->as_string());
      if (auto* p = j.if_contains("closed_ms")) sh->closed_ms = p->to_number<std::int64_t>();
      sh->starting_sequence = EncodeSequence({sh->created_s(), sh->index, 0, sh->created_s()});
      s->shards.push_back(std::move(sh));
    }
    if (auto* e = o.if_contains("encryption"); e && e->as_string() == "KMS")
      s->encryption = api::EncryptionType::kKms;
    if (auto* k = o.if_contains("key_id")) s->key_id = std::string(k->as_string());
    if (auto* m = o.if_contains("metrics")) {
      for (const auto& x : m->as_array()) s->shard_level_metrics.insert(std::string(x.as_string()));
    }
    if (auto* w = o.if_contains("warm_throughput_mibps"))
      s->warm_throughput_mibps = w->to_number<int>();
    if (auto* p = o.if_contains("policy")) s->policy = std::string(p->as_string());
    if (auto* sc = o.if_contains("scalings")) {
      for (const auto& x : sc->as_array()) s->scalings.push_back(x.to_number<std::int64_t>());
    }
    if (auto* u = o.if_contains("updating_until_ms"))
      s->updating_until_ms = u->to_number<std::int64_t>();
    if (auto* pv = o.if_contains("pending")) {
      const auto& p = pv->as_object();
      PendingReshard r;
      r.kind = static_cast<PendingReshard::Kind>(p.at("kind").to_number<int>());
      r.shard = p.at("shard").to_number<std::uint32_t>();
      r.adjacent = p.at("adjacent").to_number<std::uint32_t>();
      r.new_start = HashKey{ParseDecimal128(p.at("new_start").as_string()).value_or(0)};
      r.target = p.at("target").to_number<int>();
      s->pending = r;
      s->has_pending = true;
    }
    if (auto* cs = o.if_contains("consumers")) {
      for (const auto& cv : cs->as_array()) {
        const auto& j = cv.as_object();
        ConsumerState c;
        c.name = std::string(j.at("name").as_string());
        c.created_ms = j.at("created_ms").to_number<std::int64_t>();
        c.active_at_ms = j.at("active_at_ms").to_number<std::int64_t>();
        if (auto* d = j.if_contains("deleting_at_ms")) {
          c.deleting_at_ms = d->to_number<std::int64_t>();
          c.gone_at_ms = j.at("gone_at_ms").to_number<std::int64_t>();
        }
        for (const auto& [k, tv] : j.at("tags").as_object())
          c.tags[std::string(k)] = std::string(tv.as_string());
        if (auto* p = j.if_contains("policy")) c.policy = std::string(p->as_string());
        s->consumers.push_back(std::move(c));
      }
    }
    return s;
  } catch (const std::exception& e) {
    return Status(Code::kCorruption, std::string("bad stream document: ") + e.what());
  }
}

namespace {

TokenSealer::Key NewKey() {
  TokenSealer::Key k;
  RandomBytes(k.data(), k.size());
  return k;
}

}  // namespace

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

Result<std::shared_ptr<ShardState>> NewShard(storage::Storage& storage, const StreamState& s,
                                             std::uint32_t index, HashKey start, HashKey end,
                                             EpochMillis created_ms,
                                             std::optional<std::string> parent,
                                             std::optional<std::string> adjacent_parent) {
  auto shard = std::make_shared<ShardState>();
  shard->index = index;
  shard->id = ShardIdFor(index);
  shard->start = start;
  shard->end = end;
  shard->created_ms = created_ms;
  shard->parent = std::move(parent);
  shard->adjacent_parent = std::move(adjacent_parent);
  shard->starting_sequence = EncodeSequence({shard->created_s(), index, 0, shard->created_s()});
  // The log keeps the stream as it was when the shard was made, with this shard only: what
  // rebuilds the stream if its document is ever lost (RebuildStreamFromLogs).
  const std::vector<std::shared_ptr<ShardState>> only{shard};
  const storage::LogId id = LogIdFor(s, *shard);
  if (auto left = storage.FindLog(id); left && left->EndOffset().value == 0) {
    // Made by an earlier attempt whose document could not be saved (see Settle): reuse it.
    shard->log = std::move(left);
    return shard;
  }
  ASSIGN_OR_RETURN(shard->log, storage.CreateLog(id, StreamDocument(s, &only)));
  return shard;
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
    : options_(std::move(options)), storage_(std::move(storage)), sealer_(NewKey()) {}

Status Engine::Load(std::vector<std::string>* report) {
  ASSIGN_OR_RETURN(auto entries, storage_->meta().LoadAll());
  WriterLock lock(&mu_);
  auto note = [&](storage::Severity severity, const std::string& line) {
    Report(severity, line);
    if (report) report->push_back(line);
  };
  std::set<std::uint64_t> live_logs;
  std::map<std::uint64_t, std::shared_ptr<StreamState>> by_id;  // streams loaded
  std::uint64_t stored_next_id = 0;  // written back only when it changes (a full disk)
  bool have_key = false;
  for (const auto& [key, value] : entries) {
    if (key == kSealerKey && value.size() == sizeof(TokenSealer::Key)) {
      TokenSealer::Key k;
      std::memcpy(k.data(), value.data(), k.size());
      sealer_ = TokenSealer(k);
      have_key = true;
    } else if (key == kNextIdKey) {
      stored_next_id = std::strtoull(value.c_str(), nullptr, 10);
      next_stream_id_ = std::max<std::uint64_t>(next_stream_id_, stored_next_id);
    } else if (key.rfind(kStreamKeyPrefix, 0) == 0) {
      auto parsed = ParseStreamDocument(value);
      if (!parsed.ok()) {
        note(storage::Severity::kError,
             key + ": " + parsed.status().message() + " (stream skipped; its logs are kept)");
        continue;
      }
      auto s = std::move(parsed).value();
      WriterLock stream_lock(&s->mu);  // not shared yet; taken so that every access is checked
      next_stream_id_ = std::max(next_stream_id_, s->id + 1);
      if (s->deleting_at_ms) {
        // A DeleteStream that a restart interrupted: finish it (logs first, then the document,
        // so a crash in between leaves a deleting document, never orphan logs).
        bool dropped = true;
        for (auto& sh : s->shards) {
          // Not orphans: if a drop fails, the document stays and the next start retries.
          live_logs.insert(LogIdFor(*s, *sh).value);
          if (Status st = storage_->DropLog(LogIdFor(*s, *sh)); !st.ok()) {
            note(storage::Severity::kError, "stream " + s->name + ": " + st.ToString());
            dropped = false;
          }
        }
        if (dropped) RETURN_IF_ERROR(storage_->meta().Erase(key));
        continue;
      }
      bool complete = true;
      for (auto& sh : s->shards) {
        sh->log = storage_->FindLog(LogIdFor(*s, *sh));
        if (!sh->log) complete = false;
        live_logs.insert(LogIdFor(*s, *sh).value);
      }
      if (!complete) {
        note(storage::Severity::kError,
             "stream " + s->name + ": shard logs missing (stream skipped; nothing deleted)");
        continue;
      }
      by_id[s->id] = std::move(s);
    }
  }
  if (!have_key) {
    TokenSealer::Key k = NewKey();
    sealer_ = TokenSealer(k);
    RETURN_IF_ERROR(storage_->meta().Put(
        kSealerKey, std::string_view(reinterpret_cast<const char*>(k.data()), k.size())));
  }
  // Logs that no stream document refers to. Empty ones are left by a CreateStream or a
  // reshard that a crash interrupted before its document was written: no record in them,
  // dropped. Logs holding records mean the metadata was lost (meta.sqlite deleted,
  // truncated, or its WAL lost): never deleted; the start is refused unless asked to
  // rebuild their streams from the descriptors the logs carry.
  std::map<std::uint64_t, std::vector<storage::LogId>> orphans;  // by stream id
  for (auto id : storage_->ListLogs()) {
    if (!live_logs.count(id.value)) orphans[id.value >> 32].push_back(id);
  }
  // A group is "written" when a log of it ever held a record. Empty groups of a stream
  // that has a document are an interrupted reshard; empty groups without one an interrupted
  // create, or (metadata lost) a stream never written to.
  std::uint64_t orphan_records = 0;
  std::size_t written_logs = 0;
  std::set<std::uint64_t> empty_groups;
  for (const auto& [stream_id, ids] : orphans) {
    bool ever_written = false;
    for (auto id : ids) {
      auto log = storage_->FindLog(id);
      ever_written |= log->EndOffset().value > 0;
      orphan_records += log->EndOffset().value - log->StartOffset().value;
    }
    next_stream_id_ = std::max(next_stream_id_, stream_id + 1);
    if (ever_written) {
      written_logs += ids.size();
    } else {
      empty_groups.insert(stream_id);
    }
  }
  if (written_logs > 0 && !options_.recover_metadata) {
    // Refuse before changing anything on disk.
    return Status(Code::kFailedPrecondition,
                  std::to_string(written_logs) + " shard logs holding " +
                      std::to_string(orphan_records) +
                      " records have no stream metadata (was meta.sqlite deleted, truncated or "
                      "rolled back?); nothing was deleted. Start with --recover-metadata to "
                      "rebuild their streams from the logs (docs/storage-format.md, "
                      "\"Recovering lost metadata\").");
  }
  for (auto stream_id : empty_groups) {
    // With --recover-metadata a stream without a document is rebuilt even if empty (its
    // metadata may be what was lost); otherwise empty logs are what a crash left behind.
    if (options_.recover_metadata && !by_id.count(stream_id)) continue;
    for (auto id : orphans[stream_id]) {
      note(storage::Severity::kInfo, "removed empty log " + std::to_string(id.value) +
                                         " without a stream (an interrupted create or reshard)");
      RETURN_IF_ERROR(storage_->DropLog(id));
    }
    orphans.erase(stream_id);
  }
  for (const auto& [stream_id, ids] : orphans) {
    // Every log of that stream, the ones its (stale) document still names included.
    std::vector<storage::LogId> all;
    for (auto id : storage_->ListLogs()) {
      if ((id.value >> 32) == stream_id) all.push_back(id);
    }
    auto rebuilt = RebuildStreamFromLogs(*storage_, all, Now());
    if (!rebuilt.ok()) {
      // Kept where they are (a stale document still serves what it names); the next start
      // without the flag refuses again, so this cannot go unnoticed.
      note(storage::Severity::kError, "stream id " + std::to_string(stream_id) +
                                          ": cannot rebuild (" + rebuilt.status().message() +
                                          "); its logs without a document are kept in " +
                                          "place and not served");
      continue;
    }
    by_id.erase(stream_id);
    auto s = std::move(rebuilt).value();
    WriterLock stream_lock(&s->mu);  // not shared yet; taken so that every access is checked
    bool clash = false;
    for (const auto& [_, other] : by_id) clash |= other->name == s->name;
    if (clash) {
      for (auto id : all) RETURN_IF_ERROR(storage_->QuarantineLog(id, "name-in-use"));
      note(storage::Severity::kError, "stream " + s->name +
                                          " rebuilt from its logs, but another "
                                          "stream has that name now; its logs were moved to "
                                          "quarantine/");
      continue;
    }
    if (Status st = Persist(*s); !st.ok()) return st;
    std::uint64_t records = 0;
    for (const auto& sh : s->shards) {
      records += sh->log->EndOffset().value - sh->log->StartOffset().value;
    }
    note(storage::Severity::kWarning,
         "stream " + s->name + " rebuilt from its logs: " + std::to_string(s->shards.size()) +
             " shards, " + std::to_string(records) + " records");
    by_id[s->id] = std::move(s);
  }
  if (next_stream_id_ != stored_next_id) {
    RETURN_IF_ERROR(storage_->meta().Put(kNextIdKey, std::to_string(next_stream_id_)));
  }
  for (auto& [_, s] : by_id) {
    WriterLock stream_lock(&s->mu);  // not shared yet; taken so that every access is checked
    s->arn = ArnFor(s->name);
    for (auto& c : s->consumers) {
      c.arn = s->arn + "/consumer/" + c.name + ":" + std::to_string(c.created_ms / 1000);
    }
    RebuildOpenShards(*s);
    streams_[s->name] = std::move(s);
  }
  return Status::Ok();
}

Status Engine::Persist(const StreamState& s) const {
  if (Status st = storage_->meta().Put(StreamKey(s.id), StreamDocument(s)); !st.ok())
    return Internal("cannot save the metadata of stream " + s.name, st);
  return Status::Ok();
}

Engine::~Engine() = default;

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
    s = it->second;
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
  out.shard_id = shard.id;
  out.parent_shard_id = shard.parent;
  out.adjacent_parent_shard_id = shard.adjacent_parent;
  out.hash_key_range = {ToString(shard.start), ToString(shard.end)};
  out.sequence_number_range.starting_sequence_number = shard.starting_sequence;
  if (shard.closed_ms) {
    out.sequence_number_range.ending_sequence_number =
        EncodeSequence({shard.created_s(), shard.index, kEndCounter,
                        static_cast<std::uint64_t>(*shard.closed_ms / 1000)});
  }
  return out;
}

void Engine::Tick() {
  const EpochMillis now = Now();
  std::vector<std::shared_ptr<StreamState>> gone, live;
  {
    WriterLock lock(&mu_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (it->second->GoneAt(now)) {
        gone.push_back(it->second);
        it = streams_.erase(it);
      } else {
        live.push_back(it->second);
        ++it;
      }
    }
  }
  for (const auto& s : live) {
    Settle(*s, now);
    WriterLock lock(&s->mu);
    if (std::erase_if(s->consumers, [&](const ConsumerState& c) {
          return c.deleting_at_ms && now >= c.gone_at_ms;
        })) {
      // A failure is reported by Persist; the document keeps the consumer as deleting, and
      // the next start removes it again.
      (void)Persist(*s);
    }
  }
  for (const auto& s : gone) {
    // The logs go first, the document last: a crash in between leaves a deleting document,
    // whose deletion the next start finishes (never logs without a document).
    bool dropped = true;
    {
      ReaderLock lock(&s->mu);
      for (const auto& shard : s->shards) {
        if (Status st = storage_->DropLog(LogIdFor(*s, *shard)); !st.ok()) {
          Report(storage::Severity::kError, "deleting stream " + s->name + ": " + st.ToString());
          dropped = false;
        }
      }
    }
    if (!dropped) continue;  // the document stays; the next start tries again
    if (Status st = storage_->meta().Erase(StreamKey(s->id)); !st.ok()) {
      Report(storage::Severity::kError,
             "deleting stream " + s->name + ": " + st.ToString() + " (the next start finishes it)");
    }
  }
  EpochMillis last = last_trim_ms_.load();
  if (now - last >= kTrimIntervalMs && last_trim_ms_.compare_exchange_strong(last, now)) {
    for (const auto& s : live) {
      const EpochMillis cutoff = s->RetentionStart(now);
      ReaderLock lock(&s->mu);
      for (const auto& shard : s->shards) shard->log->TrimBefore(cutoff);
    }
  }
}

Status Engine::CreateStream(const api::CreateStreamInput& in) {
  const EpochMillis now = Now();
  // Neither ShardCount nor a mode: AWS creates the stream anyway, with the 4 shards of a new
  // on-demand stream (recorded by LocalStack's AWS-validated tests); we make it ON_DEMAND.
  const api::StreamMode mode = in.stream_mode.value_or(
      in.shard_count ? api::StreamMode::kProvisioned : api::StreamMode::kOnDemand);
  int shard_count = 0;
  if (mode == api::StreamMode::kOnDemand) {
    if (in.shard_count) return errors::InvalidShardCountForMode();
    shard_count = 4;
  } else {
    if (!in.shard_count) return errors::InvalidShardCountForMode();
    shard_count = *in.shard_count;
  }
  Tick();
  WriterLock lock(&mu_);
  if (streams_.count(in.stream_name))
    return errors::StreamAlreadyExists(in.stream_name, options_.scope);
  int open_shards = 0;
  for (const auto& [_, s] : streams_) {
    ReaderLock sl(&s->mu);
    open_shards += static_cast<int>(s->open.size());
  }
  if (open_shards + shard_count > options_.shard_limit) {
    return errors::ShardLimitExceeded(options_.scope, open_shards, options_.shard_limit,
                                      shard_count);
  }
  RETURN_IF_ERROR(CheckLogRoom(*storage_, options_.scope, open_shards, shard_count));
  auto s = std::make_shared<StreamState>();
  WriterLock stream_lock(&s->mu);  // not shared yet; taken so that every access is checked
  s->id = next_stream_id_++;
  s->name = in.stream_name;
  s->arn = ArnFor(in.stream_name);
  s->created_ms = now;
  s->active_at_ms = now + options_.create_stream_ms;
  s->mode = mode;
  s->tags = in.tags;
  if (in.max_record_size_kib) s->max_record_size_kib = *in.max_record_size_kib;
  // On failure, the logs made so far are empty: drop them again.
  auto undo = [&](Status st) REQUIRES(s->mu) {
    for (const auto& sh : s->shards) {
      if (Status d = storage_->DropLog(LogIdFor(*s, *sh)); !d.ok())
        Report(storage::Severity::kError, "stream " + s->name + ": " + d.ToString());
    }
    return st;
  };
  auto ranges = EvenRanges(shard_count);
  for (int i = 0; i < shard_count; ++i) {
    const auto& [start, end] = ranges[static_cast<std::size_t>(i)];
    auto shard = NewShard(*storage_, *s, static_cast<std::uint32_t>(i), start, end, now);
    if (!shard.ok()) return undo(Internal("cannot create a shard of " + s->name, shard.status()));
    s->shards.push_back(std::move(shard).value());
  }
  RebuildOpenShards(*s);
  if (Status st = storage_->meta().Put(kNextIdKey, std::to_string(next_stream_id_)); !st.ok())
    return undo(Internal("cannot save the next stream id", st));
  if (Status st = Persist(*s); !st.ok()) return undo(st);
  streams_.emplace(in.stream_name, std::move(s));
  return Status::Ok();
}

Status Engine::DeleteStream(const api::DeleteStreamInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  if (!in.enforce_consumer_deletion) {
    ReaderLock lock(&s->mu);
    const EpochMillis now = Now();
    for (const auto& c : s->consumers) {
      if (!c.deleting_at_ms || now < c.gone_at_ms) {
        return Status(Code::kResourceInUse, "Stream " + s->name + " under account " +
                                                options_.scope.account_id +
                                                " has registered consumers. Deregister them or set "
                                                "EnforceConsumerDeletion to delete the stream.");
      }
    }
  }
  {
    WriterLock lock(&mu_);
    WriterLock stream_lock(&s->mu);
    if (s->deleting_at_ms) return Status::Ok();
    const EpochMillis now = Now();
    s->deleting_at_ms = now;
    s->gone_at_ms.store(now + options_.delete_stream_ms, std::memory_order_release);
    if (Status st = Persist(*s); !st.ok()) {
      s->deleting_at_ms.reset();
      s->gone_at_ms.store(StreamState::kNever, std::memory_order_release);
      return st;
    }
  }
  if (options_.delete_stream_ms == 0) Tick();
  return Status::Ok();
}

Result<api::DescribeStreamOutput> Engine::DescribeStream(const api::DescribeStreamInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const EpochMillis now = Now();
  api::DescribeStreamOutput out;
  auto& d = out.stream_description;
  ReaderLock lock(&s->mu);
  d.stream_name = s->name;
  d.stream_arn = s->arn;
  d.stream_status = StatusOf(*s, now);
  d.stream_mode = s->mode;
  d.retention_period_hours = s->retention_hours;
  d.stream_creation_timestamp = s->created_ms;
  d.enhanced_monitoring.push_back({{s->shard_level_metrics.begin(), s->shard_level_metrics.end()}});
  d.encryption_type = s->encryption;
  d.key_id = s->key_id;
  // A stream shows no shards until it has been ACTIVE, also when deleted while CREATING.
  const bool was_active = s->deleting_at_ms ? *s->deleting_at_ms >= s->active_at_ms
                                            : d.stream_status != StreamStatus::kCreating;
  if (was_active) {
    const std::size_t limit = static_cast<std::size_t>(std::min(in.limit.value_or(100), 100));
    std::optional<std::uint32_t> after;
    if (in.exclusive_start_shard_id) after = ParseShardId(*in.exclusive_start_shard_id);
    for (const auto& shard : s->shards) {
      if (in.exclusive_start_shard_id && (!after || shard->index <= *after)) continue;
      if (d.shards.size() == limit) {
        d.has_more_shards = true;
        break;
      }
      d.shards.push_back(Describe(*shard));
    }
  }
  return out;
}

Result<api::DescribeStreamSummaryOutput> Engine::DescribeStreamSummary(
    const api::DescribeStreamSummaryInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  api::DescribeStreamSummaryOutput out;
  auto& d = out.stream_description_summary;
  ReaderLock lock(&s->mu);
  d.stream_name = s->name;
  d.stream_arn = s->arn;
  d.stream_status = StatusOf(*s, Now());
  d.stream_mode = s->mode;
  d.retention_period_hours = s->retention_hours;
  d.stream_creation_timestamp = s->created_ms;
  d.enhanced_monitoring.push_back({{s->shard_level_metrics.begin(), s->shard_level_metrics.end()}});
  d.encryption_type = s->encryption;
  d.key_id = s->key_id;
  d.max_record_size_kib = s->max_record_size_kib;
  d.warm_throughput_mibps = s->warm_throughput_mibps;
  d.open_shard_count = static_cast<int>(s->open.size());
  const EpochMillis now = Now();
  d.consumer_count = static_cast<int>(std::count_if(
      s->consumers.begin(), s->consumers.end(),
      [&](const ConsumerState& c) { return !(c.deleting_at_ms && now >= c.gone_at_ms); }));
  return out;
}

Result<api::ListStreamsOutput> Engine::ListStreams(const api::ListStreamsInput& in) {
  const EpochMillis now = Now();
  std::string after;
  bool has_after = false;
  if (in.next_token) {
    auto plain = sealer_.Open(*in.next_token);
    if (!plain) return errors::InvalidNextToken();
    TokenReader r(*plain);
    std::uint8_t tag = 0;
    EpochMillis issued = 0;
    if (!r.U8(tag) || tag != kListStreamsTag || !r.I64(issued) || !r.Str(after)) {
      return errors::InvalidNextToken();
    }
    if (now - issued > options_.next_token_ttl_ms) return errors::ExpiredNextToken();
    has_after = true;
  } else if (in.exclusive_start_stream_name) {
    after = *in.exclusive_start_stream_name;
    has_after = true;
  }
  const std::size_t limit = static_cast<std::size_t>(std::min(in.limit.value_or(100), 100));
  api::ListStreamsOutput out;
  ReaderLock lock(&mu_);
  auto it = has_after ? streams_.upper_bound(after) : streams_.begin();
  for (; it != streams_.end(); ++it) {
    const auto& s = *it->second;
    if (s.GoneAt(now)) continue;
    ReaderLock stream_lock(&s.mu);
    if (out.stream_names.size() == limit) {
      out.has_more_streams = true;
      break;
    }
    out.stream_names.push_back(s.name);
    out.stream_summaries.push_back({s.name, s.arn, StatusOf(s, now), s.mode, s.created_ms});
  }
  if (out.has_more_streams) {
    TokenWriter w;
    w.U8(kListStreamsTag);
    w.I64(now);
    w.Str(out.stream_names.back());
    out.next_token = sealer_.Seal(w.data());
  }
  return out;
}

Result<api::ListShardsOutput> Engine::ListShards(const api::ListShardsInput& in) {
  const EpochMillis now = Now();
  const bool has_stream = in.stream.stream_name.has_value() || in.stream.stream_arn.has_value();
  if (in.next_token && in.stream.stream_name) return errors::ListShardsTokenAndStream();
  if (!in.next_token && !has_stream) return errors::ListShardsNeitherTokenNorStream();
  if (in.next_token && in.exclusive_start_shard_id)
    return errors::ListShardsTokenAndExclusiveStart();

  std::string name;
  std::optional<std::uint32_t> after;  // list shards with index > after
  std::optional<api::ShardFilter> filter = in.shard_filter;
  std::uint64_t stream_id = 0;
  if (in.next_token) {
    auto plain = sealer_.Open(*in.next_token);
    if (!plain) return errors::InvalidNextToken();
    TokenReader r(*plain);
    std::uint8_t tag = 0, has_filter = 0, ftype = 0;
    EpochMillis issued = 0, fts = 0;
    std::uint32_t last = 0;
    std::string fshard;
    if (!r.U8(tag) || tag != kListShardsTag || !r.I64(issued) || !r.U64(stream_id) ||
        !r.Str(name) || !r.U32(last) || !r.U8(has_filter) || !r.U8(ftype) || !r.Str(fshard) ||
        !r.I64(fts)) {
      return errors::InvalidNextToken();
    }
    if (now - issued > options_.next_token_ttl_ms) return errors::ExpiredNextToken();
    after = last;
    if (has_filter) {
      filter = api::ShardFilter{static_cast<api::ShardFilterType>(ftype),
                                fshard.empty() ? std::nullopt : std::optional<std::string>(fshard),
                                has_filter == 2 ? std::optional<EpochMillis>(fts) : std::nullopt};
    }
  } else {
    ASSIGN_OR_RETURN(name, NameOf(in.stream));
  }
  auto s = Find(name);
  if (!s || (stream_id != 0 && s->id != stream_id))
    return errors::StreamNotFound(name, options_.scope);
  bool creating = false;
  {
    ReaderLock lock(&s->mu);
    creating = StatusOf(*s, now) == StreamStatus::kCreating;
  }
  if (creating) {
    return Status(Code::kResourceInUse, "Stream " + name + " under account " +
                                            options_.scope.account_id +
                                            " is not ACTIVE, instead in state CREATING");
  }
  if (!in.next_token && in.exclusive_start_shard_id) {
    auto idx = ParseShardId(*in.exclusive_start_shard_id);
    after = idx ? *idx : 0;
    if (!idx) return errors::CouldNotFindShard(*in.exclusive_start_shard_id, name, options_.scope);
  }
  if (filter) {
    using T = api::ShardFilterType;
    if (filter->type == T::kAfterShardId) {
      if (!filter->shard_id) {
        return Status(Code::kInvalidArgument,
                      "ShardId must be specified for the AFTER_SHARD_ID ShardFilter type.");
      }
      auto idx = ParseShardId(*filter->shard_id);
      if (!idx) return errors::CouldNotFindShard(*filter->shard_id, name, options_.scope);
      if (!after || *idx > *after) after = *idx;
    }
    if ((filter->type == T::kAtTimestamp || filter->type == T::kFromTimestamp) &&
        !filter->timestamp) {
      return Status(
          Code::kInvalidArgument,
          "Timestamp must be specified for the AT_TIMESTAMP and FROM_TIMESTAMP ShardFilter types.");
    }
  }
  const std::size_t limit = static_cast<std::size_t>(std::min(in.max_results.value_or(1000), 1000));
  const EpochMillis retention_start =
      now - static_cast<EpochMillis>(s->retention_hours) * 3'600'000;
  api::ListShardsOutput out;
  std::optional<std::uint32_t> last_index;
  bool more = false;
  {
    ReaderLock lock(&s->mu);
    for (const auto& shard : s->shards) {
      if (after && shard->index <= *after) continue;
      bool include = true;
      if (filter) {
        using T = api::ShardFilterType;
        const bool open = !shard->closed_ms.has_value();
        auto open_at = [&](EpochMillis t) {
          return shard->created_ms <= t && (open || *shard->closed_ms > t);
        };
        switch (filter->type) {
          case T::kAfterShardId:
          case T::kFromTrimHorizon:
            break;
          case T::kAtTrimHorizon:
            include = open_at(std::max(retention_start, s->created_ms));
            break;
          case T::kAtLatest:
            include = open;
            break;
          case T::kAtTimestamp:
            include = open_at(std::max(*filter->timestamp, s->created_ms));
            break;
          case T::kFromTimestamp:
            include = open || *shard->closed_ms > *filter->timestamp;
            break;
        }
      }
      if (!include) continue;
      if (out.shards.size() == limit) {
        more = true;
        break;
      }
      out.shards.push_back(Describe(*shard));
      last_index = shard->index;
    }
  }
  if (more && last_index) {
    TokenWriter w;
    w.U8(kListShardsTag);
    w.I64(now);
    w.U64(s->id);
    w.Str(s->name);
    w.U32(*last_index);
    w.U8(filter ? (filter->timestamp ? 2 : 1) : 0);
    w.U8(filter ? static_cast<std::uint8_t>(filter->type) : 0);
    w.Str(filter && filter->shard_id ? *filter->shard_id : "");
    w.I64(filter && filter->timestamp ? *filter->timestamp : 0);
    out.next_token = sealer_.Seal(w.data());
  }
  return out;
}

namespace {

// Registers with the transport's DeferredAcks the wait for an append to `shard`'s log to be
// durable: then readers are woken, and the write is acknowledged (or fails as
// InternalFailure). `stream` keeps the shard alive until then.
void DeferDurability(api::DeferredAcks& acks, std::shared_ptr<StreamState> stream,
                     ShardState* shard, std::shared_ptr<storage::Log> log,
                     storage::AppendResult appended) {
  acks.Add([stream = std::move(stream), shard, log = std::move(log),
            appended](std::function<void(Status)> done) {
    log->OnDurable(appended, [stream, shard, done = std::move(done)](Status st) {
      // The storage reported the failed write (with its path); the client learns only this.
      if (st.ok()) shard->NotifyAppended();
      done(st.ok() ? st : errors::InternalFailure());
    });
  });
}

// Validation text for a record over the stream's size limit, in the service's words.
std::string OversizeEntry(std::size_t size, std::int64_t limit, const std::string& path) {
  auto n = std::to_string(size);
  return "Value 'java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]' at '" + path +
         "' failed to satisfy constraint: Member must have length less than or equal to " +
         std::to_string(limit);
}

Status ValidationList(const std::vector<std::string>& entries) {
  std::string msg = std::to_string(entries.size()) + " validation error" +
                    (entries.size() > 1 ? "s" : "") + " detected: ";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i) msg += "; ";
    msg += entries[i];
  }
  return {Code::kValidation, std::move(msg)};
}

// Writes are accepted while ACTIVE and while UPDATING (resharding keeps the stream writable).
bool Writable(StreamStatus s) { return s == StreamStatus::kActive || s == StreamStatus::kUpdating; }

Result<HashKey> HashKeyFor(std::string_view partition_key,
                           const std::optional<std::string>& explicit_key) {
  if (explicit_key) {
    auto v = ParseDecimal128(*explicit_key);
    if (!v) return errors::InvalidExplicitHashKey(*explicit_key);
    return HashKey{*v};
  }
  return Md5HashKey(partition_key);
}

}  // namespace

Result<api::PutRecordOutput> Engine::PutRecord(const api::PutRecordInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const EpochMillis now = Now();
  // Held shared from the size and status checks through the append: the limit, the status
  // and the topology are read together, and a control operation waits for the append.
  ReaderLock lock(&s->mu);
  const std::int64_t limit = static_cast<std::int64_t>(s->max_record_size_kib) * 1024;
  if (static_cast<std::int64_t>(in.data.size()) > limit) {
    return ValidationList({OversizeEntry(in.data.size(), limit, "data")});
  }
  if (!Writable(StatusOf(*s, now))) return errors::StreamNotFound(s->name, options_.scope);
  if (static_cast<std::int64_t>(in.data.size() + in.partition_key.size()) > limit) {
    return errors::RecordTooLarge(in.data.size() + in.partition_key.size(), limit, s->name,
                                  options_.scope);
  }
  ASSIGN_OR_RETURN(HashKey key, HashKeyFor(in.partition_key, in.explicit_hash_key));
  if (in.sequence_number_for_ordering) {
    // Any number of a known layout is accepted, from any shard or stream and even dated
    // in the future (AWS stopped rejecting those); ours increase per shard regardless.
    if (!ParseAnySequence(*in.sequence_number_for_ordering)) {
      return errors::InvalidSequenceNumberForOrdering(*in.sequence_number_for_ordering, s->name,
                                                      options_.scope);
    }
  }
  ShardState* shard = s->Route(key);
  if (!shard) return Status(Code::kInternalFailure, "no open shard covers the hash key");
  if (Throttled(*s) && !shard->throttle.TakeWrite(in.data.size() + in.partition_key.size(), now)) {
    return errors::ThroughputExceeded(shard->id, s->name, options_.scope);
  }
  storage::AppendRecord rec{
      in.partition_key,
      in.explicit_hash_key ? std::string_view(*in.explicit_hash_key) : std::string_view{}, in.data};
  auto appended = shard->log->Append({&rec, 1}, now);
  if (!appended.ok())
    return Internal("append to " + shard->id + " of " + s->name, appended.status());
  std::shared_ptr<storage::Log> log = shard->log;
  lock.Unlock();
  // Acknowledge only once the record is durable (group commit with concurrent writers):
  // by the transport, when it can wait without a thread, else here.
  if (auto* acks = api::DeferredAcks::Current()) {
    DeferDurability(*acks, s, shard, log, *appended);
  } else {
    if (!log->WaitDurable(*appended).ok()) return errors::InternalFailure();
    shard->NotifyAppended();
  }
  api::PutRecordOutput out;
  out.encryption_type = s->encryption;
  out.shard_id = shard->id;
  out.sequence_number = shard->SequenceAt(appended->first.value, appended->arrival_ms);
  return out;
}

Result<api::PutRecordsOutput> Engine::PutRecords(const api::PutRecordsInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const EpochMillis now = Now();
  // Held shared from the size and status checks through the appends (as in PutRecord).
  ReaderLock lock(&s->mu);
  const std::int64_t limit = static_cast<std::int64_t>(s->max_record_size_kib) * 1024;
  std::vector<std::string> oversize;
  std::int64_t total = 0;
  std::size_t largest = 0;
  for (std::size_t i = 0; i < in.records.size(); ++i) {
    const auto& r = in.records[i];
    const std::size_t size = r.data.size() + r.partition_key.size();
    total += static_cast<std::int64_t>(size);
    largest = std::max(largest, size);
    if (static_cast<std::int64_t>(r.data.size()) > limit && oversize.size() < 10) {
      oversize.push_back(
          OversizeEntry(r.data.size(), limit, "records." + std::to_string(i + 1) + ".member.data"));
    }
  }
  if (!oversize.empty()) return ValidationList(oversize);
  // The whole request may carry 10 MiB of data and partition keys (the current service
  // model; it was 5 MiB before per-stream record sizes came).
  const std::int64_t request_limit = options_.max_put_records_bytes;
  if (total > request_limit) return errors::RecordsSizeExceeded(request_limit);
  if (!Writable(StatusOf(*s, now))) return errors::StreamNotFound(s->name, options_.scope);
  if (static_cast<std::int64_t>(largest) > limit) {
    return errors::RecordTooLarge(largest, limit, s->name, options_.scope);
  }

  // Route every record, then append each shard's records as one batch, in request order.
  std::vector<ShardState*> route(in.records.size());
  std::vector<HashKey> keys(in.records.size());
  for (std::size_t i = 0; i < in.records.size(); ++i) {
    ASSIGN_OR_RETURN(keys[i],
                     HashKeyFor(in.records[i].partition_key, in.records[i].explicit_hash_key));
  }
  api::PutRecordsOutput out;
  out.encryption_type = s->encryption;
  out.records.resize(in.records.size());
  for (std::size_t i = 0; i < in.records.size(); ++i) route[i] = s->Route(keys[i]);
  std::vector<std::size_t> order(in.records.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return route[a] < route[b]; });
  std::vector<storage::AppendRecord> batch;
  batch.reserve(in.records.size());
  // (log, end offset, first and last index into `order`) of every append to wait for.
  std::vector<
      std::tuple<std::shared_ptr<storage::Log>, storage::AppendResult, std::size_t, std::size_t>>
      waits;
  const bool throttled = Throttled(*s);
  std::vector<bool> over_limit(throttled ? in.records.size() : 0);
  for (std::size_t begin = 0; begin < order.size();) {
    ShardState* shard = route[order[begin]];
    std::size_t end = begin;
    batch.clear();
    while (end < order.size() && route[order[end]] == shard) {
      const auto& r = in.records[order[end]];
      if (throttled && shard != nullptr &&
          !shard->throttle.TakeWrite(r.data.size() + r.partition_key.size(), now)) {
        over_limit[order[end]] = true;  // fails alone; the others are still written
        ++end;
        continue;
      }
      batch.push_back(
          {r.partition_key,
           r.explicit_hash_key ? std::string_view(*r.explicit_hash_key) : std::string_view{},
           r.data});
      ++end;
    }
    if (shard == nullptr) {
      for (std::size_t k = begin; k < end; ++k) {
        auto& e = out.records[order[k]];
        e.error_code = "InternalFailure";
        e.error_message = "Internal service failure.";
        ++out.failed_record_count;
      }
    } else {
      Result<storage::AppendResult> appended = storage::AppendResult{};
      if (!batch.empty()) appended = shard->log->Append(batch, now);
      if (!appended.ok())
        (void)Internal("append to " + shard->id + " of " + s->name, appended.status());
      if (appended.ok() && !batch.empty()) waits.emplace_back(shard->log, *appended, begin, end);
      std::uint64_t written = 0;
      for (std::size_t k = begin; k < end; ++k) {
        auto& e = out.records[order[k]];
        if (throttled && over_limit[order[k]]) {
          auto st = errors::ThroughputExceeded(shard->id, s->name, options_.scope);
          e.error_code = std::string(st.name());
          e.error_message = st.message();
          ++out.failed_record_count;
        } else if (appended.ok()) {
          e.shard_id = shard->id;
          e.sequence_number =
              shard->SequenceAt(appended->first.value + written++, appended->arrival_ms);
        } else {
          e.error_code = "InternalFailure";
          e.error_message = "Internal service failure.";
          ++out.failed_record_count;
        }
      }
    }
    begin = end;
  }
  lock.Unlock();
  // Acknowledge records only once durable; a shard whose write failed fails its records.
  // A transport that waits without a thread (DeferredAcks) answers the whole request with
  // InternalFailure instead if a shard's write fails.
  if (auto* acks = api::DeferredAcks::Current()) {
    for (const auto& [log, appended, first, last] : waits) {
      DeferDurability(*acks, s, route[order[first]], log, appended);
    }
    return out;
  }
  for (const auto& [log, appended, first, last] : waits) {
    if (log->WaitDurable(appended).ok()) {
      route[order[first]]->NotifyAppended();
      continue;
    }
    for (std::size_t k = first; k < last; ++k) {
      auto& e = out.records[order[k]];
      if (!e.sequence_number) continue;
      e = api::PutRecordsResultEntry{std::nullopt, std::nullopt, "InternalFailure",
                                     "Internal service failure."};
      ++out.failed_record_count;
    }
  }
  return out;
}

Result<std::uint64_t> Engine::StartPosition(const StreamState& s, const ShardState& shard,
                                            const std::string& name, api::ShardIteratorType type,
                                            const std::optional<std::string>& seq_in,
                                            std::optional<EpochMillis> timestamp,
                                            EpochMillis now) const {
  using T = api::ShardIteratorType;
  const bool has_seq = seq_in.has_value();
  if ((type == T::kTrimHorizon || type == T::kLatest) && has_seq) {
    return errors::IteratorTypeMismatch(api::ToString(type), true);
  }
  if ((type == T::kAtSequenceNumber || type == T::kAfterSequenceNumber) && !has_seq) {
    return errors::IteratorTypeMismatch(api::ToString(type), false);
  }
  const storage::Log& log = *shard.log;
  switch (type) {
    case T::kTrimHorizon:
      return std::max(log.StartOffset(), log.OffsetAtTime(s.RetentionStart(now))).value;
    case T::kLatest:
      return log.EndOffset().value;
    case T::kAtTimestamp:
      if (!timestamp) return errors::AtTimestampWithoutTimestamp();
      if (*timestamp > now) return errors::TimestampInFuture(*timestamp, now);
      return log.OffsetAtTime(std::max(*timestamp, s.RetentionStart(now))).value;
    case T::kAtSequenceNumber:
    case T::kAfterSequenceNumber: {
      const std::string& seq = *seq_in;
      auto f = ParseAnySequence(seq);
      if (!f) return errors::InvalidStartingSequenceNumber(seq, shard.id, name, options_.scope);
      if (f->shard_index != static_cast<std::int64_t>(shard.index)) {
        return errors::StartingSequenceNumberFromOtherShard(ShardIdName(f->shard_index), shard.id);
      }
      if (f->version != 2 || f->shard_created_s != shard.created_s()) {
        // AWS fails on a version-0 number of the right shard (HTTP 500, no message).
        if (f->version == 0) return Status(Code::kInternalFailure, "");
        return errors::StartingSequenceNumberFromOtherStream(seq, shard.id, name, options_.scope);
      }
      // Counter c belongs to offset c-1; counter 0 is the shard's starting number.
      std::uint64_t position =
          type == T::kAtSequenceNumber ? (f->counter == 0 ? 0 : f->counter - 1) : f->counter;
      position = std::min(position, log.EndOffset().value);
      return std::max(position, log.StartOffset().value);
    }
  }
  return std::uint64_t{0};
}

Result<api::GetShardIteratorOutput> Engine::GetShardIterator(const api::GetShardIteratorInput& in) {
  ASSIGN_OR_RETURN(std::string name, NameOf(in.stream));
  auto index = ParseShardId(in.shard_id);
  if (!index) return errors::CouldNotFindShard(in.shard_id, name, options_.scope);
  const std::string shard_id = ShardIdFor(*index);
  auto s = Find(name);
  const EpochMillis now = Now();
  if (!s) return errors::ShardDoesNotExist(shard_id, name, options_.scope);
  std::shared_ptr<ShardState> shard;
  {
    ReaderLock lock(&s->mu);
    if (StatusOf(*s, now) == StreamStatus::kCreating)
      return errors::ShardDoesNotExist(shard_id, name, options_.scope);
    if (*index >= s->shards.size())
      return errors::ShardDoesNotExist(shard_id, name, options_.scope);
    shard = s->shards[*index];
  }
  ASSIGN_OR_RETURN(std::uint64_t position,
                   StartPosition(*s, *shard, name, in.shard_iterator_type,
                                 in.starting_sequence_number, in.timestamp, now));
  api::GetShardIteratorOutput out;
  out.shard_iterator = SealIterator(sealer_, {s->id, s->name, *index, position, now});
  return out;
}

Result<api::GetRecordsOutput> Engine::ReadShard(StreamState& s, ShardState& shard,
                                                std::uint64_t position, std::size_t limit,
                                                EpochMillis now, std::uint64_t* next_out) const {
  constexpr std::size_t kMaxResponseBytes = 10 << 20;
  api::GetRecordsOutput out;
  std::size_t bytes = 0;
  const auto encryption = s.encryption.load();
  auto read = shard.log->Read(
      storage::Offset{position}, limit,
      [&](const storage::RecordView& r) {
        const std::size_t size = r.data.size() + r.key.size();
        if (!out.records.empty() && bytes + size > kMaxResponseBytes) return false;
        bytes += size;
        api::Record rec;
        rec.sequence_number = shard.SequenceAt(r.offset.value, r.arrival_ms);
        rec.approximate_arrival_timestamp = r.arrival_ms;
        rec.data.assign(r.data);
        rec.partition_key.assign(r.key);
        rec.encryption_type = encryption;
        out.records.push_back(std::move(rec));
        return true;
      },
      s.RetentionStart(now));
  // A damaged record was reported by the storage with its path and offset.
  if (!read.ok()) return errors::InternalFailure();
  const std::uint64_t next = read->next.value;
  const std::uint64_t end = shard.log->EndOffset().value;
  if (next < end) {
    std::optional<EpochMillis> arrival;
    (void)shard.log->Read(
        storage::Offset{next}, 1,
        [&](const storage::RecordView& r) {
          arrival = r.arrival_ms;
          return true;
        },
        s.RetentionStart(now));
    out.millis_behind_latest = arrival ? std::max<EpochMillis>(0, now - *arrival) : 0;
  }
  {
    ReaderLock lock(&s.mu);
    if (shard.closed_ms && next >= end) {
      std::vector<api::ChildShard> children;
      for (const auto& c : s.shards) {
        if (c->parent == shard.id || c->adjacent_parent == shard.id) {
          api::ChildShard child{c->id, {}, {ToString(c->start), ToString(c->end)}};
          if (c->parent) child.parent_shards.push_back(*c->parent);
          if (c->adjacent_parent) child.parent_shards.push_back(*c->adjacent_parent);
          children.push_back(std::move(child));
        }
      }
      out.child_shards = std::move(children);
    }
  }
  *next_out = next;
  return out;
}

Result<api::GetRecordsOutput> Engine::GetRecords(const api::GetRecordsInput& in) {
  // AWS also takes an iterator wrapped in double quotes (as a shell or a JSON tool may
  // leave it); validated against AWS by LocalStack's tests.
  std::string_view text = in.shard_iterator;
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    text = text.substr(1, text.size() - 2);
  auto it = OpenIterator(sealer_, text);
  if (!it) return errors::InvalidShardIterator();
  const EpochMillis now = Now();
  if (now - it->created_ms > options_.iterator_ttl_ms) {
    return errors::IteratorExpired(it->created_ms, now, options_.iterator_ttl_ms);
  }
  const std::string shard_id = ShardIdFor(it->shard_index);
  if (in.stream_arn && *in.stream_arn != ArnFor(it->stream_name))
    return errors::InvalidShardIterator();
  auto s = Find(it->stream_name);
  if (!s || s->id != it->stream_id)
    return errors::ShardDoesNotExist(shard_id, it->stream_name, options_.scope);
  std::shared_ptr<ShardState> shard;
  bool throttled = false;
  {
    ReaderLock lock(&s->mu);
    if (it->shard_index >= s->shards.size()) {
      return errors::ShardDoesNotExist(shard_id, it->stream_name, options_.scope);
    }
    shard = s->shards[it->shard_index];
    throttled = Throttled(*s);
  }
  if (throttled && !shard->throttle.TakeRead(now)) {
    return errors::ReadThroughputExceeded(shard_id, s->name, options_.scope);
  }
  std::uint64_t next = 0;
  ASSIGN_OR_RETURN(auto out,
                   ReadShard(*s, *shard, it->position,
                             static_cast<std::size_t>(in.limit.value_or(10000)), now, &next));
  if (throttled) {
    std::size_t bytes = 0;
    for (const auto& r : out.records) bytes += r.data.size() + r.partition_key.size();
    shard->throttle.ChargeRead(bytes);
  }
  // NextShardIterator is absent only at the end of a closed shard (then ChildShards is set).
  if (!out.child_shards)
    out.next_shard_iterator = SealIterator(sealer_, {s->id, s->name, it->shard_index, next, now});
  return out;
}

Status Engine::IncreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) {
  return UpdateRetention(in, true);
}

Status Engine::DecreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) {
  return UpdateRetention(in, false);
}

Status Engine::UpdateRetention(const api::UpdateRetentionPeriodInput& in, bool increase) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const int hours = in.retention_period_hours;
  if (hours < 24) return errors::RetentionTooShort(hours);
  if (hours > 8760) return errors::RetentionTooLong(hours);
  WriterLock lock(&s->mu);
  const EpochMillis now = Now();
  if (StatusOf(*s, now) != StreamStatus::kActive) {
    return errors::StreamNotActive(s->name, options_.scope, api::ToString(StatusOf(*s, now)));
  }
  const int current = s->retention_hours.load();
  if (increase && hours < current)
    return errors::RetentionIncreaseBelowCurrent(hours, s->name, current);
  if (!increase && hours > current)
    return errors::RetentionDecreaseAboveCurrent(hours, s->name, current);
  s->retention_hours = hours;
  if (Status st = Persist(*s); !st.ok()) {
    s->retention_hours = current;
    return st;
  }
  return Status::Ok();
}

}  // namespace cinesis::engine
