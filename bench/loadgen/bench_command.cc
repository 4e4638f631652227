// `cinesis bench`: the command line (the option table of bench_options.cc, the help footer)
// and the choice of scenario runner.
#include <CLI/CLI.hpp>

#include "bench.h"
#include "bench_internal.h"
#include "bench_options.h"
#include "common/cli_option_table.h"

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

}  // namespace

BenchCommand::BenchCommand(CLI::App& app) : sub_(&app), options_(std::make_unique<BenchOptions>()) {
  sub_->footer(kFooter);
  cli::Bind(BenchOptionTable(*options_), *sub_);
  options_->endpoint_option = sub_->get_option("--endpoint");
}

BenchCommand::~BenchCommand() = default;

int BenchCommand::Run() {
  if (options_->scenario == "startup") return bench::RunStartup(*options_);
  bench::Bench run(*options_);
  return run.Run();
}

}  // namespace cinesis::app
