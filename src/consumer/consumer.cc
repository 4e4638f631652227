#include "cinesis/consumer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "cinesis/aggregation.h"
#include "common/hash_key.h"
#include "common/random.h"

namespace cinesis {
namespace {

using consumer::Checkpoint;
using consumer::Lease;

constexpr const char* kWorkerPrefix = "__worker__/";

std::string DefaultWorkerId() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + RandomUuid().substr(0, 8);
}

bool IsWorkerLease(const Lease& l) { return l.shard_id.rfind(kWorkerPrefix, 0) == 0; }

}  // namespace

struct Reader;

struct Consumer::Impl {
  Impl(KinesisClient& c, ConsumerOptions opts)
      : client(c),
        o(std::move(opts)),
        clock(o.clock ? *o.clock : SystemClock::Instance()),
        scope{o.application, o.stream_name} {}

  KinesisClient& client;
  ConsumerOptions o;
  const Clock& clock;
  consumer::Scope scope;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> stopping{false};
  bool resync = true;
  std::map<std::string, std::shared_ptr<Reader>> readers;
  std::map<std::string, api::Shard> known;
  ConsumerMetrics stats;
  Status fatal;
  std::optional<Lease> worker_lease;
  std::string consumer_arn;  // enhanced fan-out: the registered stream consumer
  Status RegisterFanOut();

  // Pull style.
  bool pull = false;
  CheckpointPolicy pull_policy;
  std::deque<ConsumerRecord> queue;
  std::condition_variable queue_space, queue_ready;
  std::map<std::string, ConsumerRecord> polled_last;  // per shard: last record handed out by Poll
  std::thread runner;

  Status Coordinate(const ProcessorFactory& factory);
  void SyncShards();
  std::set<std::string> Finished();
  void Balance(const ProcessorFactory& factory, const std::set<std::string>& finished);
  void StartReader(const std::string& shard_id, std::optional<Lease> lease,
                   const ProcessorFactory& factory);
  Status Save(const std::string& shard_id, const std::optional<Lease>& lease, const Checkpoint& cp,
              bool* lost);
};

// One shard being read, on its own thread.
struct Reader : Checkpointer {
  Reader(Consumer::Impl& impl, std::string shard, std::optional<Lease> l,
         std::unique_ptr<ShardProcessor> p)
      : c(impl), shard_id(std::move(shard)), lease(std::move(l)), processor(std::move(p)) {}

  Consumer::Impl& c;
  std::string shard_id;
  std::optional<Lease> lease;
  std::unique_ptr<ShardProcessor> processor;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<bool> handover{false};  // give the lease up (rebalancing)
  std::atomic<bool> lost{false};
  std::atomic<bool> done{false};
  HashKey start{0}, end = HashKey::Max();
  std::optional<ConsumerRecord> last_delivered;
  std::optional<consumer::Checkpoint> last_saved;
  std::size_t since_checkpoint = 0;
  EpochMillis last_checkpoint_ms = 0;

  Status Checkpoint() override {
    if (!last_delivered) return Status::Ok();
    return Checkpoint(*last_delivered);
  }
  Status Checkpoint(const ConsumerRecord& r) override {
    consumer::Checkpoint cp{r.sequence_number, r.sub_sequence_number};
    if (last_saved && *last_saved == cp) return Status::Ok();
    bool was_lost = false;
    Status st = c.Save(shard_id, lease, cp, &was_lost);
    if (was_lost) lost = true;
    if (st.ok()) {
      last_saved = cp;
      since_checkpoint = 0;
      last_checkpoint_ms = c.clock.NowMillis();
    }
    return st;
  }

  void Run();
  void RunPolling(std::optional<consumer::Checkpoint> resume);
  void RunFanOut(std::optional<consumer::Checkpoint> resume);
  // Deaggregates, skips what `resume` covers, hands the batch over, applies the policy.
  void Deliver(const std::vector<api::Record>& records,
               const std::optional<consumer::Checkpoint>& resume);
  void EndShard();
  Result<std::string> IteratorFrom(const std::optional<consumer::Checkpoint>& cp);
  bool AlreadyDone(const ConsumerRecord& r,
                   const std::optional<consumer::Checkpoint>& resume) const {
    if (!resume || resume->sequence_number != r.sequence_number) return false;
    return !r.aggregated || r.sub_sequence_number <= resume->sub_sequence_number;
  }
};

Status Consumer::Impl::Save(const std::string& shard_id, const std::optional<Lease>& lease,
                            const Checkpoint& cp, bool* lost) {
  if (lease && o.leases) {
    ASSIGN_OR_RETURN(bool ok, o.checkpoints->SaveIfOwner(scope, *lease, cp, clock.NowMillis()));
    if (!ok) {
      *lost = true;
      return Status(Code::kResourceInUse, "lease of " + shard_id + " was lost; checkpoint refused");
    }
  } else {
    RETURN_IF_ERROR(o.checkpoints->Save(scope, shard_id, cp));
  }
  std::lock_guard lock(mu);
  ++stats.checkpoints;
  return Status::Ok();
}

Result<std::string> Reader::IteratorFrom(const std::optional<consumer::Checkpoint>& cp) {
  api::GetShardIteratorInput in;
  in.stream.stream_name = c.o.stream_name;
  in.shard_id = shard_id;
  const auto& seq = cp ? cp->sequence_number : std::string();
  if (cp && seq != "TRIM_HORIZON" && seq != "LATEST") {
    // AT, then skip what the checkpoint covers: works for plain records and for a
    // position inside a KPL aggregate alike.
    in.shard_iterator_type = api::ShardIteratorType::kAtSequenceNumber;
    in.starting_sequence_number = seq;
  } else if (seq == "LATEST" || (!cp && c.o.initial_position == InitialPosition::kLatest)) {
    in.shard_iterator_type = api::ShardIteratorType::kLatest;
  } else if (!cp && c.o.initial_position == InitialPosition::kAtTimestamp &&
             c.o.initial_timestamp) {
    in.shard_iterator_type = api::ShardIteratorType::kAtTimestamp;
    in.timestamp = c.o.initial_timestamp;
  } else {
    in.shard_iterator_type = api::ShardIteratorType::kTrimHorizon;
  }
  ASSIGN_OR_RETURN(auto out, c.client.GetShardIterator(in));
  return out.shard_iterator;
}

void Reader::Run() {
  auto resume_r = c.o.checkpoints->Load(c.scope, shard_id);
  std::optional<consumer::Checkpoint> resume = resume_r.ok() ? *resume_r : std::nullopt;
  processor->Initialize(shard_id, resume);
  if (resume && resume->sequence_number == consumer::kShardEnd) {
    done = true;
    return;
  }
  if (c.consumer_arn.empty()) {
    RunPolling(resume);
  } else {
    RunFanOut(resume);
  }
  if (lost) {
    processor->LeaseLost();
    std::lock_guard lock(c.mu);
    ++c.stats.leases_lost;
  } else if (!done && (stop || handover || c.stopping)) {
    processor->ShutdownRequested(*this);
    if (c.o.checkpoint_policy.kind != CheckpointPolicy::Kind::kManual) (void)Checkpoint();
  }
  if (lease && c.o.leases && !lost) (void)c.o.leases->Release(c.scope, *lease);
  done = true;
  c.cv.notify_all();
}

void Reader::RunPolling(std::optional<consumer::Checkpoint> resume) {
  auto iter = IteratorFrom(resume);
  const auto min_gap = std::chrono::milliseconds(
      static_cast<std::int64_t>(1000.0 / std::max(0.001, c.o.max_get_records_per_second)));
  auto last_call = std::chrono::steady_clock::now() - min_gap;
  std::chrono::milliseconds idle{0}, backoff{0};
  auto wait = [&](std::chrono::milliseconds d) {
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, d, [&] { return stop.load() || handover.load() || c.stopping.load(); });
  };
  while (!stop && !handover && !lost && !c.stopping) {
    if (!iter.ok()) {
      if (iter.status().code() == Code::kResourceNotFound)
        break;  // the shard expired or the stream is gone
      backoff = std::min<std::chrono::milliseconds>(
          std::max(backoff * 2, std::chrono::milliseconds(100)), std::chrono::milliseconds(5000));
      wait(backoff);
      iter = IteratorFrom(last_delivered ? std::optional<consumer::Checkpoint>(consumer::Checkpoint{
                                               last_delivered->sequence_number,
                                               last_delivered->sub_sequence_number})
                                         : resume);
      continue;
    }
    // Stay under the per-shard GetRecords rate, and back off while idle.
    const auto since = std::chrono::steady_clock::now() - last_call;
    const auto gap = std::max<std::chrono::milliseconds>(min_gap, idle);
    if (since < gap) wait(std::chrono::duration_cast<std::chrono::milliseconds>(gap - since));
    if (stop || handover || c.stopping) break;
    last_call = std::chrono::steady_clock::now();
    auto got = c.client.GetRecords({*iter, c.o.max_records_per_call, std::nullopt});
    {
      std::lock_guard lock(c.mu);
      ++c.stats.get_records_calls;
    }
    if (!got.ok()) {
      const Code code = got.status().code();
      if (code == Code::kExpiredIterator) {
        std::lock_guard lock(c.mu);
        ++c.stats.expired_iterators;
      } else if (code == Code::kProvisionedThroughputExceeded || code == Code::kLimitExceeded) {
        std::lock_guard lock(c.mu);
        ++c.stats.throttled;
      }
      if (code != Code::kExpiredIterator) {
        backoff = std::min<std::chrono::milliseconds>(
            std::max(backoff * 2, std::chrono::milliseconds(100)), std::chrono::milliseconds(5000));
        wait(backoff);
      }
      // Renew the iterator from the last record delivered (or where we started).
      std::optional<consumer::Checkpoint> from = resume;
      if (last_delivered)
        from = consumer::Checkpoint{last_delivered->sequence_number,
                                    last_delivered->sub_sequence_number};
      if (last_delivered) resume = from;
      iter = IteratorFrom(from);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    Deliver(got->records, resume);
    idle = (got->records.empty() && got->millis_behind_latest == 0)
               ? std::min<std::chrono::milliseconds>(
                     std::max(idle * 2, std::chrono::milliseconds(200)), c.o.idle_backoff)
               : std::chrono::milliseconds(0);
    if (!got->next_shard_iterator) {
      EndShard();
      break;
    }
    iter = *got->next_shard_iterator;
  }
}

// Enhanced fan-out: records pushed over SubscribeToShard; resubscribes from the last
// record (or continuation) when a subscription ends, until the end of the shard.
void Reader::RunFanOut(std::optional<consumer::Checkpoint> resume) {
  std::optional<std::string> continuation;
  std::chrono::milliseconds backoff{0};
  auto wait = [&](std::chrono::milliseconds d) {
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, d, [&] { return stop.load() || handover.load() || c.stopping.load(); });
  };
  while (!stop && !handover && !lost && !c.stopping && !done) {
    api::SubscribeToShardInput in;
    in.consumer_arn = c.consumer_arn;
    in.shard_id = shard_id;
    auto& sp = in.starting_position;
    if (last_delivered) {
      // AT the last record, skipping what was delivered (also inside an aggregate).
      sp.type = api::ShardIteratorType::kAtSequenceNumber;
      sp.sequence_number = last_delivered->sequence_number;
      resume = consumer::Checkpoint{last_delivered->sequence_number,
                                    last_delivered->sub_sequence_number};
    } else if (continuation) {
      sp.type = api::ShardIteratorType::kAfterSequenceNumber;
      sp.sequence_number = continuation;
    } else if (resume && resume->sequence_number != "TRIM_HORIZON" &&
               resume->sequence_number != "LATEST") {
      sp.type = api::ShardIteratorType::kAtSequenceNumber;
      sp.sequence_number = resume->sequence_number;
    } else if (c.o.initial_position == InitialPosition::kLatest) {
      sp.type = api::ShardIteratorType::kLatest;
    } else if (c.o.initial_position == InitialPosition::kAtTimestamp && c.o.initial_timestamp) {
      sp.type = api::ShardIteratorType::kAtTimestamp;
      sp.timestamp = c.o.initial_timestamp;
    } else {
      sp.type = api::ShardIteratorType::kTrimHorizon;
    }
    bool ended = false;
    Status st = c.client.SubscribeToShard(in, [&](const api::SubscribeToShardEvent& ev) {
      Deliver(ev.records, resume);
      if (ev.continuation_sequence_number) continuation = ev.continuation_sequence_number;
      if (ev.child_shards) ended = true;
      return !(stop || handover || lost || c.stopping || ended);
    });
    if (ended) {
      EndShard();
      break;
    }
    if (!st.ok()) {
      if (st.code() == Code::kResourceNotFound) break;
      // ResourceInUse (another subscription in the last 5 s), throttling, network: retry.
      backoff = std::min<std::chrono::milliseconds>(
          std::max(backoff * 2, std::chrono::milliseconds(200)), std::chrono::milliseconds(5000));
      wait(backoff);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
  }
}

void Reader::Deliver(const std::vector<api::Record>& records,
                     const std::optional<consumer::Checkpoint>& resume) {
  const auto& policy = c.o.checkpoint_policy;
  std::vector<ConsumerRecord> batch;
  for (const auto& r : records) {
    std::optional<std::vector<aggregation::UserRecord>> users;
    if (c.o.deaggregate) users = aggregation::Decode(r.data);
    if (users) {
      std::vector<ConsumerRecord> parts;
      bool outside = false;
      for (std::size_t k = 0; k < users->size(); ++k) {
        auto& u = (*users)[k];
        HashKey h = u.explicit_hash_key ? HashKey{ParseDecimal128(*u.explicit_hash_key).value_or(0)}
                                        : Md5HashKey(u.partition_key);
        // As the KCL does: an aggregate holding a record outside this shard's range
        // (written before a reshard) is dropped from that record on.
        if (h < start || end < h) {
          outside = true;
          break;
        }
        parts.push_back({shard_id, r.sequence_number, k, true, std::move(u.partition_key),
                         std::move(u.explicit_hash_key), std::move(u.data),
                         r.approximate_arrival_timestamp});
      }
      if (outside) parts.clear();
      for (auto& p : parts) {
        if (!AlreadyDone(p, resume)) batch.push_back(std::move(p));
      }
    } else {
      ConsumerRecord p{shard_id,        r.sequence_number, 0,      false,
                       r.partition_key, std::nullopt,      r.data, r.approximate_arrival_timestamp};
      if (!AlreadyDone(p, resume)) batch.push_back(std::move(p));
    }
  }
  if (!batch.empty()) {
    last_delivered = batch.back();
    since_checkpoint += batch.size();
    {
      std::lock_guard lock(c.mu);
      c.stats.records += batch.size();
    }
    processor->ProcessRecords(batch, *this);
    const EpochMillis now = c.clock.NowMillis();
    bool due = false;
    switch (policy.kind) {
      case CheckpointPolicy::Kind::kManual:
        break;
      case CheckpointPolicy::Kind::kAfterEachBatch:
        due = true;
        break;
      case CheckpointPolicy::Kind::kEveryNRecords:
        due = since_checkpoint >= policy.every_records;
        break;
      case CheckpointPolicy::Kind::kEveryInterval:
        due = now - last_checkpoint_ms >= policy.every_interval.count();
        break;
    }
    if (due) (void)Checkpoint();
  }
}

void Reader::EndShard() {
  // End of a closed shard: finish it, so its children may start.
  processor->ShardEnded(*this);
  bool was_lost = false;
  Status st = c.Save(shard_id, lease, {consumer::kShardEnd, 0}, &was_lost);
  if (was_lost) lost = true;
  if (st.ok()) {
    std::lock_guard lock(c.mu);
    ++c.stats.shards_finished;
    c.resync = true;
  }
  done = true;
}

void Consumer::Impl::SyncShards() {
  std::map<std::string, api::Shard> shards;
  api::ListShardsInput in;
  in.stream.stream_name = o.stream_name;
  for (;;) {
    auto page = client.ListShards(in);
    if (!page.ok()) return;
    for (auto& s : page->shards) shards[s.shard_id] = std::move(s);
    if (!page->next_token) break;
    in = api::ListShardsInput{};
    in.next_token = page->next_token;
  }
  std::lock_guard lock(mu);
  known = std::move(shards);
}

std::set<std::string> Consumer::Impl::Finished() {
  std::set<std::string> out;
  auto all = o.checkpoints->LoadAll(scope);
  if (!all.ok()) return out;
  for (const auto& [shard, cp] : *all) {
    if (cp.sequence_number == consumer::kShardEnd) out.insert(shard);
  }
  return out;
}

void Consumer::Impl::StartReader(const std::string& shard_id, std::optional<Lease> lease,
                                 const ProcessorFactory& factory) {
  auto r = std::make_shared<Reader>(*this, shard_id, std::move(lease), factory(shard_id));
  if (auto it = known.find(shard_id); it != known.end()) {
    r->start = HashKey{ParseDecimal128(it->second.hash_key_range.starting_hash_key).value_or(0)};
    r->end = HashKey{ParseDecimal128(it->second.hash_key_range.ending_hash_key).value_or(0)};
  }
  readers[shard_id] = r;
  if (r->lease) ++stats.leases_taken;
  r->thread = std::thread([r] { r->Run(); });
}

void Consumer::Impl::Balance(const ProcessorFactory& factory,
                             const std::set<std::string>& finished) {
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
    std::lock_guard lock(mu);
    for (const auto& id : eligible) {
      if (!readers.count(id)) StartReader(id, std::nullopt, factory);
    }
    return;
  }
  // Heartbeat: a worker lease tells the others this worker is alive.
  const EpochMillis ttl = o.lease_ttl.count();
  auto hb = o.leases->TryAcquire(scope, kWorkerPrefix + o.worker_id, o.worker_id, ttl, now);
  if (hb.ok() && *hb) worker_lease = **hb;
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
    if (ok.ok() && *ok) {
      r->lease->expires_at = now + ttl;
    } else if (ok.ok()) {
      r->lost = true;
    }
  }
  auto leases = o.leases->List(scope);
  if (!leases.ok()) return;
  std::set<std::string> workers{o.worker_id};
  std::map<std::string, Lease> by_shard;
  for (const auto& l : *leases) {
    if (IsWorkerLease(l)) {
      if (l.expires_at > now && !l.owner.empty()) workers.insert(l.owner);
    } else {
      by_shard[l.shard_id] = l;
    }
  }
  const std::size_t target = (eligible.size() + workers.size() - 1) / workers.size();
  std::lock_guard lock(mu);
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
      continue;  // held by a live worker
    }
    auto got = o.leases->TryAcquire(scope, id, o.worker_id, ttl, now);
    if (got.ok() && *got) {
      if (readers.count(id)) {
        if (readers[id]->thread.joinable()) readers[id]->thread.join();
        readers.erase(id);
      }
      StartReader(id, **got, factory);
      ++owned;
    }
  }
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
  return Status(Code::kResourceInUse,
                "stream consumer " + *o.enhanced_fan_out_consumer + " did not become ACTIVE");
}

Status Consumer::Impl::Coordinate(const ProcessorFactory& factory) {
  if (Status st = RegisterFanOut(); !st.ok()) return st;
  while (!stopping) {
    bool do_sync;
    {
      std::lock_guard lock(mu);
      do_sync = resync;
      resync = false;
    }
    (void)do_sync;
    SyncShards();
    auto finished = Finished();
    Balance(factory, finished);
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
    const auto interval =
        o.leases ? std::min(o.shard_sync_interval, o.lease_ttl / 3) : o.shard_sync_interval;
    std::unique_lock lock(mu);
    cv.wait_for(lock, interval, [&] { return stopping.load() || resync; });
  }
  // Shutdown: readers stop within one GetRecords round trip and checkpoint.
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
  if (worker_lease && o.leases) (void)o.leases->Release(scope, *worker_lease);
  std::lock_guard lock(mu);
  readers.clear();
  return fatal;
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() {
  Stop();
  if (impl_->runner.joinable()) impl_->runner.join();
}

Result<std::unique_ptr<Consumer>> Consumer::Create(KinesisClient& client, ConsumerOptions options) {
  if (options.application.empty())
    return Status(Code::kInvalidArgument, "ConsumerOptions.application is required");
  if (options.stream_name.empty())
    return Status(Code::kInvalidArgument, "ConsumerOptions.stream_name is required");
  if (options.initial_position == InitialPosition::kAtTimestamp && !options.initial_timestamp) {
    return Status(Code::kInvalidArgument,
                  "ConsumerOptions.initial_timestamp is required for kAtTimestamp");
  }
  if (options.worker_id.empty()) options.worker_id = DefaultWorkerId();
  if (!options.checkpoints) options.checkpoints = consumer::NewMemoryCheckpointStore();
  return std::unique_ptr<Consumer>(
      new Consumer(std::make_unique<Impl>(client, std::move(options))));
}

Status Consumer::Run(ProcessorFactory factory) { return impl_->Coordinate(factory); }

void Consumer::Stop() {
  impl_->stopping = true;
  impl_->cv.notify_all();
  impl_->queue_space.notify_all();
  impl_->queue_ready.notify_all();
}

namespace {

// Pull style: a processor that hands records to the Poll() queue.
class QueueProcessor final : public ShardProcessor {
 public:
  explicit QueueProcessor(Consumer::Impl& impl) : c_(impl) {}
  void ProcessRecords(const std::vector<ConsumerRecord>& records, Checkpointer&) override {
    std::unique_lock lock(c_.mu);
    c_.queue_space.wait(lock, [&] { return c_.queue.size() < 50'000 || c_.stopping.load(); });
    for (const auto& r : records) c_.queue.push_back(r);
    c_.queue_ready.notify_all();
  }

 private:
  Consumer::Impl& c_;
};

}  // namespace

Result<std::vector<ConsumerRecord>> Consumer::Poll(std::chrono::milliseconds timeout) {
  auto& c = *impl_;
  {
    std::lock_guard lock(c.mu);
    if (!c.pull) {
      c.pull = true;
      // Pull mode checkpoints through Commit() only: readers must not checkpoint records
      // that Poll has not returned yet.
      c.pull_policy = c.o.checkpoint_policy;
      c.o.checkpoint_policy = CheckpointPolicy::Manual();
      c.runner = std::thread([&c] {
        (void)c.Coordinate(
            [&c](const std::string&) { return std::make_unique<QueueProcessor>(c); });
      });
    }
  }
  // Records returned by the previous Poll were processed: apply the policy to them.
  if (c.pull_policy.kind != CheckpointPolicy::Kind::kManual) RETURN_IF_ERROR(Commit());
  std::unique_lock lock(c.mu);
  c.queue_ready.wait_for(lock, timeout, [&] { return !c.queue.empty() || c.stopping.load(); });
  std::vector<ConsumerRecord> out;
  while (!c.queue.empty() && out.size() < static_cast<std::size_t>(c.o.max_records_per_call)) {
    out.push_back(std::move(c.queue.front()));
    c.queue.pop_front();
  }
  for (const auto& r : out) c.polled_last[r.shard_id] = r;
  c.queue_space.notify_all();
  return out;
}

Status Consumer::Commit() {
  auto& c = *impl_;
  std::map<std::string, ConsumerRecord> last;
  std::map<std::string, std::optional<Lease>> leases;
  {
    std::lock_guard lock(c.mu);
    last.swap(c.polled_last);
    for (const auto& [shard, r] : last) {
      auto it = c.readers.find(shard);
      leases[shard] = it != c.readers.end() ? it->second->lease : std::nullopt;
    }
  }
  for (const auto& [shard, r] : last) {
    bool lost = false;
    RETURN_IF_ERROR(
        c.Save(shard, leases[shard], {r.sequence_number, r.sub_sequence_number}, &lost));
  }
  return Status::Ok();
}

ConsumerMetrics Consumer::metrics() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

const std::string& Consumer::worker_id() const { return impl_->o.worker_id; }

}  // namespace cinesis
