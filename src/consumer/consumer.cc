// The Consumer's public facade and lifecycle (Create, Run, Stop, metrics, worker_id) and
// the services every consumer thread shares: error reports and recoveries (log hook,
// on_error, metrics, the first fatal error), events (on_event) and checkpoint writes
// (Save, fenced by the lease when there is one).
//
// Threads: Report, Recovered, Emit and Save run on the coordinator and reader threads
// (Save also on the caller of Poll/Commit); Stop() and metrics() on any thread. They take
// Impl::mu only for the metrics and the fatal error, and never call user code (on_error,
// on_event) or a store with it held. See consumer_impl.h for what mu guards.
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "common/random.h"
#include "consumer/consumer_impl.h"

namespace cinesis {

using consumer::Checkpoint;
using consumer::Lease;

namespace {

std::string DefaultWorkerId() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + RandomUuid().substr(0, 8);
}

}  // namespace

std::string IsoTime(EpochMillis ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(buf, n) + frac;
}

bool Consumer::Impl::Report(const std::string& operation, const std::string& shard_id,
                            const Status& st, Streak& streak) {
  const EpochMillis now = clock.NowMillis();
  if (streak.since < 0) streak.since = now;
  ++streak.count;
  bool is_fatal = !st.retriable();
  if (!is_fatal && !IsThrottling(st.code()) && now - streak.since >= o.retry_budget.count())
    is_fatal = true;
  ConsumerError e{st, now, operation, shard_id, is_fatal};
  {
    std::lock_guard lock(mu);
    ++stats.errors;
    stats.last_error = e;
  }
  std::string where = "stream " + o.stream_name + (shard_id.empty() ? "" : ", " + shard_id);
  if (is_fatal) {
    std::string why = st.retriable() ? "still failing after " + std::to_string(now - streak.since) +
                                           " ms (retry_budget " +
                                           std::to_string(o.retry_budget.count()) + " ms)"
                                     : "not retriable";
    LogConsumer(LogLevel::kError,
                where + ": " + operation + " failed: " + st.ToString() + "; " + why + "; stopping");
  } else if (streak.count == 1) {
    LogConsumer(LogLevel::kWarning,
                where + ": " + operation + " failed: " + st.ToString() + "; retrying");
  } else {
    LogConsumer(LogLevel::kDebug, where + ": " + operation + " failed again (" +
                                      std::to_string(streak.count) + "): " + st.ToString());
  }
  if (o.on_error) {
    try {
      o.on_error(e);
    } catch (...) {
      LogConsumer(LogLevel::kError, "on_error threw an exception; ignored");
    }
  }
  if (is_fatal) Fail(st);
  return is_fatal;
}

void Consumer::Impl::Recovered(const std::string& operation, const std::string& shard_id,
                               Streak& streak) {
  LogConsumer(LogLevel::kInfo,
              "stream " + o.stream_name + (shard_id.empty() ? "" : ", " + shard_id) + ": " +
                  operation + " works again after " + std::to_string(streak.count) + " failure(s)");
  streak = Streak{};
}

void Consumer::Impl::Emit(ConsumerEvent::Kind kind, const std::string& shard_id) {
  if (!o.on_event) return;
  try {
    o.on_event(ConsumerEvent{kind, shard_id, clock.NowMillis()});
  } catch (...) {
    LogConsumer(LogLevel::kError, "on_event threw an exception; ignored");
  }
}

void Consumer::Impl::Fail(const Status& st) {
  {
    std::lock_guard lock(mu);
    if (fatal.ok()) fatal = st;
  }
  stopping = true;
  cv.notify_all();
  queue_space.notify_all();
  queue_ready.notify_all();
}

Status Consumer::Impl::Save(const std::string& shard_id, const std::optional<Lease>& lease,
                            const Checkpoint& cp, bool* lost) {
  if (lease && o.leases) {
    ASSIGN_OR_RETURN(bool ok, o.checkpoints->SaveIfOwner(scope, *lease, cp, clock.NowMillis()));
    if (!ok) {
      *lost = true;
      return Status(Code::kResourceInUse, "lease of " + shard_id + " was lost; checkpoint refused");
    }
  } else {
    RETURN_IF_ERROR(o.checkpoints->Save(scope, shard_id, cp));
  }
  std::lock_guard lock(mu);
  ++stats.checkpoints;
  return Status::Ok();
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() {
  Stop();
  if (impl_->runner.joinable()) impl_->runner.join();
}

Result<std::unique_ptr<Consumer>> Consumer::Create(KinesisClient& client, ConsumerOptions options) {
  RETURN_IF_ERROR(Validate(options));
  if (options.worker_id.empty()) options.worker_id = DefaultWorkerId();
  if (!options.checkpoints) options.checkpoints = consumer::NewMemoryCheckpointStore();
  return std::unique_ptr<Consumer>(
      new Consumer(std::make_unique<Impl>(client, std::move(options))));
}

Status Consumer::Run(ProcessorFactory factory) { return impl_->Coordinate(factory); }

void Consumer::Stop() {
  impl_->stopping = true;
  impl_->cv.notify_all();
  impl_->queue_space.notify_all();
  impl_->queue_ready.notify_all();
}

ConsumerMetrics Consumer::metrics() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

const std::string& Consumer::worker_id() const { return impl_->o.worker_id; }

}  // namespace cinesis
