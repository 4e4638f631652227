// The data plane: PutRecord, PutRecords (routing by hash key, limits, validation in the
// service's words, durability acknowledged through DeferredAcks), GetShardIterator and
// GetRecords (sealed iterators, see token.h).
#include <algorithm>
#include <array>
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

namespace {

// Registers with the transport's DeferredAcks the wait for an append to `shard`'s log to be
// durable: then readers are woken, and the write is acknowledged (or fails as
// InternalFailure). `stream` keeps the shard alive until then.
void DeferDurability(api::DeferredAcks& acks, std::shared_ptr<StreamState> stream,
                     ShardState* shard, std::shared_ptr<storage::Log> log,
                     storage::AppendResult appended) {
  acks.Add([stream = std::move(stream), shard, log = std::move(log),
            appended](std::function<void(Status)> done) {
    log->OnDurable(appended, [stream, shard, done = std::move(done)](Status st) {
      // The storage reported the failed write (with its path); the client learns only this.
      if (st.ok()) shard->NotifyAppended();
      done(st.ok() ? st : errors::InternalFailure());
    });
  });
}

// Writes are accepted while ACTIVE and while UPDATING (resharding keeps the stream writable).
bool Writable(StreamStatus s) { return s == StreamStatus::kActive || s == StreamStatus::kUpdating; }

Result<HashKey> HashKeyFor(std::string_view partition_key,
                           std::optional<std::string_view> explicit_key) {
  if (explicit_key) {
    auto v = ParseDecimal128(*explicit_key);
    if (!v) return errors::InvalidExplicitHashKey(*explicit_key);
    return HashKey{*v};
  }
  return Md5HashKey(partition_key);
}

}  // namespace

Result<api::PutRecordOutput> Engine::PutRecord(const api::PutRecordInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const EpochMillis now = Now();
  // Held shared from the size and status checks through the append: the limit, the status
  // and the topology are read together, and a control operation waits for the append.
  ReaderLock lock(&s->mu);
  const std::int64_t limit = static_cast<std::int64_t>(s->max_record_size_kib) * 1024;
  if (static_cast<std::int64_t>(in.data.size()) > limit) {
    return errors::ValidationErrors({errors::OversizeDataEntry(in.data.size(), limit, "data")});
  }
  if (!Writable(StatusOf(*s, now))) return errors::StreamNotFound(s->name, options_.scope);
  if (static_cast<std::int64_t>(in.data.size() + in.partition_key.size()) > limit) {
    return errors::RecordTooLarge(in.data.size() + in.partition_key.size(), limit, s->name,
                                  options_.scope);
  }
  ASSIGN_OR_RETURN(
      HashKey key,
      HashKeyFor(in.partition_key, in.explicit_hash_key
                                       ? std::optional<std::string_view>(*in.explicit_hash_key)
                                       : std::nullopt));
  if (in.sequence_number_for_ordering) {
    // Any number of a known layout is accepted, from any shard or stream, unless its record
    // time is in the future; version 3 fails with a bare InternalFailure (kinesalite's tests,
    // recorded against AWS). Ours increase per shard regardless.
    const std::string& seq = *in.sequence_number_for_ordering;
    const auto f = ParseAnySequence(seq);
    if (!f && SequenceLayoutVersion(seq) == 3) return errors::InternalFailureWithoutMessage();
    if (!f ||
        (f->version != 0 &&
         f->record_time_s > static_cast<std::uint64_t>(std::max<EpochMillis>(now, 0)) / 1000)) {
      return errors::InvalidSequenceNumberForOrdering(seq, s->name, options_.scope);
    }
  }
  ShardState* shard = s->Route(key);
  if (!shard) {
    return Internal("PutRecord: no open shard of stream " + s->name + " covers the hash key",
                    Status(Code::kInternalFailure, "routing table has a gap"));
  }
  if (Throttled(*s) &&
      !shard->throttle().TakeWrite(in.data.size() + in.partition_key.size(), now)) {
    shard->metrics.Add(api::Metric::kWriteProvisionedThroughputExceeded, 1);
    return errors::ThroughputExceeded(shard->id(), s->name, options_.scope);
  }
  storage::AppendRecord rec{
      in.partition_key,
      in.explicit_hash_key ? std::string_view(*in.explicit_hash_key) : std::string_view{}, in.data};
  auto appended = shard->log->Append({&rec, 1}, now);
  if (!appended.ok())
    return Internal("append to " + shard->id() + " of " + s->name, appended.status());
  shard->metrics.Add(api::Metric::kIncomingRecords, 1);
  shard->metrics.Add(api::Metric::kIncomingBytes, in.data.size());
  std::shared_ptr<storage::Log> log = shard->log;
  lock.Unlock();
  // Acknowledge only once the record is durable (group commit with concurrent writers):
  // by the transport, when it can wait without a thread, else here. A storage whose
  // appends are durable at once (in memory) needs neither.
  if (log->DurableOnAppend()) {
    shard->NotifyAppended();
  } else if (auto* acks = api::DeferredAcks::Current()) {
    DeferDurability(*acks, s, shard, log, *appended);
  } else {
    if (!log->WaitDurable(*appended).ok()) return errors::InternalFailure();
    shard->NotifyAppended();
  }
  api::PutRecordOutput out;
  out.encryption_type = s->encryption;
  out.shard_id = shard->id();
  out.sequence_number = shard->SequenceAt(appended->first.value, appended->arrival_ms);
  return out;
}

Result<api::PutRecordsOutput> Engine::PutRecords(const api::PutRecordsInput& in) {
  ASSIGN_OR_RETURN(auto out, PutRecordsBatch(api::ViewsOf(in)));
  return api::ToOutput(out);
}

Result<api::PutRecordsBatchOutput> Engine::PutRecordsBatch(const api::PutRecordsViewInput& in) {
  ASSIGN_OR_RETURN(auto s, Resolve(in.stream));
  const EpochMillis now = Now();
  // Held shared from the size and status checks through the appends (as in PutRecord).
  ReaderLock lock(&s->mu);
  const std::int64_t limit = static_cast<std::int64_t>(s->max_record_size_kib) * 1024;
  std::vector<std::string> oversize;
  std::int64_t total = 0;
  std::size_t largest = 0;
  for (std::size_t i = 0; i < in.records.size(); ++i) {
    const auto& r = in.records[i];
    const std::size_t size = r.data.size() + r.partition_key.size();
    total += static_cast<std::int64_t>(size);
    largest = std::max(largest, size);
    if (static_cast<std::int64_t>(r.data.size()) > limit && oversize.size() < 10) {
      oversize.push_back(errors::OversizeDataEntry(
          r.data.size(), limit, "records." + std::to_string(i + 1) + ".member.data"));
    }
  }
  if (!oversize.empty()) return errors::ValidationErrors(oversize);
  // The whole request may carry 10 MiB of data and partition keys (the current service
  // model; it was 5 MiB before per-stream record sizes came).
  const std::int64_t request_limit = options_.max_put_records_bytes;
  if (total > request_limit) return errors::RecordsSizeExceeded(request_limit);
  if (!Writable(StatusOf(*s, now))) return errors::StreamNotFound(s->name, options_.scope);
  if (static_cast<std::int64_t>(largest) > limit) {
    return errors::RecordTooLarge(largest, limit, s->name, options_.scope);
  }

  // Route every record, then append each shard's records as one batch, in request order.
  std::vector<ShardState*> route(in.records.size());
  std::vector<HashKey> keys(in.records.size());
  for (std::size_t i = 0; i < in.records.size(); ++i) {
    ASSIGN_OR_RETURN(keys[i],
                     HashKeyFor(in.records[i].partition_key, in.records[i].explicit_hash_key));
  }
  api::PutRecordsBatchOutput out;
  out.encryption_type = s->encryption;
  out.records.resize(in.records.size());
  // Every answer's sequence number (56 digits) and shard id (20) in one buffer.
  out.arena.text.reserve(in.records.size() * 80);
  auto& arena = out.arena;
  const auto fail = [&arena](api::PutRecordsBatchOutput::Entry& e, std::string_view code,
                             std::string_view message) {
    e = {{}, {}, arena.Add(code), arena.Add(message)};
  };
  for (std::size_t i = 0; i < in.records.size(); ++i) route[i] = s->Route(keys[i]);
  // The records grouped by shard, each group in request order: by counting when they go to
  // at most kFewShards shards (the common case), else by a stable sort.
  std::vector<std::size_t> order(in.records.size());
  {
    constexpr std::size_t kFewShards = 16;
    std::array<ShardState*, kFewShards> shards{};
    std::array<std::size_t, kFewShards + 1> starts{};
    std::vector<std::uint8_t> group(in.records.size());
    std::size_t distinct = 0;
    bool few = true;
    for (std::size_t i = 0; i < in.records.size(); ++i) {
      std::size_t g = 0;
      while (g < distinct && shards[g] != route[i]) ++g;
      if (g == distinct) {
        if (distinct == kFewShards) {
          few = false;
          break;
        }
        shards[distinct++] = route[i];
      }
      group[i] = static_cast<std::uint8_t>(g);
      ++starts[g + 1];
    }
    if (few) {
      for (std::size_t g = 1; g <= distinct; ++g) starts[g] += starts[g - 1];
      for (std::size_t i = 0; i < in.records.size(); ++i) order[starts[group[i]]++] = i;
    } else {
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return route[a] < route[b]; });
    }
  }
  std::vector<storage::AppendRecord> batch;
  batch.reserve(in.records.size());
  // (log, end offset, first and last index into `order`) of every append to wait for.
  std::vector<
      std::tuple<std::shared_ptr<storage::Log>, storage::AppendResult, std::size_t, std::size_t>>
      waits;
  const bool throttled = Throttled(*s);
  std::vector<bool> over_limit(throttled ? in.records.size() : 0);
  for (std::size_t begin = 0; begin < order.size();) {
    ShardState* shard = route[order[begin]];
    std::size_t end = begin;
    batch.clear();
    while (end < order.size() && route[order[end]] == shard) {
      const auto& r = in.records[order[end]];
      if (throttled && shard != nullptr &&
          !shard->throttle().TakeWrite(r.data.size() + r.partition_key.size(), now)) {
        over_limit[order[end]] = true;  // fails alone; the others are still written
        shard->metrics.Add(api::Metric::kWriteProvisionedThroughputExceeded, 1);
        ++end;
        continue;
      }
      batch.push_back({r.partition_key, r.explicit_hash_key.value_or(std::string_view{}), r.data});
      ++end;
    }
    if (shard == nullptr) {
      for (std::size_t k = begin; k < end; ++k) {
        fail(out.records[order[k]], "InternalFailure", errors::InternalFailure().message());
        ++out.failed_record_count;
      }
    } else {
      Result<storage::AppendResult> appended = storage::AppendResult{};
      if (!batch.empty()) appended = shard->log->Append(batch, now);
      if (!appended.ok())
        (void)Internal("append to " + shard->id() + " of " + s->name, appended.status());
      if (appended.ok() && !batch.empty()) {
        waits.emplace_back(shard->log, *appended, begin, end);
        std::size_t bytes = 0;
        for (const auto& b : batch) bytes += b.data.size();
        shard->metrics.Add(api::Metric::kIncomingRecords, batch.size());
        shard->metrics.Add(api::Metric::kIncomingBytes, bytes);
      }
      std::uint64_t written = 0;
      for (std::size_t k = begin; k < end; ++k) {
        auto& e = out.records[order[k]];
        if (throttled && over_limit[order[k]]) {
          auto st = errors::ThroughputExceeded(shard->id(), s->name, options_.scope);
          fail(e, st.name(), st.message());
          ++out.failed_record_count;
        } else if (appended.ok()) {
          const std::size_t at = arena.text.size();
          shard->AppendSequenceAt(appended->first.value + written++, appended->arrival_ms,
                                  arena.text);
          e.sequence_number = arena.Since(at);
          e.shard_id = arena.Add(shard->id());
        } else {
          fail(e, "InternalFailure", errors::InternalFailure().message());
          ++out.failed_record_count;
        }
      }
    }
    begin = end;
  }
  lock.Unlock();
  // Acknowledge records only once durable; a shard whose write failed fails its records.
  // A transport that waits without a thread (DeferredAcks) answers the whole request with
  // InternalFailure instead if a shard's write fails.
  if (auto* acks = api::DeferredAcks::Current()) {
    for (const auto& [log, appended, first, last] : waits) {
      DeferDurability(*acks, s, route[order[first]], log, appended);
    }
    return out;
  }
  for (const auto& [log, appended, first, last] : waits) {
    if (log->WaitDurable(appended).ok()) {
      route[order[first]]->NotifyAppended();
      continue;
    }
    for (std::size_t k = first; k < last; ++k) {
      auto& e = out.records[order[k]];
      if (!e.sequence_number.present()) continue;
      fail(e, "InternalFailure", errors::InternalFailure().message());
      ++out.failed_record_count;
    }
  }
  return out;
}

Result<std::uint64_t> Engine::StartPosition(const StreamState& s, const ShardState& shard,
                                            const std::string& name, api::ShardIteratorType type,
                                            const std::optional<std::string>& seq_in,
                                            std::optional<EpochMillis> timestamp,
                                            EpochMillis now) const {
  using T = api::ShardIteratorType;
  const bool has_seq = seq_in.has_value();
  if ((type == T::kTrimHorizon || type == T::kLatest) && has_seq) {
    return errors::IteratorTypeMismatch(api::ToString(type), true);
  }
  if ((type == T::kAtSequenceNumber || type == T::kAfterSequenceNumber) && !has_seq) {
    return errors::IteratorTypeMismatch(api::ToString(type), false);
  }
  const storage::Log& log = *shard.log;
  switch (type) {
    case T::kTrimHorizon:
      return std::max(log.StartOffset(), log.OffsetAtTime(s.RetentionStart(now))).value;
    case T::kLatest:
      return log.EndOffset().value;
    case T::kAtTimestamp:
      if (!timestamp) return errors::AtTimestampWithoutTimestamp();
      if (*timestamp > now) return errors::TimestampInFuture(*timestamp, now);
      return log.OffsetAtTime(std::max(*timestamp, s.RetentionStart(now))).value;
    case T::kAtSequenceNumber:
    case T::kAfterSequenceNumber: {
      const std::string& seq = *seq_in;
      auto f = ParseAnySequence(seq);
      if (!f) return errors::InvalidStartingSequenceNumber(seq, shard.id(), name, options_.scope);
      if (f->shard_index != static_cast<std::int64_t>(shard.index)) {
        return errors::StartingSequenceNumberFromOtherShard(ShardIdName(f->shard_index),
                                                            shard.id());
      }
      if (f->version != 2 || f->shard_created_s != shard.created_s()) {
        // AWS fails on a version-0 number of the right shard (HTTP 500, no message).
        if (f->version == 0) return errors::InternalFailureWithoutMessage();
        return errors::StartingSequenceNumberFromOtherStream(seq, shard.id(), name, options_.scope);
      }
      // Counter c belongs to offset c-1; counter 0 is the shard's starting number. A number
      // with a nonzero sub lies after record c-1 and before record c (a continuation
      // number): AT and AFTER it both start at offset c.
      std::uint64_t position = type == T::kAtSequenceNumber && f->sub == 0
                                   ? (f->counter == 0 ? 0 : f->counter - 1)
                                   : f->counter;
      position = std::min(position, log.EndOffset().value);
      return std::max(position, log.StartOffset().value);
    }
  }
  return std::uint64_t{0};
}

Result<api::GetShardIteratorOutput> Engine::GetShardIterator(const api::GetShardIteratorInput& in) {
  ASSIGN_OR_RETURN(std::string name, NameOf(in.stream));
  auto index = ParseShardId(in.shard_id);
  if (!index) return errors::CouldNotFindShard(in.shard_id, name, options_.scope);
  const std::string shard_id = ShardIdFor(*index);
  auto s = Find(name);
  const EpochMillis now = Now();
  if (!s) return errors::ShardDoesNotExist(shard_id, name, options_.scope);
  std::shared_ptr<ShardState> shard;
  {
    ReaderLock lock(&s->mu);
    if (StatusOf(*s, now) == StreamStatus::kCreating)
      return errors::ShardDoesNotExist(shard_id, name, options_.scope);
    if (*index >= s->shards.size())
      return errors::ShardDoesNotExist(shard_id, name, options_.scope);
    shard = s->shards[*index];
  }
  ASSIGN_OR_RETURN(std::uint64_t position,
                   StartPosition(*s, *shard, name, in.shard_iterator_type,
                                 in.starting_sequence_number, in.timestamp, now));
  api::GetShardIteratorOutput out;
  out.shard_iterator = SealIterator(sealer_, {s->id, s->name, *index, position, now});
  return out;
}

Result<api::GetRecordsOutput> Engine::ReadShard(StreamState& s, ShardState& shard,
                                                std::uint64_t position, std::size_t limit,
                                                EpochMillis now, std::uint64_t* next_out,
                                                std::size_t max_bytes) const {
  ASSIGN_OR_RETURN(auto out, ReadShardBatch(s, shard, position, limit, now, next_out, max_bytes));
  return api::ToOutput(std::move(out));
}

Result<api::GetRecordsBatchOutput> Engine::ReadShardBatch(StreamState& s, ShardState& shard,
                                                          std::uint64_t position, std::size_t limit,
                                                          EpochMillis now, std::uint64_t* next_out,
                                                          std::size_t max_bytes) const {
  const std::size_t kMaxResponseBytes = max_bytes;
  api::GetRecordsBatchOutput out;
  std::size_t bytes = 0;
  const auto encryption = s.encryption.load();
  {
    // Room for the records there are (at most `limit`); the text grows as it must.
    const std::uint64_t end = shard.log->EndOffset().value;
    const std::size_t expect =
        end > position ? static_cast<std::size_t>(std::min<std::uint64_t>(end - position, limit))
                       : 0;
    out.records.reserve(expect);
  }
  auto& arena = out.arena;
  auto read = shard.log->Read(
      storage::Offset{position}, limit,
      [&](const storage::RecordView& r) {
        const std::size_t size = r.data.size() + r.key.size();
        if (!out.records.empty() && bytes + size > kMaxResponseBytes) return false;
        bytes += size;
        if (out.records.size() == 1) {
          // Sized from the first record: the rest are usually alike.
          const std::size_t cap = out.records.capacity();
          arena.text.reserve(std::min(arena.text.size() * cap, kMaxResponseBytes + 64 * cap));
        }
        const std::size_t at = arena.text.size();
        shard.AppendSequenceAt(r.offset.value, r.arrival_ms, arena.text);
        const api::TextSpan seq = arena.Since(at);
        const api::TextSpan data = arena.Add(r.data);
        const api::TextSpan key = arena.Add(r.key);
        out.records.push_back({seq, data, key, r.arrival_ms, encryption});
        return true;
      },
      s.RetentionStart(now));
  // A damaged record was reported by the storage with its path and offset.
  if (!read.ok()) return errors::InternalFailure();
  const std::uint64_t next = read->next.value;
  const std::uint64_t end = shard.log->EndOffset().value;
  if (next < end) {
    std::optional<EpochMillis> arrival;
    (void)shard.log->Read(
        storage::Offset{next}, 1,
        [&](const storage::RecordView& r) {
          arrival = r.arrival_ms;
          return true;
        },
        s.RetentionStart(now));
    out.millis_behind_latest = arrival ? std::max<EpochMillis>(0, now - *arrival) : 0;
  }
  {
    ReaderLock lock(&s.mu);
    if (shard.closed_ms && next >= end) {
      std::vector<api::ChildShard> children;
      for (const auto& c : s.shards) {
        if (c->parent == shard.index || c->adjacent_parent == shard.index) {
          api::ChildShard child{c->id(), {}, {ToString(c->start), ToString(c->end)}};
          if (c->parent) child.parent_shards.push_back(ShardIdFor(*c->parent));
          if (c->adjacent_parent) child.parent_shards.push_back(ShardIdFor(*c->adjacent_parent));
          children.push_back(std::move(child));
        }
      }
      out.child_shards = std::move(children);
    }
  }
  *next_out = next;
  return out;
}

Result<api::GetRecordsOutput> Engine::GetRecords(const api::GetRecordsInput& in) {
  ASSIGN_OR_RETURN(auto out, GetRecordsBatch(in));
  return api::ToOutput(std::move(out));
}

Result<api::GetRecordsBatchOutput> Engine::GetRecordsBatch(const api::GetRecordsInput& in) {
  // AWS also takes an iterator wrapped in double quotes (as a shell or a JSON tool may
  // leave it); validated against AWS by LocalStack's tests.
  std::string_view text = in.shard_iterator;
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    text = text.substr(1, text.size() - 2);
  auto it = OpenIterator(sealer_, text);
  if (!it) return errors::InvalidShardIterator();
  const EpochMillis now = Now();
  if (now - it->created_ms > options_.iterator_ttl_ms) {
    return errors::IteratorExpired(it->created_ms, now, options_.iterator_ttl_ms);
  }
  const std::string shard_id = ShardIdFor(it->shard_index);
  if (in.stream_arn && *in.stream_arn != ArnFor(it->stream_name))
    return errors::InvalidShardIterator();
  auto s = Find(it->stream_name);
  if (!s || s->id != it->stream_id)
    return errors::ShardDoesNotExist(shard_id, it->stream_name, options_.scope);
  std::shared_ptr<ShardState> shard;
  bool throttled = false;
  {
    ReaderLock lock(&s->mu);
    if (it->shard_index >= s->shards.size()) {
      return errors::ShardDoesNotExist(shard_id, it->stream_name, options_.scope);
    }
    shard = s->shards[it->shard_index];
    throttled = Throttled(*s);
  }
  if (throttled && !shard->throttle().TakeRead(now)) {
    shard->metrics.Add(api::Metric::kReadProvisionedThroughputExceeded, 1);
    return errors::ReadThroughputExceeded(shard_id, s->name, options_.scope);
  }
  std::uint64_t next = 0;
  ASSIGN_OR_RETURN(auto out,
                   ReadShardBatch(*s, *shard, it->position,
                                  static_cast<std::size_t>(in.limit.value_or(10000)), now, &next));
  {
    std::size_t bytes = 0, data_bytes = 0;
    for (const auto& r : out.records) {
      bytes += r.data.size + r.partition_key.size;
      data_bytes += r.data.size;
    }
    if (throttled) shard->throttle().ChargeRead(bytes);
    shard->metrics.Add(api::Metric::kGetRecordsRecords, out.records.size());
    shard->metrics.Add(api::Metric::kGetRecordsBytes, data_bytes);
    shard->metrics.Max(
        api::Metric::kIteratorAgeMilliseconds,
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, out.millis_behind_latest)));
  }
  // NextShardIterator is absent only at the end of a closed shard (then ChildShards is set).
  if (!out.child_shards)
    out.next_shard_iterator = SealIterator(sealer_, {s->id, s->name, it->shard_index, next, now});
  return out;
}

}  // namespace cinesis::engine
