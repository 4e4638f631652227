// The pull-style consumer of cinesis.h: Consumer::Poll/Commit, record batches, and the
// queue of shard, lease and error events (filled from on_event and on_error).
#include "cinesis/consumer.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <vector>

#include "capi/internal.h"
#include "capi/options.h"

namespace cinesis::capi {

constexpr std::size_t kMaxEvents = 1024;

struct Event {
  cinesis_event_type_t type = CINESIS_EVENT_ERROR;
  std::string shard_id;
  std::int64_t time_ms = 0;
  cinesis_err_t err = CINESIS_OK;
  std::string message;
  bool fatal = false;
};

// Filled on the consumer's threads; keeps the newest kMaxEvents.
struct EventQueue {
  std::mutex mu;
  std::deque<Event> queue;    // guarded by mu
  std::uint64_t dropped = 0;  // guarded by mu
  std::vector<Event> handed;  // the last cinesis_consumer_events call's (strings lent out)
  std::mutex events_mu;       // one events call at a time owns `handed`

  void Push(Event e) {
    std::lock_guard lock(mu);
    if (queue.size() >= kMaxEvents) {
      queue.pop_front();
      ++dropped;
    }
    queue.push_back(std::move(e));
  }
};

}  // namespace cinesis::capi

struct cinesis_consumer {
  std::uint32_t magic = cinesis::capi::kConsumerMagic;
  std::atomic<bool> stopped{false};
  bool manual = false;  // "checkpoint"="manual"
  std::mutex stop_mu;   // one stop at a time
  // Declared before the consumer, so they outlive it (its threads report until joined).
  std::shared_ptr<cinesis::capi::EventQueue> events = std::make_shared<cinesis::capi::EventQueue>();
  std::unique_ptr<cinesis::Consumer> consumer;
};

struct cinesis_batch {
  std::uint32_t magic = cinesis::capi::kBatchMagic;
  // As Consumer::PollColumns returned them (built by the consumer's reader threads).
  cinesis::ConsumerRecordColumns columns;
  // cinesis_batch_records, built on its first call (a binding that reads the columns never
  // needs them): the records, copied out of the columns, and their views. The accessor
  // takes a const batch, hence mutable, and once_flag for two threads reading one batch.
  mutable std::once_flag views_once;
  mutable std::vector<cinesis::ConsumerRecord> records;
  mutable std::vector<cinesis_consumer_record_t> views;
  // cinesis_batch_columns' shard ids back to back, built on its first call.
  bool shards_built = false;
  std::string shard_ids;
  std::vector<std::uint64_t> shard_offsets;
};

using namespace cinesis;        // NOLINT(google-build-using-namespace)
using namespace cinesis::capi;  // NOLINT(google-build-using-namespace)

namespace {

cinesis_event_type_t EventType(ConsumerEvent::Kind kind) {
  switch (kind) {
    case ConsumerEvent::Kind::kShardStarted:
      return CINESIS_EVENT_SHARD_STARTED;
    case ConsumerEvent::Kind::kShardEnded:
      return CINESIS_EVENT_SHARD_ENDED;
    case ConsumerEvent::Kind::kLeaseTaken:
      return CINESIS_EVENT_LEASE_TAKEN;
    case ConsumerEvent::Kind::kLeaseLost:
      return CINESIS_EVENT_LEASE_LOST;
  }
  return CINESIS_EVENT_ERROR;
}

void BuildViews(const cinesis_batch& b) {
  const std::size_t n = b.columns.size();
  b.records.reserve(n);
  for (std::size_t i = 0; i < n; ++i) b.records.push_back(b.columns.Record(i));
  b.views.reserve(n);
  for (const ConsumerRecord& rec : b.records) {
    cinesis_consumer_record_t v{};
    v.shard_id = rec.shard_id.c_str();
    v.sequence_number = rec.sequence_number.c_str();
    v.sub_sequence_number = rec.sub_sequence_number;
    v.aggregated = rec.aggregated ? 1 : 0;
    v.partition_key = rec.partition_key.c_str();
    v.explicit_hash_key = rec.explicit_hash_key ? rec.explicit_hash_key->c_str() : nullptr;
    v.data = rec.data.data();
    v.data_len = rec.data.size();
    v.arrival_ms = rec.approximate_arrival_timestamp;
    b.views.push_back(v);
  }
}

void BuildShards(cinesis_batch& b) {
  b.shard_offsets.push_back(0);
  for (const std::string& s : b.columns.shard_ids) {
    b.shard_ids += s;
    b.shard_offsets.push_back(b.shard_ids.size());
  }
  b.shards_built = true;
}

}  // namespace

extern "C" {

cinesis_err_t cinesis_consumer_new(cinesis_client_t* client, const cinesis_options_t* options,
                                   cinesis_store_t* checkpoints, cinesis_store_t* leases,
                                   cinesis_consumer_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_HANDLE(options, kOptionsMagic, "cinesis_options_t");
    if (checkpoints != nullptr) CINESIS_CHECK_HANDLE(checkpoints, kStoreMagic, "cinesis_store_t");
    if (leases != nullptr) CINESIS_CHECK_HANDLE(leases, kStoreMagic, "cinesis_store_t");
    CINESIS_CHECK_ARG(out);
    ConsumerOptions opts;
    CAPI_RETURN_IF_ERROR(ParseConsumerOptions(options, opts));
    auto h = std::make_unique<cinesis_consumer>();
    h->manual = opts.checkpoint_policy.kind == CheckpointPolicy::Kind::kManual;
    if (checkpoints != nullptr) opts.checkpoints = checkpoints->store;
    if (leases != nullptr) opts.leases = leases->store;
    opts.on_event = [q = h->events](const ConsumerEvent& e) {
      q->Push(Event{EventType(e.kind), e.shard_id, e.time, CINESIS_OK, {}, false});
    };
    opts.on_error = [q = h->events](const ConsumerError& e) {
      q->Push(Event{CINESIS_EVENT_ERROR, e.shard_id, e.time, ErrFromCode(e.status.code()),
                    e.operation + ": " + e.status.ToString(), e.fatal});
    };
    auto created = Consumer::Create(*client->client, std::move(opts));
    if (!created.ok()) return SetError(created.status());
    h->consumer = std::move(created).value();
    *out = h.release();
    return CINESIS_OK;
  });
}

size_t cinesis_batch_count(const cinesis_batch_t* batch) {
  return Valid(batch, kBatchMagic) ? batch->columns.size() : 0;
}

const cinesis_consumer_record_t* cinesis_batch_records(const cinesis_batch_t* batch) {
  if (!Valid(batch, kBatchMagic) || batch->columns.empty()) return nullptr;
  std::call_once(batch->views_once, [batch] { BuildViews(*batch); });
  return batch->views.data();
}

void cinesis_batch_destroy(cinesis_batch_t* batch) {
  if (!Valid(batch, kBatchMagic)) return;
  batch->magic = 0;
  delete batch;
}

cinesis_err_t cinesis_batch_columns(cinesis_batch_t* batch, cinesis_batch_columns_t* out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(batch, kBatchMagic, "cinesis_batch_t");
    CINESIS_CHECK_ARG(out);
    if (!batch->shards_built) BuildShards(*batch);
    const ConsumerRecordColumns& b = batch->columns;
    cinesis_batch_columns_t c{};
    c.count = b.size();
    c.data = b.data.data();
    c.data_offsets = b.data_offsets.data();
    c.partition_keys = b.partition_keys.data();
    c.key_offsets = b.key_offsets.data();
    c.sequence_numbers = b.sequence_numbers.data();
    c.sequence_offsets = b.sequence_offsets.data();
    c.explicit_hash_keys = b.explicit_hash_keys.data();
    c.explicit_hash_key_offsets = b.explicit_hash_key_offsets.data();
    c.sub_sequence_numbers = b.sub_sequence_numbers.data();
    c.arrival_ms = b.arrival_ms.data();
    c.flags = b.flags.data();
    c.shard_index = b.shard_index.data();
    c.shard_count = batch->shard_offsets.size() - 1;
    c.shard_ids = batch->shard_ids.data();
    c.shard_offsets = batch->shard_offsets.data();
    *out = c;
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_consumer_poll(cinesis_consumer_t* consumer, int64_t timeout_ms,
                                    cinesis_batch_t** batch) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(consumer, kConsumerMagic, "cinesis_consumer_t");
    CINESIS_CHECK_ARG(batch);
    if (consumer->stopped.load()) {
      return SetError(CINESIS_ERR_FAILED_PRECONDITION, "FailedPrecondition: consumer is stopped");
    }
    auto r = consumer->consumer->PollColumns(
        std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)));
    if (!r.ok()) return SetError(r.status());
    auto b = std::make_unique<cinesis_batch>();
    b->columns = std::move(r).value();
    *batch = b.release();
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_consumer_commit(cinesis_consumer_t* consumer) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(consumer, kConsumerMagic, "cinesis_consumer_t");
    CAPI_RETURN_IF_ERROR(consumer->consumer->Commit());
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_consumer_commit_record(cinesis_consumer_t* consumer, const char* shard_id,
                                             const char* sequence_number,
                                             uint64_t sub_sequence_number) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(consumer, kConsumerMagic, "cinesis_consumer_t");
    CINESIS_CHECK_ARG(shard_id);
    CINESIS_CHECK_ARG(sequence_number);
    CAPI_RETURN_IF_ERROR(
        consumer->consumer->CommitRecord(shard_id, sequence_number, sub_sequence_number));
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_consumer_events(cinesis_consumer_t* consumer, cinesis_event_t* out,
                                      size_t max, size_t* count) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    if (count != nullptr) *count = 0;
    CINESIS_CHECK_HANDLE(consumer, kConsumerMagic, "cinesis_consumer_t");
    CINESIS_CHECK_ARG(count);
    if (max != 0) CINESIS_CHECK_ARG(out);
    EventQueue& q = *consumer->events;
    std::lock_guard events_lock(q.events_mu);
    q.handed.clear();  // the previous call's strings end here
    {
      std::lock_guard lock(q.mu);
      const size_t n = std::min(max, q.queue.size());
      q.handed.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        q.handed.push_back(std::move(q.queue.front()));
        q.queue.pop_front();
      }
    }
    for (size_t i = 0; i < q.handed.size(); ++i) {
      const Event& e = q.handed[i];
      out[i] = cinesis_event_t{e.type, e.shard_id.c_str(), e.time_ms,
                               e.err,  e.message.c_str(),  e.fatal ? 1 : 0};
    }
    *count = q.handed.size();
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_consumer_metrics(cinesis_consumer_t* consumer,
                                       cinesis_consumer_metrics_t* out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(consumer, kConsumerMagic, "cinesis_consumer_t");
    CINESIS_CHECK_ARG(out);
    const ConsumerMetrics m = consumer->consumer->metrics();
    cinesis_consumer_metrics_t r{};
    r.records = m.records;
    r.get_records_calls = m.get_records_calls;
    r.checkpoints = m.checkpoints;
    r.throttled = m.throttled;
    r.shards_finished = m.shards_finished;
    r.leases_taken = m.leases_taken;
    r.leases_lost = m.leases_lost;
    r.owned_shards = m.owned_shards.size();
    r.errors = m.errors;
    {
      std::lock_guard lock(consumer->events->mu);
      r.events_dropped = consumer->events->dropped;
    }
    for (const auto& [shard, behind] : m.millis_behind_latest) {
      r.max_millis_behind_latest = std::max(r.max_millis_behind_latest, behind);
    }
    *out = r;
    return CINESIS_OK;
  });
}

const char* cinesis_consumer_worker_id(const cinesis_consumer_t* consumer) {
  if (!Valid(consumer, kConsumerMagic)) {
    (void)BadHandle("cinesis_consumer_worker_id", "consumer", "cinesis_consumer_t",
                    consumer == nullptr);
    return nullptr;
  }
  return consumer->consumer->worker_id().c_str();
}

cinesis_err_t cinesis_consumer_stop(cinesis_consumer_t* consumer) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(consumer, kConsumerMagic, "cinesis_consumer_t");
    std::lock_guard lock(consumer->stop_mu);
    if (consumer->stopped.exchange(true)) return CINESIS_OK;
    // Under a policy other than manual, what poll returned counts as processed once the
    // caller stops: checkpoint it (as the next poll would have).
    Status st = consumer->manual ? Status::Ok() : consumer->consumer->Commit();
    consumer->consumer->Stop();
    CAPI_RETURN_IF_ERROR(st);
    return CINESIS_OK;
  });
}

void cinesis_consumer_destroy(cinesis_consumer_t* consumer) {
  if (!Valid(consumer, kConsumerMagic)) return;
  (void)cinesis_consumer_stop(consumer);
  consumer->magic = 0;
  try {
    delete consumer;  // joins the consumer's threads
  } catch (...) {     // nothing leaves a C function
  }
}

}  // extern "C"
