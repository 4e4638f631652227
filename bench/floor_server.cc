// floor_server: the least an HTTP/1.1 keep-alive server on this machine can spend per request.
//
//   build/release/bench/cinesis-floor-server PORT [THREADS]
//
// One epoll loop per thread (SO_REUSEPORT listeners), no allocation per request, every
// answer a fixed text chosen by X-Amz-Target: enough Kinesis for `cinesis bench --scenario
// put-record` (CreateStream, DescribeStreamSummary, DescribeStream, PutRecord, DeleteStream)
// and nothing more. It stores nothing and checks nothing. Its server CPU per request, from
// `cinesis bench --server-pid`, is the floor that cinesis's PutRecord cost is set against in
// docs/benchmarks.md: what the kernel's loopback TCP, epoll and one read and one write per
// request cost before any parsing, validation or storage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

std::string Answer(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

const std::string kEmpty = Answer("{}");
const std::string kSummary =
    Answer(R"({"StreamDescriptionSummary":{"StreamStatus":"ACTIVE","OpenShardCount":4}})");
const std::string kDescribe = Answer(
    R"({"StreamDescription":{"StreamStatus":"ACTIVE","HasMoreShards":false,"Shards":[)"
    R"({"ShardId":"shardId-000000000000","SequenceNumberRange":{"StartingSequenceNumber":"1"}},)"
    R"({"ShardId":"shardId-000000000001","SequenceNumberRange":{"StartingSequenceNumber":"1"}},)"
    R"({"ShardId":"shardId-000000000002","SequenceNumberRange":{"StartingSequenceNumber":"1"}},)"
    R"({"ShardId":"shardId-000000000003","SequenceNumberRange":{"StartingSequenceNumber":"1"}}]}})");
const std::string kPut =
    Answer(R"({"SequenceNumber":"49655000000000000000000000000000000000000000000000000000",)"
           R"("ShardId":"shardId-000000000000"})");

const std::string& AnswerFor(std::string_view head) {
  const auto at = head.find("Kinesis_20131202.");
  if (at == std::string_view::npos) return kEmpty;
  const std::string_view op = head.substr(at + 17);
  if (op.rfind("PutRecord\r", 0) == 0) return kPut;
  if (op.rfind("DescribeStreamSummary", 0) == 0) return kSummary;
  if (op.rfind("DescribeStream", 0) == 0) return kDescribe;
  return kEmpty;
}

// Case-insensitive search for "content-length:" in the head; 0 when absent.
std::size_t ContentLength(std::string_view head) {
  static constexpr std::string_view kName = "content-length:";
  for (std::size_t i = 0; i + kName.size() <= head.size(); ++i) {
    bool match = true;
    for (std::size_t j = 0; j < kName.size() && match; ++j) {
      match = std::tolower(static_cast<unsigned char>(head[i + j])) == kName[j];
    }
    if (match) return std::strtoul(head.data() + i + kName.size(), nullptr, 10);
  }
  return 0;
}

void Loop(int port) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1024) != 0) {
    std::perror("floor_server: bind/listen");
    std::exit(1);
  }
  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::unordered_map<int, std::string> pending;  // bytes of a request not yet complete
  std::vector<char> buf(1 << 20);
  epoll_event events[64];
  for (;;) {
    const int n = ::epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        for (int c; (c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
      if (got <= 0) {
        pending.erase(fd);
        ::close(fd);
        continue;
      }
      std::string& in = pending[fd];
      in.append(buf.data(), static_cast<std::size_t>(got));
      std::string out;
      for (;;) {  // every complete request in `in`, answered in one write
        const auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) break;
        const std::string_view head(in.data(), end);
        const std::size_t total = end + 4 + ContentLength(head);
        if (in.size() < total) break;
        out += AnswerFor(head);
        in.erase(0, total);
      }
      if (!out.empty() && ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) {
        pending.erase(fd);
        ::close(fd);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  std::printf("floor_server listening on 127.0.0.1:%d (%d threads)\n", port, threads);
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(Loop, port);
  Loop(port);
}
