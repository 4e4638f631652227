// The producer's option table, declared once: Validate() enforces it and
// docs/configuration.md is generated from it. Kept apart from the producer itself so tools
// can print it without linking the client (libcurl).
#include <sstream>

#include "cinesis/producer.h"

namespace cinesis {

namespace {

struct OptionRow {
  const char* name;
  const char* type;
  const char* def;
  const char* range;
  const char* help;
};

// The producer's options, declared once: Validate() checks these ranges and
// docs/configuration.md is generated from this table.
constexpr OptionRow kOptions[] = {
    {"stream_name", "string", "(required)", "1..128 chars", "Stream to write to."},
    {"linger", "ms", "50", ">= 0",
     "How long a shard's batch may wait to fill before it is sent (longer while the rate "
     "limit has no budget for it)."},
    {"max_batch_records", "integer", "500", "1..500",
     "Records (or aggregates) per PutRecords call."},
    {"max_batch_bytes", "bytes", "5242880", "1..5242880",
     "Data + partition key bytes per PutRecords call."},
    {"buffer_bytes", "bytes", "67108864", ">= 1",
     "Bytes of records accepted but not yet completed."},
    {"overflow", "enum", "kBlock", "kBlock, kFailFast", "What Put() does when the buffer is full."},
    {"record_ttl", "ms", "30000", ">= 1",
     "A record that could not be written within this fails with its last error."},
    {"shard_records_per_second", "number", "1000", "> 0",
     "Per-shard record rate the producer stays under (client-side; infinity: no limit)."},
    {"shard_bytes_per_second", "number", "1048576", "> 0",
     "Per-shard byte rate the producer stays under (client-side; infinity: no limit)."},
    {"aggregate", "bool", "false", "", "Pack records of a shard into KPL aggregates."},
    {"aggregate_max_bytes", "bytes", "51200", "1024..1048576", "Largest aggregate."},
    {"strict_key_order", "bool", "false", "",
     "Keep put() order per partition key even across retries."},
    {"max_in_flight", "integer", "16", "1..1024",
     "Concurrent PutRecords calls (at most one per shard)."},
    {"retry_base_delay", "ms", "100", ">= 1", "First retry waits up to this long (full jitter)."},
    {"retry_max_delay", "ms", "5000", ">= retry_base_delay", "Cap on one retry wait."},
    {"shard_map_refresh", "ms", "60000", ">= 1", "Reload the shard map at least this often."},
};

}  // namespace

Status Validate(const ProducerOptions& o) {
  auto bad = [](const char* name, const std::string& why) {
    return Status(Code::kInvalidArgument, std::string("ProducerOptions.") + name + ": " + why);
  };
  if (o.stream_name.empty() || o.stream_name.size() > 128)
    return bad("stream_name", "must be 1..128 characters");
  if (o.linger.count() < 0) return bad("linger", "must be >= 0");
  if (o.max_batch_records < 1 || o.max_batch_records > 500)
    return bad("max_batch_records", "must be 1..500");
  if (o.max_batch_bytes < 1 || o.max_batch_bytes > (5u << 20))
    return bad("max_batch_bytes", "must be 1..5242880");
  if (o.buffer_bytes < 1) return bad("buffer_bytes", "must be >= 1");
  if (o.record_ttl.count() < 1) return bad("record_ttl", "must be >= 1 ms");
  if (!(o.shard_records_per_second > 0)) return bad("shard_records_per_second", "must be > 0");
  if (!(o.shard_bytes_per_second > 0)) return bad("shard_bytes_per_second", "must be > 0");
  if (o.aggregate_max_bytes < 1024 || o.aggregate_max_bytes > (1u << 20)) {
    return bad("aggregate_max_bytes", "must be 1024..1048576");
  }
  if (o.max_in_flight < 1 || o.max_in_flight > 1024) return bad("max_in_flight", "must be 1..1024");
  if (o.retry_base_delay.count() < 1) return bad("retry_base_delay", "must be >= 1 ms");
  if (o.retry_max_delay < o.retry_base_delay)
    return bad("retry_max_delay", "must be >= retry_base_delay");
  if (o.shard_map_refresh.count() < 1) return bad("shard_map_refresh", "must be >= 1 ms");
  return Status::Ok();
}

std::string ProducerOptionsMarkdown() {
  std::ostringstream out;
  out << "| option | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const auto& r : kOptions) {
    out << "| `" << r.name << "` | " << r.type << " | `" << r.def << "` | " << r.range << " | "
        << r.help << " |\n";
  }
  return out.str();
}

}  // namespace cinesis
