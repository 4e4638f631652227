// cinesis: one CLI. `cinesis serve` runs the local Kinesis server; `cinesis docs
// configuration` prints the generated configuration reference.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "options.h"
#include "storage/log.h"

namespace {

int Serve(const cinesis::app::ServeConfig& config) {
  auto logger = spdlog::stderr_color_mt("cinesis");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  // Durable storage lands with the storage issue; until then memory is the only backend.
  auto storage = cinesis::storage::NewMemoryStorage();
  cinesis::engine::Engine engine(config.engine, std::move(storage));
  cinesis::server::ServerOptions so = config.server;
  so.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  so.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  cinesis::server::HttpServer server(so, engine, [&engine] { engine.Tick(); });
  auto port = server.Listen();
  if (!port.ok()) {
    spdlog::error("{}", port.status().ToString());
    return 1;
  }
  std::printf("cinesis listening on %s:%u\n", so.host.c_str(), static_cast<unsigned>(*port));
  std::fflush(stdout);
  spdlog::info("storage: in-memory; account {} region {}", config.engine.scope.account_id,
               config.engine.scope.region);
  server.StopOnSignals();
  server.Run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cinesis - a fast, faithful local Amazon Kinesis Data Streams"};
  app.require_subcommand(1);

  cinesis::app::ServeConfig config;
  auto* serve = app.add_subcommand("serve", "Run the Kinesis-compatible server");
  for (auto& row : cinesis::app::ServeOptionTable(config)) row.bind(*serve);

  auto* docs = app.add_subcommand("docs", "Print generated documentation");
  auto* docs_config = docs->add_subcommand("configuration", "docs/configuration.md");
  docs->require_subcommand(1);

  CLI11_PARSE(app, argc, argv);
  if (*serve) return Serve(config);
  if (*docs_config) {
    std::cout << cinesis::app::ConfigurationMarkdown();
    return 0;
  }
  return 0;
}
