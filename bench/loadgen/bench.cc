// `cinesis bench`: command line, scenarios, progress and the final report.
//
// Every connection is one thread with one keep-alive Boost.Beast connection. Request
// bodies are prebuilt (a small pool of PutRecords/PutRecord requests with random partition
// keys and random data per connection) so the generator spends its CPU on the wire, not
// on building JSON; responses are scanned, not parsed, in the hot loop. Latencies go into
// per-thread log-linear histograms that a reporter thread reads every second.
#include "bench.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "common/base64.h"

namespace cinesis::app {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;  // not cinesis::Clock (wall time, injectable)
using bench::Connection;
using bench::Histogram;
using bench::Response;

struct BenchOptions {
  std::string endpoint = "http://127.0.0.1:4567";
  std::string scenario = "put-records";
  int connections = 8;
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
  CLI::Option* endpoint_option = nullptr;
};

namespace {

// ---- small helpers ------------------------------------------------------------------------

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

std::optional<double> ParseDuration(std::string text) {
  if (text.empty()) return std::nullopt;
  double scale = 1;
  if (text.size() > 2 && text.ends_with("ms")) {
    scale = 1e-3;
    text.resize(text.size() - 2);
  } else if (text.ends_with("s")) {
    text.pop_back();
  } else if (text.ends_with("m")) {
    scale = 60;
    text.pop_back();
  }
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size() || v < 0) return std::nullopt;
    return v * scale;
  } catch (...) {
    return std::nullopt;
  }
}

std::string Grouped(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string JsonString(std::string_view s) {
  return json::serialize(json::value(json::string_view(s.data(), s.size())));
}

double ClientCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

std::string RandomHex(std::mt19937_64& rng, int chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(static_cast<std::size_t>(chars));
  for (int i = 0; i < chars; ++i) s += kHex[rng() & 15];
  return s;
}

std::string RandomData(std::mt19937_64& rng, int bytes) {
  std::string raw(static_cast<std::size_t>(bytes), '\0');
  for (auto& c : raw) c = static_cast<char>(rng() & 0xff);
  return Base64Encode(raw);
}

// ---- the operations measured ---------------------------------------------------------------

enum Op { kPutRecords, kPutRecord, kGetRecords, kGetShardIterator, kOpCount };
constexpr const char* kOpNames[kOpCount] = {"PutRecords", "PutRecord", "GetRecords",
                                            "GetShardIterator"};

// What one connection thread counts. Written by its thread, read by the reporter.
struct alignas(64) Worker {
  std::atomic<std::uint64_t> put{0};                // records acknowledged
  std::atomic<std::uint64_t> got{0};                // records read
  std::atomic<std::uint64_t> failed{0};             // records a PutRecords answered as failed
  std::atomic<std::uint64_t> errors{0};             // calls that failed (HTTP status or transport)
  std::atomic<std::uint64_t> calls[kOpCount];       // value-initialised (C++20)
  std::atomic<std::uint64_t> window_max[kOpCount];  // max ns since the reporter last looked
  Histogram hist[kOpCount];
  std::atomic<bool> done{false};
};

struct Snapshot {
  double t = 0;  // seconds since start
  std::uint64_t put = 0, got = 0, failed = 0, errors = 0;
  std::uint64_t calls[kOpCount] = {};
  std::vector<std::uint64_t> hist[kOpCount];
  double server_cpu = 0, client_cpu = 0, machine_busy = 0;

  static Snapshot Take(const std::vector<std::unique_ptr<Worker>>& workers) {
    Snapshot s;
    for (auto& h : s.hist) h.assign(Histogram::kBuckets, 0);
    for (const auto& w : workers) {
      s.put += w->put.load(std::memory_order_relaxed);
      s.got += w->got.load(std::memory_order_relaxed);
      s.failed += w->failed.load(std::memory_order_relaxed);
      s.errors += w->errors.load(std::memory_order_relaxed);
      for (int op = 0; op < kOpCount; ++op) {
        s.calls[op] += w->calls[op].load(std::memory_order_relaxed);
        w->hist[op].AddTo(s.hist[op]);
      }
    }
    return s;
  }
  Snapshot Minus(const Snapshot& b) const {
    Snapshot d = *this;
    d.t -= b.t;
    d.put -= b.put;
    d.got -= b.got;
    d.failed -= b.failed;
    d.errors -= b.errors;
    d.server_cpu -= b.server_cpu;
    d.client_cpu -= b.client_cpu;
    d.machine_busy -= b.machine_busy;
    for (int op = 0; op < kOpCount; ++op) {
      d.calls[op] -= b.calls[op];
      for (std::size_t i = 0; i < Histogram::kBuckets; ++i) d.hist[op][i] -= b.hist[op][i];
    }
    return d;
  }
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
  OpResult ops[kOpCount];
  double server_cpu_pct = -1, client_cpu_pct = 0;
  double machine_busy_pct = 0;  // all cores together (200% = both of 2 cores busy)
  double others_cpu_pct = -1;   // machine busy minus server and load generator
  double rss_start_mb = -1, rss_end_mb = -1, rss_peak_mb = -1;
  std::uint64_t prefill = 0;
  double prefill_seconds = 0;
  bool complete = true;  // get-records: every reader finished a full pass
  std::string first_error;
};

// ---- the benchmark run ---------------------------------------------------------------------

class Bench {
 public:
  explicit Bench(const BenchOptions& o) : o_(o) {}

  int Run();

 private:
  // Control plane (one connection, parsed responses).
  bool Control(std::string_view op, const std::string& body, json::value* out, std::string* error);
  bool EnsureStream();
  void DeleteStream();

  // Load.
  std::string PutRecordsBody(std::mt19937_64& rng) const;
  std::string PutRecordBody(std::mt19937_64& rng) const;
  std::vector<int> ShardsFor(int reader, int readers) const;
  void NoteError(Worker& w, const Response& r);
  bool Timed(Connection& c, Worker& w, Op op, std::string_view request, Response& r);
  void PutLoop(int index, Worker& w, Op op, std::uint64_t target,
               std::vector<std::uint64_t>* per_shard);
  void DrainLoop(int index, int readers, Worker& w);
  void TailLoop(int index, int readers, Worker& w);
  bool Prefill(std::uint64_t n, Result& result);
  Result Measure(const std::string& scenario);
  void Progress(const std::string& what, const Snapshot& now, const Snapshot& prev, bool warmup);

  void Report(const Result& r) const;

  const BenchOptions& o_;
  bench::Endpoint ep_;
  Connection* control_ = nullptr;
  std::string stream_;
  bool created_ = false;
  std::vector<std::string> shard_ids_;
  std::map<std::string, int, std::less<>> shard_index_;
  std::vector<std::uint64_t> expected_;  // records per shard when known (empty: unknown)
  double duration_ = 10, warmup_ = 0, timeout_ = 300;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};          // workers: stop now
  std::atomic<bool> deadline_{false};      // the measured duration is over
  std::atomic<std::uint64_t> claimed_{0};  // records claimed against a target
  std::mutex error_mu_;
  std::string first_error_;
  std::atomic<std::uint64_t> missing_{0};
  std::atomic<bool> incomplete_{false};
};

bool Bench::Control(std::string_view op, const std::string& body, json::value* out,
                    std::string* error) {
  Response r;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (control_->Call(op, body, r)) break;
  }
  if (r.status == 0) {
    if (error) *error = std::string(op) + ": " + r.error;
    return false;
  }
  if (r.status != 200) {
    if (error)
      *error = std::string(op) + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300);
    return false;
  }
  if (out) {
    boost::system::error_code ec;
    *out = r.body.empty() ? json::value(json::object()) : json::parse(r.body, ec);
    if (ec) {
      if (error) *error = std::string(op) + ": unparsable response";
      return false;
    }
  }
  return true;
}

bool Bench::EnsureStream() {
  std::string error;
  const std::string name_json = JsonString(stream_);
  json::object create;
  create["StreamName"] = stream_;
  create["ShardCount"] = o_.shards;
  if (Control("CreateStream", json::serialize(create), nullptr, &error)) {
    created_ = true;
  } else if (error.find("ResourceInUseException") == std::string::npos || o_.stream.empty()) {
    std::cerr << "cinesis bench: " << error << "\n";
    return false;
  }
  // Wait for ACTIVE.
  const auto give_up = SteadyClock::now() + std::chrono::seconds(60);
  bool summary = true;
  for (;;) {
    json::value v;
    std::string status;
    if (summary &&
        Control("DescribeStreamSummary", "{\"StreamName\":" + name_json + "}", &v, &error)) {
      status = json::value_to<std::string>(v.at("StreamDescriptionSummary").at("StreamStatus"));
    } else {
      summary = false;
      if (!Control("DescribeStream", "{\"StreamName\":" + name_json + ",\"Limit\":1}", &v,
                   &error)) {
        std::cerr << "cinesis bench: " << error << "\n";
        return false;
      }
      status = json::value_to<std::string>(v.at("StreamDescription").at("StreamStatus"));
    }
    if (status == "ACTIVE") break;
    if (SteadyClock::now() > give_up) {
      std::cerr << "cinesis bench: stream " << stream_ << " still " << status << " after 60 s\n";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Open shards, paging through DescribeStream.
  std::string start;
  for (;;) {
    json::object req;
    req["StreamName"] = stream_;
    if (!start.empty()) req["ExclusiveStartShardId"] = start;
    json::value v;
    if (!Control("DescribeStream", json::serialize(req), &v, &error)) {
      std::cerr << "cinesis bench: " << error << "\n";
      return false;
    }
    const auto& d = v.at("StreamDescription").as_object();
    for (const auto& s : d.at("Shards").as_array()) {
      const auto& shard = s.as_object();
      start = json::value_to<std::string>(shard.at("ShardId"));
      const auto& range = shard.at("SequenceNumberRange").as_object();
      if (const auto* end = range.if_contains("EndingSequenceNumber"); end && !end->is_null())
        continue;  // closed
      shard_index_[start] = static_cast<int>(shard_ids_.size());
      shard_ids_.push_back(start);
    }
    if (!d.contains("HasMoreShards") || !d.at("HasMoreShards").as_bool() ||
        d.at("Shards").as_array().empty())
      break;
  }
  if (shard_ids_.empty()) {
    std::cerr << "cinesis bench: stream " << stream_ << " has no open shard\n";
    return false;
  }
  return true;
}

void Bench::DeleteStream() {
  if (!created_ || o_.keep_stream) return;
  std::string error;
  if (!Control("DeleteStream", "{\"StreamName\":" + JsonString(stream_) + "}", nullptr, &error)) {
    std::cerr << "cinesis bench: " << error << "\n";
  }
}

std::string Bench::PutRecordsBody(std::mt19937_64& rng) const {
  std::string body = "{\"StreamName\":" + JsonString(stream_) + ",\"Records\":[";
  for (int i = 0; i < o_.batch; ++i) {
    if (i) body += ',';
    body += "{\"Data\":\"";
    body += RandomData(rng, o_.record_bytes);
    body += "\",\"PartitionKey\":\"";
    body += RandomHex(rng, 16);
    body += "\"}";
  }
  body += "]}";
  return body;
}

std::string Bench::PutRecordBody(std::mt19937_64& rng) const {
  return "{\"StreamName\":" + JsonString(stream_) + ",\"Data\":\"" +
         RandomData(rng, o_.record_bytes) + "\",\"PartitionKey\":\"" + RandomHex(rng, 16) + "\"}";
}

// Reader `reader` of `readers`: with at least as many readers as shards, each reads one
// shard (several readers may share one); otherwise each reads every readers-th shard.
std::vector<int> Bench::ShardsFor(int reader, int readers) const {
  const int shards = static_cast<int>(shard_ids_.size());
  std::vector<int> out;
  if (readers >= shards) {
    out.push_back(reader % shards);
  } else {
    for (int s = reader; s < shards; s += readers) out.push_back(s);
  }
  return out;
}

void Bench::NoteError(Worker& w, const Response& r) {
  w.errors.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(error_mu_);
  if (first_error_.empty()) {
    first_error_ =
        r.status == 0 ? r.error : "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300);
  }
}

bool Bench::Timed(Connection& c, Worker& w, Op op, std::string_view request, Response& r) {
  const auto t0 = SteadyClock::now();
  const bool sent = c.Send(request, r);
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0).count());
  if (!sent || r.status != 200) {
    NoteError(w, r);
    if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return false;
  }
  w.calls[op].fetch_add(1, std::memory_order_relaxed);
  w.hist[op].Record(ns);
  auto seen = w.window_max[op].load(std::memory_order_relaxed);
  while (ns > seen &&
         !w.window_max[op].compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
  return true;
}

// Puts until stop_ (or, with a target, until `target` records were claimed). With
// `per_shard`, counts the acknowledged records of each shard (prefill).
void Bench::PutLoop(int index, Worker& w, Op op, std::uint64_t target,
                    std::vector<std::uint64_t>* per_shard) {
  std::mt19937_64 rng(std::random_device{}() ^ (static_cast<std::uint64_t>(index) << 32));
  const bool many = op == kPutRecords;
  const int pool = o_.body_pool > 0 ? o_.body_pool : (many ? 8 : 512);
  std::vector<std::string> requests;
  requests.reserve(static_cast<std::size_t>(pool));
  for (int i = 0; i < pool; ++i) {
    requests.push_back(bench::BuildRequest(ep_, many ? "PutRecords" : "PutRecord",
                                           many ? PutRecordsBody(rng) : PutRecordBody(rng)));
  }
  const std::uint64_t per_call = many ? static_cast<std::uint64_t>(o_.batch) : 1;
  Connection conn(ep_);
  Response r;
  std::size_t next = 0;
  int consecutive_failures = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (target > 0 && claimed_.fetch_add(per_call, std::memory_order_relaxed) >= target) break;
    const std::string& req = requests[next];
    next = (next + 1) % requests.size();
    if (!Timed(conn, w, op, req, r)) {
      if (target > 0) claimed_.fetch_sub(per_call, std::memory_order_relaxed);  // retry the claim
      if (++consecutive_failures >= 50) {
        std::cerr << "cinesis bench: 50 consecutive failures on connection " << index
                  << ", giving up\n";
        stop_ = true;
      }
      continue;
    }
    consecutive_failures = 0;
    std::uint64_t failed = 0;
    if (many) {
      auto f = bench::ScanInt(r.body, "FailedRecordCount");
      failed = f > 0 ? static_cast<std::uint64_t>(f) : 0;
      if (failed > per_call) failed = per_call;
    }
    if (per_shard) {
      std::string_view body = r.body;
      constexpr std::string_view kKey = "\"ShardId\":\"";
      for (auto at = body.find(kKey); at != std::string_view::npos; at = body.find(kKey, at + 1)) {
        auto start = at + kKey.size();
        auto end = body.find('"', start);
        if (end == std::string_view::npos) break;
        if (auto it = shard_index_.find(body.substr(start, end - start));
            it != shard_index_.end()) {
          ++(*per_shard)[static_cast<std::size_t>(it->second)];
        }
      }
    }
    if (failed > 0) {
      w.failed.fetch_add(failed, std::memory_order_relaxed);
      if (target > 0) claimed_.fetch_sub(failed, std::memory_order_relaxed);  // put them again
    }
    w.put.fetch_add(per_call - failed, std::memory_order_relaxed);
  }
  w.done = true;
}

// get-records: reads its shards from TRIM_HORIZON to the end, again and again, until the
// measured duration is over and it has finished at least one full pass.
void Bench::DrainLoop(int index, int readers, Worker& w) {
  Connection conn(ep_);
  Response r;
  const auto shards = ShardsFor(index, readers);
  const std::string limit = std::to_string(o_.get_limit);
  bool full_pass = false;
  while (!stop_.load(std::memory_order_relaxed) &&
         !(full_pass && deadline_.load(std::memory_order_relaxed))) {
    bool pass_ok = true;
    for (int s : shards) {
      const std::string shard_request =
          bench::BuildRequest(ep_, "GetShardIterator",
                              "{\"StreamName\":" + JsonString(stream_) + ",\"ShardId\":\"" +
                                  shard_ids_[static_cast<std::size_t>(s)] +
                                  "\",\"ShardIteratorType\":\"TRIM_HORIZON\"}");
      if (!Timed(conn, w, kGetShardIterator, shard_request, r)) {
        pass_ok = false;
        break;
      }
      std::string iterator(bench::ScanString(r.body, "ShardIterator"));
      const std::uint64_t expected = expected_.empty() ? 0 : expected_[static_cast<std::size_t>(s)];
      std::uint64_t read = 0;
      int failures = 0;
      while (!iterator.empty() && !stop_.load(std::memory_order_relaxed)) {
        if (!Timed(conn, w, kGetRecords,
                   bench::BuildRequest(
                       ep_, "GetRecords",
                       "{\"ShardIterator\":\"" + iterator + "\",\"Limit\":" + limit + "}"),
                   r)) {
          if (++failures >= 50) {
            stop_ = true;
            break;
          }
          continue;
        }
        const auto n = bench::CountKey(r.body, "SequenceNumber");
        read += n;
        w.got.fetch_add(n, std::memory_order_relaxed);
        if (expected > 0 && read >= expected) break;
        if (n == 0 && bench::ScanInt(r.body, "MillisBehindLatest") <= 0) {
          if (expected > read) missing_.fetch_add(expected - read, std::memory_order_relaxed);
          break;
        }
        iterator = std::string(bench::ScanString(r.body, "NextShardIterator"));
      }
      if (stop_.load(std::memory_order_relaxed)) pass_ok = false;
      if (!pass_ok) break;
    }
    if (pass_ok) full_pass = true;
  }
  if (!full_pass) incomplete_ = true;
  w.done = true;
}

// mixed: follows its shards from TRIM_HORIZON like a consumer, pausing 5 ms when a read
// comes back empty.
void Bench::TailLoop(int index, int readers, Worker& w) {
  Connection conn(ep_);
  Response r;
  const auto shards = ShardsFor(index, readers);
  const std::string limit = std::to_string(o_.get_limit);
  std::vector<std::string> iterators(shards.size());
  int failures = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    bool any = false;
    for (std::size_t i = 0; i < shards.size() && !stop_.load(std::memory_order_relaxed); ++i) {
      if (iterators[i].empty()) {
        if (!Timed(
                conn, w, kGetShardIterator,
                bench::BuildRequest(ep_, "GetShardIterator",
                                    "{\"StreamName\":" + JsonString(stream_) + ",\"ShardId\":\"" +
                                        shard_ids_[static_cast<std::size_t>(shards[i])] +
                                        "\",\"ShardIteratorType\":\"TRIM_HORIZON\"}"),
                r)) {
          if (++failures >= 50) stop_ = true;
          continue;
        }
        iterators[i] = std::string(bench::ScanString(r.body, "ShardIterator"));
      }
      if (!Timed(conn, w, kGetRecords,
                 bench::BuildRequest(
                     ep_, "GetRecords",
                     "{\"ShardIterator\":\"" + iterators[i] + "\",\"Limit\":" + limit + "}"),
                 r)) {
        if (++failures >= 50) stop_ = true;
        iterators[i].clear();
        continue;
      }
      const auto n = bench::CountKey(r.body, "SequenceNumber");
      if (n > 0) any = true;
      w.got.fetch_add(n, std::memory_order_relaxed);
      iterators[i] = std::string(bench::ScanString(r.body, "NextShardIterator"));
    }
    if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  w.done = true;
}

void Bench::Progress(const std::string& what, const Snapshot& now, const Snapshot& prev,
                     bool warmup) {
  if (o_.quiet) return;
  const double dt = now.t - prev.t;
  if (dt <= 0) return;
  std::ostringstream line;
  line << "[" << std::setw(6) << Fixed(now.t, 1) << "s] " << what << (warmup ? " (warmup)" : "")
       << "  ";
  const double put = static_cast<double>(now.put - prev.put) / dt;
  const double got = static_cast<double>(now.got - prev.got) / dt;
  if (now.put != prev.put || what != "get-records") line << "put " << Grouped(put) << " rec/s  ";
  if (now.got != prev.got || what == "get-records" || what == "mixed")
    line << "get " << Grouped(got) << " rec/s  ";
  line << Fixed((put + got) * o_.record_bytes / 1e6, 1) << " MB/s";
  for (int op = 0; op < kOpCount; ++op) {
    const auto calls = now.calls[op] - prev.calls[op];
    if (calls == 0 || op == kGetShardIterator) continue;
    std::vector<std::uint64_t> window(Histogram::kBuckets);
    for (std::size_t i = 0; i < window.size(); ++i) window[i] = now.hist[op][i] - prev.hist[op][i];
    line << "  " << kOpNames[op] << " " << Grouped(static_cast<double>(calls) / dt) << "/s p50 "
         << Fixed(Histogram::Quantile(window, 0.5) / 1e6, 2) << " p99 "
         << Fixed(Histogram::Quantile(window, 0.99) / 1e6, 2) << " ms";
  }
  if (now.errors) line << "  errors " << now.errors;
  if (o_.server_pid > 0) {
    auto p = bench::SampleProcess(o_.server_pid);
    if (p.ok) {
      line << "  server cpu " << Fixed(100 * (now.server_cpu - prev.server_cpu) / dt, 0) << "% rss "
           << Fixed(p.rss_mb, 1) << " MB";
    }
  }
  std::cerr << line.str() << std::endl;
}

bool Bench::Prefill(std::uint64_t n, Result& result) {
  const auto t0 = SteadyClock::now();
  std::vector<std::vector<std::uint64_t>> per_shard(
      static_cast<std::size_t>(o_.connections), std::vector<std::uint64_t>(shard_ids_.size(), 0));
  workers_.clear();
  for (int i = 0; i < o_.connections; ++i) workers_.push_back(std::make_unique<Worker>());
  claimed_ = 0;
  stop_ = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < o_.connections; ++i) {
    threads.emplace_back([this, i, n, &per_shard] {
      PutLoop(i, *workers_[static_cast<std::size_t>(i)], kPutRecords, n,
              &per_shard[static_cast<std::size_t>(i)]);
    });
  }
  auto last = SteadyClock::now();
  while (!std::all_of(workers_.begin(), workers_.end(),
                      [](const auto& w) { return w->done.load(); })) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!o_.quiet && SteadyClock::now() - last >= std::chrono::seconds(1)) {
      last = SteadyClock::now();
      auto s = Snapshot::Take(workers_);
      std::cerr << "[prefill] " << Grouped(static_cast<double>(s.put)) << " / "
                << Grouped(static_cast<double>(n)) << " records"
                << (s.errors ? "  errors " + std::to_string(s.errors) : "") << std::endl;
    }
  }
  for (auto& t : threads) t.join();
  auto s = Snapshot::Take(workers_);
  result.prefill = s.put;
  result.prefill_seconds = Seconds(SteadyClock::now() - t0);
  if (created_) {
    expected_.assign(shard_ids_.size(), 0);
    for (const auto& v : per_shard) {
      for (std::size_t i = 0; i < v.size(); ++i) expected_[i] += v[i];
    }
  }
  if (!o_.quiet) {
    std::cerr << "[prefill] " << Grouped(static_cast<double>(s.put)) << " records in "
              << Fixed(result.prefill_seconds, 1) << " s" << std::endl;
  }
  return !stop_.load() && s.put >= n;
}

Result Bench::Measure(const std::string& scenario) {
  Result result;
  result.scenario = scenario;
  if (scenario == "get-records") {
    const std::uint64_t n = o_.records < 0 ? 200'000 : static_cast<std::uint64_t>(o_.records);
    if (n > 0 && !Prefill(n, result)) {
      std::lock_guard lock(error_mu_);
      result.first_error = first_error_.empty() ? "prefill did not complete" : first_error_;
      result.errors = 1;
      result.complete = false;
      return result;
    }
  }
  const int conns = o_.connections;
  workers_.clear();
  for (int i = 0; i < conns; ++i) workers_.push_back(std::make_unique<Worker>());
  stop_ = false;
  deadline_ = false;
  claimed_ = 0;
  const std::uint64_t target =
      (scenario == "put-records" || scenario == "put-record") && o_.records > 0
          ? static_cast<std::uint64_t>(o_.records)
          : 0;

  const auto start = SteadyClock::now();
  const auto server0 = bench::SampleProcess(o_.server_pid);
  if (server0.ok) result.rss_start_mb = server0.rss_mb;
  double rss_peak = server0.ok ? server0.rss_mb : -1;

  std::vector<std::thread> threads;
  const int putters = scenario == "mixed" ? (conns + 1) / 2 : conns;
  for (int i = 0; i < conns; ++i) {
    Worker& w = *workers_[static_cast<std::size_t>(i)];
    if (scenario == "put-records") {
      threads.emplace_back([this, i, &w, target] { PutLoop(i, w, kPutRecords, target, nullptr); });
    } else if (scenario == "put-record") {
      threads.emplace_back([this, i, &w, target] { PutLoop(i, w, kPutRecord, target, nullptr); });
    } else if (scenario == "get-records") {
      threads.emplace_back([this, i, &w, conns] { DrainLoop(i, conns, w); });
    } else if (i < putters) {
      threads.emplace_back([this, i, &w] { PutLoop(i, w, kPutRecords, 0, nullptr); });
    } else {
      threads.emplace_back(
          [this, i, &w, putters, conns] { TailLoop(i - putters, conns - putters, w); });
    }
  }

  auto stamp = [&](Snapshot s) {
    s.t = Seconds(SteadyClock::now() - start);
    s.client_cpu = ClientCpuSeconds();
    s.machine_busy = bench::MachineBusySeconds();
    if (auto p = bench::SampleProcess(o_.server_pid); p.ok) {
      s.server_cpu = p.cpu_seconds;
      rss_peak = std::max(rss_peak, p.rss_mb);
    }
    return s;
  };
  std::vector<std::uint64_t> max_ns(kOpCount, 0);
  auto collect_max = [&](bool keep) {
    for (auto& w : workers_) {
      for (int op = 0; op < kOpCount; ++op) {
        auto v = w->window_max[op].exchange(0, std::memory_order_relaxed);
        if (keep)
          max_ns[static_cast<std::size_t>(op)] = std::max(max_ns[static_cast<std::size_t>(op)], v);
      }
    }
  };

  Snapshot base = stamp(Snapshot::Take(workers_));
  Snapshot prev = base;
  bool measuring = warmup_ <= 0;
  const double hard_stop = warmup_ + std::max(timeout_, duration_);
  double next_tick = 1.0;
  for (;;) {
    const bool all_done =
        std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->done.load(); });
    if (all_done) break;
    const double now = Seconds(SteadyClock::now() - start);
    if (!measuring && now >= warmup_) {
      base = stamp(Snapshot::Take(workers_));
      collect_max(false);
      measuring = true;
    }
    if (measuring && now >= warmup_ + duration_ && !deadline_) {
      deadline_ = true;
      if (scenario != "get-records") stop_ = true;
    }
    if (now >= hard_stop && !stop_) {
      std::cerr << "cinesis bench: timeout after " << Fixed(now, 0) << " s\n";
      incomplete_ = true;
      stop_ = true;
    }
    if (now >= next_tick) {
      Snapshot s = stamp(Snapshot::Take(workers_));
      collect_max(measuring);
      Progress(scenario, s, prev, !measuring);
      prev = std::move(s);
      next_tick += 1.0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& t : threads) t.join();
  if (!measuring) {  // ended (target reached) within the warmup
    base = Snapshot::Take(workers_);
    base.t = 0;
  }
  Snapshot end = stamp(Snapshot::Take(workers_));
  collect_max(true);
  const auto server1 = bench::SampleProcess(o_.server_pid);
  Snapshot d = end.Minus(base);

  result.seconds = d.t;
  result.total_put = end.put;
  result.put = d.put;
  result.got = d.got;
  result.failed = d.failed;
  result.errors = d.errors;
  result.missing = missing_.load();
  result.complete = !incomplete_.load();
  for (int op = 0; op < kOpCount; ++op) {
    auto& r = result.ops[op];
    r.calls = d.calls[op];
    r.max_ms = static_cast<double>(max_ns[static_cast<std::size_t>(op)]) / 1e6;
    // Quantiles are bucket midpoints (under 0.8% off); never report one above the max.
    r.p50_ms = std::min(Histogram::Quantile(d.hist[op], 0.5) / 1e6, r.max_ms);
    r.p99_ms = std::min(Histogram::Quantile(d.hist[op], 0.99) / 1e6, r.max_ms);
  }
  if (server0.ok && server1.ok && d.t > 0) {
    result.server_cpu_pct = 100 * d.server_cpu / d.t;
    result.rss_end_mb = server1.rss_mb;
    result.rss_peak_mb = std::max(rss_peak, server1.rss_mb);
  }
  if (d.t > 0) {
    result.client_cpu_pct = 100 * d.client_cpu / d.t;
    result.machine_busy_pct = 100 * d.machine_busy / d.t;
    if (result.server_cpu_pct >= 0) {
      result.others_cpu_pct =
          std::max(0.0, result.machine_busy_pct - result.server_cpu_pct - result.client_cpu_pct);
    }
  }
  std::lock_guard lock(error_mu_);
  result.first_error = first_error_;
  return result;
}

void Bench::Report(const Result& r) const {
  const double s = r.seconds > 0 ? r.seconds : 1;
  const double records = static_cast<double>(r.put + r.got);
  const double rate = records / s;
  const double mbps = records * o_.record_bytes / 1e6 / s;
  Op primary = kPutRecords;
  if (r.scenario == "put-record") primary = kPutRecord;
  if (r.scenario == "get-records") primary = kGetRecords;
  std::uint64_t calls = 0;
  for (const auto& op : r.ops) calls += op.calls;

  std::ostream& out = o_.json ? std::cerr : std::cout;
  out << "\ncinesis bench: " << r.scenario << " against " << o_.endpoint
      << (o_.label.empty() ? "" : " (" + o_.label + ")") << "\n  " << o_.connections
      << " connections, " << shard_ids_.size() << " shards, " << o_.record_bytes << "-byte records"
      << (r.scenario == "put-records" || r.scenario == "mixed"
              ? ", batch " + std::to_string(o_.batch)
              : "")
      << ", stream " << stream_ << "\n";
  if (r.prefill) {
    out << "  prefill      " << Grouped(static_cast<double>(r.prefill)) << " records in "
        << Fixed(r.prefill_seconds, 1) << " s ("
        << Grouped(static_cast<double>(r.prefill) / std::max(r.prefill_seconds, 1e-9))
        << " records/s)\n";
  }
  out << "  measured     " << Fixed(r.seconds, 2) << " s" << (r.complete ? "" : "  (INCOMPLETE)")
      << "\n";
  out << "  records      " << Grouped(records) << "  = " << Grouped(rate) << " records/s, "
      << Fixed(mbps, 1) << " MB/s";
  if (r.scenario == "mixed") {
    out << "  (put " << Grouped(static_cast<double>(r.put) / s) << "/s, get "
        << Grouped(static_cast<double>(r.got) / s) << "/s)";
  }
  out << "\n  calls        " << Grouped(static_cast<double>(calls)) << "  = "
      << Grouped(static_cast<double>(calls) / s) << " calls/s\n";
  out << "  operation            calls      p50 ms     p99 ms     max ms\n";
  for (int op = 0; op < kOpCount; ++op) {
    const auto& o = r.ops[op];
    if (o.calls == 0) continue;
    char line[160];
    std::snprintf(line, sizeof line, "  %-16s %9s %11.3f %10.3f %10.3f\n", kOpNames[op],
                  Grouped(static_cast<double>(o.calls)).c_str(), o.p50_ms, o.p99_ms, o.max_ms);
    out << line;
  }
  out << "  errors       " << r.errors << " calls, " << r.failed << " failed records, " << r.missing
      << " records missing\n";
  if (!r.first_error.empty()) out << "  first error  " << r.first_error << "\n";
  if (r.server_cpu_pct >= 0) {
    out << "  server       cpu " << Fixed(r.server_cpu_pct, 0) << "% of a core, rss "
        << Fixed(r.rss_start_mb, 1) << " -> " << Fixed(r.rss_end_mb, 1) << " MB (peak seen "
        << Fixed(r.rss_peak_mb, 1) << " MB)\n";
  }
  out << "  client       cpu " << Fixed(r.client_cpu_pct, 0) << "% of a core\n";
  out << "  machine      " << Fixed(r.machine_busy_pct, 0) << "% busy of "
      << std::thread::hardware_concurrency() * 100 << "%";
  if (r.others_cpu_pct >= 0)
    out << " (other processes and kernel work not charged to either: " << Fixed(r.others_cpu_pct, 0)
        << "%)";
  out << "\n";
  out.flush();

  if (!o_.json) return;
  json::object j;
  j["label"] = o_.label;
  j["scenario"] = r.scenario;
  j["endpoint"] = o_.endpoint;
  j["connections"] = o_.connections;
  j["shards"] = shard_ids_.size();
  j["record_bytes"] = o_.record_bytes;
  j["batch"] = o_.batch;
  j["records"] = r.put + r.got;
  j["total_put_records"] = r.total_put + r.prefill;
  auto round = [](double v, double unit) { return std::round(v / unit) * unit; };
  j["seconds"] = round(r.seconds, 1e-3);
  j["records_per_s"] = std::llround(rate);
  j["put_records_per_s"] = std::llround(static_cast<double>(r.put) / s);
  j["get_records_per_s"] = std::llround(static_cast<double>(r.got) / s);
  j["mb_per_s"] = round(mbps, 1e-2);
  j["calls"] = calls;
  j["calls_per_s"] = std::llround(static_cast<double>(calls) / s);
  j["p50_ms"] = r.ops[primary].p50_ms;
  j["p99_ms"] = r.ops[primary].p99_ms;
  j["max_ms"] = r.ops[primary].max_ms;
  json::object ops;
  for (int op = 0; op < kOpCount; ++op) {
    if (r.ops[op].calls == 0) continue;
    json::object o;
    o["calls"] = r.ops[op].calls;
    o["p50_ms"] = r.ops[op].p50_ms;
    o["p99_ms"] = r.ops[op].p99_ms;
    o["max_ms"] = r.ops[op].max_ms;
    ops[kOpNames[op]] = std::move(o);
  }
  j["ops"] = std::move(ops);
  j["errors"] = r.errors;
  j["failed_records"] = r.failed;
  j["missing_records"] = r.missing;
  j["complete"] = r.complete;
  j["prefill_records"] = r.prefill;
  j["prefill_seconds"] = r.prefill_seconds;
  if (r.server_cpu_pct >= 0) {
    j["server_cpu_pct"] = r.server_cpu_pct;
    j["server_rss_start_mb"] = r.rss_start_mb;
    j["server_rss_end_mb"] = r.rss_end_mb;
    j["server_rss_peak_mb"] = r.rss_peak_mb;
  }
  j["client_cpu_pct"] = r.client_cpu_pct;
  j["machine_busy_pct"] = r.machine_busy_pct;
  if (r.others_cpu_pct >= 0) j["others_cpu_pct"] = r.others_cpu_pct;
  if (!r.first_error.empty()) j["first_error"] = r.first_error;
  std::cout << json::serialize(j) << std::endl;
}

int Bench::Run() {
  if (!bench::ParseEndpoint(o_.endpoint, ep_)) {
    std::cerr << "cinesis bench: --endpoint must look like http://127.0.0.1:4567\n";
    return 2;
  }
  auto duration = ParseDuration(o_.duration), warmup = ParseDuration(o_.warmup),
       timeout = ParseDuration(o_.timeout);
  if (!duration || !warmup || !timeout) {
    std::cerr << "cinesis bench: durations look like 10s, 500ms or 2m\n";
    return 2;
  }
  duration_ = *duration;
  warmup_ = *warmup;
  timeout_ = *timeout;
  if (o_.scenario == "mixed" && o_.connections < 2) {
    std::cerr << "cinesis bench: mixed needs at least 2 connections\n";
    return 2;
  }
  stream_ = o_.stream;
  if (stream_.empty()) {
    std::mt19937_64 rng(std::random_device{}());
    stream_ = "bench-" + o_.scenario + "-" + std::to_string(getpid()) + "-" + RandomHex(rng, 6);
  }
  Connection control(ep_);
  control_ = &control;
  if (!EnsureStream()) return 1;
  if (!o_.quiet) {
    std::cerr << "cinesis bench: " << o_.scenario << " on stream " << stream_ << " ("
              << shard_ids_.size() << " shards) at " << o_.endpoint << std::endl;
  }
  Result r = Measure(o_.scenario);
  control_->Close();  // the server may have timed the idle control connection out
  DeleteStream();
  Report(r);
  const std::uint64_t moved = r.put + r.got;
  return moved > 0 && r.complete ? 0 : 1;
}

// ---- startup ----------------------------------------------------------------------------

// Runs `command` `runs` times; each time measures exec -> first answered request (a
// ListStreams answered 200), the RSS then, and the time SIGTERM takes to end it.
int RunStartup(const BenchOptions& o) {
  if (o.command.empty()) {
    std::cerr << "cinesis bench: startup needs the server command after --\n";
    return 2;
  }
  const bool explicit_endpoint = o.endpoint_option && o.endpoint_option->count() > 0;
  bench::Endpoint fixed;
  if (explicit_endpoint && !bench::ParseEndpoint(o.endpoint, fixed)) {
    std::cerr << "cinesis bench: --endpoint must look like http://127.0.0.1:4567\n";
    return 2;
  }
  auto timeout = ParseDuration(o.timeout).value_or(60);
  std::vector<double> ready_ms, listen_ms, rss_mb, stop_ms;
  for (int run = 0; run < o.runs; ++run) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return 1;
    std::vector<char*> argv;
    for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const auto t0 = SteadyClock::now();
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      dup2(fds[1], 1);
      if (!o.verbose) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 2);
      }
      execvp(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    // Reads the child's stdout for "...listen... :PORT" and keeps draining it.
    std::atomic<int> port{0};
    std::atomic<double> port_ms{0};
    std::thread drain([fd = fds[0], &port, &port_ms, t0, verbose = o.verbose] {
      static const std::regex kListen(R"(.*[Ll]isten.*:(\d+)\D*$)");
      std::string pending;
      char buf[4096];
      for (;;) {
        auto n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        if (verbose) std::cerr.write(buf, n);
        pending.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          std::string line = pending.substr(0, nl);
          pending.erase(0, nl + 1);
          std::smatch m;
          if (port.load() == 0 && std::regex_match(line, m, kListen)) {
            port_ms = Seconds(SteadyClock::now() - t0) * 1e3;
            port = std::stoi(m[1].str());
          }
        }
      }
      close(fd);
    });
    bool ready = false;
    double rss = -1;
    int status = 0;
    bool exited = false;
    std::optional<Connection> conn;
    while (Seconds(SteadyClock::now() - t0) < timeout) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      if (!conn) {
        if (explicit_endpoint) {
          conn.emplace(fixed);
        } else if (port.load() != 0) {
          bench::Endpoint ep;
          ep.port = std::to_string(port.load());
          conn.emplace(ep);
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          continue;
        }
      }
      Response r;
      if (conn->Call("ListStreams", "{}", r) && r.status == 200) {
        ready_ms.push_back(Seconds(SteadyClock::now() - t0) * 1e3);
        ready = true;
        break;
      }
      conn->Close();
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    if (ready) {
      auto p = bench::SampleProcess(pid);
      rss = p.rss_mb;
      rss_mb.push_back(rss);
      if (port_ms.load() > 0) listen_ms.push_back(port_ms.load());
    }
    if (conn) conn->Close();
    const auto stop0 = SteadyClock::now();
    if (!exited) {
      kill(pid, SIGTERM);
      while (waitpid(pid, &status, WNOHANG) != pid) {
        if (Seconds(SteadyClock::now() - stop0) > 10) {
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      stop_ms.push_back(Seconds(SteadyClock::now() - stop0) * 1e3);
    }
    drain.join();
    if (!o.quiet) {
      std::cerr << "[startup " << run + 1 << "/" << o.runs << "] "
                << (ready ? "first answer after " + Fixed(ready_ms.back(), 1) + " ms, rss " +
                                Fixed(rss, 1) + " MB"
                          : std::string(exited ? "server exited before answering"
                                               : "no answer before the timeout"))
                << std::endl;
    }
    if (!ready) return 1;
  }
  auto stats = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    json::object s;
    if (v.empty()) return s;
    s["min"] = v.front();
    s["median"] = v[v.size() / 2];
    s["max"] = v.back();
    return s;
  };
  auto ready = stats(ready_ms);
  std::ostream& out = o.json ? std::cerr : std::cout;
  out << "\ncinesis bench: startup of `" << o.command.front() << " ...`, " << o.runs << " runs\n"
      << "  first answered request  min " << Fixed(ready.at("min").as_double(), 1) << " ms, median "
      << Fixed(ready.at("median").as_double(), 1) << " ms, max "
      << Fixed(ready.at("max").as_double(), 1) << " ms\n";
  if (!listen_ms.empty()) {
    auto l = stats(listen_ms);
    out << "  listening line printed  median " << Fixed(l.at("median").as_double(), 1) << " ms\n";
  }
  auto r = stats(rss_mb);
  out << "  rss when ready          median " << Fixed(r.at("median").as_double(), 1) << " MB\n";
  if (!stop_ms.empty())
    out << "  SIGTERM to exit         median " << Fixed(stats(stop_ms).at("median").as_double(), 1)
        << " ms\n";
  out.flush();
  if (o.json) {
    json::object j;
    j["label"] = o.label;
    j["scenario"] = "startup";
    j["runs"] = o.runs;
    j["ready_ms"] = ready;
    j["listen_ms"] = stats(listen_ms);
    j["rss_mb"] = r;
    j["stop_ms"] = stats(stop_ms);
    std::cout << json::serialize(j) << std::endl;
  }
  return 0;
}

}  // namespace

// ---- command line -------------------------------------------------------------------------

BenchCommand::BenchCommand(CLI::App& app) : options_(std::make_unique<BenchOptions>()) {
  auto& o = *options_;
  sub_ = &app;
  sub_->footer(
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
      "stdout, the report on stderr).");
  o.endpoint_option =
      sub_->add_option("--endpoint", o.endpoint, "Kinesis endpoint, http://HOST:PORT")
          ->capture_default_str();
  sub_->add_option("--scenario", o.scenario, "Workload")
      ->check(CLI::IsMember({"put-records", "put-record", "get-records", "mixed", "startup"}))
      ->capture_default_str();
  sub_->add_option("--connections", o.connections, "Keep-alive connections (one thread each)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  sub_->add_option("--shards", o.shards, "Shards of the stream the benchmark creates")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub_->add_option("--record-bytes", o.record_bytes, "Bytes of data per record")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  sub_->add_option("--batch", o.batch, "Records per PutRecords call")
      ->check(CLI::Range(1, 500))
      ->capture_default_str();
  sub_->add_option("--duration", o.duration, "Measured time (10s, 500ms, 2m)")
      ->capture_default_str();
  sub_->add_option("--warmup", o.warmup, "Load before measuring; not counted")
      ->capture_default_str();
  sub_->add_option("--timeout", o.timeout,
                   "Hard limit on the measured phase (get-records passes, startup)")
      ->capture_default_str();
  sub_->add_option(
      "--records", o.records,
      "get-records: records to prefill (default 200000; 0 reads what the stream holds); "
      "put-records/put-record: stop after this many records instead of --duration");
  sub_->add_option("--server-pid", o.server_pid,
                   "Server process to sample for CPU and RSS (/proc)");
  sub_->add_flag("--json", o.json, "Print one JSON line with the results on stdout");
  sub_->add_flag("--quiet", o.quiet, "No progress lines");
  sub_->add_option("--stream", o.stream,
                   "Stream to use (created if missing); default: a new one, deleted at the end");
  sub_->add_flag("--keep-stream", o.keep_stream, "Do not delete the stream at the end");
  sub_->add_option("--body-pool", o.body_pool,
                   "Prebuilt requests per connection (default 8 PutRecords, 512 PutRecord)")
      ->check(CLI::Range(0, 100000));
  sub_->add_option("--get-limit", o.get_limit, "GetRecords Limit")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub_->add_option("--label", o.label, "Name of the target, copied into the JSON line");
  sub_->add_option("--runs", o.runs, "startup: how many starts")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub_->add_flag("--verbose", o.verbose, "startup: show the server's output");
  sub_->add_option("command", o.command, "startup: the server command line (after --)");
}

BenchCommand::~BenchCommand() = default;

int BenchCommand::Run() {
  if (options_->scenario == "startup") return RunStartup(*options_);
  Bench bench(*options_);
  return bench.Run();
}

}  // namespace cinesis::app
