// The producer of cinesis.h: Producer with its per-record callbacks feeding a queue of
// delivery reports that cinesis_producer_poll drains.
#include "cinesis/producer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

#include "capi/internal.h"
#include "capi/options.h"

namespace cinesis::capi {

struct Report {
  std::uint64_t opaque = 0;
  cinesis_err_t err = CINESIS_OK;
  std::string error_message, shard_id, sequence_number;
  std::uint64_t sub_sequence_number = 0;
  int attempts = 0;
};

// Filled by the producer's sender threads, drained by poll. Outlives the Producer (which
// completes its pending records, calling back, while it is destroyed).
struct ReportQueue {
  std::mutex mu;
  std::condition_variable ready;
  std::deque<Report> queue;                     // guarded by mu
  std::deque<cinesis_put_summary_t> summaries;  // guarded by mu (packed puts)
  std::vector<Report> handed;  // the last poll's reports (strings lent to the caller)
  std::mutex poll_mu;          // one poll at a time owns `handed`

  void Push(std::uint64_t opaque, const PutResult& r) {
    Report rep;
    rep.opaque = opaque;
    rep.err = ErrFromCode(r.status.code());
    if (!r.status.ok()) rep.error_message = r.status.ToString();
    rep.shard_id = r.shard_id;
    rep.sequence_number = r.sequence_number;
    rep.sub_sequence_number =
        r.sub_sequence_number ? static_cast<std::uint64_t>(*r.sub_sequence_number) : 0;
    rep.attempts = static_cast<int>(r.attempts.size());
    {
      std::lock_guard lock(mu);
      queue.push_back(std::move(rep));
    }
    ready.notify_all();
  }

  void PushSummary(const cinesis_put_summary_t& summary) {
    {
      std::lock_guard lock(mu);
      summaries.push_back(summary);
    }
    ready.notify_all();
  }
};

// One cinesis_producer_put_packed call: counts its records' results; the last one to
// finish queues the summary (after the failures, which are queued as they happen).
struct PackedState {
  std::shared_ptr<ReportQueue> queue;
  std::uint64_t first_opaque = 0;
  std::size_t records = 0;                // set before `remaining` loses its guard
  std::atomic<std::size_t> remaining{1};  // accepted records not finished + 1 guard
  std::atomic<std::size_t> failed{0};

  void Done() {
    if (remaining.fetch_sub(1) == 1) {
      queue->PushSummary(cinesis_put_summary_t{first_opaque, records, failed.load()});
    }
  }
};

}  // namespace cinesis::capi

struct cinesis_producer {
  std::uint32_t magic = cinesis::capi::kProducerMagic;
  bool reports = true;
  std::atomic<bool> closed{false};
  // Declared before the producer, so it is destroyed after it.
  std::shared_ptr<cinesis::capi::ReportQueue> queue =
      std::make_shared<cinesis::capi::ReportQueue>();
  std::unique_ptr<cinesis::Producer> producer;
};

using namespace cinesis;        // NOLINT(google-build-using-namespace)
using namespace cinesis::capi;  // NOLINT(google-build-using-namespace)

namespace {

cinesis_err_t PutOne(cinesis_producer* p, const cinesis_record_t& rec, const char* fn) {
  if (rec.partition_key == nullptr) return NullArgument(fn, "record->partition_key");
  if (rec.data == nullptr && rec.data_len != 0) return NullArgument(fn, "record->data");
  if (p->closed.load()) {
    return SetError(CINESIS_ERR_FAILED_PRECONDITION, "FailedPrecondition: producer is closed");
  }
  std::string data;
  if (rec.data_len != 0) data.assign(static_cast<const char*>(rec.data), rec.data_len);
  std::optional<std::string> ehk;
  if (rec.explicit_hash_key != nullptr) ehk = rec.explicit_hash_key;
  Producer::Callback cb;
  if (p->reports) {
    cb = [q = p->queue, opaque = rec.opaque](const PutResult& r) { q->Push(opaque, r); };
  } else {
    cb = [](const PutResult&) {};
  }
  Status st = p->producer->Put(rec.partition_key, std::move(data), std::move(ehk), std::move(cb));
  if (!st.ok() && p->closed.load()) {
    // Closed by another thread meanwhile (the C++ producer calls that InvalidArgument).
    return SetError(CINESIS_ERR_FAILED_PRECONDITION, "FailedPrecondition: producer is closed");
  }
  return SetError(st);
}

cinesis_err_t PutPacked(cinesis_producer* p, const char* data, const std::uint32_t* data_lens,
                        const char* keys, const std::uint32_t* key_lens, size_t count,
                        std::uint64_t first_opaque, size_t* accepted) {
  std::shared_ptr<PackedState> state;
  if (p->reports) {
    state = std::make_shared<PackedState>();
    state->queue = p->queue;
    state->first_opaque = first_opaque;
  }
  if (p->closed.load()) {
    return SetError(CINESIS_ERR_FAILED_PRECONDITION, "FailedPrecondition: producer is closed");
  }
  // One Producer::PutMany call: one lock and one wake-up for the whole batch. Successes
  // need no details (only failures are reported, with the summary's count).
  const std::string_view shared_key = key_lens == nullptr ? std::string_view(keys) : "";
  std::vector<Producer::RecordView> views(count);
  size_t data_pos = 0, key_pos = 0;
  for (size_t i = 0; i < count; ++i) {
    views[i].data = std::string_view(data + data_pos, data_lens[i]);
    data_pos += data_lens[i];
    if (key_lens == nullptr) {
      views[i].partition_key = shared_key;
    } else {
      views[i].partition_key = std::string_view(keys + key_pos, key_lens[i]);
      key_pos += key_lens[i];
    }
  }
  Producer::BatchCallback cb;
  if (state) {
    // Counted up front for every record; those not accepted are taken back below.
    state->remaining.fetch_add(count);
    cb = [state](size_t index, const PutResult& r) {
      if (!r.status.ok()) {
        state->failed.fetch_add(1);
        state->queue->Push(state->first_opaque + index, r);
      }
      state->Done();
    };
  }
  size_t n = 0;
  cinesis_err_t result = CINESIS_OK;
  Status st = p->producer->PutMany(views, std::move(cb), /*success_details=*/false, &n);
  if (state && n < count) state->remaining.fetch_sub(count - n);
  if (!st.ok()) {
    // Not accepted: the C++ producer does not call back for those records.
    result = p->closed.load() ? SetError(CINESIS_ERR_FAILED_PRECONDITION,
                                         "FailedPrecondition: producer is closed")
                              : SetError(st);
  }
  if (accepted != nullptr) *accepted = n;
  if (state) {
    state->records = n;
    if (n == 0) return result;  // no summary for nothing (the guard is simply dropped)
    state->Done();              // the guard
  }
  return result;
}

// Flush and Close answer a timeout as kDeadlineExceeded.
cinesis_err_t FlushError(const Status& st) { return SetError(st); }

}  // namespace

extern "C" {

cinesis_err_t cinesis_producer_new(cinesis_client_t* client, const cinesis_options_t* options,
                                   cinesis_producer_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_HANDLE(options, kOptionsMagic, "cinesis_options_t");
    CINESIS_CHECK_ARG(out);
    ProducerConfig config;
    CAPI_RETURN_IF_ERROR(ParseProducerOptions(options, config));
    auto created = Producer::Create(*client->client, std::move(config.options));
    if (!created.ok()) return SetError(created.status());
    auto h = std::make_unique<cinesis_producer>();
    h->reports = config.delivery_reports;
    h->producer = std::move(created).value();
    *out = h.release();
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_producer_put(cinesis_producer_t* producer, const cinesis_record_t* record) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    CINESIS_CHECK_ARG(record);
    return PutOne(producer, *record, capi_fn);
  });
}

cinesis_err_t cinesis_producer_put_batch(cinesis_producer_t* producer,
                                         const cinesis_record_t* records, size_t count,
                                         size_t* accepted) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    if (accepted != nullptr) *accepted = 0;
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    if (count != 0) CINESIS_CHECK_ARG(records);
    for (size_t i = 0; i < count; ++i) {
      if (cinesis_err_t err = PutOne(producer, records[i], capi_fn); err != CINESIS_OK) {
        return err;
      }
      if (accepted != nullptr) *accepted = i + 1;
    }
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_producer_put_packed(cinesis_producer_t* producer, const void* data,
                                          const uint32_t* data_lens, const char* keys,
                                          const uint32_t* key_lens, size_t count,
                                          uint64_t first_opaque, size_t* accepted) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    if (accepted != nullptr) *accepted = 0;
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    CINESIS_CHECK_ARG(keys);
    if (count != 0) CINESIS_CHECK_ARG(data_lens);
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) total += data_lens[i];
    if (total != 0) CINESIS_CHECK_ARG(data);
    return PutPacked(producer, static_cast<const char*>(data), data_lens, keys, key_lens, count,
                     first_opaque, accepted);
  });
}

cinesis_err_t cinesis_producer_poll_summaries(cinesis_producer_t* producer,
                                              cinesis_put_summary_t* out, size_t max,
                                              int64_t timeout_ms, size_t* count) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    if (count != nullptr) *count = 0;
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    CINESIS_CHECK_ARG(count);
    if (max != 0) CINESIS_CHECK_ARG(out);
    if (max == 0 || !producer->reports) return CINESIS_OK;
    ReportQueue& q = *producer->queue;
    std::unique_lock lock(q.mu);
    auto has = [&] { return !q.summaries.empty(); };
    if (timeout_ms < 0) {
      q.ready.wait(lock, has);
    } else if (timeout_ms > 0) {
      q.ready.wait_for(lock, std::chrono::milliseconds(timeout_ms), has);
    }
    const size_t n = std::min(max, q.summaries.size());
    for (size_t i = 0; i < n; ++i) {
      out[i] = q.summaries.front();
      q.summaries.pop_front();
    }
    *count = n;
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_producer_poll(cinesis_producer_t* producer, cinesis_delivery_t* out,
                                    size_t max, int64_t timeout_ms, size_t* count) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    if (count != nullptr) *count = 0;
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    CINESIS_CHECK_ARG(count);
    if (max != 0) CINESIS_CHECK_ARG(out);
    ReportQueue& q = *producer->queue;
    std::lock_guard poll_lock(q.poll_mu);
    q.handed.clear();  // the previous poll's strings end here
    if (max == 0 || !producer->reports) return CINESIS_OK;
    {
      std::unique_lock lock(q.mu);
      auto has = [&] { return !q.queue.empty(); };
      if (timeout_ms < 0) {
        q.ready.wait(lock, has);
      } else if (timeout_ms > 0) {
        q.ready.wait_for(lock, std::chrono::milliseconds(timeout_ms), has);
      }
      const size_t n = std::min(max, q.queue.size());
      q.handed.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        q.handed.push_back(std::move(q.queue.front()));
        q.queue.pop_front();
      }
    }
    // Pointers only once `handed` no longer moves (short strings live inside the object).
    for (size_t i = 0; i < q.handed.size(); ++i) {
      const Report& r = q.handed[i];
      out[i] = cinesis_delivery_t{r.opaque,
                                  r.err,
                                  r.error_message.c_str(),
                                  r.shard_id.c_str(),
                                  r.sequence_number.c_str(),
                                  r.sub_sequence_number,
                                  r.attempts};
    }
    *count = q.handed.size();
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_producer_flush(cinesis_producer_t* producer, int64_t timeout_ms) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    Status st =
        producer->producer->Flush(std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)));
    return st.ok() ? CINESIS_OK : FlushError(st);
  });
}

cinesis_err_t cinesis_producer_close(cinesis_producer_t* producer, int64_t timeout_ms) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    producer->closed = true;
    Status st =
        producer->producer->Close(std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)));
    return st.ok() ? CINESIS_OK : FlushError(st);
  });
}

cinesis_err_t cinesis_producer_metrics(cinesis_producer_t* producer,
                                       cinesis_producer_metrics_t* out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(producer, kProducerMagic, "cinesis_producer_t");
    CINESIS_CHECK_ARG(out);
    const ProducerMetrics m = producer->producer->metrics();
    cinesis_producer_metrics_t r{};
    r.records_put = m.records_put;
    r.records_failed = m.records_failed;
    r.retries = m.retries;
    r.put_records_calls = m.put_records_calls;
    r.buffered_records = m.buffered_records;
    r.buffered_bytes = m.buffered_bytes;
    {
      std::lock_guard lock(producer->queue->mu);
      r.pending_reports = producer->queue->queue.size();
    }
    *out = r;
    return CINESIS_OK;
  });
}

void cinesis_producer_destroy(cinesis_producer_t* producer) {
  if (!Valid(producer, kProducerMagic)) return;
  producer->magic = 0;
  try {
    delete producer;  // ~Producer closes with the remaining TTLs as deadline
  } catch (...) {     // nothing leaves a C function
  }
}

}  // extern "C"
