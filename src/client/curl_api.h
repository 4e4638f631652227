// libcurl, loaded at first use: the one door of the HTTP client (http_service.cc) and of the
// credential sources (aws_http.cc) to libcurl.
//
// Why: cinesis links nothing of libcurl. A process that never sends an HTTP request (the
// server, `cinesis serve`) never maps libcurl.so.4 and the libraries it needs (TLS,
// Kerberos, LDAP, SSH, IDN, ...): about 4 MB of idle RSS (docs/client.md, "One binary").
// The first request dlopen()s libcurl.so.4 (RTLD_NOW | RTLD_LOCAL) and calls
// curl_global_init once; the library stays loaded for the life of the process. curl's
// headers still give the types and constants (libcurl4-openssl-dev at build time).
//
// Contract: Load() is thread-safe and cheap after the first call; it is Ok, or kIoError
// naming the library and the package that provides it (the callers map kIoError to
// "unreachable"). Every other function requires a successful Load() (they are thin calls
// through the loaded library's entry points). Nothing throws.
//
// These functions are not named curl_*: a program may link libcurl itself, and its
// curl_easy_* must stay libcurl's (dlopen then returns the library already mapped).
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "common/status.h"

namespace cinesis::client::curl {

// The library loaded by default and the Debian/Ubuntu package that provides it.
inline constexpr const char* kLibrary = "libcurl.so.4";
inline constexpr const char* kPackage = "libcurl4";

// Loads the library at the first call (dlopen + curl_global_init); later calls return the
// first call's outcome.
Status Load();

// Tests only: load `soname` instead of kLibrary. Takes effect only before the first Load()
// of the process (returns false if libcurl is already loaded, or failed to).
bool SetLibraryForTesting(std::string_view soname);

CURL* EasyInit();
void EasyCleanup(CURL* handle);
CURLcode EasyPerform(CURL* handle);
const char* EasyStrerror(CURLcode code);
// curl_easy_getinfo for a long or a curl_off_t item (curl.h: CURLINFO_LONG, CURLINFO_OFF_T;
// curl_off_t is long on the 64-bit targets cinesis builds for).
static_assert(sizeof(curl_off_t) == sizeof(long));
CURLcode EasyGetinfo(CURL* handle, CURLINFO info, long* out);
curl_slist* SlistAppend(curl_slist* list, const char* text);
void SlistFreeAll(curl_slist* list);

// curl_easy_setopt, typed. libcurl reads the value with va_arg as the type that the
// option's number range declares (curl.h: CURLOPTTYPE_*): long, a pointer (objects,
// strings, lists, callbacks) or curl_off_t. Each overload checks that the option takes its
// kind of value and passes it as exactly that type; a mismatch is CURLE_BAD_FUNCTION_ARGUMENT
// and nothing is read. Integers and enums go to long and curl_off_t options alike (converted
// to the option's type).
CURLcode EasySetoptLong(CURL* handle, CURLoption option, long value);
CURLcode EasySetoptOffT(CURL* handle, CURLoption option, curl_off_t value);
CURLcode EasySetopt(CURL* handle, CURLoption option, const void* value);
CURLcode EasySetopt(CURL* handle, CURLoption option, curl_write_callback value);
inline CURLcode EasySetopt(CURL* handle, CURLoption option, std::nullptr_t) {
  return EasySetopt(handle, option, static_cast<const void*>(nullptr));
}
template <typename T>
requires(std::is_integral_v<T> || std::is_enum_v<T>) CURLcode
    EasySetopt(CURL* handle, CURLoption option, T value) {
  if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB) {
    return EasySetoptOffT(handle, option, static_cast<curl_off_t>(value));
  }
  return EasySetoptLong(handle, option, static_cast<long>(value));
}

}  // namespace cinesis::client::curl
