// The logging hook (cinesis/log.h): levels, the default, re-entrant sinks, and the
// messages the client and producer send through it.
#include "cinesis/log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "cinesis/producer.h"
#include "cinesis/testing/local_kinesis.h"

namespace cinesis {
namespace {

using namespace std::chrono_literals;

struct Line {
  LogLevel level;
  std::string component, message;
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kWarning);
    SetLogSink([this](LogLevel level, std::string_view component, std::string_view message) {
      std::lock_guard l(mu_);
      lines_.push_back({level, std::string(component), std::string(message)});
    });
  }
  void TearDown() override {
    SetLogSink(nullptr);
    SetLogLevel(LogLevel::kWarning);
  }
  std::vector<Line> Lines() {
    std::lock_guard l(mu_);
    return lines_;
  }
  std::mutex mu_;
  std::vector<Line> lines_;
};

TEST_F(LogTest, TheDefaultLevelIsWarningAndLevelsFilter) {
  SetLogSink(nullptr);
  EXPECT_EQ(GetLogLevel(), LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  SetUp();
  Log(LogLevel::kInfo, "consumer", "dropped");
  Log(LogLevel::kWarning, "consumer", "kept");
  SetLogLevel(LogLevel::kDebug);
  Log(LogLevel::kDebug, "client", "now kept");
  SetLogLevel(LogLevel::kOff);
  Log(LogLevel::kError, "client", "dropped too");
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0].message, "kept");
  EXPECT_EQ(lines[0].component, "consumer");
  EXPECT_EQ(lines[1].level, LogLevel::kDebug);
  EXPECT_EQ(LogLevelName(LogLevel::kWarning), "warning");
}

TEST_F(LogTest, ASinkMayLogAndReplaceItselfWithoutDeadlock) {
  int calls = 0;
  SetLogSink([&](LogLevel, std::string_view, std::string_view message) {
    ++calls;
    if (message == "outer") {
      Log(LogLevel::kError, "test", "inner");  // re-enters the hook
      SetLogSink(nullptr);                     // and replaces the running sink
    }
  });
  auto done = std::async(std::launch::async, [] { Log(LogLevel::kError, "test", "outer"); });
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready) << "the hook deadlocked";
  EXPECT_EQ(calls, 2);
}

// (Giving up after retries is checked against a dead endpoint in consumer_test.)
TEST_F(LogTest, TheClientDoesNotLogErrorsItDidNotRetry) {
  testing::LocalKinesisOptions lo;
  lo.retry.max_attempts = 3;
  lo.retry.base_delay = 1ms;
  lo.retry.max_delay = 1ms;
  testing::LocalKinesis local(lo);
  api::PutRecordInput in;
  in.stream.stream_name = "missing";
  in.data = "x";
  in.partition_key = "k";
  // Not retriable: returned at once, nothing to say.
  EXPECT_EQ(local.client().PutRecord(in).status().code(), Code::kResourceNotFound);
  EXPECT_TRUE(Lines().empty());
}

TEST_F(LogTest, TheProducerReportsRecordsThatFailedForGood) {
  testing::LocalKinesis local;
  ProducerOptions po;
  po.stream_name = "missing";
  po.linger = 1ms;
  po.record_ttl = 2s;
  auto producer = Producer::Create(local.client(), po);
  ASSERT_TRUE(producer.ok());
  auto f = (*producer)->Put("k", "v");
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(f.get().status.ok());
  EXPECT_TRUE((*producer)->Close(5s).ok());  // the failed record completed: nothing to wait for
  bool found = false;
  for (const auto& l : Lines()) {
    found = found || (l.component == "producer" && l.level == LogLevel::kWarning &&
                      l.message.find("failed permanently") != std::string::npos &&
                      l.message.find("missing") != std::string::npos);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace cinesis
