#include "server/subscription_pump.h"

#include <algorithm>
#include <atomic>

#include "api/codec.h"
#include "api/eventstream.h"
#include "api/json_writer.h"

namespace cinesis::server {

SubscriptionPump::SubscriptionPump(std::shared_ptr<api::Subscription> subscription)
    : subscription_(std::move(subscription)), last_event_(std::chrono::steady_clock::now()) {}

SubscriptionPump::Step SubscriptionPump::Next(bool stopping,
                                              std::function<void(std::uint64_t)> notify) {
  Step step;
  const EpochMillis now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  auto& sub = *subscription_;
  if (sub.Finished() || now >= sub.ExpiresAt() || stopping) return step;  // kEnd
  auto ev = sub.Next();
  if (!ev.ok()) {
    step.kind = Step::Kind::kFinal;
    step.message = api::eventstream::Exception(ev.status().name(), ev.status().message());
    return step;
  }
  const auto steady_now = std::chrono::steady_clock::now();
  if (!ev->records.empty() || ev->child_shards || steady_now - last_event_ >= kHeartbeat) {
    std::string payload;
    api::JsonWriter w(payload);
    api::Encode(w, *ev);
    step.kind = Step::Kind::kEvent;
    step.message = api::eventstream::Event("SubscribeToShardEvent", payload);
    last_event_ = steady_now;
    return step;
  }
  // Nothing new: wait for an append, the heartbeat, or the expiry if that comes first.
  step.kind = Step::Kind::kWait;
  step.generation = generation_ = NewGeneration();
  step.wait = std::min<std::chrono::milliseconds>(kHeartbeat,
                                                  std::chrono::milliseconds(sub.ExpiresAt() - now));
  sub.NotifyOnAppend([notify = std::move(notify), gen = step.generation] { notify(gen); });
  return step;
}

std::uint64_t SubscriptionPump::NewGeneration() {
  // Process-wide, so that a wake-up meant for an earlier subscription of the same
  // connection can never match a later one's.
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

bool SubscriptionPump::Wake(std::uint64_t generation) {
  if (generation != generation_) return false;
  generation_ = NewGeneration();
  return true;
}

}  // namespace cinesis::server
