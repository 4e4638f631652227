// A tiny HTTP/1.1 server on 127.0.0.1:<free port> for unit tests (Boost.Beast, synchronous):
// one thread accepts, one thread per connection answers one request and closes it
// (Connection: close). Every request is recorded. The handler runs on connection threads
// (it must be thread-safe) and may block (e.g. to hold a refresh in flight).
#pragma once

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cinesis::testing {

class FakeHttp {
 public:
  struct Request {
    std::string method;
    std::string target;  // path and query
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string Header(const std::string& lower_name) const {
      auto it = headers.find(lower_name);
      return it == headers.end() ? std::string() : it->second;
    }
    bool Has(const std::string& lower_name) const { return headers.count(lower_name) != 0; }
  };
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit FakeHttp(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeHttp() {
    stop_ = true;
    // Wake the blocking accept with a connection of our own.
    boost::system::error_code ec;
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(conn_threads_);
    }
    for (auto& t : threads) t.join();
  }
  FakeHttp(const FakeHttp&) = delete;
  FakeHttp& operator=(const FakeHttp&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  unsigned short port() const { return port_; }

  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Requests whose target starts with `prefix` (any method when `method` is empty).
  int Count(const std::string& prefix, const std::string& method = "") const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& r : requests_) {
      if (r.target.rfind(prefix, 0) == 0 && (method.empty() || r.method == method)) ++n;
    }
    return n;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(io_);
      acceptor_.accept(sock, ec);
      if (stop_) return;
      if (ec) continue;
      std::lock_guard lock(mu_);
      conn_threads_.emplace_back([this, s = std::move(sock)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(boost::asio::ip::tcp::socket sock) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    boost::beast::error_code ec;
    http::read(sock, buf, req, ec);
    if (ec) return;
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    {
      std::lock_guard lock(mu_);
      requests_.push_back(r);
    }
    const Reply rep = handler_(r);
    http::response<http::string_body> res{static_cast<http::status>(rep.status), req.version()};
    res.set(http::field::content_type, rep.content_type);
    res.body() = rep.body;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(sock, res, ec);
    sock.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  }

  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<std::thread> conn_threads_;
  std::vector<Request> requests_;
};

}  // namespace cinesis::testing
