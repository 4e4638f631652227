// Per-shard metrics (issue 18): CloudWatch-named counters with a bounded 1-second history.
//
// The data path only adds to relaxed atomics (no lock, no allocation). Once a second the
// engine's Tick rolls every shard: the counts since the previous roll become that second's
// values in a ring of api::kMetricHistorySeconds seconds. The ring (kMetricHistorySeconds *
// kMetricCount 32-bit values: 32,400 bytes), with the counters' values at the last roll, is
// allocated when a shard first has a non-zero second, so idle shards cost only the counters.
//
// Per registered consumer that subscribes to the shard (SubscribeToShard), a lag gauge
// (SubscribeToShardEvent.MillisBehindLatest) with its own ring of kMetricHistorySeconds 32-bit
// values (3,600 bytes), created by its first subscription; at most kMaxConsumerLags per shard
// (AWS allows 20 registered consumers per stream): beyond that, a series no subscription holds
// any more is dropped for the new one, and if every series is held the new consumer's lag is
// not tracked. Lock order: ShardMetrics::mu_ is a leaf (nothing is locked under it).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/live.h"
#include "common/thread_annotations.h"

namespace cinesis::engine {

// One consumer's lag on one shard, fed by its subscription's events (relaxed atomics, no lock).
class ConsumerLag {
 public:
  void Observe(std::uint64_t millis_behind_latest) {
    std::uint64_t cur = max_.load(std::memory_order_relaxed);
    while (cur < millis_behind_latest &&
           !max_.compare_exchange_weak(cur, millis_behind_latest, std::memory_order_relaxed)) {
    }
    seen_.store(true, std::memory_order_release);
  }

 private:
  friend class ShardMetrics;
  std::atomic<std::uint64_t> max_{0};  // largest value observed since the last roll
  std::atomic<bool> seen_{false};      // an event was observed since the last roll
};

class ShardMetrics {
 public:
  static constexpr std::size_t kMaxConsumerLags = 20;

  void Add(api::Metric m, std::uint64_t v) {
    counters_[static_cast<std::size_t>(m)].fetch_add(v, std::memory_order_relaxed);
  }
  // For the gauge: keeps the largest value seen in the current second.
  void Max(api::Metric m, std::uint64_t v) {
    auto& c = counters_[static_cast<std::size_t>(m)];
    std::uint64_t cur = c.load(std::memory_order_relaxed);
    while (cur < v && !c.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
  }

  // The lag gauge of `consumer` on this shard, for a subscription to hold while it is open;
  // nullptr when kMaxConsumerLags other consumers' series are all held.
  std::shared_ptr<ConsumerLag> ConsumerLagFor(std::string_view consumer) EXCLUDES(mu_);

  // Closes second `second` (epoch seconds): what was counted since the previous roll.
  void Roll(std::int64_t second) EXCLUDES(mu_);
  // Totals and the `seconds` seconds ending with `end_second`, oldest first.
  void Snapshot(std::int64_t end_second, int seconds, api::ShardMetricsSnapshot& out) const
      EXCLUDES(mu_);

 private:
  using Ring = std::array<std::uint32_t, api::kMetricHistorySeconds * api::kMetricCount>;
  static std::size_t Slot(std::int64_t second, std::size_t metric) {
    return static_cast<std::size_t>(second % api::kMetricHistorySeconds) * api::kMetricCount +
           metric;
  }

  struct LagSeries {
    std::string consumer;
    std::shared_ptr<ConsumerLag> lag;  // also held by the consumer's open subscriptions
    std::uint64_t last = 0;            // the last rolled second's value
    std::array<std::uint32_t, api::kMetricHistorySeconds> ring{};
  };
  void RollLags(std::int64_t second) REQUIRES(mu_);

  // What a shard keeps once it had a non-zero second (made then, as the ring was before): a
  // shard that never had any carries none of it (80 bytes per idle shard besides the ring).
  // Until then every counter is 0, and so would its fields be.
  struct History {
    std::array<std::uint64_t, api::kMetricCount> rolled{};  // counters at the last roll
    std::uint64_t last_gauge = 0;
    Ring ring{};
  };

  std::array<std::atomic<std::uint64_t>, api::kMetricCount> counters_{};
  mutable Mutex mu_;
  std::int64_t last_second_ GUARDED_BY(mu_) = -1;
  std::unique_ptr<History> history_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<LagSeries>> lags_ GUARDED_BY(mu_);
};

}  // namespace cinesis::engine
