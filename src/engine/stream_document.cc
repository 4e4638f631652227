// The stream document: everything about a stream but its records (which live in the shard
// logs), as one JSON document in the metadata store and, one shard at a time, as each log's
// descriptor. Format and compatibility rules: docs/storage-format.md.
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
#include "engine/engine.h"
#include "engine/sequence.h"
#include "engine/state.h"
#include "engine/token.h"

namespace cinesis::engine {

namespace errors = api::errors;

std::string StreamKey(std::uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return std::string(kStreamKeyPrefix) + buf;
}

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
  const StreamExtras& x = s.extras();
  for (const auto& [k, v] : x.tags) tags[k] = v;
  o["tags"] = std::move(tags);
  json::array shard_docs;
  for (const auto& sh : shards ? *shards : s.shards) {
    json::object j;
    j["index"] = sh->index;
    j["start"] = ToString(sh->start);
    j["end"] = ToString(sh->end);
    j["created_ms"] = sh->created_ms;
    if (sh->parent) j["parent"] = ShardIdFor(*sh->parent);
    if (sh->adjacent_parent) j["adjacent_parent"] = ShardIdFor(*sh->adjacent_parent);
    if (sh->closed_ms) j["closed_ms"] = *sh->closed_ms;
    shard_docs.push_back(std::move(j));
  }
  o["shards"] = std::move(shard_docs);
  o["encryption"] = api::ToString(s.encryption);
  if (x.key_id) o["key_id"] = *x.key_id;
  json::array metrics;
  for (const auto& m : x.shard_level_metrics) metrics.emplace_back(m);
  o["metrics"] = std::move(metrics);
  if (x.warm_throughput_mibps) o["warm_throughput_mibps"] = *x.warm_throughput_mibps;
  if (x.policy) o["policy"] = *x.policy;
  json::array scalings;
  for (auto t : x.scalings) scalings.emplace_back(t);
  o["scalings"] = std::move(scalings);
  o["updating_until_ms"] = s.updating_until_ms;
  if (x.pending) {
    json::object p;
    p["kind"] = static_cast<int>(x.pending->kind);
    p["shard"] = x.pending->shard;
    p["adjacent"] = x.pending->adjacent;
    p["new_start"] = ToString(x.pending->new_start);
    p["target"] = x.pending->target;
    o["pending"] = std::move(p);
  }
  json::array consumers;
  for (const auto& c : x.consumers) {
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

namespace {
// The index of a parent shard id as documents hold it ("shardId-000000000007"): only the ids
// ShardIdFor writes, since the id is kept as its index and written back from it.
std::optional<std::uint32_t> ParentIndex(std::string_view id) {
  auto index = ParseShardId(id);
  if (!index || ShardIdFor(*index) != id) return std::nullopt;
  return index;
}
}  // namespace

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
      s->mutable_extras().tags[std::string(k)] = std::string(tv.as_string());
    for (const auto& jv : o.at("shards").as_array()) {
      const auto& j = jv.as_object();
      auto sh = std::make_shared<ShardState>();
      sh->index = j.at("index").to_number<std::uint32_t>();
      auto start = ParseDecimal128(j.at("start").as_string());
      auto end = ParseDecimal128(j.at("end").as_string());
      if (!start || !end) return Status(Code::kCorruption, "bad hash range in stream document");
      sh->start = HashKey{*start};
      sh->end = HashKey{*end};
      sh->created_ms = j.at("created_ms").to_number<std::int64_t>();
      if (auto* p = j.if_contains("parent")) {
        sh->parent = ParentIndex(p->as_string());
        if (!sh->parent) return Status(Code::kCorruption, "bad parent in stream document");
      }
      if (auto* p = j.if_contains("adjacent_parent")) {
        sh->adjacent_parent = ParentIndex(p->as_string());
        if (!sh->adjacent_parent) return Status(Code::kCorruption, "bad parent in stream document");
      }
      if (auto* p = j.if_contains("closed_ms")) sh->closed_ms = p->to_number<std::int64_t>();
      s->shards.push_back(std::move(sh));
    }
    if (auto* e = o.if_contains("encryption"); e && e->as_string() == "KMS")
      s->encryption = api::EncryptionType::kKms;
    if (auto* k = o.if_contains("key_id")) s->mutable_extras().key_id = std::string(k->as_string());
    if (auto* m = o.if_contains("metrics")) {
      for (const auto& x : m->as_array())
        s->mutable_extras().shard_level_metrics.insert(std::string(x.as_string()));
    }
    if (auto* w = o.if_contains("warm_throughput_mibps"))
      s->mutable_extras().warm_throughput_mibps = w->to_number<int>();
    if (auto* p = o.if_contains("policy")) s->mutable_extras().policy = std::string(p->as_string());
    if (auto* sc = o.if_contains("scalings")) {
      for (const auto& x : sc->as_array())
        s->mutable_extras().scalings.push_back(x.to_number<std::int64_t>());
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
      s->mutable_extras().pending = r;
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
        s->mutable_extras().consumers.push_back(std::move(c));
      }
    }
    return s;
  } catch (const std::exception& e) {
    return Status(Code::kCorruption, std::string("bad stream document: ") + e.what());
  }
}

}  // namespace cinesis::engine
