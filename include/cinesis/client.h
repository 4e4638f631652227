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

#include "api/service.h"
#include "cinesis/retry.h"

namespace cinesis {
namespace client {
class EventStreams;
}

struct ClientOptions {
  // Region for signing and for the AWS endpoint; default: AWS_REGION, AWS_DEFAULT_REGION,
  // the profile's region, EC2 instance metadata (not for loopback endpoints), else us-east-1.
  std::optional<std::string> region;
  // Endpoint, e.g. "http://127.0.0.1:4567" for a local server. When not set (or empty):
  // as the AWS SDKs, see ResolveEndpoint below.
  std::optional<std::string> endpoint;
  // Explicit credentials; default: the AWS SDKs' chain (environment, web identity, shared
  // files/AWS_PROFILE with assume-role, SSO and credential_process, container, IMDS),
  // refreshed before expiry; see docs/client.md "Running on AWS".
  // A loopback endpoint (127.0.0.0/8, ::1, localhost) needs none: when the chain finds
  // nothing, requests are signed with the dummy key "cinesis-local"/"cinesis-local"
  // (a local server checks only that a request is signed).
  std::optional<std::string> access_key_id, secret_access_key, session_token;
  std::optional<std::string> profile;  // default: $AWS_PROFILE, else "default"
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000};
  bool verify_tls = true;
  RetryOptions retry;
};

// Where a client sends its requests (see ResolveEndpoint).
struct ResolvedEndpoint {
  enum class Source {
    kExplicit,    // ClientOptions::endpoint
    kServiceEnv,  // $AWS_ENDPOINT_URL_KINESIS
    kGlobalEnv,   // $AWS_ENDPOINT_URL
    kProfile,     // endpoint_url in the profile's section of the shared config file
    kRegional,    // e.g. https://kinesis.{region}.amazonaws.com[.cn] (see docs/client.md)
  };
  std::string url;     // scheme://host[:port][/path]
  std::string region;  // for signing: ClientOptions::region, $AWS_REGION, ..., else us-east-1
  Source source = Source::kRegional;
  std::string origin;     // human-readable source, e.g. "AWS_ENDPOINT_URL_KINESIS"
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
Result<ResolvedEndpoint> ResolveEndpoint(const ClientOptions& options);

class KinesisClient final : public api::KinesisService {
 public:
  // An HTTP client to ResolveEndpoint(options). Fails if the endpoint is invalid, or if
  // no credentials can be found for a non-loopback endpoint (the error names every
  // source of the chain that was tried).
  static Result<std::unique_ptr<KinesisClient>> Create(ClientOptions options);
  // A client over any service implementation (the in-process engine, a fake); `backend`
  // must outlive the client.
  KinesisClient(api::KinesisService& backend, RetryOptions retry);
  ~KinesisClient() override;

  Status CreateStream(const api::CreateStreamInput& in) override;
  Status DeleteStream(const api::DeleteStreamInput& in) override;
  Result<api::DescribeStreamOutput> DescribeStream(const api::DescribeStreamInput& in) override;
  Result<api::DescribeStreamSummaryOutput> DescribeStreamSummary(
      const api::DescribeStreamSummaryInput& in) override;
  Result<api::ListStreamsOutput> ListStreams(const api::ListStreamsInput& in) override;
  Result<api::ListShardsOutput> ListShards(const api::ListShardsInput& in) override;
  Result<api::PutRecordOutput> PutRecord(const api::PutRecordInput& in) override;
  Result<api::PutRecordsOutput> PutRecords(const api::PutRecordsInput& in) override;
  Result<api::GetShardIteratorOutput> GetShardIterator(
      const api::GetShardIteratorInput& in) override;
  Result<api::GetRecordsOutput> GetRecords(const api::GetRecordsInput& in) override;
  Status IncreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) override;
  Status DecreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) override;
  Status SplitShard(const api::SplitShardInput& in) override;
  Status MergeShards(const api::MergeShardsInput& in) override;
  Result<api::UpdateShardCountOutput> UpdateShardCount(
      const api::UpdateShardCountInput& in) override;
  Status AddTagsToStream(const api::AddTagsToStreamInput& in) override;
  Status RemoveTagsFromStream(const api::RemoveTagsFromStreamInput& in) override;
  Result<api::ListTagsForStreamOutput> ListTagsForStream(
      const api::ListTagsForStreamInput& in) override;
  Status TagResource(const api::TagResourceInput& in) override;
  Status UntagResource(const api::UntagResourceInput& in) override;
  Result<api::ListTagsForResourceOutput> ListTagsForResource(
      const api::ListTagsForResourceInput& in) override;
  Status StartStreamEncryption(const api::StreamEncryptionInput& in) override;
  Status StopStreamEncryption(const api::StreamEncryptionInput& in) override;
  Result<api::EnhancedMonitoringOutput> EnableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in) override;
  Result<api::EnhancedMonitoringOutput> DisableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in) override;
  Result<api::DescribeLimitsOutput> DescribeLimits() override;
  Status UpdateStreamMode(const api::UpdateStreamModeInput& in) override;
  Result<api::AccountSettingsOutput> DescribeAccountSettings() override;
  Result<api::AccountSettingsOutput> UpdateAccountSettings(
      const api::UpdateAccountSettingsInput& in) override;
  Status PutResourcePolicy(const api::ResourcePolicyInput& in) override;
  Result<api::GetResourcePolicyOutput> GetResourcePolicy(
      const api::ResourcePolicyInput& in) override;
  Status DeleteResourcePolicy(const api::ResourcePolicyInput& in) override;
  Status UpdateMaxRecordSize(const api::UpdateMaxRecordSizeInput& in) override;
  Result<api::UpdateStreamWarmThroughputOutput> UpdateStreamWarmThroughput(
      const api::UpdateStreamWarmThroughputInput& in) override;
  Result<api::Consumer> RegisterStreamConsumer(const api::RegisterStreamConsumerInput& in) override;
  Status DeregisterStreamConsumer(const api::ConsumerRef& in) override;
  Result<api::Consumer> DescribeStreamConsumer(const api::ConsumerRef& in) override;
  Result<api::ListStreamConsumersOutput> ListStreamConsumers(
      const api::ListStreamConsumersInput& in) override;

  // SubscribeToShard (enhanced fan-out): streams events to `on_event` until the
  // subscription ends (after 5 minutes, or after the event that carries ChildShards at the
  // end of a closed shard), `on_event` returns false, or an error. Over HTTP it uses
  // HTTP/2 (h2c for http:// endpoints). Not retried: resubscribe from the last
  // ContinuationSequenceNumber.
  Status SubscribeToShard(const api::SubscribeToShardInput& in,
                          const std::function<bool(const api::SubscribeToShardEvent&)>& on_event);

  // Polls DescribeStreamSummary until the stream is ACTIVE (or `timeout` passes).
  Status WaitForActive(const std::string& stream,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

  RetryPolicy& retry() { return retry_; }

 private:
  KinesisClient(std::unique_ptr<api::KinesisService> owned, RetryOptions retry);
  std::unique_ptr<api::KinesisService> owned_;
  api::KinesisService* backend_;
  std::unique_ptr<client::EventStreams> owned_events_;
  client::EventStreams* events_ = nullptr;
  RetryPolicy retry_;
};

}  // namespace cinesis
