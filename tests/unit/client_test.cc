// KinesisClient as a library user sees it (issue 14): a client over any KinesisService,
// fakes that override one call (ForwardingKinesisService), the named forms of the common
// calls, and the codes of local failures (WaitForActive, unknown service errors).
#include "cinesis/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "cinesis/service.h"
#include "cinesis/testing/local_kinesis.h"
#include "cinesis/version.h"
#include "client/wire_codec.h"
#include "common/base64.h"

namespace cinesis {
namespace {

// PutRecords refused; every other call reaches the target.
class RefusingPuts final : public ForwardingKinesisService {
 public:
  using ForwardingKinesisService::ForwardingKinesisService;
  Result<api::PutRecordsOutput> PutRecords(const api::PutRecordsInput&) override {
    ++refused;
    return Status(Code::kResourceNotFound, "refused by the fake");
  }
  int refused = 0;
};

TEST(ForwardingKinesisService, FakeOverridesOneCallTheRestReachTheTarget) {
  testing::LocalKinesis local;
  RefusingPuts fake(local.service());
  KinesisClient client(fake);
  ASSERT_TRUE(client.CreateStream("s", 1).ok());
  auto put = client.PutRecord("s", "k", "one");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto puts = client.PutRecords("s", {{.data = "two", .partition_key = "k"}});
  EXPECT_EQ(puts.status().code(), Code::kResourceNotFound);
  EXPECT_EQ(fake.refused, 1);
  // What went through is in the real (local) service.
  auto it =
      local.client().GetShardIterator("s", put->shard_id, api::ShardIteratorType::kTrimHorizon);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  auto got = local.client().GetRecords(it->shard_iterator);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->records.size(), 1U);
  EXPECT_EQ(got->records[0].data, "one");
}

// The named forms set the fields they name: partition key and data land where they belong,
// an explicit hash key routes, ListShards returns every shard.
TEST(KinesisClient, NamedFormsOfTheCommonCalls) {
  testing::LocalKinesis local;
  KinesisClient& client = local.client();
  ASSERT_TRUE(client.CreateStream("orders", 2).ok());
  auto summary = client.DescribeStreamSummary("orders");
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->stream_description_summary.open_shard_count, 2);

  auto shards = client.ListShards("orders");
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  ASSERT_EQ(shards->shards.size(), 2U);
  // The top of the hash range belongs to the second shard, whatever the key's MD5.
  const std::string top = shards->shards[1].hash_key_range.ending_hash_key;
  auto routed = client.PutRecord("orders", "customer-1", "payload", top);
  ASSERT_TRUE(routed.ok()) << routed.status().ToString();
  EXPECT_EQ(routed->shard_id, shards->shards[1].shard_id);
  auto batch = client.PutRecords(
      "orders", {{.data = "b1", .partition_key = "customer-2"},
                 {.data = "b2", .explicit_hash_key = top, .partition_key = "customer-3"}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->failed_record_count, 0);
  EXPECT_EQ(batch->records[1].shard_id, shards->shards[1].shard_id);

  auto it =
      client.GetShardIterator("orders", routed->shard_id, api::ShardIteratorType::kAtSequenceNumber,
                              routed->sequence_number);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  auto got = client.GetRecords(it->shard_iterator, 1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->records.size(), 1U);  // the limit applies
  EXPECT_EQ(got->records[0].partition_key, "customer-1");
  EXPECT_EQ(got->records[0].data, "payload");
  EXPECT_EQ(got->records[0].sequence_number, routed->sequence_number);

  ASSERT_TRUE(client.DeleteStream("orders").ok());
  local.Tick();
  EXPECT_EQ(client.DescribeStreamSummary("orders").status().code(), Code::kResourceNotFound);
}

// A service that answers ListShards one shard per page.
class OneShardPerPage final : public ForwardingKinesisService {
 public:
  using ForwardingKinesisService::ForwardingKinesisService;
  Result<api::ListShardsOutput> ListShards(const api::ListShardsInput& in) override {
    api::ListShardsInput page = in;
    page.max_results = 1;
    ++pages;
    return target().ListShards(page);
  }
  int pages = 0;
};

TEST(KinesisClient, NamedListShardsFollowsNextToken) {
  testing::LocalKinesis local;
  ASSERT_TRUE(local.client().CreateStream("s", 3).ok());
  OneShardPerPage paged(local.service());
  KinesisClient client(paged);
  auto shards = client.ListShards("s");
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  EXPECT_EQ(shards->shards.size(), 3U);
  EXPECT_FALSE(shards->next_token.has_value());
  EXPECT_GE(paged.pages, 3);
}

// Advances a ManualClock instead of sleeping.
class ClockSleeper final : public Sleeper {
 public:
  explicit ClockSleeper(ManualClock& clock) : clock_(clock) {}
  void SleepFor(std::chrono::milliseconds d) override { clock_.Advance(d.count()); }

 private:
  ManualClock& clock_;
};

TEST(KinesisClient, WaitForActiveTimeoutIsDeadlineExceeded) {
  ManualClock clock;
  ClockSleeper sleeper(clock);
  testing::LocalKinesisOptions options;
  options.clock = &clock;
  options.create_stream_ms = 10'000;  // CREATING for 10 s of the manual clock
  options.retry.clock = &clock;
  options.retry.sleeper = &sleeper;
  testing::LocalKinesis local(options);
  ASSERT_TRUE(local.client().CreateStream("s", 1).ok());
  const Status early = local.client().WaitForActive("s", std::chrono::seconds(1));
  EXPECT_EQ(early.code(), Code::kDeadlineExceeded) << early.ToString();
  EXPECT_TRUE(early.retriable());
  EXPECT_NE(early.message().find("did not become ACTIVE"), std::string::npos);
  EXPECT_TRUE(local.client().WaitForActive("s", std::chrono::seconds(60)).ok());
}

// Error answers the client does not know keep the server's words; unknown is not mistaken
// for AccessDenied (or anything else).
TEST(WireErrors, UnknownTypeIsUnknownWithTheWireName) {
  using client::wire::DecodeError;
  Status st = DecodeError(400, R"({"__type":"SomeNewException","message":"text"})");
  EXPECT_EQ(st.code(), Code::kUnknown);
  EXPECT_EQ(st.message(), "SomeNewException: text");
  EXPECT_FALSE(st.retriable());
  st = DecodeError(400, R"({"__type":"com.amazonaws.kinesis#SomeNewException","Message":"m"})");
  EXPECT_EQ(st.code(), Code::kUnknown);
  EXPECT_EQ(st.message(), "SomeNewException: m");
  st = DecodeError(404, "not json");
  EXPECT_EQ(st.code(), Code::kUnknown);
  EXPECT_EQ(st.message(), "HTTP 404: not json");
  // Known Kinesis errors and AWS common errors keep their codes.
  st = DecodeError(400, R"({"__type":"ResourceNotFoundException","message":"gone"})");
  EXPECT_EQ(st.code(), Code::kResourceNotFound);
  EXPECT_EQ(st.message(), "gone");
  st = DecodeError(403, R"({"__type":"UnrecognizedClientException","message":"bad key"})");
  EXPECT_EQ(st.code(), Code::kAccessDenied);
  EXPECT_EQ(st.message(), "UnrecognizedClientException: bad key");
  st = DecodeError(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  EXPECT_EQ(st.code(), Code::kLimitExceeded);
  EXPECT_TRUE(st.retriable());
  // A server failure stays retriable.
  st = DecodeError(503, R"({"__type":"SomeNewException","message":"busy"})");
  EXPECT_EQ(st.code(), Code::kInternalFailure);
  EXPECT_EQ(st.message(), "HTTP 503 SomeNewException: busy");
}

// DecodeGetRecords parses into arena blocks kept between answers (and shared by threads):
// answers of growing and shrinking sizes, decoded by several threads at once, each give
// their own records, and a block too small for an answer is only a first block.
std::string GetRecordsAnswer(int records, int tag) {
  std::string body = "{\"Records\":[";
  for (int i = 0; i < records; ++i) {
    if (i > 0) body += ',';
    // Data: Base64 of "t<tag>-<i>" padded with 'x' to 100 bytes.
    std::string data = "t" + std::to_string(tag) + "-" + std::to_string(i);
    data.resize(100, 'x');
    body += "{\"SequenceNumber\":\"" + std::to_string(1000000 + i) +
            "\",\"ApproximateArrivalTimestamp\":1.5,\"Data\":\"" + Base64Encode(data) +
            "\",\"PartitionKey\":\"k" + std::to_string(i) + "\"}";
  }
  body += "],\"NextShardIterator\":\"it-" + std::to_string(tag) + "\",\"MillisBehindLatest\":0}";
  return body;
}

TEST(WireDecode, GetRecordsAnswersOfAnySizeFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([t, &bad] {
      for (int round = 0; round < 12; ++round) {
        const int n = (round * 7 + t * 13) % 4 == 0 ? 3000 : 1 + (round * 131 + t * 17) % 700;
        const int tag = t * 100 + round;
        auto got = client::wire::DecodeGetRecords(GetRecordsAnswer(n, tag));
        if (!got.ok() || got->records.size() != static_cast<std::size_t>(n) ||
            got->next_shard_iterator != "it-" + std::to_string(tag)) {
          ++bad;
          continue;
        }
        for (int i = 0; i < n; ++i) {
          const auto& r = got->records[static_cast<std::size_t>(i)];
          std::string want = "t" + std::to_string(tag) + "-" + std::to_string(i);
          want.resize(100, 'x');
          if (r.data != want || r.partition_key != "k" + std::to_string(i) ||
              r.sequence_number != std::to_string(1000000 + i)) {
            ++bad;
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// The producer's answer is read by a scanner, not a JSON tree: every shape a valid answer
// can take decodes the same, and a damaged one is an error, never a crash.
TEST(WireDecode, PutRecordsAnswersInEveryShape) {
  using client::wire::DecodePutRecords;
  const std::string ok_answer =
      R"({"FailedRecordCount":1,"Records":[)"
      R"({"SequenceNumber":"49590338271490256608559692538361571095921575989136588898",)"
      R"("ShardId":"shardId-000000000001"},)"
      R"({"ErrorCode":"ProvisionedThroughputExceededException",)"
      R"("ErrorMessage":"Rate exceeded for shard shardId-000000000002 in stream s."}],)"
      R"("EncryptionType":"KMS"})";
  {
    auto got = DecodePutRecords(ok_answer);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->failed_record_count, 1);
    EXPECT_EQ(got->encryption_type, api::EncryptionType::kKms);
    ASSERT_EQ(got->records.size(), 2U);
    EXPECT_EQ(got->records[0].sequence_number,
              "49590338271490256608559692538361571095921575989136588898");
    EXPECT_EQ(got->records[0].shard_id, "shardId-000000000001");
    EXPECT_FALSE(got->records[0].error_code);
    EXPECT_FALSE(got->records[0].error_message);
    EXPECT_FALSE(got->records[1].sequence_number);
    EXPECT_FALSE(got->records[1].shard_id);
    EXPECT_EQ(got->records[1].error_code, "ProvisionedThroughputExceededException");
    EXPECT_EQ(got->records[1].error_message,
              "Rate exceeded for shard shardId-000000000002 in stream s.");
  }
  {
    // Whitespace everywhere, members in another order, unknown members of every type, a
    // null where a string may be, an entry that is not an object, escapes of every kind.
    auto got = DecodePutRecords(
        " \n{ \"Records\" :\t[ { \"Unknown\" : [1, -2.5e3, {\"x\": [true, false, null]}] ,\r\n"
        "  \"ShardId\" : \"shardId-\\u0030\" , \"SequenceNumber\" : null ,"
        "  \"ErrorMessage\" : \"a \\\"quoted\\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00\","
        "  \"ErrorCode\" : \"InternalFailure\" } , 7 , { } ] ,"
        " \"EncryptionType\" : \"NONE\" , \"Extra\" : {\"nested\": {\"deeper\": \"}]\"}},"
        " \"FailedRecordCount\" : 1 } \n");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->failed_record_count, 1);
    EXPECT_EQ(got->encryption_type, api::EncryptionType::kNone);
    ASSERT_EQ(got->records.size(), 3U);
    EXPECT_EQ(got->records[0].shard_id, "shardId-0");
    EXPECT_FALSE(got->records[0].sequence_number);
    EXPECT_EQ(got->records[0].error_code, "InternalFailure");
    EXPECT_EQ(got->records[0].error_message,
              "a \"quoted\" \\ / \b\f\n\r\t \xC3\xA9 \xF0\x9F\x98\x80");
    for (std::size_t i : {1U, 2U}) {
      EXPECT_FALSE(got->records[i].sequence_number) << i;
      EXPECT_FALSE(got->records[i].shard_id) << i;
      EXPECT_FALSE(got->records[i].error_code) << i;
      EXPECT_FALSE(got->records[i].error_message) << i;
    }
  }
  {
    auto empty = DecodePutRecords("");
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->records.empty());
    auto no_records = DecodePutRecords(R"({"FailedRecordCount":0,"Records":[]})");
    ASSERT_TRUE(no_records.ok());
    EXPECT_TRUE(no_records->records.empty());
  }
  // Damaged answers: every proper prefix of a valid one, and bodies broken in one place.
  for (std::size_t n = 1; n < ok_answer.size(); ++n) {
    EXPECT_EQ(DecodePutRecords(ok_answer.substr(0, n)).status().code(), Code::kCorruption) << n;
  }
  const std::vector<std::string> broken = {
      "[]",
      "null",
      "{}x",
      R"({"Records":[{"ShardId":"a"}})",
      R"({"Records":[{"ShardId":"a"},]})",
      R"({"Records":[{"ShardId" "a"}]})",
      R"({"Records":[{ShardId:"a"}]})",
      R"({"Records":[{"ShardId":"a\q"}]})",
      R"({"Records":[{"ShardId":"\u12"}]})",
      R"({"Records":[{"ShardId":"\ud800"}]})",
      R"({"Records":[{"ShardId":"\udc00x"}]})",
      "{\"Records\":[{\"ShardId\":\"a\x01\"}]}",
      R"({"FailedRecordCount":1.5,"Records":[]})",
      R"({"Extra":tru,"Records":[]})",
      R"({"Extra":-,"Records":[]})",
      std::string(10000, '[') + std::string(10000, ']'),
      "{\"Extra\":" + std::string(10000, '[') + std::string(10000, ']') + "}",
  };
  for (const auto& body : broken) {
    auto got = DecodePutRecords(body);
    EXPECT_EQ(got.status().code(), Code::kCorruption) << body.substr(0, 80);
  }
}

// The streaming GetRecords decoder gives what the tree decoder gives, for well-formed
// answers and for odd ones: escapes, fields of the wrong type, non-object records, nested
// keys of the same names, ChildShards (handed to the tree), bad Base64, broken JSON.
TEST(WireDecode, StreamingGetRecordsMatchesTheTreeDecoder) {
  const std::vector<std::string> bodies = {
      "",
      "{}",
      "{}  \n",
      "[]",
      "5",
      "\"x\"",
      "null",
      "{",
      "{} x",
      "{\"Records\":[]}",
      GetRecordsAnswer(3, 7),
      std::string(
          R"({"Records":[{"SequenceNumber":"1\u0032","Data":"eA\u003d\u003d","PartitionKey":"k\"q\u00e9",)") +
          R"("ApproximateArrivalTimestamp":1700000000.123}],"NextShardIterator":"a\/b",)" +
          R"("MillisBehindLatest":42})",
      std::string(
          R"({"Records":[5,"s",null,true,[{"Data":"eA=="}],{"SequenceNumber":7,"Data":{"x":"eA=="},)") +
          R"("PartitionKey":["k"],"ApproximateArrivalTimestamp":"1"},{"EncryptionType":"KMS",)" +
          R"("Data":"eA==","ApproximateArrivalTimestamp":1.5},{"EncryptionType":"NONE"}],)" +
          R"("NextShardIterator":null,"MillisBehindLatest":"3"})",
      R"({"Records":{"Data":"eA=="},"NextShardIterator":"n","MillisBehindLatest":1e3})",
      std::string(
          R"({"Other":{"Records":[{"Data":"eA=="}],"MillisBehindLatest":9},"Records":[{"Data":"eA==",)") +
          R"("Extra":{"Data":"!!","SequenceNumber":"9"}}],"NextShardIterator":"t"})",
      R"({"Records":[{"Data":"eA="}]})",
      R"({"Records":[{"Data":"e!=="}]})",
      std::string(R"({"Records":[],"ChildShards":[{"ShardId":"c","ParentShards":["p"],)") +
          R"("HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"}}],"MillisBehindLatest":0})",
      R"({"Records":[{"Data":"eA=="},)",
      R"({"Records":[{"Data":"eA=="}]]})",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    auto stream = client::wire::DecodeGetRecords(body);
    auto tree = client::wire::DecodeGetRecordsTree(body);
    ASSERT_EQ(stream.ok(), tree.ok()) << (stream.ok() ? tree : stream).status().ToString();
    if (!tree.ok()) {
      EXPECT_EQ(stream.status().ToString(), tree.status().ToString());
      continue;
    }
    EXPECT_EQ(stream->next_shard_iterator, tree->next_shard_iterator);
    EXPECT_EQ(stream->millis_behind_latest, tree->millis_behind_latest);
    EXPECT_EQ(stream->child_shards.has_value(), tree->child_shards.has_value());
    if (stream->child_shards && tree->child_shards) {
      EXPECT_EQ(stream->child_shards->size(), tree->child_shards->size());
    }
    ASSERT_EQ(stream->records.size(), tree->records.size());
    for (std::size_t i = 0; i < tree->records.size(); ++i) {
      const auto& a = stream->records[i];
      const auto& b = tree->records[i];
      EXPECT_EQ(a.sequence_number, b.sequence_number) << i;
      EXPECT_EQ(a.approximate_arrival_timestamp, b.approximate_arrival_timestamp) << i;
      EXPECT_EQ(a.data, b.data) << i;
      EXPECT_EQ(a.partition_key, b.partition_key) << i;
      EXPECT_EQ(a.encryption_type, b.encryption_type) << i;
    }
  }
  // And what the escapes mean (not only that both agree).
  auto got = client::wire::DecodeGetRecords(bodies[11]);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->records.size(), 1U);
  EXPECT_EQ(got->records[0].sequence_number, "12");
  EXPECT_EQ(got->records[0].data, "x");
  EXPECT_EQ(got->records[0].partition_key, "k\"q\xc3\xa9");
  EXPECT_EQ(got->records[0].approximate_arrival_timestamp, 1700000000123);
  EXPECT_EQ(got->next_shard_iterator, "a/b");
  EXPECT_EQ(got->millis_behind_latest, 42);
}

// Consumer readers hand each batch back (RecycleRecords) and the next answer on that thread
// is decoded into those records: every field is overwritten (nothing of the old record
// survives, whichever fields the new answer has), and the old buffers are reused.
TEST(WireDecode, RecycledRecordsAreOverwrittenWhole) {
  auto stale = [] {
    std::vector<api::Record> records(40);
    for (auto& r : records) {
      r.sequence_number = std::string(60, '9');
      r.approximate_arrival_timestamp = 123456789;
      r.data = std::string(1000, 'd');
      r.partition_key = std::string(40, 'p');
      r.encryption_type = api::EncryptionType::kKms;
    }
    return records;
  };
  const std::vector<std::string> bodies = {
      "{}",
      GetRecordsAnswer(3, 7),
      std::string(
          R"({"Records":[5,{"SequenceNumber":7,"Data":{"x":"eA=="},"PartitionKey":["k"]},)") +
          R"({"EncryptionType":"KMS","Data":"eA==","ApproximateArrivalTimestamp":1.5},{},)" +
          R"({"EncryptionType":"NONE"},{"Data":""},{"PartitionKey":""}],"MillisBehindLatest":1})",
      R"({"Records":[{"Data":"e!=="}]})",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    (void)client::wire::DecodeGetRecords("{}");  // the thread decodes: it keeps what it gets
    client::wire::RecycleRecords(stale());
    auto stream = client::wire::DecodeGetRecords(body);
    auto tree = client::wire::DecodeGetRecordsTree(body);
    ASSERT_EQ(stream.ok(), tree.ok());
    if (!tree.ok()) continue;
    ASSERT_EQ(stream->records.size(), tree->records.size());
    for (std::size_t i = 0; i < tree->records.size(); ++i) {
      const auto& a = stream->records[i];
      const auto& b = tree->records[i];
      EXPECT_EQ(a.sequence_number, b.sequence_number) << i;
      EXPECT_EQ(a.approximate_arrival_timestamp, b.approximate_arrival_timestamp) << i;
      EXPECT_EQ(a.data, b.data) << i;
      EXPECT_EQ(a.partition_key, b.partition_key) << i;
      EXPECT_EQ(a.encryption_type, b.encryption_type) << i;
      // Written into a recycled record's buffer (a new string would hold 15 bytes inline).
      EXPECT_GE(a.data.capacity(), 1000U) << i;
    }
  }
  // Recycled records wait for the next answer (one batch per thread, the larger kept).
  client::wire::RecycleRecords(stale());
  client::wire::RecycleRecords(std::vector<api::Record>(1));
  auto got = client::wire::DecodeGetRecords(GetRecordsAnswer(2, 1));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->records.size(), 2U);
  EXPECT_GE(got->records[1].data.capacity(), 1000U);
}

TEST(Version, MatchesTheHeader) { EXPECT_EQ(Version(), CINESIS_VERSION_STRING); }

}  // namespace
}  // namespace cinesis

namespace cinesis {
namespace {

TEST(LocalKinesis, ChecksRequestsAsTheServiceDoesOnTheWire) {
  // Regression: LocalKinesis handed unvalidated requests to the engine, so a ShardCount of
  // 0 (from C++, the C ABI or Python) killed the process with SIGFPE.
  cinesis::testing::LocalKinesis local;
  for (int count : {0, -1}) {
    Status st = local.client().CreateStream("s", count);
    EXPECT_EQ(st.code(), Code::kValidation) << count;
    EXPECT_EQ(st.message(),
              "1 validation error detected: Value '" + std::to_string(count) +
                  "' at 'shardCount' failed to satisfy constraint: Member must have value "
                  "greater than or equal to 1");
  }
  api::CreateStreamInput bad_name;
  bad_name.stream_name = std::string(200, 'x');
  bad_name.shard_count = 1;
  EXPECT_EQ(local.client().CreateStream(bad_name).code(), Code::kValidation);
  ASSERT_TRUE(local.client().CreateStream("s", 1).ok());
  auto put = local.client().PutRecord("s", "", "data");  // empty partition key
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kValidation);
}

}  // namespace
}  // namespace cinesis
