#include "api/service.h"

#include <atomic>
#include <mutex>

#include "common/thread_annotations.h"

namespace cinesis::api {

namespace {
thread_local DeferredAcks* current_acks = nullptr;
}  // namespace

DeferredAcks* DeferredAcks::Current() { return current_acks; }

ScopedDeferredAcks::ScopedDeferredAcks(DeferredAcks* acks) : previous_(current_acks) {
  current_acks = acks;
}

ScopedDeferredAcks::~ScopedDeferredAcks() { current_acks = previous_; }

void DeferredAcks::Run(std::function<void(Status)> done) {
  std::vector<Wait> waits;
  waits.swap(waits_);
  if (waits.empty()) return done(Status::Ok());
  // One write (PutRecord, or a PutRecords on one shard): its wait reports to `done` itself.
  if (waits.size() == 1) return waits.front()(std::move(done));
  struct Join {
    std::atomic<std::size_t> left;
    Mutex mu;
    Status first_error GUARDED_BY(mu);
    std::function<void(Status)> done;
  };
  auto join = std::make_shared<Join>();
  join->left = waits.size();
  join->done = std::move(done);
  for (auto& wait : waits) {
    wait([join](Status st) {
      if (!st.ok()) {
        MutexLock lock(&join->mu);
        if (join->first_error.ok()) join->first_error = std::move(st);
      }
      if (join->left.fetch_sub(1) == 1) {
        Status result;
        {
          MutexLock lock(&join->mu);
          result = join->first_error;
        }
        join->done(std::move(result));
      }
    });
  }
}

}  // namespace cinesis::api
