// SubscribeToShard: a cursor over one shard that the server drains into an event stream,
// woken by appends instead of polling.
#include <algorithm>
#include <atomic>

#include "api/errors.h"
#include "common/status.h"
#include "engine/engine.h"
#include "engine/sequence.h"
#include "engine/state.h"

namespace cinesis::engine {

namespace errors = api::errors;

namespace {
constexpr EpochMillis kTakeoverMs = 5000;  // a second subscription within 5 s is refused
}  // namespace

class EngineSubscription final : public api::Subscription {
 public:
  EngineSubscription(const Engine& engine, std::shared_ptr<StreamState> s,
                     std::shared_ptr<ShardState> shard, std::uint64_t position, EpochMillis now,
                     std::shared_ptr<std::array<std::atomic<std::uint64_t>, 2>> counters,
                     std::shared_ptr<ConsumerLag> lag)
      : engine_(engine),
        counters_(std::move(counters)),
        lag_(std::move(lag)),
        s_(std::move(s)),
        shard_(std::move(shard)),
        position_(position),
        expires_at_(now + engine.options().subscription_ms) {}

  // Next and NotifyOnAppend are called by one transport strand at a time; Finished and
  // Supersede from any thread.
  Result<api::SubscribeToShardEvent> Next() override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (superseded_) {
      finished_ = true;
      return errors::SubscriptionSuperseded();
    }
    const EpochMillis now = engine_.Now();
    std::uint64_t next = position_;
    ASSIGN_OR_RETURN(auto out, engine_.ReadShard(*s_, *shard_, position_, 10'000, now, &next));
    api::SubscribeToShardEvent ev;
    ev.millis_behind_latest = out.millis_behind_latest;
    if (lag_)
      lag_->Observe(
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, out.millis_behind_latest)));
    if (!out.records.empty()) {
      last_arrival_ms_ = out.records.back().approximate_arrival_timestamp;
      std::uint64_t bytes = 0;
      for (const auto& r : out.records) bytes += r.data.size();
      shard_->metrics.Add(api::Metric::kSubscribeToShardEventRecords, out.records.size());
      shard_->metrics.Add(api::Metric::kSubscribeToShardEventBytes, bytes);
      (*counters_)[0].fetch_add(out.records.size(), std::memory_order_relaxed);
      (*counters_)[1].fetch_add(bytes, std::memory_order_relaxed);
    }
    ev.records = std::move(out.records);
    ev.child_shards = std::move(out.child_shards);
    if (ev.child_shards) finished_ = true;
    position_ = next;
    if (!ev.child_shards) ev.continuation_sequence_number = Continuation();
    return ev;
  }
  bool Finished() const override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return finished_ || superseded_;
  }
  void NotifyOnAppend(std::function<void()> notify) override EXCLUDES(mu_) {
    const std::uint64_t position = Position();  // before the shard's locks (lock order)
    {
      // Shared: a reshard cannot close the shard meanwhile (it holds mu exclusively when it
      // sets closed_ms and wakes the listeners).
      ReaderLock topology(&s_->mu);
      ShardState::Waiters& waiters = shard_->Listeners();
      MutexLock lock(&waiters.mu);
      // Announce the listener before looking at the end offset, with a full fence on both
      // sides (NotifyAppended fences between the append and its has_listeners check): either
      // this sees the appended record, or the appender sees has_listeners and wakes us.
      shard_->has_listeners.store(true, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (shard_->log->EndOffset().value <= position && !shard_->closed_ms &&
          !superseded_.load(std::memory_order_seq_cst)) {
        waiters.listeners.push_back(std::move(notify));
        return;
      }
      // Records are there already; has_listeners may stay set (the next append clears it).
    }
    notify();  // records (or the end of the shard) are already there; no lock held
  }
  EpochMillis ExpiresAt() const override { return expires_at_; }

  void Supersede() {
    superseded_.store(true, std::memory_order_seq_cst);
    shard_->NotifyAppended();  // wake the old stream so it can end
  }

 private:
  std::uint64_t Position() const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return position_;
  }
  // Where to resume, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER alike: as on AWS, a
  // number past the last record delivered (the cursor's counter with sub 1, see
  // sequence.h), so no record comes twice. Its time field is the arrival time of the record
  // sent, else of the record before the cursor (the shard's creation time at its start).
  std::string Continuation() REQUIRES(mu_) {
    SequenceFields f{shard_->created_s(), shard_->index, position_, shard_->created_s(), 1};
    if (last_arrival_ms_) {
      f.record_time_s = static_cast<std::uint64_t>(*last_arrival_ms_ / 1000);
    } else if (position_ > 0) {
      (void)shard_->log->Read(storage::Offset{position_ - 1}, 1, [&](const storage::RecordView& r) {
        f.record_time_s = static_cast<std::uint64_t>(r.arrival_ms / 1000);
        return true;
      });
    }
    return EncodeSequence(f);
  }

  const Engine& engine_;
  std::shared_ptr<std::array<std::atomic<std::uint64_t>, 2>> counters_;
  const std::shared_ptr<ConsumerLag> lag_;  // this consumer's lag on the shard; may be null
  std::shared_ptr<StreamState> s_;
  std::shared_ptr<ShardState> shard_;
  // Taken before the stream's and the shard's locks (Next reads the shard with it held).
  mutable Mutex mu_;
  std::uint64_t position_ GUARDED_BY(mu_);
  std::optional<EpochMillis> last_arrival_ms_ GUARDED_BY(mu_);  // of the last record sent
  const EpochMillis expires_at_;
  bool finished_ GUARDED_BY(mu_) = false;
  // Set by a newer subscription for the same consumer and shard; read without mu_ by
  // NotifyOnAppend (see the fence there).
  std::atomic<bool> superseded_{false};
};

Result<std::shared_ptr<api::Subscription>> Engine::SubscribeToShard(
    const api::SubscribeToShardInput& in) {
  ASSIGN_OR_RETURN(auto hit, FindConsumer({std::nullopt, std::nullopt, in.consumer_arn}));
  const EpochMillis now = Now();
  auto s = hit.stream;
  std::string consumer_name;
  {
    ReaderLock lock(&hit.stream->mu);
    ASSIGN_OR_RETURN(const ConsumerState* found, ConsumerIn(hit));
    const auto& c = *found;
    if (c.deleting_at_ms || now < c.active_at_ms) {
      return errors::ConsumerNotActive(c.name, c.created_ms / 1000, s->name, options_.scope);
    }
    consumer_name = c.name;
  }
  auto index = ParseShardId(in.shard_id);
  if (!index) return errors::CouldNotFindShard(in.shard_id, s->name, options_.scope);
  std::shared_ptr<ShardState> shard;
  {
    ReaderLock lock(&s->mu);
    if (*index >= s->shards.size())
      return errors::ShardDoesNotExist(ShardIdFor(*index), s->name, options_.scope);
    shard = s->shards[*index];
  }
  const auto& sp = in.starting_position;
  ASSIGN_OR_RETURN(std::uint64_t position, StartPosition(*s, *shard, s->name, sp.type,
                                                         sp.sequence_number, sp.timestamp, now));
  const std::string key = in.consumer_arn + "|" + shard->id();
  auto sub = std::make_shared<EngineSubscription>(*this, s, shard, position, now,
                                                  ConsumerCounters(in.consumer_arn),
                                                  shard->metrics.ConsumerLagFor(consumer_name));
  std::shared_ptr<api::Subscription> previous;
  {
    MutexLock lock(&subs_mu_);
    auto it = subscriptions_.find(key);
    if (it != subscriptions_.end()) {
      previous = it->second.second.lock();
      if (previous && !previous->Finished() && now - it->second.first < kTakeoverMs) {
        return errors::SubscriptionExists(in.consumer_arn, shard->id());
      }
    }
    subscriptions_[key] = {now, sub};
  }
  if (previous) static_cast<EngineSubscription*>(previous.get())->Supersede();
  return std::shared_ptr<api::Subscription>(sub);
}

}  // namespace cinesis::engine
