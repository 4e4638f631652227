// Loading at start: the metadata store's stream documents are matched with the storage's
// logs; logs without a document refuse the start (or, with recover_metadata, rebuild their
// stream from the logs' descriptors), documents whose logs are missing are reported.
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

Status Engine::Load(std::vector<std::string>* report) {
  WriterLock lock(&mu_);
  auto note = [&](storage::Severity severity, const std::string& line) {
    Report(severity, line);
    if (report) report->push_back(line);
  };
  std::set<std::uint64_t> live_logs;
  std::map<std::uint64_t, std::shared_ptr<StreamState>> by_id;  // streams loaded
  std::uint64_t stored_next_id = 0;  // written back only when it changes (a full disk)
  bool have_key = false;
  std::size_t loaded_shards = 0;
  // Documents of deleted streams whose logs are gone: erased once the visit is over (the
  // store cannot be called from its visitor).
  std::vector<std::string> erase_keys;
  // One document at a time: a start never holds every document's text at once.
  RETURN_IF_ERROR(
      storage_->meta().ForEach([&](std::string_view key, std::string_view value) REQUIRES(mu_) {
        if (key == kSealerKey && value.size() == sizeof(TokenSealer::Key)) {
          TokenSealer::Key k;
          std::memcpy(k.data(), value.data(), k.size());
          sealer_ = TokenSealer(k);
          have_key = true;
        } else if (key == kNextIdKey) {
          stored_next_id = std::strtoull(std::string(value).c_str(), nullptr, 10);
          next_stream_id_ = std::max<std::uint64_t>(next_stream_id_, stored_next_id);
        } else if (key.substr(0, kStreamKeyPrefix.size()) == kStreamKeyPrefix) {
          auto parsed = ParseStreamDocument(value);
          if (!parsed.ok()) {
            note(storage::Severity::kError, std::string(key) + ": " + parsed.status().message() +
                                                " (stream skipped; its logs are kept)");
            return true;
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
            if (dropped) erase_keys.emplace_back(key);
            return true;
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
            return true;
          }
          loaded_shards += s->shards.size();
          by_id[s->id] = std::move(s);
        }
        return true;
      }));
  for (const auto& key : erase_keys) RETURN_IF_ERROR(storage_->meta().Erase(key));
  if (!have_key) {
    TokenSealer::Key k = TokenSealer::NewKey();
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
    if (StreamExtras* x = s->extras_if_any()) {
      const std::string arn = ArnFor(s->name);
      for (auto& c : x->consumers) {
        c.arn = arn + "/consumer/" + c.name + ":" + std::to_string(c.created_ms / 1000);
      }
    }
    RebuildOpenShards(*s);
    // A later document of the same name replaces an earlier one, as a map's [] did.
    if (auto it = streams_.find(s->name); it != streams_.end()) {
      {
        ReaderLock old_lock(&(*it)->mu);
        open_shards_.fetch_sub(static_cast<int>((*it)->open.size()), std::memory_order_relaxed);
      }
      streams_.erase(it);
    }
    open_shards_.fetch_add(static_cast<int>(s->open.size()), std::memory_order_relaxed);
    streams_.insert(std::move(s));
  }
  ReleaseFreedMemory(loaded_shards,
                     options_.release_memory);  // the documents' text and parse trees
  return Status::Ok();
}

}  // namespace cinesis::engine
