// Example: write N records with the Producer to any Kinesis endpoint, read every one
// back with the KinesisClient, and check each arrived exactly once.
//
//   cinesis-example-producer --endpoint http://127.0.0.1:4567 --records 1000000
//
// Prints producer throughput (records/s) and CPU time; exits non-zero on any loss.
#include "cinesis/producer.h"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "cinesis/aggregation.h"
#include "cinesis/client.h"

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Produce N records, read them back, verify exactly-once"};
  std::string endpoint = "http://127.0.0.1:4567", stream = "example-producer";
  std::size_t records = 100'000, record_bytes = 100;
  int shards = 4;
  bool aggregate = false, write_only = false, read_only = false;
  app.add_option("--endpoint", endpoint);
  app.add_option("--stream", stream);
  app.add_option("--records", records);
  app.add_option("--record-bytes", record_bytes);
  app.add_option("--shards", shards);
  app.add_flag("--aggregate", aggregate);
  // Write, restart the server, then verify: --write-only, then --read-only (same options).
  app.add_flag("--write-only", write_only, "produce, do not read back");
  app.add_flag("--read-only", read_only, "read back and verify what an earlier run wrote");
  CLI11_PARSE(app, argc, argv);

  auto client = cinesis::KinesisClient::Create({.endpoint = endpoint,
                                                .region = "us-east-1",
                                                .access_key_id = "AKIDEXAMPLE",
                                                .secret_access_key = "secret"});
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().ToString().c_str());
    return 2;
  }
  auto& c = **client;
  auto created = c.CreateStream(stream, shards);
  if (!created.ok() && created.code() != cinesis::Code::kResourceInUse) {
    std::fprintf(stderr, "create: %s\n", created.ToString().c_str());
    return 2;
  }
  if (auto st = c.WaitForActive(stream); !st.ok()) {
    std::fprintf(stderr, "wait: %s\n", st.ToString().c_str());
    return 2;
  }

  cinesis::ProducerOptions po;
  po.stream_name = stream;
  po.aggregate = aggregate;
  // A local server has no shard limits; let the producer run as fast as the server goes.
  po.shard_records_per_second = 1e9;
  po.shard_bytes_per_second = 1e12;
  auto producer = cinesis::Producer::Create(c, po);
  if (!producer.ok()) {
    std::fprintf(stderr, "producer: %s\n", producer.status().ToString().c_str());
    return 2;
  }
  std::string pad(record_bytes > 16 ? record_bytes - 16 : 0, 'x');
  auto payload = [&](std::size_t i) {
    char head[24];
    std::snprintf(head, sizeof head, "%016zu", i);
    return std::string(head, 16) + pad;
  };
  auto key = [](std::size_t i) { return "pk-" + std::to_string(i % 1000); };
  if (!read_only) {
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = CpuSeconds();
    std::atomic<std::size_t> ok{0}, failed{0};
    for (std::size_t i = 0; i < records; ++i) {
      auto st = (*producer)->Put(key(i), payload(i), [&](const cinesis::PutResult& r) {
        (r.status.ok() ? ok : failed)++;
      });
      if (!st.ok()) {
        std::fprintf(stderr, "put: %s\n", st.ToString().c_str());
        return 2;
      }
    }
    auto closed = (*producer)->Close(std::chrono::minutes(5));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = CpuSeconds() - cpu0;
    const auto m = (*producer)->metrics();
    std::printf(
        "produced %zu records (%zu failed) in %.2f s: %.0f records/s, client CPU %.2f s (%.0f%% of "
        "one core), "
        "%llu PutRecords calls, %llu retries\n",
        ok.load(), failed.load(), secs, static_cast<double>(ok.load()) / secs, cpu,
        100 * cpu / secs, static_cast<unsigned long long>(m.put_records_calls),
        static_cast<unsigned long long>(m.retries));
    if (!closed.ok() || failed.load() != 0 || ok.load() != records) return 1;
    if (write_only) return 0;
  }

  // Read everything back: each record once, with its whole payload and partition key.
  std::vector<bool> seen(records, false);
  std::size_t dup = 0, total = 0, wrong = 0;
  auto shard_list = c.ListShards(stream);
  if (!shard_list.ok()) return 2;
  const auto r0 = std::chrono::steady_clock::now();
  for (const auto& s : shard_list->shards) {
    auto it = c.GetShardIterator(stream, s.shard_id, cinesis::api::ShardIteratorType::kTrimHorizon);
    if (!it.ok()) return 2;
    std::optional<std::string> iter = it->shard_iterator;
    while (iter) {
      auto got = c.GetRecords(*iter);
      if (!got.ok()) {
        std::fprintf(stderr, "get: %s\n", got.status().ToString().c_str());
        return 2;
      }
      auto take = [&](const std::string& data, const std::string& pk) {
        std::size_t i = std::stoull(data.substr(0, 16));
        ++total;
        if (i < records && (data != payload(i) || pk != key(i))) {
          if (wrong++ < 5)
            std::fprintf(stderr, "record %zu: wrong payload or partition key (%s)\n", i,
                         pk.c_str());
        }
        if (i >= records || seen[i]) {
          ++dup;
        } else {
          seen[i] = true;
        }
      };
      for (const auto& r : got->records) {
        if (auto users = cinesis::aggregation::Decode(r.data)) {
          for (const auto& u : *users) take(u.data, u.partition_key);
        } else {
          take(r.data, r.partition_key);
        }
      }
      if (got->records.empty() && got->millis_behind_latest == 0) break;
      iter = got->next_shard_iterator;
    }
  }
  const double rsecs = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
  std::size_t missing = 0;
  for (bool b : seen) missing += !b;
  std::printf(
      "read back %zu records in %.2f s (%.0f records/s): %zu missing, %zu duplicates, %zu with a "
      "wrong payload or partition key\n",
      total, rsecs, static_cast<double>(total) / rsecs, missing, dup, wrong);
  return missing == 0 && dup == 0 && wrong == 0 ? 0 : 1;
}
