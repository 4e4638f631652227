#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/hash_key.h"
#include "common/status.h"

namespace cinesis {
namespace {

std::string DecodeError(std::string_view in) {
  std::string out, why;
  EXPECT_FALSE(Base64Decode(in, out, why)) << in;
  return why;
}

TEST(Base64, EncodesWithPadding) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode(std::string("\0\xff\x10", 3)), "AP8Q");
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    std::string in = all.substr(0, n), out, why;
    ASSERT_TRUE(Base64Decode(Base64Encode(in), out, why)) << why;
    EXPECT_EQ(out, in);
  }
}

TEST(Base64, RejectsLengthNotMultipleOfFourWithServiceText) {
  EXPECT_EQ(DecodeError("23456"),
            "Base64 encoded length is expected a multiple of 4 bytes but found: 5");
}

TEST(Base64, RejectsBadCharactersWithServiceText) {
  EXPECT_EQ(DecodeError("=+/="), "Invalid Base64 character: '='");
  EXPECT_EQ(DecodeError("ab!d"), "Invalid Base64 character: '!'");
  EXPECT_EQ(DecodeError("AB==CD=="), "Invalid Base64 character: '='");
  // In the body of a long text (decoded in one pass when clean): the first offender, in
  // text order, is named, whatever follows it.
  const std::string body(400, 'A');
  EXPECT_EQ(DecodeError(body + "ab!d" + body + "AA=="), "Invalid Base64 character: '!'");
  EXPECT_EQ(DecodeError(body + "a=bd" + body + "ab!d"), "Invalid Base64 character: '='");
  EXPECT_EQ(DecodeError(body +
                        "ab\xff"
                        "d" +
                        body),
            "Invalid Base64 character: '\xff'");
  EXPECT_EQ(DecodeError(body + "A==="), "Invalid last non-pad Base64 character dectected");
  std::string out, why;
  ASSERT_TRUE(Base64Decode(body + "QUI=", out, why)) << why;
  EXPECT_EQ(out, std::string(300, '\0') + "AB");
}

// Found by fuzz/api_json: the text named the first byte of a multi-byte character, so the
// JSON answer to a PutRecord whose Data held a non-ASCII character was invalid UTF-8.
TEST(Base64, NamesAWholeNonAsciiCharacter) {
  const std::string body(400, 'A');
  for (const std::string ch : {"\xd0\xbc", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
    // In the last group (checked alone) and in the body (decoded in one pass first).
    const std::string text = "a000000000000" + ch + "71469331446366257";
    EXPECT_EQ(DecodeError(text + std::string((4 - text.size() % 4) % 4, 'A')),
              "Invalid Base64 character: '" + ch + "'");
    EXPECT_EQ(DecodeError(body + "ab" + ch + std::string(4 - (2 + ch.size()) % 4, 'A') + body),
              "Invalid Base64 character: '" + ch + "'");
  }
  // Not a whole UTF-8 sequence: the byte alone, as before.
  EXPECT_EQ(DecodeError("ab\xd0="), "Invalid Base64 character: '\xd0'");
  EXPECT_EQ(DecodeError("ab\xed\xa0\x80"
                        "AAA"),
            "Invalid Base64 character: '\xed'");
}

TEST(Base64, RejectsNonCanonicalLastCharacter) {
  EXPECT_EQ(DecodeError("+/+="), "Invalid last non-pad Base64 character dectected");
  EXPECT_EQ(DecodeError("===="), "Invalid last non-pad Base64 character dectected");
}

TEST(HashKey, DecimalRoundTripAtTheEdges) {
  EXPECT_EQ(ToDecimal(0), "0");
  EXPECT_EQ(ToDecimal(HashKey::Max().value), "340282366920938463463374607431768211455");
  EXPECT_EQ(ParseDecimal128("340282366920938463463374607431768211455"), HashKey::Max().value);
  EXPECT_FALSE(ParseDecimal128("340282366920938463463374607431768211456").has_value());
  EXPECT_FALSE(ParseDecimal128("").has_value());
  EXPECT_FALSE(ParseDecimal128("12a").has_value());
}

TEST(HashKey, Md5IsReadBigEndian) {
  // MD5("") = d41d8cd98f00b204e9800998ecf8427e
  EXPECT_EQ(ToString(Md5HashKey("")), "281949768489412648962353822266799178366");
  // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
  EXPECT_EQ(ToString(Md5HashKey("a")), "16955237001963240173058271559858726497");
}

TEST(Status, CodesCarryKinesisNamesAndRetriability) {
  Status s(Code::kProvisionedThroughputExceeded, "slow down");
  EXPECT_EQ(s.name(), "ProvisionedThroughputExceededException");
  EXPECT_TRUE(s.retriable());
  EXPECT_FALSE(Status(Code::kResourceNotFound, "").retriable());
  EXPECT_EQ(CodeFromName("com.amazon.coral#ResourceInUseException"), Code::kResourceInUse);
  EXPECT_EQ(s.ToString(), "ProvisionedThroughputExceededException: slow down");
}

// Local failures (issue 14): codes of their own, with their retry rule, and names that
// round-trip.
TEST(Status, LocalCodesHaveNamesAndRetryRules) {
  EXPECT_EQ(CodeName(Code::kDeadlineExceeded), "DeadlineExceeded");
  EXPECT_EQ(CodeName(Code::kFailedPrecondition), "FailedPrecondition");
  EXPECT_EQ(CodeName(Code::kUnknown), "Unknown");
  EXPECT_TRUE(IsRetriable(Code::kDeadlineExceeded));  // waiting again can succeed
  EXPECT_FALSE(IsRetriable(Code::kFailedPrecondition));
  EXPECT_FALSE(IsRetriable(Code::kUnknown));
  for (Code c : {Code::kDeadlineExceeded, Code::kFailedPrecondition, Code::kUnknown}) {
    EXPECT_EQ(CodeFromName(CodeName(c)), c) << CodeName(c);
  }
  EXPECT_EQ(Status(Code::kDeadlineExceeded, "flush").ToString(), "DeadlineExceeded: flush");
}

// A Result is a value or an error: built from an OK Status it is an error (kUnknown), in
// release builds too (this used to be an assert only).
TEST(Status, ResultFromOkStatusIsAnError) {
  Result<int> r = Status::Ok();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnknown);
  EXPECT_NE(r.status().message().find("Result constructed from OK status"), std::string::npos);
  Result<std::string> moved = Status();
  EXPECT_EQ(std::move(moved).take_status().code(), Code::kUnknown);
  Result<int> fine = Status(Code::kResourceNotFound, "gone");
  EXPECT_EQ(fine.status().code(), Code::kResourceNotFound);  // errors stay as they are
}

}  // namespace
}  // namespace cinesis
