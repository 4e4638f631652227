// Microbenchmarks of cinesis' hot paths, through the libraries' public entry points:
// PutRecords decode (wire pipeline) with and without the engine, base64, MD5 routing, log
// append (memory, disk without fsync, disk with fsync group commit), GetRecords read and
// encode. Sizes match the load generator's defaults: 500 records of 100 bytes per
// PutRecords, 10000 records per GetRecords.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "api/codec.h"
#include "api/json_writer.h"
#include "api/pipeline.h"
#include "common/base64.h"
#include "common/hash_key.h"
#include "engine/engine.h"
#include "storage/log.h"

namespace {

using namespace cinesis;

constexpr int kBatch = 500;
constexpr int kRecordBytes = 100;

std::string RandomBytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::string RandomKey(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) s += kHex[rng() & 15];
  return s;
}

std::string PutRecordsBody(std::mt19937_64& rng, const std::string& stream) {
  std::string body = "{\"StreamName\":\"" + stream + "\",\"Records\":[";
  for (int i = 0; i < kBatch; ++i) {
    if (i) body += ',';
    body += "{\"Data\":\"" + Base64Encode(RandomBytes(rng, kRecordBytes)) +
            "\",\"PartitionKey\":\"" + RandomKey(rng) + "\"}";
  }
  return body + "]}";
}

api::WireRequest Request(std::string_view op, std::string_view body) {
  api::WireRequest req;
  req.method = "POST";
  req.target = op;
  req.content_type = "application/x-amz-json-1.1";
  req.authorization =
      "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00";
  req.has_amz_date = true;
  req.body = body;
  return req;
}

std::unique_ptr<engine::Engine> NewEngine(std::unique_ptr<storage::Storage> storage, int shards) {
  engine::EngineOptions options;
  options.create_stream_ms = 0;
  auto e = std::make_unique<engine::Engine>(options, std::move(storage));
  std::vector<std::string> report;
  (void)e->Load(&report);
  api::CreateStreamInput in;
  in.stream_name = "bench";
  in.shard_count = shards;
  if (!e->CreateStream(in).ok()) return nullptr;
  return e;
}

// The wire pipeline alone: JSON parse, model type and constraint checks, decode of 500
// entries into PutRecordsInput; the engine then answers ResourceNotFoundException at once
// (the stream does not exist), so no routing or append is timed.
void BM_PutRecordsDecode(benchmark::State& state) {
  std::mt19937_64 rng(1);
  const std::string body = PutRecordsBody(rng, "missing");
  auto engine = NewEngine(storage::NewMemoryStorage(), 1);
  const auto req = Request("Kinesis_20131202.PutRecords", body);
  for (auto _ : state) {
    auto res = api::HandleRequest(req, *engine);
    if (res.status != 400) state.SkipWithError(res.body.c_str());
    benchmark::DoNotOptimize(res.body.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_PutRecordsDecode);

// The whole PutRecords request as the server runs it, on the in-memory engine with 4
// shards: decode, validate, route (MD5), append, encode. The engine is renewed every
// 2000 calls (untimed) so memory stays bounded.
void BM_PutRecordsPipelineMemoryEngine(benchmark::State& state) {
  std::mt19937_64 rng(2);
  std::vector<std::string> bodies;
  for (int i = 0; i < 8; ++i) bodies.push_back(PutRecordsBody(rng, "bench"));
  auto engine = NewEngine(storage::NewMemoryStorage(), 4);
  std::size_t i = 0;
  for (auto _ : state) {
    if (++i % 2000 == 0) {
      state.PauseTiming();
      engine = NewEngine(storage::NewMemoryStorage(), 4);
      state.ResumeTiming();
    }
    auto res = api::HandleRequest(Request("Kinesis_20131202.PutRecords", bodies[i % bodies.size()]),
                                  *engine);
    if (res.status != 200) state.SkipWithError(res.body.c_str());
    benchmark::DoNotOptimize(res.body.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_PutRecordsPipelineMemoryEngine);

void BM_Base64Encode(benchmark::State& state) {
  std::mt19937_64 rng(3);
  const std::string in = RandomBytes(rng, static_cast<std::size_t>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out.clear();
    Base64Encode(in, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Base64Encode)->Arg(100)->Arg(1 << 20);

void BM_Base64Decode(benchmark::State& state) {
  std::mt19937_64 rng(4);
  const std::string in = Base64Encode(RandomBytes(rng, static_cast<std::size_t>(state.range(0))));
  std::string out, why;
  for (auto _ : state) {
    if (!Base64Decode(in, out, why)) state.SkipWithError(why.c_str());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Base64Decode)->Arg(100)->Arg(1 << 20);

void BM_Md5HashKey(benchmark::State& state) {
  std::mt19937_64 rng(5);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) keys.push_back(RandomKey(rng));
  std::size_t i = 0;
  for (auto _ : state) {
    auto k = Md5HashKey(keys[i++ & 1023]);
    benchmark::DoNotOptimize(k);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Md5HashKey);

std::vector<std::string> BatchData(std::mt19937_64& rng, std::vector<std::string>& keys) {
  std::vector<std::string> data;
  for (int i = 0; i < kBatch; ++i) {
    data.push_back(RandomBytes(rng, kRecordBytes));
    keys.push_back(RandomKey(rng));
  }
  return data;
}

std::vector<storage::AppendRecord> Batch(const std::vector<std::string>& data,
                                         const std::vector<std::string>& keys) {
  std::vector<storage::AppendRecord> batch;
  for (std::size_t i = 0; i < data.size(); ++i) batch.push_back({keys[i], {}, data[i]});
  return batch;
}

// Log::Append of a 500-record batch, then WaitDurable: 0 = memory, 1 = disk without
// fsync, 2 = disk with fsync (one writer: every batch pays one sync).
void BM_LogAppend(benchmark::State& state) {
  std::mt19937_64 rng(6);
  std::vector<std::string> keys;
  const auto data = BatchData(rng, keys);
  const auto batch = Batch(data, keys);
  const auto kind = state.range(0);
  const std::string dir = "/tmp/cinesis-microbench-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::unique_ptr<storage::Storage> store;
  if (kind == 0) {
    store = storage::NewMemoryStorage();
  } else {
    storage::DiskOptions options;
    options.dir = dir;
    options.fsync = kind == 2;
    std::vector<std::string> report;
    auto opened = storage::OpenDiskStorage(options, &report);
    if (!opened.ok()) {
      state.SkipWithError(opened.status().ToString().c_str());
      return;
    }
    store = std::move(opened).value();
  }
  auto created = store->CreateLog(storage::LogId{1}, "");
  if (!created.ok()) {
    state.SkipWithError(created.status().ToString().c_str());
    return;
  }
  std::shared_ptr<storage::Log> log = *created;
  created = Result<std::shared_ptr<storage::Log>>(std::shared_ptr<storage::Log>());
  EpochMillis now = 1'700'000'000'000;
  for (auto _ : state) {
    auto r = log->Append(batch, ++now);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    if (auto st = log->WaitDurable(*r); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * kBatch * kRecordBytes);
  log.reset();
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LogAppend)->Arg(0)->Arg(1)->Arg(2)->ArgNames({"storage"})->UseRealTime();

// Group commit: 8 threads append 500-record batches to 4 logs of one fsync'ing disk
// storage, each waiting for durability, as the server's workers do.
void BM_LogAppendGroupCommit(benchmark::State& state) {
  static std::unique_ptr<storage::Storage> store;
  static std::vector<std::shared_ptr<storage::Log>> logs;
  static std::string dir;
  if (state.thread_index() == 0) {
    dir = "/tmp/cinesis-microbench-gc-" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    storage::DiskOptions options;
    options.dir = dir;
    std::vector<std::string> report;
    auto opened = storage::OpenDiskStorage(options, &report);
    if (opened.ok()) {
      store = std::move(opened).value();
      for (std::uint64_t i = 0; i < 4; ++i)
        logs.push_back(*store->CreateLog(storage::LogId{i + 1}, ""));
    }
  }
  std::mt19937_64 rng(7 + static_cast<std::uint64_t>(state.thread_index()));
  std::vector<std::string> keys;
  const auto data = BatchData(rng, keys);
  const auto batch = Batch(data, keys);
  EpochMillis now = 1'700'000'000'000;
  for (auto _ : state) {
    if (logs.empty()) {
      state.SkipWithError("cannot open disk storage");
      break;
    }
    auto& log = logs[static_cast<std::size_t>(state.thread_index()) % logs.size()];
    auto r = log->Append(batch, ++now);
    if (!r.ok() || !log->WaitDurable(*r).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  if (state.thread_index() == 0) {
    logs.clear();
    store.reset();
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_LogAppendGroupCommit)->Threads(8)->UseRealTime();

// The fd cache on the write path: one thread appends a 10-record batch to each of 256 logs of
// a disk storage without fsync, then waits for all of them. max_open_files 0 (the default: the
// cache holds every active segment, a flush costs one lookup) or 16 (every flush reopens).
void BM_LogAppendManyLogs(benchmark::State& state) {
  constexpr std::uint64_t kLogs = 256;
  std::mt19937_64 rng(9);
  std::vector<std::string> keys;
  const auto data = BatchData(rng, keys);
  auto batch = Batch(data, keys);
  batch.resize(10);
  const std::string dir = "/tmp/cinesis-microbench-many-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  storage::DiskOptions options;
  options.dir = dir;
  options.fsync = false;
  options.max_open_files = static_cast<std::size_t>(state.range(0));
  std::vector<std::string> report;
  auto opened = storage::OpenDiskStorage(options, &report);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  auto store = std::move(opened).value();
  std::vector<std::shared_ptr<storage::Log>> logs;
  for (std::uint64_t i = 1; i <= kLogs; ++i)
    logs.push_back(*store->CreateLog(storage::LogId{i}, ""));
  std::vector<storage::AppendResult> appended(kLogs);
  EpochMillis now = 1'700'000'000'000;
  for (auto _ : state) {
    ++now;
    for (std::size_t i = 0; i < kLogs; ++i) {
      auto r = logs[i]->Append(batch, now);
      if (!r.ok()) {
        state.SkipWithError(r.status().ToString().c_str());
        return;
      }
      appended[i] = *r;
    }
    for (std::size_t i = 0; i < kLogs; ++i) {
      if (auto st = logs[i]->WaitDurable(appended[i]); !st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kLogs * batch.size()));
  logs.clear();
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LogAppendManyLogs)->Arg(0)->Arg(16)->ArgNames({"max_open_files"})->UseRealTime();

api::GetRecordsOutput RecordsOutput(std::size_t n) {
  std::mt19937_64 rng(8);
  api::GetRecordsOutput out;
  for (std::size_t i = 0; i < n; ++i) {
    api::Record r;
    r.sequence_number =
        "4959033827149025660855969253836157109592157598913658" + std::to_string(1000 + i % 9000);
    r.approximate_arrival_timestamp = 1'700'000'000'000 + static_cast<EpochMillis>(i);
    r.data = RandomBytes(rng, kRecordBytes);
    r.partition_key = RandomKey(rng);
    out.records.push_back(std::move(r));
  }
  out.next_shard_iterator = std::string(300, 'A');
  return out;
}

void BM_GetRecordsEncode(benchmark::State& state) {
  const auto output = RecordsOutput(10000);
  std::string body;
  for (auto _ : state) {
    body.clear();
    api::JsonWriter w(body);
    api::Encode(w, output);
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * 10000);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_GetRecordsEncode);

// GetRecords of 10000 records through the whole pipeline on the in-memory engine (one
// shard prefilled with 100k records): iterator decode, log read, record copy, encode.
void BM_GetRecordsPipelineMemoryEngine(benchmark::State& state) {
  auto engine = NewEngine(storage::NewMemoryStorage(), 1);
  std::mt19937_64 rng(9);
  for (int i = 0; i < 200; ++i) {
    auto res = api::HandleRequest(
        Request("Kinesis_20131202.PutRecords", PutRecordsBody(rng, "bench")), *engine);
    if (res.status != 200) {
      state.SkipWithError(res.body.c_str());
      return;
    }
  }
  auto fresh_iterator = [&]() {
    api::GetShardIteratorInput in;
    in.stream.stream_name = "bench";
    in.shard_id = "shardId-000000000000";
    in.shard_iterator_type = api::ShardIteratorType::kTrimHorizon;
    auto out = engine->GetShardIterator(in);
    return out.ok() ? out->shard_iterator : std::string();
  };
  std::string iterator = fresh_iterator();
  std::string body;
  std::int64_t bytes = 0, items = 0;
  for (auto _ : state) {
    body = "{\"ShardIterator\":\"" + iterator + "\",\"Limit\":10000}";
    auto res = api::HandleRequest(Request("Kinesis_20131202.GetRecords", body), *engine);
    if (res.status != 200) {
      state.SkipWithError(res.body.c_str());
      break;
    }
    bytes += static_cast<std::int64_t>(res.body.size());
    // Next iterator, or start over at the end of the shard (untimed).
    state.PauseTiming();
    boost::json::error_code ec;
    auto doc = boost::json::parse(res.body, ec);
    const auto* next = ec ? nullptr : doc.as_object().if_contains("NextShardIterator");
    const auto* records = ec ? nullptr : doc.as_object().if_contains("Records");
    if (records) items += static_cast<std::int64_t>(records->as_array().size());
    if (next && records && !records->as_array().empty()) {
      iterator = std::string(next->as_string());
    } else {
      iterator = fresh_iterator();
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_GetRecordsPipelineMemoryEngine);

}  // namespace

BENCHMARK_MAIN();
