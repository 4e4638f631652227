// The pure parts of `cinesis put | tail | streams`: exit codes, the endpoint rule, --from and
// timestamps, the tail output template (apps/cinesis/cli_util.h).
#include "cli_util.h"

#include <gtest/gtest.h>

#include <map>

namespace cinesis::app {
namespace {

TEST(ExitCodes, OneCodePerClassOfFailure) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), kExitOk);
  EXPECT_EQ(ExitCodeFor(Status(Code::kValidation, "")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status(Code::kInvalidArgument, "")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status(Code::kResourceNotFound, "")), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(Status(Code::kAccessDenied, "")), kExitAccess);
  EXPECT_EQ(ExitCodeFor(Status(Code::kInvalidSignature, "")), kExitAccess);
  EXPECT_EQ(ExitCodeFor(Status(Code::kProvisionedThroughputExceeded, "")), kExitThrottled);
  EXPECT_EQ(ExitCodeFor(Status(Code::kLimitExceeded, "")), kExitThrottled);
  EXPECT_EQ(ExitCodeFor(Status(Code::kIoError, "")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(Status(Code::kInternalFailure, "")), kExitInternal);
  EXPECT_EQ(ExitCodeFor(Status(Code::kResourceInUse, "")), kExitInternal);
  const std::string help(ExitCodesHelp());
  for (const char* text : {"1 internal", "2 usage", "3 not found", "4 access", "5 throttled",
                           "6 endpoint unreachable", "130 interrupted"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text;
  }
}

std::map<std::string, std::string> g_env;
const char* FakeGetenv(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

TEST(Endpoint, FlagThenKinesisVariableThenGenericVariableThenLocal) {
  g_env.clear();
  EXPECT_EQ(ResolveEndpoint(std::nullopt, FakeGetenv), "http://127.0.0.1:4567");
  g_env["AWS_ENDPOINT_URL"] = "http://generic:1";
  EXPECT_EQ(ResolveEndpoint(std::nullopt, FakeGetenv), "http://generic:1");
  g_env["AWS_ENDPOINT_URL_KINESIS"] = "http://kinesis:2";
  EXPECT_EQ(ResolveEndpoint(std::nullopt, FakeGetenv), "http://kinesis:2");
  EXPECT_EQ(ResolveEndpoint(std::string("http://flag:3"), FakeGetenv), "http://flag:3");
  EXPECT_EQ(ResolveEndpoint(std::string(), FakeGetenv), "");  // empty flag: AWS itself
  g_env["AWS_ENDPOINT_URL_KINESIS"] = "";                     // empty variables are unset
  EXPECT_EQ(ResolveEndpoint(std::nullopt, FakeGetenv), "http://generic:1");
}

TEST(Timestamps, Iso8601AndEpochForms) {
  const EpochMillis t = 1'764'646'200'000;  // 2025-12-02T03:30:00Z
  EXPECT_EQ(ParseTimestamp("2025-12-02T03:30:00Z"), t);
  EXPECT_EQ(ParseTimestamp("2025-12-02T03:30:00.250Z"), t + 250);
  EXPECT_EQ(ParseTimestamp("2025-12-02T03:30:00.25"), t + 250);
  EXPECT_EQ(ParseTimestamp("2025-12-02 03:30:00"), t);
  EXPECT_EQ(ParseTimestamp("2025-12-02T04:30:00+01:00"), t);
  EXPECT_EQ(ParseTimestamp("2025-12-02T02:00:00-0130"), t);
  EXPECT_EQ(ParseTimestamp("2025-12-02T03:30Z"), t);
  EXPECT_EQ(ParseTimestamp("2025-12-02"), t - (3 * 3600 + 30 * 60) * 1000);
  EXPECT_EQ(ParseTimestamp("1764646200"), t);
  EXPECT_EQ(ParseTimestamp("1764646200.5"), t + 500);
  EXPECT_EQ(ParseTimestamp("1764646200123"), t + 123);  // 13 digits: milliseconds
  for (const char* bad : {"", "2025-13-01T00:00:00Z", "2025-02-30", "2025-12-02T25:00:00Z",
                          "2025-12-02T03:30:00Q", "yesterday", "17646462001234", "12.x"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
  EXPECT_EQ(FormatIso8601(t + 7), "2025-12-02T03:30:00.007Z");
  EXPECT_EQ(ParseTimestamp(FormatIso8601(t + 999)), t + 999);
}

TEST(StartFrom, NamesSequenceNumbersAndTimes) {
  EXPECT_EQ(ParseStartFrom("latest")->type, api::ShardIteratorType::kLatest);
  EXPECT_EQ(ParseStartFrom("trim-horizon")->type, api::ShardIteratorType::kTrimHorizon);
  const std::string seq(56, '4');
  auto s = ParseStartFrom(seq);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->type, api::ShardIteratorType::kAtSequenceNumber);
  EXPECT_EQ(s->sequence_number, seq);
  auto t = ParseStartFrom("1764646200");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->type, api::ShardIteratorType::kAtTimestamp);
  EXPECT_EQ(t->timestamp, 1'764'646'200'000);
  auto bad = ParseStartFrom("soon");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(OutputTemplate, FieldsAndEscapes) {
  api::Record r;
  r.partition_key = "key";
  r.sequence_number = "4959";
  r.approximate_arrival_timestamp = 1'764'646'200'250;
  r.data = "payload";
  auto t = OutputTemplate::Parse("%k|%s|%S|%T|%t|%d|%%|\\t\\\\\\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::string out;
  t->Render("shardId-000000000001", r, out);
  EXPECT_EQ(
      out, "key|shardId-000000000001|4959|1764646200250|2025-12-02T03:30:00.250Z|payload|%|\t\\\n");
  out.clear();
  auto nul = OutputTemplate::Parse("%d\\0");
  ASSERT_TRUE(nul.ok());
  nul->Render("s", r, out);
  EXPECT_EQ(out, std::string("payload\0", 8));
  for (const char* bad : {"%x", "%", "abc\\", "\\q"}) {
    auto p = OutputTemplate::Parse(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  }
}

TEST(ShardIds, NumbersBecomeShardIds) {
  EXPECT_EQ(NormalizeShardId("3"), "shardId-000000000003");
  EXPECT_EQ(NormalizeShardId("shardId-000000000012"), "shardId-000000000012");
}

}  // namespace
}  // namespace cinesis::app
