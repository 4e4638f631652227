#include "cinesis/testing/local_kinesis.h"

#include <boost/json.hpp>
#include <string_view>

#include "api/model.h"
#include "api/operation_list.h"
#include "api/service.h"
#include "api/validate.h"
#include "client/wire_codec.h"
#include "engine/engine.h"
#include "storage/log.h"

namespace cinesis::testing {
namespace {

// Checks a request as the service does on the wire (member types, then constraints, with
// AWS's texts), so that LocalKinesis answers bad input as cinesis serve and AWS do: the engine
// trusts validated input (a ShardCount of 0 would divide by zero).
template <typename In>
Status CheckAsOnTheWire(std::string_view operation, const In& in) {
  if constexpr (requires { client::wire::Encode(in); }) {
    const api::Operation* op = api::Model::Get().FindOperation(operation);
    if (op == nullptr || op->input == nullptr) return Status::Ok();
    boost::json::error_code ec;
    boost::json::value doc = boost::json::parse(client::wire::Encode(in), ec);
    if (ec || !doc.is_object()) return Status::Ok();  // nothing the service would see either
    auto& body = doc.get_object();
    if (Status st = api::CheckTypes(*op->input, body); !st.ok()) return st;
    return api::CheckConstraints(*op->input, body);
  } else {
    (void)operation;
    (void)in;
    return Status::Ok();
  }
}

// Also the engine's event-stream side, so that the client over it can SubscribeToShard.
class ValidatingService final : public ForwardingKinesisService, public api::EventStreamService {
 public:
  explicit ValidatingService(engine::Engine& engine)
      : ForwardingKinesisService(engine), engine_(engine) {}
  Result<std::shared_ptr<api::Subscription>> SubscribeToShard(
      const api::SubscribeToShardInput& in) override {
    if (Status st = CheckAsOnTheWire("SubscribeToShard", in); !st.ok()) return st;
    return engine_.SubscribeToShard(in);
  }
#define CINESIS_LOCAL_CHECK(Ret, Name, In)                            \
  Ret Name(const In& in) override {                                   \
    if (Status st = CheckAsOnTheWire(#Name, in); !st.ok()) return st; \
    return ForwardingKinesisService::Name(in);                        \
  }
#define CINESIS_LOCAL_PASS0(Ret, Name) \
  Ret Name() override { return ForwardingKinesisService::Name(); }
  CINESIS_KINESIS_OPERATIONS(CINESIS_LOCAL_CHECK, CINESIS_LOCAL_PASS0)
#undef CINESIS_LOCAL_CHECK
#undef CINESIS_LOCAL_PASS0

 private:
  engine::Engine& engine_;
};

}  // namespace

LocalKinesis::LocalKinesis(LocalKinesisOptions options) {
  engine::EngineOptions eo;
  if (options.clock) eo.clock = options.clock;
  eo.create_stream_ms = options.create_stream_ms;
  eo.delete_stream_ms = options.delete_stream_ms;
  eo.update_stream_ms = options.update_stream_ms;
  engine_ = std::make_unique<engine::Engine>(eo, storage::NewMemoryStorage());
  validating_ = std::make_unique<ValidatingService>(*engine_);
  client_ = std::make_unique<KinesisClient>(*validating_, options.retry);
}

LocalKinesis::~LocalKinesis() = default;

api::KinesisService& LocalKinesis::service() { return *engine_; }

void LocalKinesis::Tick() { engine_->Tick(); }

}  // namespace cinesis::testing
