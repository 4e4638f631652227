// ForwardingKinesisService: every call goes to the target.
#include "cinesis/service.h"

namespace cinesis {

ForwardingKinesisService::~ForwardingKinesisService() = default;

Status ForwardingKinesisService::CreateStream(const api::CreateStreamInput& in) {
  return target_->CreateStream(in);
}

Status ForwardingKinesisService::DeleteStream(const api::DeleteStreamInput& in) {
  return target_->DeleteStream(in);
}

Result<api::DescribeStreamOutput> ForwardingKinesisService::DescribeStream(
    const api::DescribeStreamInput& in) {
  return target_->DescribeStream(in);
}

Result<api::DescribeStreamSummaryOutput> ForwardingKinesisService::DescribeStreamSummary(
    const api::DescribeStreamSummaryInput& in) {
  return target_->DescribeStreamSummary(in);
}

Result<api::ListStreamsOutput> ForwardingKinesisService::ListStreams(
    const api::ListStreamsInput& in) {
  return target_->ListStreams(in);
}

Result<api::ListShardsOutput> ForwardingKinesisService::ListShards(const api::ListShardsInput& in) {
  return target_->ListShards(in);
}

Result<api::PutRecordOutput> ForwardingKinesisService::PutRecord(const api::PutRecordInput& in) {
  return target_->PutRecord(in);
}

Result<api::PutRecordsOutput> ForwardingKinesisService::PutRecords(const api::PutRecordsInput& in) {
  return target_->PutRecords(in);
}

Result<api::GetShardIteratorOutput> ForwardingKinesisService::GetShardIterator(
    const api::GetShardIteratorInput& in) {
  return target_->GetShardIterator(in);
}

Result<api::GetRecordsOutput> ForwardingKinesisService::GetRecords(const api::GetRecordsInput& in) {
  return target_->GetRecords(in);
}

Status ForwardingKinesisService::IncreaseStreamRetentionPeriod(
    const api::UpdateRetentionPeriodInput& in) {
  return target_->IncreaseStreamRetentionPeriod(in);
}

Status ForwardingKinesisService::DecreaseStreamRetentionPeriod(
    const api::UpdateRetentionPeriodInput& in) {
  return target_->DecreaseStreamRetentionPeriod(in);
}

Status ForwardingKinesisService::SplitShard(const api::SplitShardInput& in) {
  return target_->SplitShard(in);
}

Status ForwardingKinesisService::MergeShards(const api::MergeShardsInput& in) {
  return target_->MergeShards(in);
}

Result<api::UpdateShardCountOutput> ForwardingKinesisService::UpdateShardCount(
    const api::UpdateShardCountInput& in) {
  return target_->UpdateShardCount(in);
}

Status ForwardingKinesisService::AddTagsToStream(const api::AddTagsToStreamInput& in) {
  return target_->AddTagsToStream(in);
}

Status ForwardingKinesisService::RemoveTagsFromStream(const api::RemoveTagsFromStreamInput& in) {
  return target_->RemoveTagsFromStream(in);
}

Result<api::ListTagsForStreamOutput> ForwardingKinesisService::ListTagsForStream(
    const api::ListTagsForStreamInput& in) {
  return target_->ListTagsForStream(in);
}

Status ForwardingKinesisService::TagResource(const api::TagResourceInput& in) {
  return target_->TagResource(in);
}

Status ForwardingKinesisService::UntagResource(const api::UntagResourceInput& in) {
  return target_->UntagResource(in);
}

Result<api::ListTagsForResourceOutput> ForwardingKinesisService::ListTagsForResource(
    const api::ListTagsForResourceInput& in) {
  return target_->ListTagsForResource(in);
}

Status ForwardingKinesisService::StartStreamEncryption(const api::StreamEncryptionInput& in) {
  return target_->StartStreamEncryption(in);
}

Status ForwardingKinesisService::StopStreamEncryption(const api::StreamEncryptionInput& in) {
  return target_->StopStreamEncryption(in);
}

Result<api::EnhancedMonitoringOutput> ForwardingKinesisService::EnableEnhancedMonitoring(
    const api::EnhancedMonitoringInput& in) {
  return target_->EnableEnhancedMonitoring(in);
}

Result<api::EnhancedMonitoringOutput> ForwardingKinesisService::DisableEnhancedMonitoring(
    const api::EnhancedMonitoringInput& in) {
  return target_->DisableEnhancedMonitoring(in);
}

Result<api::DescribeLimitsOutput> ForwardingKinesisService::DescribeLimits() {
  return target_->DescribeLimits();
}

Status ForwardingKinesisService::UpdateStreamMode(const api::UpdateStreamModeInput& in) {
  return target_->UpdateStreamMode(in);
}

Result<api::AccountSettingsOutput> ForwardingKinesisService::DescribeAccountSettings() {
  return target_->DescribeAccountSettings();
}

Result<api::AccountSettingsOutput> ForwardingKinesisService::UpdateAccountSettings(
    const api::UpdateAccountSettingsInput& in) {
  return target_->UpdateAccountSettings(in);
}

Status ForwardingKinesisService::PutResourcePolicy(const api::ResourcePolicyInput& in) {
  return target_->PutResourcePolicy(in);
}

Result<api::GetResourcePolicyOutput> ForwardingKinesisService::GetResourcePolicy(
    const api::ResourcePolicyInput& in) {
  return target_->GetResourcePolicy(in);
}

Status ForwardingKinesisService::DeleteResourcePolicy(const api::ResourcePolicyInput& in) {
  return target_->DeleteResourcePolicy(in);
}

Status ForwardingKinesisService::UpdateMaxRecordSize(const api::UpdateMaxRecordSizeInput& in) {
  return target_->UpdateMaxRecordSize(in);
}

Result<api::UpdateStreamWarmThroughputOutput> ForwardingKinesisService::UpdateStreamWarmThroughput(
    const api::UpdateStreamWarmThroughputInput& in) {
  return target_->UpdateStreamWarmThroughput(in);
}

Result<api::Consumer> ForwardingKinesisService::RegisterStreamConsumer(
    const api::RegisterStreamConsumerInput& in) {
  return target_->RegisterStreamConsumer(in);
}

Status ForwardingKinesisService::DeregisterStreamConsumer(const api::ConsumerRef& in) {
  return target_->DeregisterStreamConsumer(in);
}

Result<api::Consumer> ForwardingKinesisService::DescribeStreamConsumer(const api::ConsumerRef& in) {
  return target_->DescribeStreamConsumer(in);
}

Result<api::ListStreamConsumersOutput> ForwardingKinesisService::ListStreamConsumers(
    const api::ListStreamConsumersInput& in) {
  return target_->ListStreamConsumers(in);
}

}  // namespace cinesis
