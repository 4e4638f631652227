// `cinesis bench`: put scenarios with more than kThreadedConnections connections. A thread per
// connection does not scale to thousands (stacks, scheduling, and the threads compete with the
// server for the cores), so every connection is an asynchronous call loop — connect, write the
// prebuilt request, read the answer, count, next — and --io-threads Asio event loops run them.
// Each loop counts into one Worker, so the reporter reads a few histograms, not thousands.
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <iostream>
#include <optional>

#include "bench_internal.h"

namespace cinesis::app::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool Bench::OnEventLoops(const std::string& scenario) const {
  return (scenario == "put-records" || scenario == "put-record") &&
         o_.connections > kThreadedConnections;
}

int Bench::EventLoops(const std::string& scenario) const {
  return OnEventLoops(scenario) ? std::min(o_.io_threads, o_.connections) : 0;
}

bool Bench::EnsureDescriptors() const {
  const rlim_t need = static_cast<rlim_t>(o_.connections) + kSpareDescriptors;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return true;  // unknown: let connect() tell
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need) return true;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) {
    std::cerr << "cinesis bench: --connections " << o_.connections << " needs " << need
              << " open files, but their hard limit is " << lim.rlim_max
              << " (raise it, e.g. ulimit -Hn, or use fewer connections)\n";
    return false;
  }
  // Up to the hard limit, as the server does at start.
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? need : lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    raised.rlim_cur = need;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      std::cerr << "cinesis bench: --connections " << o_.connections << " needs " << need
                << " open files; the limit is " << lim.rlim_cur << " and could not be raised\n";
      return false;
    }
  }
  return true;
}

// One event loop and its connections. Everything here runs on the loop's thread.
class AsyncPutLoad {
 public:
  AsyncPutLoad(Bench& bench, Worker& w, Op op, std::uint64_t target)
      : b_(bench),
        w_(w),
        op_(op),
        target_(target),
        per_call_(op == kPutRecords ? static_cast<std::uint64_t>(bench.o_.batch) : 1) {}

  void Run(int loop, int loops) {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    resolved_ = resolver.resolve(b_.ep_.host, b_.ep_.port, ec);
    if (ec) {
      Response r;
      r.error = "resolve " + b_.ep_.host + ": " + ec.message();
      b_.NoteError(w_, r);
      b_.stop_ = true;
      w_.done = true;
      return;
    }
    requests_ = b_.RequestPool(loop, op_ == kPutRecords);
    for (int i = loop; i < b_.o_.connections; i += loops) {
      conns_.push_back(std::make_unique<Conn>(*this, i));
    }
    active_ = conns_.size();
    for (auto& c : conns_) c->Next();
    Watch();
    ioc_.run();
    w_.done = true;
  }

 private:
  class Conn {
   public:
    Conn(AsyncPutLoad& load, int index)
        : load_(load),
          index_(index),
          socket_(load.ioc_),
          retry_(load.ioc_),
          next_(static_cast<std::size_t>(index) % load.requests_.size()) {}

    // The next call, or the end of this connection's loop.
    void Next() {
      Bench& b = load_.b_;
      if (b.stop_.load(std::memory_order_relaxed) ||
          (load_.target_ > 0 &&
           b.claimed_.fetch_add(load_.per_call_, std::memory_order_relaxed) >= load_.target_)) {
        return End();
      }
      request_ = &load_.requests_[next_];
      next_ = (next_ + 1) % load_.requests_.size();
      t0_ = SteadyClock::now();
      if (open_) return Write();
      asio::async_connect(socket_, load_.resolved_,
                          [this](beast::error_code ec, const tcp::endpoint&) {
                            if (ec) return Failed("connect: " + ec.message(), 0, {});
                            socket_.set_option(tcp::no_delay(true), ec);
                            buffer_.clear();
                            open_ = true;
                            load_.w_.connects.fetch_add(1, std::memory_order_relaxed);
                            Write();
                          });
    }

    // Stops a call still waiting for the server (the grace after stop is over).
    void Abort() {
      beast::error_code ec;
      socket_.close(ec);
      retry_.cancel();
    }

   private:
    void Write() {
      asio::async_write(
          socket_, asio::buffer(*request_), [this](beast::error_code ec, std::size_t) {
            if (ec) return Failed("write: " + ec.message(), 0, {});
            parser_.emplace();
            parser_->body_limit(std::uint64_t{1} << 30);
            parser_->header_limit(64 << 10);
            http::async_read(socket_, buffer_, *parser_,
                             [this](beast::error_code read_ec, std::size_t) { OnRead(read_ec); });
          });
    }

    void OnRead(beast::error_code ec) {
      if (ec) return Failed("read: " + ec.message(), 0, {});
      const auto ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0_).count());
      auto& res = parser_->get();
      if (!res.keep_alive()) Close();
      const int status = static_cast<int>(res.result_int());
      if (status != 200) return Failed({}, status, std::move(res.body()));
      consecutive_failures_ = 0;
      Worker& w = load_.w_;
      Bench::Count(w, load_.op_, ns);
      std::uint64_t failed = 0;
      if (load_.op_ == kPutRecords) {
        const auto f = ScanInt(res.body(), "FailedRecordCount");
        failed = f > 0 ? std::min(static_cast<std::uint64_t>(f), load_.per_call_) : 0;
      }
      if (failed > 0) {
        w.failed.fetch_add(failed, std::memory_order_relaxed);
        if (load_.target_ > 0) load_.b_.claimed_.fetch_sub(failed, std::memory_order_relaxed);
      }
      w.put.fetch_add(load_.per_call_ - failed, std::memory_order_relaxed);
      Next();
    }

    // A call that failed: a transport failure (`error`; the connection is reopened after
    // 10 ms) or an HTTP status other than 200. As on the threads, 50 in a row stop the run.
    void Failed(std::string error, int status, std::string body) {
      Bench& b = load_.b_;
      Response r;
      r.status = status;
      r.error = std::move(error);
      r.body = std::move(body);
      b.NoteError(load_.w_, r);
      if (load_.target_ > 0) b.claimed_.fetch_sub(load_.per_call_, std::memory_order_relaxed);
      if (++consecutive_failures_ >= 50 &&
          !b.stop_.exchange(true)) {  // said once, not per connection
        std::cerr << "cinesis bench: 50 consecutive failures on connection " << index_
                  << ", giving up\n";
        b.incomplete_ = true;  // the run did not last its duration: exit 1
      }
      if (status != 0) return Next();
      Close();
      retry_.expires_after(std::chrono::milliseconds(10));
      retry_.async_wait([this](beast::error_code ec) {
        if (ec) return End();
        Next();
      });
    }

    void Close() {
      beast::error_code ec;
      socket_.shutdown(tcp::socket::shutdown_both, ec);
      socket_.close(ec);
      open_ = false;
    }

    void End() {
      Close();
      --load_.active_;
    }

    AsyncPutLoad& load_;
    const int index_;
    tcp::socket socket_;
    asio::steady_timer retry_;
    beast::flat_buffer buffer_;
    std::optional<http::response_parser<http::string_body>> parser_;
    const std::string* request_ = nullptr;
    std::size_t next_;
    SteadyClock::time_point t0_;
    bool open_ = false;
    int consecutive_failures_ = 0;
  };

  // Every 10 ms: once the run stops, calls in flight get 10 s to finish, then are aborted.
  // The loop ends when no connection is active (its run() then returns).
  void Watch() {
    watch_.expires_after(std::chrono::milliseconds(10));
    watch_.async_wait([this](beast::error_code) {
      if (active_ == 0) return;
      if (b_.stop_.load(std::memory_order_relaxed)) {
        const auto now = SteadyClock::now();
        if (!stopped_at_) stopped_at_ = now;
        if (now - *stopped_at_ > std::chrono::seconds(10)) {
          for (auto& c : conns_) c->Abort();
          return;
        }
      }
      Watch();
    });
  }

  Bench& b_;
  Worker& w_;
  const Op op_;
  const std::uint64_t target_;
  const std::uint64_t per_call_;
  asio::io_context ioc_{1};
  asio::steady_timer watch_{ioc_};
  tcp::resolver::results_type resolved_;
  std::vector<std::string> requests_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::size_t active_ = 0;
  std::optional<SteadyClock::time_point> stopped_at_;
};

void Bench::AsyncPutLoop(int loop, int loops, Worker& w, Op op, std::uint64_t target) {
  AsyncPutLoad load(*this, w, op, target);
  load.Run(loop, loops);
}

}  // namespace cinesis::app::bench
