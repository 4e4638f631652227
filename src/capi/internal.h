// Internals of the C interface (include/cinesis/cinesis.h): the handle structs, the
// thread-local last error, the Code <-> cinesis_err_t mapping and the guard every
// exported function runs its body in. Not installed; only src/capi includes it.
#pragma once

#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cinesis/cinesis.h"
#include "cinesis/client.h"
#include "cinesis/stores.h"
#include "common/status.h"

namespace cinesis::capi {

// Every handle struct starts with a magic tag, so a NULL or wrong-type handle is answered
// with CINESIS_ERR_BAD_HANDLE instead of a crash. A destroyed handle has its tag cleared
// (use after destroy stays undefined behaviour, as the header says).
enum Magic : std::uint32_t {
  kOptionsMagic = 0x4f505453,   // "OPTS"
  kClientMagic = 0x434c4e54,    // "CLNT"
  kProducerMagic = 0x50524f44,  // "PROD"
  kConsumerMagic = 0x434f4e53,  // "CONS"
  kStoreMagic = 0x53544f52,     // "STOR"
  kBatchMagic = 0x42415443,     // "BATC"
  kLocalMagic = 0x4c4f434c,     // "LOCL"
};

// The C code of a Status code (explicit switch, see errors.cc) and back.
cinesis_err_t ErrFromCode(Code code) noexcept;
Code CodeFromErr(cinesis_err_t err) noexcept;

// Records the last error of this thread and returns `err`.
cinesis_err_t SetError(cinesis_err_t err, std::string message) noexcept;
// SetError(ErrFromCode(st.code()), st.ToString()); CINESIS_OK (nothing recorded) when ok.
cinesis_err_t SetError(const Status& st) noexcept;
// "<function>: <argument> is NULL" / "... is not a <type> handle".
cinesis_err_t BadHandle(const char* function, const char* argument, const char* type,
                        bool null) noexcept;
// "<function>: <argument> is NULL" for a required plain pointer.
cinesis_err_t NullArgument(const char* function, const char* argument) noexcept;

// True when `h` is a live handle of the type whose tag is `magic`.
template <typename T>
bool Valid(const T* h, std::uint32_t magic) noexcept {
  if (h == nullptr) return false;
  std::uint32_t m = 0;
  std::memcpy(&m, static_cast<const void*>(h), sizeof m);  // the tag is the first member
  return m == magic;
}

#define CINESIS_CHECK_HANDLE(h, magic, type)                                \
  do {                                                                      \
    if (!::cinesis::capi::Valid(h, magic))                                  \
      return ::cinesis::capi::BadHandle(capi_fn, #h, type, (h) == nullptr); \
  } while (0)
#define CINESIS_CHECK_ARG(p)                                               \
  do {                                                                     \
    if ((p) == nullptr) return ::cinesis::capi::NullArgument(capi_fn, #p); \
  } while (0)
// Returns the error of a failed Status.
#define CAPI_RETURN_IF_ERROR(expr)                                          \
  do {                                                                      \
    const ::cinesis::Status& capi_status_ = (expr);                         \
    if (!capi_status_.ok()) return ::cinesis::capi::SetError(capi_status_); \
  } while (0)

// Runs `body(function)` (returning cinesis_err_t); no exception leaves: std::bad_alloc and
// every other exception become CINESIS_ERR_UNKNOWN naming the function. The body's
// parameter is named capi_fn, which the CINESIS_CHECK_* macros use in their messages:
//   return Guard(__func__, [&](const char* capi_fn) -> cinesis_err_t { ... });
template <typename F>
cinesis_err_t Guard(const char* function, F&& body) noexcept {
  try {
    return body(function);
  } catch (const std::exception& e) {
    return SetError(CINESIS_ERR_UNKNOWN,
                    std::string(function) + ": unexpected exception: " + e.what());
  } catch (...) {
    return SetError(CINESIS_ERR_UNKNOWN, std::string(function) + ": unexpected exception");
  }
}

// A malloc'ed NUL-terminated copy (freed with cinesis_free); throws std::bad_alloc.
char* CopyString(const std::string& s);

}  // namespace cinesis::capi

// The handle structs (global names, as declared in cinesis.h).
struct cinesis_options {
  std::uint32_t magic = cinesis::capi::kOptionsMagic;
  std::map<std::string, std::string> values;
};

struct cinesis_client {
  std::uint32_t magic = cinesis::capi::kClientMagic;
  std::unique_ptr<cinesis::KinesisClient> owned;  // null for a LocalKinesis's client
  cinesis::KinesisClient* client = nullptr;
};

struct cinesis_store {
  std::uint32_t magic = cinesis::capi::kStoreMagic;
  // Shared with the consumers that use it: the backend lives until the last one is gone.
  std::shared_ptr<cinesis::consumer::Store> store;
};
