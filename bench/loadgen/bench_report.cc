// `cinesis bench`: the final report of a load scenario — human-readable (stdout, or stderr
// with --json) and, with --json, one JSON line on stdout. CPU is reported as % of a core
// and as microseconds per record moved and per call, for the server and the load generator.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "bench_internal.h"

namespace cinesis::app::bench {

namespace json = boost::json;

namespace {

Op PrimaryOp(const std::string& scenario) {
  if (scenario == "put-record") return kPutRecord;
  if (scenario == "get-records") return kGetRecords;
  return kPutRecords;
}

double Round(double v, double unit) { return std::round(v / unit) * unit; }

// "1.76 µs per record, 881 µs per call" (or "n/a" parts when nothing moved).
std::string CpuCost(double cpu_seconds, const Result& r) {
  const double per_record = MicrosPer(cpu_seconds, r.Records());
  const double per_call = MicrosPer(cpu_seconds, r.Calls());
  std::string out = per_record >= 0 ? Micros(per_record) + " µs per record" : "n/a per record";
  if (per_call >= 0 && r.scenario != "put-record") out += ", " + Micros(per_call) + " µs per call";
  if (r.scenario == "put-record") out += " (= per request)";
  return out;
}

json::object OpsJson(const Result& r) {
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
  return ops;
}

// `prefix`_cpu_s, _us_per_record, _us_per_call (the last two when there is something to divide).
void CpuJson(json::object& j, const std::string& prefix, double cpu_seconds, const Result& r) {
  j[prefix + "_cpu_s"] = Round(cpu_seconds, 1e-4);
  const double per_record = MicrosPer(cpu_seconds, r.Records());
  const double per_call = MicrosPer(cpu_seconds, r.Calls());
  if (per_record >= 0) j[prefix + "_cpu_us_per_record"] = Round(per_record, 1e-4);
  if (per_call >= 0) j[prefix + "_cpu_us_per_call"] = Round(per_call, 1e-3);
}

}  // namespace

void Bench::Report(const Result& r) const {
  PrintReport(r);
  if (o_.json) PrintJson(r);
}

void Bench::PrintReport(const Result& r) const {
  const double s = r.seconds > 0 ? r.seconds : 1;
  const auto records = static_cast<double>(r.Records());
  const auto calls = static_cast<double>(r.Calls());
  std::ostream& out = o_.json ? std::cerr : std::cout;
  out << "\ncinesis bench: " << r.scenario << " against " << o_.endpoint
      << (o_.label.empty() ? "" : " (" + o_.label + ")") << "\n  " << o_.connections
      << " connections"
      << (OnEventLoops(r.scenario)
              ? " on " + std::to_string(EventLoops(r.scenario)) +
                    (EventLoops(r.scenario) == 1 ? " event loop" : " event loops")
              : "")
      << ", " << shard_ids_.size() << " shards, " << o_.record_bytes << "-byte records"
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
  out << "  records      " << Grouped(records) << "  = " << Grouped(records / s) << " records/s, "
      << Fixed(records * o_.record_bytes / 1e6 / s, 1) << " MB/s";
  if (r.scenario == "mixed") {
    out << "  (put " << Grouped(static_cast<double>(r.put) / s) << "/s, get "
        << Grouped(static_cast<double>(r.got) / s) << "/s)";
  }
  out << "\n  calls        " << Grouped(calls) << "  = " << Grouped(calls / s) << " calls/s\n";
  out << "  operation            calls      p50 ms     p99 ms     max ms\n";
  for (int op = 0; op < kOpCount; ++op) {
    const auto& o = r.ops[op];
    if (o.calls == 0) continue;
    char line[160];
    std::snprintf(line, sizeof line, "  %-16s %9s %11.3f %10.3f %10.3f\n", kOpNames[op],
                  Grouped(static_cast<double>(o.calls)).c_str(), o.p50_ms, o.p99_ms, o.max_ms);
    out << line;
  }
  out << "  connects     " << r.connects << " TCP connections opened (reconnects included)\n";
  out << "  errors       " << r.errors << " calls, " << r.failed << " failed records, " << r.missing
      << " records missing\n";
  if (!r.first_error.empty()) out << "  first error  " << r.first_error << "\n";
  PrintResources(out, r);
  out.flush();
}

// Server and client CPU (% of a core and per record / per call), RSS, machine load.
void Bench::PrintResources(std::ostream& out, const Result& r) const {
  if (r.server_cpu_pct >= 0) {
    out << "  server       cpu " << Fixed(r.server_cpu_pct, 0) << "% of a core, rss "
        << Fixed(r.rss_start_mb, 1) << " -> " << Fixed(r.rss_end_mb, 1) << " MB (peak seen "
        << Fixed(r.rss_peak_mb, 1) << " MB)\n";
    out << "               cpu " << CpuCost(r.server_cpu_s, r) << "\n";
  }
  out << "  client       cpu " << Fixed(r.client_cpu_pct, 0) << "% of a core, "
      << CpuCost(r.client_cpu_s, r) << "\n";
  out << "  machine      " << Fixed(r.machine_busy_pct, 0) << "% busy of "
      << std::thread::hardware_concurrency() * 100 << "%";
  if (r.others_cpu_pct >= 0)
    out << " (other processes and kernel work not charged to either: " << Fixed(r.others_cpu_pct, 0)
        << "%)";
  out << "\n";
}

void Bench::PrintJson(const Result& r) const {
  const double s = r.seconds > 0 ? r.seconds : 1;
  const auto records = static_cast<double>(r.Records());
  const std::uint64_t calls = r.Calls();
  const Op primary = PrimaryOp(r.scenario);
  json::object j;
  j["label"] = o_.label;
  j["scenario"] = r.scenario;
  j["endpoint"] = o_.endpoint;
  j["connections"] = o_.connections;
  j["io_threads"] = EventLoops(r.scenario);  // 0: one thread per connection
  j["connects"] = r.connects;
  j["shards"] = shard_ids_.size();
  j["record_bytes"] = o_.record_bytes;
  j["batch"] = o_.batch;
  j["records"] = r.put + r.got;
  j["total_put_records"] = r.total_put + r.prefill;
  j["seconds"] = Round(r.seconds, 1e-3);
  j["records_per_s"] = std::llround(records / s);
  j["put_records_per_s"] = std::llround(static_cast<double>(r.put) / s);
  j["get_records_per_s"] = std::llround(static_cast<double>(r.got) / s);
  j["mb_per_s"] = Round(records * o_.record_bytes / 1e6 / s, 1e-2);
  j["calls"] = calls;
  j["calls_per_s"] = std::llround(static_cast<double>(calls) / s);
  j["p50_ms"] = r.ops[primary].p50_ms;
  j["p99_ms"] = r.ops[primary].p99_ms;
  j["max_ms"] = r.ops[primary].max_ms;
  j["ops"] = OpsJson(r);
  j["errors"] = r.errors;
  j["failed_records"] = r.failed;
  j["missing_records"] = r.missing;
  j["complete"] = r.complete;
  j["prefill_records"] = r.prefill;
  j["prefill_seconds"] = r.prefill_seconds;
  if (r.server_cpu_pct >= 0) {
    j["server_cpu_pct"] = r.server_cpu_pct;
    CpuJson(j, "server", r.server_cpu_s, r);
    j["server_rss_start_mb"] = r.rss_start_mb;
    j["server_rss_end_mb"] = r.rss_end_mb;
    j["server_rss_peak_mb"] = r.rss_peak_mb;
  }
  j["client_cpu_pct"] = r.client_cpu_pct;
  CpuJson(j, "client", r.client_cpu_s, r);
  j["machine_busy_pct"] = r.machine_busy_pct;
  if (r.others_cpu_pct >= 0) j["others_cpu_pct"] = r.others_cpu_pct;
  if (!r.first_error.empty()) j["first_error"] = r.first_error;
  std::cout << json::serialize(j) << std::endl;
}

}  // namespace cinesis::app::bench
