// The producer against the in-process engine, with faults injected between them.
#include "cinesis/producer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "cinesis/aggregation.h"
#include "cinesis/testing/local_kinesis.h"

namespace cinesis {
namespace {

// Passes calls to the engine; fails chosen PutRecords entries or whole calls. Every other
// call goes straight through (ForwardingKinesisService).
class FaultyKinesis final : public ForwardingKinesisService {
 public:
  using ForwardingKinesisService::ForwardingKinesisService;
  double fail_record_rate = 0;       // entries answered ProvisionedThroughputExceeded
  double internal_failure_rate = 0;  // entries answered InternalFailure
  double call_failure_rate = 0;      // whole call fails with a 5xx-like error before writing
  double lost_response_rate = 0;     // the write happens, the answer is lost (timeout)
  double lost_request_rate = 0;      // the request is lost before the write (same timeout)
  std::string fatal;                 // every call fails with this non-retriable error
  std::atomic<int> calls{0};
  std::atomic<int> list_shards_calls{0};
  // Calls whose written records landed on more than one shard (a batch built from a stale
  // shard map), and how many ListShards calls had been made when each call was answered.
  std::atomic<int> mixed_calls{0};
  std::vector<std::pair<int, bool>> call_log;  // (ListShards calls so far, mixed), under mu_

  // While closed, PutRecords calls wait at the gate (bounded) before doing anything.
  void CloseGate() {
    std::lock_guard lock(gate_mu_);
    gate_open_ = false;
  }
  void OpenGate() {
    {
      std::lock_guard lock(gate_mu_);
      gate_open_ = true;
    }
    gate_cv_.notify_all();
  }
  int waiting_at_gate() {
    std::lock_guard lock(gate_mu_);
    return waiting_;
  }
  std::vector<std::pair<int, bool>> CallLog() {
    std::lock_guard lock(mu_);
    return call_log;
  }

  Result<api::PutRecordsOutput> PutRecords(const api::PutRecordsInput& in) override {
    ++calls;
    {
      std::unique_lock lock(gate_mu_);
      ++waiting_;
      gate_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return gate_open_; });
      --waiting_;
    }
    std::lock_guard lock(mu_);
    if (!fatal.empty()) return Status(Code::kResourceNotFound, fatal);
    if (Roll(call_failure_rate)) return Status(Code::kInternalFailure, "injected 500");
    if (Roll(lost_request_rate)) return Status(Code::kIoError, "injected timeout before the write");
    // Entries chosen to fail are not written; the rest are.
    api::PutRecordsInput pass{in.stream, {}};
    std::vector<int> fate(in.records.size(), 0);
    for (std::size_t i = 0; i < in.records.size(); ++i) {
      fate[i] = Roll(fail_record_rate) ? 1 : Roll(internal_failure_rate) ? 2 : 0;
      if (fate[i] == 0) pass.records.push_back(in.records[i]);
    }
    auto real = target().PutRecords(pass);
    if (!real.ok()) return real;
    std::set<std::string> touched;
    for (const auto& r : real->records) touched.insert(r.shard_id.value_or(""));
    mixed_calls += touched.size() > 1;
    call_log.emplace_back(list_shards_calls.load(), touched.size() > 1);
    if (Roll(lost_response_rate)) return Status(Code::kIoError, "injected timeout after the write");
    api::PutRecordsOutput out;
    std::size_t k = 0;
    for (int f : fate) {
      if (f == 0) {
        out.records.push_back(real->records[k++]);
      } else {
        ++out.failed_record_count;
        out.records.push_back(
            {std::nullopt, std::nullopt,
             f == 1 ? "ProvisionedThroughputExceededException" : "InternalFailure",
             f == 1 ? "Rate exceeded for shard" : "Internal service failure."});
      }
    }
    return out;
  }

  Result<api::ListShardsOutput> ListShards(const api::ListShardsInput& in) override {
    ++list_shards_calls;
    return target().ListShards(in);
  }

 private:
  bool Roll(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::mutex mu_;
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool gate_open_ = true;
  int waiting_ = 0;
  std::mt19937 rng_{12345};
};

using namespace std::chrono_literals;

// Every future gets a deadline: a record that never completes fails the test instead of
// hanging it until CTest's timeout.
PutResult Await(std::future<PutResult>& f, std::chrono::seconds deadline = 30s) {
  if (f.wait_for(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "the record did not complete within " << deadline.count() << " s";
    return PutResult{
        Status(Code::kInternalFailure, "test: no completion"), {}, {}, std::nullopt, {}};
  }
  return f.get();
}

// The data of every record stored, which must be exactly `0 .. n-1` (as strings).
void ExpectExactlyOnce(const std::vector<struct StoredRecord>& stored, int n);

struct StoredRecord {
  std::string shard, seq, key, data;
};

// Every record of every shard, in shard order, unpacking KPL aggregates.
std::vector<StoredRecord> ReadAll(KinesisClient& c, const std::string& stream) {
  std::vector<StoredRecord> out;
  auto shards = c.ListShards({{stream, std::nullopt},
                              std::nullopt,
                              std::nullopt,
                              std::nullopt,
                              std::nullopt,
                              std::nullopt});
  EXPECT_TRUE(shards.ok());
  for (const auto& s : shards->shards) {
    auto it = c.GetShardIterator({{stream, std::nullopt},
                                  s.shard_id,
                                  api::ShardIteratorType::kTrimHorizon,
                                  std::nullopt,
                                  std::nullopt});
    std::optional<std::string> iter = it->shard_iterator;
    while (iter) {
      auto got = c.GetRecords({*iter, std::nullopt, std::nullopt});
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok()) break;
      for (const auto& r : got->records) {
        if (auto users = aggregation::Decode(r.data)) {
          for (const auto& u : *users)
            out.push_back({s.shard_id, r.sequence_number, u.partition_key, u.data});
        } else {
          out.push_back({s.shard_id, r.sequence_number, r.partition_key, r.data});
        }
      }
      if (got->records.empty() && got->millis_behind_latest == 0) break;
      iter = got->next_shard_iterator;
    }
  }
  return out;
}

void ExpectExactlyOnce(const std::vector<StoredRecord>& stored, int n) {
  std::map<std::string, int> count;
  for (const auto& s : stored) ++count[s.data];
  std::vector<std::string> missing, twice;
  for (int i = 0; i < n; ++i) {
    auto it = count.find(std::to_string(i));
    if (it == count.end()) {
      missing.push_back(std::to_string(i));
    } else if (it->second > 1) {
      twice.push_back(std::to_string(i));
    }
  }
  EXPECT_EQ(count.size(), static_cast<std::size_t>(n)) << "distinct records stored";
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing, first " << missing.front();
  EXPECT_TRUE(twice.empty()) << twice.size() << " stored twice, first " << twice.front();
}

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        local_.client().CreateStream({"p", 4, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  }
  ProducerOptions Options() {
    ProducerOptions o;
    o.stream_name = "p";
    o.linger = std::chrono::milliseconds(5);
    o.retry_base_delay = std::chrono::milliseconds(1);
    o.retry_max_delay = std::chrono::milliseconds(20);
    o.shard_records_per_second = 1e9;
    o.shard_bytes_per_second = 1e12;
    return o;
  }
  testing::LocalKinesis local_;
};

TEST_F(ProducerTest, EveryRecordCompletesOnceAndIsStoredOnce) {
  auto producer = Producer::Create(local_.client(), Options());
  ASSERT_TRUE(producer.ok());
  std::vector<std::future<PutResult>> futures;
  for (int i = 0; i < 5000; ++i)
    futures.push_back((*producer)->Put("k" + std::to_string(i % 97), "d" + std::to_string(i)));
  std::set<std::pair<std::string, std::string>> acked;
  for (auto& f : futures) {
    auto r = Await(f);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.attempts.size(), 1U);
    EXPECT_TRUE(acked.insert({r.shard_id, r.sequence_number}).second);
  }
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  auto stored = ReadAll(local_.client(), "p");
  EXPECT_EQ(stored.size(), 5000U);
  auto m = (*producer)->metrics();
  EXPECT_EQ(m.records_put, 5000U);
  EXPECT_LT(m.put_records_calls, 5000U);  // batched
}

TEST_F(ProducerTest, PartialFailuresAreRetriedUntilEveryRecordIsStoredExactlyOnce) {
  FaultyKinesis faulty(local_.service());
  faulty.fail_record_rate = 0.2;
  faulty.internal_failure_rate = 0.05;
  faulty.call_failure_rate = 0.05;
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto producer = Producer::Create(client, Options());
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::vector<std::future<PutResult>> futures;
  for (int i = 0; i < 3000; ++i)
    futures.push_back((*producer)->Put("k" + std::to_string(i % 31), std::to_string(i)));
  std::size_t retried = 0;
  for (auto& f : futures) {
    auto r = Await(f);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    retried += r.attempts.size() > 1;
    for (std::size_t a = 0; a + 1 < r.attempts.size(); ++a) EXPECT_FALSE(r.attempts[a].error.ok());
  }
  EXPECT_GT(retried, 0U);
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  ExpectExactlyOnce(ReadAll(local_.client(), "p"), 3000);
  auto m = (*producer)->metrics();
  EXPECT_GT(m.retries, 0U);
  EXPECT_GT(m.errors_by_code["ProvisionedThroughputExceededException"], 0U);
}

// PutMany (the C ABI's put_packed): every accepted record is called back exactly once with
// its index, and retried records are written with their data (a plain record's data and
// key are lent to the request and must come back for the retry).
TEST_F(ProducerTest, PutManyCallsBackEachRecordOnceAndRetriesWithItsData) {
  FaultyKinesis faulty(local_.service());
  faulty.fail_record_rate = 0.2;
  faulty.call_failure_rate = 0.05;
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto producer = Producer::Create(client, Options());
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  constexpr int kRecords = 3000;
  std::vector<std::string> keys, data;
  for (int i = 0; i < kRecords; ++i) {
    keys.push_back("key-of-record-number-" + std::to_string(i % 31));  // not SSO-sized
    data.push_back(std::to_string(i));
  }
  std::mutex mu;
  std::vector<int> calls(kRecords, 0);
  std::vector<PutResult> results(kRecords);
  std::size_t accepted = 0;
  for (int start = 0; start < kRecords; start += 1000) {
    std::vector<Producer::RecordView> views;
    for (int i = start; i < start + 1000; ++i) views.push_back({keys[i], data[i]});
    std::size_t n = 0;
    const bool details = start == 0;  // the first call asks for the successes' details
    Status st = (*producer)->PutMany(
        views,
        [&, start](std::size_t index, const PutResult& r) {
          std::lock_guard lock(mu);
          ++calls[start + index];
          results[start + index] = r;
        },
        details, &n);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(n, 1000U);
    accepted += n;
  }
  // Close joins the sender threads: every callback has returned (after Flush, the last
  // ones may still be running).
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(30)).ok());
  EXPECT_EQ(accepted, static_cast<std::size_t>(kRecords));
  std::lock_guard lock(mu);
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_EQ(calls[i], 1) << "record " << i;
    ASSERT_TRUE(results[i].status.ok()) << results[i].status.ToString();
    if (i < 1000) {
      EXPECT_FALSE(results[i].shard_id.empty());
      EXPECT_FALSE(results[i].sequence_number.empty());
      EXPECT_FALSE(results[i].attempts.empty());
    } else {  // success_details = false: the status only
      EXPECT_TRUE(results[i].shard_id.empty());
      EXPECT_TRUE(results[i].sequence_number.empty());
      EXPECT_TRUE(results[i].attempts.empty());
    }
  }
  EXPECT_GT((*producer)->metrics().retries, 0U);
  auto stored = ReadAll(local_.client(), "p");
  ExpectExactlyOnce(stored, kRecords);
  for (const auto& r : stored) EXPECT_EQ(r.key, keys[std::stoi(r.data)]) << "record " << r.data;
}

// PutMany takes records in order up to the first it refuses: that record's error is
// returned, `accepted` counts those before it, and only they are called back.
TEST_F(ProducerTest, PutManyStopsAtTheFirstRecordRefused) {
  auto producer = Producer::Create(local_.client(), Options());
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::vector<Producer::RecordView> views = {{"a", "0"}, {"b", "1"}, {"", "2"}, {"d", "3"}};
  std::atomic<int> called{0};
  std::atomic<std::size_t> max_index{0};
  std::size_t n = 99;
  Status st = (*producer)->PutMany(
      views,
      [&](std::size_t index, const PutResult& r) {
        EXPECT_TRUE(r.status.ok()) << r.status.ToString();
        ++called;
        if (index > max_index) max_index = index;
      },
      false, &n);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(n, 2U);
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  EXPECT_EQ(called.load(), 2);
  EXPECT_EQ(max_index.load(), 1U);
  EXPECT_EQ(ReadAll(local_.client(), "p").size(), 2U);
  // Closed: nothing is accepted.
  st = (*producer)->PutMany(views, nullptr, false, &n);
  EXPECT_EQ(st.code(), Code::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(n, 0U);
}

TEST_F(ProducerTest, LostResponsesGiveAtLeastOnceNeverLoss) {
  FaultyKinesis faulty(local_.service());
  faulty.lost_response_rate = 0.2;  // written, answer lost: retried, so maybe twice
  faulty.lost_request_rate = 0.2;   // lost before the write, same error: must be retried
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto producer = Producer::Create(client, Options());
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::vector<std::future<PutResult>> futures;
  for (int i = 0; i < 2000; ++i)
    futures.push_back((*producer)->Put("k" + std::to_string(i % 13), std::to_string(i)));
  std::size_t retried = 0;
  for (auto& f : futures) {
    auto r = Await(f);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    ASSERT_FALSE(r.sequence_number.empty());  // acknowledged by the service, not assumed
    retried += r.attempts.size() > 1;
  }
  EXPECT_GT(retried, 0U);
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  std::set<std::string> seen;
  for (const auto& s : ReadAll(local_.client(), "p")) seen.insert(s.data);
  std::vector<std::string> missing;
  for (int i = 0; i < 2000; ++i)
    if (!seen.count(std::to_string(i))) missing.push_back(std::to_string(i));
  EXPECT_TRUE(missing.empty()) << missing.size() << " records lost, first " << missing.front();
  EXPECT_EQ(seen.size(), 2000U);  // duplicates allowed, loss not
}

TEST_F(ProducerTest, FatalErrorsAndExpiredRecordsCompleteWithTheirError) {
  FaultyKinesis faulty(local_.service());
  faulty.fatal = "Stream p under account 000000000000 not found.";
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto producer = Producer::Create(client, Options());
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  auto fut = (*producer)->Put("k", "x");
  auto r = Await(fut);
  EXPECT_EQ(r.status.code(), Code::kResourceNotFound);
  EXPECT_EQ(r.attempts.size(), 1U);
  faulty.fatal.clear();
  faulty.fail_record_rate = 1.0;  // always throttled
  auto opts = Options();
  opts.record_ttl = std::chrono::milliseconds(200);
  auto p2 = Producer::Create(client, opts);
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  auto expiring = (*p2)->Put("k", "y");
  auto expired = Await(expiring, 10s);  // record_ttl 200 ms: long before this deadline
  EXPECT_EQ(expired.status.code(), Code::kProvisionedThroughputExceeded);
  EXPECT_GT(expired.attempts.size(), 1U);
  EXPECT_NE(expired.status.message().find("record expired"), std::string::npos);
}

// Completed records are reused by later Puts (a pool): a reused record reports only its
// own result, once, to its own future or callback, with its own attempts and details, and
// the sequence number it reports is the one its data was stored under.
TEST_F(ProducerTest, ReusedRecordsReportOnlyTheirOwnResult) {
  FaultyKinesis faulty(local_.service());
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto producer = Producer::Create(client, Options());
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  // First a record that fails (future form; its attempt holds an error) ...
  faulty.fatal = "Stream p under account 000000000000 not found.";
  auto failing = (*producer)->Put("k", "failed");
  EXPECT_EQ(Await(failing).status.code(), Code::kResourceNotFound);
  faulty.fatal.clear();
  // ... then rounds of records in every form, each round after the last one completed, so
  // that the records of a round are those of the rounds before it.
  struct Seen {
    int calls = 0;
    bool lean = false;
    PutResult result;
  };
  std::mutex mu;
  std::map<std::string, Seen> seen;  // by data
  auto note = [&](const std::string& data, bool lean, const PutResult& r) {
    std::lock_guard lock(mu);
    Seen& s = seen[data];
    ++s.calls;
    s.lean = lean;
    s.result = r;
  };
  constexpr int kRounds = 4, kPerRound = 90;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::pair<std::string, std::future<PutResult>>> futures;
    auto many = std::make_shared<std::vector<std::string>>();
    for (int i = 0; i < kPerRound; ++i) {
      std::string data = "r" + std::to_string(round) + "-" + std::to_string(i);
      const std::string key = "k" + std::to_string(i);
      if (i % 3 == 0) {
        futures.emplace_back(data, (*producer)->Put(key, data));
      } else if (i % 3 == 1) {
        ASSERT_TRUE(
            (*producer)
                ->Put(key, data, [&note, data](const PutResult& r) { note(data, false, r); })
                .ok());
      } else {
        many->push_back(data);
      }
    }
    std::vector<Producer::RecordView> views;
    for (const auto& d : *many) views.push_back({d, d});
    const bool lean = round % 2 == 1;
    ASSERT_TRUE((*producer)
                    ->PutMany(
                        views,
                        [&note, many, lean](std::size_t i, const PutResult& r) {
                          note((*many)[i], lean, r);
                        },
                        /*success_details=*/!lean)
                    .ok());
    for (auto& [data, f] : futures) note(data, false, Await(f));
    ASSERT_TRUE((*producer)->Flush(10s).ok());
  }
  ASSERT_TRUE((*producer)->Close(5s).ok());                           // every callback has returned
  std::map<std::pair<std::string, std::string>, std::string> stored;  // (shard, seq) -> data
  for (const auto& r : ReadAll(local_.client(), "p")) stored[{r.shard, r.seq}] = r.data;
  EXPECT_EQ(stored.size(), static_cast<std::size_t>(kRounds * kPerRound));
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kRounds * kPerRound));
  for (const auto& [data, s] : seen) {
    EXPECT_EQ(s.calls, 1) << data;
    EXPECT_TRUE(s.result.status.ok()) << data << ": " << s.result.status.ToString();
    if (s.lean) {
      EXPECT_TRUE(s.result.attempts.empty()) << data;
      EXPECT_TRUE(s.result.sequence_number.empty()) << data;
      continue;
    }
    ASSERT_EQ(s.result.attempts.size(), 1U) << data;
    EXPECT_TRUE(s.result.attempts[0].error.ok()) << data;
    auto it = stored.find({s.result.shard_id, s.result.sequence_number});
    ASSERT_NE(it, stored.end()) << data << " reported a sequence number not stored";
    EXPECT_EQ(it->second, data) << "the result of another record";
  }
}

TEST_F(ProducerTest, StrictKeyOrderSurvivesRetries) {
  FaultyKinesis faulty(local_.service());
  faulty.fail_record_rate = 0.3;
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto opts = Options();
  opts.strict_key_order = true;
  auto producer = Producer::Create(client, opts);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::vector<std::future<PutResult>> futures;
  for (int i = 0; i < 1500; ++i)
    futures.push_back((*producer)->Put("key" + std::to_string(i % 5), std::to_string(i)));
  for (auto& f : futures) ASSERT_TRUE(Await(f).status.ok());
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  const auto stored = ReadAll(local_.client(), "p");
  ExpectExactlyOnce(stored, 1500);  // every acknowledged record is really there
  std::map<std::string, int> last;
  for (const auto& s : stored) {
    int v = std::stoi(s.data);
    auto it = last.find(s.key);
    if (it != last.end()) {
      EXPECT_LT(it->second, v) << "key " << s.key;
    }
    last[s.key] = v;
  }
}

TEST_F(ProducerTest, AggregatesInTheKplFormatAndReportsSubSequenceNumbers) {
  auto opts = Options();
  opts.aggregate = true;
  auto producer = Producer::Create(local_.client(), opts);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::vector<std::future<PutResult>> futures;
  for (int i = 0; i < 2000; ++i)
    futures.push_back((*producer)->Put("k" + std::to_string(i), std::string(50, 'a' + i % 26)));
  std::size_t with_sub = 0;
  for (auto& f : futures) {
    auto r = Await(f);
    ASSERT_TRUE(r.status.ok());
    with_sub += r.sub_sequence_number.has_value();
  }
  EXPECT_GT(with_sub, 1000U);
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  EXPECT_LT((*producer)->metrics().put_records_calls, 50U);
  auto stored = ReadAll(local_.client(), "p");
  EXPECT_EQ(stored.size(), 2000U);
  std::map<std::string, std::string> by_key;  // key -> data, for every record put
  for (const auto& r : stored) EXPECT_TRUE(by_key.emplace(r.key, r.data).second) << r.key;
  for (int i = 0; i < 2000; ++i)
    EXPECT_EQ(by_key["k" + std::to_string(i)], std::string(50, 'a' + i % 26)) << i;
}

TEST(Aggregation, WorkedExampleFromTheKplFormatIsExact) {
  auto blob = aggregation::Encode({{"pk1", std::nullopt, "hello"}, {"pk2", std::nullopt, "world"}});
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : blob) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  EXPECT_EQ(hex,
            "f3899ac20a03706b310a03706b321a0908001a0568656c6c6f1a0908011a05776f726c6487c22af1ed18e2"
            "92eb55b018413a3cff");
  auto back = aggregation::Decode(blob);
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), 2U);
  EXPECT_EQ((*back)[1].partition_key, "pk2");
  EXPECT_EQ((*back)[1].data, "world");
  EXPECT_FALSE(aggregation::Decode("plain data").has_value());
  blob[10] ^= 1;
  EXPECT_FALSE(aggregation::Decode(blob).has_value());  // MD5 mismatch: not an aggregate
}

TEST_F(ProducerTest, FullBufferFailsFastWhenAskedTo) {
  FaultyKinesis faulty(local_.service());
  faulty.fail_record_rate = 1.0;  // nothing completes quickly
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto opts = Options();
  opts.buffer_bytes = 1000;
  opts.overflow = OverflowPolicy::kFailFast;
  opts.record_ttl = std::chrono::milliseconds(300);
  auto producer = Producer::Create(client, opts);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  auto first = (*producer)->Put("k", std::string(900, 'x'));
  auto second = (*producer)->Put("k", std::string(900, 'x'));
  auto r2 = Await(second);
  EXPECT_EQ(r2.status.code(), Code::kLimitExceeded);
  EXPECT_FALSE(Await(first).status.ok());  // expired: throttled until its TTL
}

// Local failures have codes of their own (issue 14): a Flush that runs out of time is
// DeadlineExceeded (retriable: flushing again can succeed), not a service limit.
TEST_F(ProducerTest, FlushTimeoutIsDeadlineExceeded) {
  FaultyKinesis faulty(local_.service());
  faulty.fail_record_rate = 1.0;  // nothing completes while the flush waits
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto opts = Options();
  opts.record_ttl = std::chrono::seconds(30);
  auto producer = Producer::Create(client, opts);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  auto pending = (*producer)->Put("k", "v");
  const Status st = (*producer)->Flush(std::chrono::milliseconds(50));
  EXPECT_EQ(st.code(), Code::kDeadlineExceeded) << st.ToString();
  EXPECT_EQ(st.name(), "DeadlineExceeded");
  EXPECT_TRUE(st.retriable());
  faulty.fail_record_rate = 0;  // now it can be written
  EXPECT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  EXPECT_TRUE(pending.get().status.ok());
}

// A closed producer refuses records with FailedPrecondition (the call is valid, the
// producer's state is not), not InvalidArgument.
TEST_F(ProducerTest, PutAfterCloseIsFailedPrecondition) {
  auto producer = Producer::Create(local_.client(), Options());
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  const PutResult r = (*producer)->Put("k", "v").get();
  EXPECT_EQ(r.status.code(), Code::kFailedPrecondition) << r.status.ToString();
  EXPECT_FALSE(r.status.retriable());
}

// The stream is resharded while records are queued and one batch is in flight (held at the
// fake's gate). Nothing is lost or doubled, the producer reloads its shard map (ListShards
// counted through the fake), and once it has, its batches target one open shard each again.
TEST_F(ProducerTest, FollowsReshardingByReloadingTheShardMap) {
  FaultyKinesis faulty(local_.service());
  KinesisClient client(faulty, testing::LocalKinesisOptions::NoRetries());
  auto opts = Options();
  opts.max_in_flight = 1;  // one batch at the gate, the rest queued behind it
  auto producer = Producer::Create(client, opts);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  std::vector<std::future<PutResult>> futures;
  for (int i = 0; i < 200; ++i)  // the first map is loaded; these go out on it
    futures.push_back((*producer)->Put("k" + std::to_string(i), std::to_string(i)));
  for (auto& f : futures) ASSERT_TRUE(Await(f).status.ok());
  const int lists_before = faulty.list_shards_calls.load();
  ASSERT_GE(lists_before, 1);
  faulty.CloseGate();
  for (int i = 200; i < 1200; ++i)
    futures.push_back((*producer)->Put("k" + std::to_string(i), std::to_string(i)));
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (faulty.waiting_at_gate() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(faulty.waiting_at_gate(), 1) << "no batch in flight at the reshard";
  ASSERT_TRUE(local_.client().UpdateShardCount({{"p", std::nullopt}, 8, "UNIFORM_SCALING"}).ok());
  faulty.OpenGate();
  for (std::size_t i = 200; i < futures.size(); ++i) {
    auto r = Await(futures[i]);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  }
  // The stale map sent batches spanning two child shards; the producer must have noticed.
  EXPECT_GT(faulty.list_shards_calls.load(), lists_before) << "the shard map was never reloaded";
  // A later wave goes out on the reloaded map: one open shard per PutRecords call.
  const std::size_t calls_before = faulty.CallLog().size();
  for (int i = 1200; i < 2200; ++i)
    futures.push_back((*producer)->Put("k" + std::to_string(i), std::to_string(i)));
  for (std::size_t i = 1200; i < futures.size(); ++i) ASSERT_TRUE(Await(futures[i]).status.ok());
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());
  const auto log = faulty.CallLog();
  ASSERT_GT(log.size(), calls_before);
  for (std::size_t i = calls_before; i < log.size(); ++i)
    EXPECT_FALSE(log[i].second) << "PutRecords call " << i << " spans several shards";
  ExpectExactlyOnce(ReadAll(local_.client(), "p"), 2200);
}

// Simulated time for the producer: once opened, every wait of the dispatcher (made only
// while no PutRecords call is in flight) advances `clock` instead of sleeping. Until then
// waits block (for real, bounded) so that a test can queue its records first.
class SimulatedSleeper final : public Sleeper {
 public:
  explicit SimulatedSleeper(ManualClock& clock) : clock_(clock) {}
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void SleepFor(std::chrono::milliseconds d) override {
    {
      std::unique_lock lock(mu_);
      if (!open_) {
        cv_.wait_for(lock, std::chrono::seconds(60), [&] { return open_; });
        return;
      }
    }
    clock_.Advance(d.count());
    std::this_thread::yield();
  }

 private:
  ManualClock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Completion times per shard, in simulated milliseconds since the start.
struct Acks {
  std::mutex mu;
  std::map<std::string, std::vector<EpochMillis>> by_shard;
  std::size_t failed = 0, total = 0;
  EpochMillis last = 0;
};

Producer::Callback Record(Acks& acks, EpochMillis start) {
  return [&acks, start](const PutResult& r) {
    std::lock_guard lock(acks.mu);
    ++acks.total;
    if (!r.status.ok()) {
      ++acks.failed;
      return;
    }
    const EpochMillis at = r.attempts.back().at - start;
    acks.by_shard[r.shard_id].push_back(at);
    acks.last = std::max(acks.last, at);
  };
}

// Issue 12: 100,000 records to 4 shards under AWS's limits took 44,384 PutRecords calls
// (2.25 records per call): every token that trickled into a drained bucket released a
// batch. Batches must fill up instead: ~25 s (the limit) in a few hundred calls.
TEST(ProducerRateLimit, BatchesFillUpWhenTheRateLimitIsTheBottleneck) {
  ManualClock clock;
  testing::LocalKinesis local;
  ASSERT_TRUE(
      local.client().CreateStream({"r", 4, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  SimulatedSleeper sleeper(clock);
  ProducerOptions o;  // AWS's limits: 1000 records/s and 1 MiB/s per shard; linger 50 ms
  o.stream_name = "r";
  o.clock = &clock;
  o.sleeper = &sleeper;
  const EpochMillis start = clock.NowMillis();
  auto producer = Producer::Create(local.client(), o);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  Acks acks;
  constexpr int kRecords = 100'000;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE((*producer)
                    ->Put("k" + std::to_string(i), std::string(100, 'a' + i % 26), std::nullopt,
                          Record(acks, start))
                    .ok());
  }
  sleeper.Open();
  ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(120)).ok());
  const ProducerMetrics m = (*producer)->metrics();
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());

  std::lock_guard lock(acks.mu);
  EXPECT_EQ(acks.total, static_cast<std::size_t>(kRecords));
  EXPECT_EQ(acks.failed, 0U);
  EXPECT_EQ(m.records_put, static_cast<std::uint64_t>(kRecords));
  ASSERT_EQ(acks.by_shard.size(), 4U);
  std::size_t busiest = 0;
  for (auto& [shard, times] : acks.by_shard) {
    std::sort(times.begin(), times.end());
    busiest = std::max(busiest, times.size());
    // The limiter holds: the k-th record of a shard is written no earlier than the bucket
    // (1000 records, refilled at 1000/s) allows.
    for (std::size_t k = 0; k < times.size(); ++k) {
      ASSERT_LE(static_cast<EpochMillis>(k + 1), 1000 + times[k] + 1)
          << shard << " record " << k + 1 << " at " << times[k] << " ms";
    }
  }
  std::cout << "PutRecords calls: " << m.put_records_calls << ", simulated duration: " << acks.last
            << " ms, busiest shard: " << busiest << " records\n";
  EXPECT_GE(m.put_records_calls, 200U);  // 500 records per call at most
  EXPECT_LE(m.put_records_calls, 300U);  // batches fill up (the bug: 44,384)
  // Close to the limit: the busiest shard's records minus the initial burst, at 1000/s.
  EXPECT_GE(acks.last, static_cast<EpochMillis>(busiest) - 1000);
  EXPECT_LE(acks.last, static_cast<EpochMillis>(busiest) + 1000);
  EXPECT_GT(acks.last, 22'000);
  EXPECT_LT(acks.last, 27'000);
}

// Waiting for a full batch's budget must not delay a trickle: a record put after the
// bucket was drained leaves after `linger` (the budget for it alone has accrued by then),
// not once the budget for a full batch has.
TEST(ProducerRateLimit, ARecordAfterABurstLeavesAfterLingerNotAfterAFullBatchBudget) {
  ManualClock clock;
  testing::LocalKinesis local;
  ASSERT_TRUE(
      local.client().CreateStream({"r", 1, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  SimulatedSleeper sleeper(clock);
  ProducerOptions o;  // 1000 records/s per shard, linger 50 ms
  o.stream_name = "r";
  o.clock = &clock;
  o.sleeper = &sleeper;
  const EpochMillis start = clock.NowMillis();
  auto producer = Producer::Create(local.client(), o);
  ASSERT_TRUE(producer.ok());
  Acks acks;
  for (int i = 0; i < 1000; ++i) {  // drains the bucket
    ASSERT_TRUE(
        (*producer)->Put("k" + std::to_string(i), "x", std::nullopt, Record(acks, start)).ok());
  }
  sleeper.Open();
  ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  const EpochMillis put_at = clock.NowMillis() - start;
  EXPECT_LT(put_at, 50);  // the burst fitted the full bucket
  // No Flush now (it would send at once): the record must leave on its own.
  ASSERT_TRUE((*producer)->Put("late", "x", std::nullopt, Record(acks, start)).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    {
      std::lock_guard lock(acks.mu);
      if (acks.total == 1001) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the record was never sent";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::lock_guard lock(acks.mu);
  EXPECT_EQ(acks.failed, 0U);
  EXPECT_GE(acks.last - put_at, 50);   // waited for linger ...
  EXPECT_LE(acks.last - put_at, 150);  // ... not for 500 tokens (500 ms)
  EXPECT_EQ((*producer)->metrics().put_records_calls, 3U);
}

// Infinite rates disable the client-side limits (e.g. against `cinesis serve` without
// --throttle): 20,000 records to one shard go out in full batches without waiting for
// tokens.
TEST(ProducerRateLimit, InfiniteRatesDisableTheLimits) {
  ManualClock clock;
  testing::LocalKinesis local;
  ASSERT_TRUE(
      local.client().CreateStream({"r", 1, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  SimulatedSleeper sleeper(clock);
  ProducerOptions o;
  o.stream_name = "r";
  o.clock = &clock;
  o.sleeper = &sleeper;
  o.shard_records_per_second = std::numeric_limits<double>::infinity();
  o.shard_bytes_per_second = std::numeric_limits<double>::infinity();
  ASSERT_TRUE(Validate(o).ok());
  const EpochMillis start = clock.NowMillis();
  auto producer = Producer::Create(local.client(), o);
  ASSERT_TRUE(producer.ok());
  Acks acks;
  for (int i = 0; i < 20'000; ++i) {
    ASSERT_TRUE(
        (*producer)->Put("k" + std::to_string(i), "x", std::nullopt, Record(acks, start)).ok());
  }
  sleeper.Open();
  ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(60)).ok());
  const ProducerMetrics m = (*producer)->metrics();
  ASSERT_TRUE((*producer)->Close(std::chrono::seconds(5)).ok());  // callbacks have run
  std::lock_guard lock(acks.mu);
  EXPECT_EQ(acks.failed, 0U);
  EXPECT_EQ(acks.total, 20'000U);
  EXPECT_LT(acks.last, 1000);  // the limited producer needs 19 s for these
  EXPECT_LE(m.put_records_calls, 41U);
}

TEST(ProducerOptions, ValidationNamesTheBadOption) {
  ProducerOptions o;
  o.stream_name = "s";
  o.max_batch_records = 501;
  auto st = Validate(o);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("max_batch_records"), std::string::npos);
}

}  // namespace
}  // namespace cinesis
