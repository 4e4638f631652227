// cinesis: one CLI, one binary. `cinesis serve` runs the local Kinesis server; `cinesis
// streams`, `put` and `tail` work with streams on any endpoint (client_commands.cc); `cinesis
// bench` measures one; `cinesis docs configuration` and `cinesis docs bench` print the generated
// option references.
#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "auth_config.h"
#include "cli_util.h"
#include "client_commands.h"
#include "config_command.h"
#include "options.h"
#include "server/live/faults.h"
#include "storage/log.h"

namespace {

// Raises the soft limit on open files to the hard limit: connections take one each, and the
// durable storage sizes its cache of open segment files from it. Logged either way.
void RaiseOpenFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("open files limit unknown: getrlimit: {}", std::strerror(errno));
    return;
  }
  rlim_t target = rl.rlim_max;
  if (target == RLIM_INFINITY) {
    // The kernel caps descriptors per process at fs.nr_open.
    target = 1 << 20;
    if (std::FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
      unsigned long long v = 0;
      if (std::fscanf(f, "%llu", &v) == 1 && v > 0) target = static_cast<rlim_t>(v);
      std::fclose(f);
    }
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= target) {
    spdlog::info("open files limit {}", rl.rlim_cur == RLIM_INFINITY ? target : rl.rlim_cur);
    return;
  }
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("open files limit stays {}: raising it to {} failed: {}", before, target,
                 std::strerror(errno));
    return;
  }
  spdlog::info("open files limit raised from {} to {} (the hard limit)", before, target);
}

int Serve(const cinesis::app::ServeConfig& config) {
  // Request and response bodies of megabytes (PutRecords, GetRecords) come and go on every
  // call: keep freed memory in the heap (up to 64 MiB) instead of unmapping it and taking
  // page faults to get it back on the next call.
  constexpr int kTrimThreshold = 64 << 20;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  // The server's only SQLite database is the stream metadata (a few pages, read at start and
  // written by control-plane calls): no up-front page-cache block and no lookaside slots per
  // connection (together some 200 KB of idle RSS). Pages are allocated as they are read.
  // Must precede sqlite3_initialize(); a failure (already initialised) only costs memory.
  (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
  (void)sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
  auto logger = spdlog::stderr_color_mt("cinesis");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  RaiseOpenFileLimit();
  auto verifier = cinesis::app::MakeVerifier(config, cinesis::SystemClock::Instance());
  if (!verifier.ok()) {
    spdlog::error("{}", verifier.status().message());
    return 1;
  }

  // Storage and engine report through the log (their findings carry paths and offsets, which
  // never go into API answers).
  cinesis::storage::EventSink events = [](cinesis::storage::Severity severity,
                                          const std::string& text) {
    switch (severity) {
      case cinesis::storage::Severity::kInfo:
        spdlog::info("{}", text);
        break;
      case cinesis::storage::Severity::kWarning:
        spdlog::warn("{}", text);
        break;
      case cinesis::storage::Severity::kError:
        spdlog::error("{}", text);
        break;
    }
  };
  cinesis::engine::EngineOptions engine_options = config.engine;
  engine_options.events = events;
  // After a request that made many shards (EngineOptions::release_memory). malloc_trim gives
  // back the free pages inside every arena and the top of the main one, but not the top of the
  // calling thread's arena (an HTTP thread's), which the threshold above keeps: ~4 MB of a
  // 10,000-shard CreateStream stayed resident (issue 19). Freeing a block of 64 KiB or more
  // trims that top when it exceeds the threshold, so the threshold is lowered around one.
  engine_options.release_memory = [] {
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
    void* volatile block = std::malloc(64 << 10);
    std::free(block);
    (void)malloc_trim(0);
    mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  };
  std::unique_ptr<cinesis::storage::Storage> storage;
  std::vector<std::string> report;  // already logged through `events`
  if (config.in_memory) {
    storage = cinesis::storage::NewMemoryStorage({config.max_memory_bytes});
  } else {
    cinesis::storage::DiskOptions disk;
    disk.dir = config.data_dir;
    disk.fsync = config.fsync == "always";
    disk.open_lazily = true;
    disk.segment_bytes = config.segment_bytes;
    disk.cached_tail_bytes = config.cached_tail_bytes;
    disk.events = events;
    disk.set_aside_damaged_metadata = config.engine.recover_metadata;
    disk.max_open_files = config.max_open_files;
    auto opened = cinesis::storage::OpenDiskStorage(disk, &report);
    if (!opened.ok()) {
      const cinesis::Status& st = opened.status();
      if (st.code() == cinesis::Code::kFailedPrecondition) {
        spdlog::error(
            "cannot use data directory {}: {}; another cinesis server uses it: stop "
            "that one, or give this one another --data-dir",
            config.data_dir, st.message());
      } else if (st.code() == cinesis::Code::kCorruption) {
        spdlog::error(
            "cannot open storage at {}: {}; start with --recover-metadata to set the "
            "damaged metadata aside and rebuild the streams from the logs",
            config.data_dir, st.ToString());
      } else {
        spdlog::error("cannot open storage at {}: {}", config.data_dir, st.ToString());
      }
      return 1;
    }
    storage = std::move(opened).value();
  }
  const std::string storage_text = storage->Describe();
  cinesis::engine::Engine engine(engine_options, std::move(storage));
  if (auto st = engine.Load(nullptr); !st.ok()) {
    spdlog::error("cannot load streams from {}: {}", storage_text, st.ToString());
    return 1;
  }
  // Recovery's scratch memory (segment reads, SQLite's statements) is freed by now; give it
  // back rather than keep it resident while the server idles.
  ::malloc_trim(0);
  cinesis::server::ServerOptions so = config.server;
  so.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  so.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  so.write_timeout = std::chrono::milliseconds(config.write_timeout_ms);
  so.worker_threads = config.worker_threads;
  std::string self_signed_dir;  // --in-memory: a private directory of our own (mkdtemp, 0700)
  if (so.tls_self_signed) {
    if (config.in_memory) {
      std::error_code tmp_ec;
      std::string templ =
          (std::filesystem::temp_directory_path(tmp_ec) / "cinesis-tls-XXXXXX").string();
      if (tmp_ec || ::mkdtemp(templ.data()) == nullptr) {
        spdlog::error("cannot create a private directory for the TLS certificate: {}",
                      std::strerror(errno));
        return 1;
      }
      self_signed_dir = templ;
    }
    so.tls_self_signed_path =
        (config.in_memory ? self_signed_dir : config.data_dir) + "/cinesis-selfsigned.pem";
  }
  so.verifier = *verifier;
  so.signatures_checked = so.verifier != nullptr;
  if (so.verifier) {
    spdlog::info("signature verification on (--auth sigv4): {} access key(s), region {}",
                 so.verifier->options().keys.size(), so.verifier->options().region);
  }
  // The live endpoints (issue 18): metrics and tail read the engine; fault rules sit in front of
  // every Kinesis call.
  std::mt19937_64 fault_random(config.fault_seed ? config.fault_seed : std::random_device{}());
  cinesis::server::live::FaultRules faults(
      [&fault_random] { return std::uniform_real_distribution<double>(0.0, 1.0)(fault_random); });
  for (const auto& text : config.faults) {
    auto rule = cinesis::server::live::FaultRules::Parse(text);
    if (!rule.ok()) {
      spdlog::error("--fault {}: {}", text, rule.status().message());
      return 1;
    }
    spdlog::info("fault rule {}", faults.Add(std::move(rule).value()));
  }
  cinesis::server::live::FaultInjectingService faulty(engine, engine, faults);
  so.live = &engine;
  so.direct = &engine;
  so.faults = &faults;
  so.ws_send_timeout = std::chrono::milliseconds(config.ws_send_timeout_ms);
  cinesis::server::HttpServer server(
      so, faulty, [&engine] { engine.Tick(); }, &engine);
  // Signals are caught before the port is announced: whoever reads "listening" may
  // SIGTERM at once and must get a clean exit (asio queues a signal until it is waited on).
  server.StopOnSignals();
  auto port = server.Listen();
  if (!port.ok()) {
    spdlog::error("{}", port.status().ToString());
    if (!self_signed_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(self_signed_dir, ec);
    }
    return 1;
  }
  if (so.tls_self_signed)
    std::printf("cinesis tls certificate %s\n", so.tls_self_signed_path.c_str());
  std::printf("cinesis listening on %s:%u\n", so.host.c_str(), static_cast<unsigned>(*port));
  std::fflush(stdout);
  spdlog::info("storage: {}; account {} region {}", storage_text, config.engine.scope.account_id,
               config.engine.scope.region);
  server.Run();
  // While the server (its io_context) still exists: the answers to writes that were still
  // waiting for the disk when it stopped are posted there (HttpServer's contract).
  engine.Close();
  if (!self_signed_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove(so.tls_self_signed_path, ec);  // a per-process directory
    std::filesystem::remove(self_signed_dir, ec);
  }
  spdlog::info("stopped");
  return 0;
}

// Replaces this process with cinesis-bench from this binary's directory (else from PATH).
int RunBench(const std::vector<std::string>& args) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::string path = ec ? std::string() : (self.parent_path() / "cinesis-bench").string();
  std::vector<char*> argv;
  std::string name = "cinesis-bench";
  argv.push_back(name.data());
  std::vector<std::string> copy(args);
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (!path.empty() && ::access(path.c_str(), X_OK) == 0) ::execv(path.c_str(), argv.data());
  ::execvp("cinesis-bench", argv.data());
  std::fprintf(stderr,
               "cinesis bench: cannot run cinesis-bench (%s); it is installed next to cinesis\n",
               std::strerror(errno));
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cinesis - a fast, faithful local Amazon Kinesis Data Streams"};
  app.footer(std::string(cinesis::app::ExitCodesHelp()));
  app.require_subcommand(1);

  cinesis::app::ServeConfig config;
  auto* serve = app.add_subcommand("serve", "Run the Kinesis-compatible server");
  for (auto& row : cinesis::app::ServeOptionTable(config)) row.bind(*serve);

  auto* docs = app.add_subcommand("docs", "Print generated documentation");
  auto* docs_config = docs->add_subcommand("configuration", "docs/configuration.md");
  // Generated by cinesis-bench, which holds the bench's option table (bench/loadgen/).
  auto* docs_bench = docs->add_subcommand("bench", "docs/bench-options.md (runs cinesis-bench)");
  docs->require_subcommand(1);

  // `cinesis bench ARGS` runs `cinesis-bench ARGS` (its own binary: the server carries no
  // benchmark code); every argument after `bench`, --help included, goes to it.
  auto* bench = app.add_subcommand("bench", "Load-test a Kinesis endpoint (runs cinesis-bench)");
  bench->prefix_command();
  bench->set_help_flag();
  cinesis::app::ClientCommands client_commands(app);
  cinesis::app::ConfigCommand config_command(app);  // `cinesis config` (issue 20)

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the error and a hint
    return rc == 0 ? 0 : cinesis::app::kExitUsage;
  }
  if (client_commands.Selected()) return client_commands.Run();
  if (config_command.Selected()) return config_command.Run();
  if (*serve && config.max_memory_bytes != 0 && !config.in_memory) {
    std::fprintf(stderr,
                 "--max-memory-bytes bounds --in-memory storage; add --in-memory (durable "
                 "storage keeps records on disk)\n");
    return cinesis::app::kExitUsage;
  }
  if (*serve) return Serve(config);
  if (*bench) return RunBench(bench->remaining());

  if (*docs_bench) return RunBench({"--options-markdown"});
  if (*docs_config) {
    std::cout << cinesis::app::ConfigurationMarkdown();
    return 0;
  }
  return 0;
}
