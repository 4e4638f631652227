// LocalKinesis: the cinesis engine in process, as a test double for code that uses
// KinesisClient. Unlike a stub, writes are readable: PutRecords then GetRecords returns
// the records, with real shards, hash routing, sequence numbers, iterators, resharding
// and the exact errors of the service. No socket, no threads of its own.
//
//   ```cpp
//   cinesis::testing::LocalKinesis kinesis;  // streams become ACTIVE at once
//   cinesis::KinesisClient& client = kinesis.client();
//   if (!client.CreateStream("orders", /*shard_count=*/2).ok()) return 1;
//   // ... hand `client` to the code under test, then read what it wrote:
//   auto shards = client.ListShards("orders");
//   ```
//
// Thread-safe like the engine. Time comes from `clock` when given (ManualClock lets
// tests expire iterators or retention without sleeping).
#pragma once

#include <memory>

#include "cinesis/client.h"
#include "cinesis/clock.h"

namespace cinesis::engine {
class Engine;
}

namespace cinesis::testing {

struct LocalKinesisOptions {
  const Clock* clock = nullptr;      // default: the system clock
  EpochMillis create_stream_ms = 0;  // CREATING -> ACTIVE
  EpochMillis delete_stream_ms = 0;
  EpochMillis update_stream_ms = 0;  // UPDATING -> ACTIVE (resharding)
  RetryOptions retry = NoRetries();

  static RetryOptions NoRetries() {
    RetryOptions r;
    r.max_attempts = 1;
    return r;
  }
};

class CINESIS_EXPORT LocalKinesis {
 public:
  explicit LocalKinesis(LocalKinesisOptions options = {});
  ~LocalKinesis();
  LocalKinesis(const LocalKinesis&) = delete;
  LocalKinesis& operator=(const LocalKinesis&) = delete;

  KinesisClient& client() { return *client_; }
  // The engine as a KinesisService, e.g. the target of a ForwardingKinesisService fake
  // (cinesis/service.h); calls on it are not retried and not checked. Requests through
  // client() are checked as the service checks them on the wire (member types, then
  // constraints, with AWS's texts) before the engine sees them.
  api::KinesisService& service();
  engine::Engine& engine() { return *engine_; }
  // Runs the engine's housekeeping (deleting streams, applying retention) now.
  void Tick();

 private:
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<api::KinesisService> validating_;  // checks requests, then the engine
  std::unique_ptr<KinesisClient> client_;
};

}  // namespace cinesis::testing
