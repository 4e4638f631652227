// `cinesis-bench` (also run as `cinesis bench`, which execs it): a load generator that speaks the
// Kinesis wire protocol (AWS JSON 1.1 over HTTP/1.1 keep-alive connections) to any
// Kinesis-compatible endpoint — cinesis, kinesalite, kinesis-local — and reports records/s, MB/s,
// per-call latency and the server's CPU and RSS. Scenarios: put-records, put-record, get-records,
// mixed, and startup (time from exec to the first answered request). See docs/benchmarks.md.
//
// A binary of its own, so the server carries no benchmark code (main.cc here registers the
// options on its App and runs it; the rest of this header is shared by bench*.cc only, and
// bench_internal.h holds what the scenario runners share).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace cinesis::app {

struct BenchOptions;

// Registers the benchmark's options on `app`; after parsing, `return bench.Run();`.
class BenchCommand {
 public:
  explicit BenchCommand(CLI::App& app);
  ~BenchCommand();
  BenchCommand(const BenchCommand&) = delete;
  BenchCommand& operator=(const BenchCommand&) = delete;

  int Run();

 private:
  CLI::App* sub_;
  std::unique_ptr<BenchOptions> options_;
};

namespace bench {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::string port = "4567";
};
// Parses "http://HOST:PORT[/]"; false if it is not of that form.
bool ParseEndpoint(std::string_view url, Endpoint& out);

// The complete bytes of one signed-looking Kinesis request: POST /, JSON 1.1 content type,
// X-Amz-Target, X-Amz-Date and an AWS4-HMAC-SHA256 Authorization header (emulators check
// presence only), Content-Length, keep-alive.
std::string BuildRequest(const Endpoint& ep, std::string_view op, std::string_view body);

struct Response {
  int status = 0;  // HTTP status; 0 on a transport failure
  std::string body;
  std::string error;  // transport failure text
};

// One keep-alive HTTP/1.1 connection (Boost.Beast, synchronous). Reconnects lazily after
// the server closed it or after a transport failure. Not thread-safe: one per thread.
class Connection {
 public:
  explicit Connection(Endpoint ep);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends prebuilt request bytes (BuildRequest) and reads the response into `out`.
  // Returns false on a transport failure (out.status == 0, out.error set).
  bool Send(std::string_view request, Response& out);
  bool Call(std::string_view op, std::string_view body, Response& out) {
    return Send(BuildRequest(ep_, op, body), out);
  }
  void Close();
  // TCP connections this object opened so far.
  std::uint64_t Opened() const { return opened_; }

 private:
  struct Impl;
  Endpoint ep_;
  std::unique_ptr<Impl> impl_;
  std::uint64_t opened_ = 0;
};

// Log-linear latency histogram in nanoseconds (under 0.8% relative error up to ~18 min).
// Record() is called by one thread; Snapshot() may be called concurrently by others.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::size_t kBuckets = (41 - kSubBits) * (1u << kSubBits) + (2u << kSubBits);

  Histogram();
  void Record(std::uint64_t ns);
  // Adds the current counts to `into` (resized to kBuckets).
  void AddTo(std::vector<std::uint64_t>& into) const;

  static std::size_t Index(std::uint64_t ns);
  static std::uint64_t Lower(std::size_t index);  // smallest value of bucket `index`
  static std::uint64_t Upper(std::size_t index);  // one past the largest value
  // Quantile q in [0,1] of counts (midpoint of the bucket); 0 when empty.
  static double Quantile(const std::vector<std::uint64_t>& counts, double q);

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
};

// Process figures read from /proc/PID/stat and /proc/PID/status.
struct ProcSample {
  bool ok = false;
  double cpu_seconds = 0;  // utime + stime
  double rss_mb = 0;       // VmRSS
  double hwm_mb = 0;       // VmHWM (peak RSS)
};
ProcSample SampleProcess(long pid);
// CPU seconds the whole machine spent busy (all cores; /proc/stat minus idle and iowait).
double MachineBusySeconds();

// Small scanners for the benchmark's hot loop: the responses are not parsed as a whole.
// Integer value of the first `"key":N` in `json` (whitespace tolerated), or -1.
long long ScanInt(std::string_view json, std::string_view key);
// String value of the first `"key":"..."`, or empty.
std::string_view ScanString(std::string_view json, std::string_view key);
// Number of occurrences of `"key"` in `json`.
std::size_t CountKey(std::string_view json, std::string_view key);

}  // namespace bench
}  // namespace cinesis::app
