// The producer's option table, declared once: Validate() enforces it, docs/configuration.md is
// generated from it and option_table_test checks its defaults against ProducerOptions'. Kept
// apart from the producer itself so tools can print it without linking the client (libcurl).
#include "producer/producer_options.h"

namespace cinesis {

const options::Table<ProducerOptions>& ProducerOptionTable() {
  using O = ProducerOptions;
  using options::kNoMax;
  static const auto* table = new options::Table<O>{
      options::Custom<O>(
          "stream_name", "string", "(required)", "1..128 chars", "Stream to write to.",
          [](const O& o) { return o.stream_name.empty() ? "(required)" : o.stream_name; },
          [](const O& o) -> std::string {
            if (o.stream_name.empty() || o.stream_name.size() > 128)
              return "must be 1..128 characters";
            return "";
          }),
      options::Whole<O>("linger", "ms", &O::linger, 0, kNoMax, "50",
                        "How long a shard's batch may wait to fill before it is sent (longer "
                        "while the rate limit has no budget for it)."),
      options::Whole<O>("max_batch_records", "integer", &O::max_batch_records, 1, 500, "500",
                        "Records (or aggregates) per PutRecords call."),
      options::Whole<O>("max_batch_bytes", "bytes", &O::max_batch_bytes, 1, 5 << 20, "5242880",
                        "Data + partition key bytes per PutRecords call."),
      options::Whole<O>("buffer_bytes", "bytes", &O::buffer_bytes, 1, kNoMax, "67108864",
                        "Bytes of records accepted but not yet completed."),
      options::Custom<O>("overflow", "enum", "kBlock", "kBlock, kFailFast",
                         "What Put() does when the buffer is full.",
                         [](const O& o) {
                           return std::string(o.overflow == OverflowPolicy::kBlock ? "kBlock"
                                                                                   : "kFailFast");
                         }),
      options::Whole<O>("record_ttl", "ms", &O::record_ttl, 1, kNoMax, "30000",
                        "A record that could not be written within this fails with its last "
                        "error."),
      options::Positive<O>("shard_records_per_second", &O::shard_records_per_second, "1000",
                           "Per-shard record rate the producer stays under (client-side; "
                           "infinity: no limit)."),
      options::Positive<O>("shard_bytes_per_second", &O::shard_bytes_per_second, "1048576",
                           "Per-shard byte rate the producer stays under (client-side; infinity: "
                           "no limit)."),
      options::Flag<O>("aggregate", &O::aggregate, "false",
                       "Pack records of a shard into KPL aggregates."),
      options::Whole<O>("aggregate_max_bytes", "bytes", &O::aggregate_max_bytes, 1024, 1 << 20,
                        "51200", "Largest aggregate."),
      options::Flag<O>("strict_key_order", &O::strict_key_order, "false",
                       "Keep put() order per partition key even across retries."),
      options::Whole<O>("max_in_flight", "integer", &O::max_in_flight, 1, 1024, "16",
                        "Concurrent PutRecords calls (at most one per shard)."),
      options::Whole<O>("retry_base_delay", "ms", &O::retry_base_delay, 1, kNoMax, "100",
                        "First retry waits up to this long (full jitter)."),
      options::Custom<O>(
          "retry_max_delay", "ms", "5000", ">= retry_base_delay", "Cap on one retry wait.",
          [](const O& o) { return std::to_string(o.retry_max_delay.count()); },
          [](const O& o) -> std::string {
            return o.retry_max_delay < o.retry_base_delay ? "must be >= retry_base_delay" : "";
          }),
      options::Whole<O>("shard_map_refresh", "ms", &O::shard_map_refresh, 1, kNoMax, "60000",
                        "Reload the shard map at least this often."),
      options::Custom<O>(
          "clock", "Clock*", "(system clock)", "", "Time source (tests pass a ManualClock).",
          [](const O& o) { return std::string(o.clock ? "(given)" : "(system clock)"); }),
      options::Custom<O>("sleeper", "Sleeper*", "(none)", "",
                         "Test seam for the dispatcher's timed waits (see producer.h).",
                         [](const O& o) { return std::string(o.sleeper ? "(given)" : "(none)"); }),
  };
  return *table;
}

Status Validate(const ProducerOptions& o) {
  return options::Validate(ProducerOptionTable(), o, "ProducerOptions");
}

std::string ProducerOptionsMarkdown() { return options::Markdown(ProducerOptionTable()); }

}  // namespace cinesis
