// The Kinesis operations as an interface. The engine implements it; the wire pipeline
// (pipeline.h) and the in-process client transport call it. Implementations must be
// thread-safe and must not throw.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "api/types.h"
#include "common/status.h"

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

// Durability acknowledgements a transport can wait for without blocking a thread.
//
// While a DeferredAcks is installed on the calling thread (ScopedDeferredAcks), writes
// (PutRecord, PutRecords) return as soon as their records are queued, registering here
// what remains to wait for; the transport sends the answer once `Run` calls back. Without
// one installed (the in-process client, worker threads), writes block until durable.
class DeferredAcks {
 public:
  // Arranges for its argument to be called once, from any thread, when a write is durable
  // (or failed). It must not block.
  using Wait = std::function<void(std::function<void(Status)>)>;

  void Add(Wait wait) { waits_.push_back(std::move(wait)); }
  bool empty() const { return waits_.empty(); }
  // Starts every wait; `done` is called once, after the last completes, with the first
  // error (or OK). Consumes the registered waits.
  void Run(std::function<void(Status)> done);

  // The instance installed on this thread, or nullptr.
  static DeferredAcks* Current();

 private:
  friend class ScopedDeferredAcks;
  std::vector<Wait> waits_;
};

// Installs `acks` as DeferredAcks::Current() for this thread for the scope's lifetime.
class ScopedDeferredAcks {
 public:
  explicit ScopedDeferredAcks(DeferredAcks* acks);
  ~ScopedDeferredAcks();
  ScopedDeferredAcks(const ScopedDeferredAcks&) = delete;
  ScopedDeferredAcks& operator=(const ScopedDeferredAcks&) = delete;

 private:
  DeferredAcks* previous_;
};

// A live SubscribeToShard subscription. The server pulls events from it and asks to be
// told when the shard gets new records, so records are pushed as soon as they are
// appended, without polling. Thread-safe.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // The next event: the records appended since the previous one (possibly none), the
  // continuation sequence number, and ChildShards once the end of a closed shard is
  // reached. Errors are in-stream exceptions (e.g. another subscription took over).
  virtual Result<SubscribeToShardEvent> Next() = 0;
  // True after the last event (the end of a closed shard) or once superseded.
  virtual bool Finished() const = 0;
  // Calls `notify` once, from any thread, when records are waiting (at once if they are).
  virtual void NotifyOnAppend(std::function<void()> notify) = 0;
  // Subscriptions last at most 5 minutes.
  virtual EpochMillis ExpiresAt() const = 0;
};

// The event-stream operation, apart from the request/response ones.
class EventStreamService {
 public:
  virtual ~EventStreamService() = default;
  virtual Result<std::shared_ptr<Subscription>> SubscribeToShard(
      const SubscribeToShardInput& in) = 0;
};

}  // namespace cinesis::api
