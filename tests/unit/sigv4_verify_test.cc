// The server's SigV4 verifier (api/sigv4_verify.h, `cinesis serve --auth sigv4`).
//
// 1. Every signed request (.sreq) of the public AWS SigV4 test suite verifies; with its
//    signature altered it fails with InvalidSignatureException whose text echoes exactly the
//    suite's canonical request (.creq) and string to sign (.sts).
// 2. Kinesis requests signed by the client's signer (client/sigv4.h): every error type and
//    text of --auth, each check at its boundary (clock-skew window, session tokens, scope).
#include "api/sigv4_verify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "api/errors.h"
#include "client/sigv4.h"

#ifndef CINESIS_SIGV4_SUITE
#error "CINESIS_SIGV4_SUITE must name the sigv4-test-suite directory"
#endif

namespace cinesis::api {
namespace {

namespace fs = std::filesystem;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSuiteKey = "AKIDEXAMPLE";
constexpr const char* kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr EpochMillis kSuiteNow = 1440938160000;  // 20150830T123600Z

std::optional<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A request as received, owning its text; View() is what a transport hands the verifier.
struct OwnedRequest {
  std::string method, path, query, body;
  Headers headers;
  std::vector<std::pair<std::string_view, std::string_view>> views;

  SignedRequest View() {
    views.assign(headers.begin(), headers.end());
    return {method, path, query, &views, body};
  }
  std::string* Find(std::string_view name) {
    for (auto& [n, v] : headers) {
      std::string lower = n;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower == name) return &v;
    }
    return nullptr;
  }
};

// The suite's raw HTTP text (a folded header line continues the previous value).
OwnedRequest ParseSuiteRequest(const std::string& text) {
  OwnedRequest out;
  std::size_t pos = 0;
  auto next_line = [&](std::string& line) {
    if (pos > text.size()) return false;
    const std::size_t nl = text.find('\n', pos);
    line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    return true;
  };
  std::string line;
  next_line(line);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  out.method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::size_t q = target.find('?');
  out.path = target.substr(0, q);
  if (q != std::string::npos) out.query = target.substr(q + 1);
  while (next_line(line) && !line.empty()) {
    if ((line[0] == ' ' || line[0] == '\t') && !out.headers.empty()) {
      out.headers.back().second += "\n" + line;
      continue;
    }
    const std::size_t colon = line.find(':');
    out.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (pos <= text.size()) out.body = text.substr(pos);
  return out;
}

struct SuiteCase {
  std::string name;
  fs::path dir;
  std::string base;
  fs::path File(const std::string& ext) const { return dir / (base + ext); }
};
void PrintTo(const SuiteCase& c, std::ostream* os) { *os << c.name; }

std::vector<SuiteCase> SuiteCases() {
  std::vector<SuiteCase> cases;
  const fs::path root = CINESIS_SIGV4_SUITE;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory()) continue;
    const std::string base = it->path().filename().string();
    if (!fs::exists(it->path() / (base + ".sreq"))) continue;
    cases.push_back({fs::relative(it->path(), root).generic_string(), it->path(), base});
  }
  std::sort(cases.begin(), cases.end(),
            [](const SuiteCase& a, const SuiteCase& b) { return a.name < b.name; });
  return cases;
}

SigV4VerifierOptions SuiteOptions(const Clock& clock, std::string token = "") {
  SigV4VerifierOptions o;
  o.keys[kSuiteKey] = SigV4Key{kSuiteSecret, std::move(token)};
  o.service = "service";
  o.region = "us-east-1";
  o.clock = &clock;
  return o;
}

class SuiteVerify : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SuiteVerify, SignedRequestVerifiesAndAlteredSignatureEchoesCanonicalRequest) {
  const SuiteCase& c = GetParam();
  const auto sreq = ReadFile(c.File(".sreq"));
  const auto sts = ReadFile(c.File(".sts"));
  auto creq = ReadFile(c.File(".creq.consistent"));
  if (!creq) creq = ReadFile(c.File(".creq"));
  ASSERT_TRUE(sreq && sts && creq) << c.name;
  OwnedRequest r = ParseSuiteRequest(*sreq);
  if (ReadFile(c.File(".creq.consistent"))) {
    // Documented defect of this copy (tests/data/sigv4-test-suite/README.md): the .sreq of
    // post-x-www-form-urlencoded-parameters says "charset=utf-8" but was signed with
    // "charset=utf8"; the consistent canonical request gives the header values signed.
    std::istringstream in(*creq);
    std::string line;
    for (int i = 0; i < 3; ++i) std::getline(in, line);
    while (std::getline(in, line) && !line.empty()) {
      const std::size_t colon = line.find(':');
      if (std::string* v = r.Find(line.substr(0, colon))) *v = line.substr(colon + 1);
    }
  }
  ManualClock clock(kSuiteNow);
  std::string token;
  if (const std::string* t = r.Find("x-amz-security-token")) token = *t;
  const SigV4Verifier verifier(SuiteOptions(clock, token));

  const Status ok = verifier.Verify(r.View());
  EXPECT_TRUE(ok.ok()) << c.name << ": " << ok.ToString();

  std::string* authz = r.Find("authorization");
  ASSERT_NE(authz, nullptr);
  char& last = authz->back();
  last = last == '0' ? '1' : '0';
  const Status bad = verifier.Verify(r.View());
  EXPECT_EQ(bad.code(), Code::kInvalidSignature);
  EXPECT_EQ(bad.message(), errors::SignatureMismatch(*creq, *sts).message()) << c.name;
}

INSTANTIATE_TEST_SUITE_P(AwsSigV4TestSuite, SuiteVerify, ::testing::ValuesIn(SuiteCases()),
                         [](const ::testing::TestParamInfo<SuiteCase>& param) {
                           std::string n = param.param.name;
                           for (char& ch : n)
                             ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

TEST(SuiteVerifyCount, EveryCaseDiscovered) { EXPECT_EQ(SuiteCases().size(), 31u); }

TEST(SuiteVerifyText, MismatchTextIsAwsWording) {
  EXPECT_EQ(errors::SignatureMismatch("CR", "STS").message(),
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.\n\nThe Canonical String for this request should have "
            "been\n'CR'\n\nThe String-to-Sign should have been\n'STS'\n");
}

// ---------------------------------------------------------------------------------
// Kinesis requests signed by the client's signer.

constexpr EpochMillis kNow = 1440938760000;  // 20150830T124600Z
const std::chrono::system_clock::time_point kNowTp{std::chrono::milliseconds(kNow)};

class KinesisVerify : public ::testing::Test {
 protected:
  KinesisVerify() : clock_(kNow) {}

  SigV4Verifier Verifier(std::string token = "") {
    SigV4VerifierOptions o;
    o.keys["AKID"] = SigV4Key{"secret", std::move(token)};
    o.keys["OTHER"] = SigV4Key{"other-secret", ""};
    o.region = "us-east-1";
    o.clock = &clock_;
    return SigV4Verifier(std::move(o));
  }

  // A ListStreams request signed at `at` with (`key`, `secret`, `token`), like botocore.
  static OwnedRequest Signed(std::chrono::system_clock::time_point at, std::string key = "AKID",
                             std::string secret = "secret", std::string token = "",
                             std::string region = "us-east-1", std::string service = "kinesis") {
    OwnedRequest r;
    r.method = "POST";
    r.path = "/";
    r.body = "{}";
    client::auth::HttpRequestToSign s;
    s.method = r.method;
    s.path = r.path;
    s.headers = {{"Host", "127.0.0.1:4567"},
                 {"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "Kinesis_20131202.ListStreams"}};
    s.payload = r.body;
    client::auth::Sign(s, {std::move(key), std::move(secret), std::move(token)},
                       {std::move(region), std::move(service), at});
    r.headers = s.headers;
    return r;
  }

  ManualClock clock_;
};

TEST_F(KinesisVerify, RightSecretPasses) {
  OwnedRequest r = Signed(kNowTp);
  EXPECT_TRUE(Verifier().Verify(r.View()).ok());
}

TEST_F(KinesisVerify, WrongSecretIsInvalidSignatureWithCanonicalRequest) {
  OwnedRequest r = Signed(kNowTp, "AKID", "wrong");
  const Status st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kInvalidSignature);
  const std::string creq =
      "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:127.0.0.1:4567\n"
      "x-amz-date:20150830T124600Z\nx-amz-target:Kinesis_20131202.ListStreams\n\n"
      "content-type;host;x-amz-date;x-amz-target\n" +
      client::auth::Sha256Hex("{}");
  const std::string sts =
      "AWS4-HMAC-SHA256\n20150830T124600Z\n20150830/us-east-1/kinesis/"
      "aws4_request\n" +
      client::auth::Sha256Hex(creq);
  EXPECT_EQ(st.message(), errors::SignatureMismatch(creq, sts).message());
}

TEST_F(KinesisVerify, AlteredBodyOrSignedHeaderFails) {
  OwnedRequest r = Signed(kNowTp);
  r.body = "{\"Limit\":1}";
  EXPECT_EQ(Verifier().Verify(r.View()).code(), Code::kInvalidSignature);
  OwnedRequest r2 = Signed(kNowTp);
  *r2.Find("x-amz-target") = "Kinesis_20131202.DeleteStream";
  EXPECT_EQ(Verifier().Verify(r2.View()).code(), Code::kInvalidSignature);
  // An unsigned header may change.
  OwnedRequest r3 = Signed(kNowTp);
  r3.headers.emplace_back("User-Agent", "x");
  EXPECT_TRUE(Verifier().Verify(r3.View()).ok());
}

TEST_F(KinesisVerify, UnknownKeyIsUnrecognizedClient) {
  OwnedRequest r = Signed(kNowTp, "NOBODY");
  const Status st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kAccessDenied);
  EXPECT_EQ(st.message(), "The security token included in the request is invalid.");
}

TEST_F(KinesisVerify, SessionTokens) {
  // A key configured with a token: exactly that token passes.
  EXPECT_TRUE(Verifier("TOKEN").Verify(Signed(kNowTp, "AKID", "secret", "TOKEN").View()).ok());
  for (const char* token : {"", "OTHER-TOKEN", "TOKEN2", "TOKE"}) {
    OwnedRequest r = Signed(kNowTp, "AKID", "secret", token);
    const Status st = Verifier("TOKEN").Verify(r.View());
    EXPECT_EQ(st.code(), Code::kAccessDenied) << token;
    EXPECT_EQ(st.message(), "The security token included in the request is invalid.");
  }
  // A key without a token rejects any token.
  OwnedRequest r = Signed(kNowTp, "AKID", "secret", "TOKEN");
  EXPECT_EQ(Verifier().Verify(r.View()).code(), Code::kAccessDenied);
  // The token is part of the signature: changing it after signing fails as a token error.
  OwnedRequest r2 = Signed(kNowTp, "AKID", "secret", "TOKEN");
  *r2.Find("x-amz-security-token") = "TOKEX";
  EXPECT_EQ(Verifier("TOKEX").Verify(r2.View()).code(), Code::kInvalidSignature);
}

TEST_F(KinesisVerify, SignatureExpiredText) {
  // The example AWS prints: signed 20150830T123600Z, now 20150830T124600Z.
  OwnedRequest r = Signed(kNowTp - std::chrono::minutes(10));
  const Status st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kInvalidSignature);
  EXPECT_EQ(st.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z "
            "(20150830T124600Z - 5 min.)");
}

TEST_F(KinesisVerify, SignatureNotYetCurrentText) {
  OwnedRequest r = Signed(kNowTp + std::chrono::minutes(6));
  const Status st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kInvalidSignature);
  EXPECT_EQ(st.message(),
            "Signature not yet current: 20150830T125200Z is still later than 20150830T125100Z "
            "(20150830T124600Z + 5 min.)");
}

TEST_F(KinesisVerify, SkewWindowBoundaries) {
  using std::chrono::minutes;
  using std::chrono::seconds;
  EXPECT_TRUE(Verifier().Verify(Signed(kNowTp - minutes(5)).View()).ok());
  EXPECT_TRUE(Verifier().Verify(Signed(kNowTp + minutes(5)).View()).ok());
  EXPECT_FALSE(Verifier().Verify(Signed(kNowTp - minutes(5) - seconds(1)).View()).ok());
  EXPECT_FALSE(Verifier().Verify(Signed(kNowTp + minutes(5) + seconds(1)).View()).ok());
  // A configured window.
  SigV4VerifierOptions o;
  o.keys["AKID"] = SigV4Key{"secret", ""};
  o.clock = &clock_;
  o.max_skew = minutes(15);
  const SigV4Verifier wide(o);
  EXPECT_TRUE(wide.Verify(Signed(kNowTp - minutes(14)).View()).ok());
  const Status st = wide.Verify(Signed(kNowTp - minutes(16)).View());
  EXPECT_EQ(st.message(),
            "Signature expired: 20150830T123000Z is now earlier than 20150830T123100Z "
            "(20150830T124600Z - 15 min.)");
}

TEST_F(KinesisVerify, CredentialScope) {
  Status st = Verifier().Verify(Signed(kNowTp, "AKID", "secret", "", "eu-west-1").View());
  EXPECT_EQ(st.code(), Code::kInvalidSignature);
  EXPECT_EQ(st.message(), "Credential should be scoped to a valid region, not 'eu-west-1'. ");
  st = Verifier().Verify(Signed(kNowTp, "AKID", "secret", "", "us-east-1", "dynamodb").View());
  EXPECT_EQ(st.code(), Code::kInvalidSignature);
  EXPECT_EQ(st.message(), "Credential should be scoped to correct service: 'kinesis'. ");

  OwnedRequest r = Signed(kNowTp);
  std::string* authz = r.Find("authorization");
  const std::size_t p = authz->find("aws4_request");
  authz->replace(p, 12, "aws5_request");
  st = Verifier().Verify(r.View());
  EXPECT_EQ(st.message(),
            "Credential should be scoped with a valid terminator: 'aws4_request', not "
            "'aws5_request'. ");

  OwnedRequest d = Signed(kNowTp);
  authz = d.Find("authorization");
  authz->replace(authz->find("20150830"), 8, "20150831");
  st = Verifier().Verify(d.View());
  EXPECT_EQ(st.code(), Code::kInvalidSignature);
  EXPECT_EQ(st.message(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: '20150831' != '20150830', from '20150830T124600Z'.");
}

TEST_F(KinesisVerify, MalformedPieces) {
  OwnedRequest r = Signed(kNowTp);
  std::string* authz = r.Find("authorization");
  const std::string good = *authz;
  authz->replace(0, 16, "AWS4-HMAC-SHA512");
  Status st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kIncompleteSignature);
  EXPECT_EQ(st.message(), "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'");

  *authz = good;
  authz->replace(authz->find("/us-east-1"), 10, "");
  st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kIncompleteSignature);
  EXPECT_EQ(st.message(),
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKID/20150830/kinesis/aws4_request'");

  *authz = good;
  *r.Find("x-amz-date") = "2015-08-30T12:46:00Z";
  st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kIncompleteSignature);
  EXPECT_EQ(st.message(),
            "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:46:00Z'. See "
            "http://en.wikipedia.org/wiki/ISO_8601");
}

TEST_F(KinesisVerify, HostMustBeSigned) {
  OwnedRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = "{}";
  client::auth::HttpRequestToSign s;
  s.method = "POST";
  s.path = "/";
  s.headers = {{"Content-Type", "application/x-amz-json-1.1"}};
  s.payload = r.body;
  client::auth::Sign(s, {"AKID", "secret", ""}, {"us-east-1", "kinesis", kNowTp});
  r.headers = s.headers;
  r.headers.emplace_back("Host", "127.0.0.1:4567");
  const Status st = Verifier().Verify(r.View());
  EXPECT_EQ(st.code(), Code::kInvalidSignature);
  EXPECT_EQ(st.message(),
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

// The AWS SDK for JavaScript v3 signs HTTP/2's ":authority" instead of host.
TEST_F(KinesisVerify, AuthoritySignedInsteadOfHost) {
  OwnedRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = "{}";
  client::auth::HttpRequestToSign s;
  s.method = "POST";
  s.path = "/";
  s.headers = {{":authority", "127.0.0.1:4567"}, {"content-type", "application/x-amz-json-1.1"}};
  s.payload = r.body;
  client::auth::Sign(s, {"AKID", "secret", ""}, {"us-east-1", "kinesis", kNowTp});
  EXPECT_NE(s.headers.back().second.find("SignedHeaders=:authority;content-type;x-amz-date"),
            std::string::npos);
  r.headers = s.headers;
  r.headers.emplace_back("host", "127.0.0.1:4567");  // as the HTTP/2 session adds it
  EXPECT_TRUE(Verifier().Verify(r.View()).ok());
  *r.Find(":authority") = "127.0.0.1:4568";
  EXPECT_EQ(Verifier().Verify(r.View()).code(), Code::kInvalidSignature);
}

TEST_F(KinesisVerify, PayloadHashHeader) {
  // UNSIGNED-PAYLOAD, when the client signed it, stands for the body.
  OwnedRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = "{}";
  client::auth::HttpRequestToSign s;
  s.method = "POST";
  s.path = "/";
  s.headers = {{"Host", "h"}, {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"}};
  s.payload = r.body;
  const std::vector<std::string> names = {"host", "x-amz-content-sha256", "x-amz-date"};
  s.headers.emplace_back("X-Amz-Date", "20150830T124600Z");
  const sigv4::SigningParams p{"us-east-1", "kinesis", kNowTp};
  const std::string creq = sigv4::CanonicalRequest(s, names, "UNSIGNED-PAYLOAD");
  const std::string sig = sigv4::SignatureHex(sigv4::StringToSign(creq, p), "secret", p);
  s.headers.emplace_back("Authorization",
                         "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kinesis/"
                         "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                         "Signature=" +
                             sig);
  r.headers = s.headers;
  EXPECT_TRUE(Verifier().Verify(r.View()).ok());
  // A claimed hash that is not the body's is not used: the body's hash is.
  *r.Find("x-amz-content-sha256") = std::string(64, 'a');
  EXPECT_EQ(Verifier().Verify(r.View()).code(), Code::kInvalidSignature);
}

TEST_F(KinesisVerify, DateHeaderInsteadOfXAmzDate) {
  OwnedRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = "{}";
  client::auth::HttpRequestToSign s;
  s.method = "POST";
  s.path = "/";
  s.headers = {{"Host", "h"}, {"Date", "Sun, 30 Aug 2015 12:46:00 GMT"}};
  s.payload = r.body;
  const sigv4::SigningParams p{"us-east-1", "kinesis", kNowTp};
  const std::string creq = sigv4::CanonicalRequest(s, {"date", "host"}, sigv4::Sha256Hex(r.body));
  const std::string sig = sigv4::SignatureHex(sigv4::StringToSign(creq, p), "secret", p);
  s.headers.emplace_back("Authorization",
                         "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kinesis/"
                         "aws4_request, SignedHeaders=date;host, Signature=" +
                             sig);
  r.headers = s.headers;
  EXPECT_TRUE(Verifier().Verify(r.View()).ok());
  clock_.Advance(6 * 60 * 1000);
  EXPECT_EQ(Verifier().Verify(r.View()).message(),
            "Signature expired: 20150830T124600Z is now earlier than 20150830T124700Z "
            "(20150830T125200Z - 5 min.)");
}

// Presigned: the signature in the query string, computed over the query without it.
TEST_F(KinesisVerify, PresignedQuery) {
  auto presign = [](const std::string& secret, const std::string& token) {
    OwnedRequest r;
    r.method = "POST";
    r.path = "/";
    r.body = "{}";
    r.headers = {{"Host", "127.0.0.1:4567"}};
    r.query =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2F"
        "kinesis%2Faws4_request&X-Amz-Date=20150830T124600Z&X-Amz-Expires=300&"
        "X-Amz-SignedHeaders=host";
    if (!token.empty()) r.query += "&X-Amz-Security-Token=" + token;
    sigv4::HttpRequestToSign s;
    s.method = r.method;
    s.path = r.path;
    s.query = r.query;
    s.headers = r.headers;
    const sigv4::SigningParams p{"us-east-1", "kinesis", kNowTp};
    const std::string creq = sigv4::CanonicalRequest(s, {"host"}, sigv4::Sha256Hex(r.body));
    r.query += "&X-Amz-Signature=" + sigv4::SignatureHex(sigv4::StringToSign(creq, p), secret, p);
    return r;
  };
  OwnedRequest ok = presign("secret", "");
  EXPECT_TRUE(Verifier().Verify(ok.View()).ok());
  OwnedRequest tok = presign("secret", "TOKEN");
  EXPECT_TRUE(Verifier("TOKEN").Verify(tok.View()).ok());
  EXPECT_EQ(Verifier("OTHER").Verify(tok.View()).code(), Code::kAccessDenied);
  OwnedRequest bad = presign("wrong", "");
  EXPECT_EQ(Verifier().Verify(bad.View()).code(), Code::kInvalidSignature);
}

}  // namespace
}  // namespace cinesis::api
