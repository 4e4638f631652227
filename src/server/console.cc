#include "server/console.h"

namespace cinesis::server {
namespace {

// True when the If-None-Match list (or "*") names `etag`.
bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    std::string_view token = if_none_match.substr(0, comma);
    if_none_match =
        comma == std::string_view::npos ? std::string_view() : if_none_match.substr(comma + 1);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (token.starts_with("W/")) token.remove_prefix(2);
    if (token == "*" || token == etag) return true;
  }
  return false;
}

}  // namespace

std::optional<ConsoleReply> ServeConsole(std::string_view method, std::string_view target,
                                         std::string_view if_none_match) {
  if (const auto q = target.find_first_of("?#"); q != std::string_view::npos)
    target = target.substr(0, q);
  if (!target.starts_with(kConsolePath)) return std::nullopt;
  std::string_view rest = target.substr(kConsolePath.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // e.g. /_cinesis/consoles
  if (!rest.empty()) rest.remove_prefix(1);
  if (rest.empty()) rest = "index.html";
  if (method != "GET") return ConsoleReply{405, nullptr};
  for (const ConsoleAsset& a : ConsoleAssets()) {
    if (a.name != rest) continue;
    return ConsoleReply{EtagMatches(if_none_match, a.etag) ? 304u : 200u, &a};
  }
  return ConsoleReply{404, nullptr};
}

}  // namespace cinesis::server
