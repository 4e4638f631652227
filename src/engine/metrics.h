// Per-shard metrics (issue 18): CloudWatch-named counters with a bounded 1-second history.
//
// The data path only adds to relaxed atomics (no lock, no allocation). Once a second the
// engine's Tick rolls every shard: the counts since the previous roll become that second's
// values in a ring of api::kMetricHistorySeconds seconds. The ring (kMetricHistorySeconds *
// kMetricCount 32-bit values: 32,400 bytes) is allocated when a shard first has a non-zero
// second, so idle shards cost only the counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "api/live.h"
#include "common/thread_annotations.h"

namespace cinesis::engine {

class ShardMetrics {
 public:
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

  std::array<std::atomic<std::uint64_t>, api::kMetricCount> counters_{};
  mutable Mutex mu_;
  std::array<std::uint64_t, api::kMetricCount> rolled_ GUARDED_BY(mu_){};  // counters at roll
  std::uint64_t last_gauge_ GUARDED_BY(mu_) = 0;
  std::int64_t last_second_ GUARDED_BY(mu_) = -1;
  std::unique_ptr<Ring> ring_ GUARDED_BY(mu_);
};

}  // namespace cinesis::engine
