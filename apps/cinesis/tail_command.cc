// `cinesis tail`: prints the records of a stream's shards as they arrive, from latest,
// trim-horizon, a sequence number or a time; optionally one shard; with --app, checkpoints
// in a store so that the next `tail --app` resumes where this one stopped.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "api/json_writer.h"
#include "cinesis/stores.h"
#include "cli_util.h"
#include "client_commands.h"
#include "common/status.h"

namespace cinesis::app {
namespace {

constexpr auto kDiscoverEvery = std::chrono::seconds(10);
constexpr auto kIdlePoll = std::chrono::milliseconds(200);

std::string DefaultStorePath() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path dir = xdg != nullptr && *xdg != '\0' ? std::filesystem::path(xdg)
                              : home != nullptr ? std::filesystem::path(home) / ".local/share"
                                                : std::filesystem::path(".");
  return (dir / "cinesis-cli" / "checkpoints.sqlite").string();
}

Result<std::shared_ptr<consumer::Store>> OpenStore(std::string spec) {
  if (spec.empty()) spec = "sqlite:" + DefaultStorePath();
  if (spec.rfind("sqlite:", 0) != 0) {
    return Status(
        Code::kInvalidArgument,
        "--store " + spec + ": expected sqlite:PATH (the CLI keeps checkpoints in SQLite)");
  }
  const std::filesystem::path path = spec.substr(7);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return Status(Code::kIoError,
                    "cannot create " + path.parent_path().string() + ": " + ec.message());
    }
  }
  return consumer::OpenSqliteStore(path.string());
}

void WriteJson(const std::string& shard_id, const api::Record& r, std::string& out) {
  api::JsonWriter w(out);
  w.BeginObject();
  w.Key("ShardId");
  w.String(shard_id);
  w.Key("SequenceNumber");
  w.String(r.sequence_number);
  w.Key("PartitionKey");
  w.String(r.partition_key);
  w.Key("ApproximateArrivalTimestamp");
  w.Timestamp(r.approximate_arrival_timestamp);
  w.Key("Data");
  w.Base64(r.data);
  w.EndObject();
  out += '\n';
}

}  // namespace

int ClientCommands::Tail(KinesisClient& client) {
  InstallInterruptHandler();
  auto from = ParseStartFrom(from_);
  if (!from.ok()) return Fail(from.status(), kExitUsage);
  auto output = OutputTemplate::Parse(format_.empty() ? "%d\\n" : format_);
  if (!output.ok()) return Fail(output.status(), kExitUsage);
  std::set<std::string> only;  // --shard
  for (const auto& s : shard_filter_) only.insert(NormalizeShardId(s));

  std::shared_ptr<consumer::Store> store;
  const consumer::Scope scope{app_name_, stream_};
  std::map<std::string, consumer::Checkpoint> checkpoints;
  if (!app_name_.empty()) {
    auto opened = OpenStore(store_);
    if (!opened.ok()) {
      return Fail(opened.status(),
                  opened.status().code() == Code::kInvalidArgument ? kExitUsage : kExitInternal);
    }
    store = std::move(opened).value();
    auto loaded = store->LoadAll(scope);
    if (!loaded.ok()) return Fail(loaded.status(), kExitInternal);
    checkpoints = std::move(loaded).value();
  } else if (!store_.empty()) {
    return Fail(Status(Code::kInvalidArgument, "--store needs --app"), kExitUsage);
  }

  struct Reader {
    std::string iterator;
    bool caught_up = false;
  };
  std::map<std::string, Reader> readers;  // shards being read
  std::set<std::string> finished;         // read to their end
  bool started = false;
  auto iterator_for = [&](const api::Shard& s) -> Result<std::optional<std::string>> {
    api::GetShardIteratorInput in{
        {stream_, std::nullopt}, s.shard_id, from->type, std::nullopt, std::nullopt};
    auto cp = checkpoints.find(s.shard_id);
    const bool checkpointed = cp != checkpoints.end();
    if (checkpointed) {
      const std::string& seq = cp->second.sequence_number;
      if (seq == consumer::kShardEnd) return std::optional<std::string>();
      if (seq == "TRIM_HORIZON") {
        in.shard_iterator_type = api::ShardIteratorType::kTrimHorizon;
      } else {
        in.shard_iterator_type = api::ShardIteratorType::kAfterSequenceNumber;
        in.starting_sequence_number = seq;
      }
    } else if (started || (store && s.parent_shard_id && checkpoints.count(*s.parent_shard_id))) {
      // Shards found after the start, and children of checkpointed shards: from their start.
      in.shard_iterator_type = api::ShardIteratorType::kTrimHorizon;
    } else if (from->type == api::ShardIteratorType::kAtSequenceNumber) {
      in.starting_sequence_number = from->sequence_number;
    } else if (from->type == api::ShardIteratorType::kAtTimestamp) {
      in.timestamp = from->timestamp;
    }
    auto it = client.GetShardIterator(in);
    if (!it.ok()) return it.status();
    if (store && !checkpointed && in.shard_iterator_type == api::ShardIteratorType::kTrimHorizon) {
      // Remembered, so that a run that stops before this shard printed anything does not
      // make the next run (without --from) skip its records.
      const consumer::Checkpoint start{"TRIM_HORIZON", 0};
      RETURN_IF_ERROR(store->Save(scope, s.shard_id, start));
      checkpoints[s.shard_id] = start;
    }
    return std::optional<std::string>(it->shard_iterator);
  };
  auto discover = [&]() -> Status {
    auto shards = AllShards(client, stream_);
    if (!shards.ok()) return shards.status();
    if (!started && from->type == api::ShardIteratorType::kAtSequenceNumber && only.empty()) {
      // A sequence number belongs to one shard: read that one (the others refuse it), and
      // the shards this --app already has checkpoints for.
      for (const auto& s : *shards) {
        auto it = iterator_for(s);
        if (checkpoints.count(s.shard_id) && !it.ok()) return it.status();
        if (!it.ok()) continue;
        only.insert(s.shard_id);
        if (*it) {
          readers[s.shard_id] = Reader{**it, false};
        } else {
          finished.insert(s.shard_id);
        }
      }
      if (!only.empty()) return Status::Ok();
      return Status(Code::kInvalidArgument, "sequence number " + from->sequence_number +
                                                " belongs to no shard of stream " + stream_);
    }
    std::set<std::string> seen;
    for (const auto& s : *shards) {
      seen.insert(s.shard_id);
      if (!only.empty() && !only.count(s.shard_id)) continue;
      if (readers.count(s.shard_id) || finished.count(s.shard_id)) continue;
      auto it = iterator_for(s);
      if (!it.ok()) return it.status();
      if (!*it) {
        finished.insert(s.shard_id);
        continue;
      }
      readers[s.shard_id] = Reader{**it, false};
    }
    for (const auto& id : only) {
      if (!seen.count(id))
        return Status(Code::kResourceNotFound,
                      "Shard " + id + " not found in stream " + stream_ + ".");
    }
    return Status::Ok();
  };
  if (auto st = discover(); !st.ok()) return Fail(st);
  started = true;

  std::uint64_t printed = 0;
  std::string out;
  // Writes what was rendered, then records how far this shard is printed.
  auto commit = [&](const std::string& shard_id, const std::string& sequence) -> Status {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    out.clear();
    if (!store || sequence.empty()) return Status::Ok();
    return store->Save(scope, shard_id, {sequence, 0});
  };
  auto last_discovery = std::chrono::steady_clock::now();
  while (!Interrupted()) {
    bool got_any = false;
    for (auto it = readers.begin(); it != readers.end() && !Interrupted();) {
      auto got = client.GetRecords({it->second.iterator, 10'000, std::nullopt});
      if (!got.ok()) return Fail(got.status());
      std::string last;
      for (const auto& r : got->records) {
        if (json_) {
          WriteJson(it->first, r, out);
        } else {
          output->Render(it->first, r, out);
        }
        last = r.sequence_number;
        got_any = true;
        if (++printed == limit_) {
          if (auto st = commit(it->first, last); !st.ok()) return Fail(st, kExitInternal);
          return kExitOk;
        }
      }
      if (auto st = commit(it->first, last); !st.ok()) return Fail(st, kExitInternal);
      if (!got->next_shard_iterator) {  // a closed shard read to its end
        if (auto st = commit(it->first, consumer::kShardEnd); !st.ok())
          return Fail(st, kExitInternal);
        finished.insert(it->first);
        it = readers.erase(it);
        last_discovery = {};  // its children may be new
        continue;
      }
      it->second.iterator = *got->next_shard_iterator;
      it->second.caught_up = got->records.empty() && got->millis_behind_latest == 0;
      ++it;
    }
    bool all_caught_up = true;
    for (const auto& [_, r] : readers) all_caught_up = all_caught_up && r.caught_up;
    if (no_follow_ && all_caught_up) break;
    if (!only.empty() && readers.empty()) break;  // the chosen shards are closed and read
    const auto now = std::chrono::steady_clock::now();
    if (only.empty() && now - last_discovery > kDiscoverEvery) {
      if (auto st = discover(); !st.ok()) return Fail(st);
      last_discovery = now;
    }
    if (!got_any) std::this_thread::sleep_for(kIdlePoll);
  }
  return kExitOk;
}

}  // namespace cinesis::app
