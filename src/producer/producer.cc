#include "cinesis/producer.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "cinesis/aggregation.h"
#include "cinesis/log.h"
#include "common/hash_key.h"
#include "common/status.h"

namespace cinesis {
namespace {

struct Record {
  std::string partition_key;
  std::optional<std::string> explicit_hash_key;
  std::string data;
  HashKey hash;
  std::size_t bytes = 0;  // data + partition key, as Kinesis counts
  EpochMillis deadline = 0;
  EpochMillis not_before = 0;
  std::vector<Attempt> attempts;
  // Only for the future form of Put: a promise allocates its shared state when constructed,
  // and one destroyed without a value stores a broken_promise exception.
  std::optional<std::promise<PutResult>> promise;
  Producer::Callback callback;
  std::shared_ptr<const Producer::BatchCallback> batch;  // PutMany: called with batch_index
  std::size_t batch_index = 0;
  bool lean = false;  // a success is reported without its details (PutMany)

  // Back to a blank record for reuse by a later Put: nothing of this record's result or
  // completion target may leak into the next one. Buffers keep their capacity (up to
  // kKeepBytes of data), which PutMany's copies then reuse.
  void Reset() {
    static constexpr std::size_t kKeepBytes = 64 << 10;
    partition_key.clear();
    explicit_hash_key.reset();
    if (data.capacity() > kKeepBytes) {
      std::string().swap(data);
    } else {
      data.clear();
    }
    hash = {};
    bytes = 0;
    deadline = 0;
    not_before = 0;
    attempts.clear();
    promise.reset();
    callback = nullptr;
    batch.reset();
    batch_index = 0;
    lean = false;
  }
};
using RecordPtr = std::unique_ptr<Record>;

struct TokenBucket {
  double tokens = 0, capacity = 0, rate = 0;
  EpochMillis last = 0;
  void Refill(EpochMillis now) {
    if (now > last)
      tokens = std::min(capacity, tokens + rate * static_cast<double>(now - last) / 1000.0);
    last = now;
  }
};

struct ShardQueue {
  std::string shard_id;  // empty: the shard map is unknown
  HashKey start, end;
  std::deque<RecordPtr> queue;
  std::size_t queued_bytes = 0;
  EpochMillis oldest = 0;  // enqueue time of the oldest queued record (for linger)
  bool in_flight = false;
  TokenBucket records, bytes;
};

// The records of one entry: the first held inline (a plain record, the common case, costs
// no allocation), the others of a KPL aggregate in a vector.
class EntryRecords {
 public:
  std::size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  RecordPtr& operator[](std::size_t k) { return k == 0 ? first_ : rest_[k - 1]; }
  const RecordPtr& operator[](std::size_t k) const { return k == 0 ? first_ : rest_[k - 1]; }
  RecordPtr& front() { return first_; }
  const RecordPtr& front() const { return first_; }
  void push_back(RecordPtr r) {
    if (n_++ == 0) {
      first_ = std::move(r);
    } else {
      rest_.push_back(std::move(r));
    }
  }
  template <typename Owner, typename Ref>
  struct Iter {
    Owner* owner;
    std::size_t k;
    Ref operator*() const { return (*owner)[k]; }
    Iter& operator++() {
      ++k;
      return *this;
    }
    bool operator!=(const Iter& o) const { return k != o.k; }
  };
  Iter<EntryRecords, RecordPtr&> begin() { return {this, 0}; }
  Iter<EntryRecords, RecordPtr&> end() { return {this, n_}; }
  Iter<const EntryRecords, const RecordPtr&> begin() const { return {this, 0}; }
  Iter<const EntryRecords, const RecordPtr&> end() const { return {this, n_}; }

 private:
  std::size_t n_ = 0;
  RecordPtr first_;
  std::vector<RecordPtr> rest_;
};

// One PutRecords entry: a plain record or a KPL aggregate of several.
struct Entry {
  EntryRecords records;
  std::string data;
  std::string partition_key;
  std::optional<std::string> explicit_hash_key;
};

struct Batch {
  ShardQueue* shard = nullptr;
  std::vector<Entry> entries;
};

}  // namespace

// Hidden: nested in an exported class, it would otherwise be exported with it (the
// pimpl is not API; tests/packaging/check_exports.py).
struct __attribute__((visibility("hidden"))) Producer::Impl {
  Impl(KinesisClient& c, ProducerOptions o)
      : client(c),
        options(std::move(o)),
        clock(options.clock ? *options.clock : SystemClock::Instance()),
        rng(std::random_device{}()) {}

  KinesisClient& client;
  ProducerOptions options;
  const Clock& clock;

  mutable std::mutex mu;
  std::condition_variable wake;                     // the dispatcher
  std::condition_variable space;                    // Put() waiting for buffer room
  std::condition_variable drained;                  // Flush() waiting for completions
  std::vector<std::unique_ptr<ShardQueue>> shards;  // sorted by start when the map is known
  bool map_known = false;
  bool map_stale = true;
  EpochMillis map_loaded_at = 0;
  std::uint64_t outstanding = 0;  // accepted, not yet completed
  std::uint64_t outstanding_bytes = 0;
  std::uint64_t accepted = 0, completed = 0;
  int flushing = 0;
  bool closing = false, stopped = false;
  ProducerMetrics stats;
  std::mt19937_64 rng;

  std::deque<Batch> ready;  // batches for the senders
  std::condition_variable sender_wake;
  std::size_t in_flight = 0;
  std::thread dispatcher;
  std::vector<std::thread> senders;

  // ---- shard map ----
  ShardQueue* QueueFor(HashKey h) {
    if (!map_known) return shards.front().get();
    auto it = std::upper_bound(
        shards.begin(), shards.end(), h,
        [](HashKey k, const std::unique_ptr<ShardQueue>& s) { return k < s->start; });
    if (it != shards.begin()) --it;
    return it->get();
  }
  std::unique_ptr<ShardQueue> NewQueue(std::string id, HashKey start, HashKey end,
                                       EpochMillis now) {
    auto q = std::make_unique<ShardQueue>();
    q->shard_id = std::move(id);
    q->start = start;
    q->end = end;
    q->records = {options.shard_records_per_second, options.shard_records_per_second,
                  options.shard_records_per_second, now};
    q->bytes = {options.shard_bytes_per_second, options.shard_bytes_per_second,
                options.shard_bytes_per_second, now};
    return q;
  }
  // Loads open shards with ListShards; called without the lock held.
  void RefreshShardMap() {
    std::vector<api::Shard> open;
    api::ListShardsInput in;
    in.stream.stream_name = options.stream_name;
    in.shard_filter = api::ShardFilter{api::ShardFilterType::kAtLatest, std::nullopt, std::nullopt};
    for (;;) {
      auto page = client.ListShards(in);
      if (!page.ok()) return;  // keep the old map; records still flow (to the wrong queue at worst)
      for (auto& s : page->shards) {
        if (!s.sequence_number_range.ending_sequence_number) open.push_back(std::move(s));
      }
      if (!page->next_token) break;
      in = api::ListShardsInput{};
      in.next_token = page->next_token;
    }
    if (open.empty()) return;
    const EpochMillis now = clock.NowMillis();
    std::lock_guard lock(mu);
    std::vector<std::unique_ptr<ShardQueue>> fresh;
    for (const auto& s : open) {
      fresh.push_back(NewQueue(
          s.shard_id, HashKey{ParseDecimal128(s.hash_key_range.starting_hash_key).value_or(0)},
          HashKey{ParseDecimal128(s.hash_key_range.ending_hash_key).value_or(0)}, now));
    }
    std::sort(fresh.begin(), fresh.end(),
              [](const auto& a, const auto& b) { return a->start < b->start; });
    // Carry over queued records and in-flight state: re-route what is queued; a queue
    // with a batch in flight stays until that batch returns.
    std::vector<std::unique_ptr<ShardQueue>> old;
    old.swap(shards);
    shards = std::move(fresh);
    map_known = true;
    map_stale = false;
    map_loaded_at = now;
    for (auto& q : old) {
      for (auto& r : q->queue) Enqueue(std::move(r), now, /*front=*/false);
      q->queue.clear();
      if (q->in_flight) retired.push_back(std::move(q));
    }
  }
  std::vector<std::unique_ptr<ShardQueue>> retired;  // queues with a batch still in flight
  std::map<std::string, int> inflight_keys;          // strict order: keys with a record in flight

  // Returns whether the dispatcher has something new to act on: the queue was empty (its
  // linger starts now; the dispatcher may be waiting for up to a second) or now holds a
  // full batch. Any other record joins a queue whose deadline the dispatcher already
  // waits for, so Put does not wake it per record (a futex call and a context switch each).
  bool Enqueue(RecordPtr r, EpochMillis now, bool front) {
    ShardQueue* q = QueueFor(r->hash);
    const bool was_empty = q->queue.empty();
    if (was_empty) q->oldest = now;
    const std::size_t bytes_before = q->queued_bytes;
    q->queued_bytes += r->bytes;
    if (front) {
      q->queue.push_front(std::move(r));
    } else {
      q->queue.push_back(std::move(r));
    }
    return was_empty || q->queue.size() == options.max_batch_records ||
           (bytes_before < options.max_batch_bytes && q->queued_bytes >= options.max_batch_bytes);
  }

  // ---- completion ----
  void Complete(RecordPtr r, PutResult result) {
    // Called with the lock held; the user callback runs after it is released.
    if (result.status.ok()) {
      ++stats.records_put;
    } else {
      ++stats.records_failed;
    }
    --outstanding;
    outstanding_bytes -= r->bytes;
    ++completed;
    if (!r->lean || !result.status.ok()) result.attempts = std::move(r->attempts);
    to_notify.emplace_back(std::move(r), std::move(result));
  }
  std::vector<std::pair<RecordPtr, PutResult>> to_notify;
  void Notify(std::unique_lock<std::mutex>& lock) {
    std::vector<std::pair<RecordPtr, PutResult>> batch;
    batch.swap(to_notify);
    if (!spare_notify.empty()) {  // a vector with room, not a new one per batch
      to_notify.swap(spare_notify.back());
      spare_notify.pop_back();
    }
    space.notify_all();
    drained.notify_all();
    lock.unlock();
    // Records that failed for good, one log line per batch of completions (after the
    // lock is released: the sink is user code).
    std::size_t failed = 0;
    const Status* first = nullptr;
    for (auto& [r, result] : batch) {
      if (!result.status.ok() && failed++ == 0) first = &result.status;
    }
    if (failed > 0 && LogEnabled(LogLevel::kWarning)) {
      Log(LogLevel::kWarning, "producer",
          "stream " + options.stream_name + ": " + std::to_string(failed) +
              " record(s) failed permanently; first: " + first->ToString());
    }
    for (auto& [r, result] : batch) {
      if (r->promise) {
        r->promise->set_value(std::move(result));
        continue;
      }
      if (r->batch) {
        (*r->batch)(r->batch_index, result);
      } else if (r->callback) {
        r->callback(result);
      }
      // The attempt vector goes back with its record: the next record's attempts need no
      // allocation.
      if (result.attempts.capacity() > r->attempts.capacity())
        r->attempts = std::move(result.attempts);
    }
    Recycle(batch);
    batch.clear();
    lock.lock();
    if (spare_notify.size() < 4) spare_notify.push_back(std::move(batch));
  }
  std::vector<std::vector<std::pair<RecordPtr, PutResult>>> spare_notify;

  // ---- record pool ----
  // Completed records come back here and serve later Puts: no heap allocation and free of
  // a record (and of its attempt vector) per Put. Its own lock: Put takes a record before
  // it takes `mu`, completions return them after releasing it.
  std::mutex pool_mu;
  std::vector<RecordPtr> pool;  // guarded by pool_mu
  static constexpr std::size_t kPoolMax = 16384;
  RecordPtr TakeRecord() {
    {
      std::lock_guard lock(pool_mu);
      if (!pool.empty()) {
        RecordPtr r = std::move(pool.back());
        pool.pop_back();
        return r;
      }
    }
    return std::make_unique<Record>();
  }
  void TakeRecords(std::size_t n, std::vector<RecordPtr>& out) {
    {
      std::lock_guard lock(pool_mu);
      while (n > 0 && !pool.empty()) {
        out.push_back(std::move(pool.back()));
        pool.pop_back();
        --n;
      }
    }
    for (; n > 0; --n) out.push_back(std::make_unique<Record>());
  }
  void Recycle(RecordPtr r) {
    r->Reset();  // outside the pool lock: destroys the callback's captures
    std::lock_guard lock(pool_mu);
    if (pool.size() < kPoolMax) pool.push_back(std::move(r));
  }
  void Recycle(std::vector<std::pair<RecordPtr, PutResult>>& done) {
    for (auto& d : done) d.first->Reset();
    std::lock_guard lock(pool_mu);
    for (auto& d : done) {
      if (pool.size() >= kPoolMax) break;
      pool.push_back(std::move(d.first));
    }
  }

  std::chrono::milliseconds Backoff(std::size_t attempt) {
    const int shift = static_cast<int>(std::min<std::size_t>(attempt, 20)) - 1;
    const auto cap = std::min<std::int64_t>(options.retry_max_delay.count(),
                                            options.retry_base_delay.count() << std::max(0, shift));
    std::uniform_int_distribution<std::int64_t> d(0, std::max<std::int64_t>(1, cap));
    return std::chrono::milliseconds(d(rng));
  }

  // A record's attempt failed: retry it (first in its shard's queue) or give up.
  void Failed(RecordPtr r, const Status& error, EpochMillis now, ShardQueue* shard) {
    r->attempts.push_back({now, error});
    ++stats.errors_by_code[std::string(error.name())];
    if (error.code() == Code::kProvisionedThroughputExceeded && shard) {
      shard->records.tokens = 0;  // the service says the shard is saturated: slow down
      shard->bytes.tokens = 0;
    }
    const auto wait = Backoff(r->attempts.size());
    if (!error.retriable() || stopped || now + wait.count() >= r->deadline) {
      Status final_error = error;
      if (error.retriable()) {
        final_error =
            Status(error.code(), "record expired after " + std::to_string(r->attempts.size()) +
                                     " attempts; last error: " + error.message());
      }
      Complete(std::move(r), PutResult{final_error, {}, {}, std::nullopt, {}});
      return;
    }
    ++stats.retries;
    r->not_before = now + wait.count();
    pending_retry.push_back(std::move(r));
  }
  std::vector<RecordPtr> pending_retry;  // re-enqueued at the front, in order, by the caller

  // ---- dispatcher: builds batches ----
  bool ReadyToSend(ShardQueue& q, EpochMillis now) const {
    if (q.in_flight || q.queue.empty() || q.queue.front()->not_before > now) return false;
    if (flushing > 0 || closing) return true;
    return q.queue.size() >= options.max_batch_records ||
           q.queued_bytes >= options.max_batch_bytes || now - q.oldest >= options.linger.count();
  }

  // Milliseconds until the shard's token buckets cover the batch Build would take now
  // (0: they do). Without this gate every token that trickles in would release a batch of
  // one or two records: under a saturated limit a shard would send ~rate/latency tiny
  // calls. With it, records wait (beyond linger) until the budget for a full batch, or for
  // as much as the bucket can ever hold, has accrued, and go out together.
  EpochMillis BudgetWait(ShardQueue& q, EpochMillis now) {
    q.records.Refill(now);
    q.bytes.Refill(now);
    // The eligible prefix Build would take with unlimited tokens, bounded by what the
    // buckets can hold (the scan is bounded too: the budget never needs more).
    const double max_records = std::min(q.records.capacity, kMaxBudgetScan);
    const double max_bytes =
        std::min(q.bytes.capacity, static_cast<double>(options.max_batch_bytes));
    double records = 0, bytes = 0;
    for (const auto& r : q.queue) {
      if (r->not_before > now || records >= max_records) break;
      if (!options.aggregate && records >= static_cast<double>(options.max_batch_records)) break;
      if (records > 0 && bytes + static_cast<double>(r->bytes) > max_bytes) break;
      records += 1;
      bytes += static_cast<double>(r->bytes);
    }
    auto wait = [](const TokenBucket& b, double need) -> EpochMillis {
      need = std::min(need, b.capacity);  // a record bigger than the bucket: wait until full
      if (b.tokens >= need) return 0;
      return std::max<EpochMillis>(
          1, static_cast<EpochMillis>(std::ceil((need - b.tokens) * 1000.0 / b.rate)));
    };
    return std::max(wait(q.records, records), wait(q.bytes, bytes));
  }
  static constexpr double kMaxBudgetScan = 100'000;

  Batch Build(ShardQueue& q, EpochMillis now) {
    q.records.Refill(now);
    q.bytes.Refill(now);
    Batch b;
    b.shard = &q;
    b.entries.reserve(std::min(q.queue.size(), options.max_batch_records));
    std::size_t bytes = 0, count = 0;
    std::vector<std::string> keys;  // strict order: one record per key per request
    Entry agg;
    std::size_t agg_bytes = aggregation::kFramingBytes;
    auto flush_agg = [&] {
      if (agg.records.empty()) return;
      if (agg.records.size() == 1) {
        // A plain record: the sender lends its data and key to the request (no copy).
        bytes += agg.records.front()->bytes;
      } else {
        std::vector<aggregation::UserRecord> users;
        for (const auto& r : agg.records)
          users.push_back({r->partition_key, r->explicit_hash_key, r->data});
        agg.data = aggregation::Encode(users);
        agg.partition_key = "a";
        agg.explicit_hash_key = ToString(agg.records.front()->hash);
        bytes += agg.data.size() + agg.partition_key.size();
      }
      ++count;
      b.entries.push_back(std::move(agg));
      agg = Entry{};
      agg_bytes = aggregation::kFramingBytes;
    };
    std::deque<RecordPtr> skipped;
    while (!q.queue.empty() && count < options.max_batch_records) {
      Record& r = *q.queue.front();
      if (r.not_before > now) break;
      const bool first = b.entries.empty() && agg.records.empty();
      // Rate limits: always let the first record of a batch go when the bucket is full,
      // so a record larger than a second's budget is not stuck forever.
      if (!first && (q.records.tokens < 1 || q.bytes.tokens < static_cast<double>(r.bytes))) break;
      if (first && q.records.tokens < 1 && q.records.tokens < q.records.capacity) break;
      if (bytes + r.bytes > options.max_batch_bytes && !first) break;
      // Strict order: one record of a key per request, and none while an earlier record of
      // that key is in flight in any request (it may still fail and be retried, and a
      // shard-map reload may have routed the two through different queues).
      if (options.strict_key_order &&
          (std::find(keys.begin(), keys.end(), r.partition_key) != keys.end() ||
           inflight_keys.count(r.partition_key))) {
        skipped.push_back(std::move(q.queue.front()));
        q.queue.pop_front();
        continue;
      }
      if (options.strict_key_order) keys.push_back(r.partition_key);
      RecordPtr rec = std::move(q.queue.front());
      q.queue.pop_front();
      q.queued_bytes -= rec->bytes;
      q.records.tokens -= 1;
      q.bytes.tokens -= static_cast<double>(rec->bytes);
      if (options.aggregate) {
        const std::size_t add = aggregation::EncodedRecordOverhead(
            rec->partition_key.size(), rec->explicit_hash_key ? rec->explicit_hash_key->size() : 0,
            rec->data.size());
        if (!agg.records.empty() && agg_bytes + add > options.aggregate_max_bytes) flush_agg();
        agg_bytes += add;
        agg.records.push_back(std::move(rec));
      } else {
        agg.records.push_back(std::move(rec));
        flush_agg();
      }
    }
    flush_agg();
    if (options.strict_key_order) {
      for (const auto& e : b.entries) {
        for (const auto& rec : e.records) ++inflight_keys[rec->partition_key];
      }
    }
    // Records held back by strict ordering keep their place at the front.
    while (!skipped.empty()) {
      q.queue.push_front(std::move(skipped.back()));
      skipped.pop_back();
    }
    if (!q.queue.empty()) q.oldest = now;
    return b;
  }

  void DispatchLoop() {
    std::unique_lock lock(mu);
    while (!stopped) {
      const EpochMillis now = clock.NowMillis();
      if (map_stale || now - map_loaded_at >= options.shard_map_refresh.count()) {
        map_stale = false;
        map_loaded_at = now;
        lock.unlock();
        RefreshShardMap();
        lock.lock();
        continue;
      }
      EpochMillis next = now + 1000;
      bool timed = false;  // some queue waits for a time (linger, tokens, backoff)
      for (auto& qp : shards) {
        ShardQueue& q = *qp;
        if (in_flight >= options.max_in_flight) break;
        if (ReadyToSend(q, now)) {
          if (const EpochMillis wait = BudgetWait(q, now); wait > 0) {
            next = std::min(next, now + wait);
            timed = true;
            continue;
          }
          Batch b = Build(q, now);
          if (!b.entries.empty()) {
            q.in_flight = true;
            ++in_flight;
            ready.push_back(std::move(b));
            sender_wake.notify_one();
            continue;
          }
          next = std::min(next, now + 5);  // strict order: every record's key is in flight
          timed = true;
        } else if (!q.queue.empty() && !q.in_flight) {
          next = std::min(next,
                          std::max(q.queue.front()->not_before, q.oldest + options.linger.count()));
          timed = true;
        }
      }
      const std::chrono::milliseconds wait(std::clamp<EpochMillis>(next - now, 1, 1000));
      // The sleeper (simulated time) only for waits that time ends; an idle producer waits
      // for new records.
      if (options.sleeper != nullptr && timed && in_flight == 0 && ready.empty()) {
        lock.unlock();
        options.sleeper->SleepFor(wait);
        lock.lock();
      } else {
        wake.wait_for(lock, wait);
      }
    }
  }

  // ---- senders: one PutRecords per batch ----
  void SendLoop() {
    api::PutRecordsInput in;  // reused: its records vector keeps its room between batches
    in.stream.stream_name = options.stream_name;
    std::unique_lock lock(mu);
    for (;;) {
      sender_wake.wait(lock, [&] { return stopped || !ready.empty(); });
      if (ready.empty()) return;  // stopped
      Batch b = std::move(ready.front());
      ready.pop_front();
      lock.unlock();
      in.records.clear();
      in.records.reserve(b.entries.size());
      // A plain record's data and key move into the request and back after the call (a
      // retry needs them; nothing else touches a record in flight); an aggregate's are its
      // entry's.
      for (auto& e : b.entries) {
        if (e.records.size() == 1) {
          Record& r = *e.records.front();
          in.records.push_back(
              {std::move(r.data), r.explicit_hash_key, std::move(r.partition_key)});
        } else {
          in.records.push_back({e.data, e.explicit_hash_key, e.partition_key});
        }
      }
      Result<api::PutRecordsOutput> result = client.PutRecords(in);
      for (std::size_t i = 0; i < b.entries.size(); ++i) {
        if (b.entries[i].records.size() != 1) continue;
        Record& r = *b.entries[i].records.front();
        r.data = std::move(in.records[i].data);
        r.partition_key = std::move(in.records[i].partition_key);
      }
      lock.lock();
      ++stats.put_records_calls;
      HandleResult(b, result);
      b.shard->in_flight = false;
      --in_flight;
      std::erase_if(retired, [](const auto& q) { return !q->in_flight; });
      Notify(lock);
      wake.notify_one();
    }
  }

  // Takes the shard ids and sequence numbers out of `result` (moved into the records'
  // results, not copied).
  void HandleResult(Batch& b, Result<api::PutRecordsOutput>& result) {
    const EpochMillis now = clock.NowMillis();
    if (options.strict_key_order) {
      for (const auto& e : b.entries) {
        for (const auto& rec : e.records) {
          if (--inflight_keys[rec->partition_key] <= 0) inflight_keys.erase(rec->partition_key);
        }
      }
    }
    for (std::size_t i = 0; i < b.entries.size(); ++i) {
      Entry& e = b.entries[i];
      Status error;
      api::PutRecordsResultEntry* r = nullptr;
      if (!result.ok()) {
        error = result.status();
      } else if (i >= result->records.size()) {
        error = Status(Code::kInternalFailure, "PutRecords returned fewer results than records");
      } else {
        r = &result->records[i];
        if (r->error_code) {
          error = Status(CodeFromName(*r->error_code).value_or(Code::kInternalFailure),
                         r->error_message.value_or(""));
        }
      }
      if (error.ok() && r) {
        if (!b.shard->shard_id.empty() && r->shard_id && *r->shard_id != b.shard->shard_id) {
          map_stale = true;  // the map is out of date (resharding): reload it
        }
        for (std::size_t k = 0; k < e.records.size(); ++k) {
          RecordPtr rec = std::move(e.records[k]);
          if (rec->lean) {
            Complete(std::move(rec), PutResult{});
            continue;
          }
          rec->attempts.push_back({now, Status::Ok()});
          PutResult pr{Status::Ok(), {}, {}, std::nullopt, {}};
          if (e.records.size() > 1) {
            pr.sub_sequence_number = static_cast<int>(k);
            pr.shard_id = r->shard_id.value_or("");
            pr.sequence_number = r->sequence_number.value_or("");
          } else {
            if (r->shard_id) pr.shard_id = std::move(*r->shard_id);
            if (r->sequence_number) pr.sequence_number = std::move(*r->sequence_number);
          }
          Complete(std::move(rec), std::move(pr));
        }
      } else {
        for (auto& rec : e.records) Failed(std::move(rec), error, now, b.shard);
      }
    }
    // Failed records go back first, in their original order, ahead of newer records.
    for (auto it = pending_retry.rbegin(); it != pending_retry.rend(); ++it)
      Enqueue(std::move(*it), now, true);
    pending_retry.clear();
  }

  // Takes the records in order, under one lock, until one is refused (its status is
  // returned; it and the rest stay with the caller). `taken` = how many were taken.
  Status AcceptMany(std::vector<RecordPtr>& records, std::size_t& taken) {
    taken = 0;
    bool wake_dispatcher = false;
    std::unique_lock lock(mu);
    EpochMillis now = clock.NowMillis();
    Status st = Status::Ok();
    for (auto& r : records) {
      if (closing || stopped) {
        st = Status(Code::kFailedPrecondition, "producer is closed");
        break;
      }
      if (outstanding_bytes + r->bytes > options.buffer_bytes && outstanding > 0) {
        if (options.overflow == OverflowPolicy::kFailFast) {
          st = Status(Code::kLimitExceeded, "producer buffer is full");
          break;
        }
        if (taken > 0) wake.notify_one();  // what is queued so far makes room (flushing)
        space.wait(lock, [&] {
          return outstanding_bytes + r->bytes <= options.buffer_bytes || outstanding == 0 ||
                 closing;
        });
        if (closing) {
          st = Status(Code::kFailedPrecondition, "producer is closed");
          break;
        }
        now = clock.NowMillis();
      }
      r->deadline = now + options.record_ttl.count();
      ++outstanding;
      ++accepted;
      outstanding_bytes += r->bytes;
      wake_dispatcher |= Enqueue(std::move(r), now, false);
      ++taken;
    }
    if (wake_dispatcher) wake.notify_one();
    return st;
  }

  // Takes the record only when accepted; on error the caller keeps it.
  Status Accept(RecordPtr& r) {
    std::unique_lock lock(mu);
    if (closing || stopped) return Status(Code::kFailedPrecondition, "producer is closed");
    if (outstanding_bytes + r->bytes > options.buffer_bytes && outstanding > 0) {
      if (options.overflow == OverflowPolicy::kFailFast) {
        return Status(Code::kLimitExceeded, "producer buffer is full");
      }
      space.wait(lock, [&] {
        return outstanding_bytes + r->bytes <= options.buffer_bytes || outstanding == 0 || closing;
      });
      if (closing) return Status(Code::kFailedPrecondition, "producer is closed");
    }
    const EpochMillis now = clock.NowMillis();
    r->deadline = now + options.record_ttl.count();
    ++outstanding;
    ++accepted;
    outstanding_bytes += r->bytes;
    if (Enqueue(std::move(r), now, false)) wake.notify_one();
    return Status::Ok();
  }
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Producer>> Producer::Create(KinesisClient& client, ProducerOptions options) {
  RETURN_IF_ERROR(Validate(options));
  auto impl = std::make_unique<Impl>(client, std::move(options));
  impl->shards.push_back(impl->NewQueue("", HashKey{0}, HashKey::Max(), impl->clock.NowMillis()));
  Impl* raw = impl.get();
  impl->dispatcher = std::thread([raw] { raw->DispatchLoop(); });
  const std::size_t senders = std::min<std::size_t>(raw->options.max_in_flight, 64);
  for (std::size_t i = 0; i < senders; ++i) impl->senders.emplace_back([raw] { raw->SendLoop(); });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::~Producer() { (void)Close(impl_->options.record_ttl); }

namespace {

// A caller's string into a pooled record's buffer: copied when it fits there, else moved.
// The copy keeps the record's buffer for good; the caller's string is then freed at once,
// still hot in this thread's cache, and the caller's next allocation of that size reuses
// it. Moving would free the record's old buffer instead: memory last touched when the
// record was put, a buffer-full of records ago (perf, 64 MiB buffer: malloc's
// consolidation and unlinking of such cold chunks, ~15% of the producer's CPU).
void Store(std::string& record_buffer, std::string& from_caller) {
  if (from_caller.size() <= record_buffer.capacity()) {
    record_buffer.assign(from_caller);
  } else {
    record_buffer = std::move(from_caller);
  }
}

// Checks a record and sets its hash key and size; the caller fills in its strings.
Status Prepare(Record& r, std::string_view pk, std::string_view data,
               const std::optional<std::string>& ehk) {
  if (pk.empty() || pk.size() > 256 * 4)
    return Status(Code::kValidation, "partition key must have 1..256 characters");
  if (ehk) {
    auto v = ParseDecimal128(*ehk);
    if (!v) return Status(Code::kInvalidArgument, "Invalid ExplicitHashKey " + *ehk);
    r.hash = HashKey{*v};
  } else {
    r.hash = Md5HashKey(pk);
  }
  r.bytes = data.size() + pk.size();
  if (r.bytes > (1u << 20))
    return Status(Code::kValidation, "record larger than 1 MiB (data + partition key)");
  return Status::Ok();
}

}  // namespace

std::future<PutResult> Producer::Put(std::string partition_key, std::string data,
                                     std::optional<std::string> explicit_hash_key) {
  RecordPtr r = impl_->TakeRecord();
  if (Status st = Prepare(*r, partition_key, data, explicit_hash_key); !st.ok()) {
    impl_->Recycle(std::move(r));
    std::promise<PutResult> p;
    p.set_value(PutResult{st, {}, {}, std::nullopt, {}});
    return p.get_future();
  }
  Store(r->partition_key, partition_key);
  Store(r->data, data);
  r->explicit_hash_key = std::move(explicit_hash_key);
  auto future = r->promise.emplace().get_future();
  if (Status st = impl_->Accept(r); !st.ok()) {
    r->promise->set_value(PutResult{st, {}, {}, std::nullopt, {}});
    impl_->Recycle(std::move(r));
  }
  return future;
}

Status Producer::Put(std::string partition_key, std::string data, Callback callback) {
  return Put(std::move(partition_key), std::move(data), std::nullopt, std::move(callback));
}

Status Producer::Put(std::string partition_key, std::string data,
                     std::optional<std::string> explicit_hash_key, Callback callback) {
  RecordPtr r = impl_->TakeRecord();
  Status st = Prepare(*r, partition_key, data, explicit_hash_key);
  if (st.ok()) {
    Store(r->partition_key, partition_key);
    Store(r->data, data);
    r->explicit_hash_key = std::move(explicit_hash_key);
    r->callback = std::move(callback);
    st = impl_->Accept(r);
  }
  if (!st.ok()) impl_->Recycle(std::move(r));
  return st;
}

Status Producer::PutMany(const std::vector<RecordView>& records, BatchCallback callback,
                         bool success_details, std::size_t* accepted) {
  if (accepted != nullptr) *accepted = 0;
  std::shared_ptr<const BatchCallback> shared;
  if (callback) shared = std::make_shared<const BatchCallback>(std::move(callback));
  // Validated and hashed outside the lock; a record refused here ends the call there.
  // Pooled records: the copies of key and data go into buffers kept from earlier records.
  std::vector<RecordPtr> made;
  made.reserve(records.size());
  impl_->TakeRecords(records.size(), made);
  std::size_t valid = 0;
  Status invalid = Status::Ok();
  for (; valid < records.size(); ++valid) {
    Record& r = *made[valid];
    invalid = Prepare(r, records[valid].partition_key, records[valid].data, std::nullopt);
    if (!invalid.ok()) break;
    r.partition_key.assign(records[valid].partition_key);
    r.data.assign(records[valid].data);
    r.batch = shared;
    r.batch_index = valid;
    r.lean = !success_details;
  }
  for (std::size_t i = valid; i < made.size(); ++i) impl_->Recycle(std::move(made[i]));
  made.resize(valid);
  std::size_t taken = 0;
  Status st = made.empty() ? Status::Ok() : impl_->AcceptMany(made, taken);
  for (std::size_t i = taken; i < made.size(); ++i) impl_->Recycle(std::move(made[i]));
  if (accepted != nullptr) *accepted = taken;
  if (!st.ok()) return st;
  return invalid;
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  const std::uint64_t target = impl_->accepted;
  ++impl_->flushing;
  impl_->wake.notify_one();
  const bool done =
      impl_->drained.wait_for(lock, timeout, [&] { return impl_->completed >= target; });
  --impl_->flushing;
  return done ? Status::Ok()
              : Status(Code::kDeadlineExceeded, "flush timed out with " +
                                                    std::to_string(impl_->outstanding) +
                                                    " records outstanding");
}

Status Producer::Close(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return Status::Ok();
  }
  Status flushed = Flush(deadline);
  {
    std::unique_lock lock(impl_->mu);
    impl_->closing = true;
    impl_->stopped = true;
    // Whatever is still queued completes with an error: nothing is dropped silently.
    for (auto& q : impl_->shards) {
      for (auto& r : q->queue) {
        impl_->Complete(std::move(r), PutResult{Status(Code::kDeadlineExceeded,
                                                       "producer closed before the record "
                                                       "could be written"),
                                                {},
                                                {},
                                                std::nullopt,
                                                {}});
      }
      q->queue.clear();
    }
    impl_->Notify(lock);
    impl_->wake.notify_all();
    impl_->sender_wake.notify_all();
    impl_->space.notify_all();
  }
  if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
  for (auto& t : impl_->senders) t.join();  // in-flight batches complete first
  impl_->senders.clear();
  return flushed;
}

ProducerMetrics Producer::metrics() const {
  std::lock_guard lock(impl_->mu);
  ProducerMetrics m = impl_->stats;
  m.buffered_records = impl_->outstanding;
  m.buffered_bytes = impl_->outstanding_bytes;
  return m;
}

}  // namespace cinesis
