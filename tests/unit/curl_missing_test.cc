// libcurl loaded at first use (src/client/curl_api.h): when libcurl.so.4 cannot be loaded,
// every HTTP call (the Kinesis service, its event streams, the credential sources) fails
// with kIoError naming the library and its package, and nothing crashes. The whole process
// runs without libcurl: a test environment points the loader at a library that does not
// exist before anything loads it (its own executable, so the other tests keep libcurl).
#include <gtest/gtest.h>

#include <string>

#include "client/aws_http.h"
#include "client/curl_api.h"
#include "client/http_service.h"

namespace cinesis::client {
namespace {

constexpr const char* kMissing = "libcinesis-test-no-such-curl.so.4";

class NoLibcurl : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(curl::SetLibraryForTesting(kMissing)); }
};
[[maybe_unused]] ::testing::Environment* const no_libcurl =
    ::testing::AddGlobalTestEnvironment(new NoLibcurl);

void ExpectNamesLibraryAndPackage(const Status& s) {
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
  EXPECT_NE(s.message().find(kMissing), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("apt-get install libcurl4"), std::string::npos) << s.message();
}

HttpBackend Service() {
  HttpOptions options;
  options.endpoint = "http://127.0.0.1:1";
  options.region = "us-east-1";
  auth::Credentials creds;
  creds.access_key_id = "AKID";
  creds.secret_access_key = "SECRET";
  return NewHttpService(options, auth::StaticCredentials(creds));
}

TEST(CurlMissing, LoadFailsWithTheLibraryAndThePackageEveryTime) {
  ExpectNamesLibraryAndPackage(curl::Load());
  ExpectNamesLibraryAndPackage(curl::Load());
  EXPECT_FALSE(curl::SetLibraryForTesting("libcurl.so.4"));  // the first outcome stays
}

TEST(CurlMissing, KinesisCallsFailWithIoError) {
  auto backend = Service();
  auto listed = backend.service->ListStreams({});
  ASSERT_FALSE(listed.ok());
  ExpectNamesLibraryAndPackage(listed.status());
  api::SubscribeToShardInput in;
  in.consumer_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1";
  in.shard_id = "shardId-000000000000";
  bool called = false;
  ExpectNamesLibraryAndPackage(
      backend.events->SubscribeToShard(in, [&](const api::SubscribeToShardEvent&) {
        called = true;
        return true;
      }));
  EXPECT_FALSE(called);
}

TEST(CurlMissing, CredentialSourcesFailWithIoError) {
  auth::HttpCall call;
  call.url = "http://127.0.0.1:1/";
  auto reply = auth::Fetch(call);
  ASSERT_FALSE(reply.ok());
  ExpectNamesLibraryAndPackage(reply.status());
}

// The typed setopt refuses a value of the wrong kind for the option (libcurl would read it
// with va_arg as another type); checked before libcurl is called, so no library is needed.
std::size_t Ignore(char*, std::size_t size, std::size_t n, void*) { return size * n; }

TEST(CurlSetopt, ValueOfTheWrongKindIsRefusedBeforeLibcurlIsCalled) {
  CURL* none = nullptr;
  EXPECT_EQ(curl::EasySetopt(none, CURLOPT_URL, 1L), CURLE_BAD_FUNCTION_ARGUMENT);
  EXPECT_EQ(curl::EasySetopt(none, CURLOPT_TIMEOUT_MS, "1000"), CURLE_BAD_FUNCTION_ARGUMENT);
  EXPECT_EQ(curl::EasySetopt(none, CURLOPT_POSTFIELDSIZE_LARGE, nullptr),
            CURLE_BAD_FUNCTION_ARGUMENT);
  EXPECT_EQ(curl::EasySetopt(none, CURLOPT_WRITEDATA, &Ignore), CURLE_BAD_FUNCTION_ARGUMENT);
  EXPECT_EQ(curl::EasySetopt(none, CURLOPT_URL, &Ignore), CURLE_BAD_FUNCTION_ARGUMENT);
  EXPECT_EQ(curl::EasySetoptLong(none, CURLOPT_POSTFIELDSIZE_LARGE, 1),
            CURLE_BAD_FUNCTION_ARGUMENT);
  EXPECT_EQ(curl::EasySetoptOffT(none, CURLOPT_TIMEOUT_MS, 1), CURLE_BAD_FUNCTION_ARGUMENT);
}

}  // namespace
}  // namespace cinesis::client
