// One shard's reader (struct Reader, declared in consumer_impl.h).
//
// Run() loads the shard's checkpoint (retried: starting elsewhere would replay or skip
// records), then reads with GetRecords (RunPolling: per-shard rate limit, idle backoff,
// iterators renewed from the last record delivered) or over SubscribeToShard (RunFanOut:
// resubscribes after each subscription ends). Deliver deaggregates KPL records, skips
// what the checkpoint covers, hands each batch to the ShardProcessor and then applies the
// checkpoint policy: a batch is checkpointed only after the processor returned. At the
// end of a closed shard, EndShard saves SHARD_END so its children may start. On stop or
// handover the processor hears ShutdownRequested, and the lease is released.
//
// Threads: everything here runs on the reader's own thread, except what the processor
// does with the Checkpointer (on this thread too). The reader's own fields need no lock;
// it takes Impl::mu only to update metrics, to request a resync, and to wait on Impl::cv,
// never while the processor or a store call runs. Its last step sets `done`, after which
// it takes no lock (the coordinator joins done readers with mu held).
#include <algorithm>

#include "cinesis/aggregation.h"
#include "client/wire_codec.h"
#include "consumer/consumer_impl.h"

namespace cinesis {

using namespace std::chrono_literals;

void Reader::RecordLag(std::int64_t millis_behind) {
  std::lock_guard lock(c.mu);
  c.stats.millis_behind_latest[shard_id] = millis_behind;
}

Status Reader::Checkpoint() {
  if (!last_delivered) return Status::Ok();
  return Checkpoint(*last_delivered);
}

Status Reader::Checkpoint(const ConsumerRecord& r) {
  consumer::Checkpoint cp{r.sequence_number, r.sub_sequence_number};
  if (last_saved && *last_saved == cp) return Status::Ok();
  bool was_lost = false;
  Status st = c.Save(shard_id, HeldLease(), cp, &was_lost);
  if (was_lost) lost = true;
  if (st.ok()) {
    last_saved = cp;
    since_checkpoint = 0;
    last_checkpoint_ms = c.clock.NowMillis();
  }
  return st;
}

void Reader::CheckpointByPolicy() {
  Status st = Checkpoint();
  if (!st.ok() && !lost) (void)Failed("CheckpointStore.Save", st);
}

std::optional<consumer::Lease> Reader::HeldLease() const {
  std::lock_guard lock(c.mu);
  return lease;
}

void Reader::ReleaseLease() {
  const std::optional<consumer::Lease> held = HeldLease();
  if (Status st = c.o.leases->Release(c.scope, *held); !st.ok()) {
    LogConsumer(LogLevel::kWarning, "stream " + c.o.stream_name + ", " + shard_id +
                                        ": could not release the lease (" + st.ToString() +
                                        "); it expires at " + IsoTime(held->expires_at));
  }
}

Result<std::string> Reader::IteratorFrom(const std::optional<consumer::Checkpoint>& cp) {
  api::GetShardIteratorInput in;
  in.stream.stream_name = c.o.stream_name;
  in.shard_id = shard_id;
  const auto& seq = cp ? cp->sequence_number : std::string();
  if (cp && seq != "TRIM_HORIZON" && seq != "LATEST") {
    // AT, then skip what the checkpoint covers: works for plain records and for a
    // position inside a KPL aggregate alike.
    in.shard_iterator_type = api::ShardIteratorType::kAtSequenceNumber;
    in.starting_sequence_number = seq;
  } else if (seq == "LATEST" || (!cp && c.o.initial_position == InitialPosition::kLatest)) {
    in.shard_iterator_type = api::ShardIteratorType::kLatest;
  } else if (!cp && c.o.initial_position == InitialPosition::kAtTimestamp &&
             c.o.initial_timestamp) {
    in.shard_iterator_type = api::ShardIteratorType::kAtTimestamp;
    in.timestamp = c.o.initial_timestamp;
  } else {
    in.shard_iterator_type = api::ShardIteratorType::kTrimHorizon;
  }
  ASSIGN_OR_RETURN(auto out, c.client.GetShardIterator(in));
  return out.shard_iterator;
}

void Reader::Run() {
  // Where to start: the checkpoint. A store that fails is retried (starting elsewhere
  // would replay or skip records).
  std::optional<consumer::Checkpoint> resume;
  for (std::chrono::milliseconds backoff{100};; backoff = std::min(backoff * 2, 5000ms)) {
    auto resume_r = c.o.checkpoints->Load(c.scope, shard_id);
    if (resume_r.ok()) {
      Succeeded("CheckpointStore.Load");
      resume = *resume_r;
      break;
    }
    if (Failed("CheckpointStore.Load", resume_r.status())) break;
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, backoff,
                  [&] { return stop.load() || handover.load() || c.stopping.load(); });
    if (stop || handover || c.stopping) break;
  }
  if (stop || handover || c.stopping) {
    // Stopped before it started: the lease goes back at once (a failure is logged).
    if (lease && c.o.leases) ReleaseLease();
    done = true;
    c.cv.notify_all();
    return;
  }
  if (lease && c.o.leases) c.Emit(ConsumerEvent::Kind::kLeaseTaken, shard_id);
  processor->Initialize(shard_id, resume);
  c.Emit(ConsumerEvent::Kind::kShardStarted, shard_id);
  if (resume && resume->sequence_number == consumer::kShardEnd) {
    done = true;
    return;
  }
  if (c.consumer_arn.empty()) {
    RunPolling(resume);
  } else {
    RunFanOut(resume);
  }
  if (lost) {
    processor->LeaseLost();
    {
      std::lock_guard lock(c.mu);
      ++c.stats.leases_lost;
    }
    c.Emit(ConsumerEvent::Kind::kLeaseLost, shard_id);
  } else if (!shard_ended && (stop || handover || c.stopping)) {
    processor->ShutdownRequested(*this);
    if (c.o.checkpoint_policy.kind != CheckpointPolicy::Kind::kManual) CheckpointByPolicy();
  }
  if (lease && c.o.leases && !lost) {
    // Released, not left to expire: another (or a restarted) worker takes it at once.
    ReleaseLease();
  }
  {
    std::lock_guard lock(c.mu);
    c.stats.millis_behind_latest.erase(shard_id);  // no longer read here
  }
  done = true;
  c.cv.notify_all();
}

void Reader::RunPolling(std::optional<consumer::Checkpoint> resume) {
  auto iter = IteratorFrom(resume);
  const auto min_gap = std::chrono::milliseconds(
      static_cast<std::int64_t>(1000.0 / std::max(0.001, c.o.max_get_records_per_second)));
  auto last_call = std::chrono::steady_clock::now() - min_gap;
  std::chrono::milliseconds idle{0}, backoff{0};
  auto wait = [&](std::chrono::milliseconds d) {
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, d, [&] { return stop.load() || handover.load() || c.stopping.load(); });
  };
  while (!stop && !handover && !lost && !c.stopping) {
    if (!iter.ok()) {
      if (iter.status().code() == Code::kResourceNotFound) {
        // The shard expired or the stream is gone: the next ListShards tells which.
        LogConsumer(LogLevel::kInfo, "stream " + c.o.stream_name + ", " + shard_id +
                                         ": GetShardIterator: " + iter.status().ToString());
        std::lock_guard lock(c.mu);
        c.resync = true;
        c.cv.notify_all();
        break;
      }
      if (Failed("GetShardIterator", iter.status())) break;
      backoff = std::min<std::chrono::milliseconds>(
          std::max(backoff * 2, std::chrono::milliseconds(100)), std::chrono::milliseconds(5000));
      wait(backoff);
      iter = IteratorFrom(last_delivered ? std::optional<consumer::Checkpoint>(consumer::Checkpoint{
                                               last_delivered->sequence_number,
                                               last_delivered->sub_sequence_number})
                                         : resume);
      continue;
    }
    // Stay under the per-shard GetRecords rate, and back off while idle.
    const auto since = std::chrono::steady_clock::now() - last_call;
    const auto gap = std::max<std::chrono::milliseconds>(min_gap, idle);
    if (since < gap) wait(std::chrono::duration_cast<std::chrono::milliseconds>(gap - since));
    if (stop || handover || c.stopping) break;
    last_call = std::chrono::steady_clock::now();
    auto got = c.client.GetRecords({*iter, c.o.max_records_per_call, std::nullopt});
    {
      std::lock_guard lock(c.mu);
      ++c.stats.get_records_calls;
    }
    if (!got.ok()) {
      const Code code = got.status().code();
      if (code == Code::kResourceNotFound) {
        // As for GetShardIterator: the next ListShards tells whether the stream is gone.
        LogConsumer(LogLevel::kInfo, "stream " + c.o.stream_name + ", " + shard_id +
                                         ": GetRecords: " + got.status().ToString());
        std::lock_guard lock(c.mu);
        c.resync = true;
        c.cv.notify_all();
        break;
      }
      if (code == Code::kExpiredIterator) {
        std::lock_guard lock(c.mu);
        ++c.stats.expired_iterators;
      } else {
        if (IsThrottling(code)) {
          std::lock_guard lock(c.mu);
          ++c.stats.throttled;
        }
        if (Failed("GetRecords", got.status())) break;
      }
      if (code != Code::kExpiredIterator) {
        backoff = std::min<std::chrono::milliseconds>(
            std::max(backoff * 2, std::chrono::milliseconds(100)), std::chrono::milliseconds(5000));
        wait(backoff);
      }
      // Renew the iterator from the last record delivered (or where we started).
      std::optional<consumer::Checkpoint> from = resume;
      if (last_delivered)
        from = consumer::Checkpoint{last_delivered->sequence_number,
                                    last_delivered->sub_sequence_number};
      if (last_delivered) resume = from;
      iter = IteratorFrom(from);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    Succeeded("GetRecords");
    RecordLag(got->millis_behind_latest);
    const bool got_none = got->records.empty();
    Deliver(got->records, resume);
    // Their strings now hold the previous batch's buffers: the next answer is decoded
    // into them (over HTTP; a no-op for a client that does not decode).
    client::wire::RecycleRecords(std::move(got->records));
    idle = (got_none && got->millis_behind_latest == 0)
               ? std::min<std::chrono::milliseconds>(
                     std::max(idle * 2, std::chrono::milliseconds(200)), c.o.idle_backoff)
               : std::chrono::milliseconds(0);
    if (!got->next_shard_iterator) {
      EndShard();
      break;
    }
    iter = *got->next_shard_iterator;
  }
}

// Enhanced fan-out: records pushed over SubscribeToShard; resubscribes from the last
// record (or continuation) when a subscription ends, until the end of the shard.
void Reader::RunFanOut(std::optional<consumer::Checkpoint> resume) {
  std::optional<std::string> continuation;
  std::chrono::milliseconds backoff{0};
  auto wait = [&](std::chrono::milliseconds d) {
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, d, [&] { return stop.load() || handover.load() || c.stopping.load(); });
  };
  while (!stop && !handover && !lost && !c.stopping && !shard_ended) {
    api::SubscribeToShardInput in;
    in.consumer_arn = c.consumer_arn;
    in.shard_id = shard_id;
    auto& sp = in.starting_position;
    if (last_delivered) {
      // AT the last record, skipping what was delivered (also inside an aggregate).
      sp.type = api::ShardIteratorType::kAtSequenceNumber;
      sp.sequence_number = last_delivered->sequence_number;
      resume = consumer::Checkpoint{last_delivered->sequence_number,
                                    last_delivered->sub_sequence_number};
    } else if (continuation) {
      sp.type = api::ShardIteratorType::kAfterSequenceNumber;
      sp.sequence_number = continuation;
    } else if (resume && resume->sequence_number != "TRIM_HORIZON" &&
               resume->sequence_number != "LATEST") {
      sp.type = api::ShardIteratorType::kAtSequenceNumber;
      sp.sequence_number = resume->sequence_number;
    } else if (c.o.initial_position == InitialPosition::kLatest) {
      sp.type = api::ShardIteratorType::kLatest;
    } else if (c.o.initial_position == InitialPosition::kAtTimestamp && c.o.initial_timestamp) {
      sp.type = api::ShardIteratorType::kAtTimestamp;
      sp.timestamp = c.o.initial_timestamp;
    } else {
      sp.type = api::ShardIteratorType::kTrimHorizon;
    }
    bool ended = false;
    Status st = c.client.SubscribeToShard(in, [&](const api::SubscribeToShardEvent& ev) {
      RecordLag(ev.millis_behind_latest);
      std::vector<api::Record> records = ev.records;
      Deliver(records, resume);
      if (ev.continuation_sequence_number) continuation = ev.continuation_sequence_number;
      if (ev.child_shards) ended = true;
      return !(stop || handover || lost || c.stopping || ended);
    });
    if (ended) {
      EndShard();
      break;
    }
    if (!st.ok()) {
      if (st.code() == Code::kResourceNotFound) {
        std::lock_guard lock(c.mu);
        c.resync = true;
        c.cv.notify_all();
        break;
      }
      // ResourceInUse (another subscription in the last 5 s) is expected; throttling and
      // network errors are retried within the budget.
      if (st.code() != Code::kResourceInUse && Failed("SubscribeToShard", st)) break;
      backoff = std::min<std::chrono::milliseconds>(
          std::max(backoff * 2, std::chrono::milliseconds(200)), std::chrono::milliseconds(5000));
      wait(backoff);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    Succeeded("SubscribeToShard");
  }
}

void Reader::Deliver(std::vector<api::Record>& records,
                     const std::optional<consumer::Checkpoint>& resume) {
  const auto& policy = c.o.checkpoint_policy;
  // Pull mode: the batch is built as columns here, on the reader thread (the poll thread
  // then hands it over without a copy); push mode: as records for the processor, in
  // push_batch, whose records (and their strings) are reused from one batch to the next.
  auto* queue = dynamic_cast<QueueProcessor*>(processor.get());
  ConsumerRecordColumns columns;
  std::size_t used = 0;  // push mode: the records of push_batch filled so far
  if (queue != nullptr) {
    std::size_t data_bytes = 0, key_bytes = 0, sequence_bytes = 0;
    for (const auto& r : records) {
      data_bytes += r.data.size();
      key_bytes += r.partition_key.size();
      sequence_bytes += r.sequence_number.size();
    }
    columns.Reserve(records.size(), data_bytes);
    columns.partition_keys.reserve(key_bytes);
    columns.sequence_numbers.reserve(sequence_bytes);
    columns.shard_ids.push_back(shard_id);
  }
  // The next record of push_batch to fill (its old contents are overwritten).
  auto slot = [&]() -> ConsumerRecord& {
    if (used == push_batch.size()) {
      if (push_spare.empty()) {
        push_batch.emplace_back();
      } else {
        push_batch.push_back(std::move(push_spare.back()));
        push_spare.pop_back();
      }
    }
    ConsumerRecord& s = push_batch[used++];
    if (s.shard_id != shard_id) s.shard_id = shard_id;
    return s;
  };
  auto add = [&](ConsumerRecord&& p) {
    if (AlreadyDone(p, resume)) return;
    if (queue != nullptr) {
      columns.Append(0, p.sequence_number, p.sub_sequence_number, p.aggregated, p.partition_key,
                     p.explicit_hash_key, p.data, p.approximate_arrival_timestamp);
    } else {
      ConsumerRecord& s = slot();
      p.shard_id.swap(s.shard_id);
      s = std::move(p);
    }
  };
  for (auto& r : records) {
    std::optional<std::vector<aggregation::UserRecord>> users;
    if (c.o.deaggregate) users = aggregation::Decode(r.data);
    if (users) {
      std::vector<ConsumerRecord> parts;
      bool outside = false;
      for (std::size_t k = 0; k < users->size(); ++k) {
        auto& u = (*users)[k];
        HashKey h = u.explicit_hash_key ? HashKey{ParseDecimal128(*u.explicit_hash_key).value_or(0)}
                                        : Md5HashKey(u.partition_key);
        // As the KCL does: an aggregate holding a record outside this shard's range
        // (written before a reshard) is dropped from that record on.
        if (h < start || end < h) {
          outside = true;
          break;
        }
        parts.push_back({{},
                         r.sequence_number,
                         k,
                         true,
                         std::move(u.partition_key),
                         std::move(u.explicit_hash_key),
                         std::move(u.data),
                         r.approximate_arrival_timestamp});
      }
      if (outside) parts.clear();
      for (auto& p : parts) add(std::move(p));
    } else if (resume && resume->sequence_number == r.sequence_number) {
      continue;  // delivered before (AlreadyDone for a record that is not an aggregate)
    } else if (queue != nullptr) {
      // The common case, without a ConsumerRecord: straight into the columns.
      columns.Append(0, r.sequence_number, 0, false, r.partition_key, std::nullopt, r.data,
                     r.approximate_arrival_timestamp);
    } else {
      // Swapped, not copied: the record's old buffers go back with `records`.
      ConsumerRecord& s = slot();
      s.sequence_number.swap(r.sequence_number);
      s.sub_sequence_number = 0;
      s.aggregated = false;
      s.partition_key.swap(r.partition_key);
      s.explicit_hash_key.reset();
      s.data.swap(r.data);
      s.approximate_arrival_timestamp = r.approximate_arrival_timestamp;
    }
  }
  // push_batch holds exactly this batch; the records it does not need wait in push_spare.
  while (push_batch.size() > used) {
    push_spare.push_back(std::move(push_batch.back()));
    push_batch.pop_back();
  }
  const std::size_t n = queue != nullptr ? columns.size() : push_batch.size();
  if (n > 0) {
    last_delivered = queue != nullptr ? columns.Record(n - 1) : push_batch.back();
    since_checkpoint += n;
    {
      std::lock_guard lock(c.mu);
      c.stats.records += n;
    }
    if (queue != nullptr) {
      queue->Take(std::move(columns));
    } else {
      processor->ProcessRecords(push_batch, *this);
    }
    const EpochMillis now = c.clock.NowMillis();
    bool due = false;
    switch (policy.kind) {
      case CheckpointPolicy::Kind::kManual:
        break;
      case CheckpointPolicy::Kind::kAfterEachBatch:
        due = true;
        break;
      case CheckpointPolicy::Kind::kEveryNRecords:
        due = since_checkpoint >= policy.every_records;
        break;
      case CheckpointPolicy::Kind::kEveryInterval:
        due = now - last_checkpoint_ms >= policy.every_interval.count();
        break;
    }
    if (due) CheckpointByPolicy();
  }
}

void Reader::EndShard() {
  // End of a closed shard: finish it, so its children may start.
  processor->ShardEnded(*this);
  bool was_lost = false;
  Status st = c.Save(shard_id, HeldLease(), {consumer::kShardEnd, 0}, &was_lost);
  if (was_lost) lost = true;
  if (st.ok()) {
    {
      std::lock_guard lock(c.mu);
      ++c.stats.shards_finished;
      c.resync = true;
    }
    c.Emit(ConsumerEvent::Kind::kShardEnded, shard_id);
  } else if (!lost) {
    // Not finished: the shard is read again (from its last checkpoint) next round.
    (void)Failed("CheckpointStore.Save", st);
  }
  shard_ended = true;
}

}  // namespace cinesis
