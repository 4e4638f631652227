// The one table of `cinesis bench` (cinesis-bench) options: each row declares name, type,
// default, allowed range and help once; the table drives the command line (CLI11), validation,
// `--help`, and the generated docs/bench-options.md (`cinesis docs bench`). The rows and their
// Markdown come from src/common/cli_option_table.h, as `cinesis serve`'s do.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class Option;
}

namespace cinesis::cli {
struct OptionRow;
}

namespace cinesis::app {

// The fields hold the defaults; sentinels (-1, 0, empty) mean "the scenario's own default".
struct BenchOptions {
  std::string endpoint = "http://127.0.0.1:4567";
  std::string scenario = "put-records";
  int connections = 8;
  int io_threads = 1;
  int shards = 4;
  int record_bytes = 100;
  int batch = 500;
  std::string duration = "10s";
  std::string warmup = "0s";
  std::string timeout = "300s";
  long long records = -1;
  long server_pid = 0;
  bool json = false;
  bool quiet = false;
  std::string stream;
  bool keep_stream = false;
  int body_pool = 0;
  int get_limit = 10000;
  std::string label;
  int runs = 5;
  bool verbose = false;
  std::vector<std::string> command;
  CLI::Option* endpoint_option = nullptr;  // set by BenchCommand: was --endpoint given?
};

// The rows, bound to `options`' fields (which hold the defaults), in --help order.
std::vector<cli::OptionRow> BenchOptionTable(BenchOptions& options);

// docs/bench-options.md, generated from the table and the defaults of a fresh BenchOptions.
std::string BenchOptionsMarkdown();

}  // namespace cinesis::app
