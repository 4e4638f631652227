// Every request/response operation of api::KinesisService, written once: X(Ret, Name, In)
// for an operation with an input, X0(Ret, Name) for one without. The transports that forward
// every call (KinesisClient, the C ABI's client adapter, LocalKinesis's checking front) expand
// it instead of repeating the list.
#pragma once

// clang-format off
#define CINESIS_KINESIS_OPERATIONS(X, X0) \
  X(Status, CreateStream, api::CreateStreamInput) \
  X(Status, DeleteStream, api::DeleteStreamInput) \
  X(Result<api::DescribeStreamOutput>, DescribeStream, api::DescribeStreamInput) \
  X(Result<api::DescribeStreamSummaryOutput>, DescribeStreamSummary, api::DescribeStreamSummaryInput) \
  X(Result<api::ListStreamsOutput>, ListStreams, api::ListStreamsInput) \
  X(Result<api::ListShardsOutput>, ListShards, api::ListShardsInput) \
  X(Result<api::PutRecordOutput>, PutRecord, api::PutRecordInput) \
  X(Result<api::PutRecordsOutput>, PutRecords, api::PutRecordsInput) \
  X(Result<api::GetShardIteratorOutput>, GetShardIterator, api::GetShardIteratorInput) \
  X(Result<api::GetRecordsOutput>, GetRecords, api::GetRecordsInput) \
  X(Status, IncreaseStreamRetentionPeriod, api::UpdateRetentionPeriodInput) \
  X(Status, DecreaseStreamRetentionPeriod, api::UpdateRetentionPeriodInput) \
  X(Status, SplitShard, api::SplitShardInput) \
  X(Status, MergeShards, api::MergeShardsInput) \
  X(Result<api::UpdateShardCountOutput>, UpdateShardCount, api::UpdateShardCountInput) \
  X(Status, AddTagsToStream, api::AddTagsToStreamInput) \
  X(Status, RemoveTagsFromStream, api::RemoveTagsFromStreamInput) \
  X(Result<api::ListTagsForStreamOutput>, ListTagsForStream, api::ListTagsForStreamInput) \
  X(Status, TagResource, api::TagResourceInput) \
  X(Status, UntagResource, api::UntagResourceInput) \
  X(Result<api::ListTagsForResourceOutput>, ListTagsForResource, api::ListTagsForResourceInput) \
  X(Status, StartStreamEncryption, api::StreamEncryptionInput) \
  X(Status, StopStreamEncryption, api::StreamEncryptionInput) \
  X(Result<api::EnhancedMonitoringOutput>, EnableEnhancedMonitoring, api::EnhancedMonitoringInput) \
  X(Result<api::EnhancedMonitoringOutput>, DisableEnhancedMonitoring, api::EnhancedMonitoringInput) \
  X0(Result<api::DescribeLimitsOutput>, DescribeLimits) \
  X(Status, UpdateStreamMode, api::UpdateStreamModeInput) \
  X0(Result<api::AccountSettingsOutput>, DescribeAccountSettings) \
  X(Result<api::AccountSettingsOutput>, UpdateAccountSettings, api::UpdateAccountSettingsInput) \
  X(Status, PutResourcePolicy, api::ResourcePolicyInput) \
  X(Result<api::GetResourcePolicyOutput>, GetResourcePolicy, api::ResourcePolicyInput) \
  X(Status, DeleteResourcePolicy, api::ResourcePolicyInput) \
  X(Status, UpdateMaxRecordSize, api::UpdateMaxRecordSizeInput) \
  X(Result<api::UpdateStreamWarmThroughputOutput>, UpdateStreamWarmThroughput, api::UpdateStreamWarmThroughputInput) \
  X(Result<api::Consumer>, RegisterStreamConsumer, api::RegisterStreamConsumerInput) \
  X(Status, DeregisterStreamConsumer, api::ConsumerRef) \
  X(Result<api::Consumer>, DescribeStreamConsumer, api::ConsumerRef) \
  X(Result<api::ListStreamConsumersOutput>, ListStreamConsumers, api::ListStreamConsumersInput)
// clang-format on
