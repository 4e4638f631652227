// Example: a consumer process with shared checkpoints and leases.
//
//   cinesis-example-consumer --endpoint http://127.0.0.1:4567 --stream orders --app billing
//       --store sqlite:/var/lib/app/checkpoints.db   (or redis:127.0.0.1:6379, postgres:"host=...
//       dbname=...", default memory) --out processed.txt
//
// --stream and --out are required; --help lists the other options.
//
// Several processes with the same --app share the stream's shards through leases. Every
// record processed is appended to --out ("shard seq sub data" per line, flushed before
// the checkpoint that covers it), so a test can check nothing was lost. SIGTERM/SIGINT
// stop it cleanly (final checkpoints); kill -9 is survived by the others.
#include "cinesis/consumer.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "cinesis/stores.h"

namespace {

std::atomic<bool> g_stop{false};

class AppendToFile final : public cinesis::ShardProcessor {
 public:
  AppendToFile(std::FILE* out, std::mutex& mu, std::atomic<std::uint64_t>& count,
               std::atomic<std::int64_t>& lag_sum)
      : out_(out), mu_(mu), count_(count), lag_sum_(lag_sum) {}
  void ProcessRecords(const std::vector<cinesis::ConsumerRecord>& records,
                      cinesis::Checkpointer&) override {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::lock_guard lock(mu_);
    for (const auto& r : records) {
      std::fprintf(out_, "%s %s %llu %s\n", r.shard_id.c_str(), r.sequence_number.c_str(),
                   static_cast<unsigned long long>(r.sub_sequence_number), r.data.c_str());
      lag_sum_ += now - r.approximate_arrival_timestamp;
    }
    std::fflush(out_);  // processed before the checkpoint that covers it
    count_ += records.size();
  }

 private:
  std::FILE* out_;
  std::mutex& mu_;
  std::atomic<std::uint64_t>& count_;
  std::atomic<std::int64_t>& lag_sum_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Consume a stream with shared checkpoints and leases"};
  std::string endpoint = "http://127.0.0.1:4567", stream, application = "example",
              store_spec = "memory", out_path;
  std::string worker;
  std::size_t every = 0;
  int lease_ttl_ms = 3000, idle_exit_ms = 0;
  app.add_option("--endpoint", endpoint);
  app.add_option("--stream", stream)->required();
  app.add_option("--app", application);
  app.add_option("--store", store_spec,
                 "memory | sqlite:PATH | redis:HOST:PORT | postgres:CONNINFO");
  app.add_option("--worker", worker);
  app.add_option("--out", out_path)->required();
  app.add_option("--checkpoint-every", every, "records; 0 = after each batch");
  app.add_option("--lease-ttl-ms", lease_ttl_ms);
  int limit = 10'000;
  app.add_option("--limit", limit, "records per GetRecords call (1-10000)")
      ->check(CLI::Range(1, 10'000));
  std::string efo;
  app.add_option("--efo", efo,
                 "enhanced fan-out: stream consumer name (records pushed over HTTP/2)");
  app.add_option("--exit-when-idle-ms", idle_exit_ms,
                 "stop after this long without new records (0: never)");
  CLI11_PARSE(app, argc, argv);

  std::shared_ptr<cinesis::consumer::Store> store;
  cinesis::Result<std::shared_ptr<cinesis::consumer::Store>> opened =
      cinesis::consumer::NewMemoryStore();
  if (store_spec.rfind("sqlite:", 0) == 0) {
    opened = cinesis::consumer::OpenSqliteStore(store_spec.substr(7));
  } else if (store_spec.rfind("redis:", 0) == 0) {
    auto hp = store_spec.substr(6);
    opened = cinesis::consumer::OpenRedisStore(hp.substr(0, hp.rfind(':')),
                                               std::stoi(hp.substr(hp.rfind(':') + 1)));
  } else if (store_spec.rfind("postgres:", 0) == 0) {
    opened = cinesis::consumer::OpenPostgresStore(store_spec.substr(9));
  }
  if (!opened.ok()) {
    std::fprintf(stderr, "store: %s\n", opened.status().ToString().c_str());
    return 2;
  }
  store = *opened;

  auto client = cinesis::KinesisClient::Create({.endpoint = endpoint,
                                                .region = "us-east-1",
                                                .access_key_id = "AKIDEXAMPLE",
                                                .secret_access_key = "secret"});
  if (!client.ok()) return 2;

  cinesis::ConsumerOptions o;
  o.application = application;
  o.stream_name = stream;
  o.worker_id = worker;
  o.checkpoints = store;
  o.leases = store_spec == "memory" ? nullptr : store;
  o.lease_ttl = std::chrono::milliseconds(lease_ttl_ms);
  o.shard_sync_interval = std::chrono::milliseconds(500);
  o.idle_backoff = std::chrono::milliseconds(200);
  o.max_records_per_call = limit;
  if (every > 0) o.checkpoint_policy = cinesis::CheckpointPolicy::EveryNRecords(every);
  if (!efo.empty()) o.enhanced_fan_out_consumer = efo;
  auto consumer = cinesis::Consumer::Create(**client, o);
  if (!consumer.ok()) {
    std::fprintf(stderr, "consumer: %s\n", consumer.status().ToString().c_str());
    return 2;
  }
  std::FILE* out = std::fopen(out_path.c_str(), "a+");
  if (!out) return 2;
  // A process killed with SIGKILL may have left a torn last line (stdio writes a large
  // batch in several write() calls); start ours on a fresh line so none is merged into it.
  if (std::fseek(out, -1, SEEK_END) == 0 && std::fgetc(out) != '\n') std::fputc('\n', out);
  std::mutex mu;
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::int64_t> lag_sum{0};
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::thread watcher([&] {
    std::uint64_t last = 0;
    auto last_change = std::chrono::steady_clock::now();
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto m = (*consumer)->metrics();
      std::fprintf(stderr, "worker %s owns %zu shards, %llu records\n",
                   (*consumer)->worker_id().c_str(), m.owned_shards.size(),
                   static_cast<unsigned long long>(count.load()));
      if (count != last) {
        last = count;
        last_change = std::chrono::steady_clock::now();
      } else if (idle_exit_ms > 0 && std::chrono::steady_clock::now() - last_change >
                                         std::chrono::milliseconds(idle_exit_ms)) {
        g_stop = true;
      }
    }
    (*consumer)->Stop();
  });
  auto st = (*consumer)->Run(
      [&](const std::string&) { return std::make_unique<AppendToFile>(out, mu, count, lag_sum); });
  g_stop = true;
  watcher.join();
  std::fclose(out);
  const auto n = count.load();
  std::printf("consumed %llu records, mean put-to-consume latency %.1f ms\n",
              static_cast<unsigned long long>(n),
              n ? static_cast<double>(lag_sum.load()) / static_cast<double>(n) : 0.0);
  return st.ok() ? 0 : 1;
}
