// The stream lifecycle and listings: Tick (state changes that are due, deletions,
// retention), CreateStream, DeleteStream, DescribeStream(Summary), ListStreams, ListShards
// and the retention period. Resharding and the other control operations: control.cc.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstring>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include "common/hash_key.h"
#include "common/random.h"
#include "engine/engine.h"
#include "engine/sequence.h"
#include "engine/state.h"
#include "engine/token.h"

namespace cinesis::engine {

using api::StreamStatus;
namespace errors = api::errors;

void Engine::Tick() {
  const EpochMillis now = Now();
  std::vector<std::shared_ptr<StreamState>> gone, live;
  {
    WriterLock lock(&mu_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      if ((*it)->GoneAt(now)) {
        {
          // Exclusively: a Settle of a request that still holds the stream either applied
          // its reshard before (counted, and subtracted here) or sees `removed` after.
          WriterLock stream_lock(&(*it)->mu);
          (*it)->removed = true;
          open_shards_.fetch_sub(static_cast<int>((*it)->open.size()), std::memory_order_relaxed);
        }
        gone.push_back(*it);
        it = streams_.erase(it);
      } else {
        live.push_back(*it);
        ++it;
      }
    }
  }
  RollMetrics(live, now);
  for (const auto& s : live) {
    Settle(*s, now);
    WriterLock lock(&s->mu);
    StreamExtras* extras = s->extras_if_any();
    if (extras && std::erase_if(extras->consumers, [&](const ConsumerState& c) {
          return c.deleting_at_ms && now >= c.gone_at_ms;
        })) {
      // A failure is reported by Persist; the document keeps the consumer as deleting, and
      // the next start removes it again.
      (void)Persist(*s);
    }
  }
  for (const auto& s : gone) {
    // The logs go first, the document last: a crash in between leaves a deleting document,
    // whose deletion the next start finishes (never logs without a document).
    bool dropped = true;
    {
      ReaderLock lock(&s->mu);
      for (const auto& shard : s->shards) {
        if (Status st = storage_->DropLog(LogIdFor(*s, *shard)); !st.ok()) {
          Report(storage::Severity::kError, "deleting stream " + s->name + ": " + st.ToString());
          dropped = false;
        }
      }
    }
    if (!dropped) continue;  // the document stays; the next start tries again
    if (Status st = storage_->meta().Erase(StreamKey(s->id)); !st.ok()) {
      Report(storage::Severity::kError,
             "deleting stream " + s->name + ": " + st.ToString() + " (the next start finishes it)");
    }
  }
  EpochMillis last = last_trim_ms_.load();
  if (now - last >= kTrimIntervalMs && last_trim_ms_.compare_exchange_strong(last, now)) {
    for (const auto& s : live) {
      const EpochMillis cutoff = s->RetentionStart(now);
      ReaderLock lock(&s->mu);
      for (const auto& shard : s->shards) shard->log->TrimBefore(cutoff);
    }
  }
}

Status Engine::CreateStream(const api::CreateStreamInput& in) {
  const EpochMillis now = Now();
  // As AddTagsToStream checks them: CreateStream's tags are added to the new stream.
  RETURN_IF_ERROR(CheckNewTags(in.tags, in.stream_name, true));
  // Neither ShardCount nor a mode: AWS creates the stream anyway, with the 4 shards of a new
  // on-demand stream (recorded by LocalStack's AWS-validated tests); we make it ON_DEMAND.
  const api::StreamMode mode = in.stream_mode.value_or(
      in.shard_count ? api::StreamMode::kProvisioned : api::StreamMode::kOnDemand);
  int shard_count = 0;
  if (mode == api::StreamMode::kOnDemand) {
    if (in.shard_count) return errors::InvalidShardCountForMode();
    shard_count = 4;
  } else {
    if (!in.shard_count) return errors::InvalidShardCountForMode();
    shard_count = *in.shard_count;
  }
  // A deleted stream of this name whose deletion delay has passed goes first (Tick), so the
  // name can be used again. Only then: Tick visits every stream, and a CreateStream must not
  // cost O(streams).
  if (auto same =
          [&] {
            ReaderLock lock(&mu_);
            return streams_.find(in.stream_name) != streams_.end();
          }();
      same && !Find(in.stream_name)) {
    Tick();
  }
  WriterLock lock(&mu_);
  if (streams_.count(in.stream_name))
    return errors::StreamAlreadyExists(in.stream_name, options_.scope);
  const int open_shards = open_shards_.load(std::memory_order_relaxed);
  if (open_shards + shard_count > options_.shard_limit) {
    return errors::ShardLimitExceeded(options_.scope, open_shards, options_.shard_limit,
                                      shard_count);
  }
  RETURN_IF_ERROR(CheckLogRoom(*storage_, options_.scope, open_shards, shard_count));
  auto s = std::make_shared<StreamState>();
  WriterLock stream_lock(&s->mu);  // not shared yet; taken so that every access is checked
  s->id = next_stream_id_++;
  s->name = in.stream_name;
  s->created_ms = now;
  s->active_at_ms = now + options_.create_stream_ms;
  s->mode = mode;
  if (!in.tags.empty()) s->mutable_extras().tags = in.tags;
  if (in.max_record_size_kib) s->max_record_size_kib = *in.max_record_size_kib;
  // On failure, the logs made so far are empty: drop them again.
  auto undo = [&](Status st) REQUIRES(s->mu) {
    for (const auto& sh : s->shards) {
      if (Status d = storage_->DropLog(LogIdFor(*s, *sh)); !d.ok())
        Report(storage::Severity::kError, "stream " + s->name + ": " + d.ToString());
    }
    return st;
  };
  auto ranges = EvenRanges(shard_count);
  std::vector<storage::NewLog> logs;
  logs.reserve(static_cast<std::size_t>(shard_count));
  for (int i = 0; i < shard_count; ++i) {
    const auto& [start, end] = ranges[static_cast<std::size_t>(i)];
    s->shards.push_back(
        NewShard(*storage_, *s, static_cast<std::uint32_t>(i), start, end, now, logs));
  }
  if (Status st = CreateShardLogs(*storage_, logs, s->shards); !st.ok())
    return undo(Internal("cannot create the shards of " + s->name, st));
  RebuildOpenShards(*s);
  if (Status st = storage_->meta().Put(kNextIdKey, std::to_string(next_stream_id_)); !st.ok())
    return undo(Internal("cannot save the next stream id", st));
  if (Status st = Persist(*s); !st.ok()) return undo(st);
  open_shards_.fetch_add(static_cast<int>(s->open.size()), std::memory_order_relaxed);
  streams_.insert(std::move(s));
  ReleaseFreedMemory(static_cast<std::size_t>(shard_count), options_.release_memory);
  return Status::Ok();
}

Status Engine::DeleteStream(const api::DeleteStreamInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  if (!in.enforce_consumer_deletion) {
    ReaderLock lock(&s->mu);
    const EpochMillis now = Now();
    for (const auto& c : s->extras().consumers) {
      if (!c.deleting_at_ms || now < c.gone_at_ms) {
        return errors::StreamHasConsumers(s->name, options_.scope);
      }
    }
  }
  {
    WriterLock lock(&mu_);
    WriterLock stream_lock(&s->mu);
    if (s->deleting_at_ms) return Status::Ok();
    const EpochMillis now = Now();
    s->deleting_at_ms = now;
    s->gone_at_ms.store(now + options_.delete_stream_ms, std::memory_order_release);
    if (Status st = Persist(*s); !st.ok()) {
      s->deleting_at_ms.reset();
      s->gone_at_ms.store(StreamState::kNever, std::memory_order_release);
      return st;
    }
  }
  if (options_.delete_stream_ms == 0) Tick();
  return Status::Ok();
}

Result<api::DescribeStreamOutput> Engine::DescribeStream(const api::DescribeStreamInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const EpochMillis now = Now();
  api::DescribeStreamOutput out;
  auto& d = out.stream_description;
  ReaderLock lock(&s->mu);
  d.stream_name = s->name;
  d.stream_arn = ArnFor(s->name);
  d.stream_status = StatusOf(*s, now);
  d.stream_mode = s->mode;
  d.retention_period_hours = s->retention_hours;
  d.stream_creation_timestamp = s->created_ms;
  const auto& metrics = s->extras().shard_level_metrics;
  d.enhanced_monitoring.push_back({{metrics.begin(), metrics.end()}});
  d.encryption_type = s->encryption;
  d.key_id = s->extras().key_id;
  // A stream shows no shards until it has been ACTIVE, also when deleted while CREATING.
  const bool was_active = s->deleting_at_ms ? *s->deleting_at_ms >= s->active_at_ms
                                            : d.stream_status != StreamStatus::kCreating;
  if (was_active) {
    const std::size_t limit = static_cast<std::size_t>(std::min(in.limit.value_or(100), 100));
    std::optional<std::uint32_t> after;
    if (in.exclusive_start_shard_id) after = ParseShardId(*in.exclusive_start_shard_id);
    for (const auto& shard : s->shards) {
      if (in.exclusive_start_shard_id && (!after || shard->index <= *after)) continue;
      if (d.shards.size() == limit) {
        d.has_more_shards = true;
        break;
      }
      d.shards.push_back(Describe(*shard));
    }
  }
  return out;
}

Result<api::DescribeStreamSummaryOutput> Engine::DescribeStreamSummary(
    const api::DescribeStreamSummaryInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  api::DescribeStreamSummaryOutput out;
  auto& d = out.stream_description_summary;
  ReaderLock lock(&s->mu);
  d.stream_name = s->name;
  d.stream_arn = ArnFor(s->name);
  d.stream_status = StatusOf(*s, Now());
  d.stream_mode = s->mode;
  d.retention_period_hours = s->retention_hours;
  d.stream_creation_timestamp = s->created_ms;
  const auto& metrics = s->extras().shard_level_metrics;
  d.enhanced_monitoring.push_back({{metrics.begin(), metrics.end()}});
  d.encryption_type = s->encryption;
  d.key_id = s->extras().key_id;
  d.max_record_size_kib = s->max_record_size_kib;
  d.warm_throughput_mibps = s->extras().warm_throughput_mibps;
  d.open_shard_count = static_cast<int>(s->open.size());
  const EpochMillis now = Now();
  d.consumer_count = static_cast<int>(std::count_if(
      s->extras().consumers.begin(), s->extras().consumers.end(),
      [&](const ConsumerState& c) { return !(c.deleting_at_ms && now >= c.gone_at_ms); }));
  return out;
}

Result<api::ListStreamsOutput> Engine::ListStreams(const api::ListStreamsInput& in) {
  const EpochMillis now = Now();
  std::string after;
  bool has_after = false;
  if (in.next_token) {
    auto plain = sealer_.Open(*in.next_token);
    if (!plain) return errors::InvalidNextToken();
    TokenReader r(*plain);
    std::uint8_t tag = 0;
    EpochMillis issued = 0;
    if (!r.U8(tag) || tag != kListStreamsTag || !r.I64(issued) || !r.Str(after)) {
      return errors::InvalidNextToken();
    }
    if (now - issued > options_.next_token_ttl_ms) return errors::ExpiredNextToken();
    has_after = true;
  } else if (in.exclusive_start_stream_name) {
    after = *in.exclusive_start_stream_name;
    has_after = true;
  }
  const std::size_t limit = static_cast<std::size_t>(std::min(in.limit.value_or(100), 100));
  api::ListStreamsOutput out;
  ReaderLock lock(&mu_);
  auto it = has_after ? streams_.upper_bound(after) : streams_.begin();
  for (; it != streams_.end(); ++it) {
    const auto& s = **it;
    if (s.GoneAt(now)) continue;
    ReaderLock stream_lock(&s.mu);
    if (out.stream_names.size() == limit) {
      out.has_more_streams = true;
      break;
    }
    out.stream_names.push_back(s.name);
    out.stream_summaries.push_back(
        {s.name, ArnFor(s.name), StatusOf(s, now), s.mode, s.created_ms});
  }
  if (out.has_more_streams) {
    TokenWriter w;
    w.U8(kListStreamsTag);
    w.I64(now);
    w.Str(out.stream_names.back());
    out.next_token = sealer_.Seal(w.data());
  }
  return out;
}

Result<api::ListShardsOutput> Engine::ListShards(const api::ListShardsInput& in) {
  const EpochMillis now = Now();
  const bool has_stream = in.stream.stream_name.has_value() || in.stream.stream_arn.has_value();
  if (in.next_token && in.stream.stream_name) return errors::ListShardsTokenAndStream();
  if (!in.next_token && !has_stream) return errors::ListShardsNeitherTokenNorStream();
  if (in.next_token && in.exclusive_start_shard_id)
    return errors::ListShardsTokenAndExclusiveStart();
  if (in.next_token && in.stream_creation_timestamp)
    return errors::ListShardsTokenAndCreationTimestamp();

  std::string name;
  std::optional<std::uint32_t> after;  // list shards with index > after
  std::optional<api::ShardFilter> filter = in.shard_filter;
  std::uint64_t stream_id = 0;
  if (in.next_token) {
    auto plain = sealer_.Open(*in.next_token);
    if (!plain) return errors::InvalidNextToken();
    TokenReader r(*plain);
    std::uint8_t tag = 0, has_filter = 0, ftype = 0;
    EpochMillis issued = 0, fts = 0;
    std::uint32_t last = 0;
    std::string fshard;
    if (!r.U8(tag) || tag != kListShardsTag || !r.I64(issued) || !r.U64(stream_id) ||
        !r.Str(name) || !r.U32(last) || !r.U8(has_filter) || !r.U8(ftype) || !r.Str(fshard) ||
        !r.I64(fts)) {
      return errors::InvalidNextToken();
    }
    if (now - issued > options_.next_token_ttl_ms) return errors::ExpiredNextToken();
    after = last;
    if (has_filter) {
      filter = api::ShardFilter{static_cast<api::ShardFilterType>(ftype),
                                fshard.empty() ? std::nullopt : std::optional<std::string>(fshard),
                                has_filter == 2 ? std::optional<EpochMillis>(fts) : std::nullopt};
    }
  } else {
    ASSIGN_OR_RETURN(name, NameOf(in.stream));
  }
  auto s = Find(name);
  if (!s || (stream_id != 0 && s->id != stream_id))
    return errors::StreamNotFound(name, options_.scope);
  bool creating = false;
  {
    ReaderLock lock(&s->mu);
    creating = StatusOf(*s, now) == StreamStatus::kCreating;
  }
  if (creating) {
    return errors::StreamIsNotActive(name, options_.scope, "CREATING");
  }
  if (!in.next_token && in.exclusive_start_shard_id) {
    auto idx = ParseShardId(*in.exclusive_start_shard_id);
    after = idx ? *idx : 0;
    if (!idx) return errors::CouldNotFindShard(*in.exclusive_start_shard_id, name, options_.scope);
  }
  if (filter) {
    using T = api::ShardFilterType;
    if (filter->type == T::kAfterShardId) {
      if (!filter->shard_id) {
        return errors::ShardFilterNeedsShardId();
      }
      auto idx = ParseShardId(*filter->shard_id);
      if (!idx) return errors::CouldNotFindShard(*filter->shard_id, name, options_.scope);
      if (!after || *idx > *after) after = *idx;
    }
    if ((filter->type == T::kAtTimestamp || filter->type == T::kFromTimestamp) &&
        !filter->timestamp) {
      return errors::ShardFilterNeedsTimestamp();
    }
  }
  const std::size_t limit = static_cast<std::size_t>(std::min(in.max_results.value_or(1000), 1000));
  const EpochMillis retention_start =
      now - static_cast<EpochMillis>(s->retention_hours) * 3'600'000;
  api::ListShardsOutput out;
  std::optional<std::uint32_t> last_index;
  bool more = false;
  {
    ReaderLock lock(&s->mu);
    // A shard's index is its position in s->shards: a page starts right after `after`, so
    // paging through n shards costs O(n), not O(n^2 / page size).
    const std::size_t first =
        after ? std::min(static_cast<std::size_t>(*after) + 1, s->shards.size()) : 0;
    for (std::size_t i = first; i < s->shards.size(); ++i) {
      const auto& shard = s->shards[i];
      bool include = true;
      if (filter) {
        using T = api::ShardFilterType;
        const bool open = !shard->closed_ms.has_value();
        auto open_at = [&](EpochMillis t) {
          return shard->created_ms <= t && (open || *shard->closed_ms > t);
        };
        switch (filter->type) {
          case T::kAfterShardId:
          case T::kFromTrimHorizon:
            break;
          case T::kAtTrimHorizon:
            include = open_at(std::max(retention_start, s->created_ms));
            break;
          case T::kAtLatest:
            include = open;
            break;
          case T::kAtTimestamp:
            include = open_at(std::max(*filter->timestamp, s->created_ms));
            break;
          case T::kFromTimestamp:
            include = open || *shard->closed_ms > *filter->timestamp;
            break;
        }
      }
      if (!include) continue;
      if (out.shards.size() == limit) {
        more = true;
        break;
      }
      out.shards.push_back(Describe(*shard));
      last_index = shard->index;
    }
  }
  if (more && last_index) {
    TokenWriter w;
    w.U8(kListShardsTag);
    w.I64(now);
    w.U64(s->id);
    w.Str(s->name);
    w.U32(*last_index);
    w.U8(filter ? (filter->timestamp ? 2 : 1) : 0);
    w.U8(filter ? static_cast<std::uint8_t>(filter->type) : 0);
    w.Str(filter && filter->shard_id ? *filter->shard_id : "");
    w.I64(filter && filter->timestamp ? *filter->timestamp : 0);
    out.next_token = sealer_.Seal(w.data());
  }
  return out;
}

Status Engine::IncreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) {
  return UpdateRetention(in, true);
}

Status Engine::DecreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) {
  return UpdateRetention(in, false);
}

Status Engine::UpdateRetention(const api::UpdateRetentionPeriodInput& in, bool increase) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const int hours = in.retention_period_hours;
  if (hours < 24) return errors::RetentionTooShort(hours);
  if (hours > 8760) return errors::RetentionTooLong(hours);
  WriterLock lock(&s->mu);
  const EpochMillis now = Now();
  if (StatusOf(*s, now) != StreamStatus::kActive) {
    return errors::StreamNotActive(s->name, options_.scope, api::ToString(StatusOf(*s, now)));
  }
  const int current = s->retention_hours.load();
  if (increase && hours < current)
    return errors::RetentionIncreaseBelowCurrent(hours, s->name, current);
  if (!increase && hours > current)
    return errors::RetentionDecreaseAboveCurrent(hours, s->name, current);
  s->retention_hours = hours;
  if (Status st = Persist(*s); !st.ok()) {
    s->retention_hours = current;
    return st;
  }
  return Status::Ok();
}

}  // namespace cinesis::engine
