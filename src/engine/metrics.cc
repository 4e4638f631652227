#include "engine/metrics.h"

#include <algorithm>
#include <limits>

namespace cinesis::engine {

std::shared_ptr<ConsumerLag> ShardMetrics::ConsumerLagFor(std::string_view consumer) {
  MutexLock lock(&mu_);
  for (const auto& l : lags_) {
    if (l->consumer == consumer) return l->lag;
  }
  if (lags_.size() >= kMaxConsumerLags) {
    // Drop a series no open subscription holds (its consumer stopped reading this shard).
    auto idle = std::find_if(lags_.begin(), lags_.end(),
                             [](const auto& l) { return l->lag.use_count() == 1; });
    if (idle == lags_.end()) return nullptr;
    lags_.erase(idle);
  }
  auto series = std::make_unique<LagSeries>();
  series->consumer = std::string(consumer);
  series->lag = std::make_shared<ConsumerLag>();
  auto lag = series->lag;
  lags_.push_back(std::move(series));
  return lag;
}

void ShardMetrics::RollLags(std::int64_t second) {
  const std::int64_t from = std::max(
      last_second_ + 1, second - static_cast<std::int64_t>(api::kMetricHistorySeconds) + 1);
  for (auto& l : lags_) {
    std::uint64_t v = 0;
    if (l->lag->seen_.exchange(false, std::memory_order_acquire)) {
      v = l->lag->max_.exchange(0, std::memory_order_relaxed);
    } else if (l->lag.use_count() > 1) {
      v = l->last;  // an open subscription sent nothing this second: its lag is unchanged
    }
    l->last = v;
    for (std::int64_t s = from; s < second; ++s)
      l->ring[static_cast<std::size_t>(s % api::kMetricHistorySeconds)] = 0;
    l->ring[static_cast<std::size_t>(second % api::kMetricHistorySeconds)] =
        static_cast<std::uint32_t>(
            std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max()));
  }
}

void ShardMetrics::Roll(std::int64_t second) {
  MutexLock lock(&mu_);
  if (second <= last_second_) return;
  RollLags(second);
  if (!history_) {
    // Every counter has been 0 so far (rolled values 0, gauge 0): nothing to record unless
    // one moved. One that moves after this check is counted below or at the next roll.
    bool any = false;
    for (const auto& c : counters_) any = any || c.load(std::memory_order_relaxed) != 0;
    if (!any) {
      last_second_ = second;
      return;
    }
    history_ = std::make_unique<History>();  // value-initialised: zeros
  }
  History& h = *history_;
  std::array<std::uint64_t, api::kMetricCount> values{};
  for (std::size_t m = 0; m < api::kMetricCount; ++m) {
    if (api::IsGauge(static_cast<api::Metric>(m))) {
      values[m] = counters_[m].exchange(0, std::memory_order_relaxed);
      h.last_gauge = values[m];
    } else {
      const std::uint64_t now = counters_[m].load(std::memory_order_relaxed);
      values[m] = now - h.rolled[m];
      h.rolled[m] = now;
    }
  }
  // Seconds skipped since the previous roll had nothing.
  const std::int64_t from = std::max(
      last_second_ + 1, second - static_cast<std::int64_t>(api::kMetricHistorySeconds) + 1);
  for (std::int64_t s = from; s < second; ++s) {
    for (std::size_t m = 0; m < api::kMetricCount; ++m) h.ring[Slot(s, m)] = 0;
  }
  for (std::size_t m = 0; m < api::kMetricCount; ++m) {
    h.ring[Slot(second, m)] = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(values[m], std::numeric_limits<std::uint32_t>::max()));
  }
  last_second_ = second;
}

void ShardMetrics::Snapshot(std::int64_t end_second, int seconds,
                            api::ShardMetricsSnapshot& out) const {
  MutexLock lock(&mu_);
  // The seconds the rings hold: the last kMetricHistorySeconds up to the last roll.
  const std::int64_t newest = last_second_;
  const std::int64_t oldest =
      std::max<std::int64_t>(0, newest - static_cast<std::int64_t>(api::kMetricHistorySeconds) + 1);
  for (std::size_t m = 0; m < api::kMetricCount; ++m) {
    out.totals[m] = api::IsGauge(static_cast<api::Metric>(m))
                        ? (history_ ? history_->last_gauge : 0)
                        : counters_[m].load(std::memory_order_relaxed);
    auto& h = out.history[m];
    h.assign(static_cast<std::size_t>(seconds), 0);
    if (!history_) continue;
    for (int i = 0; i < seconds; ++i) {
      const std::int64_t s = end_second - seconds + 1 + i;
      if (s >= oldest && s <= newest) h[static_cast<std::size_t>(i)] = history_->ring[Slot(s, m)];
    }
  }
  out.consumer_lags.clear();
  for (const auto& l : lags_) {
    api::ConsumerLagSnapshot c;
    c.consumer_name = l->consumer;
    c.last = l->last;
    c.history.assign(static_cast<std::size_t>(seconds), 0);
    for (int i = 0; i < seconds; ++i) {
      const std::int64_t s = end_second - seconds + 1 + i;
      if (s >= oldest && s <= newest)
        c.history[static_cast<std::size_t>(i)] =
            l->ring[static_cast<std::size_t>(s % api::kMetricHistorySeconds)];
    }
    out.consumer_lags.push_back(std::move(c));
  }
}

}  // namespace cinesis::engine
