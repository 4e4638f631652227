// The Kinesis engine: streams, shards, hash-key routing, sequence numbers, iterators and
// stream lifecycle, over a storage::Storage. Implements api::KinesisService.
//
// Thread safety: every method may be called from any thread. The stream registry is
// guarded by a reader-writer lock taken briefly for lookups; each stream guards its settings
// and shard topology with its own reader-writer lock; each shard log serialises its own
// appends. Writes to different shards never contend on a common exclusive lock. The guards
// are annotated (common/thread_annotations.h) and the lock order is in docs/architecture.md.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/batch.h"
#include "api/errors.h"
#include "api/live.h"
#include "api/service.h"
#include "common/clock.h"
#include "common/thread_annotations.h"
#include "engine/state.h"  // the annotations below name StreamState::mu
#include "engine/token.h"
#include "storage/log.h"

namespace cinesis::engine {

struct EngineOptions {
  api::AccountScope scope;                  // account id and region in ARNs and messages
  EpochMillis create_stream_ms = 500;       // CREATING -> ACTIVE
  EpochMillis delete_stream_ms = 500;       // DELETING -> gone
  EpochMillis update_stream_ms = 500;       // UPDATING -> ACTIVE
  EpochMillis iterator_ttl_ms = 300'000;    // shard iterators expire after this
  EpochMillis next_token_ttl_ms = 300'000;  // pagination tokens expire after this
  EpochMillis subscription_ms = 300'000;    // SubscribeToShard streams end after this (AWS: 5 min)
  int shard_limit = 20'000;                 // open shards per account
  std::int64_t max_record_bytes = 1 << 20;  // default MaxRecordSizeInKiB * 1024
  std::int64_t max_put_records_bytes = 10 << 20;  // PutRecords: data + keys per request
  // Enforce AWS's per-shard throughput limits on provisioned streams
  // (ProvisionedThroughputExceededException; PutRecords fails the records over the limit).
  bool throttle = false;
  // Logs holding records without a stream document (lost metadata): rebuild their streams
  // from the descriptors the logs carry. Off: Load refuses with FailedPrecondition.
  bool recover_metadata = false;
  // Where the engine reports what it cannot tell a client (failed metadata writes, storage
  // errors, recovery); nullptr: lines on stderr. Thread-safe, non-blocking.
  storage::EventSink events;
  const Clock* clock = &SystemClock::Instance();
  // Gives freed heap memory back to the system; called each time 1,000 more shards were made
  // or loaded (state.h, ReleaseFreedMemory), on the thread that made them. nullptr: glibc's
  // malloc_trim(0). A process that tunes malloc (the server: apps/cinesis/main.cc) supplies
  // its own.
  std::function<void()> release_memory;
};

class Engine final : public api::KinesisService,
                     public api::BatchDataPlane,
                     public api::EventStreamService,
                     public api::LiveService {
 public:
  Engine(EngineOptions options, std::unique_ptr<storage::Storage> storage);
  ~Engine() override;
  // Closes the storage now rather than at destruction: every queued write is written and every
  // durability callback answered (DiskStorage: a clean shutdown recorded). A server's answers
  // to writes still waiting for the disk are posted to its io_context, so call this after the
  // server's Run() returned and before the server is destroyed (apps/cinesis/main.cc). Nothing
  // but the destructor may be called afterwards.
  void Close();

  // Loads the streams persisted in the storage's metadata (a durable storage after a
  // restart) and removes logs no stream owns. Call once, before serving. Findings go to
  // `report`, one line each.
  Status Load(std::vector<std::string>* report);

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
  // BatchDataPlane: PutRecords and GetRecords without a string per record.
  Result<api::PutRecordsBatchOutput> PutRecordsBatch(const api::PutRecordsViewInput& in) override;
  Result<api::GetRecordsBatchOutput> GetRecordsBatch(const api::GetRecordsInput& in) override;
  Status IncreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) override;
  Status DecreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) override;

  // SubscribeToShard (subscription.cc).
  Result<std::shared_ptr<api::Subscription>> SubscribeToShard(
      const api::SubscribeToShardInput& in) override;

  // The live endpoints' needs (live.cc): tail cursors, metrics, fault-rule lookups.
  Result<std::unique_ptr<api::ShardCursor>> OpenCursor(const api::CursorStart& start) override;
  Result<api::MetricsSnapshot> Metrics(const std::optional<std::string>& stream,
                                       int seconds) override;
  api::FsyncHistogram Fsyncs() const override;
  std::optional<std::pair<std::string, std::string>> StreamOfIterator(
      std::string_view iterator) const override;
  Result<std::string> RouteRecord(const std::string& stream, std::string_view partition_key,
                                  const std::optional<std::string>& explicit_hash_key) override;
  const api::AccountScope& scope() const override { return options_.scope; }

  // Control plane (control.cc).
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

  // Housekeeping: removes streams whose deletion delay has passed. Called periodically
  // by the server; safe to call at any time.
  void Tick() EXCLUDES(mu_);

  const EngineOptions& options() const { return options_; }

 private:
  EpochMillis Now() const { return options_.clock->NowMillis(); }
  std::string ArnFor(std::string_view name) const;
  // Resolves StreamName/StreamARN to a live stream (deleted ones are not found).
  Result<std::shared_ptr<StreamState>> Resolve(const api::StreamRef& ref) const EXCLUDES(mu_);
  Result<std::string> NameOf(const api::StreamRef& ref) const;
  std::shared_ptr<StreamState> Find(std::string_view name) const EXCLUDES(mu_);
  api::StreamStatus StatusOf(const StreamState& s, EpochMillis now) const REQUIRES_SHARED(s.mu);
  // True when the per-shard throughput limits apply to the stream (opt-in, provisioned only).
  bool Throttled(const StreamState& s) const REQUIRES_SHARED(s.mu);
  // Caller holds the shard's stream's mu (at least shared).
  api::Shard Describe(const ShardState& shard) const;
  Status UpdateRetention(const api::UpdateRetentionPeriodInput& in, bool increase);
  // Writes the stream's document to the metadata store. Caller holds s.mu.
  Status Persist(const StreamState& s) const REQUIRES_SHARED(s.mu);
  // Applies a pending reshard whose UPDATING period has ended, once its document is saved;
  // if it cannot be, the stream stays UPDATING and the next Settle tries again. Nothing for a
  // stream Tick has removed (StreamState::removed).
  void Settle(StreamState& s, EpochMillis now) const EXCLUDES(s.mu);
  // Creates the children and closes the parents in memory; on error nothing changed.
  Status ApplyReshard(StreamState& s, EpochMillis at) const REQUIRES(s.mu);
  // Records an accepted reshard as pending (UPDATING until the update delay has passed) and
  // saves it; if it cannot be saved, undoes it (the client is told it failed, so it must not
  // happen later either).
  Status SavePendingReshard(StreamState& s, const PendingReshard& p, EpochMillis now) const
      REQUIRES(s.mu);
  // Reports `what` and `cause` (which may hold paths) and returns the client's InternalFailure.
  Status Internal(std::string_view what, const Status& cause) const;
  void Report(storage::Severity severity, const std::string& text) const;
  // Resolves the stream and checks it is ACTIVE (the state control operations need).
  Result<std::shared_ptr<StreamState>> ResolveActive(const api::StreamRef& ref) const;
  // ResourceInUseException unless the stream is ACTIVE; for operations that checked with
  // ResolveActive and must check again once they hold the lock they change the stream under.
  Status CheckActive(const StreamState& s, EpochMillis now) const REQUIRES_SHARED(s.mu);
  // Tags a stream (of_stream) or a consumer of `stream` is about to have: AddTagsToStream's
  // character checks and the limit of 50 (control.cc).
  Status CheckNewTags(const std::map<std::string, std::string>& tags, const std::string& stream,
                      bool of_stream) const;
  int OpenShardsInAccount() const EXCLUDES(mu_);
  Result<std::shared_ptr<StreamState>> StreamOfArn(std::string_view arn) const;
  // A consumer found by FindConsumer. Its index in `stream->consumers` holds only while
  // the stream's mu is held: use ConsumerIn once the lock is taken again.
  struct ConsumerHit {
    std::shared_ptr<StreamState> stream;
    std::string arn;
  };
  Result<ConsumerHit> FindConsumer(const api::ConsumerRef& ref) const;
  // The consumer of `hit` (ResourceNotFoundException if it has gone since FindConsumer).
  Result<ConsumerState*> ConsumerIn(const ConsumerHit& hit) const REQUIRES_SHARED(hit.stream->mu);
  api::Consumer DescribeConsumer(const StreamState& s, const ConsumerState& c,
                                 EpochMillis now) const REQUIRES_SHARED(s.mu);
  Status UpdateEncryption(const api::StreamEncryptionInput& in, bool start);
  Result<api::EnhancedMonitoringOutput> UpdateMonitoring(const api::EnhancedMonitoringInput& in,
                                                         bool enable);
  api::MinimumThroughputBillingCommitment billing_ GUARDED_BY(mu_);
  friend class EngineSubscription;
  // Position for a starting position on a shard (shared by GetShardIterator and
  // SubscribeToShard).
  Result<std::uint64_t> StartPosition(const StreamState& s, const ShardState& shard,
                                      const std::string& name, api::ShardIteratorType type,
                                      const std::optional<std::string>& seq,
                                      std::optional<EpochMillis> timestamp, EpochMillis now) const;
  Result<api::GetRecordsOutput> ReadShard(StreamState& s, ShardState& shard, std::uint64_t position,
                                          std::size_t limit, EpochMillis now, std::uint64_t* next,
                                          std::size_t max_bytes = 10 << 20) const EXCLUDES(s.mu);
  Result<api::GetRecordsBatchOutput> ReadShardBatch(StreamState& s, ShardState& shard,
                                                    std::uint64_t position, std::size_t limit,
                                                    EpochMillis now, std::uint64_t* next,
                                                    std::size_t max_bytes = 10 << 20) const
      EXCLUDES(s.mu);
  // Closes the metrics' second when a new one has begun (from Tick).
  void RollMetrics(const std::vector<std::shared_ptr<StreamState>>& live, EpochMillis now);
  friend class EngineCursor;
  // SubscribeToShardEvent.Records/.Bytes per consumer ARN.
  std::shared_ptr<std::array<std::atomic<std::uint64_t>, 2>> ConsumerCounters(
      const std::string& arn) EXCLUDES(subs_mu_);
  std::map<std::string, std::shared_ptr<std::array<std::atomic<std::uint64_t>, 2>>>
      consumer_counters_ GUARDED_BY(subs_mu_);
  std::atomic<std::int64_t> rolled_second_{0};
  Mutex subs_mu_;  // after mu_ and every StreamState::mu (taken with neither held)
  std::map<std::string, std::pair<EpochMillis, std::weak_ptr<api::Subscription>>> subscriptions_
      GUARDED_BY(subs_mu_);

  static constexpr EpochMillis kTrimIntervalMs = 10'000;

  EngineOptions options_;
  std::unique_ptr<storage::Storage> storage_;
  // Replaced only by Load, which runs before serving; read-only afterwards (and thread-safe).
  TokenSealer sealer_;
  // Guards the registry (taken before any StreamState::mu; see docs/architecture.md).
  mutable SharedMutex mu_;
  // Ordered by name (StreamState::name, immutable): a set, not a map from a copy of the name
  // (32 bytes per stream).
  struct ByName {
    using is_transparent = void;
    static std::string_view Key(std::string_view name) { return name; }
    static std::string_view Key(const std::shared_ptr<StreamState>& s) { return s->name; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Key(a) < Key(b);
    }
  };
  std::set<std::shared_ptr<StreamState>, ByName> streams_ GUARDED_BY(mu_);
  std::uint64_t next_stream_id_ GUARDED_BY(mu_) = 1;
  // Open shards of the streams in streams_ (deleting ones too, until Tick removes them): kept
  // as they change (CreateStream, Settle, Load, Tick) instead of summed over every stream.
  // Settle adds and Tick subtracts with the stream's mu held exclusively, Tick marking the
  // stream removed: a Settle racing the removal is counted before it or not at all.
  mutable std::atomic<int> open_shards_{0};  // Settle is const
  std::atomic<EpochMillis> last_trim_ms_{0};
};

}  // namespace cinesis::engine
