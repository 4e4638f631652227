#include "api/types.h"

#include <array>
#include <utility>

namespace cinesis::api {
namespace {

template <typename E, std::size_t N>
std::optional<E> Parse(const std::array<std::pair<E, std::string_view>, N>& table,
                       std::string_view s) {
  for (const auto& [e, name] : table) {
    if (name == s) return e;
  }
  return std::nullopt;
}
template <typename E, std::size_t N>
std::string_view Name(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, name] : table) {
    if (v == e) return name;
  }
  return {};
}

constexpr std::array<std::pair<StreamStatus, std::string_view>, 4> kStatus{
    {{StreamStatus::kCreating, "CREATING"},
     {StreamStatus::kDeleting, "DELETING"},
     {StreamStatus::kActive, "ACTIVE"},
     {StreamStatus::kUpdating, "UPDATING"}}};
constexpr std::array<std::pair<StreamMode, std::string_view>, 2> kMode{
    {{StreamMode::kProvisioned, "PROVISIONED"}, {StreamMode::kOnDemand, "ON_DEMAND"}}};
constexpr std::array<std::pair<ShardIteratorType, std::string_view>, 5> kIterType{
    {{ShardIteratorType::kAtSequenceNumber, "AT_SEQUENCE_NUMBER"},
     {ShardIteratorType::kAfterSequenceNumber, "AFTER_SEQUENCE_NUMBER"},
     {ShardIteratorType::kTrimHorizon, "TRIM_HORIZON"},
     {ShardIteratorType::kLatest, "LATEST"},
     {ShardIteratorType::kAtTimestamp, "AT_TIMESTAMP"}}};
constexpr std::array<std::pair<ShardFilterType, std::string_view>, 6> kFilter{
    {{ShardFilterType::kAfterShardId, "AFTER_SHARD_ID"},
     {ShardFilterType::kAtTrimHorizon, "AT_TRIM_HORIZON"},
     {ShardFilterType::kFromTrimHorizon, "FROM_TRIM_HORIZON"},
     {ShardFilterType::kAtLatest, "AT_LATEST"},
     {ShardFilterType::kAtTimestamp, "AT_TIMESTAMP"},
     {ShardFilterType::kFromTimestamp, "FROM_TIMESTAMP"}}};
constexpr std::array<std::pair<EncryptionType, std::string_view>, 2> kEnc{
    {{EncryptionType::kNone, "NONE"}, {EncryptionType::kKms, "KMS"}}};

constexpr std::array<std::pair<ConsumerStatus, std::string_view>, 3> kConsumer{
    {{ConsumerStatus::kCreating, "CREATING"},
     {ConsumerStatus::kDeleting, "DELETING"},
     {ConsumerStatus::kActive, "ACTIVE"}}};

}  // namespace

std::string_view ToString(ConsumerStatus s) { return Name(kConsumer, s); }
std::string_view ToString(StreamStatus s) { return Name(kStatus, s); }
std::string_view ToString(StreamMode m) { return Name(kMode, m); }
std::string_view ToString(ShardIteratorType t) { return Name(kIterType, t); }
std::string_view ToString(EncryptionType t) { return Name(kEnc, t); }
std::optional<StreamMode> ParseStreamMode(std::string_view s) { return Parse(kMode, s); }
std::optional<ShardIteratorType> ParseShardIteratorType(std::string_view s) {
  return Parse(kIterType, s);
}
std::optional<ShardFilterType> ParseShardFilterType(std::string_view s) {
  return Parse(kFilter, s);
}

}  // namespace cinesis::api
