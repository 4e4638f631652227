// The Kinesis operations as an interface: KinesisClient's transport. The cinesis engine, the
// HTTP transport and LocalKinesis implement it; the server's wire pipeline calls it. A test
// fake implements it too, most easily by deriving from ForwardingKinesisService and
// overriding only the calls it changes:
//
//   ```cpp
//   // PutRecords always throttled; every other call reaches the real (local) service.
//   class Throttled : public cinesis::ForwardingKinesisService {
//    public:
//     using ForwardingKinesisService::ForwardingKinesisService;
//     cinesis::Result<cinesis::api::PutRecordsOutput> PutRecords(
//         const cinesis::api::PutRecordsInput&) override {
//       return cinesis::Status(cinesis::Code::kProvisionedThroughputExceeded, "slow down");
//     }
//   };
//   cinesis::testing::LocalKinesis local;
//   Throttled fake(local.service());
//   cinesis::KinesisClient client(fake);
//   ```
//
// The interface is the one the engine implements (namespace cinesis::api, where the request
// and response types are): an operation added to Kinesis adds a pure virtual function here,
// which a ForwardingKinesisService subclass inherits already forwarded. KinesisClient itself is
// not a KinesisService, so its ABI does not change when one is added.
// Implementations must be thread-safe and must not throw.
#pragma once

#include "cinesis/export.h"
#include "cinesis/status.h"
#include "cinesis/types.h"

namespace cinesis::api {

class CINESIS_EXPORT KinesisService {
 public:
  virtual ~KinesisService() = default;

  virtual Status CreateStream(const api::CreateStreamInput& in) = 0;
  virtual Status DeleteStream(const api::DeleteStreamInput& in) = 0;
  virtual Result<DescribeStreamOutput> DescribeStream(const api::DescribeStreamInput& in) = 0;
  virtual Result<DescribeStreamSummaryOutput> DescribeStreamSummary(
      const api::DescribeStreamSummaryInput& in) = 0;
  virtual Result<ListStreamsOutput> ListStreams(const api::ListStreamsInput& in) = 0;
  virtual Result<ListShardsOutput> ListShards(const api::ListShardsInput& in) = 0;
  virtual Result<PutRecordOutput> PutRecord(const api::PutRecordInput& in) = 0;
  virtual Result<PutRecordsOutput> PutRecords(const api::PutRecordsInput& in) = 0;
  virtual Result<GetShardIteratorOutput> GetShardIterator(const api::GetShardIteratorInput& in) = 0;
  virtual Result<GetRecordsOutput> GetRecords(const api::GetRecordsInput& in) = 0;
  virtual Status IncreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) = 0;
  virtual Status DecreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) = 0;

  virtual Status SplitShard(const api::SplitShardInput& in) = 0;
  virtual Status MergeShards(const api::MergeShardsInput& in) = 0;
  virtual Result<UpdateShardCountOutput> UpdateShardCount(const api::UpdateShardCountInput& in) = 0;

  virtual Status AddTagsToStream(const api::AddTagsToStreamInput& in) = 0;
  virtual Status RemoveTagsFromStream(const api::RemoveTagsFromStreamInput& in) = 0;
  virtual Result<ListTagsForStreamOutput> ListTagsForStream(
      const api::ListTagsForStreamInput& in) = 0;
  virtual Status TagResource(const api::TagResourceInput& in) = 0;
  virtual Status UntagResource(const api::UntagResourceInput& in) = 0;
  virtual Result<ListTagsForResourceOutput> ListTagsForResource(
      const api::ListTagsForResourceInput& in) = 0;

  virtual Status StartStreamEncryption(const api::StreamEncryptionInput& in) = 0;
  virtual Status StopStreamEncryption(const api::StreamEncryptionInput& in) = 0;
  virtual Result<EnhancedMonitoringOutput> EnableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in) = 0;
  virtual Result<EnhancedMonitoringOutput> DisableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in) = 0;
  virtual Result<DescribeLimitsOutput> DescribeLimits() = 0;
  virtual Status UpdateStreamMode(const api::UpdateStreamModeInput& in) = 0;
  virtual Result<AccountSettingsOutput> DescribeAccountSettings() = 0;
  virtual Result<AccountSettingsOutput> UpdateAccountSettings(
      const api::UpdateAccountSettingsInput& in) = 0;
  virtual Status PutResourcePolicy(const api::ResourcePolicyInput& in) = 0;
  virtual Result<GetResourcePolicyOutput> GetResourcePolicy(const api::ResourcePolicyInput& in) = 0;
  virtual Status DeleteResourcePolicy(const api::ResourcePolicyInput& in) = 0;
  virtual Status UpdateMaxRecordSize(const api::UpdateMaxRecordSizeInput& in) = 0;
  virtual Result<UpdateStreamWarmThroughputOutput> UpdateStreamWarmThroughput(
      const api::UpdateStreamWarmThroughputInput& in) = 0;

  virtual Result<Consumer> RegisterStreamConsumer(const api::RegisterStreamConsumerInput& in) = 0;
  virtual Status DeregisterStreamConsumer(const api::ConsumerRef& in) = 0;
  virtual Result<Consumer> DescribeStreamConsumer(const api::ConsumerRef& in) = 0;
  virtual Result<ListStreamConsumersOutput> ListStreamConsumers(
      const api::ListStreamConsumersInput& in) = 0;
};

}  // namespace cinesis::api

namespace cinesis {

using api::KinesisService;

// A KinesisService that passes every call to `target` (which must outlive it), as leveldb's
// EnvWrapper does: subclass it and override only what the fake changes.
class CINESIS_EXPORT ForwardingKinesisService : public api::KinesisService {
 public:
  explicit ForwardingKinesisService(api::KinesisService& target) : target_(&target) {}
  ~ForwardingKinesisService() override;

  api::KinesisService& target() const { return *target_; }

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

 private:
  api::KinesisService* target_;
};

}  // namespace cinesis
