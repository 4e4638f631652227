// Throwaway Redis and PostgreSQL servers for tests: each runs in a fresh temp directory,
// listens on a free 127.0.0.1 port only, is started on first use and stopped (by its PID)
// when the test program exits. A server whose binaries are missing yields an error
// message that the tests report as a failure; they are never skipped.
//
// The servers are children of the test process (no daemonizing); should the test process
// die without stopping them, the kernel sends them a signal (PR_SET_PDEATHSIG).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cinesis::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "cinesis-test") {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Credentials a child switches to before exec (used to run PostgreSQL when we are root).
struct RunAs {
  bool enabled = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// A free TCP port on 127.0.0.1 (bound then released; the caller retries if it is taken
// again before use). 0 on failure.
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

inline bool IsExecutable(const std::string& path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0 && fs::is_regular_file(path);
}

// `name` in $PATH or in `extra` directories; empty when not found.
inline std::string FindProgram(const std::string& name,
                               const std::vector<std::string>& extra = {}) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string d; std::getline(ss, d, ':');) dirs.push_back(d);
  }
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  for (const auto& d : dirs) {
    std::string p = d + "/" + name;
    if (IsExecutable(p)) return p;
  }
  return {};
}

inline std::string ReadTail(const std::string& path, std::size_t max = 2000) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > max ? "..." + s.substr(s.size() - max) : s;
}

// fork + exec `argv` (argv[0] is a path) with stdout and stderr appended to `log_path`.
// The child gets `death_signal` when the test process dies. -1 and `error` on failure.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::string& cwd, const RunAs& as, int death_signal, std::string* error) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    *error = "cannot open " + log_path;
    return -1;
  }
  if (as.enabled) (void)fchown(log_fd, as.uid, as.gid);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    *error = "fork failed";
    return -1;
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    if (as.enabled) {
      if (setgroups(1, &as.gid) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0) _exit(126);
    }
    // After the credential change, which would clear it.
    if (death_signal != 0) {
      if (prctl(PR_SET_PDEATHSIG, death_signal) != 0 || getppid() != parent) _exit(126);
    }
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

// True while `pid` (our child) has not exited; reaps it when it has.
inline bool ChildAlive(pid_t pid, int* status = nullptr) {
  int st = 0;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == 0) return true;
  if (status != nullptr) *status = st;
  return false;
}

// Sends `sig` to our child `pid`, waits up to `grace`, then SIGKILL.
inline void StopChild(pid_t pid, int sig, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  kill(pid, sig);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ChildAlive(pid)) return;
    std::this_thread::sleep_for(10ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Runs `argv` to completion (killed after `timeout`); its exit code, or -1.
inline int RunToExit(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::string& cwd, const RunAs& as, std::chrono::milliseconds timeout,
                     std::string* error) {
  pid_t pid = Spawn(argv, log_path, cwd, as, SIGKILL, error);
  if (pid < 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (ChildAlive(pid, &status)) {
    if (std::chrono::steady_clock::now() > deadline) {
      StopChild(pid, SIGKILL, 1000ms);
      *error = argv[0] + " timed out";
      return -1;
    }
    std::this_thread::sleep_for(5ms);
  }
  if (!WIFEXITED(status)) {
    *error = argv[0] + " died with signal " + std::to_string(WTERMSIG(status));
    return -1;
  }
  return WEXITSTATUS(status);
}

// Sends one inline command to a Redis server on a fresh connection; the first reply
// line ("+PONG", "-ERR ...", ":3"), or empty on a connection failure.
inline std::string RedisInline(int port, const std::string& command) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string line = command + "\r\n";
    if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
      char c;
      while (recv(fd, &c, 1, 0) == 1 && c != '\n') {
        if (c != '\r') reply += c;
      }
    }
  }
  close(fd);
  return reply;
}

class RedisServer {
 public:
  ~RedisServer() { Stop(); }

  // Empty on success, else why the server could not be started.
  std::string Start() {
    std::string bin;
    if (const char* env = std::getenv("CINESIS_REDIS_SERVER")) bin = env;
    if (bin.empty()) bin = FindProgram("redis-server", {"/usr/bin", "/usr/sbin", "/usr/local/bin"});
    if (!IsExecutable(bin)) {
      return "redis-server not found (PATH, /usr/bin, /usr/sbin, $CINESIS_REDIS_SERVER): install "
             "the redis-server package (scripts/install-deps.sh)";
    }
    dir_ = std::make_unique<TempDir>("cinesis-redis");
    if (!dir_->ok()) return "cannot create a temp dir for redis-server";
    std::string log = dir_->path() + "/redis.log";
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreeLoopbackPort();
      if (port_ == 0) return "no free loopback port";
      std::string error;
      pid_ =
          Spawn({bin, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--daemonize", "no", "--dir", dir_->path(), "--logfile", ""},
                log, dir_->path(), RunAs{}, SIGTERM, &error);
      if (pid_ < 0) return "cannot start redis-server: " + error;
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (std::chrono::steady_clock::now() < deadline) {
        if (!ChildAlive(pid_)) break;
        if (RedisInline(port_, "PING") == "+PONG") return {};
        std::this_thread::sleep_for(20ms);
      }
      StopChild(pid_, SIGKILL, 1000ms);
      pid_ = -1;
      last_error = "redis-server did not come up on 127.0.0.1:" + std::to_string(port_) +
                   "; log:\n" + ReadTail(log);
    }
    return last_error;
  }

  void Stop() {
    if (pid_ > 0) StopChild(pid_, SIGTERM, 5000ms);
    pid_ = -1;
    dir_.reset();
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

class PostgresServer {
 public:
  ~PostgresServer() { Stop(); }

  // Empty on success, else why the server could not be started.
  std::string Start() {
    std::string bindir = FindBinDir();
    if (bindir.empty()) {
      return "PostgreSQL server binaries (initdb, postgres) not found in $CINESIS_PG_BINDIR, "
             "/usr/lib/postgresql/*/bin or PATH: install the postgresql package "
             "(scripts/install-deps.sh)";
    }
    bindir_ = bindir;
    if (geteuid() == 0) {  // initdb and postgres refuse to run as root
      passwd* pw = getpwnam("postgres");
      if (pw == nullptr)
        return "running as root, but there is no 'postgres' user to run PostgreSQL as";
      as_ = RunAs{true, pw->pw_uid, pw->pw_gid};
    }
    dir_ = std::make_unique<TempDir>("cinesis-pg");
    if (!dir_->ok()) return "cannot create a temp dir for PostgreSQL";
    if (as_.enabled && chown(dir_->path().c_str(), as_.uid, as_.gid) != 0) {
      return "cannot chown " + dir_->path() + " to the postgres user";
    }
    chmod(dir_->path().c_str(), 0700);
    std::string data = dir_->path() + "/data";
    std::string error;
    std::string initdb_log = dir_->path() + "/initdb.log";
    int rc = RunToExit({bindir + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E",
                        "UTF8", "--locale=C", "--no-sync"},
                       initdb_log, dir_->path(), as_, 60s, &error);
    if (rc != 0)
      return "initdb failed (" + (error.empty() ? "exit " + std::to_string(rc) : error) + "):\n" +
             ReadTail(initdb_log);
    std::string log = dir_->path() + "/postgres.log";
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreeLoopbackPort();
      if (port_ == 0) return "no free loopback port";
      pid_ = Spawn(
          {bindir + "/postgres", "-D", data, "-p", std::to_string(port_), "-k", dir_->path(), "-c",
           "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
           "full_page_writes=off", "-c", "max_connections=100"},
          log, dir_->path(), as_, SIGQUIT, &error);
      if (pid_ < 0) return "cannot start postgres: " + error;
      auto deadline = std::chrono::steady_clock::now() + 30s;
      while (std::chrono::steady_clock::now() < deadline) {
        if (!ChildAlive(pid_)) break;
        std::string e;
        if (RunToExit({bindir + "/pg_isready", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_),
                       "-U", "postgres", "-d", "postgres", "-t", "1"},
                      "/dev/null", "/", RunAs{}, 5s, &e) == 0) {
          return {};
        }
        std::this_thread::sleep_for(50ms);
      }
      StopChild(pid_, SIGKILL, 1000ms);
      pid_ = -1;
      last_error = "postgres did not come up on 127.0.0.1:" + std::to_string(port_) + "; log:\n" +
                   ReadTail(log);
    }
    return last_error;
  }

  void Stop() {
    if (pid_ > 0) StopChild(pid_, SIGINT, 10000ms);  // fast shutdown
    pid_ = -1;
    dir_.reset();
  }

  std::string conninfo(const std::string& dbname = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
  }
  int port() const { return port_; }

  // Runs SQL through psql; empty on success, else the error and psql's output.
  std::string Psql(const std::string& sql, const std::string& dbname = "postgres") const {
    std::string log = dir_->path() + "/psql.log";
    std::error_code ec;
    fs::remove(log, ec);
    std::string error;
    int rc = RunToExit({bindir_ + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                        "-p", std::to_string(port_), "-U", "postgres", "-d", dbname, "-c", sql},
                       log, "/", RunAs{}, 30s, &error);
    if (rc == 0) return {};
    return "psql failed (" + (error.empty() ? "exit " + std::to_string(rc) : error) +
           "): " + ReadTail(log);
  }

 private:
  static std::string FindBinDir() {
    auto has = [](const std::string& d) {
      return IsExecutable(d + "/initdb") && IsExecutable(d + "/postgres") &&
             IsExecutable(d + "/pg_isready") && IsExecutable(d + "/psql");
    };
    if (const char* env = std::getenv("CINESIS_PG_BINDIR")) return has(env) ? env : "";
    std::string best;
    int best_version = -1;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      std::string d = e.path().string() + "/bin";
      int version = std::atoi(e.path().filename().c_str());
      if (has(d) && version > best_version) {
        best = d;
        best_version = version;
      }
    }
    if (!best.empty()) return best;
    std::string initdb = FindProgram("initdb");
    if (!initdb.empty()) {
      std::string d = fs::path(initdb).parent_path().string();
      if (has(d)) return d;
    }
    return {};
  }

  std::unique_ptr<TempDir> dir_;
  std::string bindir_;
  RunAs as_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// One server of each kind per test program, started on first use (from the main thread:
// the death signal is tied to the thread that forked) and stopped at exit. `error` gets
// the start failure, the same for every caller.
template <typename Server>
Server* SharedServer(std::string* error) {
  static std::mutex mu;
  static std::unique_ptr<Server> server;
  static std::optional<std::string> start_error;
  std::lock_guard lock(mu);
  if (!start_error) {
    server = std::make_unique<Server>();
    start_error = server->Start();
    if (!start_error->empty()) server.reset();
  }
  *error = *start_error;
  return server.get();
}

}  // namespace cinesis::testing
