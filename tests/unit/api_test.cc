// The wire pipeline and model-driven validation, driven through api::HandleRequest with
// the real engine behind it (in-memory storage, manual clock).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "api/batch.h"
#include "api/cbor.h"
#include "api/codec.h"
#include "api/eventstream.h"
#include "api/model.h"
#include "api/operation_list.h"
#include "api/pipeline.h"
#include "api/validate.h"
#include "common/base64.h"
#include "engine/engine.h"

namespace cinesis {
namespace {

// A byte string from a literal that may contain NULs.
template <std::size_t N>
std::string Bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

constexpr char kAuth[] =
    "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kinesis/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc";

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : engine_(Options(), storage::NewMemoryStorage()) {}
  engine::EngineOptions Options() {
    engine::EngineOptions o;
    o.clock = &clock_;
    o.create_stream_ms = 0;
    o.delete_stream_ms = 0;
    return o;
  }

  api::WireResponse Call(std::string_view op, std::string_view body,
                         std::string_view content_type = "application/x-amz-json-1.1") {
    target_ = "Kinesis_20131202." + std::string(op);
    api::WireRequest r;
    r.method = "POST";
    r.target = target_;
    r.content_type = content_type;
    r.authorization = kAuth;
    r.has_amz_date = true;
    r.body = body;
    return api::HandleRequest(r, engine_);
  }
  // A ListStreams request without an Authorization header (the tests of CheckAuth add one).
  static api::WireRequest UnsignedListStreams() {
    api::WireRequest r;
    r.method = "POST";
    r.target = "Kinesis_20131202.ListStreams";
    r.content_type = "application/x-amz-json-1.1";
    r.body = "{}";
    return r;
  }
  static boost::json::object Json(const api::WireResponse& r) {
    return boost::json::parse(r.body).as_object();
  }
  static std::string Type(const api::WireResponse& r) {
    return std::string(Json(r).at("__type").as_string());
  }
  static std::string Message(const api::WireResponse& r) {
    auto o = Json(r);
    if (auto* m = o.if_contains("message")) return std::string(m->as_string());
    if (auto* m = o.if_contains("Message")) return std::string(m->as_string());
    return {};
  }

  ManualClock clock_;
  engine::Engine engine_;
  std::string target_;
};

TEST_F(PipelineTest, NonPostIsAccessDeniedXml) {
  api::WireRequest r;
  r.method = "GET";
  auto res = api::HandleRequest(r, engine_);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(res.body,
            "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be "
            "authorized</Message>\n</AccessDeniedException>\n");
}

TEST_F(PipelineTest, EmptyBodyIsSerializationForKnownTargetElseUnknownOperation) {
  auto res = Call("ListStreams", "");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, R"({"__type":"SerializationException"})");
  res = Call("NoSuchOp", "");
  EXPECT_EQ(res.body, R"({"__type":"UnknownOperationException"})");
}

TEST_F(PipelineTest, WrongContentTypeWithBodyIs404UnknownOperation) {
  auto res = Call("ListStreams", "{}", "text/plain");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, "<UnknownOperationException/>\n");
}

// Found by fuzz/api_json (fuzz/corpus/api_json/crash-base64-utf8): a blob with a non-ASCII
// character got an answer that was not valid JSON (half of the character was echoed).
TEST_F(PipelineTest, BadBase64WithNonAsciiCharacterAnswersValidJson) {
  auto res = Call("PutRecord",
                  "{\"StreamName\": \"s\", \"PartitionKey\": \"k\", \"Data\": "
                  "\"a000000000000\xd0\xbc"
                  "71469331446366257\"}");
  EXPECT_EQ(res.status, 400);
  boost::system::error_code ec;
  (void)boost::json::parse(res.body, ec);
  ASSERT_FALSE(ec) << res.body;
  EXPECT_EQ(Type(res), "SerializationException");
  EXPECT_NE(Message(res).find("Invalid Base64 character: '\xd0\xbc'"), std::string::npos)
      << Message(res);
}

TEST_F(PipelineTest, BodyThatIsNotAnObjectIsSerializationException) {
  for (std::string_view body : {"[]", "nul", "{\"a\":", "\"x\"", "12"}) {
    auto res = Call("ListStreams", body);
    EXPECT_EQ(res.status, 400) << body;
    EXPECT_EQ(res.body, R"({"__type":"SerializationException"})") << body;
  }
}

TEST_F(PipelineTest, DeeplyNestedJsonIsRejectedNotOverflowed) {
  std::string body = "{\"Limit\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto res = Call("ListStreams", body);
  EXPECT_EQ(res.status, 400);
}

TEST_F(PipelineTest, UnknownOperationAfterBodyParse) {
  auto res = Call("Nope", "{}");
  EXPECT_EQ(Type(res), "UnknownOperationException");
}

TEST_F(PipelineTest, AuthPresenceIsChecked) {
  api::WireRequest r = UnsignedListStreams();
  auto res = api::HandleRequest(r, engine_);
  EXPECT_EQ(Type(res), "MissingAuthenticationTokenException");
  EXPECT_EQ(Message(res), "Missing Authentication Token");

  r.authorization = "AWS4-HMAC-SHA256 Credential=a/b";
  res = api::HandleRequest(r, engine_);
  EXPECT_EQ(Type(res), "IncompleteSignatureException");
  EXPECT_EQ(
      Message(res),
      "Authorization header requires 'Signature' parameter. Authorization header requires "
      "'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' "
      "or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=a/b");

  r.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256";
  res = api::HandleRequest(r, engine_);
  EXPECT_EQ(Type(res), "InvalidSignatureException");
}

// CheckAuth looks only at Credential, Signature and SignedHeaders, and a repeated one counts
// with its last value (as the map it replaced did): an empty last Signature is missing.
TEST_F(PipelineTest, AuthParametersRepeatedCountWithTheirLastValue) {
  api::WireRequest r = UnsignedListStreams();
  r.has_amz_date = true;
  r.authorization =
      "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=abc,Signature=, Other=x";
  auto res = api::HandleRequest(r, engine_);
  EXPECT_EQ(Type(res), "IncompleteSignatureException");
  EXPECT_EQ(Message(res), "Authorization header requires 'Signature' parameter. Authorization=" +
                              std::string(*r.authorization));
  r.authorization = "AWS4-HMAC-SHA256 Signature=,Credential=a/b SignedHeaders=host Signature=x=y";
  res = api::HandleRequest(r, engine_);
  EXPECT_EQ(res.status, 200) << res.body;
}

// The separators are found eight bytes at a time: at every offset within a word, and at the
// end of the header, each parameter is still found or missed as before.
TEST_F(PipelineTest, AuthParametersAreFoundAtEveryOffset) {
  api::WireRequest r = UnsignedListStreams();
  r.has_amz_date = true;
  // `missing`: the parameter reported missing, or empty when the header passes.
  auto expect = [&](const std::string& h, std::string_view missing) {
    r.authorization = h;
    auto res = api::HandleRequest(r, engine_);
    if (missing.empty()) {
      EXPECT_EQ(res.status, 200) << h << res.body;
    } else {
      EXPECT_EQ(Message(res), "Authorization header requires '" + std::string(missing) +
                                  "' parameter. Authorization=" + h);
    }
  };
  for (std::size_t pad = 0; pad < 20; ++pad) {
    const std::string a(pad, 'a');
    expect("AWS4" + a + " Credential=" + a + "c,SignedHeaders=h" + a + ", Signature=s" + a, "");
    expect("AWS4" + a + ",,Credential=" + a + "c  SignedHeaders=h" + a + " Signature=" + a,
           pad == 0 ? "Signature" : "");
    expect("AWS4" + a + " Credential" + a + "=c,SignedHeaders=h, Signature=s",
           pad == 0 ? "" : "Credential");
  }
}

// The name pattern is matched without the regex engine: it must agree with the regex on
// every byte, and on the empty string.
TEST(ModelPattern, NameClassFastPathAgreesWithTheRegex) {
  const api::Shape* name = api::Model::Get().FindShape("StreamName");
  ASSERT_NE(name, nullptr);
  ASSERT_EQ(name->pattern.value_or(""), "[a-zA-Z0-9_.-]+");
  const boost::regex* re = name->Regex();
  ASSERT_NE(re, nullptr);
  const auto agree = [&](const std::string& s) {
    EXPECT_EQ(name->PatternMatches(s), boost::regex_match(s.begin(), s.end(), *re))
        << "for \"" << s << "\"";
  };
  agree("");
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    agree(one);
    agree("ab" + one);
    agree(one + "Z9");
  }
  agree("my-stream_1.x");
}

TEST_F(PipelineTest, TypeErrorsUseJavaTexts) {
  struct Case {
    std::string_view op, body, message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"CreateStream", R"({"StreamName":"a","ShardCount":"1"})",
            "class java.lang.String can not be converted to an Integer"},
           {"CreateStream", R"({"StreamName":true})",
            "class java.lang.Boolean can not be converted to an String"},
           {"CreateStream", R"({"StreamName":12})",
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to "
            "an String"},
           {"CreateStream", R"({"StreamName":{}})",
            "Start of structure or map found where not expected."},
           {"CreateStream", R"({"StreamName":[]})", "Start of list found where not expected"},
           {"PutRecords", R"({"Records":3})", "Expected list or null"},
           {"PutRecord", R"({"Data":"23456"})",
            "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple "
            "of 4 bytes but "
            "found: 5"},
           {"GetShardIterator", R"({"Timestamp":"x"})",
            "class java.lang.String can not be converted to milliseconds since epoch"},
       }) {
    auto res = Call(c.op, c.body);
    EXPECT_EQ(Type(res), "SerializationException") << c.body;
    EXPECT_EQ(Json(res).at("Message").as_string(), c.message) << c.body;
  }
}

TEST_F(PipelineTest, ValidationReportsEveryFailedConstraint) {
  auto res = Call("CreateStream", R"({"StreamName":"","ShardCount":0})");
  EXPECT_EQ(Type(res), "ValidationException");
  EXPECT_EQ(Message(res),
            "3 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: "
            "Member must "
            "satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '' at 'streamName' failed "
            "to satisfy "
            "constraint: Member must have length greater than or equal to 1; Value '0' at "
            "'shardCount' failed "
            "to satisfy constraint: Member must have value greater than or equal to 1");
}

TEST_F(PipelineTest, MissingRequiredMemberIsNotNull) {
  auto res = Call("GetRecords", "{}");
  EXPECT_EQ(Message(res),
            "1 validation error detected: Value null at 'shardIterator' failed to satisfy "
            "constraint: Member "
            "must not be null");
}

TEST_F(PipelineTest, NestedPathsAndEnums) {
  std::string body = R"({"StreamName":"s","Records":[{"PartitionKey":"","Data":""}]})";
  auto res = Call("PutRecords", body);
  EXPECT_EQ(
      Message(res),
      "1 validation error detected: Value '' at 'records.1.member.partitionKey' failed to satisfy "
      "constraint: Member must have length greater than or equal to 1");
  res = Call("GetShardIterator", R"({"StreamName":"s","ShardId":"0","ShardIteratorType":"X"})");
  EXPECT_EQ(Message(res),
            "1 validation error detected: Value 'X' at 'shardIteratorType' failed to satisfy "
            "constraint: Member "
            "must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, "
            "AT_SEQUENCE_NUMBER, "
            "TRIM_HORIZON]");
}

// Regression: a list of enum values (ShardLevelMetrics) took any string.
TEST_F(PipelineTest, AListOfEnumValuesChecksEachValue) {
  auto res = Call("EnableEnhancedMonitoring", R"({"StreamName":"s","ShardLevelMetrics":["Bad"]})");
  EXPECT_EQ(Type(res), "ValidationException");
  EXPECT_EQ(Message(res),
            "1 validation error detected: Value '[Bad]' at 'shardLevelMetrics' failed to satisfy "
            "constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
            "[IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, "
            "WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, "
            "IteratorAgeMilliseconds, ALL]]");
  res = Call("DisableEnhancedMonitoring",
             R"({"StreamName":"s","ShardLevelMetrics":["IncomingBytes","ALL","x"]})");
  EXPECT_EQ(Type(res), "ValidationException");
}

TEST_F(PipelineTest, AtMostTenValidationErrors) {
  std::string body = R"({"StreamName":"s","Records":[)";
  for (int i = 0; i < 20; ++i)
    body += std::string(i ? "," : "") + R"({"PartitionKey":"","Data":""})";
  body += "]}";
  auto res = Call("PutRecords", body);
  EXPECT_EQ(Message(res).rfind("10 validation errors detected: ", 0), 0U);
}

TEST_F(PipelineTest, EchoedValuesAreCutSoAHugeRequestGetsASmallAnswer) {
  // Regression: the echo of an offending value repeated it whole (a 30 MiB request got a
  // 650 MB answer). A 4 MiB stream name and a 200,000-entry Records list are cut to 32 KiB.
  auto res = Call("DescribeStream", R"({"StreamName":")" + std::string(4 << 20, 'a') + R"("})");
  EXPECT_EQ(res.status, 400);
  EXPECT_LT(res.body.size(), 40U * 1024);
  EXPECT_NE(Message(res).find(std::string(1000, 'a') + "..."), std::string::npos);
  std::string body = R"({"StreamName":"s","Records":[)";
  for (int i = 0; i < 200'000; ++i)
    body += std::string(i ? "," : "") + R"({"PartitionKey":"k","Data":""})";
  body += "]}";
  res = Call("PutRecords", body);
  EXPECT_EQ(res.status, 400);
  EXPECT_LT(res.body.size(), 40U * 1024);
  // A value within the service's limits is echoed whole: 501 records (~25 KB of text).
  body = R"({"StreamName":"s","Records":[)";
  for (int i = 0; i < 501; ++i)
    body += std::string(i ? "," : "") + R"({"PartitionKey":"k","Data":""})";
  body += "]}";
  res = Call("PutRecords", body);
  EXPECT_EQ(Message(res).find("..."), std::string::npos);
  EXPECT_NE(Message(res).find("Member must have length less than or equal to 500"),
            std::string::npos);
}

TEST_F(PipelineTest, NumbersAreTruncatedAndClampedAsTheServiceDoes) {
  auto res = Call("ListStreams", R"({"Limit":0.9})");
  EXPECT_EQ(Message(res),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
            "Member must have "
            "value greater than or equal to 1");
  res = Call("ListStreams", R"({"Limit":1e30})");
  EXPECT_EQ(Message(res),
            "1 validation error detected: Value '2147483647' at 'limit' failed to satisfy "
            "constraint: Member "
            "must have value less than or equal to 10000");
}

TEST_F(PipelineTest, UnknownMembersAndNullsAreIgnored) {
  auto res = Call("ListStreams", R"({"Whatever":1,"Limit":null})");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(Json(res).at("StreamNames").as_array().size(), 0U);
}

TEST_F(PipelineTest, OperationsWithoutOutputAnswerEmptyBody) {
  auto res = Call("CreateStream", R"({"StreamName":"s","ShardCount":1})");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "");
}

TEST_F(PipelineTest, OversizedRecordIsAValidationErrorWithTheRecordedText) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":1})").status, 200);
  const std::string data = Base64Encode(std::string((1 << 20) + 1, 'x'));
  auto res = Call("PutRecord", R"({"StreamName":"s","PartitionKey":"k","Data":")" + data + "\"}");
  EXPECT_EQ(Type(res), "ValidationException");
  EXPECT_EQ(
      Message(res),
      "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' "
      "at "
      "'data' failed to satisfy constraint: Member must have length less than or equal to 1048576");
  // The limit covers data plus partition key: 1 MiB in all is accepted, one byte more is not.
  const std::string fits = Base64Encode(std::string((1 << 20) - 1, 'x'));
  res = Call("PutRecord", R"({"StreamName":"s","PartitionKey":"k","Data":")" + fits + "\"}");
  EXPECT_EQ(res.status, 200) << res.body;
  res = Call("PutRecord", R"({"StreamName":"s","PartitionKey":"kk","Data":")" + fits + "\"}");
  EXPECT_EQ(Type(res), "InvalidArgumentException");
}

TEST_F(PipelineTest, NullListElementsAreRejectedNotDropped) {
  auto res = Call("PutRecords", R"({"StreamName":"s","Records":[null]})");
  EXPECT_EQ(Message(res),
            "1 validation error detected: Value null at 'records.1.member' failed to satisfy "
            "constraint: Member "
            "must not be null");
}

TEST_F(PipelineTest, CborRequestsGetCborAnswersWithByteStringsAndMillisecondTimestamps) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"c","ShardCount":1})").status, 200);
  // {"StreamName":"c","PartitionKey":"k","Data":h'00ff'} as an indefinite-length map.
  const std::string put = Bytes(
      "\xbf\x6aStreamName\x61"
      "c"
      "\x6cPartitionKey\x61k\x64"
      "Data\x42\x00\xff\xff");
  auto res = Call("PutRecord", put, "application/x-amz-cbor-1.1");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/x-amz-cbor-1.1");
  auto back = api::CborToJson(res.body);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->at("ShardId").as_string(), "shardId-000000000000");
  // GetShardIterator AT_TIMESTAMP with tag 1 (ms) = 1000 ms, then GetRecords.
  const std::string gsi = Bytes(
      "\xa4\x6aStreamName\x61"
      "c"
      "\x67ShardId\x74shardId-000000000000\x71ShardIteratorType\x6c"
      "AT_TIMESTAMP"
      "\x69Timestamp\xc1\x19\x03\xe8");
  res = Call("GetShardIterator", gsi, "application/x-amz-cbor-1.1");
  ASSERT_EQ(res.status, 200) << res.body;
  auto it = api::CborToJson(res.body);
  ASSERT_TRUE(it.ok());
  const std::string iterator(it->at("ShardIterator").as_string());
  boost::json::object req{{"ShardIterator", iterator}};
  res = Call("GetRecords", api::JsonToCbor(req, nullptr), "application/x-amz-cbor-1.1");
  ASSERT_EQ(res.status, 200);
  // Data comes back as a byte string (major type 2) and the arrival time as tag 1.
  EXPECT_NE(res.body.find(Bytes("\x64"
                                "Data\x42\x00\xff")),
            std::string::npos);
  EXPECT_NE(res.body.find(Bytes("ApproximateArrivalTimestamp\xc1")), std::string::npos);
  // Errors are CBOR maps too.
  res =
      Call("DescribeStream", api::JsonToCbor(boost::json::object{{"StreamName", "nope"}}, nullptr),
           "application/x-amz-cbor-1.1");
  EXPECT_EQ(res.status, 400);
  auto err = api::CborToJson(res.body);
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->at("__type").as_string(), "ResourceNotFoundException");
  // Garbage is a CBOR SerializationException.
  res = Call("ListStreams", "\xff\x00garbage", "application/x-amz-cbor-1.1");
  EXPECT_EQ(api::CborToJson(res.body)->at("__type").as_string(), "SerializationException");
}

// Issue 17: a 1 MB CBOR PutRecords of many invalid entries gets a small answer: each echoed
// value is cut at 32 KiB and the whole message at api::kMaxErrorMessageBytes.
TEST_F(PipelineTest, HugeInvalidRequestsGetSmallErrorAnswers) {
  // 20,000 entries {"PartitionKey": 52 bytes, "Data": h''} with a 40 KiB StreamName.
  std::string body = "\xa2\x6aStreamName\x79\xa0";
  body += '\0';
  body += std::string(40 * 1024, 'n');
  body += "\x67Records\x99\x4e\x20";
  const std::string entry = "\xa2\x6cPartitionKey\x78\x34" + std::string(52, 'k') +
                            "\x64"
                            "Data\x40";
  for (int i = 0; i < 20000; ++i) body += entry;
  ASSERT_GT(body.size(), 1'000'000U);
  auto res = Call("PutRecords", body, "application/x-amz-cbor-1.1");
  ASSERT_EQ(res.status, 400);
  auto err = api::CborToJson(res.body);
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->at("__type").as_string(), "ValidationException");
  EXPECT_LE(res.body.size(), api::kMaxErrorMessageBytes + 256);
  const std::string msg(err->at("message").as_string());
  // The Records list's echo is cut at 32 KiB; the whole message (which would go on with
  // the 40 KiB StreamName's) at 64 KiB.
  EXPECT_NE(msg.find("...' at 'records'"), std::string::npos) << msg.substr(0, 200);
  EXPECT_EQ(msg.size(), api::kMaxErrorMessageBytes + 3);
  EXPECT_EQ(msg.substr(msg.size() - 3), "...");
  // The same in JSON, with a 2 MiB invalid base64 blob (a SerializationException echo).
  res = Call("PutRecord", R"({"StreamName":"s","PartitionKey":"k","Data":")" +
                              std::string(2 << 20, '!') + "\"}");
  EXPECT_EQ(Type(res), "SerializationException");
  EXPECT_LT(res.body.size(), 40'000U);
}

// Issue 17 (recorded against AWS): a structure prints as its class name and hashCode(),
// which depends only on its content: PutRecordsRequestEntry {PartitionKey:"", Data:""}
// is @c965e310 in every request.
TEST_F(PipelineTest, StructuresPrintAContentHashAsAwsDoes) {
  std::string records;
  for (int i = 0; i < 501; ++i)
    records += std::string(i ? "," : "") + R"({"PartitionKey":"","Data":""})";
  const std::string body = R"({"StreamName":"s","Records":[)" + records + "]}";
  auto a = Call("PutRecords", body);
  const std::string msg = Message(a);
  EXPECT_NE(msg.find("Value '[com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310, "
                     "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310, "),
            std::string::npos)
      << msg.substr(0, 300);
  EXPECT_EQ(Message(Call("PutRecords", body)), msg);
  // Another content, another hash (Data "AA==" is one zero byte: ByteBuffer hash 31).
  auto b = Call("PutRecords", R"({"StreamName":"s","Records":[)" + records +
                                  R"(,{"PartitionKey":"","Data":"AA=="}]})");
  EXPECT_EQ(Message(b).find("PutRecordsRequestEntry@c965e310]"), std::string::npos);
}

// Issue 17 (recorded against AWS): Content-Type application/json only ever gets coral's
// envelope: 404 UnknownOperationException for a JSON object, 400 SerializationException
// otherwise, neither with a message member.
TEST_F(PipelineTest, PlainJsonContentTypeGetsCoralEnvelopesWithoutMessages) {
  auto res = Call("ListStreams", "{}", "application/json");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(
      res.body,
      R"({"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"})");
  res = Call("ListStreams", "not json", "application/json");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(
      res.body,
      R"({"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"})");
}

// Issue 17 (recorded against AWS): the stream tag limit is 50, the message still says 10.
TEST_F(PipelineTest, TooManyTagsSaysTenAsAwsDoes) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"t","ShardCount":1})").status, 200);
  auto tags = [](int from, int to) {
    std::string t;
    for (int i = from; i < to; ++i)
      t += (i > from ? "," : "") + ("\"k" + std::to_string(i) + "\":\"v\"");
    return R"({"StreamName":"t","Tags":{)" + t + "}}";
  };
  for (int i = 0; i < 50; i += 10) ASSERT_EQ(Call("AddTagsToStream", tags(i, i + 10)).status, 200);
  auto res = Call("AddTagsToStream", tags(50, 51));
  EXPECT_EQ(Type(res), "InvalidArgumentException");
  EXPECT_EQ(Message(res),
            "Failed to add tags to stream t under account 000000000000 because a given stream "
            "cannot have more than 10 tags associated with it.");
}

TEST(EventStream, InitialResponseMatchesTheReferenceVector) {
  // kinesis-behaviour.md §14: 104 bytes, decoded by botocore.
  const std::string msg = api::eventstream::Event("initial-response", "{}");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : msg) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  EXPECT_EQ(hex,
            "000000680000005"
            "64e681724"
            "0b3a6576656e742d7479706507"
            "0010696e697469616c2d726573706f6e7365"
            "0d3a636f6e74656e742d7479706507"
            "00106170706c69636174696f6e2f6a736f6e"
            "0d3a6d6573736167652d7479706507"
            "00056576656e74"
            "7b7d"
            "d591c62b");
  std::size_t used = 0;
  auto back = api::eventstream::Decode(msg, used);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(used, msg.size());
  EXPECT_EQ(back->Header(":event-type"), "initial-response");
  EXPECT_EQ(back->payload, "{}");
  std::string bad = msg;
  bad[20] ^= 1;
  EXPECT_FALSE(api::eventstream::Decode(bad, used).has_value());  // CRC mismatch
  EXPECT_FALSE(api::eventstream::Decode(msg.substr(0, 50), used).has_value());
}

TEST_F(PipelineTest, CorsPreflight) {
  api::WireRequest r;
  r.method = "OPTIONS";
  r.origin = "http://example";
  r.cors_request_headers = "x-amz-target";
  r.cors_request_method = "POST";
  // Not allowed by the transport (no --cors-origin): an ordinary OPTIONS, no CORS headers.
  auto res = api::HandleRequest(r, engine_);
  EXPECT_EQ(res.status, 403);
  for (auto& [k, v] : res.headers) EXPECT_NE(k, "Access-Control-Allow-Origin");
  r.cors_allow_origin = "http://example";
  res = api::HandleRequest(r, engine_);
  EXPECT_EQ(res.status, 200);
  bool allow_origin = false, vary = false;
  for (auto& [k, v] : res.headers) {
    allow_origin |= (k == "Access-Control-Allow-Origin" && v == "http://example");
    vary |= (k == "Vary" && v == "Origin");
  }
  EXPECT_TRUE(allow_origin);
  EXPECT_TRUE(vary);
}

TEST(DeferredAcks, RunCallsBackOnceAfterEveryWaitWithTheFirstError) {
  api::DeferredAcks acks;
  EXPECT_EQ(api::DeferredAcks::Current(), nullptr);
  {
    api::ScopedDeferredAcks scope(&acks);
    EXPECT_EQ(api::DeferredAcks::Current(), &acks);
  }
  EXPECT_EQ(api::DeferredAcks::Current(), nullptr);
  std::vector<std::function<void(Status)>> pending;
  for (int i = 0; i < 3; ++i) {
    acks.Add([&](std::function<void(Status)> done) { pending.push_back(std::move(done)); });
  }
  int calls = 0;
  Status result;
  acks.Run([&](Status st) {
    ++calls;
    result = st;
  });
  EXPECT_TRUE(acks.empty());
  ASSERT_EQ(pending.size(), 3U);
  pending[1](Status(Code::kInternalFailure, "Internal service failure."));
  pending[0](Status::Ok());
  EXPECT_EQ(calls, 0);
  pending[2](Status(Code::kIoError, "later"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.code(), Code::kInternalFailure);
  // Nothing registered: done at once.
  api::DeferredAcks none;
  none.Run([&](Status st) { calls += st.ok() ? 10 : 0; });
  EXPECT_EQ(calls, 11);
}

// PutRecord's answer, written as literal text between its values: exactly what the writer's
// Key and Plain calls wrote, alone and as an element of a list.
TEST(Codec, PutRecordAnswerText) {
  std::string out;
  api::JsonWriter w(out);
  api::Encode(w, api::PutRecordOutput{"shardId-000000000001", "4959", api::EncryptionType::kNone});
  EXPECT_EQ(out, R"({"ShardId":"shardId-000000000001","SequenceNumber":"4959"})");
  out.clear();
  api::JsonWriter list(out);
  list.BeginArray();
  api::Encode(list, api::PutRecordOutput{"shardId-000000000002", "1", api::EncryptionType::kKms});
  api::Encode(list, api::PutRecordOutput{"s", "2", api::EncryptionType::kNone});
  list.EndArray();
  EXPECT_EQ(out,
            R"([{"ShardId":"shardId-000000000002","SequenceNumber":"1","EncryptionType":"KMS"},)"
            R"({"ShardId":"s","SequenceNumber":"2"}])");
}

// ---- PutRecord without a JSON document (DecodePutRecordFast) ----------------------------

// `body` as the generic path takes it for operation `op`: parsed, through CheckTypes (which
// decodes blobs in place) and CheckConstraints; nothing when it rejects the body.
std::optional<boost::json::value> GenericDocument(std::string_view op, std::string_view body) {
  const api::Operation* o = api::Model::Get().FindOperation(op);
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  auto& obj = doc.get_object();
  if (!api::CheckTypes(*o->input, obj).ok() || !api::CheckConstraints(*o->input, obj).ok())
    return std::nullopt;
  return doc;
}

// The generic path's input for a PutRecord body (GenericDocument, then InvokeJson's
// decoding), or nothing when it rejects the body.
std::optional<api::PutRecordInput> GenericPutRecordInput(std::string_view body) {
  auto doc = GenericDocument("PutRecord", body);
  if (!doc) return std::nullopt;
  const auto& o = doc->get_object();
  auto str = [&](std::string_view k) -> std::optional<std::string> {
    if (auto* v = o.if_contains(k); v && v->is_string()) return std::string(v->get_string());
    return std::nullopt;
  };
  return api::PutRecordInput{{str("StreamName"), str("StreamARN")},
                             str("Data").value_or(""),
                             str("PartitionKey").value_or(""),
                             str("ExplicitHashKey"),
                             str("SequenceNumberForOrdering")};
}

void ExpectSameInput(const api::PutRecordInput& a, const api::PutRecordInput& b,
                     std::string_view body) {
  EXPECT_EQ(a.stream.stream_name, b.stream.stream_name) << body;
  EXPECT_EQ(a.stream.stream_arn, b.stream.stream_arn) << body;
  EXPECT_EQ(a.data, b.data) << body;
  EXPECT_EQ(a.partition_key, b.partition_key) << body;
  EXPECT_EQ(a.explicit_hash_key, b.explicit_hash_key) << body;
  EXPECT_EQ(a.sequence_number_for_ordering, b.sequence_number_for_ordering) << body;
}

const api::Shape& PutRecordShape() { return *api::Model::Get().FindOperation("PutRecord")->input; }

constexpr std::string_view kArn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

TEST(PutRecordFast, DecodesPlainBodiesAsTheGenericPathDoes) {
  api::PutRecordInput in;  // reused, as the pipeline reuses its per-thread input
  for (const std::string& body : std::vector<std::string>{
           std::string(R"({"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"k"})"),
           std::string(" \t\r\n{ \"PartitionKey\" : \"k k\" ,\n\"Data\":\"\" } \n"),
           std::string(R"({"Data":"AAEC/w==","PartitionKey":"0123456789abcdef0123",)"
                       R"("StreamARN":")") +
               std::string(kArn) + "\"}",
           std::string(R"({"StreamName":"s.x-_9","Data":"aGk=","PartitionKey":"~!@#$%^&*()'/",)"
                       R"("ExplicitHashKey":"340282366920938463463374607431768211455",)"
                       R"("SequenceNumberForOrdering":"0","StreamId":"abcdefghij0123456789-abc"})"),
           std::string(R"({"StreamName":"s","Data":")") + Base64Encode(std::string(3000, '\xff')) +
               R"(","PartitionKey":")" + std::string(256, 'p') + "\"}",
           std::string(R"({"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"k"})"),
       }) {
    auto generic = GenericPutRecordInput(body);
    ASSERT_TRUE(generic) << body;
    ASSERT_TRUE(api::DecodePutRecordFast(body, PutRecordShape(), in)) << body;
    ExpectSameInput(in, *generic, body);
  }
}

// Everything but the plain form is left to the generic path, which words the errors.
TEST(PutRecordFast, LeavesEveryOtherBodyToTheGenericPath) {
  const std::string data = R"("Data":"aGk=")";
  for (const std::string& body : std::vector<std::string>{
           // escapes, non-ASCII, control characters
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"a\"b"})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"\u0041"})",
           R"({"Stream\u004eame":"s",)" + data + R"(,"PartitionKey":"k"})",
           R"({"StreamName":"s",)" + data + ",\"PartitionKey\":\"\xc3\xa9\"}",
           R"({"StreamName":"s",)" + data + ",\"PartitionKey\":\"a\tb\"}",
           // duplicate and unknown members, nulls, other types
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k","PartitionKey":"j"})",
           R"({"StreamName":"s",)" + data + "," + data + R"(,"PartitionKey":"k"})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k","Other":"x"})",
           R"({"StreamName":null,)" + data + R"(,"PartitionKey":"k"})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":12})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":true})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":["k"]})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":{}})",
           R"({"StreamName":"s","Data":12,"PartitionKey":"k"})",
           // blobs that are not base64, too long for the model
           R"({"StreamName":"s","Data":"aGk","PartitionKey":"k"})",
           R"({"StreamName":"s","Data":"a=Gk","PartitionKey":"k"})",
           R"({"StreamName":"s","Data":"aGl=","PartitionKey":"k"})",
           R"({"StreamName":"s","Data":"a Gk","PartitionKey":"k"})",
           R"({"StreamName":"s","Data":")" + std::string(14 * 1024 * 1024, 'A') +
               R"(","PartitionKey":"k"})",
           // constraints: missing, empty, too long, patterns
           R"({"StreamName":"s",)" + data + "}",
           R"({"StreamName":"s","PartitionKey":"k"})",
           R"({"StreamName":"",)" + data + R"(,"PartitionKey":"k"})",
           R"({"StreamName":"a b",)" + data + R"(,"PartitionKey":"k"})",
           R"({"StreamName":")" + std::string(129, 's') + "\"," + data + R"(,"PartitionKey":"k"})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":""})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":")" + std::string(257, 'k') + "\"}",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k","ExplicitHashKey":"01"})",
           R"({"StreamName":"s",)" + data +
               R"(,"PartitionKey":"k","SequenceNumberForOrdering":"x"})",
           R"({"StreamARN":"arn:aws:s3:::b",)" + data + R"(,"PartitionKey":"k"})",
           R"({"StreamId":"x",)" + data + R"(,"PartitionKey":"k"})",
           // not one plain object
           "",
           "{}",
           "[]",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k",})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k"}x)",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k"}{})",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k")",
           R"({"StreamName":"s",)" + data + R"(,"PartitionKey":"k)",
           R"({"StreamName":"s",)" + data + R"( "PartitionKey":"k"})",
           R"({"StreamName" "s",)" + data + R"(,"PartitionKey":"k"})",
           R"({StreamName:"s",)" + data + R"(,"PartitionKey":"k"})",
           "\xef\xbb\xbf{\"StreamName\":\"s\"," + data + R"(,"PartitionKey":"k"})",
       }) {
    api::PutRecordInput in;
    EXPECT_FALSE(api::DecodePutRecordFast(body, PutRecordShape(), in)) << body.substr(0, 200);
  }
}

// Every truncation of a plain body, and every byte of it replaced by characters that matter to
// JSON: what the fast decoder accepts, the generic path accepts with the same input.
TEST(PutRecordFast, AcceptsOnlyWhatTheGenericPathAcceptsAndDecodesTheSame) {
  const std::string body =
      R"({"StreamName":"s1","Data":"aGVsbG8gd29ybGQ=","PartitionKey":"0123456789abcdef",)"
      R"("ExplicitHashKey":"12","SequenceNumberForOrdering":"5"})";
  api::PutRecordInput in;
  int accepted = 0;
  auto check = [&](const std::string& b) {
    const bool fast = api::DecodePutRecordFast(b, PutRecordShape(), in);
    auto generic = GenericPutRecordInput(b);
    if (fast) {
      ++accepted;
      ASSERT_TRUE(generic) << b;
      ExpectSameInput(in, *generic, b);
    }
  };
  for (std::size_t n = 0; n <= body.size(); ++n) check(body.substr(0, n));
  for (std::size_t i = 0; i < body.size(); ++i) {
    for (char c : std::string_view("\"\\{}[]:, \t\n\x01\x7f\x80=+/Aa0-.")) {
      std::string b = body;
      b[i] = c;
      check(b);
      b.insert(i, 1, c);
      check(b);
    }
  }
  EXPECT_GT(accepted, 100);
}

// Random bodies from JSON fragments (members known, unknown and repeated; values of every type,
// strings with escapes and odd characters; stray punctuation): whatever the fast decoder
// accepts, the generic path accepts with the same input.
TEST(PutRecordFast, RandomBodiesAreAcceptedOnlyAsTheGenericPathAcceptsThem) {
  const std::vector<std::string> keys = {"StreamName",
                                         "Data",
                                         "PartitionKey",
                                         "ExplicitHashKey",
                                         "SequenceNumberForOrdering",
                                         "StreamARN",
                                         "StreamId",
                                         "Other",
                                         "data",
                                         "Data ",
                                         "PartitionKey\\u0000"};
  const std::vector<std::string> values = {R"("s")",
                                           R"("aGk=")",
                                           R"("aGVsbG8=")",
                                           R"("")",
                                           R"("k")",
                                           R"("0")",
                                           R"("12")",
                                           R"("01")",
                                           R"("aGk")",
                                           R"("a\u0047k=")",
                                           "null",
                                           "12",
                                           "true",
                                           "[]",
                                           "{}",
                                           R"("a b")",
                                           R"("a/b+")",
                                           R"("AAAA")",
                                           R"("===")",
                                           "\"\x7f\"",
                                           "\"\xc3\xa9\"",
                                           "\"\t\"",
                                           R"("x\"")",
                                           "\"" + std::string(kArn) + "\"",
                                           R"("abcdefghij0123456789-abc")"};
  const std::vector<std::string> glue = {"", " ", ",", ":", "{", "}", "\n", ",,", "\""};
  std::uint64_t x = 0x853c49e6748fea9bULL;
  auto next = [&](std::size_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((x >> 33) % n);
  };
  api::PutRecordInput in;
  int accepted = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::string body = next(8) == 0 ? " {" : "{";
    // Half of them start with the two required members, so that many pass.
    const bool required = next(2) == 0;
    if (required) body += R"("Data":"aGVsbG8=","PartitionKey":"k")";
    const std::size_t members = next(6);
    for (std::size_t m = 0; m < members; ++m) {
      if (m || required) body += next(10) == 0 ? glue[next(glue.size())] : ",";
      body += "\"" + keys[next(next(2) ? 3 : keys.size())] + "\"";
      body += next(10) == 0 ? glue[next(glue.size())] : ":";
      body += values[next(next(2) ? 5 : values.size())];
    }
    body += next(10) == 0 ? glue[next(glue.size())] : "}";
    const bool fast = api::DecodePutRecordFast(body, PutRecordShape(), in);
    if (!fast) continue;
    ++accepted;
    auto generic = GenericPutRecordInput(body);
    ASSERT_TRUE(generic) << body;
    ExpectSameInput(in, *generic, body);
  }
  EXPECT_GT(accepted, 5000);
}

// ---- PutRecords without a JSON document (DecodePutRecordsFast) --------------------------

struct PutRecordsDecoded {
  std::optional<std::string> stream_name, stream_arn;
  // Data, PartitionKey, ExplicitHashKey of each record.
  std::vector<std::tuple<std::string, std::string, std::optional<std::string>>> records;
  bool operator==(const PutRecordsDecoded&) const = default;
};

// The generic path's input for a PutRecords body (GenericDocument, then what InvokeJson hands
// the engine), or nothing when it rejects the body.
std::optional<PutRecordsDecoded> GenericPutRecordsInput(std::string_view body) {
  auto doc = GenericDocument("PutRecords", body);
  if (!doc) return std::nullopt;
  const auto& o = doc->get_object();
  auto str = [](const boost::json::object& obj, std::string_view k) -> std::optional<std::string> {
    if (auto* v = obj.if_contains(k); v && v->is_string()) return std::string(v->get_string());
    return std::nullopt;
  };
  PutRecordsDecoded out{str(o, "StreamName"), str(o, "StreamARN"), {}};
  for (const auto& e : o.at("Records").get_array()) {
    const auto& r = e.get_object();
    out.records.emplace_back(str(r, "Data").value_or(""), str(r, "PartitionKey").value_or(""),
                             str(r, "ExplicitHashKey"));
  }
  return out;
}

PutRecordsDecoded FromFast(const api::PutRecordsFastInput& in) {
  PutRecordsDecoded out{in.views.stream.stream_name, in.views.stream.stream_arn, {}};
  for (const auto& r : in.views.records) {
    std::optional<std::string> ehk;
    if (r.explicit_hash_key) ehk = std::string(*r.explicit_hash_key);
    out.records.emplace_back(std::string(r.data), std::string(r.partition_key), ehk);
  }
  return out;
}

const api::Shape& PutRecordsShape() {
  return *api::Model::Get().FindOperation("PutRecords")->input;
}

// What the fast decoder accepts the generic path accepts, with the same input.
void ExpectFastAsGeneric(std::string_view body, api::PutRecordsFastInput& in, int* accepted) {
  if (!api::DecodePutRecordsFast(body, PutRecordsShape(), in)) return;
  ++*accepted;
  auto generic = GenericPutRecordsInput(body);
  ASSERT_TRUE(generic) << body.substr(0, 300);
  EXPECT_EQ(FromFast(in), *generic) << body.substr(0, 300);
}

std::string Entry(std::string_view data_b64, std::string_view key,
                  std::optional<std::string_view> hash = std::nullopt) {
  std::string e =
      R"({"Data":")" + std::string(data_b64) + R"(","PartitionKey":")" + std::string(key) + "\"";
  if (hash) e += R"(,"ExplicitHashKey":")" + std::string(*hash) + "\"";
  return e + "}";
}

TEST(PutRecordsFast, DecodesPlainBodiesAsTheGenericPathDoes) {
  std::string many = R"({"StreamName":"s","Records":[)";
  for (int i = 0; i < 500; ++i) {
    if (i) many += ",";
    many += Entry(Base64Encode("record-" + std::to_string(i)), "k" + std::to_string(i % 7));
  }
  many += "]}";
  api::PutRecordsFastInput in;  // reused, as the pipeline reuses its per-thread input
  for (const std::string& body : std::vector<std::string>{
           R"({"StreamName":"s","Records":[)" + Entry("aGVsbG8=", "k") + "]}",
           " \t{ \"Records\" : [ " + Entry("", "k k") + " ,\n" + Entry("AAEC/w==", "~!@#$%^&*()") +
               " ] ,\"StreamARN\":\"" + std::string(kArn) + "\" } \n",
           R"({"Records":[)" + Entry("aGk=", "p", "340282366920938463463374607431768211455") + "," +
               R"({"PartitionKey":"q","ExplicitHashKey":"0","Data":"aGk="})" +
               R"(],"StreamName":"s.x-_9","StreamId":"abcdefghij0123456789-abc"})",
           R"({"StreamName":"s","Records":[)" +
               Entry(Base64Encode(std::string(3000, '\xff')), std::string(256, 'p')) + "]}",
           many,
           R"({"StreamName":"s","Records":[)" + Entry("aGVsbG8=", "k") + "]}",
       }) {
    auto generic = GenericPutRecordsInput(body);
    ASSERT_TRUE(generic) << body.substr(0, 300);
    ASSERT_TRUE(api::DecodePutRecordsFast(body, PutRecordsShape(), in)) << body.substr(0, 300);
    EXPECT_EQ(FromFast(in), *generic) << body.substr(0, 300);
  }
  EXPECT_EQ(in.views.records.size(), 1U);
}

// Everything but the plain form is left to the generic path, which words the errors.
TEST(PutRecordsFast, LeavesEveryOtherBodyToTheGenericPath) {
  const std::string ok = Entry("aGk=", "k");
  std::string too_many = R"({"StreamName":"s","Records":[)";
  for (int i = 0; i < 501; ++i) too_many += (i ? "," : "") + ok;
  too_many += "]}";
  auto with = [](const std::string& entries) {
    return R"({"StreamName":"s","Records":[)" + entries + "]}";
  };
  for (const std::string& body : std::vector<std::string>{
           // escapes, non-ASCII, control characters, in the entry and outside
           with(R"({"Data":"aGk=","PartitionKey":"a\"b"})"),
           with(R"({"Data":"aGk=","PartitionKey":"\u0041"})"),
           with(R"({"D\u0061ta":"aGk=","PartitionKey":"k"})"),
           with("{\"Data\":\"aGk=\",\"PartitionKey\":\"\xc3\xa9\"}"),
           with("{\"Data\":\"aGk=\",\"PartitionKey\":\"a\tb\"}"),
           R"({"Stream\u004eame":"s","Records":[)" + ok + "]}",
           // duplicate and unknown members, nulls, other types
           with(R"({"Data":"aGk=","PartitionKey":"k","PartitionKey":"j"})"),
           with(R"({"Data":"aGk=","Data":"aGk=","PartitionKey":"k"})"),
           with(R"({"Data":"aGk=","PartitionKey":"k","Other":"x"})"),
           with(R"({"Data":"aGk=","PartitionKey":null})"),
           with(R"({"Data":"aGk=","PartitionKey":12})"),
           with(R"({"Data":12,"PartitionKey":"k"})"),
           with(R"({"Data":"aGk=","PartitionKey":"k","ExplicitHashKey":null})"),
           with("null"),
           with("12"),
           with(R"("x")"),
           with("[]"),
           R"({"StreamName":"s","Records":[)" + ok + R"(],"Records":[)" + ok + "]}",
           R"({"StreamName":"s","Records":[)" + ok + R"(],"Other":"x"})",
           R"({"StreamName":null,"Records":[)" + ok + "]}",
           R"({"StreamName":"s","Records":{}})",
           R"({"StreamName":"s","Records":null})",
           R"({"StreamName":"s","Records":")" + ok + "\"}",
           // blobs that are not base64, too long for the model
           with(Entry("aGk", "k")),
           with(Entry("a=Gk", "k")),
           with(Entry("aGl=", "k")),
           with(Entry("a Gk", "k")),
           with(Entry(std::string(14 * 1024 * 1024, 'A'), "k")),
           // constraints: missing, empty, too long, patterns, count
           R"({"StreamName":"s"})",
           R"({"StreamName":"s","Records":[]})",
           too_many,
           with(R"({"PartitionKey":"k"})"),
           with(R"({"Data":"aGk="})"),
           with("{}"),
           with(Entry("aGk=", "")),
           with(Entry("aGk=", std::string(257, 'k'))),
           with(Entry("aGk=", "k", "01")),
           with(Entry("aGk=", "k", "x")),
           with(ok + "," + Entry("aGk=", "")),
           R"({"StreamName":"","Records":[)" + ok + "]}",
           R"({"StreamName":"a b","Records":[)" + ok + "]}",
           R"({"StreamName":")" + std::string(129, 's') + R"(","Records":[)" + ok + "]}",
           R"({"StreamARN":"arn:aws:s3:::b","Records":[)" + ok + "]}",
           R"({"StreamId":"x","Records":[)" + ok + "]}",
           // not one plain object
           "",
           "{}",
           "[]",
           with(ok + ","),
           with(ok) + "x",
           with(ok) + "{}",
           R"({"StreamName":"s","Records":[)" + ok + "]",
           R"({"StreamName":"s","Records":[)" + ok,
           R"({"StreamName":"s","Records":[)" + ok.substr(0, ok.size() - 1),
           R"({"StreamName":"s","Records":[)" + ok + "],}",
           R"({"StreamName":"s" "Records":[)" + ok + "]}",
           R"({StreamName:"s","Records":[)" + ok + "]}",
           "\xef\xbb\xbf" + with(ok),
       }) {
    api::PutRecordsFastInput in;
    EXPECT_FALSE(api::DecodePutRecordsFast(body, PutRecordsShape(), in)) << body.substr(0, 200);
  }
}

// Every truncation of a plain body, and every byte of it replaced by (or with an insertion of)
// characters that matter to JSON: what the fast decoder accepts, the generic path accepts with
// the same input.
TEST(PutRecordsFast, AcceptsOnlyWhatTheGenericPathAcceptsAndDecodesTheSame) {
  const std::string body = R"({"StreamName":"s1","Records":[)" + Entry("aGVsbG8=", "0123") + "," +
                           Entry("aGk=", "k", "12") + R"(],"StreamId":"abcdefghij0123456789-abc"})";
  api::PutRecordsFastInput in;
  int accepted = 0;
  for (std::size_t n = 0; n <= body.size(); ++n)
    ExpectFastAsGeneric(body.substr(0, n), in, &accepted);
  for (std::size_t i = 0; i < body.size(); ++i) {
    for (char c : std::string_view("\"\\{}[]:, \t\n\x01\x7f\x80=+/Aa0-.")) {
      std::string b = body;
      b[i] = c;
      ExpectFastAsGeneric(b, in, &accepted);
      b.insert(i, 1, c);
      ExpectFastAsGeneric(b, in, &accepted);
    }
  }
  EXPECT_GT(accepted, 100);
}

// Random bodies from JSON fragments (members known, unknown and repeated, at both levels;
// values of every type; stray punctuation): whatever the fast decoder accepts, the generic
// path accepts with the same input.
TEST(PutRecordsFast, RandomBodiesAreAcceptedOnlyAsTheGenericPathAcceptsThem) {
  const std::vector<std::string> top_keys = {"Records", "StreamName", "StreamARN", "StreamId",
                                             "Other",   "records",    "Records "};
  const std::vector<std::string> entry_keys = {"Data",  "PartitionKey", "ExplicitHashKey",
                                               "Other", "data",         "StreamName"};
  const std::vector<std::string> values = {
      R"("s")",       R"("aGk=")", R"("")",
      R"("k")",       R"("0")",    R"("12")",
      R"("01")",      R"("aGk")",  "null",
      "12",           "true",      "[]",
      "{}",           R"("a b")",  R"("===")",
      "\"\xc3\xa9\"", R"("x\"")",  "\"" + std::string(kArn) + "\""};
  const std::vector<std::string> glue = {"", " ", ",", ":", "{", "}", "[", "]", "\n", "\""};
  std::uint64_t x = 0x2545f4914f6cdd1dULL;
  auto next = [&](std::size_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((x >> 33) % n);
  };
  auto sep = [&](const char* usual) { return next(12) == 0 ? glue[next(glue.size())] : usual; };
  auto entry = [&] {
    std::string e = "{";
    const bool required = next(3) != 0;
    if (required) e += R"("Data":"aGk=","PartitionKey":"k")";
    const std::size_t members = next(3);
    for (std::size_t m = 0; m < members; ++m) {
      if (m || required) e += sep(",");
      e += "\"" + entry_keys[next(next(2) ? 3 : entry_keys.size())] + "\"" + sep(":");
      e += values[next(next(2) ? 7 : values.size())];
    }
    return e + sep("}");
  };
  api::PutRecordsFastInput in;
  int accepted = 0;
  for (int i = 0; i < 100'000; ++i) {
    std::string body = next(8) == 0 ? " {" : "{";
    // Half of them start with a plain Records member, so that many pass.
    const bool plain = next(2) == 0;
    if (plain) body += R"("Records":[{"Data":"aGk=","PartitionKey":"k"}])";
    const std::size_t members = plain ? next(3) : 1 + next(3);
    for (std::size_t m = 0; m < members; ++m) {
      if (m || plain) body += sep(",");
      const std::string& key = top_keys[next(next(2) ? 2 : top_keys.size())];
      body += "\"" + key + "\"" + sep(":");
      if (key == "Records" && next(8) != 0) {
        body += "[";
        const std::size_t n = next(4);
        for (std::size_t k = 0; k < n; ++k) body += (k ? sep(",") : "") + entry();
        body += sep("]");
      } else {
        body += values[next(values.size())];
      }
    }
    body += sep("}");
    ExpectFastAsGeneric(body, in, &accepted);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(accepted, 5000);
}

// Through the pipeline: a body the fast decoder leaves gets the generic path's answer, byte for
// byte (errors) or is accepted as it accepts it; a plain one is stored as the generic path would
// store it.
TEST_F(PipelineTest, PutRecordBodiesLeftToTheGenericPathGetItsAnswers) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":1})").status, 200);
  const api::Operation* op = api::Model::Get().FindOperation("PutRecord");
  // The generic path's error answer for `body` (JSON 1.1), or nothing when it accepts it.
  auto generic_error = [&](std::string_view body) -> std::optional<api::WireResponse> {
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    if (ec || !doc.is_object())
      return api::ErrorResponse(Status(Code::kSerialization, ""), "application/x-amz-json-1.1");
    auto& o = doc.get_object();
    Status st = api::CheckTypes(*op->input, o);
    if (st.ok()) st = api::CheckConstraints(*op->input, o);
    if (st.ok()) {
      std::string out;
      st = api::InvokeJson("PutRecord", o, engine_, out);
    }
    if (st.ok()) return std::nullopt;
    return api::ErrorResponse(st, "application/x-amz-json-1.1");
  };
  for (const std::string& body : std::vector<std::string>{
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k","PartitionKey":"j"})"),
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k","Other":[1,{}]})"),
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":12})"),
           std::string(R"({"StreamName":"s","Data":"aGk","PartitionKey":"k"})"),
           std::string(R"({"StreamName":"s","Data":"a\u0047k=","PartitionKey":"k"})"),
           std::string(R"({"StreamName":"s","Data":"aG=k","PartitionKey":"k"})"),
           std::string(R"({"StreamName":"s","Data":"aGl=","PartitionKey":"k"})"),
           std::string(R"({"StreamName":"s","Data":")") + std::string(11 * 1024 * 1024, 'A') +
               R"(","PartitionKey":"k"})",
           std::string(R"({"StreamName":"","Data":"aGk=","PartitionKey":""})"),
           std::string(R"({"StreamName":"nope","Data":"aGk=","PartitionKey":"k"})"),
           std::string(
               R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k","ExplicitHashKey":"x"})"),
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k",)"
                       R"("ExplicitHashKey":"340282366920938463463374607431768211456"})"),
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k",)"
                       R"("SequenceNumberForOrdering":"12"})"),
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k",})"),
           std::string(R"({"StreamName":"s","Data":"aGk="})"),
           std::string("{}"),
       }) {
    auto expected = generic_error(body);
    auto res = Call("PutRecord", body);
    if (!expected) {  // accepted by the generic path (a repeated or an unknown member)
      EXPECT_EQ(res.status, 200) << body.substr(0, 200) << res.body;
      continue;
    }
    EXPECT_EQ(res.status, expected->status) << body.substr(0, 200);
    EXPECT_EQ(res.body, expected->body) << body.substr(0, 200);
  }
  // Accepted, fast or not, and stored with the same bytes and key.
  for (const std::string& body : std::vector<std::string>{
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k1"})"),
           std::string(R"({"StreamName":"s","Data":"a\u0047k=","PartitionKey":"k\u0032"})"),
           std::string(R"({"StreamName":"s","Data":"aGk=","PartitionKey":"k3","StreamId":null})"),
       }) {
    auto res = Call("PutRecord", body);
    EXPECT_EQ(res.status, 200) << body << res.body;
  }
  auto it = Call(
      "GetShardIterator",
      R"({"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"})");
  auto iter = std::string(Json(it).at("ShardIterator").as_string());
  auto got = Json(Call("GetRecords", R"({"ShardIterator":")" + iter + "\"}"));
  const auto& records = got.at("Records").as_array();
  ASSERT_GE(records.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& r = records[records.size() - 3 + i];
    EXPECT_EQ(r.at("Data").as_string(), "aGk=");
    EXPECT_EQ(r.at("PartitionKey").as_string(), "k" + std::to_string(i + 1));
  }
}

// Through the pipeline: a plain PutRecords body (the fast decoder) and the same records in a
// form only the generic path takes are answered alike and stored alike; a plain body whose
// stream does not exist, or that is not signed, gets the generic path's answer byte for byte.
TEST_F(PipelineTest, PutRecordsPlainAndGenericBodiesAreAnsweredAndStoredAlike) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":2})").status, 200);
  const std::string plain =
      R"({"StreamName":"s","Records":[{"Data":"aGk=","PartitionKey":"k1"},)"
      R"({"Data":"","PartitionKey":"k2","ExplicitHashKey":"0"},)"
      R"({"Data":"AAEC/w==","PartitionKey":"k3","ExplicitHashKey":"340282366920938463463374607431768211455"}]})";
  std::string generic = plain;  // an escape in every key: not the plain form
  for (const char* k : {"k1", "k2", "k3"}) {
    const std::string from = std::string("\"") + k + "\"";
    generic.replace(generic.find(from), from.size(), std::string("\"k\\u003") + k[1] + "\"");
  }
  api::PutRecordsFastInput in;
  ASSERT_TRUE(
      api::DecodePutRecordsFast(plain, *api::Model::Get().FindOperation("PutRecords")->input, in));
  ASSERT_FALSE(api::DecodePutRecordsFast(
      generic, *api::Model::Get().FindOperation("PutRecords")->input, in));
  auto a = Call("PutRecords", plain);
  auto b = Call("PutRecords", generic);
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  const auto ja = Json(a);
  const auto jb = Json(b);
  EXPECT_EQ(ja.at("FailedRecordCount"), jb.at("FailedRecordCount"));
  const auto& ra = ja.at("Records").as_array();
  const auto& rb = jb.at("Records").as_array();
  ASSERT_EQ(ra.size(), 3U);
  ASSERT_EQ(rb.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ra[i].at("ShardId"), rb[i].at("ShardId"));
    EXPECT_EQ(ra[i].as_object().size(), rb[i].as_object().size());  // same members
  }
  EXPECT_EQ(ra[1].at("ShardId").as_string(), "shardId-000000000000");
  EXPECT_EQ(ra[2].at("ShardId").as_string(), "shardId-000000000001");
  // Stored alike: each shard holds the plain body's records, then the generic body's.
  std::vector<std::pair<std::string, std::string>> stored;
  for (const char* shard : {"shardId-000000000000", "shardId-000000000001"}) {
    auto it = Call("GetShardIterator", std::string(R"({"StreamName":"s","ShardId":")") + shard +
                                           R"(","ShardIteratorType":"TRIM_HORIZON"})");
    auto iter = std::string(Json(it).at("ShardIterator").as_string());
    auto got = Json(Call("GetRecords", R"({"ShardIterator":")" + iter + "\"}"));
    for (const auto& r : got.at("Records").as_array()) {
      stored.emplace_back(std::string(r.at("Data").as_string()),
                          std::string(r.at("PartitionKey").as_string()));
    }
  }
  ASSERT_EQ(stored.size(), 6U);
  std::size_t k2 = 0;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    if (stored[i].second == "k2") ++k2;
  }
  EXPECT_EQ(k2, 2U);
  // Errors: the generic path's answer, byte for byte.
  const std::string missing =
      R"({"StreamName":"nope","Records":[{"Data":"aGk=","PartitionKey":"k"}]})";
  {
    boost::json::value doc = boost::json::parse(missing);
    std::string out;
    Status st = api::InvokeJson("PutRecords", doc.get_object(), engine_, out);
    ASSERT_FALSE(st.ok());
    auto expected = api::ErrorResponse(st, "application/x-amz-json-1.1");
    auto res = Call("PutRecords", missing);
    EXPECT_EQ(res.status, expected.status);
    EXPECT_EQ(res.body, expected.body);
  }
  {
    api::WireRequest r;
    r.method = "POST";
    r.target = "Kinesis_20131202.PutRecords";
    r.content_type = "application/x-amz-json-1.1";
    r.body = plain;  // no Authorization
    auto fast = api::HandleRequest(r, engine_);
    r.body = generic;
    auto slow = api::HandleRequest(r, engine_);
    EXPECT_NE(fast.status, 200);
    EXPECT_EQ(fast.status, slow.status);
    EXPECT_EQ(fast.body, slow.body);
  }
}

}  // namespace
}  // namespace cinesis

namespace cinesis {
namespace {

// The engine seen only as a KinesisService: the pipeline then takes PutRecords and
// GetRecords through the public types instead of api::BatchDataPlane.
class PlainService final : public api::KinesisService {
 public:
  explicit PlainService(api::KinesisService& target) : target_(target) {}
#define CINESIS_PLAIN_X(Ret, Name, In) \
  Ret Name(const In& in) override { return target_.Name(in); }
#define CINESIS_PLAIN_X0(Ret, Name) \
  Ret Name() override { return target_.Name(); }
  CINESIS_KINESIS_OPERATIONS(CINESIS_PLAIN_X, CINESIS_PLAIN_X0)
#undef CINESIS_PLAIN_X
#undef CINESIS_PLAIN_X0
 private:
  api::KinesisService& target_;
};

std::string Replaced(std::string s, const std::string& from, std::string_view to) {
  for (auto at = s.find(from); !from.empty() && at != std::string::npos; at = s.find(from, at))
    s.replace(at, from.size(), to);
  return s;
}

// Issue 19 item 2: PutRecords and GetRecords answered through BatchDataPlane (views, one
// text buffer) are byte for byte the answers of the public-typed path, in JSON and CBOR,
// with escaping, binary data, explicit hash keys, several shards, KMS encryption and Limit.
TEST(BatchDataPlane, AnswersAreByteIdenticalToThePublicTypedPath) {
  ManualClock clock;
  auto options = [&clock] {
    engine::EngineOptions o;
    o.clock = &clock;
    o.create_stream_ms = 0;
    o.delete_stream_ms = 0;
    o.update_stream_ms = 0;
    return o;
  };
  engine::Engine batch_engine(options(), storage::NewMemoryStorage());
  engine::Engine plain_engine(options(), storage::NewMemoryStorage());
  PlainService plain(plain_engine);
  ASSERT_NE(dynamic_cast<api::BatchDataPlane*>(&batch_engine), nullptr);
  ASSERT_EQ(dynamic_cast<api::BatchDataPlane*>(static_cast<api::KinesisService*>(&plain)), nullptr);
  auto Obj = [](const api::WireResponse& r) { return boost::json::parse(r.body).as_object(); };
  std::string target;
  auto call = [&](api::KinesisService& service, std::string_view op, std::string_view body,
                  std::string_view content_type = "application/x-amz-json-1.1") {
    target = "Kinesis_20131202." + std::string(op);
    api::WireRequest r;
    r.method = "POST";
    r.target = target;
    r.content_type = content_type;
    r.authorization = kAuth;
    r.has_amz_date = true;
    r.body = body;
    return api::HandleRequest(r, service);
  };
  // Both paths must answer the same; returns the batch path's answer.
  auto both = [&](std::string_view op, std::string_view body,
                  std::string_view content_type = "application/x-amz-json-1.1") {
    auto a = call(batch_engine, op, body, content_type);
    auto b = call(plain, op, body, content_type);
    EXPECT_EQ(a.status, b.status) << op;
    EXPECT_EQ(a.content_type, b.content_type) << op;
    EXPECT_EQ(a.body, b.body) << op;
    return a;
  };
  ASSERT_EQ(both("CreateStream", R"({"StreamName":"s","ShardCount":3})").status, 200);
  const std::string puts = R"({"StreamName":"s","Records":[)"
                           R"({"Data":"AAEC/w==","PartitionKey":"a\"\\\n\u00e9\u0001"},)"
                           R"({"Data":"","PartitionKey":"b"},)"
                           R"({"Data":"aGVsbG8=","PartitionKey":"c","ExplicitHashKey":"0"},)"
                           R"({"Data":"aGVsbG8gd29ybGQ=","PartitionKey":"d",)"
                           R"("ExplicitHashKey":"340282366920938463463374607431768211455"},)"
                           R"({"Data":"eA==","PartitionKey":"e"}]})";
  auto put = both("PutRecords", puts);
  ASSERT_EQ(put.status, 200) << put.body;
  clock.Advance(1500);
  ASSERT_EQ(both("StartStreamEncryption",
                 R"({"StreamName":"s","EncryptionType":"KMS","KeyId":"alias/aws/kinesis"})")
                .status,
            200);
  clock.Advance(1000);
  ASSERT_EQ(both("PutRecords", puts).status, 200);
  // CBOR request and answer.
  boost::json::object cbor_put{{"StreamName", "s"},
                               {"Records", boost::json::array{boost::json::object{
                                               {"Data", "AAEC"}, {"PartitionKey", "k"}}}}};
  ASSERT_EQ(
      both("PutRecords", api::JsonToCbor(cbor_put, nullptr), "application/x-amz-cbor-1.1").status,
      200);
  // A request that fails as a whole answers the same error.
  EXPECT_EQ(
      both("PutRecords", R"({"StreamName":"nope","Records":[{"Data":"","PartitionKey":"k"}]})")
          .status,
      400);
  for (int shard = 0; shard < 3; ++shard) {
    const std::string gsi = R"({"StreamName":"s","ShardId":"shardId-00000000000)" +
                            std::to_string(shard) + R"(","ShardIteratorType":"TRIM_HORIZON"})";
    auto ia = call(batch_engine, "GetShardIterator", gsi);
    auto ib = call(plain, "GetShardIterator", gsi);
    ASSERT_EQ(ia.status, 200);
    std::string it_a(Obj(ia).at("ShardIterator").as_string());
    std::string it_b(Obj(ib).at("ShardIterator").as_string());
    for (std::string_view limit : {"", R"(,"Limit":1)"}) {
      for (int pass = 0; pass < 3; ++pass) {
        auto ga = call(batch_engine, "GetRecords",
                       R"({"ShardIterator":")" + it_a + "\"" + std::string(limit) + "}");
        auto gb = call(plain, "GetRecords",
                       R"({"ShardIterator":")" + it_b + "\"" + std::string(limit) + "}");
        ASSERT_EQ(ga.status, 200) << ga.body;
        ASSERT_EQ(gb.status, 200) << gb.body;
        const std::string next_a(Obj(ga).at("NextShardIterator").as_string());
        const std::string next_b(Obj(gb).at("NextShardIterator").as_string());
        // Iterators are sealed with each engine's own key; everything else is identical.
        EXPECT_EQ(Replaced(ga.body, next_a, "IT"), Replaced(gb.body, next_b, "IT"));
        if (pass == 0 && limit.empty()) {
          EXPECT_NE(ga.body.find("\"EncryptionType\":\"KMS\""), std::string::npos) << ga.body;
        }
        // The same read in CBOR.
        boost::json::object req{{"ShardIterator", it_a}};
        auto ca = call(batch_engine, "GetRecords", api::JsonToCbor(req, nullptr),
                       "application/x-amz-cbor-1.1");
        req["ShardIterator"] = it_b;
        auto cb =
            call(plain, "GetRecords", api::JsonToCbor(req, nullptr), "application/x-amz-cbor-1.1");
        ASSERT_EQ(ca.status, 200);
        auto ja = api::CborToJson(ca.body);
        auto jb = api::CborToJson(cb.body);
        ASSERT_TRUE(ja.ok() && jb.ok());
        EXPECT_EQ(ca.body.size(), cb.body.size());
        EXPECT_EQ(ja->at("Records"), jb->at("Records"));
        it_a = next_a;
        it_b = next_b;
      }
    }
  }
}

// The conversions between the batch and the public types encode to the same text, errors
// included (the fault injector answers throttled PutRecords through them).
TEST(BatchDataPlane, ConversionsEncodeTheSameText) {
  api::PutRecordsOutput put;
  put.failed_record_count = 2;
  put.encryption_type = api::EncryptionType::kKms;
  put.records = {{"49590338271490256608559692538361571095921575989136588898",
                  "shardId-000000000001", std::nullopt, std::nullopt},
                 {std::nullopt, std::nullopt, "ProvisionedThroughputExceededException",
                  "Rate exceeded for \"shard\" \n"},
                 {std::nullopt, std::nullopt, "InternalFailure", ""},
                 {}};
  std::string a, b;
  api::JsonWriter wa(a), wb(b);
  api::Encode(wa, put);
  api::Encode(wb, api::ToBatch(put));
  EXPECT_EQ(a, b);
  std::string c;
  api::JsonWriter wc(c);
  api::Encode(wc, api::ToOutput(api::ToBatch(put)));
  EXPECT_EQ(a, c);

  api::GetRecordsOutput get;
  get.records = {{"1", 1441215410867, std::string("\0\x01\xff", 3), "k\"\\", std::nullopt},
                 {"2", 1441215410000, "", "", api::EncryptionType::kKms},
                 {"3", 1, "x", "\xc3\xa9", api::EncryptionType::kNone},
                 {"4", -1, "xy", "\b\f\n\r\t\x1f/", std::nullopt},
                 {"5", -1441215410867, "xyz", "", api::EncryptionType::kKms},
                 {"6", 7, std::string(5000, 'b'), "k", api::EncryptionType::kKms},
                 {"7", 8, "", std::string(700, '\x02'), std::nullopt}};
  // The records are written through a pointer, into a buffer on the stack or, for records
  // too large for it (6 and 7), in place: keys that escape to 6 bytes per byte, data of
  // every length modulo 3, the longest timestamps.
  for (int i = 0; i < 12; ++i) {
    get.records.push_back({std::to_string(10 + i),
                           i % 2 == 0 ? std::numeric_limits<EpochMillis>::max()
                                      : std::numeric_limits<EpochMillis>::min(),
                           std::string(static_cast<std::size_t>(i), static_cast<char>(0x80 + i)),
                           std::string(static_cast<std::size_t>(256 - i), '\x01'),
                           i % 3 == 0 ? std::optional(api::EncryptionType::kKms) : std::nullopt});
  }
  get.next_shard_iterator = "iter";
  get.millis_behind_latest = 42;
  get.child_shards =
      std::vector<api::ChildShard>{{"shardId-000000000002", {"shardId-000000000000"}, {"0", "9"}}};
  // The text as the writer's member calls give it (how records were written before).
  std::string reference;
  {
    api::JsonWriter w(reference);
    w.BeginObject();
    w.Key("Records");
    w.BeginArray();
    for (const auto& r : get.records) {
      w.BeginObject();
      w.Key("SequenceNumber");
      w.Plain(r.sequence_number);
      w.Key("ApproximateArrivalTimestamp");
      w.Timestamp(r.approximate_arrival_timestamp);
      w.Key("Data");
      w.Base64(r.data);
      w.Key("PartitionKey");
      w.String(r.partition_key);
      if (r.encryption_type && *r.encryption_type != api::EncryptionType::kNone) {
        w.Key("EncryptionType");
        w.Plain(api::ToString(*r.encryption_type));
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("NextShardIterator");
    w.Plain(*get.next_shard_iterator);
    w.Key("MillisBehindLatest");
    w.Int(get.millis_behind_latest);
    w.EndObject();
  }
  get.child_shards.reset();
  std::string d, e, f;
  api::JsonWriter wd(d), we(e), wf(f);
  api::Encode(wd, get);
  EXPECT_EQ(d, reference);
  api::Encode(we, api::ToBatch(get));
  api::Encode(wf, api::ToOutput(api::ToBatch(get)));
  EXPECT_EQ(d, e);
  EXPECT_EQ(d, f);
}

}  // namespace
}  // namespace cinesis
