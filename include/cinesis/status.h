// Status and Result: the one error model of cinesis.
//
// Codes are the Kinesis error names (the `__type` a client sees), so a Status can
// cross from the engine to the wire without translation tables. Helpers tell whether
// a code is worth retrying. No exception crosses a component boundary: functions that
// can fail return Status or Result<T>, both [[nodiscard]].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "cinesis/export.h"

namespace cinesis {

enum class Code : std::uint8_t {
  kOk = 0,
  // Kinesis service errors (error shapes of the service model).
  kAccessDenied,
  kExpiredIterator,
  kExpiredNextToken,
  kInternalFailure,
  kInvalidArgument,
  kKmsAccessDenied,
  kKmsDisabled,
  kKmsInvalidState,
  kKmsNotFound,
  kKmsOptInRequired,
  kKmsThrottling,
  kLimitExceeded,
  kProvisionedThroughputExceeded,
  kResourceInUse,
  kResourceNotFound,
  kValidation,
  // Protocol-level errors every AWS JSON service shares.
  kSerialization,
  kUnknownOperation,
  kMissingAuthenticationToken,
  kIncompleteSignature,
  kInvalidSignature,
  // Local failures that never reach a Kinesis client as such (I/O, corruption).
  kIoError,
  kCorruption,
  // The system is not in a state the operation needs (e.g. a data directory held by another
  // process, record logs without metadata); retrying the same call will not help.
  kFailedPrecondition,
  // A local wait ran out of time (Producer::Flush, KinesisClient::WaitForActive). Retriable:
  // waiting again can succeed.
  kDeadlineExceeded,
  // An error cinesis has no code for: an error type the service answered that this version
  // does not know (the message starts with the wire type name, e.g. "SomeNewException: text"),
  // or a Result built from an OK Status. Not retriable.
  kUnknown,
};

// The wire name of a code, e.g. "ResourceNotFoundException"; the local codes have plain
// names ("IOError", "Corruption", "FailedPrecondition", "DeadlineExceeded", "Unknown").
// kOk -> "OK".
CINESIS_EXPORT std::string_view CodeName(Code code) noexcept;
// Inverse of CodeName; nullopt for unknown names.
CINESIS_EXPORT std::optional<Code> CodeFromName(std::string_view name) noexcept;
// True for codes where retrying the same call later can succeed (throttling, internal
// failures, limits, I/O errors, DeadlineExceeded). Validation, not-found,
// FailedPrecondition and Unknown are fatal.
CINESIS_EXPORT bool IsRetriable(Code code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const noexcept { return code_ == Code::kOk; }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  std::string_view name() const noexcept { return CodeName(code_); }
  bool retriable() const noexcept { return IsRetriable(code_); }
  CINESIS_EXPORT std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// The Status a Result built from an OK Status holds instead (kUnknown): a Result is a value
// or an error, never neither.
CINESIS_EXPORT Status ResultFromOkStatus();

// Result<T>: either a value or a non-OK Status. Built from an OK Status (a bug in the caller),
// it holds ResultFromOkStatus() instead, in every build type.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status)                      // NOLINT(google-explicit-constructor)
      : v_(status.ok() ? ResultFromOkStatus() : std::move(status)) {}

  bool ok() const noexcept { return std::holds_alternative<T>(v_); }
  const Status& status() const& {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  Status&& take_status() && { return std::get<Status>(std::move(v_)); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cinesis
