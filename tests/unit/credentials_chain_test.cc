// The AWS credentials chain on real services' wire formats (issue 20), each against a local
// fake on 127.0.0.1 (tests/unit/fake_http.h): IMDSv2 (token PUT + TTL header) and the v1
// fallback rules, the container endpoint (authorization token and token file, host
// allow-list), STS AssumeRoleWithWebIdentity / AssumeRole answering AWS's XML (and its
// ErrorResponse), credential_process, the SSO token cache + portal. For each, a KinesisClient
// signs with what the fake issued (captured on a loopback "Kinesis" endpoint). Then refresh
// (single flight under concurrency, a failed refresh keeps valid credentials until expiry),
// chain order, "a misconfigured source stops the chain", and the endpoint tables.
// No network beyond 127.0.0.1: IMDS is disabled unless a test points it at a fake.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>  // setenv, unsetenv, mkdtemp
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cinesis/client.h"
#include "cinesis/log.h"
#include "client/aws_http.h"
#include "client/credential_providers.h"
#include "client/credentials.h"
#include "client/sts.h"
#include "fake_http.h"

namespace cinesis {
namespace {

namespace fs = std::filesystem;
using client::auth::Credentials;
using testing::FakeHttp;

constexpr const char* kEnv[] = {"AWS_ACCESS_KEY_ID",
                                "AWS_SECRET_ACCESS_KEY",
                                "AWS_SESSION_TOKEN",
                                "AWS_PROFILE",
                                "AWS_SHARED_CREDENTIALS_FILE",
                                "AWS_CONFIG_FILE",
                                "AWS_REGION",
                                "AWS_DEFAULT_REGION",
                                "AWS_ENDPOINT_URL",
                                "AWS_ENDPOINT_URL_KINESIS",
                                "AWS_ENDPOINT_URL_STS",
                                "AWS_ENDPOINT_URL_SSO",
                                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                                "AWS_WEB_IDENTITY_TOKEN_FILE",
                                "AWS_ROLE_ARN",
                                "AWS_ROLE_SESSION_NAME",
                                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                "AWS_EC2_METADATA_DISABLED",
                                "AWS_EC2_METADATA_V1_DISABLED",
                                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                                "AWS_USE_FIPS_ENDPOINT",
                                "AWS_USE_DUALSTACK_ENDPOINT",
                                "HOME"};

std::string Iso(EpochMillis ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

EpochMillis Now() { return SystemClock::Instance().NowMillis(); }

std::string CredsJson(const std::string& key, EpochMillis expiration) {
  return R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":")" + key +
         R"(","SecretAccessKey":"SECRET-)" + key + R"(","Token":"TOKEN-)" + key +
         R"(","Expiration":")" + Iso(expiration) + R"("})";
}

std::string StsXml(const std::string& action, const std::string& key, EpochMillis expiration) {
  return "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <" +
         action +
         "Result>\n    <AssumedRoleUser>\n      "
         "<Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn>\n      "
         "<AssumedRoleId>AROA3XFRBF535PLBIFPI4:s</AssumedRoleId>\n    </AssumedRoleUser>\n    "
         "<Credentials>\n      <SessionToken>TOKEN-" +
         key + "&amp;more</SessionToken>\n      <SecretAccessKey>SECRET-" + key +
         "</SecretAccessKey>\n      <Expiration>" + Iso(expiration) +
         "</Expiration>\n      <AccessKeyId>" + key + "</AccessKeyId>\n    </Credentials>\n  </" +
         action +
         "Result>\n  <ResponseMetadata>\n    <RequestId>c6104cbe-af31-11e0-8154</RequestId>\n" +
         "  </ResponseMetadata>\n</" + action + "Response>\n";
}

const char* kStsAccessDenied =
    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    "
    "<Type>Sender</Type>\n    <Code>AccessDenied</Code>\n    <Message>User: "
    "arn:aws:iam::123456789012:user/dev is not authorized to perform: sts:AssumeRole on resource: "
    "arn:aws:iam::123456789012:role/demo</Message>\n  </Error>\n  "
    "<RequestId>8b4d0d4c-2d7e-4c3d</RequestId>\n</ErrorResponse>\n";

std::string Sha1Hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr);
  std::string out;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

// A loopback "Kinesis" that answers ListStreams and records the signed requests.
FakeHttp::Reply KinesisReply(const FakeHttp::Request&) {
  return {200, R"({"StreamNames":[],"HasMoreStreams":false})", "application/x-amz-json-1.1"};
}

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kEnv) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      unsetenv(name);
    }
    std::string tmpl = (fs::temp_directory_path() / "cinesis-chain-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    setenv("HOME", dir_.c_str(), 1);
    // Never 169.254.169.254 from a unit test; tests that want IMDS point it at a fake.
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  }
  void TearDown() override {
    for (const char* name : kEnv) {
      auto it = saved_.find(name);
      if (it == saved_.end()) {
        unsetenv(name);
      } else {
        setenv(name, it->second.c_str(), 1);
      }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& rel, const std::string& text, bool exec = false) {
    const fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    if (exec) chmod(p.c_str(), 0700);
    return p.string();
  }
  void Config(const std::string& text) { Write(".aws/config", text); }
  void CredentialsFile(const std::string& text) { Write(".aws/credentials", text); }

  // Lists streams through a KinesisClient on the loopback `kinesis` fake and returns the
  // Authorization and X-Amz-Security-Token headers it received.
  std::pair<std::string, std::string> SignedBy(FakeHttp& kinesis) {
    ClientOptions o;
    o.endpoint = kinesis.url();
    o.region = "us-east-1";
    o.retry.max_attempts = 1;
    auto c = KinesisClient::Create(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return {};
    auto r = (*c)->ListStreams(api::ListStreamsInput{});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    const auto reqs = kinesis.requests();
    if (reqs.empty()) return {};
    return {reqs.back().Header("authorization"), reqs.back().Header("x-amz-security-token")};
  }

  fs::path dir_;
  std::map<std::string, std::string> saved_;
};

// ---- IMDS -----------------------------------------------------------------------------

// An IMDS fake: the token PUT must carry the TTL header; with `require_token`, metadata
// GETs without the token are refused (401) as IMDSv2-only instances do.
struct FakeImds {
  explicit FakeImds(int token_status = 200, bool require_token = true)
      : server([token_status, require_token](const FakeHttp::Request& r) -> FakeHttp::Reply {
          if (r.method == "PUT" && r.target == "/latest/api/token") {
            if (token_status != 200) return {token_status, "", "text/plain"};
            if (r.Header("x-aws-ec2-metadata-token-ttl-seconds").empty()) {
              return {400, "missing TTL", "text/plain"};
            }
            return {200, "IMDSTOKEN", "text/plain"};
          }
          const bool has_token = r.Header("x-aws-ec2-metadata-token") == "IMDSTOKEN";
          if (require_token && !has_token) return {401, "", "text/plain"};
          if (r.target == "/latest/meta-data/iam/security-credentials/") {
            return {200, "demo-role", "text/plain"};
          }
          if (r.target == "/latest/meta-data/iam/security-credentials/demo-role") {
            return {200, CredsJson("ASIAIMDS", Now() + 3600'000)};
          }
          if (r.target == "/latest/meta-data/placement/region") {
            return {200, "eu-central-1", "text/plain"};
          }
          return {404, "", "text/plain"};
        }) {}
  FakeHttp server;
};

TEST_F(ChainTest, ImdsV2TokenThenRoleThenCredentialsAndTheClientSignsWithThem) {
  FakeImds imds;
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.server.url().c_str(), 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  auto c = client::auth::ImdsCredentials()->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->session_token, "TOKEN-ASIAIMDS");
  ASSERT_TRUE(c->expiration.has_value());
  EXPECT_NEAR(static_cast<double>(*c->expiration), static_cast<double>(Now() + 3600'000), 5000);
  const auto reqs = imds.server.requests();
  ASSERT_GE(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].Header("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
  for (std::size_t i = 1; i < reqs.size(); ++i) {
    EXPECT_EQ(reqs[i].Header("x-aws-ec2-metadata-token"), "IMDSTOKEN") << reqs[i].target;
  }

  FakeHttp kinesis(KinesisReply);
  auto [auth, token] = SignedBy(kinesis);
  EXPECT_NE(auth.find("Credential=ASIAIMDS/"), std::string::npos) << auth;
  EXPECT_EQ(token, "TOKEN-ASIAIMDS");
}

TEST_F(ChainTest, ImdsFallsBackToV1OnlyWhenAllowed) {
  FakeImds imds(/*token_status=*/403, /*require_token=*/false);
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.server.url().c_str(), 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  auto v1 = client::auth::ImdsCredentials()->Get();
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->access_key_id, "ASIAIMDS");
  EXPECT_FALSE(imds.server.requests().back().Has("x-aws-ec2-metadata-token"));

  const int before = imds.server.Count("/latest/meta-data/");
  setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
  auto refused = client::auth::ImdsCredentials()->Get();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("IMDSv1 is disabled"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(imds.server.Count("/latest/meta-data/"), before) << "no v1 request once disabled";

  // The config-file spelling of the same switch.
  unsetenv("AWS_EC2_METADATA_V1_DISABLED");
  Config("[default]\nec2_metadata_v1_disabled = true\n");
  EXPECT_FALSE(client::auth::ImdsCredentials()->Get().ok());
}

// Behind a container's hop limit of 1 the token PUT's reply never arrives (a timeout) while
// v1 GETs work: the SDKs fall back to v1 then, after one timeout, not two.
TEST_F(ChainTest, ImdsTokenTimeoutFallsBackToV1) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  FakeHttp imds([&](const FakeHttp::Request& r) -> FakeHttp::Reply {
    if (r.method == "PUT") {
      released.wait_for(std::chrono::seconds(20));  // swallowed: the client times out
      return {200, "late", "text/plain"};
    }
    if (r.target == "/latest/meta-data/iam/security-credentials/") return {200, "demo-role"};
    return {200, CredsJson("ASIAV1", Now() + 3600'000)};
  });
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url().c_str(), 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  auto c = client::auth::ImdsCredentials()->Get();
  EXPECT_EQ(imds.Count("/latest/api/token", "PUT"), 1) << "a silent IMDS is not asked twice";
  setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
  auto refused = client::auth::ImdsCredentials()->Get();
  release.set_value();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAV1");
  EXPECT_FALSE(refused.ok());
}

TEST_F(ChainTest, ImdsTokenBadRequestIsAnErrorAndDisabledMeansNoRequest) {
  FakeImds bad(/*token_status=*/400, /*require_token=*/false);
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", bad.server.url().c_str(), 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  auto r = client::auth::ImdsCredentials()->Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  EXPECT_EQ(bad.server.Count("/latest/meta-data/"), 0);

  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  const auto n = bad.server.requests().size();
  EXPECT_EQ(client::auth::ImdsCredentials()->Get().status().code(), Code::kResourceNotFound);
  EXPECT_EQ(bad.server.requests().size(), n);
}

TEST_F(ChainTest, RegionComesFromImdsOnlyWhenNothingElseIsSet) {
  FakeImds imds;
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.server.url().c_str(), 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  auto r = client::auth::ResolveRegionWithOrigin(std::nullopt, std::nullopt, true);
  EXPECT_EQ(r.region, "eu-central-1");
  EXPECT_EQ(r.origin, "EC2 instance metadata");
  const int calls = imds.server.Count("/latest/meta-data/placement/region");
  EXPECT_EQ(calls, 1);
  Config("[default]\nregion = ap-south-1\n");
  EXPECT_EQ(client::auth::ResolveRegionWithOrigin(std::nullopt, std::nullopt, true).region,
            "ap-south-1");
  setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
  EXPECT_EQ(client::auth::ResolveRegionWithOrigin(std::nullopt, std::nullopt, true).region,
            "us-west-1");
  setenv("AWS_REGION", "us-west-2", 1);
  EXPECT_EQ(client::auth::ResolveRegionWithOrigin(std::nullopt, std::nullopt, true).region,
            "us-west-2");
  EXPECT_EQ(client::auth::ResolveRegionWithOrigin("sa-east-1", std::nullopt, true).origin,
            "ClientOptions.region");
  EXPECT_EQ(imds.server.Count("/latest/meta-data/placement/region"), calls);
}

// ---- container --------------------------------------------------------------------------

TEST_F(ChainTest, ContainerSendsTheAuthorizationTokenAndTheTokenFileWins) {
  FakeHttp container([](const FakeHttp::Request& r) -> FakeHttp::Reply {
    const std::string auth = r.Header("authorization");
    if (auth == "env-token") return {200, CredsJson("ASIAENVTOK", Now() + 3600'000)};
    if (auth == "file-token") return {200, CredsJson("ASIAFILETOK", Now() + 3600'000)};
    return {401, R"({"message":"no token"})"};
  });
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", (container.url() + "/v1/credentials").c_str(), 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token", 1);
  auto a = client::auth::ContainerCredentials()->Get();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->access_key_id, "ASIAENVTOK");
  EXPECT_EQ(container.requests().back().target, "/v1/credentials");

  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Write("eks-token", "file-token\n").c_str(), 1);
  auto b = client::auth::ContainerCredentials()->Get();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->access_key_id, "ASIAFILETOK");

  FakeHttp kinesis(KinesisReply);
  auto [auth, token] = SignedBy(kinesis);
  EXPECT_NE(auth.find("Credential=ASIAFILETOK/"), std::string::npos) << auth;
  EXPECT_EQ(token, "TOKEN-ASIAFILETOK");

  // A token the endpoint refuses: the configured source fails and stops the chain.
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Write("bad-token", "nope").c_str(), 1);
  auto c = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().code(), Code::kResourceNotFound);
  EXPECT_NE(c.status().message().find("HTTP 401"), std::string::npos) << c.status().message();
}

TEST_F(ChainTest, ContainerFullUriHostAllowList) {
  auto url_for = [](const char* full) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", full, 1);
    return client::auth::ContainerCredentialsUrl();
  };
  for (const char* ok :
       {"http://127.0.0.1:80/creds", "http://localhost/creds", "http://[::1]:8080/x",
        "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials", "https://creds.example.com/x"}) {
    auto r = url_for(ok);
    EXPECT_TRUE(r.ok() && r->has_value()) << ok;
  }
  for (const char* bad :
       {"http://192.0.2.10/creds", "http://169.254.169.254/creds", "http://creds.example.com/x",
        "http://[fd00:ec2::254]/x", "ftp://127.0.0.1/x"}) {
    auto r = url_for(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  // Refused before any connection: the provider fails at once with the rule, and the chain
  // stops there.
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10:9/creds", 1);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("must name a loopback host"), std::string::npos)
      << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << "no connect";
  // The relative URI always goes to 169.254.170.2.
  unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
  auto rel = client::auth::ContainerCredentialsUrl();
  ASSERT_TRUE(rel.ok() && rel->has_value());
  EXPECT_EQ(**rel, "http://169.254.170.2/v2/credentials/abc");
}

// ---- STS --------------------------------------------------------------------------------

TEST_F(ChainTest, WebIdentityExchangesTheTokenAtStsAndTheClientSignsWithTheResult) {
  FakeHttp sts([](const FakeHttp::Request& r) -> FakeHttp::Reply {
    if (r.body.find("Action=AssumeRoleWithWebIdentity") == std::string::npos ||
        r.body.find("WebIdentityToken=eyJ.oidc.token") == std::string::npos ||
        r.body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Firsa") ==
            std::string::npos ||
        r.body.find("RoleSessionName=my-pod") == std::string::npos) {
      return {400, kStsAccessDenied, "text/xml"};
    }
    return {200, StsXml("AssumeRoleWithWebIdentity", "ASIAWEBID", Now() + 3600'000), "text/xml"};
  });
  setenv("AWS_ENDPOINT_URL_STS", sts.url().c_str(), 1);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", Write("token", "eyJ.oidc.token\n").c_str(), 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa", 1);
  setenv("AWS_ROLE_SESSION_NAME", "my-pod", 1);
  auto c = client::auth::WebIdentityCredentials()->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAWEBID");
  EXPECT_EQ(c->session_token, "TOKEN-ASIAWEBID&more");  // entity decoded
  EXPECT_FALSE(sts.requests().back().Has("authorization")) << "the token is the proof";

  FakeHttp kinesis(KinesisReply);
  auto [auth, token] = SignedBy(kinesis);
  EXPECT_NE(auth.find("Credential=ASIAWEBID/"), std::string::npos) << auth;
  EXPECT_EQ(token, "TOKEN-ASIAWEBID&more");

  // Half configured: an error, not a fall-through.
  unsetenv("AWS_ROLE_ARN");
  EXPECT_EQ(client::auth::DefaultCredentialsChain()->Get().status().code(), Code::kInvalidArgument);
}

TEST_F(ChainTest, AssumeRoleWithSourceProfileIsSignedWithTheSourceKeysAndChains) {
  FakeHttp sts([](const FakeHttp::Request& r) -> FakeHttp::Reply {
    const std::string auth = r.Header("authorization");
    if (r.body.find("Action=AssumeRole&") == std::string::npos) return {400, kStsAccessDenied};
    // Hop 1 is signed with the static source keys, hop 2 with hop 1's result.
    if (auth.find("Credential=AKIASOURCE/") != std::string::npos &&
        r.body.find("role%2Fmiddle") != std::string::npos) {
      return {200, StsXml("AssumeRole", "ASIAMIDDLE", Now() + 3600'000), "text/xml"};
    }
    if (auth.find("Credential=ASIAMIDDLE/") != std::string::npos &&
        r.Header("x-amz-security-token") == "TOKEN-ASIAMIDDLE&more" &&
        r.body.find("role%2Ffinal") != std::string::npos &&
        r.body.find("ExternalId=ext-1") != std::string::npos &&
        r.body.find("DurationSeconds=900") != std::string::npos) {
      return {200, StsXml("AssumeRole", "ASIAFINAL", Now() + 3600'000), "text/xml"};
    }
    return {403, kStsAccessDenied, "text/xml"};
  });
  setenv("AWS_ENDPOINT_URL_STS", sts.url().c_str(), 1);
  CredentialsFile("[base]\naws_access_key_id = AKIASOURCE\naws_secret_access_key = S\n");
  Config(
      "[profile middle]\nrole_arn = arn:aws:iam::123456789012:role/middle\nsource_profile = "
      "base\n[profile final]\nrole_arn = arn:aws:iam::123456789012:role/final\n"
      "source_profile = middle\nexternal_id = ext-1\nregion = eu-west-1\n"
      "duration_seconds = 900\n");
  setenv("AWS_PROFILE", "final", 1);
  auto c = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAFINAL");
  EXPECT_EQ(c->provider, "profile \"final\"");
  EXPECT_EQ(sts.requests().size(), 2u);
  // The STS call is signed for service sts in the profile's region.
  EXPECT_NE(sts.requests().back().Header("authorization").find("/eu-west-1/sts/aws4_request"),
            std::string::npos);

  FakeHttp kinesis(KinesisReply);
  auto [auth, token] = SignedBy(kinesis);
  EXPECT_NE(auth.find("Credential=ASIAFINAL/"), std::string::npos) << auth;
  EXPECT_FALSE(token.empty());
}

TEST_F(ChainTest, StsErrorResponseCarriesCodeAndMessageAndStopsTheChain) {
  FakeHttp sts([](const FakeHttp::Request&) -> FakeHttp::Reply {
    return {403, kStsAccessDenied, "text/xml"};
  });
  setenv("AWS_ENDPOINT_URL_STS", sts.url().c_str(), 1);
  CredentialsFile("[base]\naws_access_key_id = AKIASOURCE\naws_secret_access_key = S\n");
  Config("[profile r]\nrole_arn = arn:aws:iam::123456789012:role/demo\nsource_profile = base\n");
  // Container credentials are configured too: the chain must not fall through to them.
  FakeHttp container([](const FakeHttp::Request&) -> FakeHttp::Reply {
    return {200, CredsJson("ASIACONTAINER", Now() + 3600'000)};
  });
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url().c_str(), 1);
  auto r = client::auth::DefaultCredentialsChain({}, "r")->Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAccessDenied);
  EXPECT_NE(r.status().message().find("AccessDenied: User: arn:aws:iam::123456789012:user/dev is "
                                      "not authorized to perform: sts:AssumeRole"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(container.requests().size(), 0u);
}

TEST_F(ChainTest, StsReplyParsing) {
  auto ok = client::auth::ParseStsReply(StsXml("AssumeRole", "ASIAX", 1'800'000'000'000), 200,
                                        "AssumeRole");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->access_key_id, "ASIAX");
  EXPECT_EQ(ok->secret_access_key, "SECRET-ASIAX");
  EXPECT_EQ(*ok->expiration, 1'800'000'000'000);
  // Namespace prefixes, fractional seconds.
  auto prefixed = client::auth::ParseStsReply(
      "<sts:AssumeRoleResponse><sts:AssumeRoleResult><sts:Credentials><sts:AccessKeyId>A"
      "</sts:AccessKeyId><sts:SecretAccessKey>S</sts:SecretAccessKey><sts:SessionToken>T"
      "</sts:SessionToken><sts:Expiration>2027-01-15T08:00:00.123Z</sts:Expiration>"
      "</sts:Credentials></sts:AssumeRoleResult></sts:AssumeRoleResponse>",
      200, "AssumeRole");
  ASSERT_TRUE(prefixed.ok()) << prefixed.status().ToString();
  EXPECT_EQ(*prefixed->expiration, 1800000000000LL);  // 2027-01-15T08:00:00Z, .123 dropped
  auto missing = client::auth::ParseStsReply("<AssumeRoleResponse/>", 200, "AssumeRole");
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  auto throttled = client::auth::ParseStsReply(
      "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
      "</ErrorResponse>",
      400, "AssumeRole");
  EXPECT_EQ(throttled.status().code(), Code::kIoError);
  EXPECT_NE(throttled.status().message().find("Throttling: Rate exceeded"), std::string::npos);
}

TEST_F(ChainTest, StsEndpointsPerPartition) {
  EXPECT_EQ(client::auth::ResolveStsEndpoint("eu-west-1").url,
            "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(client::auth::ResolveStsEndpoint("cn-north-1").url,
            "https://sts.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(client::auth::ResolveStsEndpoint("us-gov-west-1").url,
            "https://sts.us-gov-west-1.amazonaws.com");
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
  EXPECT_EQ(client::auth::ResolveStsEndpoint("eu-west-1").url, "http://127.0.0.1:1");
  setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2", 1);
  EXPECT_EQ(client::auth::ResolveStsEndpoint("eu-west-1").url, "http://127.0.0.1:2");
}

// ---- misconfigured sources ------------------------------------------------------------------

TEST_F(ChainTest, BrokenSourceProfileStopsTheChain) {
  FakeHttp container([](const FakeHttp::Request&) -> FakeHttp::Reply {
    return {200, CredsJson("ASIACONTAINER", Now() + 3600'000)};
  });
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url().c_str(), 1);
  // Sanity: with no profile set up the container supplies the credentials.
  auto fallback = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_TRUE(fallback.ok()) << fallback.status().ToString();
  EXPECT_EQ(fallback->access_key_id, "ASIACONTAINER");

  for (const char* config :
       {"[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = missing\n",
        "[default]\nrole_arn = arn:aws:iam::1:role/r\n",
        "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = a\n"
        "credential_source = Environment\n",
        "[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Somewhere\n",
        "[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment\n",
        "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n",
        "[default]\nsso_session = nowhere\nsso_account_id = 1\nsso_role_name = r\n",
        "[default]\ncredential_process = false\n"}) {
    Config(config);
    const int before = static_cast<int>(container.requests().size());
    auto r = client::auth::DefaultCredentialsChain()->Get();
    ASSERT_FALSE(r.ok()) << config;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << config << r.status().ToString();
    EXPECT_NE(r.status().message().find("profile \"default\""), std::string::npos)
        << r.status().message();
    EXPECT_EQ(static_cast<int>(container.requests().size()), before) << config;
  }
}

// ---- credential_process -------------------------------------------------------------------

TEST_F(ChainTest, CredentialProcessJsonVersion1) {
  const std::string exp = Iso(Now() + 3600'000);
  const std::string script =
      Write("bin/creds.sh",
            "#!/bin/sh\n[ \"$1\" = \"--account\" ] || exit 3\n"
            "printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", \"SecretAccessKey\": \"S\", "
            "\"SessionToken\": \"TOKEN-ASIAPROC\", \"Expiration\": \"" +
                exp + "\"}'\n",
            true);
  Config("[default]\ncredential_process = " + script + " --account 1\n");
  auto c = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAPROC");
  EXPECT_TRUE(c->expiration.has_value());

  FakeHttp kinesis(KinesisReply);
  auto [auth, token] = SignedBy(kinesis);
  EXPECT_NE(auth.find("Credential=ASIAPROC/"), std::string::npos) << auth;
  EXPECT_EQ(token, "TOKEN-ASIAPROC");

  const std::string v2 = Write("bin/v2.sh",
                               "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", "
                               "\"SecretAccessKey\": \"S\"}'\n",
                               true);
  Config("[default]\ncredential_process = " + v2 + "\n");
  auto bad = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"Version\": 1"), std::string::npos)
      << bad.status().message();
  Config("[default]\ncredential_process = " + script + " --wrong\n");
  auto failed = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("exit status 3"), std::string::npos)
      << failed.status().message();
}

// ---- SSO --------------------------------------------------------------------------------------

TEST_F(ChainTest, SsoCachedTokenIsExchangedAtThePortal) {
  FakeHttp portal([](const FakeHttp::Request& r) -> FakeHttp::Reply {
    if (r.Header("x-amz-sso_bearer_token") != "sso-access-token" ||
        r.target != "/federation/credentials?account_id=123456789012&role_name=ReadOnly") {
      return {401, R"({"message":"Session token not found or invalid"})"};
    }
    return {200, R"({"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"S",)"
                 R"("sessionToken":"TOKEN-ASIASSO","expiration":)" +
                     std::to_string(Now() + 3600'000) + "}}"};
  });
  setenv("AWS_ENDPOINT_URL_SSO", portal.url().c_str(), 1);
  Config(
      "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = "
      "ReadOnly\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
      "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n");
  setenv("AWS_PROFILE", "dev", 1);
  auto missing = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("aws sso login --sso-session corp"), std::string::npos)
      << missing.status().message();

  Write(".aws/sso/cache/" + Sha1Hex("corp") + ".json",
        R"({"startUrl":"https://corp.awsapps.com/start","region":"us-east-1",)"
        R"("accessToken":"sso-access-token","expiresAt":")" +
            Iso(Now() + 3600'000) + R"("})");
  auto c = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIASSO");

  FakeHttp kinesis(KinesisReply);
  auto [auth, token] = SignedBy(kinesis);
  EXPECT_NE(auth.find("Credential=ASIASSO/"), std::string::npos) << auth;
  EXPECT_EQ(token, "TOKEN-ASIASSO");

  // An expired token is an error telling the user to log in again (no portal call).
  const int calls = static_cast<int>(portal.requests().size());
  Write(".aws/sso/cache/" + Sha1Hex("corp") + ".json",
        R"({"accessToken":"sso-access-token","expiresAt":")" + Iso(Now() - 60'000) + R"("})");
  auto expired = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.status().message().find("has expired"), std::string::npos);
  EXPECT_EQ(static_cast<int>(portal.requests().size()), calls);

  // Legacy profile: the cache file is keyed by the start URL.
  Config(
      "[profile dev]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-1\n"
      "sso_account_id = 123456789012\nsso_role_name = ReadOnly\n");
  Write(".aws/sso/cache/" + Sha1Hex("https://legacy.awsapps.com/start") + ".json",
        R"({"accessToken":"sso-access-token","expiresAt":")" + Iso(Now() + 600'000) + R"("})");
  auto legacy = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  EXPECT_EQ(legacy->access_key_id, "ASIASSO");
}

// ---- chain order ---------------------------------------------------------------------------

TEST_F(ChainTest, ChainOrderExplicitEnvWebIdentityProfileContainerImds) {
  FakeImds imds;
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.server.url().c_str(), 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  FakeHttp container([](const FakeHttp::Request&) -> FakeHttp::Reply {
    return {200, CredsJson("ASIACONTAINER", Now() + 3600'000)};
  });
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url().c_str(), 1);
  CredentialsFile("[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = S\n");
  FakeHttp sts([](const FakeHttp::Request&) -> FakeHttp::Reply {
    return {200, StsXml("AssumeRoleWithWebIdentity", "ASIAWEBID", Now() + 3600'000), "text/xml"};
  });
  setenv("AWS_ENDPOINT_URL_STS", sts.url().c_str(), 1);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", Write("token", "t").c_str(), 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "S", 1);

  auto who = [](std::optional<Credentials> explicit_creds = {}) {
    auto r = client::auth::DefaultCredentialsChain(std::move(explicit_creds))->Get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->access_key_id + " from " + r->provider : r.status().ToString();
  };
  EXPECT_EQ(who(Credentials{"AKIAEXPLICIT", "S", ""}), "AKIAEXPLICIT from explicit");
  EXPECT_EQ(who(), "AKIAENV from environment");
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(who(), "ASIAWEBID from web identity");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_ROLE_ARN");
  EXPECT_EQ(who(), "AKIAPROFILE from profile \"default\"");
  fs::remove(dir_ / ".aws/credentials");
  EXPECT_EQ(who(), "ASIACONTAINER from container credentials");
  unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  EXPECT_EQ(who(), "ASIAIMDS from EC2 instance metadata");
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  auto none = client::auth::DefaultCredentialsChain()->Get();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("EC2 instance metadata: disabled by "
                                         "AWS_EC2_METADATA_DISABLED"),
            std::string::npos)
      << none.status().message();
}

TEST_F(ChainTest, LoopbackChainSkipsUnconfiguredImdsAndEndsWithDummyCredentials) {
  unsetenv("AWS_EC2_METADATA_DISABLED");  // the default 169.254.169.254 must not be asked
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client::auth::LoopbackCredentialsChain()->Get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->access_key_id, client::auth::kDummyAccessKeyId);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
  auto name = client::auth::LoopbackCredentialsChain()->Name();
  EXPECT_EQ(name.find("EC2 instance metadata"), std::string::npos) << name;
}

// ---- refresh ---------------------------------------------------------------------------------

// A container endpoint issuing ASIA1, ASIA2, ... each valid for one hour of `clock`; the
// handler can be made to block (hold a refresh in flight) or to fail.
struct IssuingEndpoint {
  explicit IssuingEndpoint(const ManualClock& c)
      : clock(c), server([this](const FakeHttp::Request&) -> FakeHttp::Reply {
          int n = 0;
          {
            std::lock_guard lock(mu);
            n = ++issued;
          }
          if (n == block_on) {
            // Held until the test releases it (bounded: never hang a test).
            release.wait_for(std::chrono::seconds(20));
          }
          if (fail) return {500, R"({"message":"unavailable"})"};
          return {200, CredsJson("ASIA" + std::to_string(n), clock.NowMillis() + 3600'000)};
        }) {}
  const ManualClock& clock;
  std::mutex mu;
  int issued = 0;
  int block_on = 0;
  std::atomic<bool> fail{false};
  std::promise<void> released;
  std::shared_future<void> release = released.get_future().share();
  FakeHttp server;
};

TEST_F(ChainTest, RefreshAheadOfExpiryIsSingleFlightUnderConcurrency) {
  ManualClock clock(Now());
  IssuingEndpoint ep(clock);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ep.server.url().c_str(), 1);
  auto provider = client::auth::RefreshingCredentials(client::auth::ContainerCredentials(), clock);
  auto first = provider->Get();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->access_key_id, "ASIA1");
  clock.Advance(50 * 60'000);  // 10 minutes left: no refresh yet
  EXPECT_EQ(provider->Get()->access_key_id, "ASIA1");
  EXPECT_EQ(ep.server.requests().size(), 1u);

  clock.Advance(6 * 60'000);  // 4 minutes left: inside the 5-minute refresh window
  ep.block_on = 2;
  constexpr int kThreads = 8;
  std::mutex mu;
  std::vector<std::string> got;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto r = provider->Get();
      std::lock_guard lock(mu);
      got.push_back(r.ok() ? r->access_key_id : r.status().ToString());
    });
  }
  // Everyone but the refreshing thread returns at once with the still-valid credentials
  // while the refresh is held in flight at the fake.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (static_cast<int>(got.size()) == kThreads - 1) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "callers blocked on the refresh";
    std::this_thread::yield();
  }
  {
    std::lock_guard lock(mu);
    for (const auto& k : got) EXPECT_EQ(k, "ASIA1");
  }
  ep.released.set_value();
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.back(), "ASIA2");  // the refreshing caller gets the new ones
  EXPECT_EQ(ep.server.requests().size(), 2u) << "exactly one refresh";
  EXPECT_EQ(provider->Get()->access_key_id, "ASIA2");
  EXPECT_EQ(ep.server.requests().size(), 2u);
}

// Expired credentials: every caller waits for the one refresh in flight and gets its result;
// a caller that waits longer than wait_limit gets an error instead of hanging.
TEST_F(ChainTest, ExpiredCredentialsMakeCallersWaitForTheOneRefresh) {
  ManualClock clock(Now());
  IssuingEndpoint ep(clock);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ep.server.url().c_str(), 1);
  client::auth::RefreshOptions options;
  options.wait_limit = std::chrono::milliseconds(300);
  auto provider =
      client::auth::RefreshingCredentials(client::auth::ContainerCredentials(), clock, options);
  ASSERT_EQ(provider->Get()->access_key_id, "ASIA1");
  clock.Advance(61 * 60'000);  // expired: nothing valid to hand out meanwhile
  ep.block_on = 2;
  std::mutex mu;
  std::vector<std::string> got;
  auto get = [&] {
    auto r = provider->Get();
    std::lock_guard lock(mu);
    got.push_back(r.ok() ? r->access_key_id : r.status().message());
  };
  std::thread refresher(get);
  while (ep.server.requests().size() < 2) std::this_thread::yield();
  // The refresh is in flight and held: this caller waits, past its wait limit.
  std::thread late(get);
  late.join();
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], "timed out waiting for a credentials refresh");
  }
  // Callers waiting when the refresh ends get its credentials.
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) waiters.emplace_back(get);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let them start waiting
  ep.released.set_value();
  refresher.join();
  for (auto& t : waiters) t.join();
  std::lock_guard lock(mu);
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_EQ(got[i], "ASIA2") << i;
  EXPECT_EQ(ep.server.requests().size(), 2u) << "exactly one refresh";
}

TEST_F(ChainTest, FailedRefreshKeepsCredentialsUntilExpiryThenErrors) {
  ManualClock clock(Now());
  IssuingEndpoint ep(clock);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ep.server.url().c_str(), 1);
  std::mutex log_mu;
  std::vector<std::string> warnings;
  SetLogSink([&](LogLevel level, std::string_view, std::string_view message) {
    std::lock_guard lock(log_mu);
    if (level == LogLevel::kWarning) warnings.emplace_back(message);
  });
  auto provider = client::auth::RefreshingCredentials(client::auth::ContainerCredentials(), clock);
  ASSERT_EQ(provider->Get()->access_key_id, "ASIA1");
  ep.fail = true;
  clock.Advance(57 * 60'000);  // 3 minutes left
  auto kept = provider->Get();
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->access_key_id, "ASIA1");
  const std::size_t attempts = ep.server.requests().size();
  EXPECT_GE(attempts, 2u);
  // Not retried on every call (backoff), still the old credentials.
  EXPECT_EQ(provider->Get()->access_key_id, "ASIA1");
  EXPECT_EQ(ep.server.requests().size(), attempts);
  clock.Advance(2 * 60'000);  // 1 minute left: retried, fails again, still valid
  EXPECT_EQ(provider->Get()->access_key_id, "ASIA1");
  EXPECT_GT(ep.server.requests().size(), attempts);
  clock.Advance(60'000);  // expired now
  auto expired = provider->Get();
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.status().message().find("HTTP 500"), std::string::npos)
      << expired.status().message();
  SetLogSink(nullptr);
  std::lock_guard lock(log_mu);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.front().find("keeping the current credentials until they expire"),
            std::string::npos)
      << warnings.front();
  // Recovery: the source works again.
  ep.fail = false;
  EXPECT_TRUE(provider->Get().ok());
}

// ---- endpoints ---------------------------------------------------------------------------------

TEST(EndpointTables, EveryPartitionWithFipsAndDualStack) {
  using client::auth::KinesisEndpoint;
  struct Case {
    const char* region;
    bool fips, dual;
    const char* url;
  } cases[] = {
      {"us-east-1", false, false, "https://kinesis.us-east-1.amazonaws.com"},
      {"us-east-1", true, false, "https://kinesis-fips.us-east-1.amazonaws.com"},
      {"us-east-1", false, true, "https://kinesis.us-east-1.api.aws"},
      {"us-east-1", true, true, "https://kinesis-fips.us-east-1.api.aws"},
      {"eu-west-1", false, false, "https://kinesis.eu-west-1.amazonaws.com"},
      {"cn-north-1", false, false, "https://kinesis.cn-north-1.amazonaws.com.cn"},
      {"cn-northwest-1", true, false, "https://kinesis-fips.cn-northwest-1.amazonaws.com.cn"},
      {"cn-north-1", false, true, "https://kinesis.cn-north-1.api.amazonwebservices.com.cn"},
      {"cn-north-1", true, true, "https://kinesis-fips.cn-north-1.api.amazonwebservices.com.cn"},
      {"us-gov-west-1", false, false, "https://kinesis.us-gov-west-1.amazonaws.com"},
      {"us-gov-east-1", true, false, "https://kinesis.us-gov-east-1.amazonaws.com"},
      {"us-gov-east-1", false, true, "https://kinesis.us-gov-east-1.api.aws"},
      {"us-gov-west-1", true, true, "https://kinesis-fips.us-gov-west-1.api.aws"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(KinesisEndpoint(c.region, c.fips, c.dual), c.url)
        << c.region << " fips=" << c.fips << " dual=" << c.dual;
  }
  EXPECT_EQ(client::auth::PartitionOf("cn-north-1").name, "aws-cn");
  EXPECT_EQ(client::auth::PartitionOf("us-gov-west-1").name, "aws-us-gov");
  EXPECT_EQ(client::auth::PartitionOf("ap-southeast-4").name, "aws");
}

TEST_F(ChainTest, FipsAndDualStackFromEnvironmentOrProfile) {
  ClientOptions o;
  o.region = "us-west-2";
  EXPECT_EQ(ResolveEndpoint(o)->url, "https://kinesis.us-west-2.amazonaws.com");
  Config("[default]\nuse_fips_endpoint = true\n");
  EXPECT_EQ(ResolveEndpoint(o)->url, "https://kinesis-fips.us-west-2.amazonaws.com");
  setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);  // the environment wins over the profile
  setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
  EXPECT_EQ(ResolveEndpoint(o)->url, "https://kinesis.us-west-2.api.aws");
  setenv("AWS_USE_FIPS_ENDPOINT", "TRUE", 1);
  auto both = ResolveEndpoint(o);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->url, "https://kinesis-fips.us-west-2.api.aws");
  EXPECT_NE(both->origin.find("(FIPS) (dual-stack)"), std::string::npos) << both->origin;
  o.region = "cn-north-1";
  EXPECT_EQ(ResolveEndpoint(o)->url,
            "https://kinesis-fips.cn-north-1.api.amazonwebservices.com.cn");
  setenv("AWS_USE_FIPS_ENDPOINT", "yes", 1);
  auto bad = ResolveEndpoint(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("AWS_USE_FIPS_ENDPOINT"), std::string::npos);
  // An explicit endpoint is taken as is.
  o.endpoint = "http://127.0.0.1:4567";
  unsetenv("AWS_USE_FIPS_ENDPOINT");
  EXPECT_EQ(ResolveEndpoint(o)->url, "http://127.0.0.1:4567");
}

}  // namespace
}  // namespace cinesis
