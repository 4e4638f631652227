// See curl_api.h.
#include "client/curl_api.h"

#include <dlfcn.h>

#include <string>

#include "common/thread_annotations.h"

namespace cinesis::client::curl {
namespace {

// libcurl's entry points, resolved once. easy_setopt and easy_getinfo are variadic in C:
// the typed wrappers below pass each value as the type libcurl reads.
struct Api {
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
};

// Written before the first Load() (tests), read once by it.
Mutex name_mu;
std::string library_name GUARDED_BY(name_mu) = kLibrary;
bool load_started GUARDED_BY(name_mu) = false;

struct Loaded {
  Api api;
  Status status;
};

template <typename Fn>
bool Resolve(void* lib, const char* symbol, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(lib, symbol));
  if (out == nullptr && missing.empty()) missing = symbol;
  return out != nullptr;
}

Loaded Open() {
  std::string name;
  {
    MutexLock lock(&name_mu);
    load_started = true;
    name = library_name;
  }
  const std::string help = "; the HTTP client needs libcurl (Debian, Ubuntu: apt-get install " +
                           std::string(kPackage) + ")";
  Loaded out;
  void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    out.status = Status(Code::kIoError, "cannot load " + name + " (" +
                                            (why != nullptr ? why : "dlopen failed") + ")" + help);
    return out;
  }
  Api& a = out.api;
  std::string missing;
  Resolve(lib, "curl_global_init", a.global_init, missing);
  Resolve(lib, "curl_easy_init", a.easy_init, missing);
  Resolve(lib, "curl_easy_cleanup", a.easy_cleanup, missing);
  Resolve(lib, "curl_easy_perform", a.easy_perform, missing);
  Resolve(lib, "curl_easy_strerror", a.easy_strerror, missing);
  Resolve(lib, "curl_easy_setopt", a.easy_setopt, missing);
  Resolve(lib, "curl_easy_getinfo", a.easy_getinfo, missing);
  Resolve(lib, "curl_slist_append", a.slist_append, missing);
  Resolve(lib, "curl_slist_free_all", a.slist_free_all, missing);
  if (!missing.empty()) {
    out.status = Status(Code::kIoError, name + " is not libcurl (no " + missing + ")" + help);
    return out;  // left mapped: unloading a library that may run constructors is not worth it
  }
  if (const CURLcode rc = a.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    out.status =
        Status(Code::kIoError,
               "curl_global_init failed: " + std::string(a.easy_strerror(rc)) + " (" + name + ")");
    return out;
  }
  out.status = Status::Ok();
  return out;  // never dlclose'd: handles and libcurl's global state live until exit
}

const Loaded& Library() {
  static const Loaded loaded = Open();  // once, thread-safe (a function-local static)
  return loaded;
}

const Api& A() { return Library().api; }

bool TakesLong(CURLoption option) { return option < CURLOPTTYPE_OBJECTPOINT; }
bool TakesOffT(CURLoption option) {
  return option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB;
}
bool TakesPointer(CURLoption option) { return !TakesLong(option) && !TakesOffT(option); }

}  // namespace

Status Load() { return Library().status; }

bool SetLibraryForTesting(std::string_view soname) {
  MutexLock lock(&name_mu);
  if (load_started) return false;
  library_name = std::string(soname);
  return true;
}

CURL* EasyInit() { return A().easy_init(); }
void EasyCleanup(CURL* handle) { A().easy_cleanup(handle); }
CURLcode EasyPerform(CURL* handle) { return A().easy_perform(handle); }
const char* EasyStrerror(CURLcode code) { return A().easy_strerror(code); }
CURLcode EasyGetinfo(CURL* handle, CURLINFO info, long* out) {
  const int type = static_cast<int>(info) & CURLINFO_TYPEMASK;
  if (type != CURLINFO_LONG && type != CURLINFO_OFF_T) return CURLE_BAD_FUNCTION_ARGUMENT;
  return A().easy_getinfo(handle, info, out);
}
curl_slist* SlistAppend(curl_slist* list, const char* text) { return A().slist_append(list, text); }
void SlistFreeAll(curl_slist* list) { A().slist_free_all(list); }

CURLcode EasySetoptLong(CURL* handle, CURLoption option, long value) {
  if (!TakesLong(option)) return CURLE_BAD_FUNCTION_ARGUMENT;
  return A().easy_setopt(handle, option, value);
}
CURLcode EasySetoptOffT(CURL* handle, CURLoption option, curl_off_t value) {
  if (!TakesOffT(option)) return CURLE_BAD_FUNCTION_ARGUMENT;
  return A().easy_setopt(handle, option, value);
}
CURLcode EasySetopt(CURL* handle, CURLoption option, const void* value) {
  if (!TakesPointer(option)) return CURLE_BAD_FUNCTION_ARGUMENT;
  // libcurl reads char*, void* or a struct pointer: all of void*'s representation.
  return A().easy_setopt(handle, option, const_cast<void*>(value));
}
CURLcode EasySetopt(CURL* handle, CURLoption option, curl_write_callback value) {
  if (option < CURLOPTTYPE_FUNCTIONPOINT || option >= CURLOPTTYPE_OFF_T) {
    return CURLE_BAD_FUNCTION_ARGUMENT;
  }
  return A().easy_setopt(handle, option, value);
}

}  // namespace cinesis::client::curl
