// The logging hook (include/cinesis/log.h): a level in an atomic and the sink behind a
// shared_ptr, copied under a mutex and called after the mutex is released, so a sink may
// re-enter (log, or replace itself) without deadlock, and a sink replaced while another
// thread is inside it stays alive until that call returns.
#include "cinesis/log.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "common/thread_annotations.h"

namespace cinesis {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kWarning)};

struct SinkHolder {
  Mutex mu;
  std::shared_ptr<const LogSink> sink GUARDED_BY(mu);  // null: stderr
};

SinkHolder& Holder() {
  static SinkHolder* h = new SinkHolder;  // never destroyed: usable from static destructors
  return *h;
}

void StderrSink(LogLevel level, std::string_view component, std::string_view message) {
  std::string line = "cinesis: ";
  line += LogLevelName(level);
  line += ": ";
  line += component;
  line += ": ";
  line += message;
  line += '\n';
  // One write per line, so lines from several threads do not interleave.
  (void)std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void SetLogSink(LogSink sink) {
  auto next = sink ? std::make_shared<const LogSink>(std::move(sink)) : nullptr;
  std::shared_ptr<const LogSink> previous;
  {
    SinkHolder& h = Holder();
    MutexLock lock(&h.mu);
    previous = std::exchange(h.sink, std::move(next));
  }
  // `previous` (the user's functor) is destroyed here, outside the lock.
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

bool LogEnabled(LogLevel level) {
  return level != LogLevel::kOff && static_cast<int>(level) >= g_level.load();
}

void Log(LogLevel level, std::string_view component, std::string_view message) {
  if (!LogEnabled(level)) return;
  std::shared_ptr<const LogSink> sink;
  {
    SinkHolder& h = Holder();
    MutexLock lock(&h.mu);
    sink = h.sink;
  }
  if (!sink) {
    StderrSink(level, component, message);
    return;
  }
  try {
    (*sink)(level, component, message);
  } catch (...) {
    // A throwing sink must not take a library thread down; the message is lost.
  }
}

}  // namespace cinesis
