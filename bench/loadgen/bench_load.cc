// `cinesis bench`: the connection threads — puts from a pool of prebuilt requests, drains
// (get-records) and tails (mixed) — and the per-call timing they share.
#include <iostream>

#include "bench_internal.h"

namespace cinesis::app::bench {

std::string Bench::PutRecordsBody(std::mt19937_64& rng) const {
  std::string body = "{\"StreamName\":" + JsonString(stream_) + ",\"Records\":[";
  for (int i = 0; i < o_.batch; ++i) {
    if (i) body += ',';
    body += "{\"Data\":\"";
    body += RandomData(rng, o_.record_bytes);
    body += "\",\"PartitionKey\":\"";
    body += RandomHex(rng, 16);
    body += "\"}";
  }
  body += "]}";
  return body;
}

std::string Bench::PutRecordBody(std::mt19937_64& rng) const {
  return "{\"StreamName\":" + JsonString(stream_) + ",\"Data\":\"" +
         RandomData(rng, o_.record_bytes) + "\",\"PartitionKey\":\"" + RandomHex(rng, 16) + "\"}";
}

// The prebuilt put requests of connection `index` (PutRecords when `many`, else PutRecord).
std::vector<std::string> Bench::RequestPool(int index, bool many) const {
  std::mt19937_64 rng(std::random_device{}() ^ (static_cast<std::uint64_t>(index) << 32));
  const int pool = o_.body_pool > 0 ? o_.body_pool : (many ? 8 : 512);
  std::vector<std::string> requests;
  requests.reserve(static_cast<std::size_t>(pool));
  for (int i = 0; i < pool; ++i) {
    requests.push_back(BuildRequest(ep_, many ? "PutRecords" : "PutRecord",
                                    many ? PutRecordsBody(rng) : PutRecordBody(rng)));
  }
  return requests;
}

std::string Bench::ShardIteratorRequest(int shard) const {
  return BuildRequest(ep_, "GetShardIterator",
                      "{\"StreamName\":" + JsonString(stream_) + ",\"ShardId\":\"" +
                          shard_ids_[static_cast<std::size_t>(shard)] +
                          "\",\"ShardIteratorType\":\"TRIM_HORIZON\"}");
}

std::string Bench::GetRecordsRequest(const std::string& iterator) const {
  return BuildRequest(
      ep_, "GetRecords",
      "{\"ShardIterator\":\"" + iterator + "\",\"Limit\":" + std::to_string(o_.get_limit) + "}");
}

// Reader `reader` of `readers`: with at least as many readers as shards, each reads one
// shard (several readers may share one); otherwise each reads every readers-th shard.
std::vector<int> Bench::ShardsFor(int reader, int readers) const {
  const int shards = static_cast<int>(shard_ids_.size());
  std::vector<int> out;
  if (readers >= shards) {
    out.push_back(reader % shards);
  } else {
    for (int s = reader; s < shards; s += readers) out.push_back(s);
  }
  return out;
}

// Counts the records of a PutRecords answer per shard (by their "ShardId").
void Bench::CountShards(std::string_view body, std::vector<std::uint64_t>& per_shard) const {
  constexpr std::string_view kKey = "\"ShardId\":\"";
  for (auto at = body.find(kKey); at != std::string_view::npos; at = body.find(kKey, at + 1)) {
    auto start = at + kKey.size();
    auto end = body.find('"', start);
    if (end == std::string_view::npos) break;
    if (auto it = shard_index_.find(body.substr(start, end - start)); it != shard_index_.end()) {
      ++per_shard[static_cast<std::size_t>(it->second)];
    }
  }
}

void Bench::NoteError(Worker& w, const Response& r) {
  w.errors.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(error_mu_);
  if (first_error_.empty()) {
    first_error_ =
        r.status == 0 ? r.error : "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300);
  }
}

bool Bench::Timed(Connection& c, Worker& w, Op op, std::string_view request, Response& r) {
  const auto t0 = SteadyClock::now();
  const bool sent = c.Send(request, r);
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0).count());
  w.connects.store(c.Opened(), std::memory_order_relaxed);
  if (!sent || r.status != 200) {
    NoteError(w, r);
    if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return false;
  }
  Count(w, op, ns);
  return true;
}

void Bench::Count(Worker& w, Op op, std::uint64_t ns) {
  w.calls[op].fetch_add(1, std::memory_order_relaxed);
  w.hist[op].Record(ns);
  auto seen = w.window_max[op].load(std::memory_order_relaxed);
  while (ns > seen &&
         !w.window_max[op].compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
}

// Puts until stop_ (or, with a target, until `target` records were claimed). With
// `per_shard`, counts the acknowledged records of each shard (prefill).
void Bench::PutLoop(int index, Worker& w, Op op, std::uint64_t target,
                    std::vector<std::uint64_t>* per_shard) {
  const bool many = op == kPutRecords;
  const std::vector<std::string> requests = RequestPool(index, many);
  const std::uint64_t per_call = many ? static_cast<std::uint64_t>(o_.batch) : 1;
  Connection conn(ep_);
  Response r;
  std::size_t next = 0;
  int consecutive_failures = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (target > 0 && claimed_.fetch_add(per_call, std::memory_order_relaxed) >= target) break;
    const std::string& req = requests[next];
    next = (next + 1) % requests.size();
    if (!Timed(conn, w, op, req, r)) {
      if (target > 0) claimed_.fetch_sub(per_call, std::memory_order_relaxed);  // retry the claim
      if (++consecutive_failures >= 50 && !stop_.exchange(true)) {  // said once, not per connection
        std::cerr << "cinesis bench: 50 consecutive failures on connection " << index
                  << ", giving up\n";
        incomplete_ = true;  // the run did not last its duration: exit 1
      }
      continue;
    }
    consecutive_failures = 0;
    std::uint64_t failed = 0;
    if (many) {
      auto f = ScanInt(r.body, "FailedRecordCount");
      failed = f > 0 ? static_cast<std::uint64_t>(f) : 0;
      if (failed > per_call) failed = per_call;
    }
    if (per_shard) CountShards(r.body, *per_shard);
    if (failed > 0) {
      w.failed.fetch_add(failed, std::memory_order_relaxed);
      if (target > 0) claimed_.fetch_sub(failed, std::memory_order_relaxed);  // put them again
    }
    w.put.fetch_add(per_call - failed, std::memory_order_relaxed);
  }
  w.done = true;
}

// get-records: reads its shards from TRIM_HORIZON to the end, again and again, until the
// measured duration is over and it has finished at least one full pass.
void Bench::DrainLoop(int index, int readers, Worker& w) {
  Connection conn(ep_);
  const auto shards = ShardsFor(index, readers);
  bool full_pass = false;
  while (!stop_.load(std::memory_order_relaxed) &&
         !(full_pass && deadline_.load(std::memory_order_relaxed))) {
    bool pass_ok = true;
    for (int s : shards) {
      if (!DrainShard(conn, w, s)) {
        pass_ok = false;
        break;
      }
    }
    if (pass_ok) full_pass = true;
  }
  if (!full_pass) incomplete_ = true;
  w.done = true;
}

// One pass over `shard` from TRIM_HORIZON to its end (the expected count when known, else
// an empty read with nothing behind). False when the pass did not complete.
bool Bench::DrainShard(Connection& conn, Worker& w, int shard) {
  Response r;
  if (!Timed(conn, w, kGetShardIterator, ShardIteratorRequest(shard), r)) return false;
  std::string iterator(ScanString(r.body, "ShardIterator"));
  const std::uint64_t expected = expected_.empty() ? 0 : expected_[static_cast<std::size_t>(shard)];
  std::uint64_t read = 0;
  int failures = 0;
  while (!iterator.empty() && !stop_.load(std::memory_order_relaxed)) {
    if (!Timed(conn, w, kGetRecords, GetRecordsRequest(iterator), r)) {
      if (++failures >= 50) {
        stop_ = true;
        break;
      }
      continue;
    }
    const auto n = CountKey(r.body, "SequenceNumber");
    read += n;
    w.got.fetch_add(n, std::memory_order_relaxed);
    if (expected > 0 && read >= expected) break;
    if (n == 0 && ScanInt(r.body, "MillisBehindLatest") <= 0) {
      if (expected > read) missing_.fetch_add(expected - read, std::memory_order_relaxed);
      break;
    }
    iterator = std::string(ScanString(r.body, "NextShardIterator"));
  }
  return !stop_.load(std::memory_order_relaxed);
}

// mixed: follows its shards from TRIM_HORIZON like a consumer, pausing 5 ms when a read
// comes back empty.
void Bench::TailLoop(int index, int readers, Worker& w) {
  Connection conn(ep_);
  Response r;
  const auto shards = ShardsFor(index, readers);
  std::vector<std::string> iterators(shards.size());
  int failures = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    bool any = false;
    for (std::size_t i = 0; i < shards.size() && !stop_.load(std::memory_order_relaxed); ++i) {
      if (iterators[i].empty()) {
        if (!Timed(conn, w, kGetShardIterator, ShardIteratorRequest(shards[i]), r)) {
          if (++failures >= 50) stop_ = true;
          continue;
        }
        iterators[i] = std::string(ScanString(r.body, "ShardIterator"));
      }
      if (!Timed(conn, w, kGetRecords, GetRecordsRequest(iterators[i]), r)) {
        if (++failures >= 50) stop_ = true;
        iterators[i].clear();
        continue;
      }
      const auto n = CountKey(r.body, "SequenceNumber");
      if (n > 0) any = true;
      w.got.fetch_add(n, std::memory_order_relaxed);
      iterators[i] = std::string(ScanString(r.body, "NextShardIterator"));
    }
    if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  w.done = true;
}

}  // namespace cinesis::app::bench
