// `cinesis bench`: the measured window — prefill, starting the connection threads, the
// once-a-second progress line, warmup and deadline, and the figures of the window (counts,
// latency quantiles, server and client CPU from /proc and getrusage, RSS).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "bench_internal.h"

namespace cinesis::app::bench {

Snapshot Snapshot::Take(const Workers& workers) {
  Snapshot s;
  for (auto& h : s.hist) h.assign(Histogram::kBuckets, 0);
  for (const auto& w : workers) {
    s.put += w->put.load(std::memory_order_relaxed);
    s.got += w->got.load(std::memory_order_relaxed);
    s.failed += w->failed.load(std::memory_order_relaxed);
    s.errors += w->errors.load(std::memory_order_relaxed);
    s.connects += w->connects.load(std::memory_order_relaxed);
    for (int op = 0; op < kOpCount; ++op) {
      s.calls[op] += w->calls[op].load(std::memory_order_relaxed);
      w->hist[op].AddTo(s.hist[op]);
    }
  }
  return s;
}

Snapshot Snapshot::Minus(const Snapshot& b) const {
  Snapshot d = *this;
  d.t -= b.t;
  d.put -= b.put;
  d.got -= b.got;
  d.failed -= b.failed;
  d.errors -= b.errors;
  d.connects -= b.connects;
  d.server_cpu -= b.server_cpu;
  d.client_cpu -= b.client_cpu;
  d.machine_busy -= b.machine_busy;
  for (int op = 0; op < kOpCount; ++op) {
    d.calls[op] -= b.calls[op];
    for (std::size_t i = 0; i < Histogram::kBuckets; ++i) d.hist[op][i] -= b.hist[op][i];
  }
  return d;
}

std::uint64_t Result::Calls() const {
  std::uint64_t calls = 0;
  for (const auto& op : ops) calls += op.calls;
  return calls;
}

void Bench::ResetWorkers(int n) {
  workers_.clear();
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>());
}

// get-records: puts `n` records (PutRecords on every connection) and remembers how many
// each shard got, so that the readers know where a shard ends.
bool Bench::Prefill(std::uint64_t n, Result& result) {
  const auto t0 = SteadyClock::now();
  std::vector<std::vector<std::uint64_t>> per_shard(
      static_cast<std::size_t>(o_.connections), std::vector<std::uint64_t>(shard_ids_.size(), 0));
  ResetWorkers(o_.connections);
  claimed_ = 0;
  stop_ = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < o_.connections; ++i) {
    threads.emplace_back([this, i, n, &per_shard] {
      PutLoop(i, *workers_[static_cast<std::size_t>(i)], kPutRecords, n,
              &per_shard[static_cast<std::size_t>(i)]);
    });
  }
  WaitPrefill(n);
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

// Until every prefill thread is done, with a progress line every second.
void Bench::WaitPrefill(std::uint64_t n) const {
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
  ResetWorkers(OnEventLoops(scenario) ? EventLoops(scenario) : o_.connections);
  stop_ = false;
  deadline_ = false;
  claimed_ = 0;

  Window w;
  w.start = SteadyClock::now();
  w.server0 = SampleProcess(o_.server_pid);
  if (w.server0.ok) result.rss_start_mb = w.server0.rss_mb;
  w.rss_peak = w.server0.ok ? w.server0.rss_mb : -1;
  std::vector<std::thread> threads = StartLoad(scenario);
  Drive(scenario, w);
  for (auto& t : threads) t.join();
  // Ended (target reached) within the warmup: the window is the whole run, from the base
  // Drive stamped at the start (re-taking it here would measure an empty window).
  Snapshot end = Stamp(w);
  CollectMax(w, true);
  Summarize(end, w, result);
  return result;
}

// One thread per connection, each running the loop of the scenario; or, with many
// connections putting, one thread per event loop.
std::vector<std::thread> Bench::StartLoad(const std::string& scenario) {
  const int conns = o_.connections;
  const std::uint64_t target =
      (scenario == "put-records" || scenario == "put-record") && o_.records > 0
          ? static_cast<std::uint64_t>(o_.records)
          : 0;
  std::vector<std::thread> threads;
  if (OnEventLoops(scenario)) {
    const Op op = scenario == "put-record" ? kPutRecord : kPutRecords;
    const int loops = EventLoops(scenario);
    for (int i = 0; i < loops; ++i) {
      Worker& w = *workers_[static_cast<std::size_t>(i)];
      threads.emplace_back(
          [this, i, loops, &w, op, target] { AsyncPutLoop(i, loops, w, op, target); });
    }
    return threads;
  }
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
  return threads;
}

// The workers' counters now, with the time and the CPU clocks (server, client, machine).
Snapshot Bench::Stamp(Window& w) const {
  Snapshot s = Snapshot::Take(workers_);
  s.t = Seconds(SteadyClock::now() - w.start);
  s.client_cpu = ClientCpuSeconds();
  s.machine_busy = MachineBusySeconds();
  if (auto p = SampleProcess(o_.server_pid); p.ok) {
    s.server_cpu = p.cpu_seconds;
    w.rss_peak = std::max(w.rss_peak, p.rss_mb);
  }
  return s;
}

// Takes the workers' per-window maximum latencies; keeps them when `keep` (measuring).
void Bench::CollectMax(Window& w, bool keep) const {
  for (const auto& worker : workers_) {
    for (int op = 0; op < kOpCount; ++op) {
      auto v = worker->window_max[op].exchange(0, std::memory_order_relaxed);
      auto& kept = w.max_ns[static_cast<std::size_t>(op)];
      if (keep) kept = std::max(kept, v);
    }
  }
}

// Runs the clock until every worker is done: the warmup, the measured duration (then stops
// the workers; get-records readers finish their pass), the hard stop, a progress line a second.
void Bench::Drive(const std::string& scenario, Window& w) {
  w.base = Stamp(w);
  Snapshot prev = w.base;
  w.measuring = warmup_ <= 0;
  const double hard_stop = warmup_ + std::max(timeout_, duration_);
  double next_tick = 1.0;
  for (;;) {
    if (std::all_of(workers_.begin(), workers_.end(),
                    [](const auto& worker) { return worker->done.load(); }))
      break;
    const double now = Seconds(SteadyClock::now() - w.start);
    if (!w.measuring && now >= warmup_) {
      w.base = Stamp(w);
      CollectMax(w, false);
      w.measuring = true;
    }
    if (w.measuring && now >= warmup_ + duration_ && !deadline_) {
      deadline_ = true;
      if (scenario != "get-records") stop_ = true;
    }
    if (now >= hard_stop && !stop_) {
      std::cerr << "cinesis bench: timeout after " << Fixed(now, 0) << " s\n";
      incomplete_ = true;
      stop_ = true;
    }
    if (now >= next_tick) {
      Snapshot s = Stamp(w);
      CollectMax(w, w.measuring);
      Progress(scenario, s, prev, !w.measuring);
      prev = std::move(s);
      next_tick += 1.0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The figures of the measured window (from w.base to `end`) into `result`.
void Bench::Summarize(const Snapshot& end, const Window& w, Result& result) {
  const auto server1 = SampleProcess(o_.server_pid);
  const Snapshot d = end.Minus(w.base);
  result.seconds = d.t;
  result.total_put = end.put;
  result.connects = end.connects;
  result.put = d.put;
  result.got = d.got;
  result.failed = d.failed;
  result.errors = d.errors;
  result.missing = missing_.load();
  result.complete = !incomplete_.load();
  for (int op = 0; op < kOpCount; ++op) {
    auto& r = result.ops[op];
    r.calls = d.calls[op];
    r.max_ms = static_cast<double>(w.max_ns[static_cast<std::size_t>(op)]) / 1e6;
    // Quantiles are bucket midpoints (under 0.8% off); never report one above the max.
    r.p50_ms = std::min(Histogram::Quantile(d.hist[op], 0.5) / 1e6, r.max_ms);
    r.p99_ms = std::min(Histogram::Quantile(d.hist[op], 0.99) / 1e6, r.max_ms);
  }
  if (w.server0.ok && server1.ok && d.t > 0) {
    result.server_cpu_s = d.server_cpu;
    result.server_cpu_pct = 100 * d.server_cpu / d.t;
    result.rss_end_mb = server1.rss_mb;
    result.rss_peak_mb = std::max(w.rss_peak, server1.rss_mb);
  }
  result.client_cpu_s = d.client_cpu;
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
}

void Bench::Progress(const std::string& what, const Snapshot& now, const Snapshot& prev,
                     bool warmup) const {
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
    auto p = SampleProcess(o_.server_pid);
    if (p.ok) {
      const double cpu = now.server_cpu - prev.server_cpu;
      line << "  server cpu " << Fixed(100 * cpu / dt, 0) << "%";
      const double per_record = MicrosPer(cpu, (now.put - prev.put) + (now.got - prev.got));
      if (per_record >= 0) line << " " << Micros(per_record) << " µs/rec";
      line << " rss " << Fixed(p.rss_mb, 1) << " MB";
    }
  }
  std::cerr << line.str() << std::endl;
}

}  // namespace cinesis::app::bench
