// Process-wide latency histogram of the storage's fsyncs (fdatasync of log segments), for the
// server's /_cinesis/metrics. Lock-free: a relaxed atomic add per fsync.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace cinesis::storage {

struct FsyncStats {
  // Upper bounds in microseconds of the buckets (a last, unbounded one follows).
  static constexpr std::array<std::uint64_t, 12> kBoundsUs = {
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
  std::array<std::atomic<std::uint64_t>, kBoundsUs.size() + 1> buckets{};  // not cumulative
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum_us{0};

  void Record(std::uint64_t us) {
    std::size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    sum_us.fetch_add(us, std::memory_order_relaxed);
  }
  static FsyncStats& Global();
};

}  // namespace cinesis::storage
