// Argument checks shared by every checkpoint/lease store, so all stores reject the same
// input with the same messages. Private to src/consumer: stores `using namespace checks;`.
#pragma once

#include <limits>
#include <string>
#include <string_view>

#include "cinesis/checkpoint.h"
#include "common/status.h"

namespace cinesis::consumer::checks {

inline Status CheckName(std::string_view what, std::string_view value) {
  if (value.empty()) return Status(Code::kInvalidArgument, std::string(what) + " is empty");
  if (value.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalidArgument, std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

inline Status CheckScope(const Scope& scope) {
  RETURN_IF_ERROR(CheckName("scope.application", scope.application));
  return CheckName("scope.stream", scope.stream);
}

inline Status CheckCheckpoint(const Checkpoint& cp) {
  return CheckName("checkpoint.sequence_number", cp.sequence_number);
}

inline Result<EpochMillis> ExpiresAt(EpochMillis now, EpochMillis ttl_ms) {
  if (ttl_ms <= 0) return Status(Code::kInvalidArgument, "lease ttl must be positive");
  if (now > std::numeric_limits<EpochMillis>::max() - ttl_ms) {
    return Status(Code::kInvalidArgument, "now + ttl overflows");
  }
  return now + ttl_ms;
}

}  // namespace cinesis::consumer::checks
