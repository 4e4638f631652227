// `cinesis bench`: the command line (options, help) and the choice of scenario runner.
#include <CLI/CLI.hpp>

#include "bench.h"
#include "bench_internal.h"

namespace cinesis::app {

namespace {

constexpr const char* kFooter =
    "Scenarios:\n"
    "  put-records  PutRecords of --batch records on every connection\n"
    "  put-record   PutRecord on every connection\n"
    "  get-records  prefill --records records (default 200000), then every connection drains\n"
    "               shards from TRIM_HORIZON with GetRecords (Limit --get-limit), pass after "
    "pass,\n"
    "               until --duration is over and it finished a full pass\n"
    "  mixed        half the connections put (PutRecords), half follow the shards with "
    "GetRecords\n"
    "  startup      run the server command given after -- (--runs times) and time exec -> first\n"
    "               answered request; the port is read from its 'listening ... :PORT' line "
    "unless\n"
    "               --endpoint is given\n"
    "Progress goes to stderr every second; the report to stdout (with --json: one JSON line on\n"
    "stdout, the report on stderr).";

// The shape of the load: endpoint, scenario, connections, shards, records, times.
void AddLoadOptions(CLI::App* sub, BenchOptions& o) {
  o.endpoint_option =
      sub->add_option("--endpoint", o.endpoint, "Kinesis endpoint, http://HOST:PORT")
          ->capture_default_str();
  sub->add_option("--scenario", o.scenario, "Workload")
      ->check(CLI::IsMember({"put-records", "put-record", "get-records", "mixed", "startup"}))
      ->capture_default_str();
  sub->add_option("--connections", o.connections,
                  "Keep-alive connections: up to 64 one thread each; put-records and put-record "
                  "with more share --io-threads event loops (up to 10000; get-records and mixed "
                  "up to 1024). The open-files limit is raised for them up to its hard limit.")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub->add_option("--io-threads", o.io_threads,
                  "Event-loop threads of put-records and put-record with more than 64 connections")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_option("--shards", o.shards, "Shards of the stream the benchmark creates")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub->add_option("--record-bytes", o.record_bytes, "Bytes of data per record")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  sub->add_option("--batch", o.batch, "Records per PutRecords call")
      ->check(CLI::Range(1, 500))
      ->capture_default_str();
  sub->add_option("--duration", o.duration, "Measured time (10s, 500ms, 2m)")
      ->capture_default_str();
  sub->add_option("--warmup", o.warmup, "Load before measuring; not counted")
      ->capture_default_str();
  sub->add_option("--timeout", o.timeout,
                  "Hard limit on the measured phase (get-records passes, startup)")
      ->capture_default_str();
  sub->add_option(
      "--records", o.records,
      "get-records: records to prefill (default 200000; 0 reads what the stream holds); "
      "put-records/put-record: stop after this many records instead of --duration");
}

// What to sample, print and keep; the stream; the startup scenario's command.
void AddRunOptions(CLI::App* sub, BenchOptions& o) {
  sub->add_option("--server-pid", o.server_pid,
                  "Server process to sample for CPU (% of a core, µs per record) and RSS (/proc)");
  sub->add_flag("--json", o.json, "Print one JSON line with the results on stdout");
  sub->add_flag("--quiet", o.quiet, "No progress lines");
  sub->add_option("--stream", o.stream,
                  "Stream to use (created if missing); default: a new one, deleted at the end");
  sub->add_flag("--keep-stream", o.keep_stream, "Do not delete the stream at the end");
  sub->add_option("--body-pool", o.body_pool,
                  "Prebuilt requests per connection (default 8 PutRecords, 512 PutRecord)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--get-limit", o.get_limit, "GetRecords Limit")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub->add_option("--label", o.label, "Name of the target, copied into the JSON line");
  sub->add_option("--runs", o.runs, "startup: how many starts")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub->add_flag("--verbose", o.verbose, "startup: show the server's output");
  sub->add_option("command", o.command, "startup: the server command line (after --)");
}

}  // namespace

BenchCommand::BenchCommand(CLI::App& app) : sub_(&app), options_(std::make_unique<BenchOptions>()) {
  sub_->footer(kFooter);
  AddLoadOptions(sub_, *options_);
  AddRunOptions(sub_, *options_);
}

BenchCommand::~BenchCommand() = default;

int BenchCommand::Run() {
  if (options_->scenario == "startup") return bench::RunStartup(*options_);
  bench::Bench run(*options_);
  return run.Run();
}

}  // namespace cinesis::app
