// Injectable clock: every time-dependent rule (stream status transitions, iterator
// expiry, retention) reads time through a Clock so tests advance time instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "cinesis/export.h"

namespace cinesis {

// Milliseconds since the Unix epoch.
using EpochMillis = std::int64_t;

class CINESIS_EXPORT Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in ms since the epoch. Thread-safe.
  virtual EpochMillis NowMillis() const = 0;
};

class CINESIS_EXPORT SystemClock final : public Clock {
 public:
  EpochMillis NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to. Thread-safe.
class CINESIS_EXPORT ManualClock final : public Clock {
 public:
  explicit ManualClock(EpochMillis start = 1'700'000'000'000) : now_(start) {}
  EpochMillis NowMillis() const override { return now_.load(std::memory_order_relaxed); }
  void Advance(EpochMillis ms) { now_.fetch_add(ms, std::memory_order_relaxed); }
  void Set(EpochMillis ms) { now_.store(ms, std::memory_order_relaxed); }

 private:
  std::atomic<EpochMillis> now_;
};

}  // namespace cinesis
