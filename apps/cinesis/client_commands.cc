// `cinesis streams | put | tail`: everyday commands against any Kinesis endpoint (the local
// server by default, or AWS with --region and no --endpoint), built on libcinesis.
#include "client_commands.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "api/json_writer.h"
#include "cinesis/client.h"
#include "cinesis/producer.h"
#include "common/random.h"

namespace cinesis::app {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

int Fail(const Status& st) {
  std::fprintf(stderr, "cinesis: %s\n", st.ToString().c_str());
  return 1;
}

// Every shard of the stream, page after page.
Result<std::vector<api::Shard>> AllShards(KinesisClient& client, const std::string& stream) {
  std::vector<api::Shard> shards;
  api::ListShardsInput in;
  in.stream.stream_name = stream;
  for (;;) {
    auto page = client.ListShards(in);
    if (!page.ok()) return page.status();
    for (auto& s : page->shards) shards.push_back(std::move(s));
    if (!page->next_token) return shards;
    in = api::ListShardsInput{};
    in.next_token = page->next_token;
  }
}

}  // namespace

ClientCommands::ClientCommands(CLI::App& app) {
  auto add_common = [this](CLI::App* cmd) {
    cmd->add_option("--endpoint", endpoint_,
                    "Kinesis endpoint; empty for AWS (https://kinesis.<region>.amazonaws.com)")
        ->capture_default_str();
    cmd->add_option("--region", region_,
                    "Region for signing (default: the AWS chain, else us-east-1)");
  };
  streams_ = app.add_subcommand("streams", "List, create, describe and delete streams");
  streams_->require_subcommand(1);
  list_ = streams_->add_subcommand("list", "List the streams with their status and open shards");
  add_common(list_);
  create_ = streams_->add_subcommand("create", "Create a stream and wait until it is ACTIVE");
  create_->add_option("name", stream_, "Stream name")->required();
  create_->add_option("--shards", shards_, "Shard count (default 1)")->check(CLI::PositiveNumber);
  create_->add_flag("--on-demand", on_demand_, "On-demand capacity mode (no shard count)");
  add_common(create_);
  describe_ = streams_->add_subcommand("describe", "Show a stream's summary and its shards");
  describe_->add_option("name", stream_, "Stream name")->required();
  add_common(describe_);
  delete_ = streams_->add_subcommand("delete", "Delete a stream");
  delete_->add_option("name", stream_, "Stream name")->required();
  add_common(delete_);

  put_ = app.add_subcommand(
      "put", "Write records: each argument is one record, or else each line of standard input");
  put_->add_option("stream", stream_, "Stream name")->required();
  put_->add_option("data", data_, "Record data (omit to read lines from standard input)");
  put_->add_option("--partition-key,-k", partition_key_,
                   "Partition key of every record (default: a random key per record)");
  add_common(put_);

  tail_ = app.add_subcommand(
      "tail", "Print the records of every shard as they arrive (Ctrl-C stops), one per line");
  tail_->add_option("stream", stream_, "Stream name")->required();
  tail_->add_option("--from", from_, "latest or trim-horizon")
      ->check(CLI::IsMember({"latest", "trim-horizon"}))
      ->capture_default_str();
  tail_->add_option("--limit,-n", limit_, "Stop after this many records (0: never)")
      ->capture_default_str();
  tail_->add_flag("--no-follow", no_follow_, "Stop once every shard is caught up");
  tail_->add_flag("--json", json_,
                  "One JSON object per record (shard, sequence number, partition key, arrival "
                  "time, data in base64)");
  add_common(tail_);
}

bool ClientCommands::Selected() const {
  return streams_->parsed() || put_->parsed() || tail_->parsed();
}

Result<std::unique_ptr<KinesisClient>> ClientCommands::Connect() const {
  ClientOptions o;
  if (!endpoint_.empty()) o.endpoint = endpoint_;
  if (!region_.empty()) o.region = region_;
  auto client = KinesisClient::Create(o);
  if (client.ok() || endpoint_.empty()) return client;
  // A local server checks only that a request is signed: any credentials do.
  o.access_key_id = "local";
  o.secret_access_key = "local";
  return KinesisClient::Create(o);
}

int ClientCommands::Run() {
  auto connected = Connect();
  if (!connected.ok()) return Fail(connected.status());
  KinesisClient& client = **connected;
  if (list_->parsed()) return List(client);
  if (create_->parsed()) return Create(client);
  if (describe_->parsed()) return Describe(client);
  if (delete_->parsed()) return Delete(client);
  if (put_->parsed()) return Put(client);
  if (tail_->parsed()) return Tail(client);
  return 0;
}

int ClientCommands::List(KinesisClient& client) {
  api::ListStreamsInput in;
  for (;;) {
    auto page = client.ListStreams(in);
    if (!page.ok()) return Fail(page.status());
    for (const auto& name : page->stream_names) {
      auto summary = client.DescribeStreamSummary({{name, std::nullopt}});
      if (!summary.ok()) {
        std::printf("%s\t-\t-\n", name.c_str());
        continue;
      }
      const auto& d = summary->stream_description_summary;
      std::printf("%s\t%s\t%d shards\t%s\n", name.c_str(),
                  std::string(api::ToString(d.stream_status)).c_str(), d.open_shard_count,
                  std::string(api::ToString(d.stream_mode)).c_str());
    }
    if (!page->has_more_streams || page->stream_names.empty()) break;
    in.exclusive_start_stream_name = page->stream_names.back();
  }
  return 0;
}

int ClientCommands::Create(KinesisClient& client) {
  api::CreateStreamInput in;
  in.stream_name = stream_;
  if (on_demand_) {
    if (shards_)
      return Fail(Status(Code::kInvalidArgument, "--shards and --on-demand exclude each other"));
    in.stream_mode = api::StreamMode::kOnDemand;
  } else {
    in.shard_count = shards_ ? shards_ : 1;
  }
  if (auto st = client.CreateStream(in); !st.ok()) return Fail(st);
  for (int i = 0; i < 600 && !g_interrupted; ++i) {
    auto summary = client.DescribeStreamSummary({{stream_, std::nullopt}});
    if (summary.ok() &&
        summary->stream_description_summary.stream_status == api::StreamStatus::kActive) {
      std::printf("%s ACTIVE\n", summary->stream_description_summary.stream_arn.c_str());
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Fail(Status(Code::kLimitExceeded, "stream " + stream_ + " did not become ACTIVE in 60 s"));
}

int ClientCommands::Describe(KinesisClient& client) {
  auto summary = client.DescribeStreamSummary({{stream_, std::nullopt}});
  if (!summary.ok()) return Fail(summary.status());
  const auto& d = summary->stream_description_summary;
  std::printf("%s\n  status %s, %s, %d open shards, retention %d h, encryption %s\n",
              d.stream_arn.c_str(), std::string(api::ToString(d.stream_status)).c_str(),
              std::string(api::ToString(d.stream_mode)).c_str(), d.open_shard_count,
              d.retention_period_hours, std::string(api::ToString(d.encryption_type)).c_str());
  auto shards = AllShards(client, stream_);
  if (!shards.ok()) return Fail(shards.status());
  for (const auto& s : *shards) {
    std::printf("  %s  %s..%s%s%s\n", s.shard_id.c_str(),
                s.hash_key_range.starting_hash_key.c_str(),
                s.hash_key_range.ending_hash_key.c_str(),
                s.sequence_number_range.ending_sequence_number ? "  closed" : "",
                s.parent_shard_id ? ("  parent " + *s.parent_shard_id).c_str() : "");
  }
  return 0;
}

int ClientCommands::Delete(KinesisClient& client) {
  if (auto st = client.DeleteStream({{stream_, std::nullopt}, false}); !st.ok()) return Fail(st);
  std::printf("%s deleting\n", stream_.c_str());
  return 0;
}

int ClientCommands::Put(KinesisClient& client) {
  ProducerOptions o;
  o.stream_name = stream_;
  o.linger = std::chrono::milliseconds(20);
  auto producer = Producer::Create(client, o);
  if (!producer.ok()) return Fail(producer.status());
  std::uint64_t sent = 0;
  std::atomic<std::uint64_t> failed{0};
  std::mutex first_mu;
  Status first_error;
  auto put = [&](std::string data) {
    std::string key = partition_key_.empty() ? RandomUuid() : partition_key_;
    Status st =
        (*producer)->Put(std::move(key), std::move(data), std::nullopt, [&](const PutResult& r) {
          if (r.status.ok()) return;
          ++failed;
          std::lock_guard lock(first_mu);
          if (first_error.ok()) first_error = r.status;
        });
    if (!st.ok()) {
      ++failed;
      std::lock_guard lock(first_mu);
      if (first_error.ok()) first_error = st;
    }
    ++sent;
  };
  if (!data_.empty()) {
    for (auto& d : data_) put(d);
  } else {
    std::string line;
    while (std::getline(std::cin, line)) put(line);
  }
  (void)(*producer)->Close(std::chrono::milliseconds(60'000));
  const auto m = (*producer)->metrics();
  producer->reset();  // no callback may outlive the counters it updates
  std::fprintf(stderr, "%llu records put to %s (%llu failed, %llu retries)\n",
               static_cast<unsigned long long>(m.records_put), stream_.c_str(),
               static_cast<unsigned long long>(failed.load()),
               static_cast<unsigned long long>(m.retries));
  if (failed.load() != 0) return Fail(first_error);
  return sent == m.records_put ? 0 : 1;
}

int ClientCommands::Tail(KinesisClient& client) {
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  struct Reader {
    std::string iterator;
    bool caught_up = false;
  };
  std::map<std::string, Reader> readers;  // open or not yet finished shards
  std::set<std::string> finished;         // read to their end
  const auto type =
      from_ == "latest" ? api::ShardIteratorType::kLatest : api::ShardIteratorType::kTrimHorizon;
  std::uint64_t printed = 0;
  bool started = false;
  auto discover = [&]() -> Status {
    auto shards = AllShards(client, stream_);
    if (!shards.ok()) return shards.status();
    for (const auto& s : *shards) {
      if (readers.count(s.shard_id) || finished.count(s.shard_id)) continue;
      // Shards found after the start begin at their first record; at the start, `--from`.
      auto it = client.GetShardIterator({{stream_, std::nullopt},
                                         s.shard_id,
                                         started ? api::ShardIteratorType::kTrimHorizon : type,
                                         std::nullopt,
                                         std::nullopt});
      if (!it.ok()) return it.status();
      readers[s.shard_id] = Reader{it->shard_iterator, false};
    }
    return Status::Ok();
  };
  if (auto st = discover(); !st.ok()) return Fail(st);
  started = true;
  auto last_discovery = std::chrono::steady_clock::now();
  while (!g_interrupted) {
    bool got_any = false;
    for (auto it = readers.begin(); it != readers.end() && !g_interrupted;) {
      auto out = client.GetRecords({it->second.iterator, 10'000, std::nullopt});
      if (!out.ok()) return Fail(out.status());
      for (const auto& r : out->records) {
        if (json_) {
          std::string line;
          api::JsonWriter w(line);
          w.BeginObject();
          w.Key("ShardId");
          w.String(it->first);
          w.Key("SequenceNumber");
          w.String(r.sequence_number);
          w.Key("PartitionKey");
          w.String(r.partition_key);
          w.Key("ApproximateArrivalTimestamp");
          w.Timestamp(r.approximate_arrival_timestamp);
          w.Key("Data");
          w.Base64(r.data);
          w.EndObject();
          line += '\n';
          std::fwrite(line.data(), 1, line.size(), stdout);
        } else {
          std::fwrite(r.data.data(), 1, r.data.size(), stdout);
          std::fputc('\n', stdout);
        }
        got_any = true;
        if (++printed == limit_) {
          std::fflush(stdout);
          return 0;
        }
      }
      std::fflush(stdout);
      if (!out->next_shard_iterator) {  // a closed shard read to its end
        finished.insert(it->first);
        it = readers.erase(it);
        last_discovery = {};  // its children may be new
        continue;
      }
      it->second.iterator = *out->next_shard_iterator;
      it->second.caught_up = out->records.empty() && out->millis_behind_latest == 0;
      ++it;
    }
    bool all_caught_up = true;
    for (const auto& [_, r] : readers) all_caught_up = all_caught_up && r.caught_up;
    if (no_follow_ && all_caught_up) break;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_discovery > std::chrono::seconds(10)) {
      if (auto st = discover(); !st.ok()) return Fail(st);
      last_discovery = now;
    }
    if (!got_any) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return 0;
}

}  // namespace cinesis::app
