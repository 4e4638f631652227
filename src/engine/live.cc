// What the live endpoints need from the engine (issue 18): cursors for the WebSocket tail,
// woken by the append notification that feeds SubscribeToShard; the metrics snapshot and its
// once-a-second roll; the lookups that let fault rules name a request's stream and shard.
#include <algorithm>

#include "api/errors.h"
#include "engine/engine.h"
#include "engine/sequence.h"
#include "engine/state.h"
#include "engine/token.h"
#include "storage/fsync_stats.h"

namespace cinesis::engine {

namespace errors = api::errors;

class EngineCursor final : public api::ShardCursor {
 public:
  EngineCursor(const Engine& engine, std::shared_ptr<StreamState> s,
               std::shared_ptr<ShardState> shard, std::uint64_t position)
      : engine_(engine),
        s_(std::move(s)),
        shard_(std::move(shard)),
        shard_id_(shard_->id()),
        position_(position) {}

  Result<Batch> Next(std::size_t max_records, std::size_t max_bytes) override {
    std::uint64_t next = position_;
    ASSIGN_OR_RETURN(auto out, engine_.ReadShard(*s_, *shard_, position_, max_records,
                                                 engine_.Now(), &next, max_bytes));
    position_ = next;
    Batch b;
    b.records = std::move(out.records);
    b.child_shards = std::move(out.child_shards);
    return b;
  }

  void NotifyOnAppend(std::function<void()> notify) override {
    {
      // As EngineSubscription::NotifyOnAppend: shared, so a reshard cannot close the shard
      // meanwhile; the listener is announced before the end offset is looked at.
      ReaderLock topology(&s_->mu);
      ShardState::Waiters& waiters = shard_->Listeners();
      MutexLock lock(&waiters.mu);
      shard_->has_listeners.store(true, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (shard_->log->EndOffset().value <= position_ && !shard_->closed_ms) {
        waiters.listeners.push_back(std::move(notify));
        return;
      }
    }
    notify();
  }

  const std::string& shard_id() const override { return shard_id_; }

 private:
  const Engine& engine_;
  std::shared_ptr<StreamState> s_;
  std::shared_ptr<ShardState> shard_;
  const std::string shard_id_;  // the shard keeps only its index
  std::uint64_t position_;      // used by one strand at a time
};

Result<std::unique_ptr<api::ShardCursor>> Engine::OpenCursor(const api::CursorStart& in) {
  auto index = ParseShardId(in.shard_id);
  if (!index) return errors::CouldNotFindShard(in.shard_id, in.stream, options_.scope);
  const std::string shard_id = ShardIdFor(*index);
  auto s = Find(in.stream);
  const EpochMillis now = Now();
  if (!s) return errors::StreamNotFound(in.stream, options_.scope);
  std::shared_ptr<ShardState> shard;
  {
    ReaderLock lock(&s->mu);
    if (*index >= s->shards.size())
      return errors::ShardDoesNotExist(shard_id, in.stream, options_.scope);
    shard = s->shards[*index];
  }
  ASSIGN_OR_RETURN(std::uint64_t position, StartPosition(*s, *shard, in.stream, in.type,
                                                         in.sequence_number, in.timestamp, now));
  return std::unique_ptr<api::ShardCursor>(
      std::make_unique<EngineCursor>(*this, std::move(s), std::move(shard), position));
}

void Engine::RollMetrics(const std::vector<std::shared_ptr<StreamState>>& live, EpochMillis now) {
  const std::int64_t second = now / 1000 - 1;  // the last complete second
  std::int64_t prev = rolled_second_.load();
  if (second <= prev || !rolled_second_.compare_exchange_strong(prev, second)) return;
  for (const auto& s : live) {
    std::vector<std::shared_ptr<ShardState>> shards;
    {
      ReaderLock lock(&s->mu);
      shards = s->shards;
    }
    for (const auto& shard : shards) shard->metrics.Roll(second);
  }
}

Result<api::MetricsSnapshot> Engine::Metrics(const std::optional<std::string>& stream,
                                             int seconds) {
  seconds = std::clamp(seconds, 1, api::kMetricHistorySeconds);
  std::vector<std::shared_ptr<StreamState>> streams;
  if (stream) {
    auto s = Find(*stream);
    if (!s) return errors::StreamNotFound(*stream, options_.scope);
    streams.push_back(std::move(s));
  } else {
    ReaderLock lock(&mu_);
    const EpochMillis now = Now();
    for (const auto& s : streams_)
      if (!s->GoneAt(now)) streams.push_back(s);
  }
  api::MetricsSnapshot out;
  const std::int64_t end_second = rolled_second_.load();
  out.end_ms = (end_second + 1) * 1000;
  out.seconds = seconds;
  std::map<std::string, std::shared_ptr<std::array<std::atomic<std::uint64_t>, 2>>> counters;
  {
    MutexLock lock(&subs_mu_);
    counters = consumer_counters_;
  }
  for (const auto& s : streams) {
    api::StreamMetricsSnapshot ss;
    ss.stream_name = s->name;
    std::vector<std::shared_ptr<ShardState>> shards;
    {
      ReaderLock lock(&s->mu);
      shards = s->shards;
      for (const auto& c : s->extras().consumers) {
        auto it = counters.find(c.arn);
        api::ConsumerMetricsSnapshot cs;
        cs.consumer_name = c.name;
        if (it != counters.end()) {
          cs.records = (*it->second)[0].load(std::memory_order_relaxed);
          cs.bytes = (*it->second)[1].load(std::memory_order_relaxed);
        }
        ss.consumers.push_back(std::move(cs));
      }
    }
    for (const auto& shard : shards) {
      api::ShardMetricsSnapshot sh;
      sh.shard_id = shard->id();
      shard->metrics.Snapshot(end_second, seconds, sh);
      ss.shards.push_back(std::move(sh));
    }
    out.streams.push_back(std::move(ss));
  }
  return out;
}

std::shared_ptr<std::array<std::atomic<std::uint64_t>, 2>> Engine::ConsumerCounters(
    const std::string& arn) {
  MutexLock lock(&subs_mu_);
  auto& c = consumer_counters_[arn];
  if (!c) c = std::make_shared<std::array<std::atomic<std::uint64_t>, 2>>();
  return c;
}

api::FsyncHistogram Engine::Fsyncs() const {
  const auto& g = storage::FsyncStats::Global();
  api::FsyncHistogram h;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += g.buckets[i].load(std::memory_order_relaxed);
    h.buckets[i] = cumulative;
  }
  h.count = g.count.load(std::memory_order_relaxed);
  h.sum_seconds = static_cast<double>(g.sum_us.load(std::memory_order_relaxed)) / 1e6;
  return h;
}

std::optional<std::pair<std::string, std::string>> Engine::StreamOfIterator(
    std::string_view iterator) const {
  if (iterator.size() >= 2 && iterator.front() == '"' && iterator.back() == '"')
    iterator = iterator.substr(1, iterator.size() - 2);
  auto it = OpenIterator(sealer_, iterator);
  if (!it) return std::nullopt;
  return std::make_pair(it->stream_name, ShardIdFor(it->shard_index));
}

Result<std::string> Engine::RouteRecord(const std::string& stream, std::string_view partition_key,
                                        const std::optional<std::string>& explicit_hash_key) {
  auto s = Find(stream);
  if (!s) return errors::StreamNotFound(stream, options_.scope);
  HashKey key = Md5HashKey(partition_key);
  if (explicit_hash_key) {
    auto v = ParseDecimal128(*explicit_hash_key);
    if (!v) return errors::InvalidExplicitHashKey(*explicit_hash_key);
    key = HashKey{*v};
  }
  ReaderLock lock(&s->mu);
  ShardState* shard = s->Route(key);
  if (!shard) return errors::StreamNotFound(stream, options_.scope);
  return shard->id();
}

}  // namespace cinesis::engine
