// Request and response types of the Kinesis operations, named as in the service model.
// Shared by the server (decode requests, encode responses) and the client (the reverse).
// Timestamps are epoch milliseconds; blobs are raw bytes; absent optionals are omitted
// on the wire.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cinesis/clock.h"
#include "cinesis/export.h"

namespace cinesis::api {

enum class StreamStatus { kCreating, kDeleting, kActive, kUpdating };
enum class StreamMode { kProvisioned, kOnDemand };
enum class ShardIteratorType {
  kAtSequenceNumber,
  kAfterSequenceNumber,
  kTrimHorizon,
  kLatest,
  kAtTimestamp
};
enum class ShardFilterType {
  kAfterShardId,
  kAtTrimHorizon,
  kFromTrimHorizon,
  kAtLatest,
  kAtTimestamp,
  kFromTimestamp
};
enum class EncryptionType { kNone, kKms };

CINESIS_EXPORT std::string_view ToString(StreamStatus s);
CINESIS_EXPORT std::string_view ToString(StreamMode m);
CINESIS_EXPORT std::string_view ToString(ShardIteratorType t);
CINESIS_EXPORT std::string_view ToString(EncryptionType t);
CINESIS_EXPORT std::optional<StreamMode> ParseStreamMode(std::string_view s);
CINESIS_EXPORT std::optional<ShardIteratorType> ParseShardIteratorType(std::string_view s);
CINESIS_EXPORT std::optional<ShardFilterType> ParseShardFilterType(std::string_view s);

// Streams are addressed by name or ARN in every stream-scoped call.
struct StreamRef {
  std::optional<std::string> stream_name{};
  std::optional<std::string> stream_arn{};
};

struct HashKeyRange {
  std::string starting_hash_key{};
  std::string ending_hash_key{};
};
struct SequenceNumberRange {
  std::string starting_sequence_number{};
  std::optional<std::string> ending_sequence_number{};
};
struct Shard {
  std::string shard_id{};
  std::optional<std::string> parent_shard_id{};
  std::optional<std::string> adjacent_parent_shard_id{};
  HashKeyRange hash_key_range{};
  SequenceNumberRange sequence_number_range{};
};
struct ChildShard {
  std::string shard_id{};
  std::vector<std::string> parent_shards{};
  HashKeyRange hash_key_range{};
};
struct EnhancedMetrics {
  std::vector<std::string> shard_level_metrics{};
};

struct CreateStreamInput {
  std::string stream_name{};
  std::optional<int> shard_count{};
  std::optional<StreamMode> stream_mode{};
  std::map<std::string, std::string> tags{};
  std::optional<int> warm_throughput_mibps{};
  std::optional<int> max_record_size_kib{};
};

struct DeleteStreamInput {
  StreamRef stream{};
  bool enforce_consumer_deletion = false;
};

struct DescribeStreamInput {
  StreamRef stream{};
  std::optional<int> limit{};
  std::optional<std::string> exclusive_start_shard_id{};
};
struct StreamDescription {
  std::string stream_name{};
  std::string stream_arn{};
  StreamStatus stream_status = StreamStatus::kActive;
  StreamMode stream_mode = StreamMode::kProvisioned;
  std::vector<Shard> shards{};
  bool has_more_shards = false;
  int retention_period_hours = 24;
  EpochMillis stream_creation_timestamp = 0;
  std::vector<EnhancedMetrics> enhanced_monitoring{};
  EncryptionType encryption_type = EncryptionType::kNone;
  std::optional<std::string> key_id{};
};
struct DescribeStreamOutput {
  StreamDescription stream_description{};
};

struct DescribeStreamSummaryInput {
  StreamRef stream{};
};
struct StreamDescriptionSummary {
  std::string stream_name{};
  std::string stream_arn{};
  StreamStatus stream_status = StreamStatus::kActive;
  StreamMode stream_mode = StreamMode::kProvisioned;
  int retention_period_hours = 24;
  EpochMillis stream_creation_timestamp = 0;
  std::vector<EnhancedMetrics> enhanced_monitoring{};
  EncryptionType encryption_type = EncryptionType::kNone;
  std::optional<std::string> key_id{};
  int open_shard_count = 0;
  int consumer_count = 0;
  int max_record_size_kib = 1024;
  std::optional<int> warm_throughput_mibps{};
};
struct DescribeStreamSummaryOutput {
  StreamDescriptionSummary stream_description_summary{};
};

struct ListStreamsInput {
  std::optional<int> limit{};
  std::optional<std::string> exclusive_start_stream_name{};
  std::optional<std::string> next_token{};
};
struct StreamSummary {
  std::string stream_name{};
  std::string stream_arn{};
  StreamStatus stream_status = StreamStatus::kActive;
  StreamMode stream_mode = StreamMode::kProvisioned;
  EpochMillis stream_creation_timestamp = 0;
};
struct ListStreamsOutput {
  std::vector<std::string> stream_names{};
  bool has_more_streams = false;
  std::optional<std::string> next_token{};
  std::vector<StreamSummary> stream_summaries{};
};

struct ShardFilter {
  ShardFilterType type = ShardFilterType::kFromTrimHorizon;
  std::optional<std::string> shard_id{};
  std::optional<EpochMillis> timestamp{};
};
struct ListShardsInput {
  StreamRef stream{};
  std::optional<std::string> next_token{};
  std::optional<std::string> exclusive_start_shard_id{};
  std::optional<int> max_results{};
  std::optional<EpochMillis> stream_creation_timestamp{};
  std::optional<ShardFilter> shard_filter{};
};
struct ListShardsOutput {
  std::vector<Shard> shards{};
  std::optional<std::string> next_token{};
};

struct PutRecordInput {
  StreamRef stream{};
  std::string data{};
  std::string partition_key{};
  std::optional<std::string> explicit_hash_key{};
  std::optional<std::string> sequence_number_for_ordering{};
};
struct PutRecordOutput {
  std::string shard_id{};
  std::string sequence_number{};
  EncryptionType encryption_type = EncryptionType::kNone;
};

struct PutRecordsRequestEntry {
  std::string data{};
  std::optional<std::string> explicit_hash_key{};
  std::string partition_key{};
};
struct PutRecordsInput {
  StreamRef stream{};
  std::vector<PutRecordsRequestEntry> records{};
};
struct PutRecordsResultEntry {
  std::optional<std::string> sequence_number{};
  std::optional<std::string> shard_id{};
  std::optional<std::string> error_code{};
  std::optional<std::string> error_message{};
};
struct PutRecordsOutput {
  int failed_record_count = 0;
  std::vector<PutRecordsResultEntry> records{};
  EncryptionType encryption_type = EncryptionType::kNone;
};

struct GetShardIteratorInput {
  StreamRef stream{};
  std::string shard_id{};
  ShardIteratorType shard_iterator_type = ShardIteratorType::kLatest;
  std::optional<std::string> starting_sequence_number{};
  std::optional<EpochMillis> timestamp{};
};
struct GetShardIteratorOutput {
  std::string shard_iterator{};
};

struct GetRecordsInput {
  std::string shard_iterator{};
  std::optional<int> limit{};
  std::optional<std::string> stream_arn{};
};
struct Record {
  std::string sequence_number{};
  EpochMillis approximate_arrival_timestamp = 0;
  std::string data{};
  std::string partition_key{};
  std::optional<EncryptionType> encryption_type{};
};
struct GetRecordsOutput {
  std::vector<Record> records{};
  std::optional<std::string> next_shard_iterator{};
  std::int64_t millis_behind_latest = 0;
  std::optional<std::vector<ChildShard>> child_shards{};
};

struct UpdateRetentionPeriodInput {  // IncreaseStreamRetentionPeriod and
                                     // DecreaseStreamRetentionPeriod
  StreamRef stream{};
  int retention_period_hours = 24;
};

// ---- resharding ----
struct SplitShardInput {
  StreamRef stream{};
  std::string shard_to_split{};
  std::string new_starting_hash_key{};
};
struct MergeShardsInput {
  StreamRef stream{};
  std::string shard_to_merge{};
  std::string adjacent_shard_to_merge{};
};
struct UpdateShardCountInput {
  StreamRef stream{};
  int target_shard_count = 0;
  std::string scaling_type{};
};
struct UpdateShardCountOutput {
  std::string stream_name{};
  std::string stream_arn{};
  int current_shard_count = 0;
  int target_shard_count = 0;
};

// ---- tags ----
using TagMap = std::map<std::string, std::string>;
struct AddTagsToStreamInput {
  StreamRef stream{};
  TagMap tags{};
};
struct RemoveTagsFromStreamInput {
  StreamRef stream{};
  std::vector<std::string> tag_keys{};
};
struct ListTagsForStreamInput {
  StreamRef stream{};
  std::optional<std::string> exclusive_start_tag_key{};
  std::optional<int> limit{};
};
struct Tag {
  std::string key{};
  std::string value{};
};
struct ListTagsForStreamOutput {
  std::vector<Tag> tags{};
  bool has_more_tags = false;
};
struct TagResourceInput {
  std::string resource_arn{};
  TagMap tags{};
};
struct UntagResourceInput {
  std::string resource_arn{};
  std::vector<std::string> tag_keys{};
};
struct ListTagsForResourceInput {
  std::string resource_arn{};
};
struct ListTagsForResourceOutput {
  std::vector<Tag> tags{};
};

// ---- stream settings ----
struct StreamEncryptionInput {  // StartStreamEncryption and StopStreamEncryption
  StreamRef stream{};
  EncryptionType encryption_type = EncryptionType::kKms;
  std::string key_id{};
};
struct EnhancedMonitoringInput {  // EnableEnhancedMonitoring and DisableEnhancedMonitoring
  StreamRef stream{};
  std::vector<std::string> shard_level_metrics{};
};
struct EnhancedMonitoringOutput {
  std::string stream_name{};
  std::string stream_arn{};
  std::vector<std::string> current_shard_level_metrics{};
  std::vector<std::string> desired_shard_level_metrics{};
};
struct DescribeLimitsOutput {
  int shard_limit = 0;
  int open_shard_count = 0;
  int on_demand_stream_count = 0;
  int on_demand_stream_count_limit = 0;
};
struct UpdateStreamModeInput {
  std::string stream_arn{};
  StreamMode stream_mode = StreamMode::kProvisioned;
  std::optional<int> warm_throughput_mibps{};
};
struct MinimumThroughputBillingCommitment {
  std::string status = "DISABLED";  // ENABLED, DISABLED, ENABLED_UNTIL_EARLIEST_ALLOWED_END
  std::optional<EpochMillis> started_at{}, ended_at{}, earliest_allowed_end_at{};
};
struct AccountSettingsOutput {  // DescribeAccountSettings and UpdateAccountSettings
  std::optional<MinimumThroughputBillingCommitment> minimum_throughput_billing_commitment{};
};
struct UpdateAccountSettingsInput {
  std::string minimum_throughput_billing_commitment_status{};
};
struct ResourcePolicyInput {  // Put/Get/DeleteResourcePolicy
  std::string resource_arn{};
  std::string policy{};  // PutResourcePolicy only
};
struct GetResourcePolicyOutput {
  std::string policy{};
};
struct UpdateMaxRecordSizeInput {
  StreamRef stream{};
  int max_record_size_kib = 1024;
};
struct UpdateStreamWarmThroughputInput {
  StreamRef stream{};
  int warm_throughput_mibps = 0;
};
struct UpdateStreamWarmThroughputOutput {
  std::string stream_name{};
  std::string stream_arn{};
  int target_mibps = 0;
  int current_mibps = 0;
};

// ---- enhanced fan-out consumers ----
enum class ConsumerStatus { kCreating, kDeleting, kActive };
CINESIS_EXPORT std::string_view ToString(ConsumerStatus s);
struct Consumer {
  std::string consumer_name{};
  std::string consumer_arn{};
  ConsumerStatus consumer_status = ConsumerStatus::kCreating;
  EpochMillis consumer_creation_timestamp = 0;
  std::string stream_arn{};  // ConsumerDescription only
};
struct RegisterStreamConsumerInput {
  std::string stream_arn{};
  std::string consumer_name{};
  TagMap tags{};
};
struct ConsumerRef {  // ConsumerARN, or StreamARN + ConsumerName
  std::optional<std::string> stream_arn{};
  std::optional<std::string> consumer_name{};
  std::optional<std::string> consumer_arn{};
};
struct ListStreamConsumersInput {
  std::string stream_arn{};
  std::optional<std::string> next_token{};
  std::optional<int> max_results{};
  std::optional<EpochMillis> stream_creation_timestamp{};
};
struct ListStreamConsumersOutput {
  std::vector<Consumer> consumers{};
  std::optional<std::string> next_token{};
};

// ---- SubscribeToShard (event stream) ----
struct StartingPosition {
  ShardIteratorType type = ShardIteratorType::kLatest;
  std::optional<std::string> sequence_number{};
  std::optional<EpochMillis> timestamp{};
};
struct SubscribeToShardInput {
  std::string consumer_arn{};
  std::string shard_id{};
  StartingPosition starting_position{};
};
struct SubscribeToShardEvent {
  std::vector<Record> records{};
  // Absent in the last event of a closed shard (the one with ChildShards): KCL, Flink and
  // Beam read a null continuation as "shard end".
  std::optional<std::string> continuation_sequence_number{};
  std::int64_t millis_behind_latest = 0;
  std::optional<std::vector<ChildShard>> child_shards{};
};

}  // namespace cinesis::api
