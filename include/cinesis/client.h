// KinesisClient: typed calls for every Kinesis operation, over HTTP (libcurl, SigV4,
// keep-alive, TLS) to AWS or any compatible server, or in process (see
// cinesis/testing/local_kinesis.h). Calls that fail with a retriable error are retried
// with backoff (cinesis/retry.h).
//
// Thread safety: a KinesisClient may be used from any number of threads at once.
// Errors: every call returns Status or Result<T>; codes are the Kinesis error names.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cinesis/retry.h"
#include "cinesis/service.h"

namespace cinesis {

// An aggregate, for designated initialisers, e.g.
// `KinesisClient::Create({.endpoint = "http://127.0.0.1:4567"})`.
struct ClientOptions {
  // Endpoint, e.g. "http://127.0.0.1:4567" for a local server. When not set (or empty):
  // as the AWS SDKs, see ResolveEndpoint below.
  std::optional<std::string> endpoint{};
  // Region for signing and for the AWS endpoint; default: AWS_REGION, AWS_DEFAULT_REGION,
  // the profile's region, EC2 instance metadata (not for loopback endpoints), else us-east-1.
  std::optional<std::string> region{};
  // Explicit credentials; default: the AWS SDKs' chain (environment, web identity, shared
  // files/AWS_PROFILE with assume-role, SSO and credential_process, container, IMDS),
  // refreshed before expiry; see docs/client.md "Running on AWS".
  // A loopback endpoint (127.0.0.0/8, ::1, localhost) needs none: when the chain finds
  // nothing, requests are signed with the dummy key "cinesis-local"/"cinesis-local"
  // (a local server checks only that a request is signed).
  std::optional<std::string> access_key_id{}, secret_access_key{}, session_token{};
  std::optional<std::string> profile{};  // default: $AWS_PROFILE, else "default"
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
  bool verify_tls = true;
  // PEM file of the certificate authorities an https endpoint's certificate must chain to;
  // default: $AWS_CA_BUNDLE, else the profile's ca_bundle, else the system's store.
  std::optional<std::string> ca_bundle{};
  RetryOptions retry{};
};

// Checks the option table's ranges (docs/configuration.md), retry included; InvalidArgument
// naming the first bad option. KinesisClient::Create calls it.
CINESIS_EXPORT Status Validate(const ClientOptions& options);
// The option table as Markdown rows (for docs/configuration.md).
CINESIS_EXPORT std::string ClientOptionsMarkdown();

// Where a client sends its requests (see ResolveEndpoint).
struct ResolvedEndpoint {
  enum class Source {
    kExplicit,    // ClientOptions::endpoint
    kServiceEnv,  // $AWS_ENDPOINT_URL_KINESIS
    kGlobalEnv,   // $AWS_ENDPOINT_URL
    kProfile,     // endpoint_url in the profile's section of the shared config file
    kRegional,    // e.g. https://kinesis.{region}.amazonaws.com[.cn] (see docs/client.md)
  };
  std::string url{};     // scheme://host[:port][/path]
  std::string region{};  // for signing: ClientOptions::region, $AWS_REGION, ..., else us-east-1
  Source source = Source::kRegional;
  std::string origin{};   // human-readable source, e.g. "AWS_ENDPOINT_URL_KINESIS"
  bool loopback = false;  // the host is 127.0.0.0/8, ::1 or localhost (no name lookup)
};

// The endpoint KinesisClient::Create uses for `options`, resolved as the AWS SDKs do
// ("service-specific endpoints" in the AWS SDKs and Tools reference guide):
//   1. options.endpoint, when set and not empty;
//   2. $AWS_ENDPOINT_URL_KINESIS;
//   3. $AWS_ENDPOINT_URL;
//   4. `endpoint_url` in the profile's section of the config file ($AWS_CONFIG_FILE,
//      default ~/.aws/config; profile options.profile, else $AWS_PROFILE, else default);
//   5. the regional AWS endpoint of the region's partition (aws, aws-cn, aws-us-gov), FIPS
//      and/or dual-stack per AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT or the
//      profile's use_fips_endpoint / use_dualstack_endpoint.
// Steps 2-4 are skipped when $AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true or, that
// variable being unset, the profile sets `ignore_configured_endpoint_urls = true`. The
// config file's `services` sections are not read. Errors (kInvalidArgument naming the
// setting): a URL that does not start with http:// or https:// or has no host, an
// ignore setting other than true/false; kIoError: an unreadable config file.
// Reads the environment (see the getenv caveat of the credentials chain).
CINESIS_EXPORT Result<ResolvedEndpoint> ResolveEndpoint(const ClientOptions& options);

// Every call goes to the client's transport (a KinesisService: HTTP, the in-process engine of
// LocalKinesis, or a fake) and is retried per RetryOptions. KinesisClient is not itself a
// KinesisService and has no virtual functions: adding an operation adds a member function and
// leaves its layout and existing symbols alone. To fake Kinesis in a test, implement the
// service (see ForwardingKinesisService in cinesis/service.h) and build a client over it.
class CINESIS_EXPORT KinesisClient final {
 public:
  // An HTTP client to ResolveEndpoint(options). Fails if the endpoint is invalid, or if
  // no credentials can be found for a non-loopback endpoint (the error names every
  // source of the chain that was tried).
  static Result<std::unique_ptr<KinesisClient>> Create(ClientOptions options);
  // A client over any service implementation (the in-process engine, a fake); `service`
  // must outlive the client.
  KinesisClient(api::KinesisService& service, RetryOptions retry = {});
  // A client that owns its service.
  KinesisClient(std::unique_ptr<api::KinesisService> service, RetryOptions retry = {});
  ~KinesisClient();
  KinesisClient(const KinesisClient&) = delete;
  KinesisClient& operator=(const KinesisClient&) = delete;

  // ---- named forms of the common calls ----
  // The stream is addressed by name. Each is the typed call below with these fields set.

  // CreateStream in provisioned mode with `shard_count` shards (CREATING at first; see
  // WaitForActive).
  Status CreateStream(const std::string& stream, int shard_count);
  Status DeleteStream(const std::string& stream);
  Result<api::DescribeStreamSummaryOutput> DescribeStreamSummary(const std::string& stream);
  // Every shard of the stream (follows NextToken until the list is complete).
  Result<api::ListShardsOutput> ListShards(const std::string& stream);
  // One record, routed by the MD5 of `partition_key`, or by `explicit_hash_key` (a decimal
  // 128-bit hash key) when given.
  Result<api::PutRecordOutput> PutRecord(const std::string& stream,
                                         const std::string& partition_key, std::string data,
                                         std::optional<std::string> explicit_hash_key = {});
  // Up to 500 records in one call; per-record failures are in the output, not the Status.
  Result<api::PutRecordsOutput> PutRecords(const std::string& stream,
                                           std::vector<api::PutRecordsRequestEntry> entries);
  // `sequence_number` is for kAtSequenceNumber and kAfterSequenceNumber.
  Result<api::GetShardIteratorOutput> GetShardIterator(
      const std::string& stream, const std::string& shard_id, api::ShardIteratorType type,
      std::optional<std::string> sequence_number = {});
  // Records from `shard_iterator`; `limit` caps them (1..10000, default: the service's 10000).
  Result<api::GetRecordsOutput> GetRecords(const std::string& shard_iterator,
                                           std::optional<int> limit = {});

  // ---- every operation, typed as in the service model ----
  Status CreateStream(const api::CreateStreamInput& in);
  Status DeleteStream(const api::DeleteStreamInput& in);
  Result<api::DescribeStreamOutput> DescribeStream(const api::DescribeStreamInput& in);
  Result<api::DescribeStreamSummaryOutput> DescribeStreamSummary(
      const api::DescribeStreamSummaryInput& in);
  Result<api::ListStreamsOutput> ListStreams(const api::ListStreamsInput& in = {});
  Result<api::ListShardsOutput> ListShards(const api::ListShardsInput& in);
  Result<api::PutRecordOutput> PutRecord(const api::PutRecordInput& in);
  Result<api::PutRecordsOutput> PutRecords(const api::PutRecordsInput& in);
  Result<api::GetShardIteratorOutput> GetShardIterator(const api::GetShardIteratorInput& in);
  Result<api::GetRecordsOutput> GetRecords(const api::GetRecordsInput& in);
  Status IncreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in);
  Status DecreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in);
  Status SplitShard(const api::SplitShardInput& in);
  Status MergeShards(const api::MergeShardsInput& in);
  Result<api::UpdateShardCountOutput> UpdateShardCount(const api::UpdateShardCountInput& in);
  Status AddTagsToStream(const api::AddTagsToStreamInput& in);
  Status RemoveTagsFromStream(const api::RemoveTagsFromStreamInput& in);
  Result<api::ListTagsForStreamOutput> ListTagsForStream(const api::ListTagsForStreamInput& in);
  Status TagResource(const api::TagResourceInput& in);
  Status UntagResource(const api::UntagResourceInput& in);
  Result<api::ListTagsForResourceOutput> ListTagsForResource(
      const api::ListTagsForResourceInput& in);
  Status StartStreamEncryption(const api::StreamEncryptionInput& in);
  Status StopStreamEncryption(const api::StreamEncryptionInput& in);
  Result<api::EnhancedMonitoringOutput> EnableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in);
  Result<api::EnhancedMonitoringOutput> DisableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in);
  Result<api::DescribeLimitsOutput> DescribeLimits();
  Status UpdateStreamMode(const api::UpdateStreamModeInput& in);
  Result<api::AccountSettingsOutput> DescribeAccountSettings();
  Result<api::AccountSettingsOutput> UpdateAccountSettings(
      const api::UpdateAccountSettingsInput& in);
  Status PutResourcePolicy(const api::ResourcePolicyInput& in);
  Result<api::GetResourcePolicyOutput> GetResourcePolicy(const api::ResourcePolicyInput& in);
  Status DeleteResourcePolicy(const api::ResourcePolicyInput& in);
  Status UpdateMaxRecordSize(const api::UpdateMaxRecordSizeInput& in);
  Result<api::UpdateStreamWarmThroughputOutput> UpdateStreamWarmThroughput(
      const api::UpdateStreamWarmThroughputInput& in);
  Result<api::Consumer> RegisterStreamConsumer(const api::RegisterStreamConsumerInput& in);
  Status DeregisterStreamConsumer(const api::ConsumerRef& in);
  Result<api::Consumer> DescribeStreamConsumer(const api::ConsumerRef& in);
  Result<api::ListStreamConsumersOutput> ListStreamConsumers(
      const api::ListStreamConsumersInput& in);

  // SubscribeToShard (enhanced fan-out): streams events to `on_event` until the
  // subscription ends (after 5 minutes, or after the event that carries ChildShards at the
  // end of a closed shard), `on_event` returns false, or an error. Over HTTP it uses
  // HTTP/2 (h2c for http:// endpoints). Not retried: resubscribe from the last
  // ContinuationSequenceNumber.
  Status SubscribeToShard(const api::SubscribeToShardInput& in,
                          const std::function<bool(const api::SubscribeToShardEvent&)>& on_event);

  // Polls DescribeStreamSummary until the stream is ACTIVE. kDeadlineExceeded (retriable)
  // when `timeout` passes first; other errors as DescribeStreamSummary returns them.
  Status WaitForActive(const std::string& stream,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

  RetryPolicy& retry();

 private:
  struct Impl;
  KinesisClient();
  std::unique_ptr<Impl> impl_;
};

}  // namespace cinesis
