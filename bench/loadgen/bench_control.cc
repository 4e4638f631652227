// `cinesis bench`: one load scenario from start to end (Bench::Run) and its control plane:
// the stream is created (or reused), waited for, its open shards listed, and deleted after.
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>
#include <iostream>

#include "bench_internal.h"

namespace cinesis::app::bench {

namespace json = boost::json;

int Bench::Run() {
  if (!ParseEndpoint(o_.endpoint, ep_)) {
    std::cerr << "cinesis bench: --endpoint must look like http://127.0.0.1:4567\n";
    return 2;
  }
  if (!ParseTimes()) return 2;
  if (o_.scenario == "mixed" && o_.connections < 2) {
    std::cerr << "cinesis bench: mixed needs at least 2 connections\n";
    return 2;
  }
  if ((o_.scenario == "get-records" || o_.scenario == "mixed") &&
      o_.connections > kMaxThreadedConnections) {
    std::cerr << "cinesis bench: " << o_.scenario
              << " runs one thread per connection: --connections at most "
              << kMaxThreadedConnections << "\n";
    return 2;
  }
  if (!EnsureDescriptors()) return 2;
  stream_ = o_.stream;
  if (stream_.empty()) {
    std::mt19937_64 rng(std::random_device{}());
    stream_ = "bench-" + o_.scenario + "-" + std::to_string(getpid()) + "-" + RandomHex(rng, 6);
  }
  Connection control(ep_);
  control_ = &control;
  if (!EnsureStream()) return 1;
  if (!o_.quiet) {
    std::cerr << "cinesis bench: " << o_.scenario << " on stream " << stream_ << " ("
              << shard_ids_.size() << " shards) at " << o_.endpoint << std::endl;
  }
  Result r = Measure(o_.scenario);
  control_->Close();  // the server may have timed the idle control connection out
  DeleteStream();
  Report(r);
  const std::uint64_t moved = r.put + r.got;
  return moved > 0 && r.complete ? 0 : 1;
}

bool Bench::ParseTimes() {
  auto duration = ParseDuration(o_.duration), warmup = ParseDuration(o_.warmup),
       timeout = ParseDuration(o_.timeout);
  if (!duration || !warmup || !timeout) {
    std::cerr << "cinesis bench: durations look like 10s, 500ms or 2m\n";
    return false;
  }
  duration_ = *duration;
  warmup_ = *warmup;
  timeout_ = *timeout;
  return true;
}

bool Bench::Control(std::string_view op, const std::string& body, json::value* out,
                    std::string* error) {
  Response r;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (control_->Call(op, body, r)) break;
  }
  if (r.status == 0) {
    if (error) *error = std::string(op) + ": " + r.error;
    return false;
  }
  if (r.status != 200) {
    if (error)
      *error = std::string(op) + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300);
    return false;
  }
  if (out) {
    boost::system::error_code ec;
    *out = r.body.empty() ? json::value(json::object()) : json::parse(r.body, ec);
    if (ec) {
      if (error) *error = std::string(op) + ": unparsable response";
      return false;
    }
  }
  return true;
}

bool Bench::EnsureStream() { return CreateStream() && WaitActive() && ListOpenShards(); }

// Creates the stream; an existing one is fine only when it was named with --stream.
bool Bench::CreateStream() {
  std::string error;
  json::object create;
  create["StreamName"] = stream_;
  create["ShardCount"] = o_.shards;
  if (Control("CreateStream", json::serialize(create), nullptr, &error)) {
    created_ = true;
  } else if (error.find("ResourceInUseException") == std::string::npos || o_.stream.empty()) {
    std::cerr << "cinesis bench: " << error << "\n";
    return false;
  }
  return true;
}

// Polls DescribeStreamSummary (DescribeStream where it is missing) until ACTIVE, up to 60 s.
bool Bench::WaitActive() {
  std::string error;
  const std::string name_json = JsonString(stream_);
  const auto give_up = SteadyClock::now() + std::chrono::seconds(60);
  bool summary = true;
  for (;;) {
    json::value v;
    std::string status;
    if (summary &&
        Control("DescribeStreamSummary", "{\"StreamName\":" + name_json + "}", &v, &error)) {
      status = json::value_to<std::string>(v.at("StreamDescriptionSummary").at("StreamStatus"));
    } else {
      summary = false;
      if (!Control("DescribeStream", "{\"StreamName\":" + name_json + ",\"Limit\":1}", &v,
                   &error)) {
        std::cerr << "cinesis bench: " << error << "\n";
        return false;
      }
      status = json::value_to<std::string>(v.at("StreamDescription").at("StreamStatus"));
    }
    if (status == "ACTIVE") return true;
    if (SteadyClock::now() > give_up) {
      std::cerr << "cinesis bench: stream " << stream_ << " still " << status << " after 60 s\n";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Fills shard_ids_ and shard_index_ with the open shards, paging through DescribeStream.
bool Bench::ListOpenShards() {
  std::string error;
  std::string start;
  for (;;) {
    json::object req;
    req["StreamName"] = stream_;
    if (!start.empty()) req["ExclusiveStartShardId"] = start;
    json::value v;
    if (!Control("DescribeStream", json::serialize(req), &v, &error)) {
      std::cerr << "cinesis bench: " << error << "\n";
      return false;
    }
    const auto& d = v.at("StreamDescription").as_object();
    for (const auto& s : d.at("Shards").as_array()) {
      const auto& shard = s.as_object();
      start = json::value_to<std::string>(shard.at("ShardId"));
      const auto& range = shard.at("SequenceNumberRange").as_object();
      if (const auto* end = range.if_contains("EndingSequenceNumber"); end && !end->is_null())
        continue;  // closed
      shard_index_[start] = static_cast<int>(shard_ids_.size());
      shard_ids_.push_back(start);
    }
    if (!d.contains("HasMoreShards") || !d.at("HasMoreShards").as_bool() ||
        d.at("Shards").as_array().empty())
      break;
  }
  if (shard_ids_.empty()) {
    std::cerr << "cinesis bench: stream " << stream_ << " has no open shard\n";
    return false;
  }
  return true;
}

void Bench::DeleteStream() {
  if (!created_ || o_.keep_stream) return;
  std::string error;
  if (!Control("DeleteStream", "{\"StreamName\":" + JsonString(stream_) + "}", nullptr, &error)) {
    std::cerr << "cinesis bench: " << error << "\n";
  }
}

}  // namespace cinesis::app::bench
