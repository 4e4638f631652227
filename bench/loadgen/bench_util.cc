// `cinesis bench`: latency histogram, /proc sampling, the light response scanners and the
// small formatting helpers.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "bench.h"
#include "bench_internal.h"
#include "common/base64.h"

namespace cinesis::app::bench {

// ---- Histogram --------------------------------------------------------------------------
// Values below 2^(kSubBits+1) have a bucket each; above, every power-of-two range
// [2^e, 2^(e+1)) is split into 2^kSubBits equal buckets.

Histogram::Histogram() : counts_(std::make_unique<std::atomic<std::uint64_t>[]>(kBuckets)) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i].store(0, std::memory_order_relaxed);
}

std::size_t Histogram::Index(std::uint64_t ns) {
  constexpr std::uint64_t kMax = (std::uint64_t{1} << 41) - 1;
  ns = std::min(ns, kMax);
  if (ns < (std::uint64_t{2} << kSubBits)) return static_cast<std::size_t>(ns);
  const int e = 63 - std::countl_zero(ns);
  const int shift = e - kSubBits;
  return static_cast<std::size_t>(shift) * (std::size_t{1} << kSubBits) +
         static_cast<std::size_t>(ns >> shift);
}

std::uint64_t Histogram::Lower(std::size_t index) {
  if (index < (std::size_t{2} << kSubBits)) return index;
  const std::size_t shift = index / (std::size_t{1} << kSubBits) - 1;
  const std::uint64_t m = index % (std::size_t{1} << kSubBits) + (std::size_t{1} << kSubBits);
  return m << shift;
}

std::uint64_t Histogram::Upper(std::size_t index) {
  if (index < (std::size_t{2} << kSubBits)) return index + 1;
  const std::size_t shift = index / (std::size_t{1} << kSubBits) - 1;
  const std::uint64_t m = index % (std::size_t{1} << kSubBits) + (std::size_t{1} << kSubBits);
  return (m + 1) << shift;
}

void Histogram::Record(std::uint64_t ns) {
  counts_[Index(ns)].fetch_add(1, std::memory_order_relaxed);
}

void Histogram::AddTo(std::vector<std::uint64_t>& into) const {
  into.resize(kBuckets, 0);
  for (std::size_t i = 0; i < kBuckets; ++i) into[i] += counts_[i].load(std::memory_order_relaxed);
}

double Histogram::Quantile(const std::vector<std::uint64_t>& counts, double q) {
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return 0;
  // The rank of the q-quantile, 1-based: p99 of 100 samples is the 99th.
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.999999);
  rank = std::clamp<std::uint64_t>(rank, 1, total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank)
      return (static_cast<double>(Lower(i)) + static_cast<double>(Upper(i) - 1)) / 2.0;
  }
  return static_cast<double>(Lower(counts.size() - 1));
}

// ---- /proc --------------------------------------------------------------------------------

ProcSample SampleProcess(long pid) {
  ProcSample s;
  if (pid <= 0) return s;
  const std::string base = "/proc/" + std::to_string(pid);
  {
    std::ifstream in(base + "/stat");
    std::string line;
    if (!std::getline(in, line)) return s;
    // Field 2 (comm) may contain spaces: parse after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // Fields from 3 on; utime is field 14, stime field 15.
    for (int f = 3; f <= 15 && (rest >> field); ++f) {
      if (f == 14) utime = std::stoull(field);
      if (f == 15) stime = std::stoull(field);
    }
    static const long ticks = sysconf(_SC_CLK_TCK);
    s.cpu_seconds =
        static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
  }
  {
    std::ifstream in(base + "/status");
    std::string line;
    while (std::getline(in, line)) {
      auto kb = [&](std::string_view prefix) {
        return static_cast<double>(std::strtoull(line.c_str() + prefix.size(), nullptr, 10)) /
               1024.0;
      };
      if (line.rfind("VmRSS:", 0) == 0) s.rss_mb = kb("VmRSS:");
      if (line.rfind("VmHWM:", 0) == 0) s.hwm_mb = kb("VmHWM:");
    }
  }
  s.ok = true;
  return s;
}

double MachineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long v[10] = {};
  if (!(in >> cpu) || cpu != "cpu") return 0;
  for (auto& x : v) in >> x;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is
  // already inside user.
  const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  static const long ticks = sysconf(_SC_CLK_TCK);
  return static_cast<double>(busy) / static_cast<double>(ticks > 0 ? ticks : 100);
}

// ---- scanners -----------------------------------------------------------------------------

namespace {
// Position just after `"key"` and the following colon (and whitespace), or npos.
std::size_t ValueStart(std::string_view json, std::string_view key) {
  std::string quoted;
  quoted.reserve(key.size() + 2);
  quoted += '"';
  quoted += key;
  quoted += '"';
  auto at = json.find(quoted);
  if (at == std::string_view::npos) return at;
  auto p = at + quoted.size();
  while (p < json.size() &&
         (json[p] == ' ' || json[p] == '\n' || json[p] == '\t' || json[p] == '\r'))
    ++p;
  if (p >= json.size() || json[p] != ':') return std::string_view::npos;
  ++p;
  while (p < json.size() &&
         (json[p] == ' ' || json[p] == '\n' || json[p] == '\t' || json[p] == '\r'))
    ++p;
  return p;
}
}  // namespace

long long ScanInt(std::string_view json, std::string_view key) {
  auto p = ValueStart(json, key);
  if (p == std::string_view::npos || p >= json.size()) return -1;
  long long v = 0;
  bool any = false;
  while (p < json.size() && json[p] >= '0' && json[p] <= '9') {
    v = v * 10 + (json[p] - '0');
    any = true;
    ++p;
  }
  return any ? v : -1;
}

std::string_view ScanString(std::string_view json, std::string_view key) {
  auto p = ValueStart(json, key);
  if (p == std::string_view::npos || p >= json.size() || json[p] != '"') return {};
  auto end = json.find('"', p + 1);
  if (end == std::string_view::npos) return {};
  return json.substr(p + 1, end - p - 1);
}

std::size_t CountKey(std::string_view json, std::string_view key) {
  // glibc's memmem (two-way with a vectorised first-pair scan) beats a Boyer-Moore-Horspool
  // search on multi-megabyte GetRecords answers, whose bytes are mostly base64 and digits.
  const std::string quoted = "\"" + std::string(key) + "\"";
  std::size_t n = 0;
  const char* p = json.data();
  const char* const end = json.data() + json.size();
  while (p < end) {
    const void* hit = ::memmem(p, static_cast<std::size_t>(end - p), quoted.data(), quoted.size());
    if (hit == nullptr) break;
    ++n;
    p = static_cast<const char*>(hit) + quoted.size();
  }
  return n;
}

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

std::string Micros(double us) {
  if (us >= 100) return Grouped(us);
  if (us >= 10) return Fixed(us, 1);
  if (us >= 1) return Fixed(us, 2);
  return Fixed(us, 3);
}

std::string JsonString(std::string_view s) {
  namespace json = boost::json;
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

double MicrosPer(double cpu_seconds, std::uint64_t units) {
  if (cpu_seconds < 0 || units == 0) return -1;
  return cpu_seconds * 1e6 / static_cast<double>(units);
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

}  // namespace cinesis::app::bench
