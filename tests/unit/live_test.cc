// Issue 18: the fault rules' draws (with a scripted random source, so "rate" is exact) and
// the per-shard metrics' 1-second history.
#include <gtest/gtest.h>

#include <deque>

#include "engine/metrics.h"
#include "server/live/faults.h"

namespace cinesis {
namespace {

using server::live::FaultRule;
using server::live::FaultRules;

// Returns the scripted values in turn (then 0.999: never below a rate < 1).
struct Script {
  std::deque<double> values;
  double operator()() {
    if (values.empty()) return 0.999;
    const double v = values.front();
    values.pop_front();
    return v;
  }
};

FaultRule Rule(std::string op, std::optional<std::string> stream, double rate) {
  auto r = FaultRules::Parse("operation=" + op + ",action=error,rate=" + std::to_string(rate) +
                             (stream ? ",stream=" + *stream : std::string()));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

TEST(FaultRules, RateIsTheChanceAgainstTheInjectedSource) {
  auto script = std::make_shared<Script>();
  script->values = {0.1, 0.9, 0.49, 0.5, 0.0};
  FaultRules rules([script] { return (*script)(); });
  rules.Add(Rule("PutRecord", "S", 0.5));
  std::vector<bool> fired;
  for (int i = 0; i < 5; ++i) fired.push_back(rules.Draw("PutRecord", "S").has_value());
  EXPECT_EQ(fired, (std::vector<bool>{true, false, true, false, true}));
}

TEST(FaultRules, OnlyTheNamedOperationAndStream) {
  FaultRules rules([] { return 0.0; });
  rules.Add(Rule("PutRecord", "S", 1.0));
  EXPECT_FALSE(rules.Draw("PutRecords", "S"));
  EXPECT_FALSE(rules.Draw("PutRecord", "T"));
  EXPECT_TRUE(rules.Draw("PutRecord", "S"));
  rules.Add(Rule("*", std::nullopt, 1.0));
  EXPECT_TRUE(rules.Draw("ListStreams", ""));
  rules.Clear();
  EXPECT_FALSE(rules.Draw("PutRecord", "S"));
}

TEST(FaultRules, CountLimitsTheHitsAndRemoveStopsThem) {
  FaultRules rules([] { return 0.0; });
  auto r =
      FaultRules::Parse(R"({"id":"c","operation":"GetRecords","action":"throttle","count":2})");
  ASSERT_TRUE(r.ok());
  rules.Add(*r);
  EXPECT_TRUE(rules.Draw("GetRecords", "S"));
  EXPECT_TRUE(rules.Draw("GetRecords", "S"));
  EXPECT_FALSE(rules.Draw("GetRecords", "S"));
  EXPECT_NE(rules.ToJson().find("\"injected\":2"), std::string::npos) << rules.ToJson();
  EXPECT_TRUE(rules.Remove("c"));
  EXPECT_TRUE(rules.empty());
}

TEST(FaultRules, ParseRefusesBadRules) {
  EXPECT_FALSE(FaultRules::Parse("operation=NoSuchOperation,action=error").ok());
  EXPECT_FALSE(FaultRules::Parse("operation=PutRecord,action=explode").ok());
  EXPECT_FALSE(FaultRules::Parse("operation=PutRecord,action=error,rate=1.5").ok());
  EXPECT_FALSE(FaultRules::Parse("action=error").ok());
  EXPECT_FALSE(FaultRules::Parse("operation=PutRecord,action=error,error=Teapot").ok());
}

TEST(ShardMetrics, SecondsOfHistoryOldestFirst) {
  engine::ShardMetrics m;
  m.Add(api::Metric::kIncomingRecords, 3);
  m.Roll(1000);
  m.Roll(1001);  // nothing in this second
  m.Add(api::Metric::kIncomingRecords, 5);
  m.Max(api::Metric::kIteratorAgeMilliseconds, 40);
  m.Max(api::Metric::kIteratorAgeMilliseconds, 7);
  m.Roll(1003);  // 1002 skipped by the tick: zero
  api::ShardMetricsSnapshot s;
  m.Snapshot(1003, 5, s);
  const auto in = static_cast<std::size_t>(api::Metric::kIncomingRecords);
  const auto age = static_cast<std::size_t>(api::Metric::kIteratorAgeMilliseconds);
  EXPECT_EQ(s.history[in], (std::vector<std::uint64_t>{0, 3, 0, 0, 5}));
  EXPECT_EQ(s.totals[in], 8u);
  EXPECT_EQ(s.history[age], (std::vector<std::uint64_t>{0, 0, 0, 0, 40}));
  // 15 minutes later the old seconds have left the window.
  m.Roll(1003 + api::kMetricHistorySeconds);
  m.Snapshot(1003 + api::kMetricHistorySeconds, api::kMetricHistorySeconds, s);
  std::uint64_t sum = 0;
  for (auto v : s.history[in]) sum += v;
  EXPECT_EQ(sum, 0u);
  EXPECT_EQ(s.totals[in], 8u);
}

}  // namespace
}  // namespace cinesis
