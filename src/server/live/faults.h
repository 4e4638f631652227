// Fault injection for users' tests (issue 18): rules that make chosen operations on chosen
// streams slow, throttled, failing or cut, at a rate or for the next N calls. Set with
// `cinesis serve --fault RULE` and live through /_cinesis/faults.
//
// FaultRules holds the rules and draws from an injected random source (seeded in tests);
// FaultInjectingService wraps the engine's KinesisService and applies them. Latency, resets
// and 503s need the transport: they are asked of it through api::FaultDirective.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/batch.h"
#include "api/live.h"
#include "api/operation_list.h"
#include "api/service.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace cinesis::server::live {

struct FaultRule {
  enum class Action { kThrottle, kError, kLatency, kReset };
  std::string id;
  std::string operation;              // e.g. "PutRecords"; "*" for every operation
  std::optional<std::string> stream;  // absent: every stream
  Action action = Action::kError;
  double rate = 1.0;                  // 0..1: chance per matching call
  std::optional<std::int64_t> count;  // fire at most this many more times
  std::int64_t latency_ms = 0;
  std::string error =
      "InternalFailure";       // kError: InternalFailure (500) or ServiceUnavailable (503)
  std::uint64_t injected = 0;  // times fired so far
};

class FaultRules {
 public:
  // `random` returns a uniform value in [0, 1); called once per matching call (or record).
  explicit FaultRules(std::function<double()> random);

  // Parses a rule from JSON (the /_cinesis/faults shape) or from the flag's
  // "key=value,key=value" form. InvalidArgumentException with the reason.
  static Result<FaultRule> Parse(std::string_view text);
  static Result<FaultRule> FromJson(const boost::json::value& v);

  // Adds a rule (an id is assigned when empty; a rule with the same id is replaced).
  std::string Add(FaultRule rule) EXCLUDES(mu_);
  bool Remove(std::string_view id) EXCLUDES(mu_);
  void Clear() EXCLUDES(mu_);
  bool empty() const { return count_.load(std::memory_order_relaxed) == 0; }
  // {"rules":[...]} with each rule's `injected` count and remaining `count`.
  std::string ToJson() const EXCLUDES(mu_);

  // The first rule for `operation` on `stream` that fires now (its count taken), if any.
  std::optional<FaultRule> Draw(std::string_view operation, std::string_view stream) EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::function<double()> random_ GUARDED_BY(mu_);  // called with mu_ held
  std::vector<FaultRule> rules_ GUARDED_BY(mu_);
  std::atomic<std::size_t> count_{0};  // rules_.size(), read without the lock
  std::uint64_t next_id_ GUARDED_BY(mu_) = 1;
};

// The Kinesis operations with the rules applied in front of `target`. `live` names the stream
// of a GetRecords iterator and the shard a throttled record would have gone to.
class FaultInjectingService final : public api::KinesisService, public api::BatchDataPlane {
 public:
  FaultInjectingService(api::KinesisService& target, api::LiveService& live, FaultRules& rules)
      : target_(target),
        target_batch_(dynamic_cast<api::BatchDataPlane*>(&target)),
        live_(live),
        rules_(rules) {}

  // Straight to the target's BatchDataPlane while no rule is set; with rules, as the
  // KinesisService calls (converted).
  Result<api::PutRecordsBatchOutput> PutRecordsBatch(const api::PutRecordsViewInput& in) override;
  Result<api::GetRecordsBatchOutput> GetRecordsBatch(const api::GetRecordsInput& in) override;

#define CINESIS_FAULT_X(Ret, Name, In) Ret Name(const In& in) override;
#define CINESIS_FAULT_X0(Ret, Name) Ret Name() override;
  CINESIS_KINESIS_OPERATIONS(CINESIS_FAULT_X, CINESIS_FAULT_X0)
#undef CINESIS_FAULT_X
#undef CINESIS_FAULT_X0

 private:
  template <class In, class F>
  auto Call(std::string_view operation, const In& in, F forward) -> decltype(forward());
  template <class F>
  Result<api::PutRecordsOutput> Call(std::string_view operation, const api::PutRecordsInput& in,
                                     F forward);
  // OK to go on (after any latency), else the injected error for `rule`.
  Status Inject(const FaultRule& rule, std::string_view operation, const std::string& stream,
                const std::string& shard);

  api::KinesisService& target_;
  api::BatchDataPlane* target_batch_;  // nullptr when `target` has no BatchDataPlane
  api::LiveService& live_;
  FaultRules& rules_;
};

}  // namespace cinesis::server::live
