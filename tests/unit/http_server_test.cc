// The HTTP server over the real engine and disk storage: where requests run (the heavy-request
// pool), how durable writes are acknowledged from there, and what a request on the pool keeps
// alive (its connection's context, its HTTP/2 stream's body).
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/sigv4_verify.h"
#include "common/base64.h"
#include "common/sigv4.h"
#include "engine/engine.h"
#include "fault_env.h"
#include "server/session_common.h"
#include "storage/log.h"

namespace cinesis {
namespace {

// A signed-looking Kinesis JSON request over HTTP/1.1 (signatures are not checked by default).
std::string KinesisHttp1(const std::string& operation, const std::string& body) {
  return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: Kinesis_20131202." + operation +
         "\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Date: 20261203T000000Z\r\n"
         "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/kinesis/"
         "aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// One keep-alive HTTP/1.1 connection to 127.0.0.1, written and read with plain sockets.
class Connection {
 public:
  explicit Connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return connected_; }

  // Sends a signed-looking Kinesis JSON request (signatures are not checked by default).
  bool Send(const std::string& operation, const std::string& body) {
    const std::string req = KinesisHttp1(operation, body);
    return ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }

  // Whether an answer's first bytes arrive within `wait`.
  bool Readable(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }

  // Reads one whole answer (headers and a Content-Length body); empty after `wait` without one.
  std::string ReadAnswer(std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    std::string got;
    for (;;) {
      const auto head_end = got.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto cl = got.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) {
          const std::size_t n = std::stoul(got.substr(cl + 16));
          if (got.size() >= head_end + 4 + n) return got;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !Readable(left)) return {};
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return {};
      got.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// The records of stream "s"'s first shard from TRIM_HORIZON (one GetRecords call); a failed
// call fails the test and reads as none.
std::vector<api::Record> FirstShardRecords(engine::Engine& engine) {
  api::GetShardIteratorInput gi;
  gi.stream.stream_name = "s";
  gi.shard_id = "shardId-000000000000";
  gi.shard_iterator_type = api::ShardIteratorType::kTrimHorizon;
  auto it = engine.GetShardIterator(gi);
  if (!it.ok()) {
    ADD_FAILURE() << it.status().ToString();
    return {};
  }
  api::GetRecordsInput g;
  g.shard_iterator = it->shard_iterator;
  auto got = engine.GetRecords(g);
  if (!got.ok()) {
    ADD_FAILURE() << got.status().ToString();
    return {};
  }
  return std::move(got->records);
}

class HttpServerDurable : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cinesis-http-server-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    storage::DiskOptions d;
    d.dir = dir_.string();
    d.env = &env_;
    auto st = storage::OpenDiskStorage(d, nullptr);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    engine::EngineOptions o;
    o.create_stream_ms = 0;
    engine_ = std::make_unique<engine::Engine>(o, std::move(st).value());
    ASSERT_TRUE(engine_->Load(nullptr).ok());
    ASSERT_TRUE(engine_->CreateStream({"s", 1, std::nullopt, {}, std::nullopt, std::nullopt}).ok());
  }
  void TearDown() override {
    env_.HoldSyncs(false);
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    if (engine_) engine_->Close();  // before the server: answers go to its io_context
    server_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::uint16_t Start(server::ServerOptions so) {
    so.host = "127.0.0.1";
    so.port = 0;
    server_ = std::make_unique<server::HttpServer>(so, *engine_, std::function<void()>{});
    auto port = server_->Listen();
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    thread_ = std::thread([this] { server_->Run(); });
    return port.ok() ? *port : 0;
  }

  std::filesystem::path dir_;
  storage::testing::FaultEnv env_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<server::HttpServer> server_;
  std::thread thread_;
};

// A write still waiting for the disk when the server stops is answered when the engine
// closes its storage, which the server's owner does after Run() returned and before the
// server is destroyed (its answer is posted to the server's io_context, still alive then);
// the write itself is on disk.
TEST_F(HttpServerDurable, StoppedWithAWriteWaitingForTheDiskTheCloseWritesIt) {
  server::ServerOptions so;
  so.threads = 1;
  const std::uint16_t port = Start(so);
  ASSERT_NE(port, 0);
  env_.HoldSyncs(true);
  Connection writer(port);
  ASSERT_TRUE(writer.connected());
  ASSERT_TRUE(
      writer.Send("PutRecord", R"({"StreamName":"s","Data":"ZGF0YQ==","PartitionKey":"k"})"));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (env_.held_syncs() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::yield();
  }
  ASSERT_GT(env_.held_syncs(), 0);
  server_->Stop();
  thread_.join();  // after the grace period: the write still waits for its sync
  std::thread closer([this] { engine_->Close(); });
  env_.HoldSyncs(false);
  closer.join();
  server_.reset();
  engine_.reset();

  storage::DiskOptions d;
  d.dir = dir_.string();
  auto st = storage::OpenDiskStorage(d, nullptr);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  engine::Engine reopened(engine::EngineOptions{}, std::move(st).value());
  ASSERT_TRUE(reopened.Load(nullptr).ok());
  const auto got = FirstShardRecords(reopened);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].data, "data");
}

// A heavy request runs on the pool for heavy requests; a write there is acknowledged by a
// callback once durable, so no pool thread waits for the disk: with every sync stalled and
// more writes waiting than the pool has threads, other heavy requests are still answered.
TEST_F(HttpServerDurable, HeavyWritesWaitingForTheDiskLeaveThePoolFree) {
  server::ServerOptions so;
  so.threads = 1;
  so.offload_body_bytes = 1;  // every request with a body is heavy
  const std::uint16_t port = Start(so);
  ASSERT_NE(port, 0);
  env_.HoldSyncs(true);
  const unsigned pool = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<Connection>> writers;
  for (unsigned i = 0; i < pool + 2; ++i) {
    writers.push_back(std::make_unique<Connection>(port));
    ASSERT_TRUE(writers.back()->connected());
    ASSERT_TRUE(writers.back()->Send(
        "PutRecord",
        R"({"StreamName":"s","Data":"ZGF0YQ==","PartitionKey":"k)" + std::to_string(i) + R"("})"));
  }
  // A heavy read while every write waits for its sync: answered.
  Connection reader(port);
  ASSERT_TRUE(reader.connected());
  ASSERT_TRUE(reader.Send("ListShards", R"({"StreamName":"s"})"));
  const std::string listed = reader.ReadAnswer(std::chrono::seconds(20));
  ASSERT_FALSE(listed.empty()) << "a heavy request waited behind writes waiting for the disk";
  EXPECT_EQ(listed.rfind("HTTP/1.1 200 ", 0), 0U) << listed;
  EXPECT_NE(listed.find("shardId-000000000000"), std::string::npos) << listed;
  // No write is acknowledged before its sync.
  for (auto& w : writers) EXPECT_FALSE(w->Readable(std::chrono::milliseconds(0)));
  env_.HoldSyncs(false);
  for (auto& w : writers) {
    const std::string put = w->ReadAnswer(std::chrono::seconds(20));
    EXPECT_EQ(put.rfind("HTTP/1.1 200 ", 0), 0U) << put;
    EXPECT_NE(put.find("\"SequenceNumber\""), std::string::npos) << put;
  }
}

// One connection served on the test's own io_context (as the fuzz harnesses do): the server's
// end of a socket pair handed to ServeCleartext with a Shared of our own; the test writes and
// reads the other end.
class ServedConnection {
 public:
  ServedConnection(boost::asio::io_context& ctx, std::shared_ptr<server::detail::Shared> shared) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client_ = fds[0];
    boost::asio::ip::tcp::socket socket(ctx);
    socket.assign(boost::asio::ip::tcp::v4(), fds[1]);
    server::detail::ServeCleartext(std::move(socket), std::move(shared));
  }
  ~ServedConnection() { ::close(client_); }
  ServedConnection(const ServedConnection&) = delete;
  ServedConnection& operator=(const ServedConnection&) = delete;

  bool Write(const std::string& bytes) {
    return ::send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Writes what the socket takes now, without waiting; the count written (0 when full).
  std::size_t WriteSome(std::string_view bytes) {
    const ssize_t n = ::send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  void EndWriting() { ::shutdown(client_, SHUT_WR); }
  // Bytes the server wrote that the test has not read yet.
  int Pending() const {
    int n = 0;
    return ::ioctl(client_, FIONREAD, &n) == 0 ? n : 0;
  }
  // What the server wrote so far (without waiting); `eof` set once it closed its end.
  std::string ReadAvailable(bool* eof) {
    std::string got;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(client_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) *eof = true;
      return got;
    }
  }

 private:
  int client_ = -1;
};

// Runs `ctx` a slice at a time until `done()` (false after `limit`: the test fails, never
// hangs).
template <class Done>
bool RunUntil(boost::asio::io_context& ctx, Done done,
              std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    ctx.run_one_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Writes `bytes` while running `ctx`, for writes larger than the socket's buffer (the server
// reads them on this same thread).
bool WriteServing(boost::asio::io_context& ctx, ServedConnection& conn, std::string_view bytes) {
  return RunUntil(ctx, [&] {
    bytes.remove_prefix(conn.WriteSome(bytes));
    return bytes.empty();
  });
}

// ---- HTTP/2 by hand: frames and HPACK literals (no Huffman, no indexing) ----

void PutHpackInt(std::string& out, std::uint8_t first, std::size_t v) {  // 7-bit prefix
  if (v < 127) {
    out.push_back(static_cast<char>(first | v));
    return;
  }
  out.push_back(static_cast<char>(first | 127));
  for (v -= 127; v >= 128; v >>= 7) out.push_back(static_cast<char>((v & 127) | 128));
  out.push_back(static_cast<char>(v));
}

std::string H2Frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                    const std::string& payload) {
  std::string f;
  const auto n = payload.size();
  f.push_back(static_cast<char>(n >> 16));
  f.push_back(static_cast<char>(n >> 8));
  f.push_back(static_cast<char>(n));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>(stream >> shift));
  return f + payload;
}

std::string H2Request(const std::vector<std::pair<std::string, std::string>>& headers,
                      const std::string& body) {
  std::string block;
  for (const auto& [name, value] : headers) {
    block.push_back(0);  // literal header field without indexing, new name
    PutHpackInt(block, 0, name.size());
    block += name;
    PutHpackInt(block, 0, value.size());
    block += value;
  }
  constexpr std::uint8_t kData = 0, kHeaders = 1, kSettings = 4;
  constexpr std::uint8_t kEndStream = 1, kEndHeaders = 4;
  return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + H2Frame(kSettings, 0, 0, "") +
         H2Frame(kHeaders, kEndHeaders, 1, block) + H2Frame(kData, kEndStream, 1, body);
}

// A PutRecord on stream 1 of a new HTTP/2 connection (signed-looking, not checked).
std::string PutRecordH2() {
  return H2Request({{":method", "POST"},
                    {":scheme", "http"},
                    {":path", "/"},
                    {":authority", "127.0.0.1"},
                    {"content-type", "application/x-amz-json-1.1"},
                    {"x-amz-target", "Kinesis_20131202.PutRecord"},
                    {"x-amz-date", "20261203T000000Z"},
                    {"authorization",
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/kinesis/"
                     "aws4_request, SignedHeaders=host;x-amz-date, Signature=00"}},
                   R"({"StreamName":"s","Data":"ZGF0YQ==","PartitionKey":"k"})");
}

// A request on the heavy-request pool is work of its connection's context until answered,
// as an asynchronous operation would be: with its write waiting for the disk and its
// connection already closed by the client, the context does not run out of work (run() does
// not return; before, it did, and the answer was posted to a context its owner may already
// have destroyed: the fuzz harness's use after free).
TEST_F(HttpServerDurable, RequestOnTheHeavyPoolKeepsItsContextRunning) {
  server::ServerOptions so;
  so.offload_body_bytes = 1;  // every request with a body is heavy
  auto shared = std::make_shared<server::detail::Shared>(so, *engine_, nullptr);
  boost::asio::io_context ctx;
  ServedConnection conn(ctx, shared);
  env_.HoldSyncs(true);
  ASSERT_TRUE(conn.Write(PutRecordH2()));
  conn.EndWriting();
  bool eof = false;
  ASSERT_TRUE(RunUntil(ctx, [&] {
    (void)conn.ReadAvailable(&eof);
    return eof && env_.held_syncs() > 0;
  }));
  // The connection is closed and the write waits for its sync: nothing else is pending, so
  // without the request counted as work poll() would find none and stop the context.
  ctx.poll();
  EXPECT_FALSE(ctx.stopped()) << "the context ran out of work while its request was unanswered";
  ctx.restart();
  env_.HoldSyncs(false);
  ASSERT_TRUE(RunUntil(ctx, [&] { return ctx.stopped(); }));
  EXPECT_EQ(shared->inflight->load(), 0);
}

// Whether the server's bytes hold a PING frame with the ACK flag (frames after its preface).
bool HasPingAck(const std::string& got) {
  std::size_t at = 0;
  while (at + 9 <= got.size()) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(got[at + i]); };
    const std::size_t len = (std::size_t{byte(0)} << 16) | (std::size_t{byte(1)} << 8) | byte(2);
    if (byte(3) == 6 && (byte(4) & 1) != 0) return true;
    at += 9 + len;
  }
  return false;
}

// A stream reset by the client while its request waits for the disk still counts as a request
// being answered (the server's stop gives it its grace period) until its answer is back.
TEST_F(HttpServerDurable, Http2ResetStreamStillCountsItsWaitingRequest) {
  auto shared =
      std::make_shared<server::detail::Shared>(server::ServerOptions{}, *engine_, nullptr);
  boost::asio::io_context ctx;
  ServedConnection conn(ctx, shared);
  env_.HoldSyncs(true);
  ASSERT_TRUE(conn.Write(PutRecordH2()));
  ASSERT_TRUE(RunUntil(ctx, [&] { return env_.held_syncs() > 0; }));
  EXPECT_EQ(shared->inflight->load(), 1);
  // RST_STREAM (CANCEL) for the stream, then a PING: its ACK means the reset was handled.
  constexpr std::uint8_t kRstStream = 3, kPing = 6;
  ASSERT_TRUE(conn.Write(H2Frame(kRstStream, 0, 1, std::string("\0\0\0\x08", 4)) +
                         H2Frame(kPing, 0, 0, std::string(8, 'p'))));
  std::string got;
  bool eof = false;
  ASSERT_TRUE(RunUntil(ctx, [&] {
    got += conn.ReadAvailable(&eof);
    return HasPingAck(got);
  }));
  EXPECT_EQ(shared->inflight->load(), 1) << "a reset stream's request waiting for the disk "
                                            "stopped counting as in flight";
  env_.HoldSyncs(false);
  ASSERT_TRUE(RunUntil(ctx, [&] { return shared->inflight->load() == 0; }));
  conn.EndWriting();
  ASSERT_TRUE(RunUntil(ctx, [&] { return ctx.stopped(); }));
}

// Whether the server's bytes (after its preface) hold a RST_STREAM frame for `stream` with
// error code `code`.
bool HasRstStream(const std::string& got, std::uint32_t stream, std::uint32_t code) {
  std::size_t at = 0;
  while (at + 9 <= got.size()) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(got[at + i]); };
    const std::size_t len = (std::size_t{byte(0)} << 16) | (std::size_t{byte(1)} << 8) | byte(2);
    const std::uint32_t id = (std::uint32_t{byte(5)} & 0x7f) << 24 | std::uint32_t{byte(6)} << 16 |
                             std::uint32_t{byte(7)} << 8 | byte(8);
    if (byte(3) == 3 && id == stream && len == 4 && at + 13 <= got.size()) {
      const std::uint32_t c = std::uint32_t{byte(9)} << 24 | std::uint32_t{byte(10)} << 16 |
                              std::uint32_t{byte(11)} << 8 | byte(12);
      if (c == code) return true;
    }
    at += 9 + len;
  }
  return false;
}

// A body past --max-body-bytes gets its 413 at once, then RST_STREAM(NO_ERROR), so that the
// client stops sending the rest (regression: the server kept granting window for data it
// ignored, without end).
TEST_F(HttpServerDurable, Http2BodyPastTheLimitIsAnsweredAndTheStreamReset) {
  server::ServerOptions so;
  so.max_body_bytes = 100;
  auto shared = std::make_shared<server::detail::Shared>(so, *engine_, nullptr);
  boost::asio::io_context ctx;
  ServedConnection conn(ctx, shared);
  std::string request = PutRecordH2();
  // PutRecordH2's last frame is its DATA with END_STREAM: replace it by 200 bytes without.
  const std::size_t data_at = request.rfind(R"({"StreamName")") - 9;
  request.resize(data_at);
  constexpr std::uint8_t kData = 0;
  ASSERT_TRUE(conn.Write(request + H2Frame(kData, 0, 1, std::string(200, 'x'))));
  std::string got;
  bool eof = false;
  ASSERT_TRUE(RunUntil(ctx, [&] {
    got += conn.ReadAvailable(&eof);
    return HasRstStream(got, 1, 0);
  })) << "no RST_STREAM(NO_ERROR) after the early 413";
  conn.EndWriting();
  ASSERT_TRUE(RunUntil(ctx, [&] { return ctx.stopped(); }));
}

// A WebSocket frame from a client: text, final, masked (as RFC 6455 requires of clients).
std::string WsClientFrame(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    for (int shift = 8; shift >= 0; shift -= 8) f.push_back(static_cast<char>(n >> shift));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>(n >> shift));
  }
  const char mask[4] = {0x11, 0x22, 0x33, 0x44};
  f.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

std::string WsPut(const std::string& id, const std::string& base64_data) {
  return WsClientFrame(R"({"op":"put","id":")" + id +
                       R"(","stream":"s","records":[{"key":"k","data":")" + base64_data +
                       R"("}]})");
}

// The upgrade of `conn` to a WebSocket at /_cinesis/ws; false if not switched.
bool WsUpgrade(boost::asio::io_context& ctx, ServedConnection& conn) {
  if (!conn.Write("GET /_cinesis/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n"))
    return false;
  std::string got;
  bool eof = false;
  if (!RunUntil(ctx, [&] {
        got += conn.ReadAvailable(&eof);
        return got.find("\r\n\r\n") != std::string::npos || eof;
      }))
    return false;
  return got.rfind("HTTP/1.1 101 ", 0) == 0;
}

// A connection served on the test's own io_context by a server with the live endpoints
// (/_cinesis/ws), as ServedConnection.
struct WsServed {
  explicit WsServed(engine::Engine& engine) : shared(Make(engine)), conn(ctx, shared) {}
  static std::shared_ptr<server::detail::Shared> Make(engine::Engine& engine) {
    server::ServerOptions so;
    so.live = &engine;
    return std::make_shared<server::detail::Shared>(so, engine, nullptr);
  }
  std::shared_ptr<server::detail::Shared> shared;
  boost::asio::io_context ctx;
  ServedConnection conn;
};

// A put over the WebSocket (/_cinesis/ws) waiting for the disk counts as a request being
// answered (the server's stop gives it its grace period) until its answer is written.
TEST_F(HttpServerDurable, AWebSocketPutWaitingForTheDiskCountsAsBeingAnswered) {
  WsServed ws(*engine_);
  ASSERT_TRUE(WsUpgrade(ws.ctx, ws.conn));
  EXPECT_EQ(ws.shared->inflight->load(), 0);
  env_.HoldSyncs(true);
  ASSERT_TRUE(ws.conn.Write(WsPut("p1", "ZGF0YQ==")));
  ASSERT_TRUE(RunUntil(ws.ctx, [&] { return env_.held_syncs() > 0; }));
  EXPECT_EQ(ws.shared->inflight->load(), 1)
      << "a WebSocket put waiting for the disk is not counted as being answered";
  env_.HoldSyncs(false);
  std::string got;
  bool eof = false;
  ASSERT_TRUE(RunUntil(ws.ctx, [&] {
    got += ws.conn.ReadAvailable(&eof);
    return got.find("put_result") != std::string::npos || eof;
  }));
  EXPECT_NE(got.find("\"put_result\""), std::string::npos) << got;
  EXPECT_NE(got.find("shardId-000000000000"), std::string::npos) << got;
  // (The write's completion runs after the client has the bytes.)
  EXPECT_TRUE(RunUntil(ws.ctx, [&] { return ws.shared->inflight->load() == 0; }));
  // Closed, and nothing left that holds the context (a flusher may still hold the answer's
  // hand-off for a moment after running it).
  ws.conn.EndWriting();
  ASSERT_TRUE(RunUntil(ws.ctx, [&] { return ws.ctx.stopped(); }));
}

// ... and while its answer waits behind a message the client has not taken yet: here a tail
// of ~2.8 MB of records the client does not read, so the connection's write stays blocked.
TEST_F(HttpServerDurable, AWebSocketPutCountsUntilItsAnswerIsWritten) {
  WsServed ws(*engine_);
  ASSERT_TRUE(WsUpgrade(ws.ctx, ws.conn));
  std::string big;  // Base64 of 700,002 bytes
  for (int i = 0; i < 233334; ++i) big += "eHh4";
  std::string got;
  bool eof = false;
  for (const std::string id : {"a1", "a2", "a3"}) {
    ASSERT_TRUE(WriteServing(ws.ctx, ws.conn, WsPut(id, big)));
    ASSERT_TRUE(RunUntil(ws.ctx, [&] {
      got += ws.conn.ReadAvailable(&eof);
      return got.find("\"id\":\"" + id + "\"") != std::string::npos || eof;
    })) << id;
  }
  ASSERT_EQ(got.find("\"error\""), std::string::npos) << got.substr(0, 500);
  got.clear();
  ASSERT_TRUE(
      ws.conn.Write(WsClientFrame(R"({"op":"tail","id":"t","stream":"s","from":"TRIM_HORIZON"})")));
  // The first records message is larger than the socket's buffer: its write blocks.
  ASSERT_TRUE(RunUntil(ws.ctx, [&] { return ws.conn.Pending() >= 100'000; }));
  env_.HoldSyncs(true);
  ASSERT_TRUE(ws.conn.Write(WsPut("p", "ZGF0YQ==")));
  ASSERT_TRUE(RunUntil(ws.ctx, [&] { return env_.held_syncs() > 0; }));
  env_.HoldSyncs(false);
  // Durable, answered and queued behind the blocked write: still counted (for a second, with
  // the answer's hand-off run; it must not stop counting before the client reads).
  EXPECT_FALSE(RunUntil(
      ws.ctx, [&] { return ws.shared->inflight->load() == 0; }, std::chrono::seconds(1)))
      << "a WebSocket put stopped counting before its answer was written";
  ASSERT_TRUE(RunUntil(ws.ctx, [&] {
    got += ws.conn.ReadAvailable(&eof);
    return got.find("\"id\":\"p\"") != std::string::npos || eof;
  }));
  EXPECT_NE(got.find("\"put_result\",\"id\":\"p\""), std::string::npos);
  ASSERT_TRUE(RunUntil(ws.ctx, [&] { return ws.shared->inflight->load() == 0; }));
  ws.conn.EndWriting();
  ASSERT_TRUE(RunUntil(ws.ctx, [&] {
    ws.conn.ReadAvailable(&eof);  // the rest of the tail, until the server closes
    return ws.ctx.stopped();
  }));
}

// Once the server stops, a WebSocket message is not taken: a put sent then is not written and
// never counts as being answered.
TEST_F(HttpServerDurable, AWebSocketPutSentOnceTheServerStopsIsNotTaken) {
  WsServed ws(*engine_);
  ASSERT_TRUE(WsUpgrade(ws.ctx, ws.conn));
  ws.shared->stopping = true;
  ASSERT_TRUE(ws.conn.Write(WsPut("late", "ZGF0YQ==")));
  std::string got;
  bool eof = false;
  // The server ends the session without an answer (its context runs out of work).
  ASSERT_TRUE(RunUntil(
      ws.ctx,
      [&] {
        got += ws.conn.ReadAvailable(&eof);
        EXPECT_EQ(ws.shared->inflight->load(), 0);
        return ws.ctx.stopped();
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(got.find("put_result"), std::string::npos) << got;
  EXPECT_TRUE(FirstShardRecords(*engine_).empty());
}

// The verifier's clock, read on the pool before the body is hashed: held there until
// released, so the test can close the connection while the request is on the pool.
class HeldClock final : public Clock {
 public:
  explicit HeldClock(EpochMillis now) : now_(now) {}
  EpochMillis NowMillis() const override {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    return now_;
  }
  bool entered() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entered_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  const EpochMillis now_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable bool entered_ = false;
  bool released_ = false;
};

// An HTTP/2 stream whose request runs on the pool keeps its body until the answer is back: the
// connection closing meanwhile (which frees what its streams hold) must not free the body the
// pool is reading. The request is signed, so it is stored only if the body it was verified
// and decoded from is intact (before, it was freed under the pool thread: ASan's report).
TEST_F(HttpServerDurable, Http2BodyOnThePoolOutlivesItsClosedConnection) {
  constexpr EpochMillis kNow = 1'790'000'000'000;
  const std::chrono::system_clock::time_point at{std::chrono::milliseconds(kNow)};
  HeldClock clock(kNow);
  api::SigV4VerifierOptions vo;
  vo.keys["AKID"] = api::SigV4Key{"secret", ""};
  vo.clock = &clock;
  server::ServerOptions so;
  so.offload_body_bytes = 1;
  so.verifier = std::make_shared<api::SigV4Verifier>(vo);
  auto shared = std::make_shared<server::detail::Shared>(so, *engine_, nullptr);

  // A PutRecord of 900 bytes of data (a body freed on close is reused, not left as it was).
  const std::string data(900, 'x');
  const std::string body =
      R"({"StreamName":"s","PartitionKey":"k","Data":")" + Base64Encode(data) + R"("})";
  sigv4::HttpRequestToSign r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"host", "127.0.0.1"},
               {"content-type", "application/x-amz-json-1.1"},
               {"x-amz-date", sigv4::AmzDate(at)},
               {"x-amz-target", "Kinesis_20131202.PutRecord"}};
  r.payload = body;
  const sigv4::SigningParams params{"us-east-1", "kinesis", at};
  const auto names = sigv4::SignedHeaderNames(r);
  std::string signed_names;
  for (const auto& n : names) signed_names += (signed_names.empty() ? "" : ";") + n;
  const std::string signature = sigv4::SignatureHex(
      sigv4::StringToSign(sigv4::CanonicalRequest(r, names, sigv4::Sha256Hex(body)), params),
      "secret", params);
  std::vector<std::pair<std::string, std::string>> h2 = {
      {":method", "POST"}, {":scheme", "http"}, {":path", "/"}, {":authority", "127.0.0.1"}};
  for (const auto& [n, v] : r.headers) {
    if (n != "host") h2.emplace_back(n, v);
  }
  h2.emplace_back("authorization",
                  "AWS4-HMAC-SHA256 Credential=AKID/" + sigv4::CredentialScope(params) +
                      ", SignedHeaders=" + signed_names + ", Signature=" + signature);

  boost::asio::io_context ctx;
  ServedConnection conn(ctx, shared);
  ASSERT_TRUE(conn.Write(H2Request(h2, body)));
  ASSERT_TRUE(RunUntil(ctx, [&] { return clock.entered(); }));
  // The request waits on the pool; the client goes away and the server closes the connection.
  conn.EndWriting();
  bool eof = false;
  ASSERT_TRUE(RunUntil(ctx, [&] {
    (void)conn.ReadAvailable(&eof);
    return eof;
  }));
  clock.Release();
  ASSERT_TRUE(RunUntil(ctx, [&] { return ctx.stopped(); }));

  // Stored: verified and decoded from the body as sent.
  const auto got = FirstShardRecords(*engine_);
  ASSERT_EQ(got.size(), 1U) << "the request was not verified from the body it was sent";
  EXPECT_EQ(got[0].data, data);
  EXPECT_EQ(got[0].partition_key, "k");
}

}  // namespace
}  // namespace cinesis
