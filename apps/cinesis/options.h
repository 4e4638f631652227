// The one table of `cinesis serve` options. Each row declares name, type, default,
// allowed range and help once; the table drives the command line (CLI11), validation,
// `--help`, and the generated docs/configuration.md (`cinesis docs configuration`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cli_option_table.h"
#include "engine/engine.h"
#include "server/http_server.h"

namespace cinesis::app {

// $XDG_DATA_HOME/cinesis, else $HOME/.local/share/cinesis, else ./cinesis-data.
std::string DefaultDataDir();

struct ServeConfig {
  server::ServerOptions server;
  engine::EngineOptions engine;
  bool in_memory = false;
  std::uint64_t max_memory_bytes = 0;  // --in-memory only; 0: no bound
  std::string data_dir = DefaultDataDir();
  std::string fsync = "always";
  std::uint64_t segment_bytes = 64ULL << 20;
  std::uint64_t cached_tail_bytes = 16ULL << 20;
  int worker_threads = 0;  // 0: requests run on the I/O threads
  std::int64_t read_timeout_ms = 30'000;
  std::int64_t idle_timeout_ms = 120'000;
  std::int64_t write_timeout_ms = 30'000;  // issue 17: a response with no send progress
  std::string log_level = "info";

  std::uint64_t max_open_files = 0;  // 0: half the open-files limit

  // Signature verification (auth_config.cc builds the verifier).
  std::string auth = "off";            // off | sigv4
  std::vector<std::string> auth_keys;  // ID:SECRET[:SESSION_TOKEN]
  std::string auth_credentials_file;
  int auth_max_skew_minutes = 5;
  // Fault injection (issue 18; server/live/faults.h).
  std::vector<std::string> faults;
  std::uint64_t fault_seed = 0;  // 0: from the system's random source
  std::int64_t ws_send_timeout_ms = 30'000;
};

// The rows, bound to `config`'s fields (which hold the defaults).
std::vector<cli::OptionRow> ServeOptionTable(ServeConfig& config);

// docs/configuration.md, generated from the table and the defaults of a fresh config.
std::string ConfigurationMarkdown();

}  // namespace cinesis::app
