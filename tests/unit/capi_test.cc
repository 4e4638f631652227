// The C interface (include/cinesis/cinesis.h) against LocalKinesis: every function's
// success path and its error paths with the message text.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "capi/internal.h"
#include "capi/options.h"
#include "cinesis/cinesis.h"
#include "cinesis/stores.h"

namespace {

using namespace std::chrono_literals;

std::string LastError() { return cinesis_last_error(); }

// Options from a list of pairs.
struct Opts {
  Opts(std::initializer_list<std::pair<const char*, const char*>> kv) : o(cinesis_options_new()) {
    for (const auto& [k, v] : kv) EXPECT_EQ(cinesis_options_set(o, k, v), CINESIS_OK);
  }
  ~Opts() { cinesis_options_destroy(o); }
  cinesis_options_t* o;
};

class CapiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(cinesis_local_new(nullptr, &local_), CINESIS_OK) << LastError();
    client_ = cinesis_local_client(local_);
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override { cinesis_local_destroy(local_); }

  void CreateStream(const char* name, int shards) {
    ASSERT_EQ(cinesis_create_stream(client_, name, shards), CINESIS_OK) << LastError();
    ASSERT_EQ(cinesis_wait_for_active(client_, name, 5000), CINESIS_OK) << LastError();
  }

  cinesis_local_t* local_ = nullptr;
  cinesis_client_t* client_ = nullptr;
};

TEST(CapiErrors, EveryCodeMapsBothWaysAndHasItsName) {
  for (int i = 0; i <= static_cast<int>(cinesis::Code::kFailedPrecondition); ++i) {
    const auto code = static_cast<cinesis::Code>(i);
    const cinesis_err_t err = cinesis::capi::ErrFromCode(code);
    EXPECT_EQ(cinesis::capi::CodeFromErr(err), code) << i;
    EXPECT_EQ(std::string(cinesis_err_name(err)), cinesis::CodeName(code)) << i;
    EXPECT_EQ(cinesis_err_retriable(err), cinesis::IsRetriable(code) ? 1 : 0) << i;
  }
  EXPECT_STREQ(cinesis_err_name(CINESIS_OK), "OK");
  EXPECT_STREQ(cinesis_err_name(CINESIS_ERR_RESOURCE_NOT_FOUND), "ResourceNotFoundException");
  EXPECT_STREQ(cinesis_err_name(CINESIS_ERR_IO), "IOError");
  EXPECT_STREQ(cinesis_err_name(CINESIS_ERR_DEADLINE_EXCEEDED), "DeadlineExceeded");
  EXPECT_STREQ(cinesis_err_name(CINESIS_ERR_FAILED_PRECONDITION), "FailedPrecondition");
  EXPECT_STREQ(cinesis_err_name(CINESIS_ERR_BAD_HANDLE), "BadHandle");
  EXPECT_STREQ(cinesis_err_name(static_cast<cinesis_err_t>(99)), "Unknown");
  EXPECT_EQ(cinesis_err_retriable(CINESIS_ERR_PROVISIONED_THROUGHPUT_EXCEEDED), 1);
  EXPECT_EQ(cinesis_err_retriable(CINESIS_ERR_BAD_HANDLE), 0);
  EXPECT_STREQ(cinesis_version(), CINESIS_VERSION_STRING);
  EXPECT_EQ(cinesis_version_number(), CINESIS_VERSION_NUMBER);
}

TEST(CapiErrors, LastErrorIsPerThreadAndKeptOnSuccess) {
  EXPECT_EQ(cinesis_create_stream(nullptr, "s", 1), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_create_stream: client is NULL");
  EXPECT_EQ(cinesis_last_error_code(), CINESIS_ERR_BAD_HANDLE);
  std::string other;
  std::thread([&] { other = cinesis_last_error(); }).join();
  EXPECT_EQ(other, "");
  cinesis_options_t* o = cinesis_options_new();
  EXPECT_EQ(cinesis_options_set(o, "a", "b"), CINESIS_OK);
  EXPECT_EQ(LastError(), "cinesis_create_stream: client is NULL");  // not cleared
  cinesis_options_destroy(o);
}

TEST(CapiErrors, NullAndWrongTypeHandlesAreRejectedByName) {
  cinesis_options_t* o = cinesis_options_new();
  auto* wrong_client = reinterpret_cast<cinesis_client_t*>(o);
  auto* wrong_producer = reinterpret_cast<cinesis_producer_t*>(o);
  auto* wrong_consumer = reinterpret_cast<cinesis_consumer_t*>(o);
  auto* wrong_store = reinterpret_cast<cinesis_store_t*>(o);
  auto* wrong_local = reinterpret_cast<cinesis_local_t*>(o);
  char* json = nullptr;
  size_t n = 0;
  cinesis_record_t rec{"k", "d", 1, nullptr, 0};
  cinesis_delivery_t d;
  cinesis_batch_t* batch = nullptr;
  cinesis_event_t ev;
  cinesis_scope_t scope{"app", "s"};

  struct Case {
    cinesis_err_t err;
    const char* message;
  };
  const std::vector<Case> cases = {
      {cinesis_options_set(nullptr, "k", "v"), "cinesis_options_set: options is NULL"},
      {cinesis_options_set(o, nullptr, "v"), "cinesis_options_set: key is NULL"},
      {cinesis_client_call(wrong_client, "ListStreams", "{}", &json),
       "cinesis_client_call: client is not a cinesis_client_t handle"},
      {cinesis_describe_stream(nullptr, "s", &json), "cinesis_describe_stream: client is NULL"},
      {cinesis_list_streams(wrong_client, &json),
       "cinesis_list_streams: client is not a cinesis_client_t handle"},
      {cinesis_producer_new(wrong_client, o, nullptr),
       "cinesis_producer_new: client is not a cinesis_client_t handle"},
      {cinesis_producer_put(wrong_producer, &rec),
       "cinesis_producer_put: producer is not a cinesis_producer_t handle"},
      {cinesis_producer_put_batch(nullptr, &rec, 1, &n),
       "cinesis_producer_put_batch: producer is NULL"},
      {cinesis_producer_poll(wrong_producer, &d, 1, 0, &n),
       "cinesis_producer_poll: producer is not a cinesis_producer_t handle"},
      {cinesis_producer_flush(nullptr, 10), "cinesis_producer_flush: producer is NULL"},
      {cinesis_producer_close(wrong_producer, 10),
       "cinesis_producer_close: producer is not a cinesis_producer_t handle"},
      {cinesis_consumer_poll(wrong_consumer, 0, &batch),
       "cinesis_consumer_poll: consumer is not a cinesis_consumer_t handle"},
      {cinesis_consumer_commit(nullptr), "cinesis_consumer_commit: consumer is NULL"},
      {cinesis_consumer_events(wrong_consumer, &ev, 1, &n),
       "cinesis_consumer_events: consumer is not a cinesis_consumer_t handle"},
      {cinesis_consumer_stop(nullptr), "cinesis_consumer_stop: consumer is NULL"},
      {cinesis_store_save(wrong_store, &scope, "sh", "1", 0),
       "cinesis_store_save: store is not a cinesis_store_t handle"},
      {cinesis_store_load(nullptr, &scope, "sh", &json, nullptr),
       "cinesis_store_load: store is NULL"},
      {cinesis_local_tick(wrong_local),
       "cinesis_local_tick: local is not a cinesis_local_t handle"},
      {cinesis_store_open_sqlite(nullptr, &wrong_store), "cinesis_store_open_sqlite: path is NULL"},
      {cinesis_store_new_custom(nullptr, nullptr, &wrong_store),
       "cinesis_store_new_custom: callbacks is NULL"},
  };
  for (const auto& c : cases) EXPECT_EQ(c.err, CINESIS_ERR_BAD_HANDLE) << c.message;
  // Messages are per call: re-run each and compare (the table ran them all first).
  EXPECT_EQ(cinesis_consumer_poll(wrong_consumer, 0, &batch), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_consumer_poll: consumer is not a cinesis_consumer_t handle");
  for (const auto& c : cases) {
    (void)c;
  }
  // Each message in turn (the functions are cheap and side-effect free on failure).
  EXPECT_EQ(cinesis_producer_put(wrong_producer, &rec), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_producer_put: producer is not a cinesis_producer_t handle");
  EXPECT_EQ(cinesis_store_load(nullptr, &scope, "sh", &json, nullptr), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_store_load: store is NULL");
  EXPECT_EQ(cinesis_local_client(wrong_local), nullptr);
  EXPECT_EQ(LastError(), "cinesis_local_client: local is not a cinesis_local_t handle");
  EXPECT_EQ(cinesis_consumer_worker_id(nullptr), nullptr);
  EXPECT_EQ(LastError(), "cinesis_consumer_worker_id: consumer is NULL");
  EXPECT_EQ(cinesis_batch_count(reinterpret_cast<cinesis_batch_t*>(o)), 0u);
  // Destroy functions ignore NULL and wrong types.
  cinesis_client_destroy(wrong_client);
  cinesis_producer_destroy(wrong_producer);
  cinesis_consumer_destroy(wrong_consumer);
  cinesis_store_destroy(wrong_store);
  cinesis_local_destroy(wrong_local);
  cinesis_batch_destroy(nullptr);
  cinesis_options_destroy(nullptr);
  cinesis_options_destroy(o);
}

TEST(CapiErrors, MessagesOfEveryBadHandleCase) {
  // One call per line so that each message is checked right after its call.
  char* json = nullptr;
  EXPECT_EQ(cinesis_describe_stream(nullptr, "s", &json), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_describe_stream: client is NULL");
  EXPECT_EQ(cinesis_producer_flush(nullptr, 10), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_producer_flush: producer is NULL");
  EXPECT_EQ(cinesis_consumer_commit(nullptr), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_consumer_commit: consumer is NULL");
  cinesis_store_t* s = nullptr;
  EXPECT_EQ(cinesis_store_open_sqlite(nullptr, &s), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_store_open_sqlite: path is NULL");
}

TEST(CapiOptions, UnknownKeysAndBadValuesNameTheKey) {
  cinesis_local_t* local = nullptr;
  ASSERT_EQ(cinesis_local_new(nullptr, &local), CINESIS_OK);
  cinesis_client_t* client = cinesis_local_client(local);
  cinesis_producer_t* p = nullptr;
  {
    Opts o{{"stream", "s"}, {"lingerr", "5"}};
    EXPECT_EQ(cinesis_producer_new(client, o.o, &p), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(), "InvalidArgumentException: unknown producer option 'lingerr'");
  }
  {
    Opts o{{"stream", "s"}, {"linger_ms", "soon"}};
    EXPECT_EQ(cinesis_producer_new(client, o.o, &p), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(),
              "InvalidArgumentException: producer option 'linger_ms': bad value 'soon' (want "
              "milliseconds >= 0)");
  }
  {
    Opts o{{"stream", "s"}, {"max_batch_records", "501"}};
    EXPECT_EQ(cinesis_producer_new(client, o.o, &p), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(),
              "InvalidArgumentException: producer option 'max_batch_records': bad value '501' "
              "(want an integer in 1..500)");
  }
  {
    Opts o{{"stream", "s"}, {"overflow", "drop"}};
    EXPECT_EQ(cinesis_producer_new(client, o.o, &p), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(),
              "InvalidArgumentException: producer option 'overflow': bad value 'drop' (want "
              "block or fail)");
  }
  {
    Opts o{{"linger_ms", "5"}};
    EXPECT_EQ(cinesis_producer_new(client, o.o, &p), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(), "InvalidArgumentException: producer option 'stream' is required");
  }
  cinesis_consumer_t* c = nullptr;
  {
    Opts o{{"application", "a"}, {"stream", "s"}, {"checkpoint", "every_records:0"}};
    EXPECT_EQ(cinesis_consumer_new(client, o.o, nullptr, nullptr, &c),
              CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(),
              "InvalidArgumentException: consumer option 'checkpoint': bad value "
              "'every_records:0' (want manual, after_each_batch, every_records:N or every_ms:N "
              "with N > 0)");
  }
  {
    Opts o{{"application", "a"}, {"stream", "s"}, {"deaggregate", "yes"}};
    EXPECT_EQ(cinesis_consumer_new(client, o.o, nullptr, nullptr, &c),
              CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(),
              "InvalidArgumentException: consumer option 'deaggregate': bad value 'yes' (want "
              "true or false)");
  }
  {
    Opts o{{"stream", "s"}};
    EXPECT_EQ(cinesis_consumer_new(client, o.o, nullptr, nullptr, &c),
              CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(), "InvalidArgumentException: consumer option 'application' is required");
  }
  cinesis_client_t* http = nullptr;
  {
    Opts o{{"endpoint", "http://127.0.0.1:1"}, {"timeout_ms", "5"}};
    EXPECT_EQ(cinesis_client_new(o.o, &http), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(), "InvalidArgumentException: unknown client option 'timeout_ms'");
  }
  {
    Opts o{{"endpoint", "http://127.0.0.1:1"}, {"retry.max_attempts", "0"}};
    EXPECT_EQ(cinesis_client_new(o.o, &http), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(),
              "InvalidArgumentException: client option 'retry.max_attempts': bad value '0' "
              "(want an integer in 1..2147483647)");
  }
  {
    Opts o{{"create_stream", "5"}};
    cinesis_local_t* l2 = nullptr;
    EXPECT_EQ(cinesis_local_new(o.o, &l2), CINESIS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(LastError(), "InvalidArgumentException: unknown local option 'create_stream'");
  }
  cinesis_local_destroy(local);
}

// The key list in docs/client.md ("The C interface") is the option tables'.
TEST(CapiOptions, DocsListEveryKeyOfTheTables) {
  std::ifstream f(std::string(CINESIS_SOURCE_DIR) + "/docs/client.md");
  ASSERT_TRUE(f) << "docs/client.md";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  const std::string tables = cinesis::capi::OptionsMarkdown();
  EXPECT_NE(doc.find(tables), std::string::npos)
      << "docs/client.md must contain, verbatim, the generated option tables:\n"
      << tables;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The C example of docs/client.md is tests/unit/capi_doc_example.c (compiled as C99 and
// run by CTest), verbatim.
TEST(CapiDocs, ExampleMatchesTheFile) {
  const std::string doc = ReadFile(std::string(CINESIS_SOURCE_DIR) + "/docs/client.md");
  const std::string file =
      ReadFile(std::string(CINESIS_SOURCE_DIR) + "/tests/unit/capi_doc_example.c");
  const auto section = doc.find("## The C interface");
  ASSERT_NE(section, std::string::npos);
  const auto begin = doc.find("```c\n", section);
  ASSERT_NE(begin, std::string::npos);
  const auto end = doc.find("```\n", begin + 5);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(doc.substr(begin + 5, end - begin - 5), file);
}

TEST_F(CapiTest, StreamAdministrationAndGenericCalls) {
  CreateStream("orders", 2);
  char* json = nullptr;
  ASSERT_EQ(cinesis_describe_stream(client_, "orders", &json), CINESIS_OK) << LastError();
  EXPECT_NE(std::string(json).find("\"StreamStatus\":\"ACTIVE\""), std::string::npos) << json;
  EXPECT_EQ(std::string(json).rfind("{\"StreamDescriptionSummary\":", 0), 0u) << json;
  cinesis_free(json);
  ASSERT_EQ(cinesis_create_stream_on_demand(client_, "od"), CINESIS_OK) << LastError();
  ASSERT_EQ(cinesis_list_streams(client_, &json), CINESIS_OK) << LastError();
  EXPECT_EQ(std::string(json), "{\"StreamNames\":[\"od\",\"orders\"]}");
  cinesis_free(json);
  ASSERT_EQ(cinesis_list_shards(client_, "orders", &json), CINESIS_OK) << LastError();
  EXPECT_NE(std::string(json).find("shardId-000000000001"), std::string::npos) << json;
  cinesis_free(json);

  char shard[32], seq[64];
  ASSERT_EQ(cinesis_put_record(client_, "orders", "k", "hello", 5, nullptr, shard, sizeof shard,
                               seq, sizeof seq),
            CINESIS_OK)
      << LastError();
  EXPECT_EQ(std::string(shard).rfind("shardId-", 0), 0u);
  EXPECT_GT(std::strlen(seq), 20u);
  char tiny[4];
  ASSERT_EQ(cinesis_put_record(client_, "orders", "k", "x", 1, "0", tiny, sizeof tiny, nullptr, 0),
            CINESIS_OK);
  EXPECT_STREQ(tiny, "sha");  // truncated to fit

  // The generic call: the service's JSON (Data in Base64).
  ASSERT_EQ(
      cinesis_client_call(client_, "PutRecord",
                          R"({"StreamName":"orders","PartitionKey":"p","Data":"aGk="})", &json),
      CINESIS_OK)
      << LastError();
  EXPECT_NE(std::string(json).find("\"SequenceNumber\""), std::string::npos) << json;
  cinesis_free(json);
  ASSERT_EQ(cinesis_client_call(client_, "DescribeLimits", nullptr, &json), CINESIS_OK);
  EXPECT_NE(std::string(json).find("ShardLimit"), std::string::npos) << json;
  cinesis_free(json);
  ASSERT_EQ(cinesis_client_call(client_, "AddTagsToStream",
                                R"({"StreamName":"orders","Tags":{"a":"b"}})", &json),
            CINESIS_OK)
      << LastError();
  EXPECT_STREQ(json, "{}");
  cinesis_free(json);

  json = nullptr;
  EXPECT_EQ(cinesis_client_call(client_, "Frobnicate", "{}", &json), CINESIS_ERR_UNKNOWN_OPERATION);
  EXPECT_EQ(LastError(), "UnknownOperationException: no Kinesis operation named 'Frobnicate'");
  EXPECT_EQ(json, nullptr);
  EXPECT_EQ(cinesis_client_call(client_, "ListShards", "[1]", &json), CINESIS_ERR_SERIALIZATION);
  EXPECT_EQ(cinesis_client_call(client_, "DescribeStreamSummary", R"({"StreamName":""})", &json),
            CINESIS_ERR_VALIDATION);
  EXPECT_NE(LastError().find("streamName"), std::string::npos) << LastError();
  EXPECT_EQ(cinesis_client_call(client_, "SubscribeToShard", "{}", &json),
            CINESIS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(cinesis_describe_stream(client_, "nope", &json), CINESIS_ERR_RESOURCE_NOT_FOUND);
  EXPECT_EQ(LastError(),
            "ResourceNotFoundException: Stream nope under account 000000000000 not found.");

  ASSERT_EQ(cinesis_update_shard_count(client_, "orders", 4), CINESIS_OK) << LastError();
  ASSERT_EQ(cinesis_wait_for_active(client_, "orders", 5000), CINESIS_OK) << LastError();
  ASSERT_EQ(cinesis_delete_stream(client_, "od", 0), CINESIS_OK) << LastError();
  ASSERT_EQ(cinesis_local_tick(local_), CINESIS_OK);
  ASSERT_EQ(cinesis_list_streams(client_, &json), CINESIS_OK);
  EXPECT_EQ(std::string(json), "{\"StreamNames\":[\"orders\"]}");
  cinesis_free(json);
}

TEST(CapiLocal, WaitForActiveTimesOutAsDeadlineExceeded) {
  Opts o{{"create_stream_ms", "600000"}};
  cinesis_local_t* local = nullptr;
  ASSERT_EQ(cinesis_local_new(o.o, &local), CINESIS_OK) << LastError();
  cinesis_client_t* client = cinesis_local_client(local);
  ASSERT_EQ(cinesis_create_stream(client, "slow", 1), CINESIS_OK);
  EXPECT_EQ(cinesis_wait_for_active(client, "slow", 0), CINESIS_ERR_DEADLINE_EXCEEDED);
  EXPECT_EQ(LastError(), "DeadlineExceeded: stream slow did not become ACTIVE in time");
  cinesis_local_destroy(local);
}

// A closed port on 127.0.0.1: bound, then released.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(CapiClient, ServerDownIsAnIoError) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
  Opts o{
      {"endpoint", endpoint.c_str()}, {"retry.max_attempts", "1"}, {"connect_timeout_ms", "2000"}};
  cinesis_client_t* client = nullptr;
  ASSERT_EQ(cinesis_client_new(o.o, &client), CINESIS_OK) << LastError();
  char* json = nullptr;
  EXPECT_EQ(cinesis_describe_stream(client, "s", &json), CINESIS_ERR_IO);
  EXPECT_EQ(LastError().rfind("IOError: request to " + endpoint + " failed: ", 0), 0u)
      << LastError();
  EXPECT_EQ(cinesis_err_retriable(cinesis_last_error_code()), 1);
  EXPECT_EQ(json, nullptr);
  cinesis_client_destroy(client);
}

TEST(CapiClient, MissingCredentialsFailAtClientNew) {
  // A non-loopback endpoint needs credentials; none in the environment or files. The
  // failure is at cinesis_client_new, before any traffic.
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS"}) {
    ::unsetenv(v);
  }
  ::setenv("AWS_CONFIG_FILE", "/nonexistent/cinesis-capi-test/config", 1);
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cinesis-capi-test/credentials", 1);
  Opts o{{"endpoint", "https://kinesis.us-east-1.amazonaws.com"}};
  cinesis_client_t* client = nullptr;
  EXPECT_EQ(cinesis_client_new(o.o, &client), CINESIS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(LastError().rfind("InvalidArgumentException: no AWS credentials found; tried: ", 0), 0u)
      << LastError();
  EXPECT_NE(LastError().find("only a loopback endpoint works without credentials"),
            std::string::npos)
      << LastError();
  EXPECT_EQ(client, nullptr);

  Opts half{{"endpoint", "https://kinesis.us-east-1.amazonaws.com"}, {"access_key_id", "AK"}};
  EXPECT_EQ(cinesis_client_new(half.o, &client), CINESIS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(),
            "InvalidArgumentException: ClientOptions.access_key_id: goes together with "
            "secret_access_key");
  ::unsetenv("AWS_CONFIG_FILE");
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

std::vector<cinesis_record_t> Records(std::vector<std::string>& keys,
                                      std::vector<std::string>& data, std::size_t first,
                                      std::size_t n) {
  std::vector<cinesis_record_t> out;
  for (std::size_t i = first; i < first + n; ++i) {
    keys.push_back("key-" + std::to_string(i % 97));
    data.push_back("record-" + std::to_string(i));
  }
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(cinesis_record_t{keys[keys.size() - n + i].c_str(),
                                   data[data.size() - n + i].data(),
                                   data[data.size() - n + i].size(), nullptr, first + i});
  }
  return out;
}

// Produces `total` records "record-<i>" with put_batch and checks every delivery report.
void Produce(cinesis_client_t* client, const char* stream, std::size_t total) {
  Opts o{{"stream", stream},
         {"linger_ms", "5"},
         {"shard_records_per_second", "inf"},
         {"shard_bytes_per_second", "inf"}};
  cinesis_producer_t* p = nullptr;
  ASSERT_EQ(cinesis_producer_new(client, o.o, &p), CINESIS_OK) << LastError();
  std::vector<std::string> keys, data;
  keys.reserve(total);
  data.reserve(total);
  for (std::size_t first = 0; first < total; first += 1000) {
    auto recs = Records(keys, data, first, std::min<std::size_t>(1000, total - first));
    size_t accepted = 0;
    ASSERT_EQ(cinesis_producer_put_batch(p, recs.data(), recs.size(), &accepted), CINESIS_OK)
        << LastError();
    ASSERT_EQ(accepted, recs.size());
  }
  std::set<std::uint64_t> seen;
  std::vector<cinesis_delivery_t> out(700);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (seen.size() < total && std::chrono::steady_clock::now() < deadline) {
    size_t n = 0;
    ASSERT_EQ(cinesis_producer_poll(p, out.data(), out.size(), 1000, &n), CINESIS_OK);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i].err, CINESIS_OK) << out[i].error_message;
      ASSERT_STREQ(out[i].error_message, "");
      ASSERT_EQ(std::string(out[i].shard_id).rfind("shardId-", 0), 0u);
      ASSERT_GT(std::strlen(out[i].sequence_number), 20u);
      ASSERT_GE(out[i].attempts, 1);
      ASSERT_TRUE(seen.insert(out[i].opaque).second) << "report twice: " << out[i].opaque;
    }
  }
  ASSERT_EQ(seen.size(), total);
  EXPECT_EQ(*seen.rbegin(), total - 1);
  ASSERT_EQ(cinesis_producer_flush(p, 10000), CINESIS_OK) << LastError();
  cinesis_producer_metrics_t m{};
  ASSERT_EQ(cinesis_producer_metrics(p, &m), CINESIS_OK);
  EXPECT_EQ(m.records_put, total);
  EXPECT_EQ(m.records_failed, 0u);
  EXPECT_EQ(m.pending_reports, 0u);
  EXPECT_GT(m.put_records_calls, 0u);
  ASSERT_EQ(cinesis_producer_close(p, 10000), CINESIS_OK) << LastError();
  cinesis_producer_destroy(p);
}

TEST_F(CapiTest, ProducerReportsEveryRecordOnce) {
  CreateStream("orders", 4);
  Produce(client_, "orders", 10000);
}

TEST_F(CapiTest, ClosedProducerIsAFailedPrecondition) {
  CreateStream("orders", 1);
  Opts o{{"stream", "orders"}};
  cinesis_producer_t* p = nullptr;
  ASSERT_EQ(cinesis_producer_new(client_, o.o, &p), CINESIS_OK) << LastError();
  ASSERT_EQ(cinesis_producer_close(p, 1000), CINESIS_OK);
  ASSERT_EQ(cinesis_producer_close(p, 1000), CINESIS_OK);  // idempotent
  cinesis_record_t rec{"k", "d", 1, nullptr, 7};
  EXPECT_EQ(cinesis_producer_put(p, &rec), CINESIS_ERR_FAILED_PRECONDITION);
  EXPECT_EQ(LastError(), "FailedPrecondition: producer is closed");
  size_t accepted = 99;
  EXPECT_EQ(cinesis_producer_put_batch(p, &rec, 1, &accepted), CINESIS_ERR_FAILED_PRECONDITION);
  EXPECT_EQ(accepted, 0u);
  size_t n = 9;
  cinesis_delivery_t d;
  EXPECT_EQ(cinesis_producer_poll(p, &d, 1, 0, &n), CINESIS_OK);
  EXPECT_EQ(n, 0u);  // no report for a record that was not accepted
  cinesis_producer_destroy(p);
}

TEST_F(CapiTest, InvalidRecordStopsTheBatchAndCountsTheAccepted) {
  CreateStream("orders", 1);
  Opts o{{"stream", "orders"}};
  cinesis_producer_t* p = nullptr;
  ASSERT_EQ(cinesis_producer_new(client_, o.o, &p), CINESIS_OK) << LastError();
  cinesis_record_t recs[3] = {
      {"a", "1", 1, nullptr, 1}, {"", "2", 1, nullptr, 2}, {"c", "3", 1, nullptr, 3}};
  size_t accepted = 0;
  EXPECT_EQ(cinesis_producer_put_batch(p, recs, 3, &accepted), CINESIS_ERR_VALIDATION);
  EXPECT_EQ(LastError(), "ValidationException: partition key must have 1..256 characters");
  EXPECT_EQ(accepted, 1u);
  recs[1].partition_key = "b";
  recs[1].explicit_hash_key = "not-a-number";
  EXPECT_EQ(cinesis_producer_put_batch(p, recs + 1, 2, &accepted), CINESIS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(), "InvalidArgumentException: Invalid ExplicitHashKey not-a-number");
  EXPECT_EQ(accepted, 0u);
  recs[1].partition_key = nullptr;
  EXPECT_EQ(cinesis_producer_put_batch(p, recs + 1, 1, &accepted), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_producer_put_batch: record->partition_key is NULL");
  ASSERT_EQ(cinesis_producer_flush(p, 10000), CINESIS_OK) << LastError();
  cinesis_delivery_t d[4];
  size_t n = 0;
  ASSERT_EQ(cinesis_producer_poll(p, d, 4, 1000, &n), CINESIS_OK);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(d[0].opaque, 1u);
  cinesis_producer_destroy(p);
}

TEST_F(CapiTest, DeliveryReportsCanBeTurnedOff) {
  CreateStream("orders", 1);
  Opts o{{"stream", "orders"}, {"delivery_reports", "false"}};
  cinesis_producer_t* p = nullptr;
  ASSERT_EQ(cinesis_producer_new(client_, o.o, &p), CINESIS_OK) << LastError();
  cinesis_record_t rec{"k", "d", 1, nullptr, 7};
  ASSERT_EQ(cinesis_producer_put(p, &rec), CINESIS_OK) << LastError();
  ASSERT_EQ(cinesis_producer_flush(p, 10000), CINESIS_OK);
  cinesis_producer_metrics_t m{};
  ASSERT_EQ(cinesis_producer_metrics(p, &m), CINESIS_OK);
  EXPECT_EQ(m.records_put, 1u);
  EXPECT_EQ(m.pending_reports, 0u);
  cinesis_delivery_t d;
  size_t n = 9;
  EXPECT_EQ(cinesis_producer_poll(p, &d, 1, 100, &n), CINESIS_OK);
  EXPECT_EQ(n, 0u);
  cinesis_producer_destroy(p);
}

// ---- packed puts and batch columns (the fast path of bindings) ----

// Drains summaries until `want` arrived (or 30 s).
std::vector<cinesis_put_summary_t> Summaries(cinesis_producer_t* p, std::size_t want) {
  std::vector<cinesis_put_summary_t> got;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    cinesis_put_summary_t out[8];
    size_t n = 0;
    EXPECT_EQ(cinesis_producer_poll_summaries(p, out, 8, 200, &n), CINESIS_OK) << LastError();
    got.insert(got.end(), out, out + n);
  }
  std::sort(got.begin(), got.end(),
            [](const auto& a, const auto& b) { return a.first_opaque < b.first_opaque; });
  return got;
}

// Polls every batch until `want` records arrived, checking its columns against its records.
void ConsumeColumns(cinesis_consumer_t* c, std::size_t want,
                    std::map<std::string, std::string>& key_of_data) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (key_of_data.size() < want && std::chrono::steady_clock::now() < deadline) {
    cinesis_batch_t* b = nullptr;
    ASSERT_EQ(cinesis_consumer_poll(c, 200, &b), CINESIS_OK) << LastError();
    cinesis_batch_columns_t col{};
    ASSERT_EQ(cinesis_batch_columns(b, &col), CINESIS_OK) << LastError();
    const size_t n = cinesis_batch_count(b);
    const cinesis_consumer_record_t* r = cinesis_batch_records(b);
    ASSERT_EQ(col.count, n);
    ASSERT_EQ(col.data_offsets[0], 0u);
    ASSERT_EQ(col.key_offsets[0], 0u);
    ASSERT_EQ(col.shard_offsets[0], 0u);
    std::set<std::string> shards;
    for (size_t i = 0; i < n; ++i) {
      auto field = [&](const char* base, const std::uint64_t* off) {
        return std::string(base + off[i], off[i + 1] - off[i]);
      };
      const std::string data(static_cast<const char*>(r[i].data), r[i].data_len);
      ASSERT_EQ(field(col.data, col.data_offsets), data);
      ASSERT_EQ(field(col.partition_keys, col.key_offsets), r[i].partition_key);
      ASSERT_EQ(field(col.sequence_numbers, col.sequence_offsets), r[i].sequence_number);
      ASSERT_EQ(col.sub_sequence_numbers[i], r[i].sub_sequence_number);
      ASSERT_EQ(col.arrival_ms[i], r[i].arrival_ms);
      ASSERT_EQ((col.flags[i] & CINESIS_RECORD_AGGREGATED) != 0, r[i].aggregated != 0);
      ASSERT_EQ((col.flags[i] & CINESIS_RECORD_HAS_EXPLICIT_HASH_KEY) != 0,
                r[i].explicit_hash_key != nullptr);
      ASSERT_EQ(field(col.explicit_hash_keys, col.explicit_hash_key_offsets),
                r[i].explicit_hash_key != nullptr ? r[i].explicit_hash_key : "");
      ASSERT_LT(col.shard_index[i], col.shard_count);
      const std::uint32_t s = col.shard_index[i];
      ASSERT_EQ(std::string(col.shard_ids + col.shard_offsets[s],
                            col.shard_offsets[s + 1] - col.shard_offsets[s]),
                r[i].shard_id);
      shards.insert(r[i].shard_id);
      key_of_data[data] = r[i].partition_key;
    }
    EXPECT_EQ(col.shard_count, shards.size()) << "shard ids are listed once each";
    cinesis_batch_columns_t again{};
    ASSERT_EQ(cinesis_batch_columns(b, &again), CINESIS_OK);  // built once, same pointers
    EXPECT_EQ(again.data_offsets, col.data_offsets);
    cinesis_batch_destroy(b);
  }
}

TEST_F(CapiTest, PackedPutStoresEveryRecordWithOneSummaryPerCall) {
  CreateStream("orders", 4);
  Opts o{{"stream", "orders"}, {"linger_ms", "5"}};
  cinesis_producer_t* p = nullptr;
  ASSERT_EQ(cinesis_producer_new(client_, o.o, &p), CINESIS_OK) << LastError();
  // Call 1: 500 records, a key each ("key-<i % 7>", "ключ" for every 50th: UTF-8).
  std::string data, keys;
  std::vector<std::uint32_t> data_lens, key_lens;
  std::map<std::string, std::string> want;
  for (int i = 0; i < 500; ++i) {
    const std::string d = "packed-" + std::to_string(i);
    const std::string k = i % 50 == 0 ? "ключ" : "key-" + std::to_string(i % 7);
    data += d;
    keys += k;
    data_lens.push_back(static_cast<std::uint32_t>(d.size()));
    key_lens.push_back(static_cast<std::uint32_t>(k.size()));
    want[d] = k;
  }
  size_t accepted = 0;
  ASSERT_EQ(cinesis_producer_put_packed(p, data.data(), data_lens.data(), keys.data(),
                                        key_lens.data(), 500, 1000, &accepted),
            CINESIS_OK)
      << LastError();
  EXPECT_EQ(accepted, 500u);
  // Call 2: 300 records with one shared key (key_lens NULL), and a record of length 0.
  std::string data2;
  std::vector<std::uint32_t> lens2;
  for (int i = 0; i < 300; ++i) {
    const std::string d = i == 0 ? "" : "shared-" + std::to_string(i);
    data2 += d;
    lens2.push_back(static_cast<std::uint32_t>(d.size()));
    want[d] = "same";
  }
  ASSERT_EQ(cinesis_producer_put_packed(p, data2.data(), lens2.data(), "same", nullptr, 300, 5000,
                                        &accepted),
            CINESIS_OK)
      << LastError();
  EXPECT_EQ(accepted, 300u);
  ASSERT_EQ(cinesis_producer_flush(p, 10000), CINESIS_OK) << LastError();
  const auto sums = Summaries(p, 2);
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0].first_opaque, 1000u);
  EXPECT_EQ(sums[0].records, 500u);
  EXPECT_EQ(sums[0].failed, 0u);
  EXPECT_EQ(sums[1].first_opaque, 5000u);
  EXPECT_EQ(sums[1].records, 300u);
  EXPECT_EQ(sums[1].failed, 0u);
  cinesis_delivery_t d[4];
  size_t n = 9;
  ASSERT_EQ(cinesis_producer_poll(p, d, 4, 0, &n), CINESIS_OK);
  EXPECT_EQ(n, 0u) << "records that succeed have no report of their own";
  cinesis_put_summary_t extra;
  ASSERT_EQ(cinesis_producer_poll_summaries(p, &extra, 1, 0, &n), CINESIS_OK);
  EXPECT_EQ(n, 0u) << "one summary per call";
  cinesis_producer_metrics_t m{};
  ASSERT_EQ(cinesis_producer_metrics(p, &m), CINESIS_OK);
  EXPECT_EQ(m.records_put, 800u);
  cinesis_producer_destroy(p);

  // Read back: every record once, with its key (and the columns agree with the records).
  Opts co{{"application", "app"},
          {"stream", "orders"},
          {"idle_backoff_ms", "50"},
          {"max_get_records_per_second", "inf"}};
  cinesis_consumer_t* c = nullptr;
  ASSERT_EQ(cinesis_consumer_new(client_, co.o, nullptr, nullptr, &c), CINESIS_OK) << LastError();
  std::map<std::string, std::string> got;
  ConsumeColumns(c, want.size(), got);
  EXPECT_EQ(got, want);
  cinesis_consumer_destroy(c);
}

TEST_F(CapiTest, PackedPutFailuresComeBeforeTheirSummary) {
  Opts o{{"stream", "missing"}, {"record_ttl_ms", "300"}, {"linger_ms", "1"}};
  cinesis_producer_t* p = nullptr;
  ASSERT_EQ(cinesis_producer_new(client_, o.o, &p), CINESIS_OK) << LastError();
  const std::uint32_t lens[3] = {1, 2, 3};
  size_t accepted = 0;
  ASSERT_EQ(cinesis_producer_put_packed(p, "abbccc", lens, "k", nullptr, 3, 10, &accepted),
            CINESIS_OK)
      << LastError();
  const auto sums = Summaries(p, 1);
  ASSERT_EQ(sums.size(), 1u);
  EXPECT_EQ(sums[0].first_opaque, 10u);
  EXPECT_EQ(sums[0].records, 3u);
  EXPECT_EQ(sums[0].failed, 3u);
  // Queued before the summary: there without waiting.
  cinesis_delivery_t d[4];
  size_t n = 0;
  ASSERT_EQ(cinesis_producer_poll(p, d, 4, 0, &n), CINESIS_OK);
  ASSERT_EQ(n, 3u);
  std::set<std::uint64_t> opaques;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NE(d[i].err, CINESIS_OK);
    EXPECT_STRNE(d[i].error_message, "");
    opaques.insert(d[i].opaque);
  }
  EXPECT_EQ(opaques, (std::set<std::uint64_t>{10, 11, 12}));
  cinesis_producer_destroy(p);
}

TEST_F(CapiTest, PackedPutStopsAtTheFirstInvalidRecord) {
  CreateStream("orders", 1);
  Opts o{{"stream", "orders"}};
  cinesis_producer_t* p = nullptr;
  ASSERT_EQ(cinesis_producer_new(client_, o.o, &p), CINESIS_OK) << LastError();
  const std::uint32_t lens[3] = {1, 1, 1};
  const std::uint32_t key_lens[3] = {1, 0, 1};  // the second key is empty: invalid
  size_t accepted = 9;
  EXPECT_EQ(cinesis_producer_put_packed(p, "123", lens, "ac", key_lens, 3, 100, &accepted),
            CINESIS_ERR_VALIDATION);
  EXPECT_EQ(LastError(), "ValidationException: partition key must have 1..256 characters");
  EXPECT_EQ(accepted, 1u);
  EXPECT_EQ(cinesis_producer_put_packed(p, "123", nullptr, "k", nullptr, 3, 200, &accepted),
            CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_producer_put_packed: data_lens is NULL");
  EXPECT_EQ(accepted, 0u);
  EXPECT_EQ(cinesis_producer_put_packed(p, nullptr, lens, "k", nullptr, 3, 200, &accepted),
            CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(LastError(), "cinesis_producer_put_packed: data is NULL");
  ASSERT_EQ(cinesis_producer_flush(p, 10000), CINESIS_OK) << LastError();
  const auto sums = Summaries(p, 1);
  ASSERT_EQ(sums.size(), 1u);
  EXPECT_EQ(sums[0].first_opaque, 100u);
  EXPECT_EQ(sums[0].records, 1u) << "the summary covers the accepted records only";
  ASSERT_EQ(cinesis_producer_close(p, 1000), CINESIS_OK);
  EXPECT_EQ(cinesis_producer_put_packed(p, "123", lens, "k", nullptr, 3, 300, &accepted),
            CINESIS_ERR_FAILED_PRECONDITION);
  EXPECT_EQ(accepted, 0u);
  cinesis_put_summary_t s;
  size_t n = 9;
  ASSERT_EQ(cinesis_producer_poll_summaries(p, &s, 1, 100, &n), CINESIS_OK);
  EXPECT_EQ(n, 0u) << "no summary when nothing was accepted";
  EXPECT_EQ(cinesis_producer_poll_summaries(nullptr, &s, 1, 0, &n), CINESIS_ERR_BAD_HANDLE);
  cinesis_producer_destroy(p);
}

TEST_F(CapiTest, BatchColumnsAgreeWithTheRecords) {
  CreateStream("orders", 4);
  Produce(client_, "orders", 3000);
  cinesis_record_t ehk{"key-x", "with-hash-key", 13, "12345", 0};
  ASSERT_EQ(cinesis_put_record(client_, "orders", ehk.partition_key, ehk.data, ehk.data_len,
                               ehk.explicit_hash_key, nullptr, 0, nullptr, 0),
            CINESIS_OK)
      << LastError();
  Opts co{{"application", "app"},
          {"stream", "orders"},
          {"idle_backoff_ms", "50"},
          {"max_get_records_per_second", "inf"},
          {"max_records_per_call", "700"}};
  cinesis_consumer_t* c = nullptr;
  ASSERT_EQ(cinesis_consumer_new(client_, co.o, nullptr, nullptr, &c), CINESIS_OK) << LastError();
  std::map<std::string, std::string> got;
  ConsumeColumns(c, 3001, got);
  ASSERT_EQ(got.size(), 3001u);
  EXPECT_EQ(got["with-hash-key"], "key-x");
  EXPECT_EQ(got["record-2999"], "key-" + std::to_string(2999 % 97));
  // An empty batch still has its offsets' one entry.
  cinesis_batch_t* b = nullptr;
  ASSERT_EQ(cinesis_consumer_poll(c, 0, &b), CINESIS_OK) << LastError();
  cinesis_batch_columns_t col{};
  ASSERT_EQ(cinesis_batch_columns(b, &col), CINESIS_OK);
  EXPECT_EQ(col.count, 0u);
  EXPECT_EQ(col.shard_count, 0u);
  EXPECT_EQ(col.data_offsets[0], 0u);
  EXPECT_EQ(cinesis_batch_columns(nullptr, &col), CINESIS_ERR_BAD_HANDLE);
  EXPECT_EQ(cinesis_batch_columns(b, nullptr), CINESIS_ERR_BAD_HANDLE);
  cinesis_batch_destroy(b);
  cinesis_consumer_destroy(c);
}

// Polls until `want` distinct records were seen (or 60 s), recording data -> count.
// Polls until `want` distinct records were seen, and records of `want_shards` shards (each
// reader that delivered has emitted its lease-taken and shard-started events by then).
void Consume(cinesis_consumer_t* c, std::map<std::string, int>& seen, std::size_t want,
             std::size_t want_shards = 0) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::set<std::string> shards;
  while ((seen.size() < want || shards.size() < want_shards) &&
         std::chrono::steady_clock::now() < deadline) {
    cinesis_batch_t* b = nullptr;
    ASSERT_EQ(cinesis_consumer_poll(c, 200, &b), CINESIS_OK) << LastError();
    const cinesis_consumer_record_t* r = cinesis_batch_records(b);
    const size_t n = cinesis_batch_count(b);
    if (n == 0) {
      EXPECT_EQ(r, nullptr);
    }
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(std::string(r[i].shard_id).rfind("shardId-", 0), 0u);
      ASSERT_EQ(std::string(r[i].partition_key).rfind("key-", 0), 0u);
      ASSERT_GT(r[i].arrival_ms, 0);
      ASSERT_EQ(r[i].explicit_hash_key, nullptr);
      ++seen[std::string(static_cast<const char*>(r[i].data), r[i].data_len)];
      shards.insert(r[i].shard_id);
    }
    cinesis_batch_destroy(b);
  }
}

TEST_F(CapiTest, ConsumerReadsAllAndResumesFromSqliteCheckpoints) {
  CreateStream("orders", 4);
  Produce(client_, "orders", 10000);
  const auto dir =
      std::filesystem::temp_directory_path() / ("capi_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "cp.sqlite").string();
  cinesis_store_t* store = nullptr;
  ASSERT_EQ(cinesis_store_open_sqlite(db.c_str(), &store), CINESIS_OK) << LastError();

  Opts o{{"application", "app"},
         {"stream", "orders"},
         {"checkpoint", "manual"},
         {"idle_backoff_ms", "50"},
         {"max_get_records_per_second", "inf"},
         {"max_records_per_call", "1000"},
         {"worker_id", "w1"}};
  std::map<std::string, int> seen;
  {
    cinesis_consumer_t* c = nullptr;
    ASSERT_EQ(cinesis_consumer_new(client_, o.o, store, store, &c), CINESIS_OK) << LastError();
    EXPECT_STREQ(cinesis_consumer_worker_id(c), "w1");
    // Until every shard delivered: a reader still loading its checkpoint when the consumer
    // stops never starts (no events), however many records the others gave.
    Consume(c, seen, 4000, 4);
    ASSERT_EQ(cinesis_consumer_commit(c), CINESIS_OK) << LastError();
    ASSERT_EQ(cinesis_consumer_stop(c), CINESIS_OK);
    ASSERT_EQ(cinesis_consumer_stop(c), CINESIS_OK);  // idempotent
    cinesis_batch_t* b = nullptr;
    EXPECT_EQ(cinesis_consumer_poll(c, 0, &b), CINESIS_ERR_FAILED_PRECONDITION);
    EXPECT_EQ(LastError(), "FailedPrecondition: consumer is stopped");
    EXPECT_EQ(b, nullptr);
    cinesis_consumer_metrics_t m{};
    ASSERT_EQ(cinesis_consumer_metrics(c, &m), CINESIS_OK);
    EXPECT_GE(m.records, seen.size());
    EXPECT_GT(m.checkpoints, 0u);
    EXPECT_EQ(m.leases_taken, 4u);
    cinesis_event_t ev[64];
    size_t n = 0;
    ASSERT_EQ(cinesis_consumer_events(c, ev, 64, &n), CINESIS_OK);
    std::set<std::string> started, taken;
    for (size_t i = 0; i < n; ++i) {
      if (ev[i].type == CINESIS_EVENT_SHARD_STARTED) started.insert(ev[i].shard_id);
      if (ev[i].type == CINESIS_EVENT_LEASE_TAKEN) taken.insert(ev[i].shard_id);
      EXPECT_NE(ev[i].type, CINESIS_EVENT_ERROR) << ev[i].message;
      EXPECT_GT(ev[i].time_ms, 0);
    }
    EXPECT_EQ(started.size(), 4u);
    EXPECT_EQ(taken.size(), 4u);
    cinesis_consumer_destroy(c);
  }
  const std::size_t first = seen.size();
  ASSERT_GE(first, 4000u);
  ASSERT_LT(first, 10000u);
  {
    // A new consumer of the same application resumes from the checkpoints.
    cinesis_consumer_t* c = nullptr;
    ASSERT_EQ(cinesis_consumer_new(client_, o.o, store, store, &c), CINESIS_OK) << LastError();
    Consume(c, seen, 10000);
    ASSERT_EQ(cinesis_consumer_commit(c), CINESIS_OK) << LastError();
    cinesis_consumer_destroy(c);
  }
  std::size_t missing = 0, duplicated = 0;
  for (std::size_t i = 0; i < 10000; ++i) {
    auto it = seen.find("record-" + std::to_string(i));
    if (it == seen.end()) {
      ++missing;
    } else if (it->second > 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(seen.size(), 10000u);

  // The checkpoints are in the store, readable directly.
  cinesis_scope_t scope{"app", "orders"};
  char* seq = nullptr;
  uint64_t sub = 9;
  ASSERT_EQ(cinesis_store_load(store, &scope, "shardId-000000000000", &seq, &sub), CINESIS_OK);
  ASSERT_NE(seq, nullptr);
  EXPECT_GT(std::strlen(seq), 20u);
  EXPECT_EQ(sub, 0u);
  cinesis_free(seq);
  ASSERT_EQ(cinesis_store_load(store, &scope, "shardId-000000000099", &seq, &sub), CINESIS_OK);
  EXPECT_EQ(seq, nullptr);
  cinesis_store_destroy(store);
  std::filesystem::remove_all(dir);
}

TEST_F(CapiTest, ConsumerOfAMissingStreamReturnsTheErrorAndAnEvent) {
  Opts o{{"application", "app"}, {"stream", "absent"}};
  cinesis_consumer_t* c = nullptr;
  ASSERT_EQ(cinesis_consumer_new(client_, o.o, nullptr, nullptr, &c), CINESIS_OK) << LastError();
  cinesis_err_t err = CINESIS_OK;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (err == CINESIS_OK && std::chrono::steady_clock::now() < deadline) {
    cinesis_batch_t* b = nullptr;
    err = cinesis_consumer_poll(c, 100, &b);
    cinesis_batch_destroy(b);
  }
  EXPECT_EQ(err, CINESIS_ERR_RESOURCE_NOT_FOUND);
  EXPECT_EQ(LastError(),
            "ResourceNotFoundException: Stream absent under account 000000000000 not found.");
  cinesis_event_t ev[8];
  size_t n = 0;
  ASSERT_EQ(cinesis_consumer_events(c, ev, 8, &n), CINESIS_OK);
  ASSERT_GE(n, 1u);
  EXPECT_EQ(ev[n - 1].type, CINESIS_EVENT_ERROR);
  EXPECT_EQ(ev[n - 1].err, CINESIS_ERR_RESOURCE_NOT_FOUND);
  EXPECT_EQ(ev[n - 1].fatal, 1);
  EXPECT_STREQ(ev[n - 1].message,
               "ListShards: ResourceNotFoundException: Stream absent under account 000000000000 "
               "not found.");
  cinesis_consumer_destroy(c);
}

// A custom store in "the caller's language": callbacks over a C++ memory store, with
// injected failures.
struct Custom {
  std::shared_ptr<cinesis::consumer::Store> mem = cinesis::consumer::NewMemoryStore();
  std::atomic<int> fail_load{0};       // a code load returns (0: none)
  std::atomic<int> transient_left{0};  // load fails with CINESIS_ERR_IO this many times
  std::atomic<int> destroyed{0};

  static cinesis::consumer::Scope S(const cinesis_scope_t* s) {
    return {s->application, s->stream};
  }
  static cinesis::consumer::Lease L(const cinesis_lease_t* l) {
    return {l->shard_id, l->owner, l->counter, l->expires_at_ms};
  }
  static int Fail(const cinesis::Status& st, char* err, size_t size) {
    std::snprintf(err, size, "%s", st.message().c_str());
    return cinesis::capi::ErrFromCode(st.code());
  }
  static Custom& Me(void* u) { return *static_cast<Custom*>(u); }

  static cinesis_store_callbacks_t Table() {
    cinesis_store_callbacks_t t{};
    t.save = [](void* u, const cinesis_scope_t* s, const char* shard, const char* seq, uint64_t sub,
                char* err, size_t size) {
      if (std::string(shard) == "broken") {
        std::snprintf(err, size, "disk busy");
        return static_cast<int>(CINESIS_ERR_IO);
      }
      if (std::string(shard) == "forbidden") {
        std::snprintf(err, size, "quota");
        return static_cast<int>(CINESIS_ERR_LIMIT_EXCEEDED);
      }
      auto st = Me(u).mem->Save(S(s), shard, {seq, sub});
      return st.ok() ? 0 : Fail(st, err, size);
    };
    t.save_if_owner = [](void* u, const cinesis_scope_t* s, const cinesis_lease_t* l,
                         const char* seq, uint64_t sub, int64_t now, int* saved, char* err,
                         size_t size) {
      auto r = Me(u).mem->SaveIfOwner(S(s), L(l), {seq, sub}, now);
      if (!r.ok()) return Fail(r.status(), err, size);
      *saved = *r ? 1 : 0;
      return 0;
    };
    t.load = [](void* u, const cinesis_scope_t* s, const char* shard,
                cinesis_checkpoint_emit_fn emit, void* ctx, char* err, size_t size) {
      if (Me(u).transient_left > 0) {
        --Me(u).transient_left;
        std::snprintf(err, size, "try again");
        return static_cast<int>(CINESIS_ERR_IO);
      }
      if (int code = Me(u).fail_load.load(); code != 0) {
        std::snprintf(err, size, "no access to table");
        return code;
      }
      auto r = Me(u).mem->Load(S(s), shard);
      if (!r.ok()) return Fail(r.status(), err, size);
      if (*r) emit(ctx, shard, (*r)->sequence_number.c_str(), (*r)->sub_sequence_number);
      return 0;
    };
    t.load_all = [](void* u, const cinesis_scope_t* s, cinesis_checkpoint_emit_fn emit, void* ctx,
                    char* err, size_t size) {
      auto r = Me(u).mem->LoadAll(S(s));
      if (!r.ok()) return Fail(r.status(), err, size);
      for (const auto& [shard, cp] : *r)
        emit(ctx, shard.c_str(), cp.sequence_number.c_str(), cp.sub_sequence_number);
      return 0;
    };
    t.try_acquire = [](void* u, const cinesis_scope_t* s, const char* shard, const char* owner,
                       int64_t ttl, int64_t now, cinesis_lease_emit_fn emit, void* ctx, char* err,
                       size_t size) {
      auto r = Me(u).mem->TryAcquire(S(s), shard, owner, ttl, now);
      if (!r.ok()) return Fail(r.status(), err, size);
      if (*r) {
        cinesis_lease_t l{(*r)->shard_id.c_str(), (*r)->owner.c_str(), (*r)->counter,
                          (*r)->expires_at};
        emit(ctx, &l);
      }
      return 0;
    };
    t.renew = [](void* u, const cinesis_scope_t* s, const cinesis_lease_t* l, int64_t ttl,
                 int64_t now, int* renewed, char* err, size_t size) {
      auto r = Me(u).mem->Renew(S(s), L(l), ttl, now);
      if (!r.ok()) return Fail(r.status(), err, size);
      *renewed = *r ? 1 : 0;
      return 0;
    };
    t.release = [](void* u, const cinesis_scope_t* s, const cinesis_lease_t* l, char* err,
                   size_t size) {
      auto st = Me(u).mem->Release(S(s), L(l));
      return st.ok() ? 0 : Fail(st, err, size);
    };
    t.list = [](void* u, const cinesis_scope_t* s, cinesis_lease_emit_fn emit, void* ctx, char* err,
                size_t size) {
      auto r = Me(u).mem->List(S(s));
      if (!r.ok()) return Fail(r.status(), err, size);
      for (const auto& l : *r) {
        cinesis_lease_t c{l.shard_id.c_str(), l.owner.c_str(), l.counter, l.expires_at};
        emit(ctx, &c);
      }
      return 0;
    };
    t.destroy = [](void* u) { ++Me(u).destroyed; };
    return t;
  }
};

TEST(CapiStore, CustomStoreMapsCallbackErrors) {
  Custom custom;
  cinesis_store_callbacks_t t = Custom::Table();
  cinesis_store_t* store = nullptr;
  auto missing = t;
  missing.renew = nullptr;
  EXPECT_EQ(cinesis_store_new_custom(&missing, &custom, &store), CINESIS_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(LastError(), "cinesis_store_new_custom: callbacks->renew is NULL (required)");
  ASSERT_EQ(cinesis_store_new_custom(&t, &custom, &store), CINESIS_OK) << LastError();
  cinesis_scope_t scope{"app", "s"};
  ASSERT_EQ(cinesis_store_save(store, &scope, "shardId-1", "12345", 3), CINESIS_OK) << LastError();
  char* seq = nullptr;
  uint64_t sub = 0;
  ASSERT_EQ(cinesis_store_load(store, &scope, "shardId-1", &seq, &sub), CINESIS_OK);
  EXPECT_STREQ(seq, "12345");
  EXPECT_EQ(sub, 3u);
  cinesis_free(seq);
  // Transient: the code and message as returned.
  EXPECT_EQ(cinesis_store_save(store, &scope, "broken", "1", 0), CINESIS_ERR_IO);
  EXPECT_EQ(LastError(), "IOError: custom store save: disk busy");
  EXPECT_EQ(cinesis_err_retriable(cinesis_last_error_code()), 1);
  // A retriable code other than IO/INTERNAL_FAILURE is fatal.
  EXPECT_EQ(cinesis_store_save(store, &scope, "forbidden", "1", 0),
            CINESIS_ERR_FAILED_PRECONDITION);
  EXPECT_EQ(LastError(), "FailedPrecondition: custom store save: quota (code 12)");
  custom.fail_load = CINESIS_ERR_ACCESS_DENIED;
  EXPECT_EQ(cinesis_store_load(store, &scope, "shardId-1", &seq, &sub), CINESIS_ERR_ACCESS_DENIED);
  EXPECT_EQ(LastError(), "AccessDeniedException: custom store load: no access to table");
  EXPECT_EQ(custom.destroyed, 0);
  cinesis_store_destroy(store);
  EXPECT_EQ(custom.destroyed, 1);
}

TEST_F(CapiTest, ConsumerOverCustomStoreRetriesTransientAndStopsOnFatal) {
  CreateStream("orders", 1);
  Produce(client_, "orders", 100);
  Custom custom;
  custom.transient_left = 2;
  cinesis_store_callbacks_t t = Custom::Table();
  cinesis_store_t* store = nullptr;
  ASSERT_EQ(cinesis_store_new_custom(&t, &custom, &store), CINESIS_OK);
  Opts o{{"application", "app"},
         {"stream", "orders"},
         {"idle_backoff_ms", "50"},
         {"max_get_records_per_second", "inf"}};
  {
    cinesis_consumer_t* c = nullptr;
    ASSERT_EQ(cinesis_consumer_new(client_, o.o, store, store, &c), CINESIS_OK) << LastError();
    cinesis_store_destroy(store);  // the consumer holds its own reference
    EXPECT_EQ(custom.destroyed, 0);
    std::map<std::string, int> seen;
    Consume(c, seen, 100);
    EXPECT_EQ(seen.size(), 100u);
    cinesis_event_t ev[64];
    size_t n = 0;
    ASSERT_EQ(cinesis_consumer_events(c, ev, 64, &n), CINESIS_OK);
    int transient = 0;
    for (size_t i = 0; i < n; ++i) {
      if (ev[i].type != CINESIS_EVENT_ERROR) continue;
      ++transient;
      EXPECT_EQ(ev[i].err, CINESIS_ERR_IO);
      EXPECT_EQ(ev[i].fatal, 0);
      EXPECT_STREQ(ev[i].message, "CheckpointStore.Load: IOError: custom store load: try again");
    }
    EXPECT_EQ(transient, 2);
    cinesis_consumer_destroy(c);
  }
  EXPECT_EQ(custom.destroyed, 1);  // freed with the last user
}

TEST_F(CapiTest, ConsumerStopsOnAFatalCustomStoreError) {
  CreateStream("orders", 1);
  Custom custom;
  custom.fail_load = CINESIS_ERR_ACCESS_DENIED;
  cinesis_store_callbacks_t t = Custom::Table();
  cinesis_store_t* store = nullptr;
  ASSERT_EQ(cinesis_store_new_custom(&t, &custom, &store), CINESIS_OK);
  Opts o{{"application", "app"}, {"stream", "orders"}};
  cinesis_consumer_t* c = nullptr;
  ASSERT_EQ(cinesis_consumer_new(client_, o.o, store, nullptr, &c), CINESIS_OK) << LastError();
  cinesis_err_t err = CINESIS_OK;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (err == CINESIS_OK && std::chrono::steady_clock::now() < deadline) {
    cinesis_batch_t* b = nullptr;
    err = cinesis_consumer_poll(c, 100, &b);
    cinesis_batch_destroy(b);
  }
  EXPECT_EQ(err, CINESIS_ERR_ACCESS_DENIED);
  EXPECT_EQ(LastError(), "AccessDeniedException: custom store load: no access to table");
  cinesis_consumer_destroy(c);
  cinesis_store_destroy(store);
}

TEST(CapiStore, MemoryStoreSavesAndLoads) {
  cinesis_store_t* store = nullptr;
  ASSERT_EQ(cinesis_store_open_memory(&store), CINESIS_OK);
  cinesis_scope_t scope{"a", "s"};
  ASSERT_EQ(cinesis_store_save(store, &scope, "sh", "42", 1), CINESIS_OK);
  char* seq = nullptr;
  ASSERT_EQ(cinesis_store_load(store, &scope, "sh", &seq, nullptr), CINESIS_OK);
  EXPECT_STREQ(seq, "42");
  cinesis_free(seq);
  cinesis_store_destroy(store);
}

TEST(CapiStore, UnreachableRedisAndPostgresAreIoErrors) {
  cinesis_store_t* store = nullptr;
  const int port = ClosedPort();
  EXPECT_EQ(cinesis_store_open_redis("127.0.0.1", port, 0, &store), CINESIS_ERR_IO) << LastError();
  EXPECT_EQ(store, nullptr);
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port) + " dbname=x user=x connect_timeout=2";
  EXPECT_EQ(cinesis_store_open_postgres(conninfo.c_str(), &store), CINESIS_ERR_IO) << LastError();
  EXPECT_EQ(store, nullptr);
}

TEST(CapiLog, CallbackReceivesLinesAtOrAboveTheLevel) {
  struct Sink {
    std::mutex mu;
    std::vector<std::string> lines;
  } sink;
  cinesis_set_log_callback(
      [](void* u, cinesis_log_level_t level, const char* component, const char* message) {
        auto& s = *static_cast<Sink*>(u);
        std::lock_guard lock(s.mu);
        s.lines.push_back(std::to_string(level) + " " + component + " " + message);
      },
      &sink, CINESIS_LOG_WARN);
  cinesis::Log(cinesis::LogLevel::kInfo, "consumer", "quiet");
  cinesis::Log(cinesis::LogLevel::kError, "producer", "loud");
  cinesis_set_log_callback(nullptr, nullptr, CINESIS_LOG_WARN);
  cinesis::Log(cinesis::LogLevel::kError, "producer", "to stderr");
  std::lock_guard lock(sink.mu);
  EXPECT_EQ(sink.lines, std::vector<std::string>{"3 producer loud"});
}

}  // namespace
