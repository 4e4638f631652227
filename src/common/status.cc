#include "common/status.h"

#include <array>

namespace cinesis {
namespace {

struct CodeInfo {
  Code code;
  std::string_view name;
  bool retriable;
};

constexpr std::array kCodes = {
    CodeInfo{Code::kOk, "OK", false},
    CodeInfo{Code::kAccessDenied, "AccessDeniedException", false},
    CodeInfo{Code::kExpiredIterator, "ExpiredIteratorException", false},
    CodeInfo{Code::kExpiredNextToken, "ExpiredNextTokenException", false},
    CodeInfo{Code::kInternalFailure, "InternalFailure", true},
    CodeInfo{Code::kInvalidArgument, "InvalidArgumentException", false},
    CodeInfo{Code::kKmsAccessDenied, "KMSAccessDeniedException", false},
    CodeInfo{Code::kKmsDisabled, "KMSDisabledException", false},
    CodeInfo{Code::kKmsInvalidState, "KMSInvalidStateException", false},
    CodeInfo{Code::kKmsNotFound, "KMSNotFoundException", false},
    CodeInfo{Code::kKmsOptInRequired, "KMSOptInRequired", false},
    CodeInfo{Code::kKmsThrottling, "KMSThrottlingException", true},
    CodeInfo{Code::kLimitExceeded, "LimitExceededException", true},
    CodeInfo{Code::kProvisionedThroughputExceeded, "ProvisionedThroughputExceededException", true},
    CodeInfo{Code::kResourceInUse, "ResourceInUseException", false},
    CodeInfo{Code::kResourceNotFound, "ResourceNotFoundException", false},
    CodeInfo{Code::kValidation, "ValidationException", false},
    CodeInfo{Code::kSerialization, "SerializationException", false},
    CodeInfo{Code::kUnknownOperation, "UnknownOperationException", false},
    CodeInfo{Code::kMissingAuthenticationToken, "MissingAuthenticationTokenException", false},
    CodeInfo{Code::kIncompleteSignature, "IncompleteSignatureException", false},
    CodeInfo{Code::kInvalidSignature, "InvalidSignatureException", false},
    CodeInfo{Code::kIoError, "IOError", true},
    CodeInfo{Code::kCorruption, "Corruption", false},
    CodeInfo{Code::kFailedPrecondition, "FailedPrecondition", false},
    CodeInfo{Code::kDeadlineExceeded, "DeadlineExceeded", true},
    CodeInfo{Code::kUnknown, "Unknown", false},
};

}  // namespace

std::string_view CodeName(Code code) noexcept {
  for (const auto& c : kCodes) {
    if (c.code == code) return c.name;
  }
  return "Unknown";
}

std::optional<Code> CodeFromName(std::string_view name) noexcept {
  // botocore strips a "namespace#" prefix; do the same.
  if (auto pos = name.rfind('#'); pos != std::string_view::npos) name.remove_prefix(pos + 1);
  if (name == "InternalFailureException") return Code::kInternalFailure;
  for (const auto& c : kCodes) {
    if (c.name == name) return c.code;
  }
  return std::nullopt;
}

bool IsRetriable(Code code) noexcept {
  for (const auto& c : kCodes) {
    if (c.code == code) return c.retriable;
  }
  return false;
}

Status ResultFromOkStatus() {
  return Status(Code::kUnknown, "internal: Result constructed from OK status");
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(name());
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace cinesis
