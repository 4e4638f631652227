#include "cinesis/testing/local_kinesis.h"

#include "engine/engine.h"
#include "storage/log.h"

namespace cinesis::testing {

LocalKinesis::LocalKinesis(LocalKinesisOptions options) {
  engine::EngineOptions eo;
  if (options.clock) eo.clock = options.clock;
  eo.create_stream_ms = options.create_stream_ms;
  eo.delete_stream_ms = options.delete_stream_ms;
  eo.update_stream_ms = options.update_stream_ms;
  engine_ = std::make_unique<engine::Engine>(eo, storage::NewMemoryStorage());
  client_ = std::make_unique<KinesisClient>(*engine_, options.retry);
}

LocalKinesis::~LocalKinesis() = default;

api::KinesisService& LocalKinesis::service() { return *engine_; }

void LocalKinesis::Tick() { engine_->Tick(); }

}  // namespace cinesis::testing
