#include "api/pipeline.h"

#include <array>
#include <bit>
#include <boost/json.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>

#include "api/cbor.h"
#include "api/codec.h"
#include "api/errors.h"
#include "api/model.h"
#include "api/validate.h"

namespace cinesis::api {
namespace {

constexpr std::string_view kJson11 = "application/x-amz-json-1.1";
constexpr std::string_view kCbor11 = "application/x-amz-cbor-1.1";
constexpr std::string_view kPlainJson = "application/json";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

WireResponse XmlError(int status, std::string_view type, std::string_view message) {
  WireResponse r;
  r.status = status;
  if (message.empty()) {
    r.body = "<" + std::string(type) + "/>\n";
  } else {
    r.body = "<" + std::string(type) + ">\n  <Message>" + std::string(message) + "</Message>\n</" +
             std::string(type) + ">\n";
  }
  return r;
}

// The hard cap on an error message (validation messages echo up to ten values of up to
// 32 KiB each): longer ones are cut, then "...". docs/security.md.
std::string CappedMessage(std::string_view m) {
  if (m.size() <= kMaxErrorMessageBytes) return std::string(m);
  std::size_t cut = kMaxErrorMessageBytes;
  while (cut > 0 && (static_cast<unsigned char>(m[cut]) & 0xC0) == 0x80) --cut;
  return std::string(m.substr(0, cut)) + "...";
}

// `type`: the wire type when it is not the code's name (UnrecognizedClientException).
WireResponse JsonError(const Status& st, std::string_view type = {}) {
  WireResponse r;
  r.status = HttpStatusFor(st.code());
  r.content_type = std::string(kJson11);
  std::string& b = r.body;
  JsonWriter w(b);
  w.BeginObject();
  w.Key("__type");
  w.String(type.empty() ? st.name() : type);
  if (!st.message().empty()) {
    // SerializationException uses a capital "Message", everything else "message".
    w.Key(st.code() == Code::kSerialization ? "Message" : "message");
    w.String(CappedMessage(st.message()));
  }
  w.EndObject();
  return r;
}

WireResponse CborError(const Status& st, std::string_view type = {}) {
  WireResponse r;
  r.status = HttpStatusFor(st.code());
  r.content_type = std::string(kCbor11);
  boost::json::object o;
  o["__type"] = type.empty() ? st.name() : type;
  if (!st.message().empty())
    o[st.code() == Code::kSerialization ? "Message" : "message"] = CappedMessage(st.message());
  r.body = JsonToCbor(o, nullptr);
  return r;
}

WireResponse CborTypeOnly(std::string_view type) {
  // {"__type": type} as an indefinite-length CBOR map, as the service sends it.
  WireResponse r;
  r.status = 400;
  r.content_type = std::string(kCbor11);
  std::string& b = r.body;
  b += '\xbf';
  b += '\x66';
  b += "__type";
  if (type.size() < 24) {
    b += static_cast<char>(0x60 + type.size());
  } else {
    b += '\x78';
    b += static_cast<char>(type.size());
  }
  b += type;
  b += '\xff';
  return r;
}

// Splits "Service.Operation".
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  auto dot = target.find('.');
  if (dot == std::string_view::npos) return {target, {}};
  auto op = target.substr(dot + 1);
  if (auto dot2 = op.find('.'); dot2 != std::string_view::npos) op = op.substr(0, dot2);
  return {target.substr(0, dot), op};
}

bool QueryHas(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    auto k = part.substr(0, eq);
    auto v = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (k == key && !v.empty()) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}
bool QueryHasKey(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    if (part.substr(0, part.find('=')) == key) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

// The position of the first ',' or ' ' in `h` at or after `i` (h.size() when none). Eight bytes
// at a time (find_first_of costs a memchr per character): in a word, the lowest byte flagged by
// the zero-byte test is the first that matches (only bytes above a match can be flagged
// wrongly).
std::size_t NextSeparator(std::string_view h, std::size_t i) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  auto zero_bytes = [](std::uint64_t w) { return (w - kOnes) & ~w & kHighs; };
  if constexpr (std::endian::native == std::endian::little) {
    while (h.size() - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, h.data() + i, sizeof w);
      const std::uint64_t m = zero_bytes(w ^ (kOnes * ',')) | zero_bytes(w ^ (kOnes * ' '));
      if (m != 0) return i + static_cast<std::size_t>(std::countr_zero(m) / 8);
      i += 8;
    }
  }
  while (i < h.size() && h[i] != ',' && h[i] != ' ') ++i;
  return i;
}

Status CheckAuth(const WireRequest& req) {
  const bool query_auth = QueryHasKey(req.query, "X-Amz-Algorithm");
  if (req.authorization && query_auth) {
    return {
        Code::kInvalidSignature,
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."};
  }
  if (!req.authorization && !query_auth) {
    return errors::MissingAuthenticationToken();
  }
  std::string msg;
  if (req.authorization) {
    std::string_view h = *req.authorization;
    // Parameters follow the algorithm name, separated by commas and/or spaces. Only these
    // three are looked at; a repeated one counts with its last value.
    static constexpr std::array<std::string_view, 3> kRequired = {"Credential", "Signature",
                                                                  "SignedHeaders"};
    std::array<std::optional<std::string_view>, 3> params;
    bool first = true;
    std::size_t i = 0;
    while (i <= h.size()) {
      const std::size_t j = NextSeparator(h, i);
      auto tok = h.substr(i, j - i);
      if (!tok.empty()) {
        if (!first) {
          auto eq = tok.find('=');
          auto key = tok.substr(0, eq);
          std::string_view val;
          if (eq != std::string_view::npos) {
            val = tok.substr(eq + 1);
            if (auto eq2 = val.find('='); eq2 != std::string_view::npos) val = val.substr(0, eq2);
          }
          for (std::size_t k = 0; k < kRequired.size(); ++k) {
            if (key == kRequired[k]) params[k] = val;
          }
        }
        first = false;
      }
      i = j + 1;
    }
    for (std::size_t k = 0; k < kRequired.size(); ++k) {
      if (!params[k] || params[k]->empty()) {
        msg += "Authorization header requires '" + std::string(kRequired[k]) + "' parameter. ";
      }
    }
    if (!req.has_amz_date) {
      msg +=
          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
    }
    if (!msg.empty()) msg += "Authorization=" + std::string(h);
  } else {
    for (std::string_view p : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                               "X-Amz-SignedHeaders", "X-Amz-Date"}) {
      if (!QueryHas(req.query, p))
        msg += "AWS query-string parameters must include '" + std::string(p) + "'. ";
    }
    if (!msg.empty()) msg += "Re-examine the query-string parameters.";
  }
  if (!msg.empty()) return {Code::kIncompleteSignature, std::move(msg)};
  return Status::Ok();
}

// The caller's checks, after the body's syntax and before its types: the presence of the
// authentication parameters, then the signature when the server verifies them. The error
// answer, or nothing when the caller passes.
std::optional<WireResponse> CheckCaller(const WireRequest& req, bool is_cbor) {
  if (Status st = CheckAuth(req); !st.ok()) return is_cbor ? CborError(st) : JsonError(st);
  if (req.verifier != nullptr) {
    const SignedRequest signed_req{req.method, req.path, req.query, req.headers, req.body};
    if (Status st = req.verifier->Verify(signed_req); !st.ok()) {
      // The verifier's only kAccessDenied is UnrecognizedClient.
      const std::string_view type =
          st.code() == Code::kAccessDenied ? errors::kUnrecognizedClientType : std::string_view{};
      return is_cbor ? CborError(st, type) : JsonError(st, type);
    }
  }
  return std::nullopt;
}

// The answer to a JSON 1.1 request a fast decoder read: the caller's checks, then `invoke`,
// which writes the response body, with the request's deferred acknowledgements in scope.
template <class Invoke>
WireResponse FastAnswer(const WireRequest& req, Invoke invoke) {
  if (auto denied = CheckCaller(req, false)) return std::move(*denied);
  WireResponse r;
  r.content_type = std::string(kJson11);
  Status st;
  {
    ScopedDeferredAcks scope(req.acks);
    st = invoke(r.body);
  }
  if (!st.ok()) return JsonError(st);
  return r;
}

WireResponse Dispatch(const WireRequest& req, KinesisService& service) {
  const std::string_view content_type =
      Trim(req.content_type.substr(0, req.content_type.find(';')));
  const bool is_json11 = content_type == kJson11;
  const bool is_plain_json = content_type == kPlainJson;
  const bool content_valid = is_json11 || is_plain_json;

  auto [svc, op_name] = SplitTarget(req.target);
  const Model& model = Model::Get();
  const Operation* op = svc == model.target_prefix() ? model.FindOperation(op_name) : nullptr;

  if (req.body.empty()) {
    if (is_json11) {
      return JsonError(Status(op ? Code::kSerialization : Code::kUnknownOperation, ""));
    }
    return CborTypeOnly(op ? "SerializationException" : "UnknownOperationException");
  }
  const bool is_cbor = content_type == kCbor11;
  if (!content_valid && !is_cbor) {
    if (svc.empty() || op_name.empty()) {
      return XmlError(403, "AccessDeniedException",
                      "Unable to determine service/operation name to be authorized");
    }
    return XmlError(404, "UnknownOperationException", "");
  }
  auto fail = [is_cbor](const Status& st) { return is_cbor ? CborError(st) : JsonError(st); };

  // PutRecord in JSON without a document when its body is plain (DecodePutRecordFast): a body
  // it accepts is one the generic path below accepts, decoded to the same input, so only the
  // caller's checks remain. Any other body takes the generic path, which words the errors.
  if (is_json11 && op != nullptr && op->input != nullptr && op->name == "PutRecord") {
    // One input per thread: its strings keep their capacity from request to request.
    thread_local PutRecordInput in;
    struct Shrink {  // a large record's buffer is not kept
      ~Shrink() {
        if (in.data.capacity() > 64 * 1024) std::string().swap(in.data);
      }
    } shrink;
    if (DecodePutRecordFast(req.body, *op->input, in)) {
      return FastAnswer(req, [&](std::string& out) { return InvokePutRecord(in, service, out); });
    }
  }

  // PutRecords likewise (DecodePutRecordsFast), when the service takes views of the records.
  if (is_json11 && op != nullptr && op->input != nullptr && op->name == "PutRecords") {
    if (auto* batch = dynamic_cast<BatchDataPlane*>(&service)) {
      thread_local PutRecordsFastInput in;
      struct Shrink {  // a large request's buffers are not kept
        ~Shrink() {
          if (in.data.capacity() > 1024 * 1024) std::string().swap(in.data);
          if (in.scratch.capacity() > 64 * 1024) std::string().swap(in.scratch);
        }
      } shrink;
      if (DecodePutRecordsFast(req.body, *op->input, in)) {
        return FastAnswer(
            req, [&](std::string& out) { return InvokePutRecordsBatch(in.views, *batch, out); });
      }
    }
  }

  boost::json::monotonic_resource mr;
  boost::json::value doc(&mr);  // same storage as the parse: moving into it copies nothing
  bool parsed = false;
  if (is_cbor) {
    auto converted = CborToJson(req.body, &mr);
    if (converted.ok() && converted->is_object()) {
      doc = std::move(converted).value();
      parsed = true;
    }
  } else {
    boost::json::parse_options opts;
    opts.max_depth = 64;
    boost::json::error_code ec;
    doc = boost::json::parse(req.body, ec, &mr, opts);
    parsed = !ec && doc.is_object();
  }
  // application/json only ever gets coral's envelope, as recorded against AWS (issue 17):
  // 400 SerializationException for a body that is not a JSON object, else 404
  // UnknownOperationException, neither with a message member.
  if (!parsed) {
    if (is_plain_json) {
      WireResponse r;
      r.status = 400;
      r.content_type = std::string(kPlainJson);
      r.body =
          R"({"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"})";
      return r;
    }
    return fail(Status(Code::kSerialization, ""));
  }
  if (is_plain_json) {
    WireResponse r;
    r.status = 404;
    r.content_type = std::string(kPlainJson);
    r.body =
        R"({"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"})";
    return r;
  }
  if (op == nullptr) return fail(Status(Code::kUnknownOperation, ""));
  if (auto denied = CheckCaller(req, is_cbor)) return std::move(*denied);

  auto& body = doc.get_object();
  if (op->input != nullptr) {
    if (Status st = CheckTypes(*op->input, body); !st.ok()) return fail(st);
    if (Status st = CheckConstraints(*op->input, body); !st.ok()) return fail(st);
  }
  WireResponse r;
  if (op->name == "SubscribeToShard") {
    if (req.subscribe == nullptr) {
      return fail(Status(Code::kUnknownOperation, "SubscribeToShard needs a streaming transport."));
    }
    *req.subscribe = DecodeSubscribeToShard(body);
    r.status = 0;
    return r;
  }
  r.content_type = std::string(is_cbor ? kCbor11 : kJson11);
  Status st;
  {
    ScopedDeferredAcks scope(req.acks);
    st = InvokeJson(op->name, body, service, r.body);
  }
  if (!st.ok()) return fail(st);
  if (is_cbor && !r.body.empty()) {
    boost::json::value out = boost::json::parse(r.body);
    r.body = JsonToCbor(out, op->output);
  }
  return r;
}

}  // namespace

WireResponse ErrorResponse(const Status& st, std::string_view content_type) {
  return Trim(content_type.substr(0, content_type.find(';'))) == kCbor11 ? CborError(st)
                                                                         : JsonError(st);
}

bool IsKnownOperation(std::string_view name) { return Model::Get().FindOperation(name) != nullptr; }

WireResponse HandleRequest(const WireRequest& req, KinesisService& service) {
  WireResponse r;
  bool preflight = false;
  const bool cors = req.origin && req.cors_allow_origin;
  if (cors) {
    if (req.method == "OPTIONS") {
      preflight = true;
      r.preflight = true;
      r.status = 200;
      if (!req.cors_request_headers.empty()) {
        r.headers.emplace_back("Access-Control-Allow-Headers",
                               std::string(req.cors_request_headers));
      }
      if (!req.cors_request_method.empty()) {
        r.headers.emplace_back("Access-Control-Allow-Methods",
                               std::string(req.cors_request_method));
      }
      r.headers.emplace_back("Access-Control-Max-Age", "172800");
    }
  }
  if (!preflight) {
    if (req.method != "POST") {
      r = XmlError(403, "AccessDeniedException",
                   "Unable to determine service/operation name to be authorized");
    } else {
      try {
        r = Dispatch(req, service);
      } catch (const std::exception& e) {
        r = JsonError(Status(Code::kInternalFailure, ""));
      }
    }
  }
  if (cors) {
    r.headers.emplace_back("Access-Control-Allow-Origin", std::string(*req.cors_allow_origin));
    if (*req.cors_allow_origin != "*") r.headers.emplace_back("Vary", "Origin");
    if (!preflight) {
      r.headers.emplace_back("Access-Control-Expose-Headers",
                             "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,"
                             "x-amzn-ErrorMessage,Date");
    }
  }
  return r;
}

}  // namespace cinesis::api
