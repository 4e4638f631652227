// cinesis: one CLI. `cinesis serve` runs the local Kinesis server.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "engine/engine.h"
#include "server/http_server.h"
#include "storage/log.h"

namespace {

struct ServeFlags {
  cinesis::server::ServerOptions server;
  cinesis::engine::EngineOptions engine;
  bool in_memory = false;
  std::int64_t read_timeout_ms = 30'000;
  std::string log_level = "info";
};

int Serve(const ServeFlags& flags) {
  auto logger = spdlog::stderr_color_mt("cinesis");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(flags.log_level));

  // Durable storage lands with the storage issue; until then memory is the only backend.
  auto storage = cinesis::storage::NewMemoryStorage();
  cinesis::engine::Engine engine(flags.engine, std::move(storage));
  cinesis::server::ServerOptions so = flags.server;
  so.read_timeout = std::chrono::milliseconds(flags.read_timeout_ms);
  cinesis::server::HttpServer server(so, engine, [&engine] { engine.Tick(); });
  auto port = server.Listen();
  if (!port.ok()) {
    spdlog::error("{}", port.status().ToString());
    return 1;
  }
  std::printf("cinesis listening on %s:%u\n", so.host.c_str(), static_cast<unsigned>(*port));
  std::fflush(stdout);
  spdlog::info("storage: in-memory; account {} region {}", flags.engine.scope.account_id,
               flags.engine.scope.region);
  server.StopOnSignals();
  server.Run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cinesis - a fast, faithful local Amazon Kinesis Data Streams"};
  app.require_subcommand(1);

  ServeFlags flags;
  auto* serve = app.add_subcommand("serve", "Run the Kinesis-compatible server");
  serve->add_option("--host", flags.server.host, "Address to listen on")->capture_default_str();
  serve->add_option("--port", flags.server.port, "Port to listen on (0 picks a free one)")->capture_default_str();
  serve->add_option("--threads", flags.server.threads, "I/O threads (0 = one per core)")->capture_default_str();
  serve->add_flag("--in-memory", flags.in_memory, "Keep all data in memory (nothing survives a restart)");
  serve->add_option("--account-id", flags.engine.scope.account_id, "Account id in ARNs and messages")
      ->capture_default_str()
      ->check([](const std::string& s) {
        return s.size() == 12 && s.find_first_not_of("0123456789") == std::string::npos ? std::string{}
                                                                                        : "must be 12 digits";
      });
  serve->add_option("--region", flags.engine.scope.region, "Region in ARNs and messages")->capture_default_str();
  serve->add_option("--create-stream-ms", flags.engine.create_stream_ms, "CREATING -> ACTIVE delay")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  serve->add_option("--delete-stream-ms", flags.engine.delete_stream_ms, "DELETING -> removed delay")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  serve->add_option("--update-stream-ms", flags.engine.update_stream_ms, "UPDATING -> ACTIVE delay")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  serve->add_option("--iterator-ttl-ms", flags.engine.iterator_ttl_ms, "Shard iterator lifetime")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_option("--shard-limit", flags.engine.shard_limit, "Open shards allowed per account")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_option("--max-body-bytes", flags.server.max_body_bytes, "Largest accepted request body")
      ->capture_default_str();
  serve->add_option("--read-timeout-ms", flags.read_timeout_ms, "Time allowed to receive one request")
      ->capture_default_str()->check(CLI::PositiveNumber);
  serve->add_option("--log-level", flags.log_level, "trace, debug, info, warn, error, off")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (*serve) return Serve(flags);
  return 0;
}
