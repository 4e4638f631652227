// The Kinesis operations as an interface. The engine implements it; the wire pipeline and
// KinesisClient call it; a test fake implements it (see ForwardingKinesisService).
// Implementations must be thread-safe and must not throw.
#pragma once

#include "cinesis/status.h"
#include "cinesis/types.h"

namespace cinesis::api {

class KinesisService {
 public:
  virtual ~KinesisService() = default;

  virtual Status CreateStream(const CreateStreamInput& in) = 0;
  virtual Status DeleteStream(const DeleteStreamInput& in) = 0;
  virtual Result<DescribeStreamOutput> DescribeStream(const DescribeStreamInput& in) = 0;
  virtual Result<DescribeStreamSummaryOutput> DescribeStreamSummary(
      const DescribeStreamSummaryInput& in) = 0;
  virtual Result<ListStreamsOutput> ListStreams(const ListStreamsInput& in) = 0;
  virtual Result<ListShardsOutput> ListShards(const ListShardsInput& in) = 0;
  virtual Result<PutRecordOutput> PutRecord(const PutRecordInput& in) = 0;
  virtual Result<PutRecordsOutput> PutRecords(const PutRecordsInput& in) = 0;
  virtual Result<GetShardIteratorOutput> GetShardIterator(const GetShardIteratorInput& in) = 0;
  virtual Result<GetRecordsOutput> GetRecords(const GetRecordsInput& in) = 0;
  virtual Status IncreaseStreamRetentionPeriod(const UpdateRetentionPeriodInput& in) = 0;
  virtual Status DecreaseStreamRetentionPeriod(const UpdateRetentionPeriodInput& in) = 0;

  virtual Status SplitShard(const SplitShardInput& in) = 0;
  virtual Status MergeShards(const MergeShardsInput& in) = 0;
  virtual Result<UpdateShardCountOutput> UpdateShardCount(const UpdateShardCountInput& in) = 0;

  virtual Status AddTagsToStream(const AddTagsToStreamInput& in) = 0;
  virtual Status RemoveTagsFromStream(const RemoveTagsFromStreamInput& in) = 0;
  virtual Result<ListTagsForStreamOutput> ListTagsForStream(const ListTagsForStreamInput& in) = 0;
  virtual Status TagResource(const TagResourceInput& in) = 0;
  virtual Status UntagResource(const UntagResourceInput& in) = 0;
  virtual Result<ListTagsForResourceOutput> ListTagsForResource(
      const ListTagsForResourceInput& in) = 0;

  virtual Status StartStreamEncryption(const StreamEncryptionInput& in) = 0;
  virtual Status StopStreamEncryption(const StreamEncryptionInput& in) = 0;
  virtual Result<EnhancedMonitoringOutput> EnableEnhancedMonitoring(
      const EnhancedMonitoringInput& in) = 0;
  virtual Result<EnhancedMonitoringOutput> DisableEnhancedMonitoring(
      const EnhancedMonitoringInput& in) = 0;
  virtual Result<DescribeLimitsOutput> DescribeLimits() = 0;
  virtual Status UpdateStreamMode(const UpdateStreamModeInput& in) = 0;
  virtual Result<AccountSettingsOutput> DescribeAccountSettings() = 0;
  virtual Result<AccountSettingsOutput> UpdateAccountSettings(
      const UpdateAccountSettingsInput& in) = 0;
  virtual Status PutResourcePolicy(const ResourcePolicyInput& in) = 0;
  virtual Result<GetResourcePolicyOutput> GetResourcePolicy(const ResourcePolicyInput& in) = 0;
  virtual Status DeleteResourcePolicy(const ResourcePolicyInput& in) = 0;
  virtual Status UpdateMaxRecordSize(const UpdateMaxRecordSizeInput& in) = 0;
  virtual Result<UpdateStreamWarmThroughputOutput> UpdateStreamWarmThroughput(
      const UpdateStreamWarmThroughputInput& in) = 0;

  virtual Result<Consumer> RegisterStreamConsumer(const RegisterStreamConsumerInput& in) = 0;
  virtual Status DeregisterStreamConsumer(const ConsumerRef& in) = 0;
  virtual Result<Consumer> DescribeStreamConsumer(const ConsumerRef& in) = 0;
  virtual Result<ListStreamConsumersOutput> ListStreamConsumers(
      const ListStreamConsumersInput& in) = 0;
};

}  // namespace cinesis::api
