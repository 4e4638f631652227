#include "server/live/faults.h"

#include <cerrno>
#include <chrono>
#include <thread>
#include <type_traits>

#include "api/errors.h"
#include "api/pipeline.h"

namespace cinesis::server::live {

namespace json = boost::json;

namespace {

Status Invalid(std::string why) { return {Code::kInvalidArgument, "fault rule: " + why}; }

std::string_view ActionName(FaultRule::Action a) {
  switch (a) {
    case FaultRule::Action::kThrottle:
      return "throttle";
    case FaultRule::Action::kError:
      return "error";
    case FaultRule::Action::kLatency:
      return "latency";
    case FaultRule::Action::kReset:
      return "reset";
  }
  return "error";
}

// "arn:aws:kinesis:REGION:ACCOUNT:stream/NAME[/consumer/...]" -> NAME.
std::string NameOfArn(std::string_view arn) {
  auto p = arn.find(":stream/");
  if (p == std::string_view::npos) return {};
  arn.remove_prefix(p + 8);
  return std::string(arn.substr(0, arn.find('/')));
}

template <class In>
std::string StreamOf(const In& in) {
  if constexpr (requires { in.stream.stream_name; }) {
    if (in.stream.stream_name) return *in.stream.stream_name;
    if (in.stream.stream_arn) return NameOfArn(*in.stream.stream_arn);
    return {};
  } else if constexpr (requires { in.stream_arn.has_value(); }) {
    return in.stream_arn ? NameOfArn(*in.stream_arn) : std::string();
  } else if constexpr (requires { in.stream_arn.size(); }) {
    return NameOfArn(in.stream_arn);
  } else if constexpr (requires { in.resource_arn.size(); }) {
    return NameOfArn(in.resource_arn);
  } else {
    return {};
  }
}

}  // namespace

FaultRules::FaultRules(std::function<double()> random) : random_(std::move(random)) {}

Result<FaultRule> FaultRules::FromJson(const json::value& v) {
  if (!v.is_object()) return Invalid("a rule is a JSON object");
  const auto& o = v.as_object();
  FaultRule r;
  for (const auto& [key, val] : o) {
    if (key == "id") {
      if (!val.is_string()) return Invalid("id must be a string");
      r.id = std::string(val.as_string());
    } else if (key == "operation") {
      if (!val.is_string()) return Invalid("operation must be a string");
      r.operation = std::string(val.as_string());
    } else if (key == "stream") {
      if (val.is_null()) continue;
      if (!val.is_string()) return Invalid("stream must be a string");
      r.stream = std::string(val.as_string());
    } else if (key == "action") {
      if (!val.is_string()) return Invalid("action must be a string");
      const std::string_view a = val.as_string();
      if (a == "throttle")
        r.action = FaultRule::Action::kThrottle;
      else if (a == "error")
        r.action = FaultRule::Action::kError;
      else if (a == "latency")
        r.action = FaultRule::Action::kLatency;
      else if (a == "reset")
        r.action = FaultRule::Action::kReset;
      else
        return Invalid("action must be throttle, error, latency or reset");
    } else if (key == "rate") {
      if (!val.is_number()) return Invalid("rate must be a number");
      r.rate = val.to_number<double>();
      if (!(r.rate >= 0 && r.rate <= 1)) return Invalid("rate must be in 0..1");
    } else if (key == "count") {
      if (val.is_null()) continue;
      // (An integer past 2^63 - 1 parses as uint64, which to_number<int64_t> throws on.)
      if (!val.is_int64()) return Invalid("count must be an integer 0..2^63-1");
      r.count = val.get_int64();
      if (*r.count < 0) return Invalid("count must be >= 0");
    } else if (key == "latency_ms") {
      if (!val.is_int64()) return Invalid("latency_ms must be 0..600000");
      r.latency_ms = val.get_int64();
      if (r.latency_ms < 0 || r.latency_ms > 600'000)
        return Invalid("latency_ms must be 0..600000");
    } else if (key == "error") {
      if (!val.is_string()) return Invalid("error must be a string");
      r.error = std::string(val.as_string());
      if (r.error != "InternalFailure" && r.error != "ServiceUnavailable")
        return Invalid("error must be InternalFailure or ServiceUnavailable");
    } else if (key == "injected") {
      continue;  // as GET shows it
    } else {
      return Invalid("unknown field " + std::string(key));
    }
  }
  if (r.operation.empty()) return Invalid("operation is required");
  if (r.operation != "*" && !api::IsKnownOperation(r.operation))
    return Invalid("unknown operation " + r.operation);
  return r;
}

Result<FaultRule> FaultRules::Parse(std::string_view text) {
  json::object o;
  if (!text.empty() && text.front() == '{') {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) return Invalid("not JSON: " + ec.message());
    return FromJson(v);
  }
  // key=value,key=value
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos)
      return Invalid("expected key=value, got " + std::string(item));
    const std::string key(item.substr(0, eq));
    const std::string val(item.substr(eq + 1));
    if (key == "rate") {
      char* end = nullptr;
      const double d = std::strtod(val.c_str(), &end);
      if (end == val.c_str() || *end) return Invalid("rate must be a number");
      o[key] = d;
    } else if (key == "count" || key == "latency_ms") {
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(val.c_str(), &end, 10);
      // (Out of range: strtoll saturates at 2^63 - 1 and sets ERANGE.)
      if (end == val.c_str() || *end || errno == ERANGE)
        return Invalid(key + " must be an integer 0..2^63-1");
      o[key] = n;
    } else {
      o[key] = val;
    }
  }
  return FromJson(o);
}

std::string FaultRules::Add(FaultRule rule) {
  MutexLock lock(&mu_);
  if (rule.id.empty()) rule.id = "f" + std::to_string(next_id_++);
  for (auto& r : rules_) {
    if (r.id == rule.id) {
      r = rule;
      return rule.id;
    }
  }
  rules_.push_back(rule);
  count_.store(rules_.size());
  return rule.id;
}

bool FaultRules::Remove(std::string_view id) {
  MutexLock lock(&mu_);
  const bool removed = std::erase_if(rules_, [&](const FaultRule& r) { return r.id == id; }) > 0;
  count_.store(rules_.size());
  return removed;
}

void FaultRules::Clear() {
  MutexLock lock(&mu_);
  rules_.clear();
  count_.store(0);
}

std::string FaultRules::ToJson() const {
  json::array rules;
  {
    MutexLock lock(&mu_);
    for (const auto& r : rules_) {
      json::object o;
      o["id"] = r.id;
      o["operation"] = r.operation;
      if (r.stream) o["stream"] = *r.stream;
      o["action"] = ActionName(r.action);
      o["rate"] = r.rate;
      if (r.count) o["count"] = *r.count;
      o["latency_ms"] = r.latency_ms;
      if (r.action == FaultRule::Action::kError) o["error"] = r.error;
      o["injected"] = r.injected;
      rules.push_back(std::move(o));
    }
  }
  json::object out;
  out["rules"] = std::move(rules);
  return json::serialize(out);
}

std::optional<FaultRule> FaultRules::Draw(std::string_view operation, std::string_view stream) {
  MutexLock lock(&mu_);
  for (auto& r : rules_) {
    if (r.operation != "*" && r.operation != operation) continue;
    if (r.stream && *r.stream != stream) continue;
    if (r.count && *r.count <= 0) continue;
    if (!(random_() < r.rate)) continue;
    if (r.count) --*r.count;
    ++r.injected;
    return r;
  }
  return std::nullopt;
}

Status FaultInjectingService::Inject(const FaultRule& rule, std::string_view operation,
                                     const std::string& stream, const std::string& shard) {
  auto* directive = api::FaultDirective::Current();
  switch (rule.action) {
    case FaultRule::Action::kLatency:
      if (directive) {
        directive->latency_ms += rule.latency_ms;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(rule.latency_ms));
      }
      return Status::Ok();
    case FaultRule::Action::kThrottle:
      if (operation == "GetRecords" || operation == "GetShardIterator")
        return api::errors::ReadThroughputExceeded(shard, stream, live_.scope());
      if (operation == "PutRecord")
        return api::errors::ThroughputExceeded(shard, stream, live_.scope());
      // Control operations are throttled per account with LimitExceededException.
      return {Code::kLimitExceeded, "Rate exceeded for stream " + stream + " under account " +
                                        live_.scope().account_id + "."};
    case FaultRule::Action::kReset:
      if (directive) directive->reset = true;
      return api::errors::InternalFailure();
    case FaultRule::Action::kError:
      if (rule.error == "ServiceUnavailable" && directive) {
        directive->http_status = 503;
        directive->error_type = "ServiceUnavailable";
        directive->error_message = "Service Unavailable";
      }
      return api::errors::InternalFailure();
  }
  return Status::Ok();
}

template <class In, class F>
auto FaultInjectingService::Call(std::string_view operation, const In& in, F forward)
    -> decltype(forward()) {
  if (rules_.empty()) return forward();
  std::string stream = StreamOf(in);
  std::string shard;
  if constexpr (std::is_same_v<In, api::GetRecordsInput>) {
    if (auto s = live_.StreamOfIterator(in.shard_iterator)) std::tie(stream, shard) = *s;
  }
  if constexpr (requires { in.shard_id.size(); }) shard = in.shard_id;
  auto rule = rules_.Draw(operation, stream);
  if (!rule) return forward();
  if constexpr (std::is_same_v<In, api::PutRecordInput>) {
    if (rule->action == FaultRule::Action::kThrottle) {
      auto routed = live_.RouteRecord(stream, in.partition_key, in.explicit_hash_key);
      if (routed.ok()) shard = *routed;
    }
  }
  if (Status st = Inject(*rule, operation, stream, shard); !st.ok()) return st;
  return forward();
}

// PutRecords: a throttle rule fails every record of the call with the per-record error AWS
// answers (HTTP 200, FailedRecordCount); other actions apply as to any call.
template <class F>
Result<api::PutRecordsOutput> FaultInjectingService::Call(std::string_view operation,
                                                          const api::PutRecordsInput& in,
                                                          F forward) {
  if (rules_.empty()) return forward();
  const std::string stream = StreamOf(in);
  auto rule = rules_.Draw(operation, stream);
  if (!rule) return forward();
  if (rule->action != FaultRule::Action::kThrottle) {
    if (Status st = Inject(*rule, operation, stream, ""); !st.ok()) return st;
    return forward();
  }
  api::PutRecordsOutput out;
  for (const auto& r : in.records) {
    ASSIGN_OR_RETURN(std::string shard,
                     live_.RouteRecord(stream, r.partition_key, r.explicit_hash_key));
    const Status st = api::errors::ThroughputExceeded(shard, stream, live_.scope());
    api::PutRecordsResultEntry e;
    e.error_code = std::string(st.name());
    e.error_message = st.message();
    out.records.push_back(std::move(e));
    ++out.failed_record_count;
  }
  return out;
}

#define CINESIS_FAULT_X(Ret, Name, In)                                 \
  Ret FaultInjectingService::Name(const In& in) {                      \
    return Call(#Name, in, [&]() -> Ret { return target_.Name(in); }); \
  }
#define CINESIS_FAULT_X0(Ret, Name)                                      \
  Ret FaultInjectingService::Name() {                                    \
    struct None {};                                                      \
    return Call(#Name, None{}, [&]() -> Ret { return target_.Name(); }); \
  }
CINESIS_KINESIS_OPERATIONS(CINESIS_FAULT_X, CINESIS_FAULT_X0)
#undef CINESIS_FAULT_X
#undef CINESIS_FAULT_X0

Result<api::PutRecordsBatchOutput> FaultInjectingService::PutRecordsBatch(
    const api::PutRecordsViewInput& in) {
  if (rules_.empty() && target_batch_ != nullptr) return target_batch_->PutRecordsBatch(in);
  ASSIGN_OR_RETURN(auto out, PutRecords(api::CopyOf(in)));
  return api::ToBatch(out);
}

Result<api::GetRecordsBatchOutput> FaultInjectingService::GetRecordsBatch(
    const api::GetRecordsInput& in) {
  if (target_batch_ == nullptr) {
    ASSIGN_OR_RETURN(auto out, GetRecords(in));
    return api::ToBatch(out);
  }
  return Call("GetRecords", in, [&]() -> Result<api::GetRecordsBatchOutput> {
    return target_batch_->GetRecordsBatch(in);
  });
}

}  // namespace cinesis::server::live
