#include "options.h"

#include <cstdlib>
#include <optional>
#include <sstream>

#include "cinesis/client.h"
#include "cinesis/consumer.h"
#include "cinesis/producer.h"
#include "cinesis/retry.h"

namespace cinesis::app {
std::string DefaultDataDir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/cinesis";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/cinesis";
  return "./cinesis-data";
}

namespace {

CLI::Validator Digits12() {
  return CLI::Validator(
      [](const std::string& s) {
        return s.size() == 12 && s.find_first_not_of("0123456789") == std::string::npos
                   ? std::string{}
                   : std::string("must be 12 digits");
      },
      "12 digits", "Digits12");
}

}  // namespace

std::vector<cli::OptionRow> ServeOptionTable(ServeConfig& c) {
  cli::OptionTable t;
  t.Add("--host", c.server.host, "string", "an IPv4 or IPv6 address", "Address to listen on.");
  t.Add("--port", c.server.port, "integer", "0..65535",
        "Port to listen on; 0 picks a free port and prints it.");
  t.Add("--threads", c.server.threads, "integer", ">= 0",
        "I/O threads; 0 means half the cores (at least one): heavy requests run on a pool "
        "of their own (--offload-body-bytes).",
        CLI::NonNegativeNumber);
  t.Add("--worker-threads", c.worker_threads, "integer", "0..4096",
        "Threads that run requests off the I/O threads, each waiting for the disk; 0 runs "
        "requests on the I/O threads and acknowledges writes when they are durable, without "
        "blocking a thread.",
        CLI::Range(0, 4096));
  t.Flag("--in-memory", c.in_memory, "Keep all data in memory; nothing survives a restart.");
  t.Add("--max-memory-bytes", c.max_memory_bytes, "integer", ">= 0 (only with --in-memory)",
        "Bound on the memory --in-memory keeps for records; 0: none. Counted: each kept record's "
        "partition key, explicit hash key and data bytes, 32 bytes of index per record and 24 "
        "bytes per run of consecutive writes to one shard. Past the bound the oldest records of "
        "all streams and shards (by arrival) are trimmed first, as retention would trim them: "
        "TRIM_HORIZON moves to the oldest kept record, and iterators before it continue from "
        "there. The process also holds each shard's partly filled 4 KiB..4 MiB arena block.",
        CLI::NonNegativeNumber);
  t.Add("--data-dir", c.data_dir, "string", "a directory (created if missing)",
        "Where durable storage keeps its logs and metadata (ignored with --in-memory).");
  t.Add("--fsync", c.fsync, "string", "always, never",
        "always: acknowledge writes only once on disk (group commit); never: survive process "
        "crashes only.",
        CLI::IsMember({"always", "never"}));
  t.Flag("--recover-metadata", c.engine.recover_metadata,
         "Rebuild the streams of shard logs that have no metadata (meta.sqlite deleted, damaged "
         "or rolled back) from the descriptors the logs carry; a damaged meta.sqlite is moved "
         "to <data-dir>/quarantine/ first. Without it the server refuses to start in that "
         "case, deleting nothing.");
  t.Add("--segment-bytes", c.segment_bytes, "integer", ">= 4096",
        "Size at which a shard's active log segment is rolled.",
        CLI::Range(std::uint64_t{4096}, std::uint64_t{1} << 40));
  t.Add("--cached-tail-bytes", c.cached_tail_bytes, "integer", "0..2^40",
        "How much of each shard's newest durable data stays in the OS page cache, at most: "
        "with --fsync always, synced bytes of the active segment further behind its end leave "
        "the cache (at 2 MiB boundaries), and a sealed segment leaves it whole (either "
        "mode). Readers that follow a stream read from memory (but from the disk, for the "
        "previous segment, just after a roll), older records from the disk, and a server that "
        "writes gigabytes does not fill the machine's memory with them. 0: leave the cache to "
        "the kernel.",
        CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 40));
  t.Add("--max-open-files", c.max_open_files, "integer", ">= 0",
        "Log segment files kept open at once (the others are opened when used, least recently "
        "used closed first); 0: half the open-files limit, which the server raises to its hard "
        "limit at start. Shard-creating requests are refused (LimitExceededException) while "
        "these, the flushers' and 64 spare descriptors would not fit under the limit.",
        CLI::NonNegativeNumber);
  t.Add("--account-id", c.engine.scope.account_id, "string", "12 digits",
        "Account id used in ARNs and error messages.", Digits12());
  t.Add("--region", c.engine.scope.region, "string", "", "Region used in ARNs and error messages.");
  t.Add("--create-stream-ms", c.engine.create_stream_ms, "integer", ">= 0",
        "Time a new stream stays CREATING before it becomes ACTIVE.", CLI::NonNegativeNumber);
  t.Add("--delete-stream-ms", c.engine.delete_stream_ms, "integer", ">= 0",
        "Time a deleted stream stays DELETING before it disappears.", CLI::NonNegativeNumber);
  t.Add("--update-stream-ms", c.engine.update_stream_ms, "integer", ">= 0",
        "Time a stream stays UPDATING after a change.", CLI::NonNegativeNumber);
  t.Add("--iterator-ttl-ms", c.engine.iterator_ttl_ms, "integer", ">= 1",
        "Lifetime of a shard iterator (AWS: 300000).", CLI::PositiveNumber);
  t.Add("--subscription-ms", c.engine.subscription_ms, "integer", ">= 1",
        "How long a SubscribeToShard event stream lasts (AWS: 300000).", CLI::PositiveNumber);
  t.Add("--shard-limit", c.engine.shard_limit, "integer", ">= 1",
        "Open shards allowed in the account (LimitExceededException beyond).", CLI::PositiveNumber);
  t.Flag("--throttle", c.engine.throttle,
         "Enforce AWS's per-shard throughput limits on provisioned streams: writes 1000 "
         "records/s and 1 MiB/s, reads 5 GetRecords calls/s and 2 MiB/s "
         "(ProvisionedThroughputExceededException; PutRecords fails only the records over the "
         "limit).");
  t.Add("--offload-body-bytes", c.server.offload_body_bytes, "integer", ">= 0",
        "With --worker-threads 0: requests with a body at least this large, and every "
        "GetRecords, run on a pool of their own (one thread per core, started at the first "
        "one), so decoding or encoding them does not stall the other connections of an I/O "
        "thread; 0 runs every request on the I/O threads.",
        CLI::NonNegativeNumber);
  t.Add("--max-body-bytes", c.server.max_body_bytes, "integer", ">= 1",
        "Largest request body accepted; larger requests get HTTP 413.", CLI::PositiveNumber);
  t.Add("--read-timeout-ms", c.read_timeout_ms, "integer", ">= 1",
        "Time allowed to receive one whole request.", CLI::PositiveNumber);
  t.Add("--idle-timeout-ms", c.idle_timeout_ms, "integer", ">= 1",
        "Time a keep-alive connection may wait for its next request.", CLI::PositiveNumber);
  // ---- budgets and browser safety (issue 17, docs/security.md) ----
  t.Add("--write-timeout-ms", c.write_timeout_ms, "integer", ">= 1",
        "Time a response may make no send progress: then HTTP/1.1 closes the connection and "
        "HTTP/2 resets the stream (e.g. a client that keeps its flow-control window at zero).",
        CLI::PositiveNumber);
  t.Add("--max-connection-response-bytes", c.server.max_connection_response_bytes, "integer",
        ">= 1",
        "Response bytes an HTTP/2 connection may have waiting to be sent; above it, its "
        "completed requests wait to run until responses drain.",
        CLI::PositiveNumber);
  t.Add("--max-queued-response-bytes", c.server.max_queued_response_bytes, "integer", ">= 1",
        "The same over all HTTP/2 connections together.", CLI::PositiveNumber);
  t.Add("--max-buffered-body-bytes", c.server.max_buffered_body_bytes, "integer", ">= 1",
        "HTTP/2 request bodies received and not yet run, over all connections; a stream whose "
        "data would go beyond it is refused (RST_STREAM REFUSED_STREAM). Per connection, "
        "flow control bounds them at --max-body-bytes + 1 MiB.",
        CLI::PositiveNumber);
  t.Add("--cors-origin", c.server.cors_origins, "string (repeatable)", "an origin, or *",
        "Browser origin (e.g. http://localhost:3000) whose requests get CORS headers; * allows "
        "every origin. Default: none (browsers cannot read answers from other origins).");
  t.Add("--allowed-host", c.server.allowed_hosts, "string (repeatable)", "a host name, or *",
        "Host header name accepted besides localhost and IP addresses (requests naming another "
        "host get 403, which defeats DNS rebinding); * accepts every name.");
  t.Add("--tls-cert", c.server.tls_cert, "string", "a PEM file",
        "Certificate chain: with --tls-key the listener speaks TLS, and ALPN chooses HTTP/2 (h2) "
        "or HTTP/1.1.");
  t.Add("--tls-key", c.server.tls_key, "string", "a PEM file", "Private key of --tls-cert.");
  t.Flag(
      "--tls-self-signed", c.server.tls_self_signed,
      "Speak TLS with a certificate for localhost/127.0.0.1 generated at start; it is written to "
      "<data-dir>/cinesis-selfsigned.pem (in memory: a new private directory "
      "$TMPDIR/cinesis-tls-XXXXXX, removed at exit) for clients to trust, and the path is "
      "printed.");
  t.Add("--auth", c.auth, "string", "off, sigv4",
        "off: signatures are not checked (local development; clients may sign with anything). "
        "sigv4: every request must carry a valid AWS Signature Version 4 (Authorization header "
        "or presigned query) by one of the configured access keys, scoped to --region and "
        "service kinesis, within the clock-skew window; failures get AWS's error types and "
        "texts. Keys come from --auth-key, --auth-credentials-file and the environment "
        "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); at least one is needed. "
        "See docs/security.md.",
        CLI::IsMember({"off", "sigv4"}));
  t.Add("--auth-key", c.auth_keys, "string (repeatable)", "ID:SECRET or ID:SECRET:SESSION_TOKEN",
        "An access key --auth sigv4 accepts; with a session token, requests signed with the key "
        "must carry exactly that X-Amz-Security-Token. Visible to other local users in the "
        "process list: prefer --auth-credentials-file or the environment.");
  t.Add("--auth-credentials-file", c.auth_credentials_file, "string",
        "an AWS shared-credentials file",
        "Every profile of this INI file with aws_access_key_id and aws_secret_access_key (and "
        "optionally aws_session_token) is an access key --auth sigv4 accepts.");
  t.Add("--auth-max-skew-minutes", c.auth_max_skew_minutes, "integer", "1..10080",
        "Clock-skew window of --auth sigv4: requests signed more than this many minutes before "
        "or after the server's clock are refused (AWS: 5).",
        CLI::Range(1, 10080));
  // ---- the live endpoints (issue 18; docs/console.md) ----
  t.Add("--fault", c.faults, "string (repeatable)",
        "operation=OP,stream=S,action=throttle|error|latency|reset,rate=0..1,count=N,"
        "latency_ms=N,error=InternalFailure|ServiceUnavailable (or the same as a JSON object)",
        "A fault rule applied to matching Kinesis calls from the start (also set live through "
        "/_cinesis/faults); see docs/console.md.");
  t.Add("--fault-seed", c.fault_seed, "integer", ">= 0",
        "Seed of the random source fault rules draw from (0: a random seed); a fixed seed "
        "repeats the same faults for the same calls.");
  t.Add("--ws-queue-records", c.server.ws_queue_records, "integer", ">= 1",
        "Records queued per WebSocket connection before the server stops reading shards for it "
        "(it resumes from the same positions when the client drains the queue).",
        CLI::PositiveNumber);
  t.Add("--ws-queue-bytes", c.server.ws_queue_bytes, "integer", ">= 1",
        "Bytes of record data (and keys) queued per WebSocket connection, the same way.",
        CLI::PositiveNumber);
  t.Add("--ws-send-timeout-ms", c.ws_send_timeout_ms, "integer", ">= 1",
        "A WebSocket client that does not accept a message for this long is disconnected.",
        CLI::PositiveNumber);
  t.Add("--log-level", c.log_level, "string", "trace, debug, info, warn, error, off",
        "Log verbosity (logs go to stderr).",
        CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  return std::move(t.rows);
}

std::string ConfigurationMarkdown() {
  ServeConfig defaults;
  defaults.data_dir = "$XDG_DATA_HOME/cinesis or ~/.local/share/cinesis";
  auto rows = ServeOptionTable(defaults);
  std::ostringstream out;
  out << "# Configuration\n\n"
         "Generated by `cinesis docs configuration` from the option table in "
         "`apps/cinesis/options.cc`; do not edit by hand (a test checks it is current). "
         "`cinesis bench`'s options are in [bench-options.md](bench-options.md).\n\n"
         "## `cinesis serve`\n\n"
      << cli::Markdown(rows);
  out << "\n## Producer (`cinesis::ProducerOptions`)\n\n"
         "The option table is in `src/producer/producer_options.cc`; "
         "`cinesis::Validate(ProducerOptions)` enforces the ranges.\n\n"
      << ProducerOptionsMarkdown();
  out << "\n## Consumer (`cinesis::ConsumerOptions`)\n\n"
         "The option table is in `src/consumer/consumer_options.cc`; "
         "`cinesis::Validate(ConsumerOptions)` enforces it (`Consumer::Create` calls it).\n\n"
      << ConsumerOptionsMarkdown();
  out << "\n## Client (`cinesis::ClientOptions`)\n\n"
         "The option table is in `src/client/client_options.cc`; "
         "`cinesis::Validate(ClientOptions)` enforces it (`KinesisClient::Create` calls it).\n\n"
      << ClientOptionsMarkdown();
  out << "\n## Retries (`cinesis::RetryOptions`, `ClientOptions::retry`)\n\n"
         "The option table is in `src/client/client_options.cc`; "
         "`cinesis::Validate(RetryOptions)` enforces it.\n\n"
      << RetryOptionsMarkdown();
  return out.str();
}

}  // namespace cinesis::app
