// The HTTP server over the real engine and disk storage: where requests run (the heavy-request
// pool) and how durable writes are acknowledged from there.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "fault_env.h"
#include "storage/log.h"

namespace cinesis {
namespace {

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
    const std::string req =
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: Kinesis_20131202." + operation +
        "\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Date: 20261203T000000Z\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/kinesis/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
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

}  // namespace
}  // namespace cinesis
