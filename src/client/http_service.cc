#include "client/http_service.h"

#include <condition_variable>
#include <mutex>
#include <vector>

#include "api/eventstream.h"
#include "client/curl_api.h"
#include "client/sigv4.h"
#include "client/wire_codec.h"
#include "common/status.h"

namespace cinesis::client {
namespace {

// What to do when the server's certificate is not trusted (a self-signed local server).
std::string TlsHint(CURLcode rc) {
  if (rc != CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_SSL_CACERT_BADFILE) return "";
  return " (trust its CA with ca_bundle, $AWS_CA_BUNDLE or --ca-bundle; verify_tls=false or "
         "--no-verify-ssl skips the check)";
}

struct Response {
  CURL* handle = nullptr;
  std::string body;
};

std::size_t Collect(char* data, std::size_t size, std::size_t n, void* out) {
  auto* res = static_cast<Response*>(out);
  if (res->body.empty()) {
    // A GetRecords answer runs to megabytes: one allocation of the announced size rather
    // than a doubling series of them (bounded: a larger answer still grows as it comes).
    curl_off_t length = -1;
    if (curl::EasyGetinfo(res->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0 && length <= curl_off_t{64} * 1024 * 1024) {
      res->body.reserve(static_cast<std::size_t>(length));
    }
  }
  res->body.append(data, size * n);
  return size * n;
}

class HttpService final : public api::KinesisService, public EventStreams {
 public:
  HttpService(HttpOptions options, std::unique_ptr<auth::CredentialsProvider> credentials)
      : options_(std::move(options)), credentials_(std::move(credentials)) {
    auto scheme = options_.endpoint.find("://");
    host_ = scheme == std::string::npos ? options_.endpoint : options_.endpoint.substr(scheme + 3);
    if (auto slash = host_.find('/'); slash != std::string::npos) host_ = host_.substr(0, slash);
    url_ = options_.endpoint;
    if (url_.empty() || url_.back() != '/') url_ += '/';
  }
  ~HttpService() override {
    for (CURL* h : idle_) curl::EasyCleanup(h);
  }

  // One signed POST. Network failures map to kIoError (retriable).
  Result<std::string> Call(std::string_view op, std::string_view body) {
    RETURN_IF_ERROR(curl::Load());  // libcurl is loaded at the first request (curl_api.h)
    ASSIGN_OR_RETURN(auto creds, Credentials());
    auth::HttpRequestToSign req;
    req.method = "POST";
    req.path = "/";
    req.headers = {{"Host", host_},
                   {"Content-Type", "application/x-amz-json-1.1"},
                   {"X-Amz-Target", "Kinesis_20131202." + std::string(op)}};
    req.payload = body;
    auth::Sign(req, creds, {options_.region, "kinesis", std::chrono::system_clock::now()});

    CURL* h = Take();
    if (h == nullptr) return Status(Code::kIoError, "curl_easy_init failed");
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers)
      headers = curl::SlistAppend(headers, (k + ": " + v).c_str());
    headers = curl::SlistAppend(headers, "Expect:");  // no 100-continue round trip
    Response res;
    res.handle = h;
    curl::EasySetopt(h, CURLOPT_URL, url_.c_str());
    curl::EasySetopt(h, CURLOPT_POST, 1L);
    curl::EasySetopt(h, CURLOPT_POSTFIELDS, body.data());
    curl::EasySetopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl::EasySetopt(h, CURLOPT_HTTPHEADER, headers);
    curl::EasySetopt(h, CURLOPT_WRITEFUNCTION, &Collect);
    curl::EasySetopt(h, CURLOPT_WRITEDATA, &res);
    curl::EasySetopt(h, CURLOPT_NOSIGNAL, 1L);
    curl::EasySetopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl::EasySetopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl::EasySetopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl::EasySetopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl::EasySetopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_bundle.empty())
      curl::EasySetopt(h, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    CURLcode rc = curl::EasyPerform(h);
    long status = 0;
    curl::EasyGetinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl::SlistFreeAll(headers);
    curl::EasySetopt(h, CURLOPT_HTTPHEADER, nullptr);
    Give(h);
    if (rc != CURLE_OK) {
      return Status(Code::kIoError, std::string("request to ") + options_.endpoint +
                                        " failed: " + curl::EasyStrerror(rc) + TlsHint(rc));
    }
    if (status != 200) return wire::DecodeError(static_cast<int>(status), res.body);
    return std::move(res.body);
  }

  template <typename T, typename Decoder>
  Result<T> Typed(std::string_view op, std::string body, Decoder decode) {
    ASSIGN_OR_RETURN(std::string out, Call(op, body));
    return decode(out);
  }
  Status Void(std::string_view op, std::string body) {
    auto r = Call(op, body);
    return r.ok() ? Status::Ok() : std::move(r).take_status();
  }

  Status CreateStream(const api::CreateStreamInput& in) override {
    return Void("CreateStream", wire::Encode(in));
  }
  Status DeleteStream(const api::DeleteStreamInput& in) override {
    return Void("DeleteStream", wire::Encode(in));
  }
  Result<api::DescribeStreamOutput> DescribeStream(const api::DescribeStreamInput& in) override {
    return Typed<api::DescribeStreamOutput>("DescribeStream", wire::Encode(in),
                                            wire::DecodeDescribeStream);
  }
  Result<api::DescribeStreamSummaryOutput> DescribeStreamSummary(
      const api::DescribeStreamSummaryInput& in) override {
    return Typed<api::DescribeStreamSummaryOutput>("DescribeStreamSummary", wire::Encode(in),
                                                   wire::DecodeDescribeStreamSummary);
  }
  Result<api::ListStreamsOutput> ListStreams(const api::ListStreamsInput& in) override {
    return Typed<api::ListStreamsOutput>("ListStreams", wire::Encode(in), wire::DecodeListStreams);
  }
  Result<api::ListShardsOutput> ListShards(const api::ListShardsInput& in) override {
    return Typed<api::ListShardsOutput>("ListShards", wire::Encode(in), wire::DecodeListShards);
  }
  Result<api::PutRecordOutput> PutRecord(const api::PutRecordInput& in) override {
    return Typed<api::PutRecordOutput>("PutRecord", wire::Encode(in), wire::DecodePutRecord);
  }
  Result<api::PutRecordsOutput> PutRecords(const api::PutRecordsInput& in) override {
    // Every producer call: the body goes into this thread's buffer of its last call. A new
    // body of ~100 KB per call made malloc consolidate its fast bins each time (perf:
    // malloc_consolidate and unlink_chunk, ~9% of a producer's CPU).
    thread_local std::string body;
    wire::EncodeInto(in, body);
    auto out = Call("PutRecords", body);
    if (body.capacity() > kKeepBodyBytes) std::string().swap(body);
    if (!out.ok()) return std::move(out).take_status();
    return wire::DecodePutRecords(*out);
  }
  static constexpr std::size_t kKeepBodyBytes = 1 << 20;
  Result<api::GetShardIteratorOutput> GetShardIterator(
      const api::GetShardIteratorInput& in) override {
    return Typed<api::GetShardIteratorOutput>("GetShardIterator", wire::Encode(in),
                                              wire::DecodeGetShardIterator);
  }
  Result<api::GetRecordsOutput> GetRecords(const api::GetRecordsInput& in) override {
    return Typed<api::GetRecordsOutput>("GetRecords", wire::Encode(in), wire::DecodeGetRecords);
  }
  Status IncreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) override {
    return Void("IncreaseStreamRetentionPeriod", wire::Encode(in));
  }
  Status DecreaseStreamRetentionPeriod(const api::UpdateRetentionPeriodInput& in) override {
    return Void("DecreaseStreamRetentionPeriod", wire::Encode(in));
  }
  Status SplitShard(const api::SplitShardInput& in) override {
    return Void("SplitShard", wire::Encode(in));
  }
  Status MergeShards(const api::MergeShardsInput& in) override {
    return Void("MergeShards", wire::Encode(in));
  }
  Result<api::UpdateShardCountOutput> UpdateShardCount(
      const api::UpdateShardCountInput& in) override {
    return Typed<api::UpdateShardCountOutput>("UpdateShardCount", wire::Encode(in),
                                              wire::DecodeUpdateShardCount);
  }
  Status AddTagsToStream(const api::AddTagsToStreamInput& in) override {
    return Void("AddTagsToStream", wire::Encode(in));
  }
  Status RemoveTagsFromStream(const api::RemoveTagsFromStreamInput& in) override {
    return Void("RemoveTagsFromStream", wire::Encode(in));
  }
  Result<api::ListTagsForStreamOutput> ListTagsForStream(
      const api::ListTagsForStreamInput& in) override {
    return Typed<api::ListTagsForStreamOutput>("ListTagsForStream", wire::Encode(in),
                                               wire::DecodeListTagsForStream);
  }
  Status TagResource(const api::TagResourceInput& in) override {
    return Void("TagResource", wire::Encode(in));
  }
  Status UntagResource(const api::UntagResourceInput& in) override {
    return Void("UntagResource", wire::Encode(in));
  }
  Result<api::ListTagsForResourceOutput> ListTagsForResource(
      const api::ListTagsForResourceInput& in) override {
    return Typed<api::ListTagsForResourceOutput>("ListTagsForResource", wire::Encode(in),
                                                 wire::DecodeListTagsForResource);
  }
  Status StartStreamEncryption(const api::StreamEncryptionInput& in) override {
    return Void("StartStreamEncryption", wire::Encode(in));
  }
  Status StopStreamEncryption(const api::StreamEncryptionInput& in) override {
    return Void("StopStreamEncryption", wire::Encode(in));
  }
  Result<api::EnhancedMonitoringOutput> EnableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in) override {
    return Typed<api::EnhancedMonitoringOutput>("EnableEnhancedMonitoring", wire::Encode(in),
                                                wire::DecodeEnhancedMonitoring);
  }
  Result<api::EnhancedMonitoringOutput> DisableEnhancedMonitoring(
      const api::EnhancedMonitoringInput& in) override {
    return Typed<api::EnhancedMonitoringOutput>("DisableEnhancedMonitoring", wire::Encode(in),
                                                wire::DecodeEnhancedMonitoring);
  }
  Result<api::DescribeLimitsOutput> DescribeLimits() override {
    return Typed<api::DescribeLimitsOutput>("DescribeLimits", "{}", wire::DecodeDescribeLimits);
  }
  Status UpdateStreamMode(const api::UpdateStreamModeInput& in) override {
    return Void("UpdateStreamMode", wire::Encode(in));
  }
  Result<api::AccountSettingsOutput> DescribeAccountSettings() override {
    return Typed<api::AccountSettingsOutput>("DescribeAccountSettings", "{}",
                                             wire::DecodeAccountSettings);
  }
  Result<api::AccountSettingsOutput> UpdateAccountSettings(
      const api::UpdateAccountSettingsInput& in) override {
    return Typed<api::AccountSettingsOutput>("UpdateAccountSettings", wire::Encode(in),
                                             wire::DecodeAccountSettings);
  }
  Status PutResourcePolicy(const api::ResourcePolicyInput& in) override {
    return Void("PutResourcePolicy", wire::Encode(in, true));
  }
  Result<api::GetResourcePolicyOutput> GetResourcePolicy(
      const api::ResourcePolicyInput& in) override {
    return Typed<api::GetResourcePolicyOutput>("GetResourcePolicy", wire::Encode(in, false),
                                               wire::DecodeGetResourcePolicy);
  }
  Status DeleteResourcePolicy(const api::ResourcePolicyInput& in) override {
    return Void("DeleteResourcePolicy", wire::Encode(in, false));
  }
  Status UpdateMaxRecordSize(const api::UpdateMaxRecordSizeInput& in) override {
    return Void("UpdateMaxRecordSize", wire::Encode(in));
  }
  Result<api::UpdateStreamWarmThroughputOutput> UpdateStreamWarmThroughput(
      const api::UpdateStreamWarmThroughputInput& in) override {
    return Typed<api::UpdateStreamWarmThroughputOutput>(
        "UpdateStreamWarmThroughput", wire::Encode(in), wire::DecodeUpdateStreamWarmThroughput);
  }
  Result<api::Consumer> RegisterStreamConsumer(
      const api::RegisterStreamConsumerInput& in) override {
    ASSIGN_OR_RETURN(std::string out, Call("RegisterStreamConsumer", wire::Encode(in)));
    return wire::DecodeConsumer(out, "Consumer");
  }
  Status DeregisterStreamConsumer(const api::ConsumerRef& in) override {
    return Void("DeregisterStreamConsumer", wire::Encode(in));
  }
  Result<api::Consumer> DescribeStreamConsumer(const api::ConsumerRef& in) override {
    ASSIGN_OR_RETURN(std::string out, Call("DescribeStreamConsumer", wire::Encode(in)));
    return wire::DecodeConsumer(out, "ConsumerDescription");
  }
  Result<api::ListStreamConsumersOutput> ListStreamConsumers(
      const api::ListStreamConsumersInput& in) override {
    return Typed<api::ListStreamConsumersOutput>("ListStreamConsumers", wire::Encode(in),
                                                 wire::DecodeListStreamConsumers);
  }

  // SubscribeToShard over HTTP/2 (h2c with prior knowledge for http://, ALPN for https://).
  Status SubscribeToShard(
      const api::SubscribeToShardInput& in,
      const std::function<bool(const api::SubscribeToShardEvent&)>& on_event) override {
    RETURN_IF_ERROR(curl::Load());
    ASSIGN_OR_RETURN(auto creds, Credentials());
    std::string body = wire::Encode(in);
    auth::HttpRequestToSign req;
    req.method = "POST";
    req.path = "/";
    req.headers = {{"Host", host_},
                   {"Content-Type", "application/x-amz-json-1.1"},
                   {"X-Amz-Target", "Kinesis_20131202.SubscribeToShard"}};
    req.payload = body;
    auth::Sign(req, creds, {options_.region, "kinesis", std::chrono::system_clock::now()});
    struct State {
      const std::function<bool(const api::SubscribeToShardEvent&)>* on_event;
      std::string buffer;
      long status = 0;
      CURL* handle = nullptr;
      Status error;
      bool stopped = false;
    } st{&on_event, {}, 0, nullptr, Status::Ok(), false};
    CURL* h = curl::EasyInit();
    if (h == nullptr) return Status(Code::kIoError, "curl_easy_init failed");
    st.handle = h;
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers)
      headers = curl::SlistAppend(headers, (k + ": " + v).c_str());
    headers = curl::SlistAppend(headers, "Expect:");
    const bool tls = options_.endpoint.rfind("https://", 0) == 0;
    curl::EasySetopt(h, CURLOPT_URL, url_.c_str());
    curl::EasySetopt(h, CURLOPT_HTTP_VERSION,
                     tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl::EasySetopt(h, CURLOPT_POST, 1L);
    curl::EasySetopt(h, CURLOPT_POSTFIELDS, body.data());
    curl::EasySetopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl::EasySetopt(h, CURLOPT_HTTPHEADER, headers);
    curl::EasySetopt(h, CURLOPT_NOSIGNAL, 1L);
    curl::EasySetopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    // A subscription lasts minutes: no total timeout, but a silent stream (no heartbeat for
    // 30 s) is dead.
    curl::EasySetopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl::EasySetopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl::EasySetopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl::EasySetopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_bundle.empty())
      curl::EasySetopt(h, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    curl::EasySetopt(h, CURLOPT_WRITEDATA, &st);
    curl::EasySetopt(
        h, CURLOPT_WRITEFUNCTION,
        +[](char* data, std::size_t size, std::size_t n, void* p) -> std::size_t {
          auto& s = *static_cast<State*>(p);
          s.buffer.append(data, size * n);
          if (s.status == 0) curl::EasyGetinfo(s.handle, CURLINFO_RESPONSE_CODE, &s.status);
          if (s.status != 200) return size * n;  // an error body: decoded after the transfer
          std::size_t used = 0;
          for (;;) {
            auto msg = api::eventstream::Decode(s.buffer, used);
            if (!msg) break;
            s.buffer.erase(0, used);
            const auto type = msg->Header(":message-type").value_or("");
            if (type == "exception" || type == "error") {
              const auto code =
                  msg->Header(":exception-type").value_or(msg->Header(":error-code").value_or(""));
              s.error = wire::DecodeError(
                  400, R"({"__type":")" + code + R"(","message":)" +
                           (type == "exception" ? msg->payload : std::string("\"\"")) + "}");
              return 0;
            }
            if (msg->Header(":event-type") != "SubscribeToShardEvent")
              continue;  // initial-response
            auto ev = wire::DecodeSubscribeToShardEvent(msg->payload);
            if (!ev.ok()) {
              s.error = ev.status();
              return 0;
            }
            if (!(*s.on_event)(*ev)) {
              s.stopped = true;
              return 0;  // aborts the transfer: the caller asked to stop
            }
          }
          return size * n;
        });
    CURLcode rc = curl::EasyPerform(h);
    long status = st.status;
    if (status == 0) curl::EasyGetinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl::SlistFreeAll(headers);
    curl::EasyCleanup(h);
    if (!st.error.ok()) return st.error;
    if (st.stopped) return Status::Ok();
    if (status != 0 && status != 200) return wire::DecodeError(static_cast<int>(status), st.buffer);
    if (rc != CURLE_OK) {
      return Status(Code::kIoError, std::string("SubscribeToShard to ") + options_.endpoint +
                                        " failed: " + curl::EasyStrerror(rc) + TlsHint(rc));
    }
    return Status::Ok();  // the stream ended (5 minutes, or the end of the shard)
  }

 private:
  // The provider caches and refreshes (RefreshingCredentials): asked on every request.
  Result<auth::Credentials> Credentials() { return credentials_->Get(); }

  CURL* Take() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl::EasyInit();
  }
  void Give(CURL* h) {
    std::lock_guard lock(mu_);
    idle_.push_back(h);  // keeps its connection open for the next call (keep-alive)
  }

  HttpOptions options_;
  std::unique_ptr<auth::CredentialsProvider> credentials_;
  std::string host_;
  std::string url_;
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

}  // namespace

HttpBackend NewHttpService(HttpOptions options,
                           std::unique_ptr<auth::CredentialsProvider> credentials) {
  auto service = std::make_unique<HttpService>(std::move(options), std::move(credentials));
  EventStreams* events = service.get();
  return {std::move(service), events};
}

namespace {

class InProcessEventStreams final : public EventStreams {
 public:
  explicit InProcessEventStreams(api::EventStreamService& events) : events_(events) {}
  Status SubscribeToShard(
      const api::SubscribeToShardInput& in,
      const std::function<bool(const api::SubscribeToShardEvent&)>& on_event) override {
    ASSIGN_OR_RETURN(auto sub, events_.SubscribeToShard(in));
    struct Wake {
      std::mutex mu;
      std::condition_variable cv;
      bool fired = false;
    };
    auto wake = std::make_shared<Wake>();
    for (;;) {
      if (sub->Finished()) return Status::Ok();
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      if (now >= sub->ExpiresAt()) return Status::Ok();
      auto ev = sub->Next();
      if (!ev.ok()) return ev.status();
      if (!ev->records.empty() || ev->child_shards) {
        if (!on_event(*ev)) return Status::Ok();
        continue;
      }
      // Nothing new: wait for an append, or send a heartbeat, like the server's stream.
      {
        std::lock_guard lock(wake->mu);
        wake->fired = false;
      }
      sub->NotifyOnAppend([wake] {
        std::lock_guard lock(wake->mu);
        wake->fired = true;
        wake->cv.notify_all();
      });
      std::unique_lock lock(wake->mu);
      if (!wake->cv.wait_for(lock, std::chrono::seconds(2), [&] { return wake->fired; })) {
        lock.unlock();
        if (!on_event(*ev)) return Status::Ok();
      }
    }
  }

 private:
  api::EventStreamService& events_;
};

}  // namespace

std::unique_ptr<EventStreams> NewInProcessEventStreams(api::EventStreamService& events) {
  return std::make_unique<InProcessEventStreams>(events);
}

}  // namespace cinesis::client
