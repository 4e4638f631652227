// Server-side parts of the service interface: deferred durability acknowledgements and
// SubscribeToShard subscriptions. The operations interface itself (KinesisService) is public,
// in cinesis/service.h.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "api/types.h"
#include "cinesis/service.h"
#include "common/status.h"

namespace cinesis::api {

// Durability acknowledgements a transport can wait for without blocking a thread.
//
// While a DeferredAcks is installed on the calling thread (ScopedDeferredAcks), writes
// (PutRecord, PutRecords) return as soon as their records are queued, registering here
// what remains to wait for; the transport sends the answer once `Run` calls back. Without
// one installed (the in-process client, worker threads), writes block until durable.
class DeferredAcks {
 public:
  // Arranges for its argument to be called once, from any thread, when a write is durable
  // (or failed). It must not block.
  using Wait = std::function<void(std::function<void(Status)>)>;

  void Add(Wait wait) { waits_.push_back(std::move(wait)); }
  bool empty() const { return waits_.empty(); }
  // Starts every wait; `done` is called once, after the last completes, with the first
  // error (or OK). Consumes the registered waits.
  void Run(std::function<void(Status)> done);

  // The instance installed on this thread, or nullptr.
  static DeferredAcks* Current();

 private:
  friend class ScopedDeferredAcks;
  std::vector<Wait> waits_;
};

// Installs `acks` as DeferredAcks::Current() for this thread for the scope's lifetime.
class ScopedDeferredAcks {
 public:
  explicit ScopedDeferredAcks(DeferredAcks* acks);
  ~ScopedDeferredAcks();
  ScopedDeferredAcks(const ScopedDeferredAcks&) = delete;
  ScopedDeferredAcks& operator=(const ScopedDeferredAcks&) = delete;

 private:
  DeferredAcks* previous_;
};

// A live SubscribeToShard subscription. The server pulls events from it and asks to be
// told when the shard gets new records, so records are pushed as soon as they are
// appended, without polling. Thread-safe.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // The next event: the records appended since the previous one (possibly none), the
  // continuation sequence number, and ChildShards once the end of a closed shard is
  // reached. Errors are in-stream exceptions (e.g. another subscription took over).
  virtual Result<SubscribeToShardEvent> Next() = 0;
  // True after the last event (the end of a closed shard) or once superseded.
  virtual bool Finished() const = 0;
  // Calls `notify` once, from any thread, when records are waiting (at once if they are).
  virtual void NotifyOnAppend(std::function<void()> notify) = 0;
  // Subscriptions last at most 5 minutes.
  virtual EpochMillis ExpiresAt() const = 0;
};

// The event-stream operation, apart from the request/response ones.
class EventStreamService {
 public:
  virtual ~EventStreamService() = default;
  virtual Result<std::shared_ptr<Subscription>> SubscribeToShard(
      const SubscribeToShardInput& in) = 0;
};

}  // namespace cinesis::api
