// Logging: one hook for everything libcinesis reports (KinesisClient, Producer, Consumer,
// checkpoint and lease stores).
//
// By default messages at kWarning and above go to stderr, one line each:
//   cinesis: warning: consumer: shardId-000000000001: GetRecords failed (IOError: ...)
// Install your own sink to route them into your logging system:
//
//   ```cpp
//   cinesis::SetLogSink([](cinesis::LogLevel level, std::string_view component,
//                          std::string_view message) {
//     std::fprintf(stderr, "[%s] %.*s: %.*s\n", cinesis::LogLevelName(level).data(),
//                  static_cast<int>(component.size()), component.data(),
//                  static_cast<int>(message.size()), message.data());
//   });
//   cinesis::SetLogLevel(cinesis::LogLevel::kInfo);  // also lease waits and recoveries
//   ```
//
// `component` is "client", "producer" or "consumer". Thread safety: every function may be
// called from any thread at any time; a sink may be called from several threads at once
// (the library's own threads) and is never called while the library holds a lock, so a
// sink may call back into the library, SetLogSink included. A sink must not throw.
#pragma once

#include <functional>
#include <string_view>

#include "cinesis/export.h"

namespace cinesis {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

using LogSink =
    std::function<void(LogLevel level, std::string_view component, std::string_view message)>;

// Replaces the sink; an empty function restores the default (stderr).
CINESIS_EXPORT void SetLogSink(LogSink sink);
// Messages below `level` are dropped before the sink sees them (default kWarning; kOff
// drops everything).
CINESIS_EXPORT void SetLogLevel(LogLevel level);
CINESIS_EXPORT LogLevel GetLogLevel();
// "debug", "info", "warning", "error", "off" (static, NUL-terminated strings).
CINESIS_EXPORT std::string_view LogLevelName(LogLevel level);

// Sends one message through the hook (what the library itself calls).
CINESIS_EXPORT bool LogEnabled(LogLevel level);
CINESIS_EXPORT void Log(LogLevel level, std::string_view component, std::string_view message);

}  // namespace cinesis
