// Client side of the JSON 1.1 codec: typed inputs -> request bodies, response bodies ->
// typed outputs. The mirror of api/codec (which the server uses the other way round).
#pragma once

#include <string>
#include <string_view>

#include "api/types.h"
#include "common/status.h"

namespace cinesis::client::wire {

// Request bodies.
std::string Encode(const api::CreateStreamInput& in);
std::string Encode(const api::DeleteStreamInput& in);
std::string Encode(const api::DescribeStreamInput& in);
std::string Encode(const api::DescribeStreamSummaryInput& in);
std::string Encode(const api::ListStreamsInput& in);
std::string Encode(const api::ListShardsInput& in);
std::string Encode(const api::PutRecordInput& in);
std::string Encode(const api::PutRecordsInput& in);
// The same into `out` (cleared first), reusing its capacity: built in one allocation
// (none when `out` held an earlier request of that size) instead of a growing string.
void EncodeInto(const api::PutRecordsInput& in, std::string& out);
std::string Encode(const api::GetShardIteratorInput& in);
std::string Encode(const api::GetRecordsInput& in);
std::string Encode(const api::UpdateRetentionPeriodInput& in);
std::string Encode(const api::SplitShardInput& in);
std::string Encode(const api::MergeShardsInput& in);
std::string Encode(const api::UpdateShardCountInput& in);
std::string Encode(const api::AddTagsToStreamInput& in);
std::string Encode(const api::RemoveTagsFromStreamInput& in);
std::string Encode(const api::ListTagsForStreamInput& in);
std::string Encode(const api::TagResourceInput& in);
std::string Encode(const api::UntagResourceInput& in);
std::string Encode(const api::ListTagsForResourceInput& in);
std::string Encode(const api::StreamEncryptionInput& in);
std::string Encode(const api::EnhancedMonitoringInput& in);
std::string Encode(const api::UpdateStreamModeInput& in);
std::string Encode(const api::UpdateAccountSettingsInput& in);
std::string Encode(const api::ResourcePolicyInput& in, bool with_policy);
std::string Encode(const api::UpdateMaxRecordSizeInput& in);
std::string Encode(const api::UpdateStreamWarmThroughputInput& in);
std::string Encode(const api::RegisterStreamConsumerInput& in);
std::string Encode(const api::ConsumerRef& in);
std::string Encode(const api::ListStreamConsumersInput& in);

// Response bodies (Corruption status on a body that does not parse).
Result<api::DescribeStreamOutput> DecodeDescribeStream(std::string_view body);
Result<api::DescribeStreamSummaryOutput> DecodeDescribeStreamSummary(std::string_view body);
Result<api::ListStreamsOutput> DecodeListStreams(std::string_view body);
Result<api::ListShardsOutput> DecodeListShards(std::string_view body);
Result<api::PutRecordOutput> DecodePutRecord(std::string_view body);
Result<api::PutRecordsOutput> DecodePutRecords(std::string_view body);
Result<api::GetShardIteratorOutput> DecodeGetShardIterator(std::string_view body);
// The consumer's hot path (get_records_decoder.cc): a streaming parse (Boost.JSON's
// basic_parser, no tree) straight into the records; an answer with ChildShards (the end of
// a closed shard) goes to DecodeGetRecordsTree. Both give the same result for any body.
Result<api::GetRecordsOutput> DecodeGetRecords(std::string_view body);
// Gives records back to DecodeGetRecords on this thread: its next answer is written into
// them (their strings keep their buffers) instead of new ones, so a reader that hands every
// batch back once it is done with it decodes without allocating per record. One batch is
// kept per thread; their contents are overwritten.
void RecycleRecords(std::vector<api::Record>&& records);
// The same answer through a parsed tree (Boost.JSON value in an arena).
Result<api::GetRecordsOutput> DecodeGetRecordsTree(std::string_view body);
Result<api::UpdateShardCountOutput> DecodeUpdateShardCount(std::string_view body);
Result<api::ListTagsForStreamOutput> DecodeListTagsForStream(std::string_view body);
Result<api::ListTagsForResourceOutput> DecodeListTagsForResource(std::string_view body);
Result<api::EnhancedMonitoringOutput> DecodeEnhancedMonitoring(std::string_view body);
Result<api::DescribeLimitsOutput> DecodeDescribeLimits(std::string_view body);
Result<api::AccountSettingsOutput> DecodeAccountSettings(std::string_view body);
Result<api::GetResourcePolicyOutput> DecodeGetResourcePolicy(std::string_view body);
Result<api::UpdateStreamWarmThroughputOutput> DecodeUpdateStreamWarmThroughput(
    std::string_view body);
Result<api::Consumer> DecodeConsumer(
    std::string_view body, std::string_view wrapper);  // "Consumer" / "ConsumerDescription"
Result<api::ListStreamConsumersOutput> DecodeListStreamConsumers(std::string_view body);

Result<api::SubscribeToShardEvent> DecodeSubscribeToShardEvent(std::string_view payload);
std::string Encode(const api::SubscribeToShardInput& in);

// An error response: `__type` (namespace prefix stripped) and `message`/`Message`.
Status DecodeError(int http_status, std::string_view body);

}  // namespace cinesis::client::wire
