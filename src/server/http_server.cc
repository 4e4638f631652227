#include "server/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "api/codec.h"
#include "api/eventstream.h"
#include "api/pipeline.h"
#include "common/base64.h"
#include "common/random.h"
#include "server/browser_guard.h"
#include "server/console.h"
#include "server/http1_scan.h"
#include "server/http2_session.h"
#include "server/live/console_routes.h"
#include "server/live/websocket.h"
#include "server/subscription_pump.h"

namespace cinesis::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using detail::Shared;
using detail::TcpStream;
using detail::TlsStream;

// The client connection preface of HTTP/2 (RFC 9113 3.4).
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

bool HasToken(std::string_view list, std::string_view token) {
  // A comma-separated, case-insensitive token list (Upgrade, Connection).
  std::size_t i = 0;
  while (i <= list.size()) {
    std::size_t j = list.find(',', i);
    if (j == std::string_view::npos) j = list.size();
    auto t = list.substr(i, j - i);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (t.size() == token.size() &&
        std::equal(t.begin(), t.end(), token.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return true;
    }
    i = j + 1;
  }
  return false;
}

// HTTP2-Settings is base64url without padding.
bool DecodeBase64Url(std::string_view in, std::string& out) {
  std::string s(in);
  for (auto& c : s) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
  }
  while (s.size() % 4 != 0) s.push_back('=');
  std::string why;
  return Base64Decode(s, out, why);
}

// The header fields of a request being parsed live in a per-connection buffer (the nodes Beast
// allocates for each field and the request line), reset when the next request starts: no
// allocation per field. What does not fit goes to the heap. The request using it must be gone
// before Reset() (a released request is copied or converted at once: UpgradeToH2, HandleLive).
class FieldArena {
 public:
  void* Allocate(std::size_t n, std::size_t align) {
    const std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (align <= alignof(std::max_align_t) && at + n <= sizeof buf_) {
      used_ = at + n;
      return buf_ + at;
    }
    return ::operator new(n);
  }
  void Deallocate(void* p) {
    auto* b = static_cast<unsigned char*>(p);
    if (b >= buf_ && b < buf_ + sizeof buf_) return;  // freed all at once by Reset()
    ::operator delete(p);
  }
  void Reset() { used_ = 0; }

 private:
  static constexpr std::size_t kBytes = 1536;  // boto3's ~10 fields, the aws CLI's too
  alignas(std::max_align_t) unsigned char buf_[kBytes];
  std::size_t used_ = 0;
};

template <class T>
struct ArenaAllocator {
  using value_type = T;
  explicit ArenaAllocator(FieldArena* a) noexcept : arena(a) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& o) noexcept : arena(o.arena) {}  // NOLINT
  T* allocate(std::size_t n) { return static_cast<T*>(arena->Allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, std::size_t /*n*/) noexcept { arena->Deallocate(p); }
  template <class U>
  bool operator==(const ArenaAllocator<U>& o) const noexcept {
    return arena == o.arena;
  }
  template <class U>
  bool operator!=(const ArenaAllocator<U>& o) const noexcept {
    return arena != o.arena;
  }
  FieldArena* arena;
};

using RequestFields = http::basic_fields<ArenaAllocator<char>>;
using Request = http::request<http::string_body, RequestFields>;
using RequestParser = http::request_parser<http::string_body, ArenaAllocator<char>>;

// A request of the session's parser as one with its own storage (for what outlives the parse:
// the live endpoints, the WebSocket).
http::request<http::string_body> ToOwnedRequest(Request&& r) {
  http::request<http::string_body> out;
  out.version(r.version());
  if (r.method() == http::verb::unknown) {
    out.method_string(r.method_string());
  } else {
    out.method(r.method());
  }
  out.target(r.target());
  for (const auto& f : r) out.insert(f.name_string(), f.value());  // names as received
  out.body() = std::move(r.body());
  return out;
}

template <class Fields>
std::string_view Header(const http::header<true, Fields>& h, std::string_view name) {
  auto it = h.find(beast::string_view(name.data(), name.size()));
  if (it == h.end()) return {};
  return {it->value().data(), it->value().size()};
}

// The request headers the server looks at, found in one pass over the fields (the first of
// each name, as fields::find would).
struct KnownHeaders {
  std::string_view host, amz_target, content_type, upgrade, if_none_match, acrh, acrm;
  std::optional<std::string_view> authorization, origin;
  bool has_amz_date = false;  // X-Amz-Date or Date
  bool has_http2_settings = false;

  explicit KnownHeaders(const http::header<true, RequestFields>& h) {
    bool seen_host = false, seen_target = false, seen_type = false, seen_upgrade = false,
         seen_inm = false, seen_acrh = false, seen_acrm = false;
    const auto take = [](bool& seen, std::string_view& to, std::string_view v) {
      if (!seen) to = v;
      seen = true;
    };
    for (const auto& f : h) {
      const std::string_view v(f.value().data(), f.value().size());
      switch (f.name()) {
        case http::field::host:
          take(seen_host, host, v);
          break;
        case http::field::content_type:
          take(seen_type, content_type, v);
          break;
        case http::field::upgrade:
          take(seen_upgrade, upgrade, v);
          break;
        case http::field::if_none_match:
          take(seen_inm, if_none_match, v);
          break;
        case http::field::access_control_request_headers:
          take(seen_acrh, acrh, v);
          break;
        case http::field::access_control_request_method:
          take(seen_acrm, acrm, v);
          break;
        case http::field::authorization:
          if (!authorization) authorization = v;
          break;
        case http::field::origin:
          if (!origin) origin = v;
          break;
        case http::field::date:
          has_amz_date = true;
          break;
        case http::field::http2_settings:
          has_http2_settings = true;
          break;
        case http::field::unknown: {
          const auto n = f.name_string();
          if (beast::iequals(n, "X-Amz-Target")) {
            take(seen_target, amz_target, v);
          } else if (beast::iequals(n, "X-Amz-Date")) {
            has_amz_date = true;
          }
          break;
        }
        default:
          break;
      }
    }
  }

  // The same from a request of the scanner (which refuses Upgrade and HTTP2-Settings, and
  // a name twice).
  explicit KnownHeaders(const http1::ScannedRequest& r)
      : host(r.Get(http1::Known::kHost)),
        amz_target(r.Get(http1::Known::kAmzTarget)),
        content_type(r.Get(http1::Known::kContentType)),
        if_none_match(r.Get(http1::Known::kIfNoneMatch)),
        acrh(r.Get(http1::Known::kAcrh)),
        acrm(r.Get(http1::Known::kAcrm)),
        has_amz_date(r.Has(http1::Known::kAmzDate) || r.Has(http1::Known::kDate)) {
    if (r.Has(http1::Known::kAuthorization)) authorization = r.Get(http1::Known::kAuthorization);
    if (r.Has(http1::Known::kOrigin)) origin = r.Get(http1::Known::kOrigin);
  }
};

// The request being answered, whichever parser read it: views into the session's parser or,
// for a scanned request, its buffer (kept until the answer is written).
struct RequestView {
  std::string_view method, target, body;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  unsigned version() const { return version_; }
  bool keep_alive() const { return keep_alive_; }
};

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, beast::flat_buffer buffer, std::shared_ptr<Shared> shared)
      : stream_(std::move(stream)), buffer_(std::move(buffer)), shared_(std::move(shared)) {
    // Room for a whole small request (header and a PutRecord body) in one read, so that an
    // idle keep-alive connection holds 2 KiB (1000 of them reserve ~2 MB, not ~16 MB); a
    // larger body gets more room once its header is read (GrowForBody), which the connection
    // then keeps.
    buffer_.reserve(kIdleBufferBytes);
    // What is read and not parsed yet stays bounded: Beast keeps a chunk-size line (with its
    // extensions) and the whole trailer block of a chunked body in the buffer until they
    // end, so without a bound one connection could make it grow for the read timeout
    // (gigabytes; found by a probe). A read past it fails with buffer_overflow (431).
    buffer_.max_size(std::max<std::size_t>(shared_->options.max_header_bytes, buffer_.size()) +
                     kReadRoomBytes);
    shared_->connections.fetch_add(1);
  }
  ~Session() { shared_->connections.fetch_sub(1); }

  void Start() {
    // Timeouts are this session's deadline (ArmDeadline), not the stream's own timer: the
    // stream must not start one per read and write (the Detector or the TLS handshake left an
    // expiry set on it).
    beast::get_lowest_layer(stream_).expires_never();
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::Read, this->shared_from_this()));
  }

 private:
  void Read() {
    if (shared_->stopping) return Close();
    // Pipelined requests answered at once would otherwise nest one call per request.
    if (nest_ >= kMaxNest) {
      return asio::post(stream_.get_executor(),
                        beast::bind_front_handler(&Session::Read, this->shared_from_this()));
    }
    if (scanned_bytes_ != 0) {  // the request just answered, scanned in place
      buffer_.consume(scanned_bytes_);
      scanned_bytes_ = 0;
    }
    // The first read of a keep-alive connection may wait for the idle timeout; once a
    // request starts, the whole request must arrive within the read timeout.
    ArmDeadline(first_request_ ? shared_->options.read_timeout : shared_->options.idle_timeout);
    if constexpr (std::is_same_v<Stream, TcpStream>) {
      // The common request (a complete Kinesis API call) is recognised in the buffer by the
      // scanner (http1_scan.h); anything else is parsed by Beast, from what is buffered.
      if (buffer_.size() == 0) return ReadSome();
      if (TryScan()) return;
    }
    ReadWithBeast();
  }

  void ReadSome() {
    const std::size_t room =
        std::min(std::clamp<std::size_t>(buffer_.capacity() - buffer_.size(), 512, 65536),
                 buffer_.max_size() - buffer_.size());
    stream_.async_read_some(
        buffer_.prepare(room),
        beast::bind_front_handler(&Session::OnReadSome, this->shared_from_this()));
  }

  void OnReadSome(beast::error_code ec, std::size_t n) {
    buffer_.commit(n);
    // Nothing read: as Beast's read of an empty buffer ends (end of stream, reset, timeout).
    if (ec && buffer_.size() == 0) return OnRead(ec, 0);
    if (!ec && TryScan()) return;
    ReadWithBeast();  // which meets the error, if any, after what was read
  }

  // True when the buffer starts with a complete Kinesis API request of the scanner's subset,
  // which is then answered.
  bool TryScan() {
    const auto data = buffer_.data();
    const std::string_view in(static_cast<const char*>(data.data()), data.size());
    const http1::ScanLimits limits{shared_->options.max_header_bytes,
                                   shared_->options.max_body_bytes};
    if (http1::ScanRequest(in, limits, scan_) != http1::ScanResult::kComplete) return false;
    // Only the API's POST / (no console, no live endpoint, no upgrade).
    if (scan_.method != "POST" || !(scan_.target == "/" || scan_.target.starts_with("/?"))) {
      return false;
    }
    DisarmDeadline();  // no timeout while the request runs (it may wait for the disk)
    first_request_ = false;
    scanned_bytes_ = scan_.size;
    scanned_ = true;
    req_ = RequestView{scan_.method, scan_.target, scan_.body, scan_.version, scan_.keep_alive};
    heads_.emplace(scan_);
    fault_ = {};
    busy_ = shared_->Busy();
    ++nest_;
    Dispatch();
    --nest_;
    return true;
  }

  void ReadWithBeast() {
    scanned_ = false;
    // The previous request's body keeps its capacity (when small) for this one's.
    std::string body;
    if (parser_) {
      body = std::move(parser_->get().body());
      if (body.capacity() > kIdleBufferBytes) body = std::string();
      body.clear();
      parser_.reset();
    }
    arena_.Reset();
    parser_.emplace(std::piecewise_construct, std::make_tuple(std::move(body)),
                    std::make_tuple(ArenaAllocator<char>(&arena_)));
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(shared_->options.max_header_bytes);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  // The framing of the body is decided by the header (RFC 9112 section 6): a request whose
  // Transfer-Encoding does not end in a single "chunked", or that also has a Content-Length,
  // is answered 400 and the connection closed. Otherwise its body would be read as the next
  // request (request smuggling).
  void OnHeader(beast::error_code ec, std::size_t n) {
    if (ec) return OnRead(ec, n);
    if (!AcceptableFraming(parser_->get())) {
      first_request_ = false;
      return SendSimple(http::status::bad_request, false);
    }
    if (ParseBuffered(ec)) return OnRead(ec, 0);
    GrowForBody();
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  // The body as far as it is in the buffer already (a small request usually arrives with its
  // header), parsed here as Beast's read would: true when the request is complete or failed
  // (`ec`), so it needs no asynchronous read and no completion through the strand; false when
  // more must be read.
  bool ParseBuffered(beast::error_code& ec) {
    while (!parser_->is_done()) {
      if (buffer_.size() == 0) return false;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        return false;
      }
      if (ec) return true;
      if (used == 0) return false;
    }
    return true;
  }

  // Beast reads at most the buffer's free capacity (at least 512 bytes) per call: without
  // room, a 100 KB PutRecords body would take ~200 reads. A body larger than what is free
  // gets up to kBodyReadBytes of room (a chunked one, whose size is unknown, too).
  void GrowForBody() {
    if (parser_->is_done()) return;
    const auto length = parser_->content_length();
    const std::size_t want =
        length ? static_cast<std::size_t>(std::min<std::uint64_t>(*length, kBodyReadBytes))
               : kBodyReadBytes;
    if (buffer_.capacity() - buffer_.size() < want)
      buffer_.reserve(std::min(buffer_.size() + want, buffer_.max_size()));
  }

  static bool AcceptableFraming(const Request& req) {
    std::vector<std::string> codings;
    bool has_te = false;
    for (const auto& field : req) {
      if (field.name() != http::field::transfer_encoding) continue;
      has_te = true;
      std::string_view v = field.value();
      while (!v.empty()) {
        const auto comma = v.find(',');
        std::string_view token = v.substr(0, comma);
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
          token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
          token.remove_suffix(1);
        if (token.empty()) continue;
        std::string lower(token);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        codings.push_back(std::move(lower));
      }
    }
    if (!has_te) return true;
    if (req.find(http::field::content_length) != req.end()) return false;
    // Only "chunked" alone: no other transfer coding is implemented, and one before
    // "chunked" (gzip, chunked) would otherwise be read as if the body were not encoded.
    return codings.size() == 1 && codings.front() == "chunked";
  }

  void OnRead(beast::error_code ec, std::size_t) {
    DisarmDeadline();  // no timeout while the request runs (it may wait for the disk)
    first_request_ = false;
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      return Close();
    }
    if (ec == http::error::body_limit) return SendSimple(http::status::payload_too_large, false);
    // A chunk-size line or trailer block longer than the buffer's bound (see Session()).
    if (ec == http::error::buffer_overflow) {
      return SendSimple(http::status::request_header_fields_too_large, false);
    }
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted) return Close();
    if (ec) {
      // A malformed request line or headers: answer 400 and close, as front ends do.
      if (ec.category() == beast::error_code(http::error::bad_target).category()) {
        return SendSimple(http::status::bad_request, false);
      }
      return Close();
    }
    Handle();
  }

  // The request stays in parser_ until the answer is written (the next Read() replaces it):
  // one request at a time per connection, so no copy of it is needed.
  void Handle() {
    const Request& req = parser_->get();
    const KnownHeaders& heads = heads_.emplace(req);
    if constexpr (std::is_same_v<Stream, TcpStream>) {
      if (HasToken(heads.upgrade, "h2c") && heads.has_http2_settings) {
        return UpgradeToH2(parser_->release());
      }
    }
    // The web console: embedded static files (server/console.h).
    if (auto c = ServeConsole(
            std::string_view(req.method_string().data(), req.method_string().size()),
            std::string_view(req.target().data(), req.target().size()), heads.if_none_match)) {
      return RespondConsole(req, *c);
    }
    fault_ = {};
    busy_ = shared_->Busy();
    // The live endpoints (issue 18): the one dispatch point for everything under /_cinesis/.
    if (live::IsLivePath(std::string_view(req.target().data(), req.target().size()))) {
      // Copied out of the connection's arena, and the released request (whose field list
      // lives there) destroyed, before any answer: a fully sent answer starts the next read
      // at once, which resets the arena and may parse a pipelined request into it.
      auto owned = ToOwnedRequest(parser_->release());
      return HandleLive(std::move(owned));
    }
    req_ = RequestView{std::string_view(req.method_string().data(), req.method_string().size()),
                       std::string_view(req.target().data(), req.target().size()), req.body(),
                       req.version(), req.keep_alive()};
    Dispatch();
  }

  // Runs the API request in req_ (heads_ its headers).
  void Dispatch() {
    if (shared_->workers) {
      // The worker pool: the call may wait for the disk there (group commit). The answer
      // comes back to this connection's strand.
      return asio::post(*shared_->workers, [self = this->shared_from_this()] {
        auto r = std::make_shared<api::WireResponse>(self->Run());
        asio::post(self->stream_.get_executor(), [self, r] { self->Finish(std::move(*r)); });
      });
    }
    if (asio::thread_pool* heavy = shared_->HeavyPool(req_.body.size(), heads_->amz_target)) {
      // Decoded and run on the pool for heavy requests, so the I/O thread goes on serving its
      // other connections; a write is acknowledged by a callback as on the I/O thread (no
      // pool thread waits for the disk), and the answer is written from this strand.
      auto self = this->shared_from_this();
      return detail::RunDeferredOn(
          *heavy, stream_.get_executor(),
          [self](api::DeferredAcks* acks) { return self->Run(acks); }, heads_->content_type,
          [self](api::WireResponse r, bool) { self->Finish(std::move(r)); });
    }
    detail::RunDeferred(
        stream_.get_executor(), [this](api::DeferredAcks* acks) { return Run(acks); },
        heads_->content_type,
        [self = this->shared_from_this()](api::WireResponse r, bool) {
          self->Finish(std::move(r));
        });
  }

  // `Upgrade: h2c`: 101 Switching Protocols, then HTTP/2 with this request as stream 1.
  void UpgradeToH2(Request req) {
    detail::H2Upgrade up;
    if (!DecodeBase64Url(Header(req, "HTTP2-Settings"), up.settings)) {
      return SendSimple(http::status::bad_request, false);
    }
    up.head = req.method() == http::verb::head;
    up.headers.emplace_back(":method", std::string(req.method_string()));
    up.headers.emplace_back(":path", std::string(req.target()));
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "connection" || name == "upgrade" || name == "http2-settings" ||
          name == "keep-alive" || name == "transfer-encoding") {
        continue;
      }
      if (name == "host") name = ":authority";  // checked like HTTP/2's (browser_guard.h)
      up.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    up.body = std::move(req.body());
    static constexpr std::string_view k101 =
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    auto pending = std::make_shared<detail::H2Upgrade>(std::move(up));
    ArmDeadline(shared_->options.write_timeout);
    asio::async_write(
        stream_, asio::buffer(k101.data(), k101.size()),
        [self = this->shared_from_this(), pending](beast::error_code ec, std::size_t) {
          self->DisarmDeadline();
          if (ec) return self->Close();
          if constexpr (std::is_same_v<Stream, TcpStream>) {
            detail::StartHttp2(std::move(self->stream_), std::move(self->buffer_), self->shared_,
                               std::move(*pending));
          }
        });
  }

  // The answer to the request in req_.
  void Finish(api::WireResponse r) {
    if (r.status == 0 && subscribe_) return StartSubscription();
    // What a fault rule asked of the transport (server/live/faults.h).
    if (fault_.reset) {
      beast::error_code ec;
      beast::get_lowest_layer(stream_).socket().set_option(asio::socket_base::linger(true, 0), ec);
      return Close();
    }
    if (fault_.http_status) {
      r.status = fault_.http_status;
      r.content_type = "application/x-amz-json-1.1";
      r.body =
          "{\"__type\":\"" + fault_.error_type + "\",\"message\":\"" + fault_.error_message + "\"}";
    }
    if (fault_.latency_ms > 0) {
      delay_.expires_after(std::chrono::milliseconds(fault_.latency_ms));
      fault_.latency_ms = 0;
      delay_.async_wait(
          [self = this->shared_from_this(), r = std::move(r)](beast::error_code) mutable {
            self->Respond(self->req_, std::move(r));
          });
      return;
    }
    Respond(req_, std::move(r));
  }

  // /_cinesis/...: the same-origin check, then the WebSocket or the JSON/text endpoints.
  void HandleLive(http::request<http::string_body> req) {
    auto shared_req = std::make_shared<http::request<http::string_body>>(std::move(req));
    std::optional<std::string_view> origin;
    if (shared_req->find(http::field::origin) != shared_req->end())
      origin = Header(*shared_req, "Origin");
    const std::string_view target(shared_req->target().data(), shared_req->target().size());
    // The Kinesis API's access rules apply here too (issue 18 item 5): the Host check, and
    // with --auth sigv4 (a browser cannot sign) these endpoints are refused.
    const std::string_view host = Header(*shared_req, "Host");
    if (!HostAllowed(host, shared_->options)) return Respond(*shared_req, HostRejected(host));
    if (shared_->options.verifier) {
      api::WireResponse r;
      r.status = 403;
      r.content_type = "application/json";
      r.body =
          "{\"__type\":\"AccessDeniedException\",\"message\":\"the /_cinesis/ endpoints are "
          "off while --auth sigv4 checks signatures\"}";
      return Respond(*shared_req, std::move(r));
    }
    if (!live::OriginAllowed(origin, Header(*shared_req, "Host"))) {
      api::WireResponse r;
      r.status = 403;
      r.content_type = "application/json";
      r.body =
          "{\"__type\":\"AccessDeniedException\",\"message\":\"cross-origin request refused\"}";
      return Respond(*shared_req, std::move(r));
    }
    if (live::PathOf(target) == "/_cinesis/ws" && shared_->options.live &&
        beast::websocket::is_upgrade(*shared_req)) {
      busy_.reset();
      return detail::StartWebSocket(std::move(stream_), std::move(*shared_req), shared_);
    }
    const live::Context ctx{shared_->options.live, shared_->options.faults, &shared_->connections};
    const std::string_view method(shared_req->method_string().data(),
                                  shared_req->method_string().size());
    Respond(*shared_req, live::Route(ctx, method, target, shared_req->body()));
  }

  // ---- SubscribeToShard: an event stream in chunked transfer encoding ----
  void StartSubscription() {
    const RequestView& req = req_;
    const std::string content_type(heads_->content_type);
    auto sub = shared_->events->SubscribeToShard(*subscribe_);
    subscribe_.reset();
    if (!sub.ok()) return Respond(req, api::ErrorResponse(sub.status(), content_type));
    pump_.emplace(std::move(sub).value());
    busy_.reset();  // a subscription lasts minutes; stopping ends it
    keep_alive_ = req.keep_alive();
    auto res = std::make_shared<http::response<http::empty_body>>(http::status::ok, req.version());
    res->set("x-amzn-RequestId", RandomUuid());
    res->set(http::field::content_type, "application/vnd.amazon.eventstream");
    res->chunked(true);
    res->keep_alive(keep_alive_);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    ArmDeadline(shared_->options.write_timeout);
    http::async_write_header(
        stream_, *sr,
        [self = this->shared_from_this(), res, sr](beast::error_code ec, std::size_t) {
          self->DisarmDeadline();
          if (ec) return self->Close();
          // botocore requires the initial-response event first.
          self->SendEvent(api::eventstream::Event("initial-response", "{}"));
        });
  }

  void SendEvent(std::string message) {
    auto data = std::make_shared<std::string>(std::move(message));
    ArmDeadline(shared_->options.write_timeout);
    asio::async_write(stream_, http::make_chunk(asio::buffer(*data)),
                      [self = this->shared_from_this(), data](beast::error_code ec, std::size_t) {
                        self->DisarmDeadline();
                        if (ec) return self->Close();
                        self->Pump();
                      });
  }

  // Sends what the subscription has; otherwise waits for an append or the heartbeat.
  void Pump() {
    if (!pump_) return EndStream();
    auto self = this->shared_from_this();
    auto step =
        pump_->Next(shared_->stopping, [weak = std::weak_ptr<Session>(self)](std::uint64_t gen) {
          if (auto s = weak.lock())
            asio::post(s->stream_.get_executor(), [s, gen] { s->Wake(gen); });
        });
    using Kind = SubscriptionPump::Step::Kind;
    switch (step.kind) {
      case Kind::kEnd:
        return EndStream();
      case Kind::kFinal:
        return SendFinal(std::move(step.message));
      case Kind::kEvent:
        return SendEvent(std::move(step.message));
      case Kind::kWait:
        break;
    }
    heartbeat_.expires_after(step.wait);
    heartbeat_.async_wait([self, gen = step.generation](beast::error_code ec) {
      if (!ec) self->Wake(gen);
    });
  }
  void Wake(std::uint64_t gen) {
    if (!pump_ || !pump_->Wake(gen)) return;  // a stale wake-up: another one already ran
    heartbeat_.cancel();
    Pump();
  }
  void SendFinal(std::string message) {
    auto data = std::make_shared<std::string>(std::move(message));
    ArmDeadline(shared_->options.write_timeout);
    asio::async_write(stream_, http::make_chunk(asio::buffer(*data)),
                      [self = this->shared_from_this(), data](beast::error_code ec, std::size_t) {
                        self->DisarmDeadline();
                        if (ec) return self->Close();
                        self->EndStream();
                      });
  }
  void EndStream() {
    pump_.reset();
    heartbeat_.cancel();
    ArmDeadline(shared_->options.write_timeout);
    asio::async_write(stream_, http::make_chunk_last(),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->DisarmDeadline();
                        if (ec || !self->keep_alive_) return self->Close();
                        self->Read();
                      });
  }

  api::WireResponse Run(api::DeferredAcks* acks = nullptr) {
    const RequestView& req = req_;
    const KnownHeaders& heads = *heads_;  // of `req`
    const std::string_view host = heads.host;
    if (!HostAllowed(host, shared_->options)) return HostRejected(host);
    api::ScopedFaultDirective faults(&fault_);
    api::WireRequest w;
    w.acks = acks;
    w.method = req.method;
    w.target = heads.amz_target;
    w.content_type = heads.content_type;
    w.authorization = heads.authorization;
    w.has_amz_date = heads.has_amz_date;
    std::optional<std::string> allow_origin;
    if (heads.origin) {
      w.origin = heads.origin;
      allow_origin = CorsAllowOrigin(*w.origin, shared_->options);
      if (allow_origin) w.cors_allow_origin = *allow_origin;
    }
    w.cors_request_headers = heads.acrh;
    w.cors_request_method = heads.acrm;
    const std::string_view target = req.target;
    if (auto q = target.find('?'); q != std::string_view::npos) w.query = target.substr(q + 1);
    w.body = req.body;
    if (shared_->events) w.subscribe = &subscribe_;
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    if (shared_->options.verifier) {
      w.verifier = shared_->options.verifier.get();
      w.path = target.substr(0, target.find('?'));
      if (scanned_) {
        for (std::size_t i = 0; i < scan_.field_count; ++i)
          headers.emplace_back(scan_.fields[i].name, scan_.fields[i].value);
      } else {
        for (const auto& f : parser_->get()) {
          headers.emplace_back(std::string_view(f.name_string().data(), f.name_string().size()),
                               std::string_view(f.value().data(), f.value().size()));
        }
      }
      w.headers = &headers;
    }
    return api::HandleRequest(w, shared_->service);
  }

  // Keeps nothing of `req` once it returns.
  template <class Req>
  void Respond(const Req& req, api::WireResponse r) {
    const bool keep_alive = req.keep_alive() && !shared_->stopping;
    if (r.headers.empty() && (req.version() == 11 || req.version() == 10) && r.status >= 200 &&
        r.status <= 599 && r.status != 204 && r.status != 304) {
      return WriteAnswer(req.version(), keep_alive, std::move(r));
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->result(static_cast<unsigned>(r.status));
    res->set("x-amzn-RequestId", RandomUuid());
    if (!r.preflight) {
      std::uint8_t id2[72];
      FastRandomBytes(id2, sizeof id2);
      res->set("x-amz-id-2",
               Base64Encode(std::string_view(reinterpret_cast<const char*>(id2), sizeof id2)));
    }
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    Write(std::move(res));
  }

  // The common answer (no extra headers) serialised here, byte for byte as Beast's serializer
  // writes Respond's message: status line, x-amzn-RequestId, x-amz-id-2 (not for a preflight),
  // Content-Type, Connection when it differs from the version's default, Content-Length. The
  // head and body buffers are the session's, reused from request to request.
  void WriteAnswer(unsigned version, bool keep_alive, api::WireResponse r) {
    std::string& h = out_head_;
    h.clear();
    h += version == 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
    const auto status = static_cast<unsigned>(r.status);
    h += static_cast<char>('0' + status / 100);
    h += static_cast<char>('0' + status / 10 % 10);
    h += static_cast<char>('0' + status % 10);
    h += ' ';
    const auto reason = http::obsolete_reason(static_cast<http::status>(status));
    h.append(reason.data(), reason.size());
    h += "\r\nx-amzn-RequestId: ";
    const std::size_t at = h.size();
    h.resize(at + 36);
    WriteRandomUuid(h.data() + at);
    if (!r.preflight) {
      std::uint8_t id2[72];
      FastRandomBytes(id2, sizeof id2);
      h += "\r\nx-amz-id-2: ";
      Base64Encode(std::string_view(reinterpret_cast<const char*>(id2), sizeof id2), h);
    }
    if (!r.content_type.empty()) {
      h += "\r\nContent-Type: ";
      h += r.content_type;
    }
    if (version == 11 && !keep_alive) h += "\r\nConnection: close";
    if (version == 10 && keep_alive) h += "\r\nConnection: keep-alive";
    h += "\r\nContent-Length: ";
    h += std::to_string(r.body.size());
    h += "\r\n\r\n";
    out_body_ = std::move(r.body);
    out_keep_alive_ = keep_alive;
    std::array<asio::const_buffer, 2> buffers{asio::buffer(out_head_), asio::buffer(out_body_)};
    if constexpr (std::is_same_v<Stream, TcpStream>) {
      // A small answer almost always fits the socket's send buffer: sent here, at once, it
      // needs no asynchronous write and no completion through the strand. What the socket does
      // not take is written as before. (Nothing else writes to the socket meanwhile: one
      // request at a time.)
      std::size_t sent = 0;
      if (!SendNow(buffers, sent)) return Close();
      if (sent == buffers[0].size() + buffers[1].size()) {
        busy_.reset();
        if (!out_keep_alive_) return Close();
        return Read();  // every caller returns at once: the request is not used after this
      }
      const std::size_t in_head = std::min(sent, buffers[0].size());
      buffers[0] += in_head;
      buffers[1] += sent - in_head;
    }
    ArmDeadline(shared_->options.write_timeout);
    asio::async_write(stream_, buffers,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->DisarmDeadline();
                        self->busy_.reset();
                        if (ec || !self->out_keep_alive_) return self->Close();
                        self->Read();
                      });
  }

  // One non-blocking sendmsg of `buffers` on the plain socket; `sent`: the bytes it took (0
  // when the socket would block). False when the connection failed.
  bool SendNow(const std::array<asio::const_buffer, 2>& buffers, std::size_t& sent) {
    std::array<iovec, 2> iov{};
    for (std::size_t i = 0; i < iov.size(); ++i) {
      iov[i].iov_base = const_cast<void*>(buffers[i].data());
      iov[i].iov_len = buffers[i].size();
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    const int fd = beast::get_lowest_layer(stream_).socket().native_handle();
    ssize_t n;
    do {
      n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
      sent = static_cast<std::size_t>(n);
      return true;
    }
    sent = 0;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }

  // A console file from its static array (copied into the response body only while it is
  // being sent), or 304/404/405.
  void RespondConsole(const Request& req, const ConsoleReply& c) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->result(c.status);
    res->set(http::field::cache_control, kConsoleCacheControl);
    res->set("X-Content-Type-Options", "nosniff");
    if (c.asset) {
      res->set(http::field::etag, c.asset->etag);
      res->set(http::field::content_type, c.asset->content_type);
      res->set("Content-Security-Policy", kConsoleCsp);
      if (c.status == 200) res->body().assign(c.asset->body());
    } else if (c.status == 405) {
      res->set(http::field::allow, "GET");
    }
    res->keep_alive(req.keep_alive() && !shared_->stopping);
    res->prepare_payload();
    Write(std::move(res));
  }

  void SendSimple(http::status status, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set("x-amzn-RequestId", RandomUuid());
    res->keep_alive(keep_alive);
    res->prepare_payload();
    Write(std::move(res));
  }

  void Write(std::shared_ptr<http::response<http::string_body>> res) {
    ArmDeadline(shared_->options.write_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        self->DisarmDeadline();
                        self->busy_.reset();
                        if (ec || !res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    busy_.reset();
    DisarmDeadline();
    deadline_timer_.cancel();
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(stream_).socket();
    sock.shutdown(tcp::socket::shutdown_send, ec);
    sock.close(ec);
  }

  Stream stream_;
  static constexpr std::size_t kIdleBufferBytes = 2 * 1024;
  static constexpr std::size_t kBodyReadBytes = 16 * 1024;
  // Beyond max_header_bytes, room for reads ahead (ReadSome's 64 KiB, a body's 16 KiB).
  static constexpr std::size_t kReadRoomBytes = 128 * 1024;
  detail::Shared::BusyToken busy_;  // while a request is being answered
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  FieldArena arena_;  // parser_'s header fields (declared first: destroyed after it)
  std::optional<RequestParser> parser_;
  std::optional<KnownHeaders> heads_;  // of req_, while it is answered
  RequestView req_;                    // the request being answered
  // A request recognised by the scanner: its views point into buffer_, whose first
  // scanned_bytes_ bytes it is, consumed by the next Read() (the answer is written by then).
  http1::ScannedRequest scan_;
  bool scanned_ = false;  // req_ is scan_'s (else parser_'s)
  std::size_t scanned_bytes_ = 0;
  int nest_ = 0;  // TryScan() calls on the stack (answered at once, each calls Read())
  static constexpr int kMaxNest = 8;
  bool first_request_ = true;
  // WriteAnswer's message while it is being written (kept for their capacity).
  std::string out_head_;
  std::string out_body_;
  bool out_keep_alive_ = true;

  std::optional<api::SubscribeToShardInput> subscribe_;
  std::optional<SubscriptionPump> pump_;  // while a SubscribeToShard event stream runs
  asio::steady_timer heartbeat_{stream_.get_executor()};
  bool keep_alive_ = true;
  api::FaultDirective fault_;  // set by fault rules while a request runs
  asio::steady_timer delay_{stream_.get_executor()};

  // ---- Timeouts: the read (first request), idle (keep-alive) and write timeouts ----
  // One deadline per connection, set before a read or write and cleared when it completes
  // (none while a request runs or a subscription waits for records). A timer checks it, and
  // is re-armed only when it would fire after the deadline (once per connection in the steady
  // state, where every deadline is later than the last), so a request costs two clock reads
  // instead of a timer wait started and cancelled per read and per write. At the deadline the
  // socket is closed: the pending read or write fails and the session closes, unanswered, as
  // with the stream's own timeout.
  using Clock = std::chrono::steady_clock;
  void ArmDeadline(std::chrono::milliseconds timeout) {
    deadline_ = Clock::now() + timeout;
    if (deadline_ < timer_at_) StartDeadlineTimer();
  }
  void DisarmDeadline() { deadline_ = Clock::time_point::max(); }
  void StartDeadlineTimer() {
    timer_at_ = deadline_;
    deadline_timer_.expires_at(deadline_);  // a wait already pending completes as cancelled
    deadline_timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: re-armed earlier, or the session closed
      if (auto self = weak.lock()) self->OnDeadlineTimer();
    });
  }
  void OnDeadlineTimer() {
    timer_at_ = Clock::time_point::max();
    if (deadline_ == Clock::time_point::max()) return;  // nothing pending: armed again later
    if (Clock::now() < deadline_) return StartDeadlineTimer();
    DisarmDeadline();
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().close(ec);
  }
  asio::steady_timer deadline_timer_{stream_.get_executor()};
  Clock::time_point deadline_ = Clock::time_point::max();  // max: no timeout
  Clock::time_point timer_at_ = Clock::time_point::max();  // the pending wait; max: none
};

// A cleartext connection: HTTP/2 with prior knowledge starts with the client preface;
// anything else is HTTP/1.1 (which may still upgrade to h2c).
class Detector : public std::enable_shared_from_this<Detector> {
 public:
  Detector(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}
  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    stream_.expires_after(shared_->options.read_timeout);
    stream_.async_read_some(buffer_.prepare(kH2Preface.size()),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) {
                                beast::error_code ignore;
                                self->stream_.socket().close(ignore);
                                return;
                              }
                              self->Decide();
                            });
  }
  void Decide() {
    const auto data = buffer_.data();
    const std::string_view got(static_cast<const char*>(data.data()), data.size());
    const std::size_t m = std::min(got.size(), kH2Preface.size());
    if (got.substr(0, m) != kH2Preface.substr(0, m)) {
      return std::make_shared<Session<TcpStream>>(std::move(stream_), std::move(buffer_), shared_)
          ->Start();
    }
    if (m < kH2Preface.size()) return Read();
    detail::StartHttp2(std::move(stream_), std::move(buffer_), shared_);
  }

  TcpStream stream_;
  detail::Shared::BusyToken busy_;  // while a request is being answered
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
};

// A TLS connection: the handshake, then ALPN picks HTTP/2 or HTTP/1.1.
void StartTls(tcp::socket socket, std::shared_ptr<Shared> shared) {
  auto stream = std::make_shared<TlsStream>(std::move(socket), *shared->tls);
  asio::dispatch(stream->get_executor(), [stream, shared] {
    beast::get_lowest_layer(*stream).expires_after(shared->options.read_timeout);
    stream->async_handshake(asio::ssl::stream_base::server, [stream, shared](beast::error_code ec) {
      if (ec) {
        spdlog::debug("tls handshake: {}", ec.message());
        beast::error_code ignore;
        beast::get_lowest_layer(*stream).socket().close(ignore);
        return;
      }
      const unsigned char* proto = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(stream->native_handle(), &proto, &len);
      if (std::string_view(reinterpret_cast<const char*>(proto), proto ? len : 0) == "h2") {
        detail::StartHttp2(std::move(*stream), beast::flat_buffer(), shared);
      } else {
        std::make_shared<Session<TlsStream>>(std::move(*stream), beast::flat_buffer(), shared)
            ->Start();
      }
    });
  });
}

}  // namespace

void detail::ServeCleartext(tcp::socket socket, std::shared_ptr<Shared> shared) {
  std::make_shared<Detector>(std::move(socket), std::move(shared))->Start();
}

struct HttpServer::Impl {
  Impl(ServerOptions o, api::KinesisService& s, std::function<void()> t, api::EventStreamService* e)
      : threads(o.threads > 0 ? o.threads : detail::DefaultIoThreads()),
        ioc(threads),
        shared(std::make_shared<Shared>(std::move(o), s, e)),
        acceptor(asio::make_strand(ioc)),
        timer(ioc),
        signals(ioc),
        tick(std::move(t)) {}

  // Out of file descriptors (or kernel memory), accept fails at once for as long as the
  // connection waits in the backlog: retrying at once would spin. Log once, wait (10 ms,
  // doubling to 1 s) while the open connections are served, then try again.
  static bool OutOfResources(const beast::error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
           ec == asio::error::no_memory ||
           ec == beast::error_code(ENFILE, boost::system::system_category());
  }

  void Accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec && OutOfResources(ec)) {
        if (accept_backoff.count() == 0) {
          spdlog::warn(
              "accept: {}; not accepting connections until descriptors are free "
              "(open connections are still served; raise the open-files limit)",
              ec.message());
        }
        accept_backoff = std::clamp(accept_backoff * 2, std::chrono::milliseconds(10),
                                    std::chrono::milliseconds(1000));
        accept_timer.expires_after(accept_backoff);
        accept_timer.async_wait([this](beast::error_code tec) {
          if (!tec && !shared->stopping) Accept();
        });
        return;
      }
      if (!ec && accept_backoff.count() != 0) {
        spdlog::info("accept: accepting connections again");
        accept_backoff = std::chrono::milliseconds(0);
      }
      if (!ec) {
        beast::error_code ignore;
        socket.set_option(tcp::no_delay(true), ignore);
        if (shared->tls) {
          StartTls(std::move(socket), shared);
        } else {
          detail::ServeCleartext(std::move(socket), shared);
        }
      }
      Accept();
    });
  }

  // Stops the loop once no request is being answered, or at `deadline`.
  void StopWhenIdle(std::chrono::steady_clock::time_point deadline) {
    if (shared->inflight->load() == 0 || std::chrono::steady_clock::now() >= deadline) {
      ioc.stop();
      return;
    }
    stop_timer.expires_after(std::chrono::milliseconds(2));
    stop_timer.async_wait([this, deadline](beast::error_code) { StopWhenIdle(deadline); });
  }

  void Tick() {
    timer.expires_after(shared->options.tick_interval);
    timer.async_wait([this](beast::error_code ec) {
      if (ec || shared->stopping) return;
      if (tick) tick();
      Tick();
    });
  }

  int threads;
  asio::io_context ioc;
  std::shared_ptr<Shared> shared;
  tcp::acceptor acceptor;
  asio::steady_timer timer;
  asio::signal_set signals;
  std::function<void()> tick;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::steady_timer stop_timer{ioc};
  // Accept's back-off while out of descriptors (0: not backing off); on the acceptor's
  // strand, like every accept handler.
  asio::steady_timer accept_timer{acceptor.get_executor()};
  std::chrono::milliseconds accept_backoff{0};
};

HttpServer::HttpServer(ServerOptions options, api::KinesisService& service,
                       std::function<void()> tick, api::EventStreamService* events)
    : impl_(std::make_unique<Impl>(std::move(options), service, std::move(tick), events)) {}

HttpServer::~HttpServer() = default;

Result<std::uint16_t> HttpServer::Listen() {
  const auto& o = impl_->shared->options;
  if (o.tls_self_signed || !o.tls_cert.empty() || !o.tls_key.empty()) {
    if (!o.tls_self_signed && (o.tls_cert.empty() || o.tls_key.empty())) {
      return Status(Code::kInvalidArgument, "--tls-cert and --tls-key go together");
    }
    auto ctx = detail::MakeTlsContext(o);
    if (!ctx.ok()) return ctx.status();
    impl_->shared->tls = std::move(ctx).value();
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->shared->options.host, ec);
  if (ec) return Status(Code::kInvalidArgument, "bad --host: " + ec.message());
  tcp::endpoint ep(addr, impl_->shared->options.port);
  auto& a = impl_->acceptor;
  if (a.open(ep.protocol(), ec); ec) return Status(Code::kIoError, "open: " + ec.message());
  if (a.set_option(asio::socket_base::reuse_address(true), ec); ec)
    return Status(Code::kIoError, ec.message());
  if (a.bind(ep, ec); ec)
    return Status(Code::kIoError, "bind " + impl_->shared->options.host + ":" +
                                      std::to_string(ep.port()) + ": " + ec.message());
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec)
    return Status(Code::kIoError, ec.message());
  if (auto warning = ExposureWarning(impl_->shared->options)) spdlog::warn("{}", *warning);
  return a.local_endpoint().port();
}

void HttpServer::Run() {
  impl_->Accept();
  impl_->Tick();
  std::vector<std::thread> pool;
  for (int i = 1; i < impl_->threads; ++i) pool.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : pool) t.join();
  if (impl_->shared->workers) impl_->shared->workers->join();
  if (impl_->shared->heavy) impl_->shared->heavy->join();  // the I/O threads are joined
}

void HttpServer::Stop() {
  asio::post(impl_->ioc, [this] {
    if (impl_->shared->stopping.exchange(true)) return;
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->timer.cancel();
    impl_->signals.cancel();
    // Sessions notice `stopping` at their next read and close; idle keep-alive
    // connections are closed when their read completes or times out. Requests being
    // answered get a bounded grace period; the loop stops as soon as none is left.
    impl_->StopWhenIdle(std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
  });
}

void HttpServer::StopOnSignals() {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {} received, shutting down", sig);
    Stop();
  });
}

}  // namespace cinesis::server
