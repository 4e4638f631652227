// The HTTP/1.1 request scanner of the server's common path (server/http1_scan.h): what it
// accepts, what it leaves to Beast, and that it never reads a request otherwise than Beast.
#include "server/http1_scan.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "server/http1_scan_oracle.h"

namespace cinesis::server::http1 {
namespace {

const std::string kPut =
    "POST / HTTP/1.1\r\n"
    "Host: localhost:4567\r\n"
    "Accept-Encoding: identity\r\n"
    "X-Amz-Target: Kinesis_20131202.PutRecord\r\n"
    "Content-Type: application/x-amz-json-1.1\r\n"
    "User-Agent: Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1\r\n"
    "X-Amz-Date: 20261203T120000Z\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/kinesis/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abcdef0123456789\r\n"
    "Content-Length: 55\r\n"
    "\r\n"
    "{\"StreamName\":\"s\",\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"k\"}";

ScanResult Scan(std::string_view in, ScannedRequest& out, ScanLimits limits = {}) {
  return ScanRequest(in, limits, out);
}

ScanResult Scan(std::string_view in, ScanLimits limits = {}) {
  ScannedRequest out;
  return ScanRequest(in, limits, out);
}

// kPut with its header line `name: ...` replaced by `line` (or `line` added before the
// empty line when `name` is empty).
std::string With(std::string_view line, std::string_view name = {}) {
  std::string s = kPut;
  if (name.empty()) {
    s.insert(s.find("\r\n\r\n") + 2, std::string(line) + "\r\n");
  } else {
    const auto at = s.find(std::string(name) + ":");
    s.replace(at, s.find("\r\n", at) - at, line);
  }
  return s;
}

TEST(Http1Scan, ReadsACompleteRequest) {
  ScannedRequest r;
  ASSERT_EQ(Scan(kPut, r), ScanResult::kComplete);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/");
  EXPECT_EQ(r.version, 11u);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.size, kPut.size());
  EXPECT_EQ(r.body, "{\"StreamName\":\"s\",\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"k\"}");
  ASSERT_EQ(r.field_count, 8u);
  EXPECT_EQ(r.fields[0].name, "Host");
  EXPECT_EQ(r.fields[0].value, "localhost:4567");
  EXPECT_EQ(r.fields[7].name, "Content-Length");
  EXPECT_EQ(r.fields[7].value, "55");
}

TEST(Http1Scan, FindsTheFieldsTheServerReadsInAnyCase) {
  ScannedRequest r;
  ASSERT_EQ(Scan(kPut, r), ScanResult::kComplete);
  EXPECT_EQ(r.Get(Known::kHost), "localhost:4567");
  EXPECT_EQ(r.Get(Known::kAmzTarget), "Kinesis_20131202.PutRecord");
  EXPECT_EQ(r.Get(Known::kContentType), "application/x-amz-json-1.1");
  EXPECT_TRUE(r.Has(Known::kAmzDate));
  EXPECT_TRUE(r.Get(Known::kAuthorization).starts_with("AWS4-HMAC-SHA256 Credential=AKID/"));
  EXPECT_FALSE(r.Has(Known::kOrigin));
  EXPECT_FALSE(r.Has(Known::kDate));
  const std::string other =
      "POST /?a=b HTTP/1.1\r\nhOsT: h\r\nORIGIN: http://o\r\ndate: d\r\n"
      "If-None-Match: \"e\"\r\naccess-control-request-method: POST\r\n"
      "Access-Control-Request-Headers: x-amz-target\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(Scan(other, r), ScanResult::kComplete);
  EXPECT_EQ(r.Get(Known::kHost), "h");
  EXPECT_EQ(r.Get(Known::kOrigin), "http://o");
  EXPECT_TRUE(r.Has(Known::kDate));
  EXPECT_EQ(r.Get(Known::kIfNoneMatch), "\"e\"");
  EXPECT_EQ(r.Get(Known::kAcrm), "POST");
  EXPECT_EQ(r.Get(Known::kAcrh), "x-amz-target");
  // Nothing left over from the request scanned before.
  EXPECT_FALSE(r.Has(Known::kAmzTarget));
  EXPECT_EQ(r.Get(Known::kAmzTarget), "");
  EXPECT_FALSE(r.Has(Known::kAuthorization));
}

TEST(Http1Scan, ReadsOnlyTheFirstOfPipelinedRequests) {
  ScannedRequest r;
  ASSERT_EQ(Scan(kPut + kPut, r), ScanResult::kComplete);
  EXPECT_EQ(r.size, kPut.size());
}

TEST(Http1Scan, TrimsOptionalWhitespaceAroundValues) {
  ScannedRequest r;
  // The views point into the request text: kept alive while they are read.
  const std::string spaced = With("X-A: \t v 1 \t", "");
  ASSERT_EQ(Scan(spaced, r), ScanResult::kComplete);
  EXPECT_EQ(r.fields[8].value, "v 1");
  const std::string empty = With("X-A:", "");
  ASSERT_EQ(Scan(empty, r), ScanResult::kComplete);
  EXPECT_EQ(r.fields[8].value, "");
}

TEST(Http1Scan, KeepAliveFollowsVersionAndConnection) {
  ScannedRequest r;
  ASSERT_EQ(Scan(With("Connection: Close", ""), r), ScanResult::kComplete);
  EXPECT_FALSE(r.keep_alive);
  std::string v10 = kPut;
  v10.replace(v10.find("HTTP/1.1"), 8, "HTTP/1.0");
  ASSERT_EQ(Scan(v10, r), ScanResult::kComplete);
  EXPECT_EQ(r.version, 10u);
  EXPECT_FALSE(r.keep_alive);
  v10.insert(v10.find("\r\n") + 2, "connection: keep-alive\r\n");
  ASSERT_EQ(Scan(v10, r), ScanResult::kComplete);
  EXPECT_TRUE(r.keep_alive);
}

TEST(Http1Scan, AsksForMoreUntilTheBodyIsThere) {
  for (std::size_t n = 0; n < kPut.size(); ++n) {
    EXPECT_EQ(Scan(std::string_view(kPut).substr(0, n)), ScanResult::kNeedMore) << n;
  }
}

TEST(Http1Scan, LeavesFramingItDoesNotOwnToBeast) {
  EXPECT_EQ(Scan(With("Content-Length: 55\r\nContent-Length: 55", "Content-Length")),
            ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Content-Length: 5x", "Content-Length")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Content-Length: +52", "Content-Length")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Content-Length: 55,52", "Content-Length")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Content-Length:", "Content-Length")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("X-No-Length: 1", "Content-Length")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Transfer-Encoding: chunked", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Expect: 100-continue", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Upgrade: h2c", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("HTTP2-Settings: AAMAAABkAAQAAP__", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Proxy-Connection: close", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Connection: keep-alive, close", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Connection: close\r\nConnection: close", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("X-A: 1\r\nx-a: 1", "")), ScanResult::kNotMine);  // Beast reorders
}

TEST(Http1Scan, LeavesMalformedHeadsToBeast) {
  EXPECT_EQ(Scan(With("X-Fold: a\r\n b", "")), ScanResult::kNotMine);  // obs-fold
  EXPECT_EQ(Scan(With("\tX-A: b", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With(": empty name", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("X A: b", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("X-A : b", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("No colon", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("X-A: caf\xc3\xa9", "")), ScanResult::kNotMine);  // obs-text
  EXPECT_EQ(Scan(With(std::string("X-A: a\0b", 8), "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("X-A: a\rb", "")), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("X-A: a\x7f", "")), ScanResult::kNotMine);
  std::string bare_lf = kPut;
  bare_lf.replace(bare_lf.find("\r\nAccept"), 2, "\n");
  EXPECT_EQ(Scan(bare_lf), ScanResult::kNotMine);
  for (const char* line :
       {"POST / HTTP/1.2", "POST / HTTP/2.0", "POST / http/1.1", "POST  / HTTP/1.1",
        "POST * HTTP/1.1", "POST http://h/ HTTP/1.1", "PO(ST / HTTP/1.1", " POST / HTTP/1.1",
        "POST /\t HTTP/1.1", "POST / HTTP/1.1 ", "POST /a b HTTP/1.1"}) {
    std::string s = kPut;
    s.replace(0, s.find("\r\n"), line);
    EXPECT_EQ(Scan(s), ScanResult::kNotMine) << line;
  }
  EXPECT_EQ(Scan("\r\n" + kPut), ScanResult::kNotMine);
}

TEST(Http1Scan, LeavesRequestsOverTheLimitsToBeast) {
  ScanLimits l;
  l.max_header_bytes = kPut.find("\r\n\r\n") + 4;
  l.max_body_bytes = 55;
  EXPECT_EQ(Scan(kPut, l), ScanResult::kComplete);
  l.max_header_bytes -= 1;
  EXPECT_EQ(Scan(kPut, l), ScanResult::kNotMine);
  l.max_header_bytes += 1;
  l.max_body_bytes = 54;
  EXPECT_EQ(Scan(kPut, l), ScanResult::kNotMine);
  EXPECT_EQ(Scan(With("Content-Length: 99999999999999999999", "Content-Length")),
            ScanResult::kNotMine);
}

TEST(Http1Scan, LeavesRequestsWithTooManyFieldsToBeast) {
  std::string many = kPut;
  for (std::size_t i = 8; i < kMaxScanFields; ++i)
    many.insert(many.find("\r\n\r\n") + 2, "X-F" + std::to_string(i) + ": v\r\n");
  EXPECT_EQ(Scan(many), ScanResult::kComplete);
  many.insert(many.find("\r\n\r\n") + 2, "X-F: one too many\r\n");
  EXPECT_EQ(Scan(many), ScanResult::kNotMine);
}

// ---- Differential: generated and mutated requests, scanner against Beast ----

const std::vector<std::string>& Templates() {
  // NOLINTBEGIN(bugprone-suspicious-missing-comma): requests split over several lines
  static const std::vector<std::string> t = {
      kPut,
      "POST /?x=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-amz-target: Kinesis_20131202.ListStreams\r\n"
      "content-type: application/x-amz-json-1.1\r\nconnection: close\r\ncontent-length: "
      "2\r\n\r\n{}",
      "POST / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
      "GET /_cinesis/console/ HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n"
      "Content-Length: 0\r\n\r\n",
      "PUT /a/b?c=d HTTP/1.1\r\nX-Empty:\r\nX-Tab:\tv\t\r\nContent-Length: 1\r\nDate: d\r\n\r\nz",
  };
  // NOLINTEND(bugprone-suspicious-missing-comma)
  return t;
}

std::string Mutate(std::string s, std::mt19937& rng) {
  static const std::vector<std::string> kLines = {"Transfer-Encoding: chunked",
                                                  "Expect: 100-continue",
                                                  "Upgrade: h2c",
                                                  "Connection: Close",
                                                  "Connection: keep-alive, close",
                                                  " folded",
                                                  "X-A:  spaced  ",
                                                  "X-B:",
                                                  ":x",
                                                  "X y: z",
                                                  "X-C: \x80",
                                                  "Content-Length: 3",
                                                  "content-length: 0",
                                                  "Content-Length:  55 ",
                                                  "Connection: upgrade",
                                                  "HTTP2-Settings: AAMAAABkAAQAAP__",
                                                  "Keep-Alive: timeout=5",
                                                  "Proxy-Connection: keep-alive"};
  static const std::string kSpecial = std::string(" \t\r\n:,-/?A\x7f\x80\xff") + '\0';
  const auto pick = [&](std::size_t n) {
    return n == 0 ? std::size_t{0} : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  const int ops = 1 + static_cast<int>(pick(3));
  for (int k = 0; k < ops; ++k) {
    switch (pick(10)) {
      case 0:
        if (!s.empty()) s[pick(s.size())] = kSpecial[pick(kSpecial.size())];
        break;
      case 1:
        s.insert(pick(s.size() + 1), 1, kSpecial[pick(kSpecial.size())]);
        break;
      case 2:
        if (!s.empty()) s.erase(pick(s.size()), 1);
        break;
      case 3: {
        if (s.empty()) break;
        char& c = s[pick(s.size())];
        if (std::isalpha(static_cast<unsigned char>(c))) c ^= 0x20;
        break;
      }
      case 4: {  // duplicate a line
        const auto start = s.find("\r\n");
        if (start == std::string::npos) break;
        const auto at = s.find("\r\n", start + 2 + pick(40));
        if (at == std::string::npos) break;
        const auto from = s.rfind("\r\n", at - 1);
        if (from == std::string::npos || from < start) break;
        s.insert(at + 2, s.substr(from + 2, at - from));
        break;
      }
      case 5:
        s.resize(pick(s.size() + 1));
        break;
      case 6: {
        const auto at = s.find("\r\n");
        if (at != std::string::npos) s.insert(at + 2, kLines[pick(kLines.size())] + "\r\n");
        break;
      }
      case 7: {
        static const char* kVersions[] = {"HTTP/1.2",  "HTTP/2.0", "http/1.1",
                                          "HTTP/1.10", "HTTP/1.0", "HTTP/01.1"};
        const auto at = s.find("HTTP/1.");
        if (at != std::string::npos) s.replace(at, 8, kVersions[pick(6)]);
        break;
      }
      case 8:
        s += Templates()[pick(Templates().size())];
        break;
      case 9: {  // a whitespace variant around a colon
        const auto at = s.find(':', pick(s.size() + 1));
        if (at != std::string::npos) s.insert(at + (pick(2) ? 1 : 0), pick(2) ? " " : "\t");
        break;
      }
    }
  }
  return s;
}

TEST(Http1Scan, NeverReadsARequestOtherwiseThanBeast) {
  std::mt19937 rng(20261203);
  const std::vector<ScanLimits> limits = {{8192, 8u << 20}, {120, 3}, {300, 55}};
  std::size_t accepted = 0, tried = 0;
  for (const auto& t : Templates()) {
    for (const auto& l : limits) {
      EXPECT_EQ(ScanDisagreesWithBeast(t, l), "") << t;
      for (std::size_t n = 0; n <= t.size(); ++n)
        EXPECT_EQ(ScanDisagreesWithBeast(t.substr(0, n), l), "") << t.substr(0, n);
    }
  }
  for (int i = 0; i < 200000; ++i) {
    const std::string in = Mutate(Templates()[i % Templates().size()], rng);
    const ScanLimits& l = limits[static_cast<std::size_t>(i) % limits.size()];
    ScannedRequest r;
    ++tried;
    if (ScanRequest(in, l, r) == ScanResult::kComplete) ++accepted;
    const std::string why = ScanDisagreesWithBeast(in, l);
    ASSERT_EQ(why, "") << "input: " << ::testing::PrintToString(in);
  }
  // Not vacuous: a good share of the mutants is still accepted.
  EXPECT_GT(accepted, tried / 10);
}

}  // namespace
}  // namespace cinesis::server::http1
