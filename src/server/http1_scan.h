// Internal to the server: a strict, allocation-free recogniser of one complete HTTP/1.1
// request (head and whole body in the buffer), for the common path of the Kinesis API.
//
// It accepts a strict subset of what Boost.Beast's request parser accepts, and for every
// request it accepts, Beast (with the same limits) reads the same method, target, version,
// keep-alive, fields (names and values, in order) and body, and consumes the same bytes
// (tests/unit/http1_scan_test.cc checks this on generated and mutated requests). Anything
// else is "not mine" (or "need more"), and the connection parses it with Beast as before, so
// Beast still gives every error answer (400, 413, ...).
//
// The subset: `METHOD SP /target SP HTTP/1.1|HTTP/1.0 CRLF` (method tchar, target visible
// ASCII starting with '/'); header lines `name ":" OWS value OWS CRLF` (name tchar, value
// only visible ASCII, SP and HTAB); exactly one Content-Length of digits; no
// Transfer-Encoding, Expect, Upgrade, HTTP2-Settings, Proxy-Connection; at most one
// Connection, whose value is `close` or `keep-alive`; no name twice (in any case); at most
// kMaxScanFields fields; head within max_header_bytes and body within max_body_bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cinesis::server::http1 {

inline constexpr std::size_t kMaxScanFields = 32;

struct ScanLimits {
  std::size_t max_header_bytes = 8192;
  std::uint64_t max_body_bytes = 8u << 20;
};

struct ScanField {
  std::string_view name, value;
};

// The fields the server reads, found while scanning (by name, in any case).
enum class Known : unsigned {
  kHost,
  kDate,
  kOrigin,
  kAmzDate,
  kAmzTarget,
  kContentType,
  kAuthorization,
  kIfNoneMatch,
  kAcrm,  // Access-Control-Request-Method
  kAcrh,  // Access-Control-Request-Headers
  kCount
};

// Views into the scanned buffer: valid while it is.
struct ScannedRequest {
  std::string_view method, target, body;
  unsigned version = 11;  // 11 or 10, as Beast counts
  bool keep_alive = true;
  std::size_t size = 0;  // the bytes of the request: head and body
  std::size_t field_count = 0;
  std::array<ScanField, kMaxScanFields> fields;
  // The value of each Known field (the request has each name once at most), and which are
  // there (bit 1 << Known).
  std::array<std::string_view, static_cast<std::size_t>(Known::kCount)> known;
  unsigned known_mask = 0;
  bool Has(Known k) const { return (known_mask >> static_cast<unsigned>(k) & 1u) != 0; }
  std::string_view Get(Known k) const {  // empty when absent
    return Has(k) ? known[static_cast<std::size_t>(k)] : std::string_view();
  }
};

enum class ScanResult {
  kComplete,  // `out` holds the request, which is the first out.size bytes of `buffered`
  kNeedMore,  // what is there may start a request of the subset: read more
  kNotMine,   // outside the subset (or over a limit): let Beast parse it
};

// Never allocates; O(size of the head) plus nothing for the body.
ScanResult ScanRequest(std::string_view buffered, const ScanLimits& limits, ScannedRequest& out);

// ASCII case-insensitive equality against `lower`, which is lowercase letters, digits and '-'.
bool NameIs(std::string_view name, std::string_view lower);

}  // namespace cinesis::server::http1
