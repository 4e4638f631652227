// Example: unit-testing your own code against the in-process LocalKinesis — no server,
// no socket, and what your code writes can be read back.
#include "cinesis/testing/local_kinesis.h"

#include <gtest/gtest.h>

namespace {

// "User code": publishes order events, one record per order, keyed by customer.
class OrderPublisher {
 public:
  OrderPublisher(cinesis::KinesisClient& client, std::string stream)
      : client_(client), stream_(std::move(stream)) {}
  cinesis::Status Publish(const std::string& customer, const std::string& order_json) {
    auto r = client_.PutRecord(stream_, /*partition_key=*/customer, /*data=*/order_json);
    return r.ok() ? cinesis::Status::Ok() : r.status();
  }

 private:
  cinesis::KinesisClient& client_;
  std::string stream_;
};

TEST(OrderPublisher, WritesOneRecordPerOrderKeyedByCustomer) {
  cinesis::testing::LocalKinesis kinesis;
  auto& client = kinesis.client();
  ASSERT_TRUE(client.CreateStream("orders", /*shard_count=*/1).ok());

  OrderPublisher publisher(client, "orders");
  ASSERT_TRUE(publisher.Publish("alice", R"({"id":1})").ok());
  ASSERT_TRUE(publisher.Publish("bob", R"({"id":2})").ok());

  auto it = client.GetShardIterator("orders", "shardId-000000000000",
                                    cinesis::api::ShardIteratorType::kTrimHorizon);
  ASSERT_TRUE(it.ok());
  auto got = client.GetRecords(it->shard_iterator);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->records.size(), 2U);
  EXPECT_EQ(got->records[0].partition_key, "alice");
  EXPECT_EQ(got->records[1].data, R"({"id":2})");
}

TEST(OrderPublisher, ReportsTheServiceErrorWhenTheStreamIsMissing) {
  cinesis::testing::LocalKinesis kinesis;
  OrderPublisher publisher(kinesis.client(), "missing");
  auto st = publisher.Publish("alice", "{}");
  EXPECT_EQ(st.code(), cinesis::Code::kResourceNotFound);
  EXPECT_EQ(st.message(), "Stream missing under account 000000000000 not found.");
}

}  // namespace
