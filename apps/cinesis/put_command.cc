// `cinesis put`: one record per argument, or per line of standard input or --file, through
// the Producer. Progress on a terminal, a summary with the rate, Ctrl-C flushes what was read
// and reports the last input line acknowledged, oversized lines are named by number.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "cinesis/producer.h"
#include "cli_util.h"
#include "client_commands.h"
#include "common/random.h"

namespace cinesis::app {
namespace {

// How long Ctrl-C waits for what was already read to be written.
constexpr auto kInterruptFlush = std::chrono::milliseconds(3000);
// How long a normal end of input waits (the records' time to live is 30 s).
constexpr auto kCloseDeadline = std::chrono::milliseconds(60'000);
constexpr auto kProgressEvery = std::chrono::milliseconds(250);

// Lines of a file descriptor, read with read(2) so that Ctrl-C (EINTR) stops a blocked read.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  enum Outcome { kLine, kEnd, kInterrupted, kError };
  Outcome Next(std::string& line) {
    for (;;) {
      const auto nl = buf_.find('\n', scan_);
      if (nl != std::string::npos) {
        line.assign(buf_, pos_, nl - pos_);
        pos_ = scan_ = nl + 1;
        return kLine;
      }
      scan_ = buf_.size();
      if (eof_) {
        if (pos_ == buf_.size()) return kEnd;
        line.assign(buf_, pos_, std::string::npos);
        pos_ = scan_ = buf_.size();
        return kLine;
      }
      if (Interrupted()) return kInterrupted;
      buf_.erase(0, pos_);
      scan_ -= pos_;
      pos_ = 0;
      const std::size_t old = buf_.size();
      buf_.resize(old + kChunk);
      const ssize_t n = ::read(fd_, buf_.data() + old, kChunk);
      buf_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
      if (n == 0) eof_ = true;
      if (n < 0 && errno != EINTR) return kError;
    }
  }

 private:
  static constexpr std::size_t kChunk = 1 << 16;
  int fd_;
  std::string buf_;
  std::size_t pos_ = 0;   // start of the next line
  std::size_t scan_ = 0;  // searched for '\n' up to here
  bool eof_ = false;
};

// What the producer acknowledged, fed by its callbacks (sender threads).
class Acks {
 public:
  void Done(std::uint64_t line, std::uint64_t bytes, const Status& st) {
    std::lock_guard lock(mu_);
    if (!st.ok()) {
      ++failed_;
      if (first_error_.ok()) {
        first_error_ = st;
        first_error_line_ = line;
      }
      return;
    }
    ++records_;
    bytes_ += bytes;
    if (line != through_ + 1) {
      ahead_.insert(line);
      return;
    }
    ++through_;
    while (!ahead_.empty() && *ahead_.begin() == through_ + 1) {
      ahead_.erase(ahead_.begin());
      ++through_;
    }
  }
  void Refused(std::uint64_t line, const Status& st) { Done(line, 0, st); }

  struct Snapshot {
    std::uint64_t records = 0, bytes = 0, failed = 0, through = 0, error_line = 0;
    Status error;
  };
  Snapshot Get() const {
    std::lock_guard lock(mu_);
    return {records_, bytes_, failed_, through_, first_error_line_, first_error_};
  }

 private:
  mutable std::mutex mu_;
  std::uint64_t records_ = 0, bytes_ = 0, failed_ = 0;
  std::uint64_t through_ = 0;      // every line up to this one is written
  std::set<std::uint64_t> ahead_;  // written lines after a gap
  Status first_error_;
  std::uint64_t first_error_line_ = 0;
};

std::string Rate(double count, double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", seconds > 0 ? count / seconds : 0.0);
  return buf;
}

std::string Megabytes(double bytes, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, bytes / 1e6);
  return buf;
}

std::string Duration(double seconds) {
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  }
  return buf;
}

}  // namespace

int ClientCommands::Put(KinesisClient& client) {
  InstallInterruptHandler();
  // Fails fast (under two seconds) when nothing answers, or the stream is missing, before
  // any input is read; the producer would otherwise retry each record for its time to live.
  if (auto summary = client.DescribeStreamSummary({{stream_, std::nullopt}}); !summary.ok()) {
    return Fail(summary.status());
  }
  int fd = STDIN_FILENO;
  if (data_.empty() && !file_.empty()) {
    fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Fail(Status(Code::kInvalidArgument, file_ + ": " + std::strerror(errno)), kExitUsage);
    }
  }
  std::uint64_t input_size = 0;  // for percent and ETA: a regular file
  if (struct stat st{}; data_.empty() && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    const off_t here = ::lseek(fd, 0, SEEK_CUR);
    input_size = static_cast<std::uint64_t>(st.st_size - (here > 0 ? here : 0));
  }

  ProducerOptions o;
  o.stream_name = stream_;
  o.linger = std::chrono::milliseconds(linger_ms_);
  auto producer = Producer::Create(client, o);
  if (!producer.ok()) return Fail(producer.status());

  Acks acks;
  std::atomic<std::uint64_t> lines_read{0};
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  // Progress on stderr when it is a terminal, rewritten in place.
  const bool show_progress = !quiet_ && ::isatty(STDERR_FILENO);
  std::mutex progress_mu;
  std::condition_variable progress_cv;
  bool progress_done = false;
  auto progress_line = [&] {
    const auto a = acks.Get();
    const double t = seconds();
    std::string text = "\r\033[K" + std::to_string(lines_read.load()) + " lines read, " +
                       std::to_string(a.records) + " records put, " + Megabytes(a.bytes) + " MB, " +
                       Megabytes(t > 0 ? a.bytes / t : 0, 2) + " MB/s, " + Rate(a.records, t) +
                       " records/s";
    if (input_size > 0) {
      const double done = static_cast<double>(a.bytes) / static_cast<double>(input_size);
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.0f%%", 100 * std::min(done, 1.0));
      text += std::string(", ") + pct;
      if (a.bytes > 0) text += ", ETA " + Duration(t * (1 - std::min(done, 1.0)) / done);
    }
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
  };
  std::thread progress;
  if (show_progress) {
    progress = std::thread([&] {
      std::unique_lock lock(progress_mu);
      while (!progress_cv.wait_for(lock, kProgressEvery, [&] { return progress_done; })) {
        progress_line();
      }
    });
  }

  // Reads and puts; stops at the end of input, on Ctrl-C or at the first refused record.
  std::uint64_t line_no = 0, accepted = 0;
  bool refused = false;
  auto put = [&](std::string text) {
    ++line_no;
    const std::uint64_t bytes = text.size() + 1;  // input bytes, for percent and MB/s
    std::string key, data;
    const std::size_t cut = key_delimiter_.empty() ? std::string::npos : text.find(key_delimiter_);
    if (cut != std::string::npos) {
      key = text.substr(0, cut);
      data = text.substr(cut + key_delimiter_.size());
    } else {
      key = partition_key_.empty() ? RandomUuid() : partition_key_;
      data = std::move(text);
    }
    const std::uint64_t n = line_no;
    Status st =
        (*producer)->Put(std::move(key), std::move(data), std::nullopt,
                         [&acks, n, bytes](const PutResult& r) { acks.Done(n, bytes, r.status); });
    if (!st.ok()) {
      acks.Refused(n, st);
      refused = true;
      return;
    }
    ++accepted;
  };
  Status read_error;
  if (!data_.empty()) {
    for (auto& d : data_) {
      if (Interrupted() || refused) break;
      lines_read.fetch_add(1);
      put(d);
    }
  } else {
    LineReader reader(fd);
    std::string line;
    while (!refused && !Interrupted()) {
      const auto outcome = reader.Next(line);
      if (outcome == LineReader::kLine) {
        lines_read.fetch_add(1);
        put(std::move(line));
        continue;
      }
      if (outcome == LineReader::kError)
        read_error = Status(Code::kIoError, std::string("reading input: ") + std::strerror(errno));
      break;
    }
    if (fd != STDIN_FILENO) ::close(fd);
  }
  const bool interrupted = Interrupted();
  if (interrupted && show_progress) {
    std::lock_guard lock(progress_mu);
    std::fputs("\r\033[Kinterrupted: writing what was read...", stderr);
  }
  const Status closed = (*producer)->Close(interrupted ? kInterruptFlush : kCloseDeadline);
  const auto m = (*producer)->metrics();
  producer->reset();  // no callback may outlive the counters it updates
  if (show_progress) {
    {
      std::lock_guard lock(progress_mu);
      progress_done = true;
    }
    progress_cv.notify_all();
    progress.join();
    progress_line();  // the final state, then the summary below it
    std::fputs("\n", stderr);
  }
  const auto a = acks.Get();
  const double t = seconds();
  std::fprintf(stderr,
               "%llu records put to %s in %.1f s (%s records/s, %s MB/s; %llu failed, %llu "
               "retries)\n",
               static_cast<unsigned long long>(a.records), stream_.c_str(), t,
               Rate(a.records, t).c_str(), Megabytes(t > 0 ? a.bytes / t : 0, 2).c_str(),
               static_cast<unsigned long long>(a.failed),
               static_cast<unsigned long long>(m.retries));
  if (interrupted) {
    std::fprintf(stderr,
                 "interrupted: %llu of %llu lines read were written; every input line up to "
                 "line %llu is written\n",
                 static_cast<unsigned long long>(a.records),
                 static_cast<unsigned long long>(line_no),
                 static_cast<unsigned long long>(a.through));
  }
  if (!a.error.ok()) {
    std::fprintf(stderr, "cinesis: line %llu: %s\n", static_cast<unsigned long long>(a.error_line),
                 a.error.ToString().c_str());
    return ExitCodeFor(a.error);
  }
  if (!read_error.ok()) return Fail(read_error, kExitInternal);
  if (interrupted) return kExitInterrupted;
  if (!closed.ok()) return Fail(closed);
  return a.records == accepted ? kExitOk : kExitInternal;
}

}  // namespace cinesis::app
