// The client and stream administration functions of cinesis.h.
#include <boost/json.hpp>
#include <chrono>
#include <cstring>

#include "api/codec.h"
#include "api/json_writer.h"
#include "api/model.h"
#include "api/operation_list.h"
#include "api/validate.h"
#include "capi/internal.h"
#include "capi/options.h"

namespace cinesis::capi {
namespace {

// Copies `s` into buf[0..size) truncated, NUL-terminated; nothing when buf is NULL.
void CopyOut(const std::string& s, char* buf, std::size_t size) {
  if (buf == nullptr || size == 0) return;
  const std::size_t n = std::min(s.size(), size - 1);
  std::memcpy(buf, s.data(), n);
  buf[n] = '\0';
}

api::StreamRef Ref(const char* stream) {
  api::StreamRef r;
  r.stream_name = stream;
  return r;
}

// The generic call: the service's own request validation and JSON codec (src/api), as the
// server runs them, with the client as the service.
// The client as a KinesisService, so that the api layer's JSON invoker can call it (the
// client's own retry policy applies to every call).
class ClientAsService final : public api::KinesisService {
 public:
  explicit ClientAsService(KinesisClient& client) : c_(client) {}
#define CINESIS_CAPI_FORWARD(Ret, Name, In) \
  Ret Name(const In& in) override { return c_.Name(in); }
#define CINESIS_CAPI_FORWARD0(Ret, Name) \
  Ret Name() override { return c_.Name(); }
  CINESIS_KINESIS_OPERATIONS(CINESIS_CAPI_FORWARD, CINESIS_CAPI_FORWARD0)
#undef CINESIS_CAPI_FORWARD
#undef CINESIS_CAPI_FORWARD0

 private:
  KinesisClient& c_;
};

Status Call(KinesisClient& client, std::string_view operation, std::string_view request,
            std::string& response) {
  const api::Operation* op = api::Model::Get().FindOperation(operation);
  if (op == nullptr) {
    return Status(Code::kUnknownOperation,
                  "no Kinesis operation named '" + std::string(operation) + "'");
  }
  if (op->name == "SubscribeToShard") {
    return Status(Code::kInvalidArgument,
                  "SubscribeToShard streams events and is not available through "
                  "cinesis_client_call");
  }
  boost::json::parse_options popts;
  popts.max_depth = 64;
  boost::json::error_code ec;
  boost::json::value doc =
      boost::json::parse(request.empty() ? std::string_view("{}") : request, ec, {}, popts);
  if (ec || !doc.is_object()) {
    return Status(Code::kSerialization,
                  "request_json is not a JSON object" + (ec ? ": " + ec.message() : ""));
  }
  auto& body = doc.get_object();
  if (op->input != nullptr) {
    RETURN_IF_ERROR(api::CheckTypes(*op->input, body));
    RETURN_IF_ERROR(api::CheckConstraints(*op->input, body));
  }
  response.clear();
  ClientAsService service(client);
  RETURN_IF_ERROR(api::InvokeJson(op->name, body, service, response));
  if (response.empty()) response = "{}";
  return Status::Ok();
}

}  // namespace
}  // namespace cinesis::capi

using namespace cinesis;        // NOLINT(google-build-using-namespace)
using namespace cinesis::capi;  // NOLINT(google-build-using-namespace)

extern "C" {

cinesis_err_t cinesis_client_new(const cinesis_options_t* options, cinesis_client_t** out) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    if (options != nullptr) CINESIS_CHECK_HANDLE(options, kOptionsMagic, "cinesis_options_t");
    CINESIS_CHECK_ARG(out);
    ClientOptions opts;
    CAPI_RETURN_IF_ERROR(ParseClientOptions(options, opts));
    auto created = KinesisClient::Create(std::move(opts));
    if (!created.ok()) return SetError(created.status());
    auto h = std::make_unique<cinesis_client>();
    h->owned = std::move(created).value();
    h->client = h->owned.get();
    *out = h.release();
    return CINESIS_OK;
  });
}

void cinesis_client_destroy(cinesis_client_t* client) {
  // A LocalKinesis's client (owned == null) belongs to the local handle.
  if (!Valid(client, kClientMagic) || !client->owned) return;
  client->magic = 0;
  delete client;
}

cinesis_err_t cinesis_client_call(cinesis_client_t* client, const char* operation,
                                  const char* request_json, char** response_json) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(operation);
    CINESIS_CHECK_ARG(response_json);
    std::string response;
    CAPI_RETURN_IF_ERROR(
        Call(*client->client, operation, request_json ? request_json : "{}", response));
    *response_json = CopyString(response);
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_create_stream(cinesis_client_t* client, const char* stream, int shard_count) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    api::CreateStreamInput in;
    in.stream_name = stream;
    in.shard_count = shard_count;
    CAPI_RETURN_IF_ERROR(client->client->CreateStream(in));
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_create_stream_on_demand(cinesis_client_t* client, const char* stream) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    api::CreateStreamInput in;
    in.stream_name = stream;
    in.stream_mode = api::StreamMode::kOnDemand;
    CAPI_RETURN_IF_ERROR(client->client->CreateStream(in));
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_delete_stream(cinesis_client_t* client, const char* stream,
                                    int enforce_consumer_deletion) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    api::DeleteStreamInput in;
    in.stream = Ref(stream);
    in.enforce_consumer_deletion = enforce_consumer_deletion != 0;
    CAPI_RETURN_IF_ERROR(client->client->DeleteStream(in));
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_wait_for_active(cinesis_client_t* client, const char* stream,
                                      int64_t timeout_ms) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    Status st = client->client->WaitForActive(
        stream, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)));
    CAPI_RETURN_IF_ERROR(st);
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_update_shard_count(cinesis_client_t* client, const char* stream, int target) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    api::UpdateShardCountInput in;
    in.stream = Ref(stream);
    in.target_shard_count = target;
    in.scaling_type = "UNIFORM_SCALING";
    auto r = client->client->UpdateShardCount(in);
    if (!r.ok()) return SetError(r.status());
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_describe_stream(cinesis_client_t* client, const char* stream, char** json) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    CINESIS_CHECK_ARG(json);
    api::DescribeStreamSummaryInput in;
    in.stream = Ref(stream);
    auto r = client->client->DescribeStreamSummary(in);
    if (!r.ok()) return SetError(r.status());
    std::string out;
    api::JsonWriter w(out);
    api::Encode(w, *r);
    *json = CopyString(out);
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_list_streams(cinesis_client_t* client, char** json) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(json);
    std::vector<std::string> names;
    api::ListStreamsInput in;
    for (;;) {
      auto r = client->client->ListStreams(in);
      if (!r.ok()) return SetError(r.status());
      names.insert(names.end(), r->stream_names.begin(), r->stream_names.end());
      if (!r->has_more_streams || r->stream_names.empty()) break;
      in = api::ListStreamsInput{};
      if (r->next_token) {
        in.next_token = r->next_token;
      } else {
        in.exclusive_start_stream_name = names.back();
      }
    }
    std::string out;
    api::JsonWriter w(out);
    w.BeginObject();
    w.Key("StreamNames");
    w.BeginArray();
    for (const auto& n : names) w.String(n);
    w.EndArray();
    w.EndObject();
    *json = CopyString(out);
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_list_shards(cinesis_client_t* client, const char* stream, char** json) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    CINESIS_CHECK_ARG(json);
    api::ListShardsOutput all;
    api::ListShardsInput in;
    in.stream = Ref(stream);
    for (;;) {
      auto r = client->client->ListShards(in);
      if (!r.ok()) return SetError(r.status());
      for (auto& s : r->shards) all.shards.push_back(std::move(s));
      if (!r->next_token) break;
      in = api::ListShardsInput{};  // a token goes alone
      in.next_token = r->next_token;
    }
    std::string out;
    api::JsonWriter w(out);
    api::Encode(w, all);
    *json = CopyString(out);
    return CINESIS_OK;
  });
}

cinesis_err_t cinesis_put_record(cinesis_client_t* client, const char* stream,
                                 const char* partition_key, const void* data, size_t data_len,
                                 const char* explicit_hash_key, char* shard_id,
                                 size_t shard_id_size, char* sequence_number,
                                 size_t sequence_number_size) {
  return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t {
    CINESIS_CHECK_HANDLE(client, kClientMagic, "cinesis_client_t");
    CINESIS_CHECK_ARG(stream);
    CINESIS_CHECK_ARG(partition_key);
    if (data_len != 0) CINESIS_CHECK_ARG(data);
    api::PutRecordInput in;
    in.stream = Ref(stream);
    in.partition_key = partition_key;
    if (data_len != 0) in.data.assign(static_cast<const char*>(data), data_len);
    if (explicit_hash_key != nullptr) in.explicit_hash_key = explicit_hash_key;
    auto r = client->client->PutRecord(in);
    if (!r.ok()) return SetError(r.status());
    CopyOut(r->shard_id, shard_id, shard_id_size);
    CopyOut(r->sequence_number, sequence_number, sequence_number_size);
    return CINESIS_OK;
  });
}

}  // extern "C"
