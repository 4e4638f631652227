// `cinesis-bench` internals shared by its .cc files (not part of any library):
//   bench_command.cc  command line               bench_startup.cc  startup scenario (processes)
//   bench_options.cc  the option table (bench_options.h: BenchOptions, docs/bench-options.md)
//   bench_control.cc  stream setup and Run       bench_load.cc     the connection threads
//   bench_measure.cc  measured window, progress  bench_report.cc   human report and JSON line
//   bench_util.cc     histogram, /proc, scanners, formatting
//   bench_async.cc    put scenarios on event loops (more than kThreadedConnections connections)
//
// Up to kThreadedConnections connections, every connection is one thread with one keep-alive
// Boost.Beast connection; put scenarios with more run every connection as an asynchronous
// call loop on --io-threads Asio event loops, each loop counting into one Worker. Request
// bodies are prebuilt (a small pool of PutRecords/PutRecord requests with random partition
// keys and random data per connection) so the generator spends its CPU on the wire, not
// on building JSON; responses are scanned, not parsed, in the hot loop. Latencies go into
// per-thread log-linear histograms that a reporter thread reads every second.
#pragma once

#include <atomic>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench.h"
#include "bench_options.h"

namespace cinesis::app {

namespace bench {

using SteadyClock = std::chrono::steady_clock;  // not cinesis::Clock (wall time, injectable)

// Up to this many connections, one thread each; put scenarios with more run on event loops.
inline constexpr int kThreadedConnections = 64;
// get-records and mixed always run one thread per connection: at most this many.
inline constexpr int kMaxThreadedConnections = 1024;
// Descriptors the load generator keeps besides its connections (stdio, control, resolver).
inline constexpr int kSpareDescriptors = 32;

// ---- small helpers (bench_util.cc) --------------------------------------------------------
double Seconds(SteadyClock::duration d);
// "10s", "500ms", "2m" -> seconds; nullopt when malformed or negative.
std::optional<double> ParseDuration(std::string text);
std::string Grouped(double v);               // 1234567 -> "1,234,567"
std::string Fixed(double v, int decimals);   // printf %.*f
std::string Micros(double us);               // 3 significant digits or so: 0.123, 1.23, 12.3, 123
std::string JsonString(std::string_view s);  // quoted and escaped JSON string
double ClientCpuSeconds();                   // this process, utime + stime (getrusage)
std::string RandomHex(std::mt19937_64& rng, int chars);
std::string RandomData(std::mt19937_64& rng, int bytes);  // base64 of `bytes` random bytes
// CPU microseconds per unit (record, call) from CPU seconds; -1 when unknown (cpu < 0) or
// when there is no unit to divide by.
double MicrosPer(double cpu_seconds, std::uint64_t units);

// ---- the operations measured ----------------------------------------------------------------

enum Op { kPutRecords, kPutRecord, kGetRecords, kGetShardIterator, kOpCount };
inline constexpr const char* kOpNames[kOpCount] = {"PutRecords", "PutRecord", "GetRecords",
                                                   "GetShardIterator"};

// What one connection thread (or one event loop) counts. Written by its thread, read by the
// reporter.
struct alignas(64) Worker {
  std::atomic<std::uint64_t> connects{0};           // TCP connections opened
  std::atomic<std::uint64_t> put{0};                // records acknowledged
  std::atomic<std::uint64_t> got{0};                // records read
  std::atomic<std::uint64_t> failed{0};             // records a PutRecords answered as failed
  std::atomic<std::uint64_t> errors{0};             // calls that failed (HTTP status or transport)
  std::atomic<std::uint64_t> calls[kOpCount];       // value-initialised (C++20)
  std::atomic<std::uint64_t> window_max[kOpCount];  // max ns since the reporter last looked
  Histogram hist[kOpCount];
  std::atomic<bool> done{false};
};
using Workers = std::vector<std::unique_ptr<Worker>>;

// The workers' counters added up at one moment, with the CPU clocks read then.
struct Snapshot {
  double t = 0;  // seconds since start
  std::uint64_t put = 0, got = 0, failed = 0, errors = 0, connects = 0;
  std::uint64_t calls[kOpCount] = {};
  std::vector<std::uint64_t> hist[kOpCount];
  double server_cpu = 0, client_cpu = 0, machine_busy = 0;

  static Snapshot Take(const Workers& workers);
  Snapshot Minus(const Snapshot& b) const;
};

struct OpResult {
  std::uint64_t calls = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

struct Result {
  std::string scenario;
  double seconds = 0;
  std::uint64_t put = 0, got = 0, failed = 0, errors = 0, missing = 0;
  std::uint64_t total_put = 0;  // including the warmup: what the stream now holds from this run
  std::uint64_t connects = 0;   // TCP connections opened over the whole run (reconnects too)
  OpResult ops[kOpCount];
  double server_cpu_pct = -1, client_cpu_pct = 0;
  double server_cpu_s = -1, client_cpu_s = 0;  // CPU seconds over the measured window
  double machine_busy_pct = 0;                 // all cores together (200% = both of 2 cores busy)
  double others_cpu_pct = -1;                  // machine busy minus server and load generator
  double rss_start_mb = -1, rss_end_mb = -1, rss_peak_mb = -1;
  std::uint64_t prefill = 0;
  double prefill_seconds = 0;
  bool complete = true;  // get-records: every reader finished a full pass
  std::string first_error;

  std::uint64_t Records() const { return put + got; }  // moved: acknowledged or read
  std::uint64_t Calls() const;                         // successful calls of every operation
};

// What the measured window needs besides the workers (bench_measure.cc).
struct Window {
  SteadyClock::time_point start;
  ProcSample server0;  // the server when the load started
  double rss_peak = -1;
  std::vector<std::uint64_t> max_ns = std::vector<std::uint64_t>(kOpCount, 0);
  Snapshot base;  // start of the measured part (after the warmup)
  bool measuring = false;
};

// ---- the benchmark run ---------------------------------------------------------------------

class Bench {
 public:
  explicit Bench(const BenchOptions& o) : o_(o) {}

  int Run();  // bench_control.cc

 private:
  friend class AsyncPutLoad;  // bench_async.cc

  // Whether `scenario` runs its connections on event loops (bench_async.cc), and on how many.
  bool OnEventLoops(const std::string& scenario) const;
  int EventLoops(const std::string& scenario) const;
  // Raises the open-files limit for the connections; false (with a message) when it can't.
  bool EnsureDescriptors() const;
  // Control plane (one connection, parsed responses): bench_control.cc.
  bool Control(std::string_view op, const std::string& body, boost::json::value* out,
               std::string* error);
  bool ParseTimes();
  bool EnsureStream();
  bool CreateStream();
  bool WaitActive();
  bool ListOpenShards();
  void DeleteStream();

  // Load: bench_load.cc.
  std::string PutRecordsBody(std::mt19937_64& rng) const;
  std::string PutRecordBody(std::mt19937_64& rng) const;
  std::vector<std::string> RequestPool(int index, bool many) const;
  std::string ShardIteratorRequest(int shard) const;
  std::string GetRecordsRequest(const std::string& iterator) const;
  std::vector<int> ShardsFor(int reader, int readers) const;
  void CountShards(std::string_view body, std::vector<std::uint64_t>& per_shard) const;
  void NoteError(Worker& w, const Response& r);
  bool Timed(Connection& c, Worker& w, Op op, std::string_view request, Response& r);
  static void Count(Worker& w, Op op, std::uint64_t ns);  // one successful call of `ns`
  // Event loop `loop` of `loops`: its share of the connections putting (bench_async.cc).
  void AsyncPutLoop(int loop, int loops, Worker& w, Op op, std::uint64_t target);
  void PutLoop(int index, Worker& w, Op op, std::uint64_t target,
               std::vector<std::uint64_t>* per_shard);
  void DrainLoop(int index, int readers, Worker& w);
  bool DrainShard(Connection& conn, Worker& w, int shard);
  void TailLoop(int index, int readers, Worker& w);

  // Measurement: bench_measure.cc.
  void ResetWorkers(int n);
  bool Prefill(std::uint64_t n, Result& result);
  void WaitPrefill(std::uint64_t n) const;
  Result Measure(const std::string& scenario);
  std::vector<std::thread> StartLoad(const std::string& scenario);
  Snapshot Stamp(Window& w) const;
  void CollectMax(Window& w, bool keep) const;
  void Drive(const std::string& scenario, Window& w);
  void Summarize(const Snapshot& end, const Window& w, Result& result);
  void Progress(const std::string& what, const Snapshot& now, const Snapshot& prev,
                bool warmup) const;

  // Report: bench_report.cc.
  void Report(const Result& r) const;
  void PrintReport(const Result& r) const;
  void PrintResources(std::ostream& out, const Result& r) const;
  void PrintJson(const Result& r) const;

  const BenchOptions& o_;
  Endpoint ep_;
  Connection* control_ = nullptr;
  std::string stream_;
  bool created_ = false;
  std::vector<std::string> shard_ids_;
  std::map<std::string, int, std::less<>> shard_index_;
  std::vector<std::uint64_t> expected_;  // records per shard when known (empty: unknown)
  double duration_ = 10, warmup_ = 0, timeout_ = 300;

  Workers workers_;
  std::atomic<bool> stop_{false};          // workers: stop now
  std::atomic<bool> deadline_{false};      // the measured duration is over
  std::atomic<std::uint64_t> claimed_{0};  // records claimed against a target
  std::mutex error_mu_;
  std::string first_error_;
  std::atomic<std::uint64_t> missing_{0};
  std::atomic<bool> incomplete_{false};
};

// The startup scenario (bench_startup.cc): runs `o.command` `o.runs` times and times exec ->
// first answered request.
int RunStartup(const BenchOptions& o);

}  // namespace bench
}  // namespace cinesis::app
