// The SubscribeToShard event loop, shared by the HTTP/1.1 and HTTP/2 sessions: what to send
// next on a subscription's event stream, or how long to wait.
//
// A session calls Next() when it can send. The answer is one of: end the stream (the
// subscription finished, expired, or the server is stopping), send an event (records,
// ChildShards, or an empty heartbeat at least every kHeartbeat), send a final in-stream
// exception, or wait. To wait, the session arms a timer for `wait` and, as Next() did through
// `notify`, will be told when the shard gets records; either way it calls Wake(generation) on
// its own executor, and only the first wake-up of a generation counts (the others are stale).
//
// Threading: every method runs on the owning session's executor; `notify` may be called from
// any thread (the engine's), once, and must only schedule the wake-up on that executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/service.h"

namespace cinesis::server {

class SubscriptionPump {
 public:
  // An event at least this often, even empty, as the service sends them.
  static constexpr std::chrono::seconds kHeartbeat{2};

  struct Step {
    enum class Kind { kEnd, kEvent, kFinal, kWait };
    Kind kind = Kind::kEnd;
    std::string message;               // kEvent, kFinal: one event-stream message
    std::chrono::milliseconds wait{};  // kWait: wake at the latest after this long
    std::uint64_t generation = 0;      // kWait: the value to pass to Wake
  };

  explicit SubscriptionPump(std::shared_ptr<api::Subscription> subscription);

  // The next step; `notify(generation)` is registered with the subscription when the answer
  // is kWait. Sending an event counts as the last event for the heartbeat.
  Step Next(bool stopping, std::function<void(std::uint64_t generation)> notify);
  // True when `generation` is the current wait (which it ends); false for a stale wake-up.
  bool Wake(std::uint64_t generation);
  // The current generation: Wake(generation()) forces the next Next() (e.g. when stopping).
  std::uint64_t generation() const { return generation_; }
  // Makes every pending wake-up stale (the stream is closing).
  void Cancel() { generation_ = NewGeneration(); }

 private:
  static std::uint64_t NewGeneration();

  std::shared_ptr<api::Subscription> subscription_;
  std::chrono::steady_clock::time_point last_event_;
  std::uint64_t generation_ = NewGeneration();
};

}  // namespace cinesis::server
