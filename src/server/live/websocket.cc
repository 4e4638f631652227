#include "server/live/websocket.h"

#include <spdlog/spdlog.h>

#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/live.h"
#include "api/pipeline.h"
#include "common/base64.h"
#include "server/live/console_routes.h"

namespace cinesis::server::detail {

namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using live::AppendJsonString;

namespace {

constexpr std::size_t kBatchRecords = 500;  // records per "records" message at most
// While this many messages wait to be sent, the session stops reading the client's requests.
constexpr std::size_t kMaxQueuedMessages = 256;

api::ShardIteratorType ParseFrom(std::string_view from, bool& ok) {
  ok = true;
  using T = api::ShardIteratorType;
  if (from == "LATEST") return T::kLatest;
  if (from == "TRIM_HORIZON") return T::kTrimHorizon;
  if (from == "AT_TIMESTAMP") return T::kAtTimestamp;
  if (from == "AT_SEQUENCE_NUMBER") return T::kAtSequenceNumber;
  if (from == "AFTER_SEQUENCE_NUMBER") return T::kAfterSequenceNumber;
  ok = false;
  return T::kLatest;
}

std::string ErrorMessage(std::string_view id, std::string_view code, std::string_view message) {
  std::string out = "{\"type\":\"error\",\"id\":";
  AppendJsonString(out, id);
  out += ",\"code\":";
  AppendJsonString(out, code);
  out += ",\"message\":";
  AppendJsonString(out, message);
  out += '}';
  return out;
}

template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Stream stream, std::shared_ptr<Shared> shared)
      : ws_(std::move(stream)), shared_(std::move(shared)), send_timer_(ws_.get_executor()) {
    shared_->connections.fetch_add(1);
  }
  ~WsSession() { shared_->connections.fetch_sub(1); }

  void Start(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = shared_->options.read_timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.read_message_max(shared_->options.max_body_bytes);
    auto r = std::make_shared<http::request<http::string_body>>(std::move(req));
    ws_.async_accept(*r, [self = this->shared_from_this(), r](beast::error_code ec) {
      if (ec) return;
      self->Read();
    });
  }

 private:
  struct ShardTail {
    std::unique_ptr<api::ShardCursor> cursor;
    bool ready = true;  // may have records: read it when there is room
    std::uint64_t generation = 0;
  };
  struct Tail {
    std::string stream;
    bool follow = true;  // all shards: follow splits and merges
    api::CursorStart start;
    std::map<std::string, ShardTail> shards;
    std::set<std::string> known;  // shards listed at the start or reached as children
    std::set<std::string> ended;
    std::set<std::string> started;
  };
  struct Out {
    std::string text;
    std::size_t records = 0;
    std::size_t bytes = 0;
    // A put's answer: the put counts as being answered until this message is written.
    std::shared_ptr<Shared::BusyToken> busy;
  };

  // ---- client requests ----
  void Read() {
    if (closed_) return;
    reading_ = true;
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->reading_ = false;
      // A message that arrives once the server stops is not taken (an HTTP connection reads
      // no request then either): a put would hold the stop's grace period open.
      if (ec || self->shared_->stopping) return self->Shutdown();
      const auto data = self->in_.cdata();
      std::string_view text(static_cast<const char*>(data.data()), data.size());
      self->OnMessage(text);
      self->in_.consume(self->in_.size());
      self->Pump();
      if (self->out_.size() < kMaxQueuedMessages) self->Read();
    });
  }

  void OnMessage(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object())
      return Send(ErrorMessage("", "SerializationException", "a message is one JSON object"));
    const auto& o = v.as_object();
    auto str = [&](std::string_view key) -> std::optional<std::string> {
      const auto* f = o.if_contains(key);
      if (!f || !f->is_string()) return std::nullopt;
      return std::string(f->as_string());
    };
    const std::string id = str("id").value_or("");
    const std::string op = str("op").value_or("");
    if (op == "tail") return StartTail(id, o);
    if (op == "stop") {
      tails_.erase(id);
      return;
    }
    if (op == "put") return Put(id, o);
    Send(ErrorMessage(id, "ValidationException", "op must be tail, stop or put"));
  }

  void StartTail(const std::string& id, const json::object& o) {
    auto str = [&](std::string_view key) -> std::optional<std::string> {
      const auto* f = o.if_contains(key);
      if (!f || !f->is_string()) return std::nullopt;
      return std::string(f->as_string());
    };
    if (id.empty() || tails_.count(id))
      return Send(ErrorMessage(id, "ValidationException", "a tail needs an id not in use"));
    auto stream = str("stream");
    if (!stream) return Send(ErrorMessage(id, "ValidationException", "stream is required"));
    bool ok = true;
    Tail tail;
    tail.stream = *stream;
    tail.start.stream = *stream;
    tail.start.type = ParseFrom(str("from").value_or("LATEST"), ok);
    if (!ok)
      return Send(ErrorMessage(id, "ValidationException",
                               "from must be LATEST, TRIM_HORIZON, AT_TIMESTAMP, "
                               "AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER"));
    tail.start.sequence_number = str("sequence");
    if (const auto* ts = o.if_contains("timestamp_ms"); ts && !ts->is_null()) {
      // Only an exact int64: to_number throws on 1.5, 1e400 or past 2^63 - 1.
      if (!ts->is_int64())
        return Send(ErrorMessage(id, "ValidationException",
                                 "timestamp_ms must be an integer (milliseconds since the epoch)"));
      tail.start.timestamp = ts->get_int64();
    }
    const auto only = str("shard");
    const bool by_sequence = tail.start.type == api::ShardIteratorType::kAtSequenceNumber ||
                             tail.start.type == api::ShardIteratorType::kAfterSequenceNumber;
    if (by_sequence && !only)
      return Send(ErrorMessage(id, "ValidationException",
                               "a sequence number belongs to one shard: give shard"));
    // The stream's shards (their lineage decides which are read first).
    std::vector<api::Shard> shards;
    api::ListShardsInput list;
    list.stream.stream_name = *stream;
    api::KinesisService& service =
        shared_->options.direct ? *shared_->options.direct : shared_->service;
    for (;;) {
      auto page = service.ListShards(list);
      if (!page.ok()) return Send(ErrorMessage(id, page.status().name(), page.status().message()));
      for (auto& s : page->shards) shards.push_back(std::move(s));
      if (!page->next_token) break;
      list = {};
      list.next_token = page->next_token;
    }
    std::vector<std::string> first;
    if (only) {
      tail.follow = false;
      first.push_back(*only);
    } else {
      for (const auto& s : shards) tail.known.insert(s.shard_id);
      for (const auto& s : shards) {
        if (tail.start.type == api::ShardIteratorType::kLatest) {
          // From now on: the open shards (new ones are reached as their children).
          if (!s.sequence_number_range.ending_sequence_number) first.push_back(s.shard_id);
          continue;
        }
        const bool has_parent =
            (s.parent_shard_id && tail.known.count(*s.parent_shard_id)) ||
            (s.adjacent_parent_shard_id && tail.known.count(*s.adjacent_parent_shard_id));
        if (!has_parent) first.push_back(s.shard_id);
      }
    }
    auto& t = tails_[id] = std::move(tail);
    for (const auto& shard : first) {
      if (!Open(id, t, shard, t.start)) {
        tails_.erase(id);
        return;
      }
    }
  }

  bool Open(const std::string& id, Tail& t, const std::string& shard, api::CursorStart start) {
    start.shard_id = shard;
    auto cursor = shared_->options.live->OpenCursor(start);
    if (!cursor.ok()) {
      Send(ErrorMessage(id, cursor.status().name(), cursor.status().message()));
      return false;
    }
    t.started.insert(shard);
    t.shards[shard].cursor = std::move(cursor).value();
    return true;
  }

  void Put(const std::string& id, const json::object& o) {
    const auto* stream = o.if_contains("stream");
    const auto* records = o.if_contains("records");
    if (!stream || !stream->is_string() || !records || !records->is_array())
      return Send(ErrorMessage(id, "ValidationException", "put needs stream and records"));
    // Through the Kinesis pipeline (validation, fault rules, error texts) as PutRecords.
    json::array list;
    for (const auto& r : records->as_array()) {
      if (!r.is_object())
        return Send(ErrorMessage(id, "ValidationException", "a record is a JSON object"));
      const auto& ro = r.as_object();
      json::object rec;
      if (const auto* k = ro.if_contains("key")) rec["PartitionKey"] = *k;
      if (const auto* d = ro.if_contains("data")) rec["Data"] = *d;
      if (const auto* h = ro.if_contains("explicit_hash_key")) rec["ExplicitHashKey"] = *h;
      list.push_back(std::move(rec));
    }
    json::object body;
    body["StreamName"] = *stream;
    body["Records"] = std::move(list);
    auto text = std::make_shared<std::string>(json::serialize(body));
    auto directive = std::make_shared<api::FaultDirective>();
    // A put counts as a request being answered (the server's stop gives it its grace period)
    // until its answer is written, as an HTTP request does.
    auto busy = std::make_shared<Shared::BusyToken>(shared_->Busy());
    RunDeferred(
        ws_.get_executor(),
        [&](api::DeferredAcks* acks) {
          api::ScopedFaultDirective scope(directive.get());
          api::WireRequest w;
          w.acks = acks;
          w.method = "POST";
          w.target = "Kinesis_20131202.PutRecords";
          w.content_type = "application/x-amz-json-1.1";
          // The connection was let in at the upgrade; the pipeline wants a signature's shape.
          static constexpr std::string_view kAuth =
              "AWS4-HMAC-SHA256 Credential=cinesis/20000101/us-east-1/kinesis/aws4_request, "
              "SignedHeaders=host, Signature=websocket";
          w.authorization = kAuth;
          w.has_amz_date = true;
          w.body = *text;
          return api::HandleRequest(w, shared_->service);
        },
        "application/x-amz-json-1.1",
        [self = this->shared_from_this(), id, text, directive, busy](api::WireResponse r,
                                                                     bool later) {
          auto finish = [self, id, directive, busy, r = std::move(r)]() mutable {
            self->PutAnswered(id, *directive, std::move(r), std::move(busy));
          };
          if (directive->latency_ms > 0) {
            auto timer = std::make_shared<asio::steady_timer>(self->ws_.get_executor());
            timer->expires_after(std::chrono::milliseconds(directive->latency_ms));
            timer->async_wait(
                [timer, finish = std::move(finish)](beast::error_code) mutable { finish(); });
            return;
          }
          if (later) return finish();
          // Answered at once, inside OnMessage: queue it like any other message.
          asio::post(self->ws_.get_executor(), std::move(finish));
        });
  }

  void PutAnswered(const std::string& id, const api::FaultDirective& d, api::WireResponse r,
                   std::shared_ptr<Shared::BusyToken> busy) {
    if (d.reset) return Abort();
    if (d.http_status) return Send(ErrorMessage(id, d.error_type, d.error_message), busy);
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec || !v.is_object())
      return Send(ErrorMessage(id, "InternalFailure", api::errors::InternalFailure().message()),
                  busy);
    const auto& o = v.as_object();
    if (r.status != 200) {
      std::string type, message;
      if (const auto* t = o.if_contains("__type"); t && t->is_string()) type = t->as_string();
      if (const auto* m = o.if_contains("message"); m && m->is_string()) message = m->as_string();
      if (auto hash = type.find('#'); hash != std::string::npos) type = type.substr(hash + 1);
      return Send(ErrorMessage(id, type, message), busy);
    }
    std::string out = "{\"type\":\"put_result\",\"id\":";
    AppendJsonString(out, id);
    out += ",\"records\":[";
    bool first = true;
    if (const auto* recs = o.if_contains("Records"); recs && recs->is_array()) {
      for (const auto& e : recs->as_array()) {
        if (!first) out += ',';
        first = false;
        const auto& eo = e.as_object();
        auto get = [&](std::string_view k) -> std::string {
          const auto* f = eo.if_contains(k);
          return f && f->is_string() ? std::string(f->as_string()) : std::string();
        };
        if (eo.contains("ErrorCode")) {
          out += "{\"error_code\":";
          AppendJsonString(out, get("ErrorCode"));
          out += ",\"error_message\":";
          AppendJsonString(out, get("ErrorMessage"));
        } else {
          out += "{\"shard\":";
          AppendJsonString(out, get("ShardId"));
          out += ",\"seq\":";
          AppendJsonString(out, get("SequenceNumber"));
        }
        out += '}';
      }
    }
    out += "]}";
    Send(std::move(out), std::move(busy));
    Pump();
  }

  // ---- pushing records ----
  bool HasRoom() const {
    return queued_records_ < shared_->options.ws_queue_records &&
           queued_bytes_ < shared_->options.ws_queue_bytes;
  }

  void Pump() {
    if (closed_ || pumping_) return;
    pumping_ = true;
    bool progress = true;
    while (progress && HasRoom()) {
      progress = false;
      for (auto tit = tails_.begin(); tit != tails_.end() && HasRoom();) {
        const std::string id = tit->first;
        Tail& t = tit->second;
        bool failed = false;
        std::vector<std::pair<std::string, std::vector<api::ChildShard>>> ends;
        for (auto& [shard, st] : t.shards) {
          if (!st.ready || !HasRoom()) continue;
          const std::size_t room_records =
              std::min(kBatchRecords, shared_->options.ws_queue_records - queued_records_);
          auto b = st.cursor->Next(room_records, shared_->options.ws_queue_bytes - queued_bytes_);
          if (!b.ok()) {
            Send(ErrorMessage(id, b.status().name(), b.status().message()));
            failed = true;
            break;
          }
          if (!b->records.empty()) {
            SendRecords(id, shard, b->records);
            progress = true;
          }
          if (b->child_shards) {
            ends.emplace_back(shard, std::move(*b->child_shards));
            progress = true;
          } else if (b->records.empty()) {
            st.ready = false;
            Arm(id, shard, st);
          }
        }
        if (failed) {
          tit = tails_.erase(tit);
          continue;
        }
        for (auto& [shard, children] : ends) {
          SendShardEnd(id, shard, children);
          t.shards.erase(shard);
          t.ended.insert(shard);
          if (!t.follow) continue;
          for (const auto& c : children) t.known.insert(c.shard_id);
          for (const auto& c : children) {
            if (t.started.count(c.shard_id)) continue;
            bool parents_done = true;
            for (const auto& p : c.parent_shards)
              if (t.known.count(p) && !t.ended.count(p)) parents_done = false;
            if (!parents_done) continue;
            api::CursorStart start = t.start;
            start.sequence_number.reset();
            if (start.type != api::ShardIteratorType::kAtTimestamp)
              start.type = api::ShardIteratorType::kTrimHorizon;
            if (!Open(id, t, c.shard_id, start)) failed = true;
          }
        }
        if (failed) {
          tit = tails_.erase(tit);
          continue;
        }
        ++tit;
      }
    }
    pumping_ = false;
    Write();
  }

  void Arm(const std::string& id, const std::string& shard, ShardTail& st) {
    st.generation = ++generation_;
    std::weak_ptr<WsSession> weak = this->shared_from_this();
    st.cursor->NotifyOnAppend([weak, id, shard, gen = st.generation] {
      if (auto s = weak.lock()) {
        asio::post(s->ws_.get_executor(), [s, id, shard, gen] { s->OnAppend(id, shard, gen); });
      }
    });
  }

  void OnAppend(const std::string& id, const std::string& shard, std::uint64_t gen) {
    auto t = tails_.find(id);
    if (t == tails_.end()) return;
    auto st = t->second.shards.find(shard);
    if (st == t->second.shards.end() || st->second.generation != gen) return;
    st->second.ready = true;
    Pump();
  }

  void SendRecords(const std::string& id, const std::string& shard,
                   const std::vector<api::Record>& records) {
    std::string out = "{\"type\":\"records\",\"id\":";
    AppendJsonString(out, id);
    out += ",\"records\":[";
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      if (i) out += ',';
      out += "{\"shard\":";
      AppendJsonString(out, shard);
      out += ",\"seq\":\"" + r.sequence_number + "\",\"key\":";
      AppendJsonString(out, r.partition_key);
      out += ",\"time_ms\":" + std::to_string(r.approximate_arrival_timestamp) + ",\"data\":\"";
      Base64Encode(r.data, out);
      out += "\"}";
      bytes += r.data.size() + r.partition_key.size();
    }
    out += "]}";
    Enqueue({std::move(out), records.size(), bytes, nullptr});
  }

  void SendShardEnd(const std::string& id, const std::string& shard,
                    const std::vector<api::ChildShard>& children) {
    std::string out = "{\"type\":\"shard_end\",\"id\":";
    AppendJsonString(out, id);
    out += ",\"shard\":";
    AppendJsonString(out, shard);
    out += ",\"children\":[";
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, children[i].shard_id);
    }
    out += "]}";
    Enqueue({std::move(out), 0, 0, nullptr});
  }

  // ---- the send queue ----
  void Send(std::string text, std::shared_ptr<Shared::BusyToken> busy = nullptr) {
    Enqueue({std::move(text), 0, 0, std::move(busy)});
    Write();
  }
  void Enqueue(Out o) {
    queued_records_ += o.records;
    queued_bytes_ += o.bytes;
    out_.push_back(std::move(o));
  }

  void Write() {
    if (closed_ || writing_ || out_.empty()) return;
    writing_ = true;
    ws_.text(true);
    send_timer_.expires_after(shared_->options.ws_send_timeout);
    send_timer_.async_wait(
        [weak = std::weak_ptr<WsSession>(this->shared_from_this())](beast::error_code ec) {
          if (ec) return;  // the write completed (or the session is closing)
          if (auto s = weak.lock()) {
            spdlog::info("websocket client did not accept a message for {} ms: closing",
                         s->shared_->options.ws_send_timeout.count());
            s->Abort();
          }
        });
    ws_.async_write(asio::buffer(out_.front().text),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->send_timer_.cancel();
                      if (ec) return self->Shutdown();
                      const Out& done = self->out_.front();
                      self->queued_records_ -= done.records;
                      self->queued_bytes_ -= done.bytes;
                      self->out_.pop_front();
                      self->Pump();
                      if (!self->reading_ && self->out_.size() < kMaxQueuedMessages / 2)
                        self->Read();
                    });
  }

  void Shutdown() {
    closed_ = true;
    send_timer_.cancel();
    tails_.clear();
    out_.clear();
  }
  // Cuts the connection (a client that stopped reading, or an injected reset).
  void Abort() {
    Shutdown();
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.set_option(asio::socket_base::linger(true, 0), ec);
    sock.close(ec);
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<Shared> shared_;
  asio::steady_timer send_timer_;
  beast::flat_buffer in_;
  std::deque<Out> out_;
  std::size_t queued_records_ = 0;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool pumping_ = false;
  bool closed_ = false;
  std::uint64_t generation_ = 0;
  std::map<std::string, Tail> tails_;
};

}  // namespace

void StartWebSocket(TcpStream stream, http::request<http::string_body> req,
                    std::shared_ptr<Shared> shared) {
  std::make_shared<WsSession<TcpStream>>(std::move(stream), std::move(shared))
      ->Start(std::move(req));
}

void StartWebSocket(TlsStream stream, http::request<http::string_body> req,
                    std::shared_ptr<Shared> shared) {
  std::make_shared<WsSession<TlsStream>>(std::move(stream), std::move(shared))
      ->Start(std::move(req));
}

}  // namespace cinesis::server::detail
