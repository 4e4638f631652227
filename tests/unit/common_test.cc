#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

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

// Encoding and decoding against a plain reference decoder, at every length up to 700 bytes
// (every alignment of the vector blocks, 24 bytes encoded or 32 characters decoded per step,
// and the scalar tail after them).
TEST(Base64, EncodesAndDecodesEveryLengthAsAPlainReferenceDecoder) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto reference = [&](std::string_view text) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
      if (c == '=') break;
      acc = (acc << 6) | static_cast<std::uint32_t>(alphabet.find(c));
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((acc >> bits) & 0xFF);
      }
    }
    return out;
  };
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (std::size_t n = 0; n <= 700; ++n) {
    std::string in(n, '\0');
    for (auto& c : in) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      c = static_cast<char>(x >> 56);
    }
    const std::string text = Base64Encode(in);
    std::string out, why;
    ASSERT_TRUE(Base64Decode(text, out, why)) << n << ": " << why;
    ASSERT_EQ(out, in) << n;
    ASSERT_EQ(reference(text), in) << n;
  }
}

// A character outside the alphabet anywhere in a long text (in a vector block, or in the
// scalar tail) is named, the first one in text order.
TEST(Base64, NamesTheFirstBadCharacterWhereverItIs) {
  const std::string clean = Base64Encode(std::string(150, '\x5a'));  // 200 characters
  for (std::size_t pos = 0; pos + 4 < clean.size(); ++pos) {
    for (const char bad : std::string("\0!-_.:@[`{\x7f\x80\xff ", 14)) {
      std::string text = clean;
      text[pos] = bad;
      EXPECT_EQ(DecodeError(text), std::string("Invalid Base64 character: '") + bad + "'")
          << "at " << pos << ": " << static_cast<int>(static_cast<unsigned char>(bad));
      // A second one further on does not change the answer.
      if (pos + 40 < clean.size() - 4) text[pos + 40] = '!';
      EXPECT_EQ(DecodeError(text), std::string("Invalid Base64 character: '") + bad + "'");
    }
    std::string padded = clean;
    padded[pos] = '=';
    EXPECT_EQ(DecodeError(padded), "Invalid Base64 character: '='") << "at " << pos;
  }
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
