// HTTP/2 server sessions: nghttp2 does the framing, HPACK and flow control; this file
// drives it from the connection's Asio strand (one read loop, at most one write in
// flight) and turns each stream into an api::WireRequest for the same pipeline as
// HTTP/1.1. SubscribeToShard streams its events as DATA frames of one response.
#include "server/http2_session.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>

#include "api/codec.h"
#include "api/eventstream.h"
#include "api/pipeline.h"
#include "common/base64.h"
#include "common/random.h"
#include "server/browser_guard.h"
#include "server/subscription_pump.h"

namespace cinesis::server::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int32_t kStreamWindow = 1 << 20;
constexpr std::int32_t kConnectionWindow = 16 << 20;
constexpr std::size_t kMaxWriteChunk = 256 * 1024;

struct H2Stream {
  H2Stream(std::int32_t i, const asio::any_io_executor& ex) : id(i), heartbeat(ex) {}
  std::int32_t id;
  Clock::time_point started = Clock::now();
  // The request.
  std::string method, path, content_type, target, authorization, origin, acrh, acrm, authority;
  bool has_authorization = false, has_origin = false, has_date = false;
  std::size_t header_bytes = 0;
  std::string body;
  bool rejected = false;    // answered early (413): the rest of the body is ignored
  bool dispatched = false;  // handed to the pipeline
  bool closed = false;      // nghttp2 closed the stream
  // From dispatch until the answer is back on the strand: the request may run off the strand
  // (worker or heavy-request pool), which reads its fields (body included), or wait for the
  // disk. Meanwhile none is freed, and `busy` is kept when the stream closes (the server's
  // stop waits for it), until the answer comes back.
  bool running = false;
  std::optional<api::SubscribeToShardInput> subscribe;
  // The response body: `out` from `out_off`; `out_eof` once nothing more will come.
  std::string out;
  std::size_t out_off = 0;
  bool out_eof = false;
  // SubscribeToShard.
  std::optional<SubscriptionPump> pump;
  asio::steady_timer heartbeat;
  bool pump_posted = false;
  detail::Shared::BusyToken busy;  // from dispatch until answered (or closed)
  // Budgets (docs/security.md): `out` bytes counted in the connection's and the server's
  // queued response bytes; body bytes not yet given back to the connection's flow-control
  // window (nor subtracted from the server's buffered body bytes); when data last went out.
  std::size_t queued = 0;
  std::size_t unconsumed = 0;
  Clock::time_point last_send = Clock::now();
  bool waiting = false;  // complete, waiting for the response budget to run

  // Every header as received, for signature verification (only with --auth).
  std::vector<std::pair<std::string, std::string>> all_headers;
  // ":authority" is kept under its name (the JS SDK v3 signs it) and, without a Host header,
  // also as "host" (what other clients sign).
  void KeepHeader(std::string_view n, std::string_view v) {
    if (!n.empty() && n.front() == ':' && n != ":authority") return;
    all_headers.emplace_back(n, v);
  }

  void AddHeader(std::string_view n, std::string_view v) {
    if (n == ":method")
      method = v;
    else if (n == ":path")
      path = v;
    else if (n == "content-type")
      content_type = v;
    else if (n == "x-amz-target")
      target = v;
    else if (n == "authorization")
      authorization = v, has_authorization = true;
    else if (n == "x-amz-date" || n == "date")
      has_date = true;
    else if (n == "origin")
      origin = v, has_origin = true;
    else if (n == ":authority" || (n == "host" && authority.empty()))
      authority = v;
    else if (n == "access-control-request-headers")
      acrh = v;
    else if (n == "access-control-request-method")
      acrm = v;
  }
};

std::string Lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
                    const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())),
                    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

template <class Stream>
class Http2Session : public std::enable_shared_from_this<Http2Session<Stream>> {
 public:
  Http2Session(Stream stream, std::shared_ptr<Shared> shared)
      : stream_(std::move(stream)), shared_(std::move(shared)), check_(stream_.get_executor()) {}

  ~Http2Session() {
    if (session_) nghttp2_session_del(session_);
  }

  void Start(beast::flat_buffer initial, std::optional<H2Upgrade> upgrade) {
    beast::get_lowest_layer(stream_).expires_never();
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnDataChunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrameRecv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, &OnFrameSend);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    // Our own cap on the header list (the SETTINGS value is only advisory to peers).
    nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
    // The connection's window reopens only as requests are dispatched (ReleaseBody), so a
    // connection holds at most its window of undispatched request bodies.
    nghttp2_option_set_no_auto_window_update(opt, 1);
    const int rv = nghttp2_session_server_new2(&session_, cb, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) {
      session_ = nullptr;
      return Close();
    }
    const auto& o = shared_->options;
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o.h2_max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o.max_header_bytes},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, ConnectionWindow());
    last_activity_ = Clock::now();

    if (upgrade) {
      auto st = std::make_shared<H2Stream>(1, stream_.get_executor());
      for (auto& [n, v] : upgrade->headers) {
        st->AddHeader(n, v);
        if (shared_->options.verifier) st->KeepHeader(n, v);
      }
      st->body = std::move(upgrade->body);
      if (nghttp2_session_upgrade2(
              session_, reinterpret_cast<const std::uint8_t*>(upgrade->settings.data()),
              upgrade->settings.size(), upgrade->head ? 1 : 0, st.get()) != 0) {
        return Close();
      }
      streams_[1] = st;
      Dispatch(st);
    }
    if (initial.size() > 0) {
      auto data = initial.data();
      const auto n = nghttp2_session_mem_recv(
          session_, static_cast<const std::uint8_t*>(data.data()), data.size());
      if (n < 0) return Close();
    }
    Flush();
    if (closed_) return;
    DoRead();
    Check();
  }

 private:
  using Self = Http2Session<Stream>;

  // The connection's flow-control window: one request of the largest size and a stream
  // window more, at least the former fixed 16 MiB.
  std::int32_t ConnectionWindow() const {
    const std::size_t w = std::clamp<std::size_t>(
        shared_->options.max_body_bytes + static_cast<std::size_t>(kStreamWindow),
        static_cast<std::size_t>(kConnectionWindow), std::size_t{0x7fffffff});
    return static_cast<std::int32_t>(w);
  }

  // ---- budgets ----
  void AddQueued(H2Stream& st, std::size_t n) {
    if (st.queued == 0) st.last_send = Clock::now();  // the write timeout starts now
    st.queued += n;
    conn_queued_ += n;
    shared_->queued_response_bytes += n;
  }
  void SubQueued(H2Stream& st, std::size_t n) {
    n = std::min(n, st.queued);
    st.queued -= n;
    conn_queued_ -= n;
    shared_->queued_response_bytes -= n;
  }
  // Gives the stream's buffered body back to the budgets and its bytes back to the
  // connection's window (WINDOW_UPDATE).
  void ReleaseBody(H2Stream& st) {
    if (st.unconsumed == 0) return;
    shared_->buffered_body_bytes -= st.unconsumed;
    if (session_ && !closed_) nghttp2_session_consume_connection(session_, st.unconsumed);
    st.unconsumed = 0;
  }
  // Frees what a stream holds when it ends (closed or reset).
  void Forget(H2Stream& st) {
    ReleaseBody(st);
    SubQueued(st, st.queued);
    st.out.clear();
    st.out.shrink_to_fit();
    if (st.running) return;  // the pool reads it; freed with the stream
    st.body.clear();
    st.body.shrink_to_fit();
  }
  bool CanDispatch() const {
    const auto& o = shared_->options;
    return conn_queued_ < o.max_connection_response_bytes &&
           shared_->queued_response_bytes.load() < o.max_queued_response_bytes;
  }
  // A complete request: run it now, or once responses have drained below the budgets.
  void Ready(const std::shared_ptr<H2Stream>& st) {
    if (waiting_.empty() && CanDispatch()) return Dispatch(st);
    st->waiting = true;
    waiting_.push_back(st);
  }
  void DispatchWaiting() {
    while (!waiting_.empty() && CanDispatch() && !closed_) {
      auto st = std::move(waiting_.front());
      waiting_.pop_front();
      st->waiting = false;
      if (!st->closed) Dispatch(st);
    }
  }

  // ---- I/O ----
  void DoRead() {
    stream_.async_read_some(asio::buffer(rbuf_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->OnRead(ec, n);
                            });
  }

  void OnRead(beast::error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec) return Close();
    last_activity_ = Clock::now();
    const auto rv = nghttp2_session_mem_recv(session_, rbuf_.data(), n);
    if (rv < 0) {
      spdlog::debug("http2: {}", nghttp2_strerror(static_cast<int>(rv)));
      Flush();  // a GOAWAY may be queued
      return Close();
    }
    DispatchWaiting();  // a reset stream may have freed its share of the budgets
    Flush();
    if (!closed_) DoRead();
  }

  void Flush() {
    if (closed_ || writing_) return;
    wbuf_.clear();
    while (wbuf_.size() < kMaxWriteChunk) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return Close();
      if (n == 0) break;
      wbuf_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (wbuf_.empty()) {
      if ((!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) ||
          (goaway_ && streams_.empty())) {
        Close();
      }
      return;
    }
    writing_ = true;
    write_started_ = Clock::now();
    asio::async_write(stream_, asio::buffer(wbuf_),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return self->Close();
                        self->DispatchWaiting();
                        self->Flush();
                      });
  }

  // Timeouts and graceful stop, checked periodically.
  void Check() {
    const auto& o = shared_->options;
    auto period = std::min(o.idle_timeout, o.read_timeout) / 4;
    period = std::clamp(period, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    check_.expires_after(period);
    check_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      self->OnCheck();
      if (!self->closed_) self->Check();
    });
  }

  void OnCheck() {
    const auto& o = shared_->options;
    const auto now = Clock::now();
    if (writing_ && now - write_started_ > o.write_timeout) return Close();
    if (shared_->stopping && !goaway_) {
      goaway_ = true;
      nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                            nullptr, 0);
      for (auto& [id, st] : streams_) {
        if (st->pump) Wake(st, st->pump->generation());  // ends the event stream
      }
    }
    if (streams_.empty() && now - last_activity_ > o.idle_timeout && !goaway_) {
      goaway_ = true;
      nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                            nullptr, 0);
    }
    // A request must arrive whole within the read timeout.
    for (auto& [id, st] : streams_) {
      if (!st->dispatched && !st->rejected && !st->waiting && now - st->started > o.read_timeout) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      }
      // Response data that made no progress within the write timeout (a peer that keeps
      // the stream's window at zero): reset the stream and free what it holds.
      if (st->out.size() > st->out_off && now - st->last_send > o.write_timeout) {
        spdlog::debug("http2: stream {} made no send progress in {} ms; reset", id,
                      o.write_timeout.count());
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        Forget(*st);
        st->pump.reset();
        st->heartbeat.cancel();
      }
    }
    DispatchWaiting();
    Flush();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    check_.cancel();
    for (auto& [id, st] : streams_) {
      st->closed = true;
      st->heartbeat.cancel();
      st->pump.reset();
      Forget(*st);
    }
    streams_.clear();
    waiting_.clear();
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(stream_).socket();
    sock.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    sock.close(ec);
  }

  // ---- nghttp2 callbacks ----
  static H2Stream* StreamOf(nghttp2_session* s, std::int32_t id) {
    return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(s, id));
  }

  static int OnBeginHeaders(nghttp2_session* s, const nghttp2_frame* f, void* ud) {
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto* self = static_cast<Self*>(ud);
    auto st = std::make_shared<H2Stream>(f->hd.stream_id, self->stream_.get_executor());
    self->streams_[f->hd.stream_id] = st;
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st.get());
    return 0;
  }

  static int OnHeader(nghttp2_session* s, const nghttp2_frame* f, const std::uint8_t* name,
                      std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                      std::uint8_t, void* ud) {
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto* st = StreamOf(s, f->hd.stream_id);
    if (!st) return 0;
    st->header_bytes += namelen + valuelen + 32;  // RFC 9113 6.5.2's accounting
    if (st->header_bytes > static_cast<Self*>(ud)->shared_->options.max_header_bytes) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM
    }
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    st->AddHeader(n, v);
    if (static_cast<Self*>(ud)->shared_->options.verifier) st->KeepHeader(n, v);
    return 0;
  }

  static int OnDataChunk(nghttp2_session* s, std::uint8_t, std::int32_t id,
                         const std::uint8_t* data, std::size_t len, void* ud) {
    auto* self = static_cast<Self*>(ud);
    const auto& o = self->shared_->options;
    // The stream's own window reopens as data arrives (a body may be up to max_body_bytes);
    // the connection's only as requests are dispatched.
    nghttp2_session_consume_stream(s, id, len);
    auto* st = StreamOf(s, id);
    if (!st || st->rejected || st->dispatched || st->waiting) {
      nghttp2_session_consume_connection(s, len);  // not kept
      return 0;
    }
    if (st->body.size() + len > o.max_body_bytes) {
      st->rejected = true;
      nghttp2_session_consume_connection(s, len);
      self->ReleaseBody(*st);
      st->body.clear();
      st->body.shrink_to_fit();
      api::WireResponse r;
      r.status = 413;
      self->Respond(*st, std::move(r));
      return 0;
    }
    if (self->shared_->buffered_body_bytes.load() + len > o.max_buffered_body_bytes) {
      // Over the server-wide budget of buffered request bodies: refuse the stream (the
      // client may retry it) rather than hold more.
      st->rejected = true;
      nghttp2_session_consume_connection(s, len);
      self->ReleaseBody(*st);
      st->body.clear();
      st->body.shrink_to_fit();
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
      return 0;
    }
    st->body.append(reinterpret_cast<const char*>(data), len);
    st->unconsumed += len;
    self->shared_->buffered_body_bytes += len;
    return 0;
  }

  static int OnFrameRecv(nghttp2_session* s, const nghttp2_frame* f, void* ud) {
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      auto* self = static_cast<Self*>(ud);
      auto it = self->streams_.find(f->hd.stream_id);
      if (it != self->streams_.end() && !it->second->rejected && !it->second->dispatched &&
          !it->second->waiting && StreamOf(s, f->hd.stream_id) == it->second.get()) {
        self->Ready(it->second);
      }
    }
    return 0;
  }

  // RFC 9113 section 8.1: once a complete early answer (413) has gone out while the request's
  // body is still arriving, RST_STREAM(NO_ERROR) asks the client to stop sending it.
  // Otherwise the stream's window reopens as the ignored data arrives, and a client may send
  // for ever (a probe pushed 2.8 GB in 3 s into one stream).
  static int OnFrameSend(nghttp2_session* s, const nghttp2_frame* f, void*) {
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      const H2Stream* st = StreamOf(s, f->hd.stream_id);
      if (st && st->rejected && nghttp2_session_get_stream_remote_close(s, f->hd.stream_id) == 0) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
      }
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, std::int32_t id, std::uint32_t, void* ud) {
    auto* self = static_cast<Self*>(ud);
    auto it = self->streams_.find(id);
    if (it == self->streams_.end()) return 0;
    auto& st = *it->second;
    st.closed = true;
    st.heartbeat.cancel();
    st.pump.reset();
    if (!st.running) st.busy.reset();  // else once its answer is back (Dispatch)
    self->Forget(st);
    self->streams_.erase(it);
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                          std::uint32_t* flags, nghttp2_data_source* source, void* ud) {
    auto* st = static_cast<H2Stream*>(source->ptr);
    const std::size_t avail = st->out.size() - st->out_off;
    if (avail == 0) {
      if (st->out_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
      }
      static_cast<Self*>(ud)->SchedulePump(st->id);
      return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(length, avail);
    std::memcpy(buf, st->out.data() + st->out_off, n);
    st->out_off += n;
    st->last_send = Clock::now();
    static_cast<Self*>(ud)->SubQueued(*st, n);
    if (st->out_off == st->out.size()) {
      st->out.clear();
      st->out_off = 0;
      if (st->out_eof) *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return static_cast<ssize_t>(n);
  }

  // ---- requests ----
  void Dispatch(const std::shared_ptr<H2Stream>& st) {
    st->dispatched = true;
    ReleaseBody(*st);  // WINDOW_UPDATE for its bytes: the next request may come
    st->busy = shared_->Busy();
    st->running = true;
    auto finish = [self = this->shared_from_this(), st](api::WireResponse r, bool later) {
      st->running = false;
      if (self->closed_ || st->closed) {
        st->busy.reset();  // the stream closed while its request ran: nothing to answer
        return;
      }
      self->Finish(st, std::move(r));
      if (later) self->Flush();
    };
    if (shared_->workers) {  // may wait for the disk there; answered on the strand
      return asio::post(*shared_->workers, [self = this->shared_from_this(), st, finish,
                                            executor = stream_.get_executor()] {
        auto r = std::make_shared<api::WireResponse>(self->Run(*st));
        asio::post(executor, [finish, r] { finish(std::move(*r), true); });
      });
    }
    if (asio::thread_pool* heavy = shared_->HeavyPool(st->body.size(), st->target)) {
      // Run on the pool for heavy requests, acknowledged by callbacks; answered on the strand.
      return detail::RunDeferredOn(
          *heavy, stream_.get_executor(),
          [self = this->shared_from_this(), st](api::DeferredAcks* acks) {
            return self->Run(*st, acks);
          },
          st->content_type, finish);
    }
    detail::RunDeferred(
        stream_.get_executor(), [this, &st](api::DeferredAcks* acks) { return Run(*st, acks); },
        st->content_type, finish);
  }

  api::WireResponse Run(H2Stream& st, api::DeferredAcks* acks = nullptr) {
    if (!HostAllowed(st.authority, shared_->options)) return HostRejected(st.authority);
    api::WireRequest w;
    w.acks = acks;
    w.method = st.method;
    w.target = st.target;
    w.content_type = st.content_type;
    if (st.has_authorization) w.authorization = st.authorization;
    w.has_amz_date = st.has_date;
    std::optional<std::string> allow_origin;
    if (st.has_origin) {
      w.origin = st.origin;
      allow_origin = CorsAllowOrigin(st.origin, shared_->options);
      if (allow_origin) w.cors_allow_origin = *allow_origin;
    }
    w.cors_request_headers = st.acrh;
    w.cors_request_method = st.acrm;
    std::string_view path(st.path);
    if (auto q = path.find('?'); q != std::string_view::npos) w.query = path.substr(q + 1);
    w.body = st.body;
    if (shared_->events) w.subscribe = &st.subscribe;
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    if (shared_->options.verifier) {
      w.verifier = shared_->options.verifier.get();
      w.path = path.substr(0, path.find('?'));
      headers.assign(st.all_headers.begin(), st.all_headers.end());
      const auto has = [&](std::string_view n) {
        return std::any_of(headers.begin(), headers.end(),
                           [&](const auto& h) { return h.first == n; });
      };
      if (!has("host")) {
        for (const auto& [n, v] : st.all_headers) {
          if (n == ":authority") headers.emplace_back("host", v);
        }
      }
      w.headers = &headers;
    }
    return api::HandleRequest(w, shared_->service);
  }

  // The answer of a request whose stream is still open (Dispatch's `finish` checks).
  void Finish(const std::shared_ptr<H2Stream>& st, api::WireResponse r) {
    st->body.clear();
    st->body.shrink_to_fit();
    if (r.status == 0 && st->subscribe) return StartSubscription(st);
    Respond(*st, std::move(r));
  }

  void Respond(H2Stream& st, api::WireResponse r) {
    std::vector<std::pair<std::string, std::string>> h;
    h.emplace_back(":status", std::to_string(r.status));
    AddCommonHeaders(h, !r.preflight);
    if (!r.content_type.empty()) h.emplace_back("content-type", r.content_type);
    for (auto& [k, v] : r.headers) {
      auto name = Lower(k);
      if (name == "connection" || name == "keep-alive" || name == "transfer-encoding" ||
          name == "upgrade" || name == "content-length") {
        continue;
      }
      h.emplace_back(std::move(name), v);
    }
    h.emplace_back("content-length", std::to_string(r.body.size()));
    const bool body = !r.body.empty() && st.method != "HEAD";
    st.out = std::move(r.body);
    st.out_off = 0;
    st.out_eof = true;
    if (body) AddQueued(st, st.out.size());
    Submit(st, h, body);
  }

  void AddCommonHeaders(std::vector<std::pair<std::string, std::string>>& h, bool id2 = true) {
    h.emplace_back("x-amzn-requestid", RandomUuid());
    if (!id2) return;
    std::uint8_t bytes[72];
    FastRandomBytes(bytes, sizeof bytes);
    h.emplace_back("x-amz-id-2", Base64Encode(std::string_view(reinterpret_cast<const char*>(bytes),
                                                               sizeof bytes)));
  }

  void Submit(H2Stream& st, const std::vector<std::pair<std::string, std::string>>& h, bool body) {
    std::vector<nghttp2_nv> nv;
    nv.reserve(h.size());
    for (auto& [k, v] : h) nv.push_back(Nv(k, v));
    nghttp2_data_provider provider{};
    provider.source.ptr = &st;
    provider.read_callback = &ReadBody;
    if (nghttp2_submit_response(session_, st.id, nv.data(), nv.size(),
                                body ? &provider : nullptr) != 0) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_INTERNAL_ERROR);
    }
  }

  // ---- SubscribeToShard: events as DATA frames of one long response ----
  void StartSubscription(const std::shared_ptr<H2Stream>& st) {
    auto sub = shared_->events->SubscribeToShard(*st->subscribe);
    st->subscribe.reset();
    if (!sub.ok()) return Respond(*st, api::ErrorResponse(sub.status(), st->content_type));
    st->pump.emplace(std::move(sub).value());
    st->busy.reset();  // a subscription lasts minutes; stopping ends it
    std::vector<std::pair<std::string, std::string>> h;
    h.emplace_back(":status", "200");
    AddCommonHeaders(h);
    h.emplace_back("content-type", "application/vnd.amazon.eventstream");
    // The initial-response event first, as the service sends it.
    st->out = api::eventstream::Event("initial-response", "{}");
    st->out_off = 0;
    st->out_eof = false;
    AddQueued(*st, st->out.size());
    Submit(*st, h, true);
  }

  void SchedulePump(std::int32_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end() || it->second->pump_posted) return;
    it->second->pump_posted = true;
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), st = it->second] {
      st->pump_posted = false;
      self->Pump(st);
    });
  }

  // Queues the next event, or waits for an append or the heartbeat.
  void Pump(const std::shared_ptr<H2Stream>& st) {
    if (closed_ || st->closed || !st->pump) return;
    if (st->out.size() > st->out_off || st->out_eof) return Resume(*st);
    std::weak_ptr<Self> weak_self = this->shared_from_this();
    std::weak_ptr<H2Stream> weak_st = st;
    auto step = st->pump->Next(shared_->stopping, [weak_self, weak_st](std::uint64_t gen) {
      auto self = weak_self.lock();
      if (!self) return;
      asio::post(self->stream_.get_executor(), [self, weak_st, gen] {
        if (auto s = weak_st.lock()) self->Wake(s, gen);
      });
    });
    using Kind = SubscriptionPump::Step::Kind;
    switch (step.kind) {
      case Kind::kEnd:
        st->out_eof = true;
        return Resume(*st);
      case Kind::kFinal:
        st->out = std::move(step.message);
        st->out_off = 0;
        st->out_eof = true;
        AddQueued(*st, st->out.size());
        return Resume(*st);
      case Kind::kEvent:
        st->out = std::move(step.message);
        st->out_off = 0;
        AddQueued(*st, st->out.size());
        return Resume(*st);
      case Kind::kWait:
        break;
    }
    st->heartbeat.expires_after(step.wait);
    st->heartbeat.async_wait(
        [self = this->shared_from_this(), weak_st, gen = step.generation](beast::error_code ec) {
          if (ec) return;
          if (auto s = weak_st.lock()) self->Wake(s, gen);
        });
  }

  void Wake(const std::shared_ptr<H2Stream>& st, std::uint64_t gen) {
    if (closed_ || st->closed || !st->pump || !st->pump->Wake(gen)) return;  // stale
    st->heartbeat.cancel();
    Pump(st);
  }

  void Resume(H2Stream& st) {
    nghttp2_session_resume_data(session_, st.id);
    Flush();
  }

  Stream stream_;
  std::shared_ptr<Shared> shared_;
  nghttp2_session* session_ = nullptr;
  std::array<std::uint8_t, 16384> rbuf_{};
  std::string wbuf_;
  bool writing_ = false;
  bool closed_ = false;
  bool goaway_ = false;
  Clock::time_point last_activity_;
  Clock::time_point write_started_;
  asio::steady_timer check_;
  std::map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  std::size_t conn_queued_ = 0;  // response bytes of this connection waiting to be sent
  std::deque<std::shared_ptr<H2Stream>> waiting_;  // complete requests over the budgets
};

}  // namespace

void StartHttp2(TcpStream stream, beast::flat_buffer buffer, std::shared_ptr<Shared> shared,
                std::optional<H2Upgrade> upgrade) {
  auto s = std::make_shared<Http2Session<TcpStream>>(std::move(stream), std::move(shared));
  s->Start(std::move(buffer), std::move(upgrade));
}

void StartHttp2(TlsStream stream, beast::flat_buffer buffer, std::shared_ptr<Shared> shared) {
  auto s = std::make_shared<Http2Session<TlsStream>>(std::move(stream), std::move(shared));
  s->Start(std::move(buffer), std::nullopt);
}

}  // namespace cinesis::server::detail
