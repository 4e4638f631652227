// cinesis-client-bench: the producer and consumer of libcinesis against a Kinesis endpoint.
//
//   producer   Producer::Put as fast as the producer takes records, for --duration:
//              records/s acknowledged, the process's CPU, PutRecords calls, retries.
//   consumer   prefills --records records, then a Consumer (polling) reads them all from
//              TRIM_HORIZON: records/s delivered to the processor (from Run() to the last
//              record), the process's CPU per record and, with --server-pid, the server's.
//   latency    a Producer puts --rate records/s while a Consumer follows the stream, by
//              polling (GetRecords) and by enhanced fan-out (SubscribeToShard, pushed):
//              put -> ProcessRecords latency p50/p99/max for each.
//
// One JSON object per scenario on stdout with --json, a table otherwise. Loopback only in
// our scripts; any endpoint works.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cinesis/client.h"
#include "cinesis/consumer.h"
#include "cinesis/producer.h"
#include "cinesis/stores.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string endpoint = "http://127.0.0.1:4567";
  int shards = 4;
  int record_bytes = 100;
  double duration_s = 10;
  std::size_t records = 200'000;
  double rate = 1000;
  double producer_rate =
      0;  // records/s offered by the producer scenario; 0: as fast as Put returns
  bool json = false;
  bool aws_limits = false;
  std::size_t buffer_mb = 0;  // the producer's buffer_bytes in MiB; 0: its default
  long server_pid = 0;        // the server's process: its CPU over the consumer phase
  // perf record --control fifo:PATH: "enable" is written at the start of the consumer
  // phase, "disable" at its end (to profile that phase alone).
  std::vector<std::string> perf_fifos;
};

void PerfControl(const std::vector<std::string>& fifos, const char* command) {
  for (const auto& f : fifos) {
    if (std::FILE* out = std::fopen(f.c_str(), "w")) {
      std::fprintf(out, "%s\n", command);
      std::fclose(out);
    }
  }
}

double CpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A process's utime + stime from /proc/PID/stat (clock ticks, usually 10 ms); -1 if unknown.
double ProcessCpuSeconds(long pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  const auto close = line.rfind(')');  // comm (field 2) may hold spaces
  if (close == std::string::npos || close + 2 > line.size()) return -1;
  unsigned long long utime = 0, stime = 0;
  std::size_t pos = close + 2;
  for (int f = 3; f <= 15; ++f) {
    const std::size_t next = line.find(' ', pos);
    if (f == 14) utime = std::strtoull(line.c_str() + pos, nullptr, 10);
    if (f == 15) stime = std::strtoull(line.c_str() + pos, nullptr, 10);
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(i, v.size() - 1)];
}

std::string Payload(std::size_t n, std::uint64_t i) {
  std::string s = std::to_string(i) + ":";
  s.resize(std::max(n, s.size()), 'x');
  return s;
}

struct Bench {
  Options o;
  std::unique_ptr<cinesis::KinesisClient> client;

  bool Connect() {
    cinesis::ClientOptions co;
    co.endpoint = o.endpoint;
    co.region = "us-east-1";
    co.access_key_id = "AKIDEXAMPLE";
    co.secret_access_key = "bench";
    auto c = cinesis::KinesisClient::Create(co);
    if (!c.ok()) {
      std::fprintf(stderr, "client: %s\n", c.status().ToString().c_str());
      return false;
    }
    client = std::move(c).value();
    return true;
  }

  std::string NewStream(const std::string& what) {
    std::string name = "client-bench-" + what + "-" + std::to_string(::getpid());
    cinesis::api::CreateStreamInput in;
    in.stream_name = name;
    in.shard_count = o.shards;
    if (auto st = client->CreateStream(in); !st.ok()) {
      std::fprintf(stderr, "CreateStream: %s\n", st.ToString().c_str());
      return "";
    }
    for (int i = 0; i < 600; ++i) {
      auto d = client->DescribeStreamSummary({{name, std::nullopt}});
      if (d.ok() &&
          d->stream_description_summary.stream_status == cinesis::api::StreamStatus::kActive) {
        return name;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::fprintf(stderr, "stream %s did not become ACTIVE\n", name.c_str());
    return "";
  }

  void DeleteStream(const std::string& name) {
    cinesis::api::DeleteStreamInput in;
    in.stream = {name, std::nullopt};
    in.enforce_consumer_deletion = true;
    (void)client->DeleteStream(in);
  }

  cinesis::ProducerOptions ProducerFor(const std::string& stream) const {
    cinesis::ProducerOptions po;
    po.stream_name = stream;
    po.linger = std::chrono::milliseconds(5);
    if (o.buffer_mb > 0) po.buffer_bytes = o.buffer_mb << 20;
    if (!o.aws_limits) {
      // The local server does not throttle; measure the producer, not AWS's shard limits.
      po.shard_records_per_second = 1e9;
      po.shard_bytes_per_second = 1e12;
    }
    return po;
  }

  void Report(const std::string& scenario, const std::map<std::string, double>& values,
              const std::string& text) {
    if (o.json) {
      std::string line = "{\"scenario\":\"" + scenario + "\"";
      for (const auto& [k, v] : values) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        line += ",\"" + k + "\":" + buf;
      }
      std::printf("%s}\n", line.c_str());
    } else {
      std::printf("%s\n", text.c_str());
    }
    std::fflush(stdout);
  }

  int Producer() {
    const std::string stream = NewStream("producer");
    if (stream.empty()) return 1;
    auto p = cinesis::Producer::Create(*client, ProducerFor(stream));
    if (!p.ok()) {
      std::fprintf(stderr, "producer: %s\n", p.status().ToString().c_str());
      return 1;
    }
    std::atomic<std::uint64_t> ok{0}, failed{0};
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::duration<double>(o.duration_s);
    std::uint64_t i = 0;
    // Paced (--producer-rate): 1,000 records, then sleep until they are due, so the
    // application offers a steady rate and the producer's queue holds what is in flight;
    // otherwise Put is called as fast as it returns and the buffer stays full.
    const int chunk = o.producer_rate > 0 ? 1000 : 100;
    while (Clock::now() < end) {
      if (o.producer_rate > 0) {
        std::this_thread::sleep_until(
            t0 + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(i) / o.producer_rate)));
      }
      for (int k = 0; k < chunk; ++k, ++i) {
        auto st = (*p)->Put(
            "pk-" + std::to_string(i % 1000), Payload(static_cast<std::size_t>(o.record_bytes), i),
            std::nullopt,
            [&](const cinesis::PutResult& r) { (r.status.ok() ? ok : failed).fetch_add(1); });
        if (!st.ok()) failed.fetch_add(1);
      }
    }
    (void)(*p)->Flush(std::chrono::milliseconds(60'000));
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = CpuSeconds() - cpu0;
    const auto m = (*p)->metrics();
    const double cpu_us_per_record =
        ok.load() > 0 ? 1e6 * cpu / static_cast<double>(ok.load()) : 0.0;
    (void)(*p)->Close(std::chrono::milliseconds(10'000));
    DeleteStream(stream);
    char text[512];
    std::snprintf(text, sizeof text,
                  "producer   %.0f records/s acknowledged (%llu in %.1f s), %llu failed, "
                  "%llu PutRecords calls, %llu retries, process CPU %.0f%% of a core "
                  "(%.2f us per record)",
                  static_cast<double>(ok.load()) / secs, static_cast<unsigned long long>(ok.load()),
                  secs, static_cast<unsigned long long>(failed.load()),
                  static_cast<unsigned long long>(m.put_records_calls),
                  static_cast<unsigned long long>(m.retries), 100 * cpu / secs, cpu_us_per_record);
    Report("producer",
           {{"records_per_s", static_cast<double>(ok.load()) / secs},
            {"records", static_cast<double>(ok.load())},
            {"failed", static_cast<double>(failed.load())},
            {"put_records_calls", static_cast<double>(m.put_records_calls)},
            {"retries", static_cast<double>(m.retries)},
            {"cpu_pct", 100 * cpu / secs},
            {"cpu_us_per_record", cpu_us_per_record},
            {"offered_records_per_s", o.producer_rate}},
           text);
    return failed.load() == 0 ? 0 : 1;
  }

  bool Prefill(const std::string& stream, std::size_t n) {
    auto p = cinesis::Producer::Create(*client, ProducerFor(stream));
    if (!p.ok()) return false;
    std::atomic<std::uint64_t> failed{0};
    for (std::size_t i = 0; i < n; ++i) {
      auto st = (*p)->Put("pk-" + std::to_string(i % 1000),
                          Payload(static_cast<std::size_t>(o.record_bytes), i), std::nullopt,
                          [&](const cinesis::PutResult& r) {
                            if (!r.status.ok()) failed.fetch_add(1);
                          });
      if (!st.ok()) return false;
    }
    return (*p)->Close(std::chrono::milliseconds(120'000)).ok() && failed.load() == 0;
  }

  class Counter final : public cinesis::ShardProcessor {
   public:
    explicit Counter(std::function<void(const std::vector<cinesis::ConsumerRecord>&)> f)
        : f_(std::move(f)) {}
    void ProcessRecords(const std::vector<cinesis::ConsumerRecord>& records,
                        cinesis::Checkpointer&) override {
      f_(records);
    }

   private:
    std::function<void(const std::vector<cinesis::ConsumerRecord>&)> f_;
  };

  cinesis::ConsumerOptions ConsumerFor(const std::string& stream) const {
    cinesis::ConsumerOptions co;
    co.application = "client-bench";
    co.stream_name = stream;
    co.checkpoint_policy = cinesis::CheckpointPolicy::AfterEachBatch();
    co.shard_sync_interval = std::chrono::milliseconds(1000);
    return co;
  }

  int Consumer() {
    const std::string stream = NewStream("consumer");
    if (stream.empty()) return 1;
    if (!Prefill(stream, o.records)) {
      std::fprintf(stderr, "prefill failed\n");
      return 1;
    }
    auto co = ConsumerFor(stream);
    // As for the producer: without --aws-limits, measure the consumer, not AWS's limit of
    // 5 GetRecords calls per shard per second (4 shards x 10,000 records: 200,000 records/s).
    if (!o.aws_limits) co.max_get_records_per_second = std::numeric_limits<double>::infinity();
    auto c = cinesis::Consumer::Create(*client, co);
    if (!c.ok()) {
      std::fprintf(stderr, "consumer: %s\n", c.status().ToString().c_str());
      return 1;
    }
    // The window: from Run() to the processor call that delivers the last record (the
    // shutdown after it is not counted); client CPU from getrusage, the server's from
    // /proc/PID/stat (--server-pid), both read at the two ends of the window.
    std::atomic<std::uint64_t> got{0};
    std::mutex done_mu;
    std::condition_variable done_cv;
    bool done = false;
    Clock::time_point t_end;
    double cpu_end = 0, server_end = -1;
    PerfControl(o.perf_fifos, "enable");
    const double server0 = ProcessCpuSeconds(o.server_pid);
    const double cpu0 = CpuSeconds();
    const auto t0 = Clock::now();
    std::thread stopper([&] {
      std::unique_lock lock(done_mu);
      done_cv.wait_for(lock, std::chrono::minutes(5), [&] { return done; });
      lock.unlock();
      (*c)->Stop();
    });
    auto st = (*c)->Run([&](const std::string&) {
      return std::make_unique<Counter>([&](const std::vector<cinesis::ConsumerRecord>& r) {
        const std::uint64_t before = got.fetch_add(r.size());
        if (before < o.records && before + r.size() >= o.records) {
          const auto t = Clock::now();
          const double cpu = CpuSeconds(), server = ProcessCpuSeconds(o.server_pid);
          std::lock_guard lock(done_mu);
          t_end = t;
          cpu_end = cpu;
          server_end = server;
          done = true;
          done_cv.notify_all();
        }
      });
    });
    stopper.join();
    PerfControl(o.perf_fifos, "disable");
    if (!done) {  // stopped early (an error, or 5 minutes)
      t_end = Clock::now();
      cpu_end = CpuSeconds();
      server_end = ProcessCpuSeconds(o.server_pid);
    }
    const double with_stop = std::chrono::duration<double>(Clock::now() - t0).count();
    const double secs = std::chrono::duration<double>(t_end - t0).count();
    const double cpu = cpu_end - cpu0;
    const double server_cpu = server0 >= 0 && server_end >= 0 ? server_end - server0 : -1;
    const auto n = static_cast<double>(got.load());
    const double cpu_us = n > 0 ? 1e6 * cpu / n : 0.0;
    const double server_us = n > 0 && server_cpu >= 0 ? 1e6 * server_cpu / n : -1;
    const auto m = (*c)->metrics();
    DeleteStream(stream);
    char server_text[96] = "";
    if (server_us >= 0) {
      std::snprintf(server_text, sizeof server_text, ", server CPU %.2f us per record", server_us);
    }
    char text[640];
    std::snprintf(text, sizeof text,
                  "consumer   %.0f records/s delivered (%llu of %zu in %.3f s; %.3f s with the "
                  "stop), %llu GetRecords calls, process CPU %.0f%% of a core (%.2f us per "
                  "record)%s%s",
                  n / secs, static_cast<unsigned long long>(got.load()), o.records, secs, with_stop,
                  static_cast<unsigned long long>(m.get_records_calls), 100 * cpu / secs, cpu_us,
                  server_text, st.ok() ? "" : (" (" + st.ToString() + ")").c_str());
    std::map<std::string, double> values{
        {"records_per_s", n / secs},
        {"records", n},
        {"seconds", secs},
        {"seconds_with_stop", with_stop},
        {"get_records_calls", static_cast<double>(m.get_records_calls)},
        {"cpu_pct", 100 * cpu / secs},
        {"cpu_us_per_record", cpu_us}};
    if (server_us >= 0) {
      values["server_cpu_pct"] = 100 * server_cpu / secs;
      values["server_cpu_us_per_record"] = server_us;
    }
    Report("consumer", values, text);
    return got.load() >= o.records ? 0 : 1;
  }

  // Put at a steady rate while a consumer follows; latency from Put() to ProcessRecords.
  int Latency(bool push) {
    const std::string what = push ? "latency-push" : "latency-poll";
    const std::string stream = NewStream(what);
    if (stream.empty()) return 1;
    auto co = ConsumerFor(stream);
    co.initial_position = cinesis::InitialPosition::kTrimHorizon;
    if (push) co.enhanced_fan_out_consumer = "client-bench";
    auto c = cinesis::Consumer::Create(*client, co);
    if (!c.ok()) {
      std::fprintf(stderr, "consumer: %s\n", c.status().ToString().c_str());
      return 1;
    }
    std::mutex mu;
    std::vector<Clock::time_point> sent;
    std::vector<double> latencies_ms;
    sent.reserve(static_cast<std::size_t>(o.rate * o.duration_s) + 16);
    std::thread runner([&] {
      (void)(*c)->Run([&](const std::string&) {
        return std::make_unique<Counter>([&](const std::vector<cinesis::ConsumerRecord>& rs) {
          const auto now = Clock::now();
          std::lock_guard lock(mu);
          for (const auto& r : rs) {
            const auto i = std::stoull(r.data.substr(0, r.data.find(':')));
            if (i < sent.size()) {
              latencies_ms.push_back(
                  std::chrono::duration<double, std::milli>(now - sent[i]).count());
            }
          }
        });
      });
    });
    // Let the consumer find its shards (and subscribe) before measuring.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    auto p = cinesis::Producer::Create(*client, [&] {
      auto po = ProducerFor(stream);
      po.linger = std::chrono::milliseconds(0);
      return po;
    }());
    if (!p.ok()) return 1;
    const auto t0 = Clock::now();
    const auto n = static_cast<std::uint64_t>(o.rate * o.duration_s);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(t0 +
                                    std::chrono::duration<double>(static_cast<double>(i) / o.rate));
      {
        std::lock_guard lock(mu);
        sent.push_back(Clock::now());
      }
      (void)(*p)->Put("pk-" + std::to_string(i % 1000),
                      Payload(static_cast<std::size_t>(o.record_bytes), i), std::nullopt,
                      [](const cinesis::PutResult&) {});
    }
    (void)(*p)->Close(std::chrono::milliseconds(10'000));
    const auto wait_end = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < wait_end) {
      {
        std::lock_guard lock(mu);
        if (latencies_ms.size() >= n) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    (*c)->Stop();
    runner.join();
    DeleteStream(stream);
    std::vector<double> v;
    {
      std::lock_guard lock(mu);
      v = latencies_ms;
    }
    const double p50 = Percentile(v, 0.5), p99 = Percentile(v, 0.99),
                 max = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
    char text[512];
    std::snprintf(text, sizeof text,
                  "%s %llu of %llu records at %.0f/s, put -> consume ms: p50 %.2f, p99 %.2f, "
                  "max %.2f",
                  push ? "latency (push, SubscribeToShard)" : "latency (polling, GetRecords)  ",
                  static_cast<unsigned long long>(v.size()), static_cast<unsigned long long>(n),
                  o.rate, p50, p99, max);
    Report(what,
           {{"records", static_cast<double>(v.size())},
            {"expected", static_cast<double>(n)},
            {"rate", o.rate},
            {"p50_ms", p50},
            {"p99_ms", p99},
            {"max_ms", max}},
           text);
    return v.size() >= n ? 0 : 1;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark the libcinesis producer and consumer against a Kinesis endpoint"};
  Bench b;
  std::string scenario = "all";
  app.add_option("--endpoint", b.o.endpoint, "Kinesis endpoint (loopback in our scripts)");
  app.add_option("--scenario", scenario, "producer | consumer | latency | all")
      ->check(CLI::IsMember({"producer", "consumer", "latency", "all"}));
  app.add_option("--shards", b.o.shards, "shards per stream")->check(CLI::Range(1, 64));
  app.add_option("--record-bytes", b.o.record_bytes, "data bytes per record")
      ->check(CLI::Range(16, 1 << 20));
  app.add_option("--duration", b.o.duration_s, "seconds (producer, latency)")
      ->check(CLI::Range(0.5, 3600.0));
  app.add_option("--records", b.o.records, "records to prefill and consume (consumer)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  app.add_option("--rate", b.o.rate, "records/s put during the latency scenario")
      ->check(CLI::Range(1.0, 100'000.0));
  app.add_option("--producer-rate", b.o.producer_rate,
                 "records/s the producer scenario offers (paced); 0: as fast as Put returns, "
                 "which keeps the producer's buffer full")
      ->check(CLI::Range(0.0, 100'000'000.0));
  app.add_flag("--aws-limits", b.o.aws_limits,
               "keep AWS's per-shard limits: the producer's (1000 records/s, 1 MiB/s), the "
               "consumer's (5 GetRecords/s)");
  app.add_option("--buffer-mb", b.o.buffer_mb,
                 "the producer's buffer (ProducerOptions::buffer_bytes) in MiB; 0: its default")
      ->check(CLI::Range(std::size_t{0}, std::size_t{4096}));
  app.add_option("--server-pid", b.o.server_pid,
                 "the server's process id: its CPU (utime + stime from /proc/PID/stat) over "
                 "the consumer phase");
  app.add_option("--perf-fifo", b.o.perf_fifos,
                 "a `perf record --control fifo:PATH` fifo: \"enable\" at the start of the "
                 "consumer phase, \"disable\" at its end (repeatable)");
  app.add_flag("--json", b.o.json, "one JSON object per scenario");
  CLI11_PARSE(app, argc, argv);
  if (!b.Connect()) return 2;
  int rc = 0;
  if (scenario == "producer" || scenario == "all") rc |= b.Producer();
  if (scenario == "consumer" || scenario == "all") rc |= b.Consumer();
  if (scenario == "latency" || scenario == "all") {
    rc |= b.Latency(false);
    rc |= b.Latency(true);
  }
  return rc;
}
