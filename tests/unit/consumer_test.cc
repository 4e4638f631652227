// The consumer against the in-process engine: every shard read, parents before
// children, checkpoints and resumption (also inside KPL aggregates), leases, pull style.
#include "cinesis/consumer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cinesis/aggregation.h"
#include "cinesis/producer.h"
#include "cinesis/stores.h"
#include "cinesis/testing/local_kinesis.h"

namespace cinesis {
namespace {

using namespace std::chrono_literals;

struct Seen {
  std::mutex mu;
  std::vector<ConsumerRecord> records;
  std::map<std::string, std::chrono::steady_clock::time_point> first, last;
  std::set<std::string> ended;
  std::size_t size() {
    std::lock_guard l(mu);
    return records.size();
  }
};

class Collect final : public ShardProcessor {
 public:
  explicit Collect(Seen& s) : s_(s) {}
  void ProcessRecords(const std::vector<ConsumerRecord>& records, Checkpointer&) override {
    std::lock_guard l(s_.mu);
    const auto now = std::chrono::steady_clock::now();
    for (const auto& r : records) {
      if (!s_.first.count(r.shard_id)) s_.first[r.shard_id] = now;
      s_.last[r.shard_id] = now;
      s_.records.push_back(r);
    }
  }
  void ShardEnded(Checkpointer&) override {
    std::lock_guard l(s_.mu);
    s_.ended.insert(s_.records.empty() ? "" : "x");
  }

 private:
  Seen& s_;
};

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 10s) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        local_.client().CreateStream({"s", 3, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  }
  void Put(int from, int n, const std::string& prefix = "k") {
    api::PutRecordsInput in{{"s", std::nullopt}, {}};
    for (int i = from; i < from + n; ++i)
      in.records.push_back({std::to_string(i), std::nullopt, prefix + std::to_string(i % 50)});
    auto r = local_.client().PutRecords(in);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->failed_record_count, 0);
  }
  ConsumerOptions Options() {
    ConsumerOptions o;
    o.application = "app";
    o.stream_name = "s";
    o.shard_sync_interval = 50ms;
    o.idle_backoff = 20ms;
    o.max_get_records_per_second = 1000;
    o.checkpoints = store_;
    return o;
  }
  testing::LocalKinesis local_;
  std::shared_ptr<consumer::Store> store_ = consumer::NewMemoryStore();
};

TEST_F(ConsumerTest, ReadsEveryShardAndCheckpointsAfterEachBatch) {
  Put(0, 600);
  Seen seen;
  auto c = Consumer::Create(local_.client(), Options());
  ASSERT_TRUE(c.ok());
  std::thread run([&] {
    ASSERT_TRUE(
        (*c)->Run([&](const std::string&) { return std::make_unique<Collect>(seen); }).ok());
  });
  ASSERT_TRUE(WaitFor([&] { return seen.size() == 600; }));
  Put(600, 100);  // records arriving later are picked up too
  ASSERT_TRUE(WaitFor([&] { return seen.size() == 700; }));
  (*c)->Stop();
  run.join();
  std::set<std::string> data;
  for (const auto& r : seen.records) data.insert(r.data);
  EXPECT_EQ(data.size(), 700U);
  auto cps = store_->LoadAll({"app", "s"});
  ASSERT_TRUE(cps.ok());
  EXPECT_EQ(cps->size(), 3U);
  // Scoped by application: another application has no checkpoints.
  EXPECT_TRUE(store_->LoadAll({"other", "s"})->empty());
}

TEST_F(ConsumerTest, ResumesFromCheckpointsWithoutLossAndWithoutReplayingCheckpointedRecords) {
  Put(0, 300);
  Seen first;
  {
    auto c = Consumer::Create(local_.client(), Options());
    std::thread run([&] {
      (void)(*c)->Run([&](const std::string&) { return std::make_unique<Collect>(first); });
    });
    ASSERT_TRUE(WaitFor([&] { return first.size() == 300; }));
    (*c)->Stop();
    run.join();
  }
  Put(300, 200);
  Seen second;
  auto c = Consumer::Create(local_.client(), Options());
  std::thread run([&] {
    (void)(*c)->Run([&](const std::string&) { return std::make_unique<Collect>(second); });
  });
  ASSERT_TRUE(WaitFor([&] { return second.size() >= 200; }));
  std::this_thread::sleep_for(100ms);
  (*c)->Stop();
  run.join();
  EXPECT_EQ(second.size(), 200U);  // after-each-batch checkpoints: nothing replayed
  for (const auto& r : second.records) EXPECT_GE(std::stoi(r.data), 300);
}

TEST_F(ConsumerTest, ParentsAreFinishedBeforeChildrenStart) {
  Put(0, 300);
  ASSERT_TRUE(local_.client()
                  .SplitShard({{"s", std::nullopt},
                               "shardId-000000000000",
                               "56713727820156410577229101238628035242"})
                  .ok());
  Put(300, 300);
  Seen seen;
  auto c = Consumer::Create(local_.client(), Options());
  std::thread run([&] {
    (void)(*c)->Run([&](const std::string&) { return std::make_unique<Collect>(seen); });
  });
  ASSERT_TRUE(WaitFor([&] { return seen.size() == 600; }));
  (*c)->Stop();
  run.join();
  std::lock_guard l(seen.mu);
  ASSERT_TRUE(seen.first.count("shardId-000000000003"));
  ASSERT_TRUE(seen.first.count("shardId-000000000004"));
  for (const char* child : {"shardId-000000000003", "shardId-000000000004"}) {
    EXPECT_GE(seen.first[child], seen.last["shardId-000000000000"]) << child;
  }
  // Per partition key, order holds across the reshard.
  std::map<std::string, int> last;
  for (const auto& r : seen.records) {
    const int v = std::stoi(r.data);
    auto it = last.find(r.partition_key);
    if (it != last.end()) {
      EXPECT_LT(it->second, v) << r.partition_key;
    }
    last[r.partition_key] = v;
  }
  EXPECT_EQ(store_->Load({"app", "s"}, "shardId-000000000000")->value().sequence_number,
            consumer::kShardEnd);
}

TEST_F(ConsumerTest, DeaggregatesAndResumesInsideAnAggregate) {
  std::vector<aggregation::UserRecord> users;
  for (int i = 0; i < 10; ++i) users.push_back({"pk", std::nullopt, "u" + std::to_string(i)});
  auto blob = aggregation::Encode(users);
  auto put =
      local_.client().PutRecord({{"s", std::nullopt}, blob, "a", std::nullopt, std::nullopt});
  ASSERT_TRUE(put.ok());
  // A checkpoint after user record 3 of that aggregate.
  ASSERT_TRUE(store_->Save({"app", "s"}, put->shard_id, {put->sequence_number, 3}).ok());
  Seen seen;
  auto c = Consumer::Create(local_.client(), Options());
  std::thread run([&] {
    (void)(*c)->Run([&](const std::string&) { return std::make_unique<Collect>(seen); });
  });
  ASSERT_TRUE(WaitFor([&] { return seen.size() == 6; }));
  std::this_thread::sleep_for(50ms);
  (*c)->Stop();
  run.join();
  ASSERT_EQ(seen.size(), 6U);
  EXPECT_EQ(seen.records.front().data, "u4");
  EXPECT_EQ(seen.records.front().sub_sequence_number, 4U);
  EXPECT_TRUE(seen.records.front().aggregated);
}

TEST_F(ConsumerTest, LeasesSplitShardsBetweenWorkersAndFenceStaleOwners) {
  ASSERT_TRUE(local_.client().UpdateShardCount({{"s", std::nullopt}, 6, "UNIFORM_SCALING"}).ok());
  Put(0, 600);
  auto opts = Options();
  opts.leases = store_;
  opts.lease_ttl = 300ms;
  Seen a_seen, b_seen;
  opts.worker_id = "A";
  auto a = Consumer::Create(local_.client(), opts);
  opts.worker_id = "B";
  auto b = Consumer::Create(local_.client(), opts);
  std::thread ra([&] {
    (void)(*a)->Run([&](const std::string&) { return std::make_unique<Collect>(a_seen); });
  });
  std::thread rb([&] {
    (void)(*b)->Run([&](const std::string&) { return std::make_unique<Collect>(b_seen); });
  });
  ASSERT_TRUE(WaitFor([&] {
    auto ma = (*a)->metrics(), mb = (*b)->metrics();
    return ma.owned_shards.size() == 3 && mb.owned_shards.size() == 3;
  })) << (*a)->metrics().owned_shards.size()
      << " / " << (*b)->metrics().owned_shards.size();
  // A stops: B takes over A's shards after A released them.
  (*a)->Stop();
  ra.join();
  ASSERT_TRUE(WaitFor([&] { return (*b)->metrics().owned_shards.size() == 6; }));
  // B goes on from A's checkpoints: every record is delivered by one of the two (B may still
  // be reading A's shards when it takes them over, so wait for it before stopping B).
  auto distinct = [&] {
    std::set<std::string> all;
    for (auto* s : {&a_seen, &b_seen}) {
      std::lock_guard l(s->mu);
      for (const auto& r : s->records) all.insert(r.data);
    }
    return all.size();
  };
  EXPECT_TRUE(WaitFor([&] { return distinct() == 600U; })) << distinct();
  (*b)->Stop();
  rb.join();
  EXPECT_EQ(distinct(), 600U);
  // Fencing: a lease that changed hands cannot be used to checkpoint.
  auto l1 = store_->TryAcquire({"app", "s"}, "shardId-x", "old", 100, 1000);
  ASSERT_TRUE(l1.ok() && l1->has_value());
  auto l2 = store_->TryAcquire({"app", "s"}, "shardId-x", "new", 100, 2000);
  ASSERT_TRUE(l2.ok() && l2->has_value());
  EXPECT_FALSE(*store_->SaveIfOwner({"app", "s"}, **l1, {"1", 0}, 2001));
  EXPECT_TRUE(*store_->SaveIfOwner({"app", "s"}, **l2, {"1", 0}, 2001));
}

TEST_F(ConsumerTest, ReshardingUnderLoadLosesNothingAndKeepsPerKeyOrder) {
  // A producer (strict per-key order) writes while the stream is split, merged and
  // rescaled; a consumer reads all along.
  ProducerOptions po;
  po.stream_name = "s";
  po.linger = 2ms;
  po.strict_key_order = true;
  po.shard_records_per_second = 1e9;
  po.shard_bytes_per_second = 1e12;
  po.shard_map_refresh = 20ms;
  auto producer = Producer::Create(local_.client(), po);
  ASSERT_TRUE(producer.ok());
  Seen seen;
  auto c = Consumer::Create(local_.client(), Options());
  std::thread run([&] {
    (void)(*c)->Run([&](const std::string&) { return std::make_unique<Collect>(seen); });
  });
  constexpr int kTotal = 12000;
  std::atomic<int> acked{0};
  std::thread writer([&] {
    for (int i = 0; i < kTotal; ++i) {
      ASSERT_TRUE((*producer)
                      ->Put("key" + std::to_string(i % 40), std::to_string(i), std::nullopt,
                            [&](const PutResult& r) {
                              EXPECT_TRUE(r.status.ok()) << r.status.ToString();
                              ++acked;
                            })
                      .ok());
      if (i % 500 == 0) std::this_thread::sleep_for(2ms);
    }
  });
  auto& k = local_.client();
  ASSERT_TRUE(WaitFor([&] { return acked > 2000; }));
  ASSERT_TRUE(
      k.SplitShard(
           {{"s", std::nullopt}, "shardId-000000000000", "56713727820156410577229101238628035242"})
          .ok());
  ASSERT_TRUE(WaitFor([&] { return acked > 5000; }));
  ASSERT_TRUE(
      k.MergeShards({{"s", std::nullopt}, "shardId-000000000001", "shardId-000000000002"}).ok());
  ASSERT_TRUE(WaitFor([&] { return acked > 8000; }));
  ASSERT_TRUE(k.UpdateShardCount({{"s", std::nullopt}, 5, "UNIFORM_SCALING"}).ok());
  writer.join();
  ASSERT_TRUE((*producer)->Close(10s).ok());
  ASSERT_TRUE(WaitFor([&] { return seen.size() >= static_cast<std::size_t>(kTotal); }, 30s))
      << seen.size();
  (*c)->Stop();
  run.join();
  std::map<std::string, int> last;
  std::set<int> values;
  for (const auto& r : seen.records) {
    const int v = std::stoi(r.data);
    values.insert(v);
    auto it = last.find(r.partition_key);
    if (it != last.end()) {
      EXPECT_LT(it->second, v) << r.partition_key;
    }
    last[r.partition_key] = v;
  }
  EXPECT_EQ(values.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kTotal));  // and nothing twice
}

TEST_F(ConsumerTest, EnhancedFanOutReceivesPushedRecordsAcrossAReshard) {
  Put(0, 300);
  auto opts = Options();
  opts.enhanced_fan_out_consumer = "efo-app";
  Seen seen;
  auto c = Consumer::Create(local_.client(), opts);
  ASSERT_TRUE(c.ok());
  std::thread run([&] {
    ASSERT_TRUE(
        (*c)->Run([&](const std::string&) { return std::make_unique<Collect>(seen); }).ok());
  });
  ASSERT_TRUE(WaitFor([&] { return seen.size() == 300; }));
  ASSERT_TRUE(local_.client()
                  .SplitShard({{"s", std::nullopt},
                               "shardId-000000000000",
                               "56713727820156410577229101238628035242"})
                  .ok());
  Put(300, 300);
  ASSERT_TRUE(WaitFor([&] { return seen.size() == 600; })) << seen.size();
  (*c)->Stop();
  run.join();
  std::set<std::string> values;
  for (const auto& r : seen.records) values.insert(r.data);
  EXPECT_EQ(values.size(), 600U);
  std::lock_guard l(seen.mu);
  EXPECT_GE(seen.first["shardId-000000000003"], seen.last["shardId-000000000000"]);
  // The stream consumer was registered and is what the subscriptions used.
  auto summary = local_.client().DescribeStreamSummary({{"s", std::nullopt}});
  EXPECT_EQ(summary->stream_description_summary.consumer_count, 1);
  EXPECT_EQ((*c)->metrics().get_records_calls, 0U);  // pushed, not polled
}

TEST_F(ConsumerTest, PullStyleWithManualCommit) {
  Put(0, 200);
  auto opts = Options();
  opts.checkpoint_policy = CheckpointPolicy::Manual();
  auto c = Consumer::Create(local_.client(), opts);
  std::size_t got = 0;
  for (int i = 0; i < 100 && got < 200; ++i) {
    auto batch = (*c)->Poll(100ms);
    ASSERT_TRUE(batch.ok());
    got += batch->size();
  }
  EXPECT_EQ(got, 200U);
  EXPECT_TRUE(store_->LoadAll({"app", "s"})->empty());  // manual: nothing until Commit
  ASSERT_TRUE((*c)->Commit().ok());
  EXPECT_EQ(store_->LoadAll({"app", "s"})->size(), 3U);
  (*c)->Stop();
}

}  // namespace
}  // namespace cinesis
