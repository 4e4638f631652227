// Concurrency stress test of the engine (issue 13, item 6): PutRecords from several threads
// while UpdateMaxRecordSize, UpdateStreamMode, SplitShard and, at the end, DeleteStream run,
// and a reader describes and reads the stream, on in-memory and durable storage. Every
// answer must be a success or one of the errors the operation documents for that state;
// every acknowledged record must be readable, with the sequence number and shard it was
// acknowledged with, until the stream is gone. Runs in every build and, in the `tsan`
// preset, under ThreadSanitizer, which reports any unsynchronised access these calls make.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/hash_key.h"
#include "engine/engine.h"

namespace cinesis::engine {
namespace {

constexpr int kProducers = 4;
constexpr int kBatch = 8;
constexpr int kReaders = 2;
constexpr int kRounds = 160;         // of UpdateMaxRecordSize and UpdateStreamMode
constexpr int kSplitEvery = 8;       // rounds; 20 split attempts in all
constexpr int kBatchesPerRound = 8;  // per producer

struct Acked {
  std::string shard_id;
  std::string sequence;
};

// Everything the threads share, behind one mutex (the test's own state, not the engine's).
struct Ledger {
  std::mutex mu;
  std::condition_variable acks_changed;   // the control thread waits for acks
  std::condition_variable round_changed;  // the producers wait for the next round
  std::map<std::string, Acked> acked;     // record data -> where it was acknowledged
  std::vector<std::string> unexpected;    // answers no operation documents
  int round = 0;                          // the control round under way (paces the producers)

  void Ack(std::vector<std::pair<std::string, Acked>> batch) {
    {
      std::lock_guard lock(mu);
      for (auto& [data, where] : batch) acked.emplace(std::move(data), std::move(where));
    }
    acks_changed.notify_all();
  }
  void SetRound(int r) {
    {
      std::lock_guard lock(mu);
      round = r;
    }
    round_changed.notify_all();
  }
  void Unexpected(const std::string& what) {
    std::lock_guard lock(mu);
    if (unexpected.size() < 20) unexpected.push_back(what);
  }
};

std::string Describe(const char* op, const Status& st) {
  return std::string(op) + ": " + std::string(st.name()) + " " + st.message();
}

class EngineStress : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::unique_ptr<storage::Storage> st;
    if (GetParam()) {
      dir_ = std::filesystem::temp_directory_path() /
             ("cinesis-engine-stress-" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir_);
      storage::DiskOptions d;
      d.dir = dir_.string();
      d.flush_threads = 2;
      auto opened = storage::OpenDiskStorage(d, nullptr);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      st = std::move(opened).value();
    } else {
      st = storage::NewMemoryStorage();
    }
    EngineOptions o;
    o.clock = &clock_;
    o.create_stream_ms = 0;
    o.update_stream_ms = 0;  // reshards and mode changes settle inside the call
    o.delete_stream_ms = 1000;
    engine_ = std::make_unique<Engine>(o, std::move(st));
    ASSERT_TRUE(engine_->Load(nullptr).ok());
    ASSERT_TRUE(
        engine_->CreateStream({"s", 2, api::StreamMode::kProvisioned, {}, std::nullopt, 1024})
            .ok());
    arn_ = "arn:aws:kinesis:" + o.scope.region + ":" + o.scope.account_id + ":stream/s";
  }
  void TearDown() override {
    engine_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // One producer: PutRecords batches of unique records until `stop`.
  void Produce(int id, const std::atomic<bool>& stop) {
    for (int n = 0; !stop.load(); ++n) {
      {
        // At most kBatchesPerRound batches per control round (keeps the run short under
        // TSan); the deadline only bounds the wait.
        std::unique_lock lock(ledger_.mu);
        ledger_.round_changed.wait_for(lock, std::chrono::seconds(10), [&] {
          return n < (ledger_.round + 1) * kBatchesPerRound || stop.load();
        });
      }
      api::PutRecordsInput in{{"s", std::nullopt}, {}};
      for (int k = 0; k < kBatch; ++k) {
        const std::string data =
            "p" + std::to_string(id) + "-" + std::to_string(n) + "-" + std::to_string(k);
        in.records.push_back({data, std::nullopt, "key-" + std::to_string((n * kBatch + k) % 97)});
      }
      auto r = engine_->PutRecords(in);
      if (!r.ok()) {
        // Documented: the stream is being deleted or is gone (PutRecords on a stream that
        // is not ACTIVE or UPDATING answers ResourceNotFoundException).
        if (r.status().code() != Code::kResourceNotFound) {
          ledger_.Unexpected(Describe("PutRecords", r.status()));
        }
        continue;
      }
      if (r->records.size() != in.records.size()) {
        ledger_.Unexpected("PutRecords: answer has the wrong number of entries");
        continue;
      }
      std::vector<std::pair<std::string, Acked>> acks;
      for (std::size_t k = 0; k < r->records.size(); ++k) {
        const auto& e = r->records[k];
        if (e.sequence_number && e.shard_id) {
          acks.push_back({in.records[k].data, {*e.shard_id, *e.sequence_number}});
        } else {
          // No throttling, no storage faults: a record must never fail on its own.
          ledger_.Unexpected("PutRecords entry: " + e.error_code.value_or("?") + " " +
                             e.error_message.value_or(""));
        }
      }
      ledger_.Ack(std::move(acks));
    }
  }

  // The open shards of the stream and their hash ranges.
  std::vector<api::Shard> OpenShards() {
    api::ListShardsInput in;
    in.stream.stream_name = "s";
    in.shard_filter = api::ShardFilter{api::ShardFilterType::kAtLatest, std::nullopt, std::nullopt};
    auto r = engine_->ListShards(in);
    if (!r.ok()) return {};
    return r->shards;
  }

  // One round of control operations (a split every kSplitEvery rounds); the answers each
  // may give in these states.
  void Control(int round) {
    api::UpdateMaxRecordSizeInput size{{"s", std::nullopt}, round % 2 ? 2048 : 1024};
    if (Status st = engine_->UpdateMaxRecordSize(size);
        !st.ok() && st.code() != Code::kResourceInUse) {
      ledger_.Unexpected(Describe("UpdateMaxRecordSize", st));
    }
    // ON_DEMAND two rounds in three, so some splits meet the ValidationException of an
    // on-demand stream and the others reshard.
    const auto mode = round % 3 == 2 ? api::StreamMode::kProvisioned : api::StreamMode::kOnDemand;
    if (Status st = engine_->UpdateStreamMode({arn_, mode, std::nullopt});
        !st.ok() && st.code() != Code::kResourceInUse) {
      ledger_.Unexpected(Describe("UpdateStreamMode", st));
    }
    if (round % kSplitEvery != 0) return;
    auto open = OpenShards();
    if (open.empty()) {
      ledger_.Unexpected("ListShards: no open shard");
      return;
    }
    const auto& shard = open[static_cast<std::size_t>(round / kSplitEvery) % open.size()];
    const auto start = ParseDecimal128(shard.hash_key_range.starting_hash_key);
    const auto end = ParseDecimal128(shard.hash_key_range.ending_hash_key);
    if (!start || !end) {
      ledger_.Unexpected("ListShards: unreadable hash range");
      return;
    }
    const uint128 mid = *start + (*end - *start) / 2;
    Status st = engine_->SplitShard({{"s", std::nullopt}, shard.shard_id, ToString(HashKey{mid})});
    // ValidationException: the stream is ON_DEMAND; ResourceInUseException: another
    // update is in progress; LimitExceeded never here (few shards).
    if (!st.ok() && st.code() != Code::kValidation && st.code() != Code::kResourceInUse) {
      ledger_.Unexpected(Describe("SplitShard", st));
    }
  }

  // A reader on the paths that read the stream's state (status, mode, topology).
  void Read(const std::atomic<bool>& stop) {
    while (!stop.load()) {
      auto sum = engine_->DescribeStreamSummary({{"s", std::nullopt}});
      if (!sum.ok() && sum.status().code() != Code::kResourceNotFound) {
        ledger_.Unexpected(Describe("DescribeStreamSummary", sum.status()));
      }
      auto list = engine_->ListStreams({});
      if (!list.ok()) ledger_.Unexpected(Describe("ListStreams", list.status()));
      auto it = engine_->GetShardIterator({{"s", std::nullopt},
                                           "shardId-000000000000",
                                           api::ShardIteratorType::kTrimHorizon,
                                           std::nullopt,
                                           std::nullopt});
      if (!it.ok()) {
        if (it.status().code() != Code::kResourceNotFound) {
          ledger_.Unexpected(Describe("GetShardIterator", it.status()));
        }
        continue;
      }
      auto got = engine_->GetRecords({it->shard_iterator, 100, std::nullopt});
      if (!got.ok() && got.status().code() != Code::kResourceNotFound) {
        ledger_.Unexpected(Describe("GetRecords", got.status()));
      }
    }
  }

  // Reads every shard from TRIM_HORIZON: record data -> (shard, sequence number).
  std::map<std::string, Acked> ReadAll() {
    std::map<std::string, Acked> seen;
    api::ListShardsInput in;
    in.stream.stream_name = "s";
    auto shards = engine_->ListShards(in);
    EXPECT_TRUE(shards.ok()) << shards.status().ToString();
    if (!shards.ok()) return seen;
    for (const auto& shard : shards->shards) {
      auto it = engine_->GetShardIterator({{"s", std::nullopt},
                                           shard.shard_id,
                                           api::ShardIteratorType::kTrimHorizon,
                                           std::nullopt,
                                           std::nullopt});
      EXPECT_TRUE(it.ok()) << it.status().ToString();
      if (!it.ok()) continue;
      std::optional<std::string> iterator = it->shard_iterator;
      while (iterator) {
        auto got = engine_->GetRecords({*iterator, 10000, std::nullopt});
        EXPECT_TRUE(got.ok()) << got.status().ToString();
        if (!got.ok()) break;
        for (const auto& r : got->records) seen[r.data] = {shard.shard_id, r.sequence_number};
        if (got->records.empty()) break;  // caught up (an open shard) or ended (closed)
        iterator = got->next_shard_iterator;
      }
    }
    return seen;
  }

  void ExpectEveryAckedRecordReadable() {
    auto seen = ReadAll();
    std::lock_guard lock(ledger_.mu);
    EXPECT_GT(ledger_.acked.size(), 0U);
    std::size_t missing = 0, moved = 0;
    for (const auto& [data, where] : ledger_.acked) {
      auto it = seen.find(data);
      if (it == seen.end()) {
        if (++missing <= 5) ADD_FAILURE() << "acknowledged record " << data << " not readable";
      } else if (it->second.shard_id != where.shard_id || it->second.sequence != where.sequence) {
        if (++moved <= 5) {
          ADD_FAILURE() << "record " << data << " acknowledged as " << where.shard_id << "/"
                        << where.sequence << ", read as " << it->second.shard_id << "/"
                        << it->second.sequence;
        }
      }
    }
    EXPECT_EQ(missing, 0U);
    EXPECT_EQ(moved, 0U);
    std::printf("%zu records acknowledged, %zu read back\n", ledger_.acked.size(), seen.size());
  }

  std::size_t Acks() {
    std::lock_guard lock(ledger_.mu);
    return ledger_.acked.size();
  }
  // Waits (at most 10 s, not an assertion) until `target` records are acknowledged.
  void WaitForAcks(std::size_t target) {
    std::unique_lock lock(ledger_.mu);
    ledger_.acks_changed.wait_for(lock, std::chrono::seconds(10),
                                  [&] { return ledger_.acked.size() >= target; });
  }

  void ExpectOnlyDocumentedAnswers() {
    std::lock_guard lock(ledger_.mu);
    for (const auto& u : ledger_.unexpected) ADD_FAILURE() << u;
  }

  ManualClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<Engine> engine_;
  std::string arn_;
  Ledger ledger_;
};

TEST_P(EngineStress, PutRecordsWhileControlOperationsAndDeleteStreamRun) {
  std::atomic<bool> stop_producers{false}, stop_reader{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kProducers; ++i) {
    threads.emplace_back([this, i, &stop_producers] { Produce(i, stop_producers); });
  }
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([this, &stop_reader] { Read(stop_reader); });
  }

  // Phase 1: control operations race the producers and the reader; between rounds, the
  // producers get to write into each new topology.
  for (int round = 0; round < kRounds; ++round) {
    Control(round);
    // Counted before the round opens: the producers may write all of it before this thread
    // gets to wait (which then waited its whole 10 s for acks that had already come).
    const std::size_t target = Acks() + kBatch;
    ledger_.SetRound(round + 1);
    WaitForAcks(target);
  }
  ledger_.SetRound(1 << 20);  // unpaced from here on

  // Phase 2: DeleteStream while they still write. Records acknowledged before or after it
  // stay readable while the stream is DELETING; writes after it fail with
  // ResourceNotFoundException.
  ASSERT_TRUE(engine_->DeleteStream({{"s", std::nullopt}, false}).ok());
  stop_producers = true;
  ledger_.SetRound(1 << 20);  // wakes paced producers
  for (int i = 0; i < kProducers; ++i) threads[static_cast<std::size_t>(i)].join();
  stop_reader = true;
  for (int i = kProducers; i < kProducers + kReaders; ++i)
    threads[static_cast<std::size_t>(i)].join();

  auto after = engine_->PutRecords({{"s", std::nullopt}, {{"late", std::nullopt, "k"}}});
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), Code::kResourceNotFound);
  ExpectOnlyDocumentedAnswers();
  ExpectEveryAckedRecordReadable();

  // Several splits were applied (the producers saw a changing topology).
  api::ListShardsInput all;
  all.stream.stream_name = "s";
  auto shards = engine_->ListShards(all);
  ASSERT_TRUE(shards.ok());
  EXPECT_GT(shards->shards.size(), 2U);
  std::printf("%zu shards after the splits\n", shards->shards.size());

  // Once the deletion delay passes, the stream is gone.
  clock_.Advance(1000);
  engine_->Tick();
  EXPECT_EQ(engine_->ListStreams({})->stream_names.size(), 0U);
  auto gone = engine_->DescribeStreamSummary({{"s", std::nullopt}});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kResourceNotFound);
}

INSTANTIATE_TEST_SUITE_P(Storage, EngineStress, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("Durable") : std::string("InMemory");
                         });

}  // namespace
}  // namespace cinesis::engine
