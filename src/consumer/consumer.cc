#include "cinesis/consumer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "cinesis/aggregation.h"
#include "cinesis/log.h"
#include "common/hash_key.h"
#include "common/random.h"
#include "common/status.h"

namespace cinesis {

using namespace std::chrono_literals;

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

bool IsThrottling(Code code) {
  return code == Code::kProvisionedThroughputExceeded || code == Code::kLimitExceeded ||
         code == Code::kKmsThrottling;
}

// "2026-12-02T03:04:05.678Z"
std::string IsoTime(EpochMillis ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(buf, n) + frac;
}

void LogConsumer(LogLevel level, const std::string& message) { Log(level, "consumer", message); }

// A run of consecutive failures of one activity (the coordinator's round, one reader).
struct Streak {
  EpochMillis since = -1;  // first failure of the run; -1: none
  std::uint64_t count = 0;
};

}  // namespace

struct Reader;

// Hidden: nested in an exported class, it would otherwise be exported with it (the
// pimpl is not API; tests/packaging/check_exports.py).
struct __attribute__((visibility("hidden"))) Consumer::Impl {
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
  Status fatal;  // the first fatal error (guarded by mu)
  std::optional<Lease> worker_lease;
  // Lease waits already logged: shard -> "owner/counter".
  std::map<std::string, std::string> wait_logged;

  // Reports an error (log hook, on_error, metrics); true when it is fatal, in which case
  // the consumer is stopping and Run()/Poll() will return it. Call without holding mu.
  bool Report(const std::string& operation, const std::string& shard_id, const Status& st,
              Streak& streak);
  // A success after failures: ends the run (and logs the recovery).
  void Recovered(const std::string& operation, const std::string& shard_id, Streak& streak);
  void Fail(const Status& st);
  // Calls on_event (if set). Call without holding mu.
  void Emit(ConsumerEvent::Kind kind, const std::string& shard_id);
  std::string consumer_arn;  // enhanced fan-out: the registered stream consumer
  Status RegisterFanOut();

  // Pull style.
  bool pull = false;
  CheckpointPolicy pull_policy;
  // Batches as the readers delivered them (moved in, moved out whole when they fit), the
  // records already taken from the front one, and the records queued (all guarded by mu).
  std::deque<std::vector<ConsumerRecord>> queue;
  std::size_t queue_taken = 0;
  std::size_t queued = 0;
  std::condition_variable queue_space, queue_ready;
  std::map<std::string, ConsumerRecord> polled_last;  // per shard: last record handed out by Poll
  std::thread runner;

  Status Coordinate(const ProcessorFactory& factory);
  // One coordination round; on failure, `op` names what failed.
  Status Round(const ProcessorFactory& factory, std::string* op);
  Status SyncShards();
  Result<std::set<std::string>> Finished();
  Status Balance(const ProcessorFactory& factory, const std::set<std::string>& finished,
                 std::string* op);
  void LogLeaseWait(const Lease& held, bool holder_alive, EpochMillis now);
  // Called with `lock` (on mu) held; releases it while the user's factory runs.
  void StartReader(std::unique_lock<std::mutex>& lock, const std::string& shard_id,
                   std::optional<Lease> lease, const ProcessorFactory& factory);
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
  // Set as the reader thread's last step: the coordinator joins done readers while it
  // holds c.mu, so nothing after it may take c.mu.
  std::atomic<bool> done{false};
  bool shard_ended = false;  // read to SHARD_END (reader thread only)
  HashKey start{0}, end = HashKey::Max();
  std::optional<ConsumerRecord> last_delivered;
  std::optional<consumer::Checkpoint> last_saved;
  std::size_t since_checkpoint = 0;
  EpochMillis last_checkpoint_ms = 0;
  Streak streak;  // consecutive failed calls of this reader

  // Reports a failed call; true when the consumer must stop (fatal).
  bool Failed(const std::string& op, const Status& st) {
    return c.Report(op, shard_id, st, streak);
  }
  void Succeeded(const std::string& op) {
    if (streak.count > 0) c.Recovered(op, shard_id, streak);
  }
  void RecordLag(std::int64_t millis_behind) {
    std::lock_guard lock(c.mu);
    c.stats.millis_behind_latest[shard_id] = millis_behind;
  }

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
  // Takes the records by value: their strings move into the batch.
  void Deliver(std::vector<api::Record> records, const std::optional<consumer::Checkpoint>& resume);
  void EndShard();
  // A checkpoint the policy asked for: a failure is reported (a lost lease is not an
  // error: the processor hears LeaseLost).
  void CheckpointByPolicy() {
    Status st = Checkpoint();
    if (!st.ok() && !lost) (void)Failed("CheckpointStore.Save", st);
  }
  Result<std::string> IteratorFrom(const std::optional<consumer::Checkpoint>& cp);
  bool AlreadyDone(const ConsumerRecord& r,
                   const std::optional<consumer::Checkpoint>& resume) const {
    if (!resume || resume->sequence_number != r.sequence_number) return false;
    return !r.aggregated || r.sub_sequence_number <= resume->sub_sequence_number;
  }
};

bool Consumer::Impl::Report(const std::string& operation, const std::string& shard_id,
                            const Status& st, Streak& streak) {
  const EpochMillis now = clock.NowMillis();
  if (streak.since < 0) streak.since = now;
  ++streak.count;
  bool is_fatal = !st.retriable();
  if (!is_fatal && !IsThrottling(st.code()) && now - streak.since >= o.retry_budget.count())
    is_fatal = true;
  ConsumerError e{st, now, operation, shard_id, is_fatal};
  {
    std::lock_guard lock(mu);
    ++stats.errors;
    stats.last_error = e;
  }
  std::string where = "stream " + o.stream_name + (shard_id.empty() ? "" : ", " + shard_id);
  if (is_fatal) {
    std::string why = st.retriable() ? "still failing after " + std::to_string(now - streak.since) +
                                           " ms (retry_budget " +
                                           std::to_string(o.retry_budget.count()) + " ms)"
                                     : "not retriable";
    LogConsumer(LogLevel::kError,
                where + ": " + operation + " failed: " + st.ToString() + "; " + why + "; stopping");
  } else if (streak.count == 1) {
    LogConsumer(LogLevel::kWarning,
                where + ": " + operation + " failed: " + st.ToString() + "; retrying");
  } else {
    LogConsumer(LogLevel::kDebug, where + ": " + operation + " failed again (" +
                                      std::to_string(streak.count) + "): " + st.ToString());
  }
  if (o.on_error) {
    try {
      o.on_error(e);
    } catch (...) {
      LogConsumer(LogLevel::kError, "on_error threw an exception; ignored");
    }
  }
  if (is_fatal) Fail(st);
  return is_fatal;
}

void Consumer::Impl::Recovered(const std::string& operation, const std::string& shard_id,
                               Streak& streak) {
  LogConsumer(LogLevel::kInfo,
              "stream " + o.stream_name + (shard_id.empty() ? "" : ", " + shard_id) + ": " +
                  operation + " works again after " + std::to_string(streak.count) + " failure(s)");
  streak = Streak{};
}

void Consumer::Impl::Emit(ConsumerEvent::Kind kind, const std::string& shard_id) {
  if (!o.on_event) return;
  try {
    o.on_event(ConsumerEvent{kind, shard_id, clock.NowMillis()});
  } catch (...) {
    LogConsumer(LogLevel::kError, "on_event threw an exception; ignored");
  }
}

void Consumer::Impl::Fail(const Status& st) {
  {
    std::lock_guard lock(mu);
    if (fatal.ok()) fatal = st;
  }
  stopping = true;
  cv.notify_all();
  queue_space.notify_all();
  queue_ready.notify_all();
}

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
  // Where to start: the checkpoint. A store that fails is retried (starting elsewhere
  // would replay or skip records).
  std::optional<consumer::Checkpoint> resume;
  for (std::chrono::milliseconds backoff{100};; backoff = std::min(backoff * 2, 5000ms)) {
    auto resume_r = c.o.checkpoints->Load(c.scope, shard_id);
    if (resume_r.ok()) {
      Succeeded("CheckpointStore.Load");
      resume = *resume_r;
      break;
    }
    if (Failed("CheckpointStore.Load", resume_r.status())) break;
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, backoff,
                  [&] { return stop.load() || handover.load() || c.stopping.load(); });
    if (stop || handover || c.stopping) break;
  }
  if (stop || handover || c.stopping) {
    if (lease && c.o.leases) (void)c.o.leases->Release(c.scope, *lease);
    done = true;
    c.cv.notify_all();
    return;
  }
  if (lease && c.o.leases) c.Emit(ConsumerEvent::Kind::kLeaseTaken, shard_id);
  processor->Initialize(shard_id, resume);
  c.Emit(ConsumerEvent::Kind::kShardStarted, shard_id);
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
    {
      std::lock_guard lock(c.mu);
      ++c.stats.leases_lost;
    }
    c.Emit(ConsumerEvent::Kind::kLeaseLost, shard_id);
  } else if (!shard_ended && (stop || handover || c.stopping)) {
    processor->ShutdownRequested(*this);
    if (c.o.checkpoint_policy.kind != CheckpointPolicy::Kind::kManual) CheckpointByPolicy();
  }
  if (lease && c.o.leases && !lost) {
    // Released, not left to expire: another (or a restarted) worker takes it at once.
    if (Status st = c.o.leases->Release(c.scope, *lease); !st.ok()) {
      LogConsumer(LogLevel::kWarning, "stream " + c.o.stream_name + ", " + shard_id +
                                          ": could not release the lease (" + st.ToString() +
                                          "); it expires at " + IsoTime(lease->expires_at));
    }
  }
  {
    std::lock_guard lock(c.mu);
    c.stats.millis_behind_latest.erase(shard_id);  // no longer read here
  }
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
      if (iter.status().code() == Code::kResourceNotFound) {
        // The shard expired or the stream is gone: the next ListShards tells which.
        LogConsumer(LogLevel::kInfo, "stream " + c.o.stream_name + ", " + shard_id +
                                         ": GetShardIterator: " + iter.status().ToString());
        std::lock_guard lock(c.mu);
        c.resync = true;
        c.cv.notify_all();
        break;
      }
      if (Failed("GetShardIterator", iter.status())) break;
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
      if (code == Code::kResourceNotFound) {
        // As for GetShardIterator: the next ListShards tells whether the stream is gone.
        LogConsumer(LogLevel::kInfo, "stream " + c.o.stream_name + ", " + shard_id +
                                         ": GetRecords: " + got.status().ToString());
        std::lock_guard lock(c.mu);
        c.resync = true;
        c.cv.notify_all();
        break;
      }
      if (code == Code::kExpiredIterator) {
        std::lock_guard lock(c.mu);
        ++c.stats.expired_iterators;
      } else {
        if (IsThrottling(code)) {
          std::lock_guard lock(c.mu);
          ++c.stats.throttled;
        }
        if (Failed("GetRecords", got.status())) break;
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
    Succeeded("GetRecords");
    RecordLag(got->millis_behind_latest);
    const bool got_none = got->records.empty();
    Deliver(std::move(got->records), resume);
    idle = (got_none && got->millis_behind_latest == 0)
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
  while (!stop && !handover && !lost && !c.stopping && !shard_ended) {
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
      RecordLag(ev.millis_behind_latest);
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
      if (st.code() == Code::kResourceNotFound) {
        std::lock_guard lock(c.mu);
        c.resync = true;
        c.cv.notify_all();
        break;
      }
      // ResourceInUse (another subscription in the last 5 s) is expected; throttling and
      // network errors are retried within the budget.
      if (st.code() != Code::kResourceInUse && Failed("SubscribeToShard", st)) break;
      backoff = std::min<std::chrono::milliseconds>(
          std::max(backoff * 2, std::chrono::milliseconds(200)), std::chrono::milliseconds(5000));
      wait(backoff);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    Succeeded("SubscribeToShard");
  }
}

namespace {

// Pull style: a processor that hands records to the Poll() queue.
class QueueProcessor final : public ShardProcessor {
 public:
  explicit QueueProcessor(Consumer::Impl& impl) : c_(impl) {}
  void ProcessRecords(const std::vector<ConsumerRecord>& records, Checkpointer&) override {
    Take(std::vector<ConsumerRecord>(records));
  }
  // The readers' path (see Reader::Deliver): the batch moves in whole, nothing is copied.
  void Take(std::vector<ConsumerRecord>&& records) {
    if (records.empty()) return;
    std::unique_lock lock(c_.mu);
    c_.queue_space.wait(lock, [&] { return c_.queued < 50'000 || c_.stopping.load(); });
    c_.queued += records.size();
    c_.queue.push_back(std::move(records));
    c_.queue_ready.notify_all();
  }

 private:
  Consumer::Impl& c_;
};

}  // namespace

void Reader::Deliver(std::vector<api::Record> records,
                     const std::optional<consumer::Checkpoint>& resume) {
  const auto& policy = c.o.checkpoint_policy;
  std::vector<ConsumerRecord> batch;
  batch.reserve(records.size());
  for (auto& r : records) {
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
      ConsumerRecord p{shard_id,
                       std::move(r.sequence_number),
                       0,
                       false,
                       std::move(r.partition_key),
                       std::nullopt,
                       std::move(r.data),
                       r.approximate_arrival_timestamp};
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
    if (auto* q = dynamic_cast<QueueProcessor*>(processor.get())) {
      q->Take(std::move(batch));
    } else {
      processor->ProcessRecords(batch, *this);
    }
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
    if (due) CheckpointByPolicy();
  }
}

void Reader::EndShard() {
  // End of a closed shard: finish it, so its children may start.
  processor->ShardEnded(*this);
  bool was_lost = false;
  Status st = c.Save(shard_id, lease, {consumer::kShardEnd, 0}, &was_lost);
  if (was_lost) lost = true;
  if (st.ok()) {
    {
      std::lock_guard lock(c.mu);
      ++c.stats.shards_finished;
      c.resync = true;
    }
    c.Emit(ConsumerEvent::Kind::kShardEnded, shard_id);
  } else if (!lost) {
    // Not finished: the shard is read again (from its last checkpoint) next round.
    (void)Failed("CheckpointStore.Save", st);
  }
  shard_ended = true;
}

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

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() {
  Stop();
  if (impl_->runner.joinable()) impl_->runner.join();
}

Result<std::unique_ptr<Consumer>> Consumer::Create(KinesisClient& client, ConsumerOptions options) {
  RETURN_IF_ERROR(Validate(options));
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
        // A fatal error is kept in c.fatal, which Poll() returns.
        (void)c.Coordinate(
            [&c](const std::string&) { return std::make_unique<QueueProcessor>(c); });
      });
    }
  }
  // Records returned by the previous Poll were processed: apply the policy to them.
  if (c.pull_policy.kind != CheckpointPolicy::Kind::kManual) RETURN_IF_ERROR(Commit());
  std::unique_lock lock(c.mu);
  c.queue_ready.wait_for(lock, timeout, [&] { return c.queued > 0 || c.stopping.load(); });
  const auto max = static_cast<std::size_t>(c.o.max_records_per_call);
  std::vector<ConsumerRecord> out;
  while (!c.queue.empty() && out.size() < max) {
    auto& front = c.queue.front();
    if (out.empty() && c.queue_taken == 0 && front.size() <= max) {
      out = std::move(front);  // the common case: a whole batch, moved
    } else {
      if (out.empty()) out.reserve(std::min(max, c.queued));
      const std::size_t n = std::min(max - out.size(), front.size() - c.queue_taken);
      const auto from = front.begin() + static_cast<std::ptrdiff_t>(c.queue_taken);
      out.insert(out.end(), std::make_move_iterator(from),
                 std::make_move_iterator(from + static_cast<std::ptrdiff_t>(n)));
      c.queue_taken += n;
      if (c.queue_taken < front.size()) break;
    }
    c.queue.pop_front();
    c.queue_taken = 0;
  }
  c.queued -= out.size();
  // Commit needs each shard's last record only: one copy per shard, not one per record.
  std::vector<const std::string*> seen;
  for (auto it = out.rbegin(); it != out.rend(); ++it) {
    if (std::any_of(seen.begin(), seen.end(),
                    [&](const std::string* s) { return *s == it->shard_id; }))
      continue;
    seen.push_back(&it->shard_id);
    c.polled_last[it->shard_id] = *it;
  }
  c.queue_space.notify_all();
  if (out.empty() && !c.fatal.ok()) return c.fatal;
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
