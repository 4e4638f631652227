// The coordinator: which shards this worker reads, and when.
//
// Each round lists the stream's shards, loads which ones reached SHARD_END, and starts a
// Reader for every unfinished shard whose parents are finished (or expired from the
// stream): parents before children. With a lease store it also keeps this worker's
// heartbeat lease, renews the shard leases it holds, takes free or expired ones up to a
// fair share of the live workers, hands surplus leases over, and says whom it waits for.
// Between rounds it reaps the readers that are done. On Stop() or a fatal error it stops
// every reader, joins them, and removes its heartbeat row.
//
// Threads: Coordinate runs on the caller of Consumer::Run (or on Impl::runner in pull
// mode); it is the only thread that starts, joins or erases readers, and the only writer
// of Impl::readers and Impl::known (both guarded by Impl::mu). It holds mu while it
// joins done readers (a reader takes mu for nothing after setting `done`) and while it
// calls LeaseStore::TryAcquire; it releases mu while the user's ProcessorFactory runs.
#include <algorithm>

#include "consumer/consumer_impl.h"

namespace cinesis {

using namespace std::chrono_literals;

using consumer::Lease;

namespace {

constexpr const char* kWorkerPrefix = "__worker__/";

bool IsWorkerLease(const Lease& l) { return l.shard_id.rfind(kWorkerPrefix, 0) == 0; }

}  // namespace

Status Consumer::Impl::SyncShards() {
  std::map<std::string, api::Shard> shards;
  api::ListShardsInput in;
  in.stream.stream_name = o.stream_name;
  for (;;) {
    auto page = client.ListShards(in);
    if (!page.ok()) return page.status();
    for (auto& s : page->shards) shards[s.shard_id] = std::move(s);
    if (!page->next_token) break;
    in = api::ListShardsInput{};
    in.next_token = page->next_token;
  }
  std::lock_guard lock(mu);
  known = std::move(shards);
  return Status::Ok();
}

Result<std::set<std::string>> Consumer::Impl::Finished() {
  std::set<std::string> out;
  ASSIGN_OR_RETURN(auto all, o.checkpoints->LoadAll(scope));
  for (const auto& [shard, cp] : all) {
    if (cp.sequence_number == consumer::kShardEnd) out.insert(shard);
  }
  return out;
}

void Consumer::Impl::StartReader(std::unique_lock<std::mutex>& lock, const std::string& shard_id,
                                 std::optional<Lease> lease, const ProcessorFactory& factory) {
  // The factory is user code: it runs without the lock (it may call metrics(), say).
  // `readers` and `known` change only on this (the coordinating) thread meanwhile.
  lock.unlock();
  std::unique_ptr<ShardProcessor> processor = factory(shard_id);
  lock.lock();
  auto r = std::make_shared<Reader>(*this, shard_id, std::move(lease), std::move(processor));
  if (auto it = known.find(shard_id); it != known.end()) {
    r->start = HashKey{ParseDecimal128(it->second.hash_key_range.starting_hash_key).value_or(0)};
    r->end = HashKey{ParseDecimal128(it->second.hash_key_range.ending_hash_key).value_or(0)};
  }
  readers[shard_id] = r;
  if (r->lease) ++stats.leases_taken;
  r->thread = std::thread([r] { r->Run(); });
}

void Consumer::Impl::LogLeaseWait(const Lease& held, bool holder_alive, EpochMillis now) {
  const std::string key = held.owner + "/" + std::to_string(held.counter);
  {
    std::lock_guard lock(mu);
    auto [it, inserted] = wait_logged.try_emplace(held.shard_id, key);
    if (!inserted && it->second == key) return;  // said already
    it->second = key;
  }
  const std::string until =
      IsoTime(held.expires_at) + " (in " + std::to_string(held.expires_at - now) + " ms)";
  if (holder_alive) {
    LogConsumer(LogLevel::kInfo, "stream " + o.stream_name + ", " + held.shard_id +
                                     ": held by live worker " + held.owner + " until " + until +
                                     "; this worker (" + o.worker_id + ") leaves it");
  } else {
    LogConsumer(LogLevel::kWarning,
                "stream " + o.stream_name + ", " + held.shard_id + ": waiting for the lease of " +
                    held.owner +
                    ", which has no heartbeat (stopped without releasing it?), until " + until +
                    "; this worker is " + o.worker_id +
                    " (a stable ConsumerOptions::worker_id resumes its own leases at once)");
  }
}

Status Consumer::Impl::Balance(const ProcessorFactory& factory,
                               const std::set<std::string>& finished, std::string* op) {
  const EpochMillis now = clock.NowMillis();
  // Eligible: unfinished shards whose parents are finished (or expired from the stream).
  std::vector<std::string> eligible;
  {
    std::lock_guard lock(mu);
    for (const auto& [id, s] : known) {
      if (finished.count(id)) continue;
      bool parents_done = true;
      for (const auto& p : {s.parent_shard_id, s.adjacent_parent_shard_id}) {
        if (p && known.count(*p) && !finished.count(*p)) parents_done = false;
      }
      if (parents_done) eligible.push_back(id);
    }
  }
  if (!o.leases) {
    std::unique_lock lock(mu);
    for (const auto& id : eligible) {
      if (!readers.count(id)) StartReader(lock, id, std::nullopt, factory);
    }
    return Status::Ok();
  }
  // The first store error of the round is returned; the round goes on where it can.
  Status first_error;
  auto note = [&](const char* what, const Status& st) {
    if (first_error.ok()) {
      first_error = st;
      *op = what;
    }
  };
  // Heartbeat: a worker lease tells the others this worker is alive.
  const EpochMillis ttl = o.lease_ttl.count();
  auto hb = o.leases->TryAcquire(scope, kWorkerPrefix + o.worker_id, o.worker_id, ttl, now);
  if (!hb.ok()) {
    note("LeaseStore.TryAcquire", hb.status());
  } else if (*hb) {
    std::lock_guard lock(mu);
    worker_lease = **hb;
  }
  // Renew the shard leases we hold; a failed renewal means another worker took it.
  std::vector<std::shared_ptr<Reader>> mine;
  {
    std::lock_guard lock(mu);
    for (auto& [id, r] : readers) {
      if (!r->done) mine.push_back(r);
    }
  }
  for (auto& r : mine) {
    if (!r->lease) continue;
    auto ok = o.leases->Renew(scope, *r->lease, ttl, now);
    if (!ok.ok()) {
      note("LeaseStore.Renew", ok.status());
    } else if (*ok) {
      std::lock_guard lock(mu);  // readers and Commit() copy the lease under mu
      r->lease->expires_at = now + ttl;
    } else {
      LogConsumer(LogLevel::kWarning, "stream " + o.stream_name + ", " + r->shard_id +
                                          ": lease lost to another worker");
      r->lost = true;
    }
  }
  auto leases = o.leases->List(scope);
  if (!leases.ok()) {
    note("LeaseStore.List", leases.status());
    return first_error;
  }
  std::set<std::string> workers{o.worker_id};
  std::map<std::string, Lease> by_shard;
  bool stale_workers = false;
  for (const auto& l : *leases) {
    if (IsWorkerLease(l)) {
      if (l.expires_at > now && !l.owner.empty()) {
        workers.insert(l.owner);
      } else {
        stale_workers = true;
      }
    } else {
      by_shard[l.shard_id] = l;
    }
  }
  // Rows of workers that stopped or died: nobody needs them any more.
  if (stale_workers) {
    auto gone = o.leases->DeleteExpired(scope, kWorkerPrefix, now);
    if (!gone.ok()) note("LeaseStore.DeleteExpired", gone.status());
  }
  const std::size_t target = (eligible.size() + workers.size() - 1) / workers.size();
  std::vector<Lease> waits;
  {
    std::unique_lock lock(mu);
    std::size_t owned = 0;
    for (auto& [id, r] : readers) owned += !r->done && !r->handover;
    // Hand leases over when holding more than a fair share (others then take them).
    for (auto& [id, r] : readers) {
      if (owned <= target) break;
      if (!r->done && !r->handover) {
        r->handover = true;
        --owned;
      }
    }
    cv.notify_all();
    for (const auto& id : eligible) {
      if (owned >= target) break;
      if (readers.count(id) && !readers[id]->done) continue;
      auto it = by_shard.find(id);
      if (it != by_shard.end() && !it->second.owner.empty() && it->second.owner != o.worker_id &&
          it->second.expires_at > now) {
        waits.push_back(it->second);  // held by another worker
        continue;
      }
      auto got = o.leases->TryAcquire(scope, id, o.worker_id, ttl, now);
      if (!got.ok()) {
        note("LeaseStore.TryAcquire", got.status());
      } else if (*got) {
        if (readers.count(id)) {
          if (readers[id]->thread.joinable()) readers[id]->thread.join();
          readers.erase(id);
        }
        wait_logged.erase(id);
        StartReader(lock, id, **got, factory);
        ++owned;
      }
    }
  }
  for (const auto& held : waits) LogLeaseWait(held, workers.count(held.owner) > 0, now);
  return first_error;
}

Status Consumer::Impl::RegisterFanOut() {
  if (!o.enhanced_fan_out_consumer) return Status::Ok();
  ASSIGN_OR_RETURN(auto summary, client.DescribeStreamSummary({{o.stream_name, std::nullopt}}));
  const std::string stream_arn = summary.stream_description_summary.stream_arn;
  auto reg = client.RegisterStreamConsumer({stream_arn, *o.enhanced_fan_out_consumer, {}});
  if (!reg.ok() && reg.status().code() != Code::kResourceInUse) return reg.status();
  for (int i = 0; i < 600 && !stopping; ++i) {
    ASSIGN_OR_RETURN(auto c, client.DescribeStreamConsumer(
                                 {stream_arn, *o.enhanced_fan_out_consumer, std::nullopt}));
    if (c.consumer_status == api::ConsumerStatus::kActive) {
      consumer_arn = c.consumer_arn;
      return Status::Ok();
    }
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping.load(); });
  }
  return Status(Code::kDeadlineExceeded,
                "stream consumer " + *o.enhanced_fan_out_consumer + " did not become ACTIVE");
}

Status Consumer::Impl::Round(const ProcessorFactory& factory, std::string* op) {
  *op = "ListShards";
  RETURN_IF_ERROR(SyncShards());
  *op = "CheckpointStore.LoadAll";
  ASSIGN_OR_RETURN(auto finished, Finished());
  return Balance(factory, finished, op);
}

Status Consumer::Impl::Coordinate(const ProcessorFactory& factory) {
  Streak streak;  // consecutive failed rounds (or registration attempts)
  std::chrono::milliseconds backoff{0};
  while (!stopping) {
    Status st = RegisterFanOut();
    if (st.ok() || stopping) break;
    if (Report("RegisterStreamConsumer", "", st, streak)) break;
    backoff = std::min<std::chrono::milliseconds>(std::max(backoff * 2, 100ms), 5000ms);
    std::unique_lock lock(mu);
    cv.wait_for(lock, backoff, [&] { return stopping.load(); });
  }
  if (streak.count > 0 && !stopping) Recovered("RegisterStreamConsumer", "", streak);
  backoff = std::chrono::milliseconds(0);
  while (!stopping) {
    {
      std::lock_guard lock(mu);
      resync = false;
    }
    std::string op;
    Status round = Round(factory, &op);
    if (round.ok()) {
      if (streak.count > 0) Recovered(op, "", streak);
      backoff = std::chrono::milliseconds(0);
    } else {
      if (Report(op, "", round, streak)) break;
      backoff = std::min<std::chrono::milliseconds>(std::max(backoff * 2, 100ms), 5000ms);
    }
    // Reap finished readers.
    {
      std::lock_guard lock(mu);
      for (auto it = readers.begin(); it != readers.end();) {
        if (it->second->done) {
          if (it->second->thread.joinable()) it->second->thread.join();
          it = readers.erase(it);
        } else {
          ++it;
        }
      }
      stats.owned_shards.clear();
      for (const auto& [id, r] : readers) stats.owned_shards.push_back(id);
    }
    auto interval =
        o.leases ? std::min(o.shard_sync_interval, o.lease_ttl / 3) : o.shard_sync_interval;
    if (backoff.count() > 0) interval = std::min(interval, backoff);
    std::unique_lock lock(mu);
    cv.wait_for(lock, interval, [&] { return stopping.load() || resync; });
  }
  // Shutdown (Stop() or a fatal error): readers stop within one GetRecords round trip,
  // checkpoint and release their leases.
  std::map<std::string, std::shared_ptr<Reader>> all;
  {
    std::lock_guard lock(mu);
    all = readers;
    for (auto& [id, r] : all) r->stop = true;
  }
  cv.notify_all();
  queue_space.notify_all();
  for (auto& [id, r] : all) {
    if (r->thread.joinable()) r->thread.join();
  }
  std::optional<Lease> heartbeat;
  {
    std::lock_guard lock(mu);
    heartbeat = worker_lease;
  }
  if (heartbeat && o.leases) {
    // This worker's row goes away with it, so the others stop counting it at once.
    Status st = o.leases->Release(scope, *heartbeat);
    if (st.ok()) {
      auto gone = o.leases->DeleteExpired(scope, kWorkerPrefix + o.worker_id, clock.NowMillis());
      if (!gone.ok()) st = gone.status();
    }
    if (!st.ok()) {
      LogConsumer(LogLevel::kWarning, "stream " + o.stream_name + ": could not remove worker " +
                                          o.worker_id + " from the lease store: " + st.ToString());
    }
  }
  std::lock_guard lock(mu);
  readers.clear();
  return fatal;
}

}  // namespace cinesis
