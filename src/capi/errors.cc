// Errors, memory, version and logging of the C interface.
#include <cstdlib>
#include <mutex>
#include <string>

#include "capi/internal.h"
#include "cinesis/log.h"

namespace cinesis::capi {
namespace {

thread_local std::string t_message;
thread_local cinesis_err_t t_code = CINESIS_OK;

}  // namespace

cinesis_err_t ErrFromCode(Code code) noexcept {
  switch (code) {
    case Code::kOk:
      return CINESIS_OK;
    case Code::kAccessDenied:
      return CINESIS_ERR_ACCESS_DENIED;
    case Code::kExpiredIterator:
      return CINESIS_ERR_EXPIRED_ITERATOR;
    case Code::kExpiredNextToken:
      return CINESIS_ERR_EXPIRED_NEXT_TOKEN;
    case Code::kInternalFailure:
      return CINESIS_ERR_INTERNAL_FAILURE;
    case Code::kInvalidArgument:
      return CINESIS_ERR_INVALID_ARGUMENT;
    case Code::kKmsAccessDenied:
      return CINESIS_ERR_KMS_ACCESS_DENIED;
    case Code::kKmsDisabled:
      return CINESIS_ERR_KMS_DISABLED;
    case Code::kKmsInvalidState:
      return CINESIS_ERR_KMS_INVALID_STATE;
    case Code::kKmsNotFound:
      return CINESIS_ERR_KMS_NOT_FOUND;
    case Code::kKmsOptInRequired:
      return CINESIS_ERR_KMS_OPT_IN_REQUIRED;
    case Code::kKmsThrottling:
      return CINESIS_ERR_KMS_THROTTLING;
    case Code::kLimitExceeded:
      return CINESIS_ERR_LIMIT_EXCEEDED;
    case Code::kProvisionedThroughputExceeded:
      return CINESIS_ERR_PROVISIONED_THROUGHPUT_EXCEEDED;
    case Code::kResourceInUse:
      return CINESIS_ERR_RESOURCE_IN_USE;
    case Code::kResourceNotFound:
      return CINESIS_ERR_RESOURCE_NOT_FOUND;
    case Code::kValidation:
      return CINESIS_ERR_VALIDATION;
    case Code::kSerialization:
      return CINESIS_ERR_SERIALIZATION;
    case Code::kUnknownOperation:
      return CINESIS_ERR_UNKNOWN_OPERATION;
    case Code::kMissingAuthenticationToken:
      return CINESIS_ERR_MISSING_AUTHENTICATION_TOKEN;
    case Code::kIncompleteSignature:
      return CINESIS_ERR_INCOMPLETE_SIGNATURE;
    case Code::kInvalidSignature:
      return CINESIS_ERR_INVALID_SIGNATURE;
    case Code::kIoError:
      return CINESIS_ERR_IO;
    case Code::kCorruption:
      return CINESIS_ERR_CORRUPTION;
    case Code::kFailedPrecondition:
      return CINESIS_ERR_FAILED_PRECONDITION;
      // TODO(capi, after branch pubapi lands): Code::kDeadlineExceeded ->
      // CINESIS_ERR_DEADLINE_EXCEEDED and Code::kUnknown -> CINESIS_ERR_UNKNOWN (and the
      // reverse cases in CodeFromErr). Until then a Flush timeout arrives as
      // kLimitExceeded and WaitForActive's as kResourceInUse, as the C++ API gives them.
  }
  return CINESIS_ERR_UNKNOWN;
}

Code CodeFromErr(cinesis_err_t err) noexcept {
  switch (err) {
    case CINESIS_OK:
      return Code::kOk;
    case CINESIS_ERR_ACCESS_DENIED:
      return Code::kAccessDenied;
    case CINESIS_ERR_EXPIRED_ITERATOR:
      return Code::kExpiredIterator;
    case CINESIS_ERR_EXPIRED_NEXT_TOKEN:
      return Code::kExpiredNextToken;
    case CINESIS_ERR_INTERNAL_FAILURE:
      return Code::kInternalFailure;
    case CINESIS_ERR_INVALID_ARGUMENT:
      return Code::kInvalidArgument;
    case CINESIS_ERR_KMS_ACCESS_DENIED:
      return Code::kKmsAccessDenied;
    case CINESIS_ERR_KMS_DISABLED:
      return Code::kKmsDisabled;
    case CINESIS_ERR_KMS_INVALID_STATE:
      return Code::kKmsInvalidState;
    case CINESIS_ERR_KMS_NOT_FOUND:
      return Code::kKmsNotFound;
    case CINESIS_ERR_KMS_OPT_IN_REQUIRED:
      return Code::kKmsOptInRequired;
    case CINESIS_ERR_KMS_THROTTLING:
      return Code::kKmsThrottling;
    case CINESIS_ERR_LIMIT_EXCEEDED:
      return Code::kLimitExceeded;
    case CINESIS_ERR_PROVISIONED_THROUGHPUT_EXCEEDED:
      return Code::kProvisionedThroughputExceeded;
    case CINESIS_ERR_RESOURCE_IN_USE:
      return Code::kResourceInUse;
    case CINESIS_ERR_RESOURCE_NOT_FOUND:
      return Code::kResourceNotFound;
    case CINESIS_ERR_VALIDATION:
      return Code::kValidation;
    case CINESIS_ERR_SERIALIZATION:
      return Code::kSerialization;
    case CINESIS_ERR_UNKNOWN_OPERATION:
      return Code::kUnknownOperation;
    case CINESIS_ERR_MISSING_AUTHENTICATION_TOKEN:
      return Code::kMissingAuthenticationToken;
    case CINESIS_ERR_INCOMPLETE_SIGNATURE:
      return Code::kIncompleteSignature;
    case CINESIS_ERR_INVALID_SIGNATURE:
      return Code::kInvalidSignature;
    case CINESIS_ERR_IO:
      return Code::kIoError;
    case CINESIS_ERR_CORRUPTION:
      return Code::kCorruption;
    case CINESIS_ERR_FAILED_PRECONDITION:
      return Code::kFailedPrecondition;
    case CINESIS_ERR_DEADLINE_EXCEEDED:  // TODO(capi, after pubapi): Code::kDeadlineExceeded
      return Code::kLimitExceeded;
    case CINESIS_ERR_UNKNOWN:  // TODO(capi, after pubapi): Code::kUnknown
    case CINESIS_ERR_BAD_HANDLE:
      return Code::kInternalFailure;
  }
  return Code::kInternalFailure;
}

cinesis_err_t SetError(cinesis_err_t err, std::string message) noexcept {
  t_code = err;
  try {
    t_message = std::move(message);
  } catch (...) {
    t_message.clear();  // out of memory: the code alone
  }
  return err;
}

cinesis_err_t SetError(const Status& st) noexcept {
  if (st.ok()) return CINESIS_OK;
  try {
    return SetError(ErrFromCode(st.code()), st.ToString());
  } catch (...) {
    return SetError(ErrFromCode(st.code()), std::string());
  }
}

cinesis_err_t BadHandle(const char* function, const char* argument, const char* type,
                        bool null) noexcept {
  try {
    return SetError(CINESIS_ERR_BAD_HANDLE,
                    std::string(function) + ": " + argument +
                        (null ? " is NULL" : std::string(" is not a ") + type + " handle"));
  } catch (...) {
    return SetError(CINESIS_ERR_BAD_HANDLE, std::string());
  }
}

cinesis_err_t NullArgument(const char* function, const char* argument) noexcept {
  try {
    return SetError(CINESIS_ERR_BAD_HANDLE, std::string(function) + ": " + argument + " is NULL");
  } catch (...) {
    return SetError(CINESIS_ERR_BAD_HANDLE, std::string());
  }
}

char* CopyString(const std::string& s) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

}  // namespace cinesis::capi

using namespace cinesis::capi;  // NOLINT(google-build-using-namespace)

extern "C" {

const char* cinesis_err_name(cinesis_err_t err) {
  switch (err) {
    case CINESIS_ERR_DEADLINE_EXCEEDED:
      return "DeadlineExceeded";
    case CINESIS_ERR_UNKNOWN:
      return "Unknown";
    case CINESIS_ERR_BAD_HANDLE:
      return "BadHandle";
    default:
      break;
  }
  const cinesis::Code code = CodeFromErr(err);
  if (ErrFromCode(code) != err) return "Unknown";  // not a value of this version
  return cinesis::CodeName(code).data();           // static, NUL-terminated literals
}

int cinesis_err_retriable(cinesis_err_t err) {
  switch (err) {
    case CINESIS_ERR_DEADLINE_EXCEEDED:
    case CINESIS_ERR_UNKNOWN:
    case CINESIS_ERR_BAD_HANDLE:
      return 0;
    default:
      break;
  }
  const cinesis::Code code = CodeFromErr(err);
  return ErrFromCode(code) == err && cinesis::IsRetriable(code) ? 1 : 0;
}

const char* cinesis_last_error(void) { return t_message.c_str(); }

cinesis_err_t cinesis_last_error_code(void) { return t_code; }

void cinesis_free(void* p) { std::free(p); }

const char* cinesis_version(void) { return CINESIS_VERSION_STRING; }

int cinesis_version_number(void) { return CINESIS_VERSION_NUMBER; }

void cinesis_set_log_callback(cinesis_log_fn fn, void* user, cinesis_log_level_t min_level) {
  try {
    auto level = static_cast<cinesis::LogLevel>(min_level);
    if (fn == nullptr) {
      cinesis::SetLogSink(nullptr);
      cinesis::SetLogLevel(cinesis::LogLevel::kWarning);
      return;
    }
    cinesis::SetLogLevel(level);
    cinesis::SetLogSink(
        [fn, user](cinesis::LogLevel l, std::string_view component, std::string_view message) {
          try {
            const std::string c(component), m(message);
            fn(user, static_cast<cinesis_log_level_t>(l), c.c_str(), m.c_str());
          } catch (...) {  // out of memory: the line is lost, nothing leaves the sink
          }
        });
  } catch (...) {
    (void)SetError(CINESIS_ERR_UNKNOWN, "cinesis_set_log_callback: unexpected exception");
  }
}

}  // extern "C"
