// Internal to the server's tests (tests/unit/http1_scan_test.cc, fuzz/http1_fuzzer.cc): the
// scanner's contract checked against Boost.Beast. Whenever ScanRequest() accepts a request,
// Beast's request parser, fed the same bytes with the same limits as the session feeds it,
// must read the same request and consume the same bytes.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "server/http1_scan.h"

namespace cinesis::server::http1 {

// Empty when the scanner does not accept `in` or Beast agrees; else what differs.
inline std::string ScanDisagreesWithBeast(std::string_view in, const ScanLimits& limits) {
  namespace http = boost::beast::http;
  ScannedRequest s;
  if (ScanRequest(in, limits, s) != ScanResult::kComplete) return {};
  http::request_parser<http::string_body> p;
  p.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  p.body_limit(limits.max_body_bytes);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (!p.is_done()) {
    const std::size_t n = p.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
    used += n;
    if (ec) return "Beast: " + ec.message();
    if (n == 0) return "Beast: no progress";
  }
  const auto& r = p.get();
  const auto sv = [](auto v) { return std::string_view(v.data(), v.size()); };
  if (sv(r.method_string()) != s.method) return "method";
  if (sv(r.target()) != s.target) return "target";
  if (r.version() != s.version) return "version";
  if (r.keep_alive() != s.keep_alive) return "keep_alive";
  if (r.body() != s.body) return "body";
  if (used != s.size) return "consumed " + std::to_string(used) + " vs " + std::to_string(s.size);
  std::size_t i = 0;
  for (const auto& f : r) {
    if (i == s.field_count) return "more fields in Beast";
    if (sv(f.name_string()) != s.fields[i].name) return "field name " + std::to_string(i);
    if (sv(f.value()) != s.fields[i].value) return "field value " + std::to_string(i);
    ++i;
  }
  if (i != s.field_count) return "fewer fields in Beast";
  return {};
}

}  // namespace cinesis::server::http1
