// The consumer's option table, declared once: Validate() enforces it (Consumer::Create calls it),
// docs/configuration.md is generated from it and option_table_test checks its defaults against
// ConsumerOptions'.
#include "consumer/consumer_options.h"

namespace cinesis {
namespace {

std::string PolicyText(const CheckpointPolicy& p) {
  switch (p.kind) {
    case CheckpointPolicy::Kind::kManual:
      return "Manual()";
    case CheckpointPolicy::Kind::kEveryNRecords:
      return "EveryNRecords(" + std::to_string(p.every_records) + ")";
    case CheckpointPolicy::Kind::kEveryInterval:
      return "EveryInterval(" + std::to_string(p.every_interval.count()) + " ms)";
    case CheckpointPolicy::Kind::kAfterEachBatch:
      return "AfterEachBatch()";
  }
  return "?";
}

std::string Required(const std::string& v) { return v.empty() ? "(required)" : v; }

}  // namespace

const options::Table<ConsumerOptions>& ConsumerOptionTable() {
  using O = ConsumerOptions;
  using options::kNoMax;
  static const auto* table = new options::Table<O>{
      options::Custom<O>(
          "application", "string", "(required)", "not empty",
          "Names the checkpoints and leases of this application (one per consumer group).",
          [](const O& o) { return Required(o.application); },
          [](const O& o) -> std::string { return o.application.empty() ? "is required" : ""; }),
      options::Custom<O>(
          "stream_name", "string", "(required)", "not empty", "Stream to read.",
          [](const O& o) { return Required(o.stream_name); },
          [](const O& o) -> std::string { return o.stream_name.empty() ? "is required" : ""; }),
      options::Custom<O>(
          "worker_id", "string", "(generated)", "",
          "This worker in the lease store. Default: `<hostname>-<pid>-<8 random hex>`, new per "
          "process; a stable id resumes its own leases at once after a crash.",
          [](const O& o) { return o.worker_id.empty() ? "(generated)" : o.worker_id; }),
      options::Custom<O>("initial_position", "enum", "kTrimHorizon",
                         "kTrimHorizon, kLatest, kAtTimestamp",
                         "Where a shard without a checkpoint starts.",
                         [](const O& o) {
                           switch (o.initial_position) {
                             case InitialPosition::kTrimHorizon:
                               return std::string("kTrimHorizon");
                             case InitialPosition::kLatest:
                               return std::string("kLatest");
                             case InitialPosition::kAtTimestamp:
                               return std::string("kAtTimestamp");
                           }
                           return std::string("?");
                         }),
      options::Custom<O>(
          "initial_timestamp", "epoch ms", "(unset)", "required for kAtTimestamp",
          "Start time for kAtTimestamp.",
          [](const O& o) {
            return o.initial_timestamp ? std::to_string(*o.initial_timestamp) : "(unset)";
          },
          [](const O& o) -> std::string {
            if (o.initial_position == InitialPosition::kAtTimestamp && !o.initial_timestamp)
              return "is required for kAtTimestamp";
            return "";
          }),
      options::Custom<O>(
          "checkpoint_policy", "CheckpointPolicy", "AfterEachBatch()",
          "Manual(), AfterEachBatch(), EveryNRecords(n >= 1), EveryInterval(t >= 1 ms)",
          "When the consumer checkpoints for the processor.",
          [](const O& o) { return PolicyText(o.checkpoint_policy); },
          [](const O& o) -> std::string {
            const auto& p = o.checkpoint_policy;
            if (p.kind == CheckpointPolicy::Kind::kEveryNRecords && p.every_records < 1)
              return "EveryNRecords needs n >= 1";
            if (p.kind == CheckpointPolicy::Kind::kEveryInterval && p.every_interval.count() < 1)
              return "EveryInterval needs t >= 1 ms";
            return "";
          }),
      options::Custom<O>(
          "checkpoints", "CheckpointStore", "(in memory)", "",
          "Where checkpoints are kept (memory, SQLite, Redis, PostgreSQL, yours).",
          [](const O& o) { return std::string(o.checkpoints ? "(given)" : "(in memory)"); }),
      options::Custom<O>("leases", "LeaseStore", "(none)", "",
                         "Shares the shards among workers; none: this process reads every shard.",
                         [](const O& o) { return std::string(o.leases ? "(given)" : "(none)"); }),
      options::Whole<O>("lease_ttl", "ms", &O::lease_ttl, 1, kNoMax, "10000",
                        "A lease not renewed within this may be taken by another worker."),
      options::Whole<O>("shard_sync_interval", "ms", &O::shard_sync_interval, 1, kNoMax, "10000",
                        "How often the shard list is reloaded (shards ending are noticed "
                        "sooner, from the records)."),
      options::Positive<O>("max_get_records_per_second", &O::max_get_records_per_second, "5",
                           "GetRecords calls per shard per second (AWS allows 5)."),
      options::Whole<O>("max_records_per_call", "integer", &O::max_records_per_call, 1, 10000,
                        "10000", "GetRecords Limit."),
      options::Whole<O>("idle_backoff", "ms", &O::idle_backoff, 0, kNoMax, "1000",
                        "Wait after an empty GetRecords answer at the tip of a shard."),
      options::Flag<O>("deaggregate", &O::deaggregate, "true",
                       "Unpack KPL aggregates into their user records."),
      options::Custom<O>(
          "enhanced_fan_out_consumer", "string", "(unset)", "1..128 chars",
          "Register (or reuse) this stream consumer and receive records over SubscribeToShard "
          "instead of polling GetRecords.",
          [](const O& o) {
            return o.enhanced_fan_out_consumer ? *o.enhanced_fan_out_consumer : "(unset)";
          },
          [](const O& o) -> std::string {
            if (o.enhanced_fan_out_consumer &&
                (o.enhanced_fan_out_consumer->empty() || o.enhanced_fan_out_consumer->size() > 128))
              return "must be 1..128 characters";
            return "";
          }),
      options::Custom<O>(
          "clock", "Clock*", "(system clock)", "", "Time source (tests pass a ManualClock).",
          [](const O& o) { return std::string(o.clock ? "(given)" : "(system clock)"); }),
      options::Whole<O>("retry_budget", "ms", &O::retry_budget, 0, kNoMax, "60000",
                        "How long retriable failures may last before Run()/Poll() return the "
                        "error (throttling does not count)."),
      options::Custom<O>("on_error", "callback", "(none)", "",
                         "Called for every error, transient or fatal (see consumer.h).",
                         [](const O& o) { return std::string(o.on_error ? "(given)" : "(none)"); }),
      options::Custom<O>("on_event", "callback", "(none)", "",
                         "Called for shard started/ended and lease taken/lost events.",
                         [](const O& o) { return std::string(o.on_event ? "(given)" : "(none)"); }),
  };
  return *table;
}

Status Validate(const ConsumerOptions& o) {
  return options::Validate(ConsumerOptionTable(), o, "ConsumerOptions");
}

std::string ConsumerOptionsMarkdown() { return options::Markdown(ConsumerOptionTable()); }

}  // namespace cinesis
