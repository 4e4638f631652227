#include "cinesis/client.h"

#include <thread>

#include "api/operation_list.h"
#include "api/service.h"
#include "client/credential_providers.h"
#include "client/credentials.h"
#include "client/http_service.h"
#include "common/status.h"

namespace cinesis {

namespace {

class RealSleeper final : public Sleeper {
 public:
  void SleepFor(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

struct KinesisClient::Impl {
  Impl(api::KinesisService& s, RetryOptions r) : service(&s), retry(r) {
    // The in-process engine also serves event streams.
    if (auto* es = dynamic_cast<api::EventStreamService*>(&s)) {
      owned_events = client::NewInProcessEventStreams(*es);
      events = owned_events.get();
    }
  }
  Impl(std::unique_ptr<api::KinesisService> s, RetryOptions r) : Impl(*s, r) {
    owned = std::move(s);
  }

  std::unique_ptr<api::KinesisService> owned;
  api::KinesisService* service;
  std::unique_ptr<client::EventStreams> owned_events;
  client::EventStreams* events = nullptr;
  RetryPolicy retry;
};

Sleeper& Sleeper::Real() {
  static RealSleeper s;
  return s;
}

std::chrono::milliseconds RetryPolicy::Backoff(int attempt) {
  const int shift = std::clamp(attempt - 2, 0, 30);
  const auto cap =
      std::min<std::int64_t>(options_.max_delay.count(), options_.base_delay.count() << shift);
  std::lock_guard lock(mu_);
  std::uniform_int_distribution<std::int64_t> dist(0, std::max<std::int64_t>(0, cap));
  return std::chrono::milliseconds(dist(rng_));
}

Result<ResolvedEndpoint> ResolveEndpoint(const ClientOptions& options) {
  ResolvedEndpoint out;
  if (options.endpoint && !options.endpoint->empty()) {
    out.url = *options.endpoint;
    out.source = ResolvedEndpoint::Source::kExplicit;
    out.origin = "ClientOptions.endpoint";
  } else {
    ASSIGN_OR_RETURN(auto configured, client::auth::ConfiguredEndpointUrl(options.profile));
    if (configured) {
      using From = client::auth::ConfiguredEndpoint::Source;
      out.url = std::move(configured->url);
      out.source = configured->source == From::kServiceEnv  ? ResolvedEndpoint::Source::kServiceEnv
                   : configured->source == From::kGlobalEnv ? ResolvedEndpoint::Source::kGlobalEnv
                                                            : ResolvedEndpoint::Source::kProfile;
      out.origin = std::move(configured->origin);
    }
  }
  // Region (issue 20): explicit, AWS_REGION, AWS_DEFAULT_REGION, profile, then IMDS, which
  // is not asked for a loopback endpoint (a local server ignores the region).
  const bool loopback_url = !out.url.empty() && client::auth::IsLoopbackUrl(out.url);
  out.region =
      client::auth::ResolveRegionWithOrigin(options.region, options.profile, !loopback_url).region;
  if (out.url.empty()) {
    ASSIGN_OR_RETURN(const auto variant, client::auth::ResolveEndpointVariant(options.profile));
    out.url = client::auth::KinesisEndpoint(out.region, variant.fips, variant.dual_stack);
    out.source = ResolvedEndpoint::Source::kRegional;
    out.origin = std::string("the regional AWS endpoint of ") + out.region +
                 (variant.fips ? " (FIPS)" : "") + (variant.dual_stack ? " (dual-stack)" : "");
  }
  const std::string_view url = out.url;
  const std::size_t scheme = url.find("://");
  const std::string_view s = scheme == std::string_view::npos ? "" : url.substr(0, scheme);
  const bool known = s == "http" || s == "https";
  if (!known || url.size() == scheme + 3 || url[scheme + 3] == '/') {
    return Status(Code::kInvalidArgument, out.origin + ": endpoint \"" + out.url +
                                              "\" is not a URL like http://HOST:PORT or "
                                              "https://HOST");
  }
  out.loopback = client::auth::IsLoopbackUrl(out.url);
  return out;
}

Result<std::unique_ptr<KinesisClient>> KinesisClient::Create(ClientOptions options) {
  RETURN_IF_ERROR(Validate(options));
  std::optional<client::auth::Credentials> explicit_creds;
  if (options.access_key_id && options.secret_access_key) {
    explicit_creds = client::auth::Credentials{*options.access_key_id, *options.secret_access_key,
                                               options.session_token.value_or("")};
  }
  ASSIGN_OR_RETURN(ResolvedEndpoint endpoint, ResolveEndpoint(options));
  client::auth::ChainOptions chain;
  chain.explicit_credentials = std::move(explicit_creds);
  chain.profile = options.profile;
  chain.region = endpoint.region;
  chain.loopback = endpoint.loopback;
  chain.clock = options.retry.clock;
  // Cached and refreshed ahead of expiry (issue 20); the signer asks it on every request.
  auto provider = client::auth::RefreshingCredentials(
      client::auth::NewCredentialsChain(std::move(chain)), *options.retry.clock);
  // Fail early with the chain's explanation rather than on the first call.
  if (auto probe = provider->Get(); !probe.ok()) {
    Status st = std::move(probe).take_status();
    if (endpoint.loopback || st.message().rfind("no AWS credentials found", 0) != 0) return st;
    return Status(st.code(), st.message() + " (for " + endpoint.url + ", from " + endpoint.origin +
                                 "; only a loopback endpoint works without credentials)");
  }
  client::HttpOptions http;
  http.region = endpoint.region;
  http.endpoint = endpoint.url;
  http.connect_timeout = options.connect_timeout;
  http.request_timeout = options.request_timeout;
  http.verify_tls = options.verify_tls;
  ASSIGN_OR_RETURN(http.ca_bundle,
                   client::auth::ResolveCaBundle(options.ca_bundle, options.profile));
  auto backend = client::NewHttpService(std::move(http), std::move(provider));
  std::unique_ptr<KinesisClient> c(new KinesisClient());
  c->impl_ = std::make_unique<Impl>(std::move(backend.service), options.retry);
  c->impl_->events = backend.events;
  return c;
}

KinesisClient::KinesisClient() = default;

KinesisClient::KinesisClient(api::KinesisService& service, RetryOptions retry)
    : impl_(std::make_unique<Impl>(service, retry)) {}

KinesisClient::KinesisClient(std::unique_ptr<api::KinesisService> service, RetryOptions retry)
    : impl_(std::make_unique<Impl>(std::move(service), retry)) {}

KinesisClient::~KinesisClient() = default;

RetryPolicy& KinesisClient::retry() { return impl_->retry; }

Status KinesisClient::SubscribeToShard(
    const api::SubscribeToShardInput& in,
    const std::function<bool(const api::SubscribeToShardEvent&)>& on_event) {
  if (!impl_->events)
    return Status(Code::kUnknownOperation, "this client's backend has no event streams");
  return impl_->events->SubscribeToShard(in, on_event);
}

#define CINESIS_FORWARD(Ret, Name, In)                                 \
  Ret KinesisClient::Name(const In& in) {                              \
    return impl_->retry.Run([&] { return impl_->service->Name(in); }); \
  }
#define CINESIS_FORWARD0(Ret, Name)                                  \
  Ret KinesisClient::Name() {                                        \
    return impl_->retry.Run([&] { return impl_->service->Name(); }); \
  }

CINESIS_KINESIS_OPERATIONS(CINESIS_FORWARD, CINESIS_FORWARD0)

#undef CINESIS_FORWARD
#undef CINESIS_FORWARD0

Status KinesisClient::CreateStream(const std::string& stream, int shard_count) {
  api::CreateStreamInput in;
  in.stream_name = stream;
  in.shard_count = shard_count;
  return CreateStream(in);
}

Status KinesisClient::DeleteStream(const std::string& stream) {
  api::DeleteStreamInput in;
  in.stream.stream_name = stream;
  return DeleteStream(in);
}

Result<api::DescribeStreamSummaryOutput> KinesisClient::DescribeStreamSummary(
    const std::string& stream) {
  api::DescribeStreamSummaryInput in;
  in.stream.stream_name = stream;
  return DescribeStreamSummary(in);
}

Result<api::ListShardsOutput> KinesisClient::ListShards(const std::string& stream) {
  api::ListShardsInput in;
  in.stream.stream_name = stream;
  ASSIGN_OR_RETURN(api::ListShardsOutput all, ListShards(in));
  while (all.next_token) {
    api::ListShardsInput next;  // NextToken excludes StreamName
    next.next_token = std::move(all.next_token);
    all.next_token.reset();
    ASSIGN_OR_RETURN(api::ListShardsOutput page, ListShards(next));
    for (auto& shard : page.shards) all.shards.push_back(std::move(shard));
    all.next_token = std::move(page.next_token);
  }
  return all;
}

Result<api::PutRecordOutput> KinesisClient::PutRecord(
    const std::string& stream, const std::string& partition_key, std::string data,
    std::optional<std::string> explicit_hash_key) {
  api::PutRecordInput in;
  in.stream.stream_name = stream;
  in.partition_key = partition_key;
  in.data = std::move(data);
  in.explicit_hash_key = std::move(explicit_hash_key);
  return PutRecord(in);
}

Result<api::PutRecordsOutput> KinesisClient::PutRecords(
    const std::string& stream, std::vector<api::PutRecordsRequestEntry> entries) {
  api::PutRecordsInput in;
  in.stream.stream_name = stream;
  in.records = std::move(entries);
  return PutRecords(in);
}

Result<api::GetShardIteratorOutput> KinesisClient::GetShardIterator(
    const std::string& stream, const std::string& shard_id, api::ShardIteratorType type,
    std::optional<std::string> sequence_number) {
  api::GetShardIteratorInput in;
  in.stream.stream_name = stream;
  in.shard_id = shard_id;
  in.shard_iterator_type = type;
  in.starting_sequence_number = std::move(sequence_number);
  return GetShardIterator(in);
}

Result<api::GetRecordsOutput> KinesisClient::GetRecords(const std::string& shard_iterator,
                                                        std::optional<int> limit) {
  api::GetRecordsInput in;
  in.shard_iterator = shard_iterator;
  in.limit = limit;
  return GetRecords(in);
}

Status KinesisClient::WaitForActive(const std::string& stream, std::chrono::milliseconds timeout) {
  const Clock& clock = *impl_->retry.options().clock;
  const EpochMillis deadline = clock.NowMillis() + timeout.count();
  for (;;) {
    auto d = DescribeStreamSummary(stream);
    if (!d.ok()) return d.status();
    if (d->stream_description_summary.stream_status == api::StreamStatus::kActive)
      return Status::Ok();
    if (clock.NowMillis() >= deadline) {
      return Status(Code::kDeadlineExceeded, "stream " + stream + " did not become ACTIVE in time");
    }
    impl_->retry.options().sleeper->SleepFor(std::chrono::milliseconds(50));
  }
}

}  // namespace cinesis
