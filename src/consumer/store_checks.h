// Argument checks shared by every checkpoint/lease store, so all stores reject the same
// input with the same messages. Private to src/consumer.
#pragma once

#include <limits>
#include <string>
#include <string_view>

#include "cinesis/checkpoint.h"

namespace cinesis::consumer::checks {

inline Status Name(std::string_view what, std::string_view value) {
  if (value.empty()) return Status(Code::kInvalidArgument, std::string(what) + " is empty");
  if (value.find('\0') != std::string_view::npos) {
    return Status(Code::kInvalidArgument, std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

inline Status ScopeOk(const Scope& scope) {
  RETURN_IF_ERROR(Name("scope.application", scope.application));
  return Name("scope.stream", scope.stream);
}

inline Status CheckpointOk(const Checkpoint& cp) {
  return Name("checkpoint.sequence_number", cp.sequence_number);
}

inline Result<EpochMillis> ExpiresAt(EpochMillis now, EpochMillis ttl_ms) {
  if (ttl_ms <= 0) return Status(Code::kInvalidArgument, "lease ttl must be positive");
  if (now > std::numeric_limits<EpochMillis>::max() - ttl_ms) {
    return Status(Code::kInvalidArgument, "now + ttl overflows");
  }
  return now + ttl_ms;
}

}  // namespace cinesis::consumer::checks
