// Options: the key tables and the option bag functions of cinesis.h.
#include "capi/options.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <string_view>
#include <vector>

namespace cinesis::capi {
namespace {

Status Bad(std::string_view kind, const std::string& key, const std::string& value,
           std::string_view want) {
  return Status(Code::kInvalidArgument, std::string(kind) + " option '" + key + "': bad value '" +
                                            value + "' (want " + std::string(want) + ")");
}

// The parsers answer false for a bad value; the caller names key and expectation.
bool ParseInt64(const std::string& v, std::int64_t& out) {
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

bool ParseBool(const std::string& v, bool& out) {
  if (v == "true") return out = true, true;
  if (v == "false") return !(out = false);
  return false;
}

bool ParseDouble(const std::string& v, double& out) {
  if (v == "inf") return out = std::numeric_limits<double>::infinity(), true;
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() && std::isfinite(out) && out > 0;
}

template <typename T>
struct Option {
  const char* key;
  const char* doc;
  std::function<Status(T&, const std::string& key, const std::string& value)> parse;
};

// Generic field parsers.
template <typename T, typename Get>
Option<T> Ms(const char* key, const char* doc, const char* kind, Get get) {
  return {key, doc, [kind, get](T& o, const std::string& k, const std::string& v) {
            std::int64_t n = 0;
            if (!ParseInt64(v, n) || n < 0) return Bad(kind, k, v, "milliseconds >= 0");
            get(o) = std::chrono::milliseconds(n);
            return Status::Ok();
          }};
}
template <typename T, typename Get>
Option<T> Int(const char* key, const char* doc, const char* kind, std::int64_t min,
              std::int64_t max, Get get) {
  return {key, doc, [kind, min, max, get](T& o, const std::string& k, const std::string& v) {
            std::int64_t n = 0;
            if (!ParseInt64(v, n) || n < min || n > max) {
              return Bad(kind, k, v,
                         "an integer in " + std::to_string(min) + ".." + std::to_string(max));
            }
            using F = std::remove_reference_t<decltype(get(o))>;
            get(o) = static_cast<F>(n);
            return Status::Ok();
          }};
}
template <typename T, typename Get>
Option<T> Bool(const char* key, const char* doc, const char* kind, Get get) {
  return {key, doc, [kind, get](T& o, const std::string& k, const std::string& v) {
            bool b = false;
            if (!ParseBool(v, b)) return Bad(kind, k, v, "true or false");
            get(o) = b;
            return Status::Ok();
          }};
}
template <typename T, typename Get>
Option<T> Str(const char* key, const char* doc, Get get) {
  return {key, doc, [get](T& o, const std::string&, const std::string& v) {
            get(o) = v;
            return Status::Ok();
          }};
}

constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

const std::vector<Option<ClientOptions>>& ClientTable() {
  using O = ClientOptions;
  static const auto* t = new std::vector<Option<O>>{
      Str<O>(
          "endpoint", "URL, e.g. `http://127.0.0.1:4567`; default: as the AWS SDKs",
          [](O & o) -> auto& { return o.endpoint; }),
      Str<O>(
          "region", "signing region; default: environment, profile, else us-east-1",
          [](O & o) -> auto& { return o.region; }),
      Str<O>(
          "access_key_id", "explicit credentials (with `secret_access_key`)",
          [](O & o) -> auto& { return o.access_key_id; }),
      Str<O>(
          "secret_access_key", "explicit credentials (with `access_key_id`)",
          [](O & o) -> auto& { return o.secret_access_key; }),
      Str<O>(
          "session_token", "explicit credentials: session token",
          [](O & o) -> auto& { return o.session_token; }),
      Str<O>(
          "profile", "shared config profile; default: `$AWS_PROFILE`, else default",
          [](O & o) -> auto& { return o.profile; }),
      Ms<O>(
          "connect_timeout_ms", "default 3000", "client",
          [](O & o) -> auto& { return o.connect_timeout; }),
      Ms<O>(
          "request_timeout_ms", "default 30000", "client",
          [](O & o) -> auto& { return o.request_timeout; }),
      Bool<O>(
          "verify_tls", "default true", "client", [](O & o) -> auto& { return o.verify_tls; }),
      Str<O>(
          "ca_bundle",
          "PEM file of CAs for https; default: `$AWS_CA_BUNDLE`, the profile's, else the system's",
          [](O & o) -> auto& { return o.ca_bundle; }),
      Int<O>(
          "retry.max_attempts", "1 = no retries; default 5", "client", 1, kIntMax,
          [](O & o) -> auto& { return o.retry.max_attempts; }),
      Ms<O>(
          "retry.base_delay_ms", "default 50", "client",
          [](O & o) -> auto& { return o.retry.base_delay; }),
      Ms<O>(
          "retry.max_delay_ms", "default 2000", "client",
          [](O & o) -> auto& { return o.retry.max_delay; }),
  };
  return *t;
}

const std::vector<Option<ProducerConfig>>& ProducerTable() {
  using O = ProducerConfig;
  const char* k = "producer";
  static const auto* t = new std::vector<Option<O>>{
      Str<O>(
          "stream", "required: the stream name",
          [](O & o) -> auto& { return o.options.stream_name; }),
      Ms<O>(
          "linger_ms", "wait this long to fill a batch; default 50", k,
          [](O & o) -> auto& { return o.options.linger; }),
      Int<O>(
          "max_batch_records", "1..500; default 500", k, 1, 500,
          [](O & o) -> auto& { return o.options.max_batch_records; }),
      Int<O>(
          "max_batch_bytes", "1..5 MiB; default 5 MiB", k, 1, 5 << 20,
          [](O & o) -> auto& { return o.options.max_batch_bytes; }),
      Int<O>(
          "buffer_bytes", "bytes accepted but not completed; default 64 MiB", k, 1, kI64Max,
          [](O & o) -> auto& { return o.options.buffer_bytes; }),
      {"overflow", "`block` (default) or `fail` when the buffer is full",
       [](O& o, const std::string& key, const std::string& v) {
         if (v == "block") {
           o.options.overflow = OverflowPolicy::kBlock;
         } else if (v == "fail") {
           o.options.overflow = OverflowPolicy::kFailFast;
         } else {
           return Bad("producer", key, v, "block or fail");
         }
         return Status::Ok();
       }},
      Ms<O>(
          "record_ttl_ms", "give up on a record after this; default 30000", k,
          [](O & o) -> auto& { return o.options.record_ttl; }),
      {"shard_records_per_second", "per-shard limit; default 1000; `inf` disables",
       [](O& o, const std::string& key, const std::string& v) {
         if (!ParseDouble(v, o.options.shard_records_per_second))
           return Bad("producer", key, v, "a positive number or inf");
         return Status::Ok();
       }},
      {"shard_bytes_per_second", "per-shard limit; default 1 MiB; `inf` disables",
       [](O& o, const std::string& key, const std::string& v) {
         if (!ParseDouble(v, o.options.shard_bytes_per_second))
           return Bad("producer", key, v, "a positive number or inf");
         return Status::Ok();
       }},
      Bool<O>(
          "aggregate", "KPL aggregation; default false", k,
          [](O & o) -> auto& { return o.options.aggregate; }),
      Bool<O>(
          "strict_key_order", "order per partition key across retries; default false", k,
          [](O & o) -> auto& { return o.options.strict_key_order; }),
      Int<O>(
          "max_in_flight", "concurrent PutRecords calls; default 16", k, 1, 1 << 16,
          [](O & o) -> auto& { return o.options.max_in_flight; }),
      Bool<O>(
          "delivery_reports", "`false`: no reports are queued for poll; default true", k,
          [](O & o) -> auto& { return o.delivery_reports; }),
  };
  return *t;
}

const std::vector<Option<ConsumerOptions>>& ConsumerTable() {
  using O = ConsumerOptions;
  const char* k = "consumer";
  static const auto* t = new std::vector<Option<O>>{
      Str<O>(
          "application", "required: scopes checkpoints and leases",
          [](O & o) -> auto& { return o.application; }),
      Str<O>(
          "stream", "required: the stream name", [](O & o) -> auto& { return o.stream_name; }),
      Str<O>(
          "worker_id", "this worker in the lease store; default host-pid-random",
          [](O & o) -> auto& { return o.worker_id; }),
      {"initial_position", "`TRIM_HORIZON` (default), `LATEST` or `AT_TIMESTAMP`",
       [](O& o, const std::string& key, const std::string& v) {
         if (v == "TRIM_HORIZON") {
           o.initial_position = InitialPosition::kTrimHorizon;
         } else if (v == "LATEST") {
           o.initial_position = InitialPosition::kLatest;
         } else if (v == "AT_TIMESTAMP") {
           o.initial_position = InitialPosition::kAtTimestamp;
         } else {
           return Bad("consumer", key, v, "TRIM_HORIZON, LATEST or AT_TIMESTAMP");
         }
         return Status::Ok();
       }},
      {"initial_timestamp_ms", "for AT_TIMESTAMP: ms since the epoch",
       [](O& o, const std::string& key, const std::string& v) {
         std::int64_t n = 0;
         if (!ParseInt64(v, n) || n < 0) return Bad("consumer", key, v, "milliseconds >= 0");
         o.initial_timestamp = n;
         return Status::Ok();
       }},
      {"checkpoint",
       "`after_each_batch` (default), `manual` (cinesis_consumer_commit), `every_records:N`, "
       "`every_ms:N`",
       [](O& o, const std::string& key, const std::string& v) {
         auto number = [&](std::string_view prefix, std::int64_t& n) {
           return v.rfind(prefix, 0) == 0 && ParseInt64(v.substr(prefix.size()), n) && n > 0;
         };
         std::int64_t n = 0;
         if (v == "manual") {
           o.checkpoint_policy = CheckpointPolicy::Manual();
         } else if (v == "after_each_batch") {
           o.checkpoint_policy = CheckpointPolicy::AfterEachBatch();
         } else if (number("every_records:", n)) {
           o.checkpoint_policy = CheckpointPolicy::EveryNRecords(static_cast<std::size_t>(n));
         } else if (number("every_ms:", n)) {
           o.checkpoint_policy = CheckpointPolicy::EveryInterval(std::chrono::milliseconds(n));
         } else {
           return Bad("consumer", key, v,
                      "manual, after_each_batch, every_records:N or every_ms:N with N > 0");
         }
         return Status::Ok();
       }},
      Ms<O>(
          "lease_ttl_ms", "default 10000", k, [](O & o) -> auto& { return o.lease_ttl; }),
      Ms<O>(
          "shard_sync_interval_ms", "ListShards period; default 10000", k,
          [](O & o) -> auto& { return o.shard_sync_interval; }),
      {"max_get_records_per_second", "per shard; default 5",
       [](O& o, const std::string& key, const std::string& v) {
         if (!ParseDouble(v, o.max_get_records_per_second))
           return Bad("consumer", key, v, "a positive number or inf");
         return Status::Ok();
       }},
      Int<O>(
          "max_records_per_call", "GetRecords Limit, 1..10000; default 10000", k, 1, 10000,
          [](O & o) -> auto& { return o.max_records_per_call; }),
      Ms<O>(
          "idle_backoff_ms", "longest wait on an idle shard; default 1000", k,
          [](O & o) -> auto& { return o.idle_backoff; }),
      Bool<O>(
          "deaggregate", "split KPL aggregates; default true", k,
          [](O & o) -> auto& { return o.deaggregate; }),
      Str<O>(
          "enhanced_fan_out_consumer", "read by SubscribeToShard as this stream consumer",
          [](O & o) -> auto& { return o.enhanced_fan_out_consumer; }),
      Ms<O>(
          "retry_budget_ms", "keep retrying transient errors this long; default 60000", k,
          [](O & o) -> auto& { return o.retry_budget; }),
  };
  return *t;
}

const std::vector<Option<testing::LocalKinesisOptions>>& LocalTable() {
  using O = testing::LocalKinesisOptions;
  const char* k = "local";
  static const auto* t = new std::vector<Option<O>>{
      Int<O>(
          "create_stream_ms", "CREATING -> ACTIVE; default 0 (at once)", k, 0, kI64Max,
          [](O & o) -> auto& { return o.create_stream_ms; }),
      Int<O>(
          "delete_stream_ms", "DELETING -> gone; default 0", k, 0, kI64Max,
          [](O & o) -> auto& { return o.delete_stream_ms; }),
      Int<O>(
          "update_stream_ms", "UPDATING -> ACTIVE (resharding); default 0", k, 0, kI64Max,
          [](O & o) -> auto& { return o.update_stream_ms; }),
  };
  return *t;
}

template <typename T>
Status Parse(std::string_view kind, const std::vector<Option<T>>& table, const cinesis_options* bag,
             T& out) {
  if (bag == nullptr) return Status::Ok();
  for (const auto& [key, value] : bag->values) {
    const Option<T>* found = nullptr;
    for (const auto& opt : table) {
      if (key == opt.key) found = &opt;
    }
    if (found == nullptr) {
      return Status(Code::kInvalidArgument,
                    "unknown " + std::string(kind) + " option '" + key + "'");
    }
    RETURN_IF_ERROR(found->parse(out, key, value));
  }
  return Status::Ok();
}

template <typename T>
void Markdown(std::string& out, std::string_view kind, const std::vector<Option<T>>& table) {
  out += "#### ";
  out += kind;
  out += " options\n\n| key | meaning |\n|---|---|\n";
  for (const auto& opt : table) {
    out += "| `";
    out += opt.key;
    out += "` | ";
    out += opt.doc;
    out += " |\n";
  }
}

}  // namespace

Status ParseClientOptions(const cinesis_options* bag, ClientOptions& out) {
  return Parse("client", ClientTable(), bag, out);
}

Status ParseProducerOptions(const cinesis_options* bag, ProducerConfig& out) {
  RETURN_IF_ERROR(Parse("producer", ProducerTable(), bag, out));
  if (out.options.stream_name.empty()) {
    return Status(Code::kInvalidArgument, "producer option 'stream' is required");
  }
  return Status::Ok();
}

Status ParseConsumerOptions(const cinesis_options* bag, ConsumerOptions& out) {
  RETURN_IF_ERROR(Parse("consumer", ConsumerTable(), bag, out));
  if (out.application.empty()) {
    return Status(Code::kInvalidArgument, "consumer option 'application' is required");
  }
  if (out.stream_name.empty()) {
    return Status(Code::kInvalidArgument, "consumer option 'stream' is required");
  }
  return Status::Ok();
}

Status ParseLocalOptions(const cinesis_options* bag, testing::LocalKinesisOptions& out) {
  return Parse("local", LocalTable(), bag, out);
}

std::string OptionsMarkdown() {
  std::string out;
  Markdown(out, "client", ClientTable());
  out += "\n";
  Markdown(out, "producer", ProducerTable());
  out += "\n";
  Markdown(out, "consumer", ConsumerTable());
  out += "\n";
  Markdown(out, "local", LocalTable());
  return out;
}

}  // namespace cinesis::capi

using namespace cinesis::capi;  // NOLINT(google-build-using-namespace)

extern "C" {

cinesis_options_t* cinesis_options_new(void) {
  try {
    return new cinesis_options();
  } catch (...) {
    (void)SetError(CINESIS_ERR_UNKNOWN, "cinesis_options_new: out of memory");
    return nullptr;
  }
}

cinesis_err_t cinesis_options_set(cinesis_options_t* options, const char* key, const char* value) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(options, kOptionsMagic, "cinesis_options_t");
    CINESIS_CHECK_ARG(key);
    CINESIS_CHECK_ARG(value);
    options->values[key] = value;
    return CINESIS_OK;
  });
}

void cinesis_options_destroy(cinesis_options_t* options) {
  if (!Valid(options, kOptionsMagic)) return;
  options->magic = 0;
  delete options;
}

}  // extern "C"
