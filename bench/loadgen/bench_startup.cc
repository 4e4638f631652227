// `cinesis bench --scenario startup`: starts the server command given after `--` several
// times; each time measures exec -> first answered request (a ListStreams answered 200), the
// RSS then, and the time SIGTERM takes to end it. Process control (fork/exec, reading the
// child's "listening ... :PORT" line, stopping it) and the summary.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <iostream>
#include <regex>

#include "bench_internal.h"

namespace cinesis::app::bench {

namespace json = boost::json;

namespace {

// Forks and execs `o.command` with its stdout on `out_fd` (and stderr on /dev/null unless
// --verbose). Returns the child's pid, or -1.
pid_t Spawn(const BenchOptions& o, int out_fd) {
  std::vector<char*> argv;
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  dup2(out_fd, 1);
  if (!o.verbose) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
  }
  execvp(argv[0], argv.data());
  _exit(127);
}

// Reads the child's stdout (closing `fd` at its end) for "...listen... :PORT", keeps draining it.
class ListenWatcher {
 public:
  ListenWatcher(int fd, SteadyClock::time_point t0, bool verbose)
      : thread_([this, fd, t0, verbose] { Read(fd, t0, verbose); }) {}
  ~ListenWatcher() { Join(); }
  ListenWatcher(const ListenWatcher&) = delete;
  ListenWatcher& operator=(const ListenWatcher&) = delete;

  int port() const { return port_.load(); }
  double port_ms() const { return port_ms_.load(); }  // when the line was read; 0 before
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Read(int fd, SteadyClock::time_point t0, bool verbose) {
    static const std::regex kListen(R"(.*[Ll]isten.*:(\d+)\D*$)");
    std::string pending;
    char buf[4096];
    for (;;) {
      auto n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      if (verbose) std::cerr.write(buf, n);
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        std::smatch m;
        if (port_.load() == 0 && std::regex_match(line, m, kListen)) {
          port_ms_ = Seconds(SteadyClock::now() - t0) * 1e3;
          port_ = std::stoi(m[1].str());
        }
      }
    }
    close(fd);
  }

  std::atomic<int> port_{0};
  std::atomic<double> port_ms_{0};
  std::thread thread_;  // last: starts after the atomics exist
};

struct Answer {
  bool ready = false;   // answered ListStreams with 200
  bool exited = false;  // the child exited (and was reaped) first
  double ready_ms = 0;
};

// Polls the server with ListStreams until it answers, exits, or `timeout` seconds passed.
// The endpoint is `fixed` when given, else the port from the child's listening line.
Answer WaitFirstAnswer(pid_t pid, SteadyClock::time_point t0, double timeout,
                       const std::optional<Endpoint>& fixed, const ListenWatcher& watcher) {
  Answer a;
  int status = 0;
  std::optional<Connection> conn;
  while (Seconds(SteadyClock::now() - t0) < timeout) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      a.exited = true;
      break;
    }
    if (!conn) {
      if (fixed) {
        conn.emplace(*fixed);
      } else if (watcher.port() != 0) {
        Endpoint ep;
        ep.port = std::to_string(watcher.port());
        conn.emplace(ep);
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
    }
    Response r;
    if (conn->Call("ListStreams", "{}", r) && r.status == 200) {
      a.ready_ms = Seconds(SteadyClock::now() - t0) * 1e3;
      a.ready = true;
      break;
    }
    conn->Close();
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (conn) conn->Close();
  return a;
}

// SIGTERM, then SIGKILL after 10 s; returns the milliseconds until the child was reaped.
double Stop(pid_t pid) {
  const auto stop0 = SteadyClock::now();
  int status = 0;
  kill(pid, SIGTERM);
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (Seconds(SteadyClock::now() - stop0) > 10) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return Seconds(SteadyClock::now() - stop0) * 1e3;
}

struct StartupFigures {
  std::vector<double> ready_ms, listen_ms, rss_mb, stop_ms;
};

// One start: spawn, wait for the first answer, sample the RSS, stop. False when the server
// did not answer (or could not be started).
bool StartOnce(const BenchOptions& o, int run, double timeout, const std::optional<Endpoint>& fixed,
               StartupFigures& f) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  const auto t0 = SteadyClock::now();
  const pid_t pid = Spawn(o, fds[1]);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return false;
  }
  ListenWatcher watcher(fds[0], t0, o.verbose);
  const Answer a = WaitFirstAnswer(pid, t0, timeout, fixed, watcher);
  double rss = -1;
  if (a.ready) {
    f.ready_ms.push_back(a.ready_ms);
    rss = SampleProcess(pid).rss_mb;
    f.rss_mb.push_back(rss);
    if (watcher.port_ms() > 0) f.listen_ms.push_back(watcher.port_ms());
  }
  if (!a.exited) f.stop_ms.push_back(Stop(pid));
  watcher.Join();
  if (!o.quiet) {
    std::cerr << "[startup " << run + 1 << "/" << o.runs << "] "
              << (a.ready ? "first answer after " + Fixed(a.ready_ms, 1) + " ms, rss " +
                                Fixed(rss, 1) + " MB"
                          : std::string(a.exited ? "server exited before answering"
                                                 : "no answer before the timeout"))
              << std::endl;
  }
  return a.ready;
}

json::object Stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  json::object s;
  if (v.empty()) return s;
  s["min"] = v.front();
  s["median"] = v[v.size() / 2];
  s["max"] = v.back();
  return s;
}

void ReportStartup(const BenchOptions& o, const StartupFigures& f) {
  const auto ready = Stats(f.ready_ms);
  const auto rss = Stats(f.rss_mb);
  std::ostream& out = o.json ? std::cerr : std::cout;
  out << "\ncinesis bench: startup of `" << o.command.front() << " ...`, " << o.runs << " runs\n"
      << "  first answered request  min " << Fixed(ready.at("min").as_double(), 1) << " ms, median "
      << Fixed(ready.at("median").as_double(), 1) << " ms, max "
      << Fixed(ready.at("max").as_double(), 1) << " ms\n";
  if (!f.listen_ms.empty()) {
    out << "  listening line printed  median "
        << Fixed(Stats(f.listen_ms).at("median").as_double(), 1) << " ms\n";
  }
  out << "  rss when ready          median " << Fixed(rss.at("median").as_double(), 1) << " MB\n";
  if (!f.stop_ms.empty())
    out << "  SIGTERM to exit         median "
        << Fixed(Stats(f.stop_ms).at("median").as_double(), 1) << " ms\n";
  out.flush();
  if (!o.json) return;
  json::object j;
  j["label"] = o.label;
  j["scenario"] = "startup";
  j["runs"] = o.runs;
  j["ready_ms"] = ready;
  j["listen_ms"] = Stats(f.listen_ms);
  j["rss_mb"] = rss;
  j["stop_ms"] = Stats(f.stop_ms);
  std::cout << json::serialize(j) << std::endl;
}

}  // namespace

int RunStartup(const BenchOptions& o) {
  if (o.command.empty()) {
    std::cerr << "cinesis bench: startup needs the server command after --\n";
    return 2;
  }
  std::optional<Endpoint> fixed;
  if (o.endpoint_option && o.endpoint_option->count() > 0) {
    fixed.emplace();
    if (!ParseEndpoint(o.endpoint, *fixed)) {
      std::cerr << "cinesis bench: --endpoint must look like http://127.0.0.1:4567\n";
      return 2;
    }
  }
  const double timeout = ParseDuration(o.timeout).value_or(60);
  StartupFigures figures;
  for (int run = 0; run < o.runs; ++run) {
    if (!StartOnce(o, run, timeout, fixed, figures)) return 1;
  }
  ReportStartup(o, figures);
  return 0;
}

}  // namespace cinesis::app::bench
