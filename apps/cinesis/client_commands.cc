// `cinesis streams | put | tail`: everyday commands against any Kinesis endpoint (the local
// server by default, or AWS with --region and an empty --endpoint), built on libcinesis.
// This file: options, connecting, exit codes and `streams`; put_command.cc and
// tail_command.cc hold the other two.
#include "client_commands.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli_util.h"

namespace cinesis::app {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

constexpr auto kStatusWait = std::chrono::seconds(60);
constexpr auto kStatusPoll = std::chrono::milliseconds(100);

}  // namespace

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

int Fail(const Status& st) { return Fail(st, ExitCodeFor(st)); }

int Fail(const Status& st, int exit_code) {
  std::fprintf(stderr, "cinesis: %s\n", st.ToString().c_str());
  return exit_code;
}

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool Interrupted() { return g_interrupted != 0; }

ClientCommands::ClientCommands(CLI::App& app) {
  auto add_common = [this](CLI::App* cmd) {
    cmd->add_option("--endpoint", endpoint_,
                    "Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS, else AWS_ENDPOINT_URL, "
                    "else http://127.0.0.1:4567); empty for AWS itself "
                    "(https://kinesis.<region>.amazonaws.com)");
    cmd->add_option("--region", region_,
                    "Region for signing (default: the AWS chain, else us-east-1)");
    cmd->add_option("--ca-bundle", ca_bundle_,
                    "PEM file of the certificate authorities to trust for an https endpoint "
                    "(default: AWS_CA_BUNDLE, else the profile's ca_bundle, else the system's)")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--no-verify-ssl", no_verify_ssl_,
                  "Do not check an https endpoint's certificate (as the AWS CLI's flag)");
    cmd->footer(std::string(ExitCodesHelp()));
  };
  streams_ = app.add_subcommand("streams", "List, create, describe and delete streams");
  streams_->require_subcommand(1);
  streams_->footer(std::string(ExitCodesHelp()));
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
  delete_ = streams_->add_subcommand("delete", "Delete a stream and wait until it is gone");
  delete_->add_option("name", stream_, "Stream name")->required();
  delete_->add_flag("--no-wait", no_wait_, "Return once the deletion has started");
  add_common(delete_);

  put_ = app.add_subcommand(
      "put",
      "Write records: each argument is one record, or else each line of standard input (or "
      "--file). Progress on a terminal; Ctrl-C sends what was read, then stops");
  put_->add_option("stream", stream_, "Stream name")->required();
  put_->add_option("data", data_, "Record data (omit to read lines from standard input)");
  put_->add_option("--partition-key,-k", partition_key_,
                   "Partition key of every record (default: a random key per record)");
  put_->add_option("--key-delimiter,-K", key_delimiter_,
                   "Each line is KEY<delim>DATA: the text before the first delimiter is the "
                   "partition key (lines without it get a random key)");
  put_->add_option("--file,-i", file_, "Read lines from this file instead of standard input");
  put_->add_option("--linger", linger_ms_, "Milliseconds a record may wait to fill a batch")
      ->check(CLI::Range(0, 600'000))
      ->capture_default_str();
  put_->add_flag("--quiet,-q", quiet_, "No progress display (the summary line stays)");
  add_common(put_);

  tail_ = app.add_subcommand(
      "tail", "Print the records of every shard as they arrive (Ctrl-C stops), one per line");
  tail_->add_option("stream", stream_, "Stream name")->required();
  tail_
      ->add_option("--from", from_,
                   "latest, trim-horizon, a sequence number (reads its shard), or a time: "
                   "ISO 8601 (2026-12-02T03:30:00Z) or epoch seconds")
      ->capture_default_str();
  tail_->add_option("--shard", shard_filter_,
                    "Read only this shard (id or number; repeatable); its children are not "
                    "followed");
  tail_->add_option("--app", app_name_,
                    "Application name: checkpoint after every record printed and resume from "
                    "the checkpoints on the next run (--from then applies to shards without one)");
  tail_->add_option("--store", store_,
                    "Checkpoint store for --app: sqlite:PATH (default: "
                    "$XDG_DATA_HOME/cinesis-cli/checkpoints.sqlite, else "
                    "~/.local/share/cinesis-cli/checkpoints.sqlite)");
  auto* format = tail_->add_option(
      "--format,-f", format_,
      "Output template: %k key, %s shard, %S sequence number, %T arrival (epoch ms), %t arrival "
      "(ISO 8601), %d data, %%; escapes \\n \\t \\r \\0 \\\\ (default '%d\\n')");
  tail_->add_option("--count,-c,--limit,-n", limit_, "Stop after this many records (0: never)")
      ->capture_default_str();
  tail_->add_flag("--no-follow", no_follow_, "Stop once every shard is caught up");
  tail_
      ->add_flag("--json", json_,
                 "One JSON object per record (shard, sequence number, partition key, arrival "
                 "time, data in base64)")
      ->excludes(format);
  add_common(tail_);
}

bool ClientCommands::Selected() const {
  return streams_->parsed() || put_->parsed() || tail_->parsed();
}

Result<std::unique_ptr<KinesisClient>> ClientCommands::Connect() const {
  const std::string endpoint = ResolveEndpoint(
      endpoint_, +[](const char* name) -> const char* { return std::getenv(name); });
  ClientOptions o;
  if (endpoint.empty()) {
    // `--endpoint ""`: AWS itself, whatever endpoint variables or profile settings say.
    ::setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
  } else {
    o.endpoint = endpoint;
  }
  if (!region_.empty()) o.region = region_;
  if (!ca_bundle_.empty()) o.ca_bundle = ca_bundle_;
  o.verify_tls = !no_verify_ssl_;
  // Fail fast when nothing listens: one second to connect (the retries add under a second
  // for a refused connection).
  o.connect_timeout = std::chrono::milliseconds(1000);
  // A loopback endpoint needs no credentials (the library signs with dummy ones); any
  // other endpoint without credentials fails here, naming the chain that was tried.
  return KinesisClient::Create(o);
}

int ClientCommands::Run() {
  auto connected = Connect();
  if (!connected.ok()) {
    const Status& st = connected.status();
    return Fail(st, st.code() == Code::kInvalidArgument ? kExitAccess : ExitCodeFor(st));
  }
  KinesisClient& client = **connected;
  if (list_->parsed()) return List(client);
  if (create_->parsed()) return Create(client);
  if (describe_->parsed()) return Describe(client);
  if (delete_->parsed()) return Delete(client);
  if (put_->parsed()) return Put(client);
  if (tail_->parsed()) return Tail(client);
  return kExitOk;
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
  return kExitOk;
}

int ClientCommands::Create(KinesisClient& client) {
  InstallInterruptHandler();
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
  const auto deadline = std::chrono::steady_clock::now() + kStatusWait;
  while (!Interrupted() && std::chrono::steady_clock::now() < deadline) {
    auto summary = client.DescribeStreamSummary({{stream_, std::nullopt}});
    if (summary.ok() &&
        summary->stream_description_summary.stream_status == api::StreamStatus::kActive) {
      std::printf("%s ACTIVE\n", summary->stream_description_summary.stream_arn.c_str());
      return kExitOk;
    }
    std::this_thread::sleep_for(kStatusPoll);
  }
  if (Interrupted()) return kExitInterrupted;
  return Fail(
      Status(Code::kDeadlineExceeded, "stream " + stream_ + " did not become ACTIVE in 60 s"));
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
  return kExitOk;
}

int ClientCommands::Delete(KinesisClient& client) {
  InstallInterruptHandler();
  if (auto st = client.DeleteStream({{stream_, std::nullopt}, false}); !st.ok()) return Fail(st);
  if (no_wait_) {
    std::printf("%s deleting\n", stream_.c_str());
    return kExitOk;
  }
  const auto deadline = std::chrono::steady_clock::now() + kStatusWait;
  while (!Interrupted() && std::chrono::steady_clock::now() < deadline) {
    auto summary = client.DescribeStreamSummary({{stream_, std::nullopt}});
    if (!summary.ok()) {
      if (summary.status().code() != Code::kResourceNotFound) return Fail(summary.status());
      std::printf("%s deleted\n", stream_.c_str());
      return kExitOk;
    }
    std::this_thread::sleep_for(kStatusPoll);
  }
  if (Interrupted()) return kExitInterrupted;
  return Fail(Status(Code::kDeadlineExceeded, "stream " + stream_ + " still exists after 60 s"));
}

}  // namespace cinesis::app
