// Retries with exponential backoff and full jitter, on an injectable clock.
//
// A failed call is retried when its error is retriable (throttling, limits, internal
// failures, network errors and timeouts; see cinesis::IsRetriable) until `max_attempts`
// calls were made or the next attempt would start after the deadline. The wait before
// attempt n (n >= 2) is uniform in [0, min(max_delay, base_delay * 2^(n-2))] ("full
// jitter"), which spreads retry storms out. A retriable error returned after the retries
// ran out is logged as a warning (cinesis/log.h, component "client").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "cinesis/clock.h"
#include "cinesis/export.h"
#include "cinesis/log.h"
#include "cinesis/status.h"

namespace cinesis {

// Waits; tests inject one that advances a ManualClock instead of sleeping.
class CINESIS_EXPORT Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepFor(std::chrono::milliseconds d) = 0;
  static Sleeper& Real();
};

struct RetryOptions {
  int max_attempts = 5;  // 1 = no retries
  std::chrono::milliseconds base_delay{50};
  std::chrono::milliseconds max_delay{2000};
  std::optional<std::chrono::milliseconds> deadline{};  // overall, from the first attempt
  const Clock* clock = &SystemClock::Instance();
  Sleeper* sleeper = &Sleeper::Real();
};

// Checks the option table's ranges (docs/configuration.md); InvalidArgument naming the first
// bad option. KinesisClient::Create checks ClientOptions::retry with it.
CINESIS_EXPORT Status Validate(const RetryOptions& options);
// The option table as Markdown rows (for docs/configuration.md).
CINESIS_EXPORT std::string RetryOptionsMarkdown();

class CINESIS_EXPORT RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options) : options_(options), rng_(std::random_device{}()) {}

  // Delay before attempt `attempt` (2 = first retry). Thread-safe.
  std::chrono::milliseconds Backoff(int attempt);

  // Runs `call` (returning Status or Result<T>) with retries; returns the last outcome.
  template <typename F>
  auto Run(F&& call) -> decltype(call()) {
    const EpochMillis start = options_.clock->NowMillis();
    for (int attempt = 1;; ++attempt) {
      auto outcome = call();
      const Status& st = StatusOf(outcome);
      if (st.ok() || !st.retriable()) return outcome;
      if (attempt >= options_.max_attempts) {
        LogGaveUp(attempt, st);
        return outcome;
      }
      const auto wait = Backoff(attempt + 1);
      if (options_.deadline &&
          options_.clock->NowMillis() + wait.count() - start > options_.deadline->count()) {
        LogGaveUp(attempt, st);
        return outcome;
      }
      options_.sleeper->SleepFor(wait);
    }
  }

  const RetryOptions& options() const { return options_; }

 private:
  // Retries exhausted: a warning through the log hook (component "client"). Not with
  // max_attempts == 1, where the caller asked for no retries.
  static void LogGaveUp(int attempts, const Status& st) {
    if (attempts < 2 || !LogEnabled(LogLevel::kWarning)) return;
    Log(LogLevel::kWarning, "client",
        "giving up after " + std::to_string(attempts) + " attempt(s): " + st.ToString());
  }
  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& StatusOf(const Result<T>& r) {
    return r.status();
  }

  RetryOptions options_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace cinesis
