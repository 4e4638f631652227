// Endpoint resolution and credentials for local endpoints (issue 12, item 4): where a
// KinesisClient sends its requests when the code names no endpoint, that a loopback
// endpoint works without any credentials (signed with dummy ones, against the real HTTP
// server in process), and that a non-loopback endpoint without credentials fails with an
// error naming every source of the chain.
#include <gtest/gtest.h>
#include <stdlib.h>  // setenv, unsetenv, mkdtemp

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "cinesis/client.h"
#include "cinesis/testing/local_kinesis.h"
#include "engine/engine.h"
#include "server/http_server.h"

namespace cinesis {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAwsEnv[] = {"AWS_ACCESS_KEY_ID",
                                   "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN",
                                   "AWS_PROFILE",
                                   "AWS_SHARED_CREDENTIALS_FILE",
                                   "AWS_CONFIG_FILE",
                                   "AWS_REGION",
                                   "AWS_DEFAULT_REGION",
                                   "AWS_ENDPOINT_URL",
                                   "AWS_ENDPOINT_URL_KINESIS",
                                   "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                                   "AWS_EC2_METADATA_DISABLED",
                                   "HOME"};

// Clears the AWS environment and points HOME at an empty temp dir (the real ~/.aws is
// never read); restores everything afterwards.
class EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kAwsEnv) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      unsetenv(name);
    }
    std::string tmpl = (fs::temp_directory_path() / "cinesis-endpoint-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    setenv("HOME", dir_.c_str(), 1);
    // The chain ends with IMDS (issue 20): never 169.254.169.254 from a unit test.
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  }
  void TearDown() override {
    for (const char* name : kAwsEnv) {
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
  void WriteConfig(const std::string& text) {
    const fs::path p = dir_ / ".aws" / "config";
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

  fs::path dir_;
  std::map<std::string, std::string> saved_;
};

TEST_F(EndpointTest, ExplicitThenKinesisEnvThenGlobalEnvThenProfileThenRegional) {
  ClientOptions o;
  o.region = "eu-west-1";
  auto regional = ResolveEndpoint(o);
  ASSERT_TRUE(regional.ok()) << regional.status().ToString();
  EXPECT_EQ(regional->url, "https://kinesis.eu-west-1.amazonaws.com");
  EXPECT_EQ(regional->source, ResolvedEndpoint::Source::kRegional);
  EXPECT_EQ(regional->region, "eu-west-1");
  EXPECT_FALSE(regional->loopback);

  WriteConfig("[default]\nendpoint_url = http://localhost:1111\n");
  auto profile = ResolveEndpoint(o);
  EXPECT_EQ(profile->url, "http://localhost:1111");
  EXPECT_EQ(profile->source, ResolvedEndpoint::Source::kProfile);
  EXPECT_TRUE(profile->loopback);

  setenv("AWS_ENDPOINT_URL", "http://10.1.2.3:2222", 1);
  auto global = ResolveEndpoint(o);
  EXPECT_EQ(global->url, "http://10.1.2.3:2222");
  EXPECT_EQ(global->source, ResolvedEndpoint::Source::kGlobalEnv);
  EXPECT_FALSE(global->loopback);

  setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:3333", 1);
  auto service = ResolveEndpoint(o);
  EXPECT_EQ(service->url, "http://127.0.0.1:3333");
  EXPECT_EQ(service->source, ResolvedEndpoint::Source::kServiceEnv);
  EXPECT_EQ(service->origin, "AWS_ENDPOINT_URL_KINESIS");
  EXPECT_TRUE(service->loopback);

  o.endpoint = "https://vpce-1.kinesis.eu-west-1.vpce.amazonaws.com";
  auto explicit_endpoint = ResolveEndpoint(o);
  EXPECT_EQ(explicit_endpoint->url, "https://vpce-1.kinesis.eu-west-1.vpce.amazonaws.com");
  EXPECT_EQ(explicit_endpoint->source, ResolvedEndpoint::Source::kExplicit);

  o.endpoint = "";  // empty counts as not set
  EXPECT_EQ(ResolveEndpoint(o)->source, ResolvedEndpoint::Source::kServiceEnv);
}

TEST_F(EndpointTest, IgnoreFlagSkipsConfiguredEndpointsButNotTheExplicitOne) {
  ClientOptions o;
  o.region = "us-west-2";
  WriteConfig("[default]\nendpoint_url = http://localhost:1111\n");
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2222", 1);
  setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:3333", 1);
  setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
  auto ignored = ResolveEndpoint(o);
  ASSERT_TRUE(ignored.ok()) << ignored.status().ToString();
  EXPECT_EQ(ignored->url, "https://kinesis.us-west-2.amazonaws.com");
  EXPECT_EQ(ignored->source, ResolvedEndpoint::Source::kRegional);
  o.endpoint = "http://127.0.0.1:4444";
  EXPECT_EQ(ResolveEndpoint(o)->url, "http://127.0.0.1:4444");
}

TEST_F(EndpointTest, MalformedEndpointIsRejectedNamingWhereItCameFrom) {
  setenv("AWS_ENDPOINT_URL_KINESIS", "127.0.0.1:4567", 1);
  auto r = ResolveEndpoint(ClientOptions{});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("AWS_ENDPOINT_URL_KINESIS"), std::string::npos)
      << r.status().message();
  auto c = KinesisClient::Create(ClientOptions{});
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
}

TEST_F(EndpointTest, NonLoopbackEndpointWithoutCredentialsNamesTheChainTried) {
  ClientOptions o;
  o.endpoint = "http://192.0.2.10:4567";
  auto c = KinesisClient::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  const std::string& m = c.status().message();
  for (const char* part :
       {"no AWS credentials found; tried: ",
        "explicit (ClientOptions.access_key_id/secret_access_key): not given",
        "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
        "profile \"default\": ", "/.aws/credentials does not exist", "/.aws/config does not exist",
        "for http://192.0.2.10:4567, from ClientOptions.endpoint",
        "only a loopback endpoint works without credentials"}) {
    EXPECT_NE(m.find(part), std::string::npos) << "missing \"" << part << "\" in: " << m;
  }
  // The same for the regional AWS endpoint chosen by default.
  auto aws = KinesisClient::Create(ClientOptions{});
  ASSERT_FALSE(aws.ok());
  EXPECT_NE(aws.status().message().find("https://kinesis.us-east-1.amazonaws.com"),
            std::string::npos)
      << aws.status().message();
}

// The real HTTP server over the in-process engine, on a free loopback port.
class LocalServer {
 public:
  LocalServer() : server_(Options(), kinesis_.engine(), {}, &kinesis_.engine()) {}
  ~LocalServer() {
    server_.Stop();
    if (thread_.joinable()) thread_.join();
  }
  Result<std::uint16_t> Start() {
    auto port = server_.Listen();
    if (port.ok()) thread_ = std::thread([this] { server_.Run(); });
    return port;
  }

 private:
  static server::ServerOptions Options() {
    server::ServerOptions so;
    so.host = "127.0.0.1";
    so.port = 0;
    so.threads = 1;
    return so;
  }
  testing::LocalKinesis kinesis_;
  server::HttpServer server_;
  std::thread thread_;
};

TEST_F(EndpointTest, LoopbackEndpointWorksWithoutCredentials) {
  LocalServer server;
  auto port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  // From AWS_ENDPOINT_URL_KINESIS, as a user of the AWS SDKs would point at a local server.
  setenv("AWS_ENDPOINT_URL_KINESIS", ("http://localhost:" + std::to_string(*port)).c_str(), 1);
  ClientOptions o;
  o.request_timeout = std::chrono::seconds(10);
  auto client = KinesisClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  // The server refuses unsigned requests (MissingAuthenticationToken): these are signed.
  ASSERT_TRUE(
      (*client)->CreateStream({"local", 1, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  auto put =
      (*client)->PutRecord({{"local", std::nullopt}, "payload", "key", std::nullopt, std::nullopt});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto listed = (*client)->ListStreams({});
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->stream_names.size(), 1U);
  EXPECT_EQ(listed->stream_names[0], "local");
}

}  // namespace
}  // namespace cinesis
