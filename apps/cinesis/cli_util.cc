#include "cli_util.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace cinesis::app {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Reads exactly `n` digits at `pos`; advances pos.
std::optional<int> Digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

// Milliseconds of a fraction ".25" -> 250 (digits beyond the third are dropped).
std::optional<EpochMillis> FractionMillis(std::string_view digits) {
  if (!AllDigits(digits)) return std::nullopt;
  EpochMillis ms = 0;
  for (std::size_t i = 0; i < 3; ++i) ms = ms * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  return ms;
}

std::optional<EpochMillis> ParseEpoch(std::string_view text) {
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  if (!AllDigits(whole) || whole.size() > 13) return std::nullopt;
  EpochMillis v = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), v);
  if (whole.size() == 13) {  // milliseconds
    if (dot != std::string_view::npos) return std::nullopt;
    return v;
  }
  EpochMillis ms = v * 1000;
  if (dot != std::string_view::npos) {
    auto frac = FractionMillis(text.substr(dot + 1));
    if (!frac) return std::nullopt;
    ms += *frac;
  }
  return ms;
}

std::optional<EpochMillis> ParseIso8601(std::string_view s) {
  std::size_t pos = 0;
  auto year = Digits(s, pos, 4);
  if (!year || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  auto month = Digits(s, pos, 2);
  if (!month || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  auto day = Digits(s, pos, 2);
  if (!day) return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  EpochMillis frac = 0, offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    auto h = Digits(s, pos, 2);
    if (!h || pos >= s.size() || s[pos++] != ':') return std::nullopt;
    auto m = Digits(s, pos, 2);
    if (!m) return std::nullopt;
    hour = *h;
    minute = *m;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      auto sec = Digits(s, pos, 2);
      if (!sec) return std::nullopt;
      second = *sec;
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        const std::size_t start = ++pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
        auto f = FractionMillis(s.substr(start, pos - start));
        if (!f) return std::nullopt;
        frac = *f;
      }
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        const int sign = s[pos++] == '-' ? -1 : 1;
        auto oh = Digits(s, pos, 2);
        if (!oh) return std::nullopt;
        if (pos < s.size() && s[pos] == ':') ++pos;
        auto om = Digits(s, pos, 2);
        if (!om) return std::nullopt;
        offset_min = sign * (*oh * 60 + *om);
      } else {
        return std::nullopt;
      }
    }
  }
  if (pos != s.size()) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*year),
                                        std::chrono::month(static_cast<unsigned>(*month)),
                                        std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok()) return std::nullopt;
  const EpochMillis days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return ((days * 24 + hour) * 60 + minute - offset_min) * 60'000 + second * 1000 + frac;
}

}  // namespace

std::string_view ExitCodesHelp() {
  return "Exit codes (streams, put, tail): 0 success; 1 internal or other error; 2 usage or "
         "invalid input; 3 not found; 4 access denied or no credentials; 5 throttled or a "
         "limit reached; 6 endpoint unreachable; 130 interrupted (Ctrl-C).";
}

ExitCode ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalidArgument:
    case Code::kValidation:
    case Code::kSerialization:
    case Code::kUnknownOperation:
      return kExitUsage;
    case Code::kResourceNotFound:
    case Code::kKmsNotFound:
      return kExitNotFound;
    case Code::kAccessDenied:
    case Code::kKmsAccessDenied:
    case Code::kKmsDisabled:
    case Code::kKmsOptInRequired:
    case Code::kMissingAuthenticationToken:
    case Code::kIncompleteSignature:
    case Code::kInvalidSignature:
      return kExitAccess;
    case Code::kProvisionedThroughputExceeded:
    case Code::kLimitExceeded:
    case Code::kKmsThrottling:
      return kExitThrottled;
    case Code::kIoError:  // the HTTP client's transport errors
      return kExitUnreachable;
    case Code::kExpiredIterator:
    case Code::kExpiredNextToken:
    case Code::kInternalFailure:
    case Code::kKmsInvalidState:
    case Code::kResourceInUse:
    case Code::kCorruption:
    case Code::kFailedPrecondition:
    case Code::kDeadlineExceeded:
    case Code::kUnknown:
      return kExitInternal;
  }
  return kExitInternal;
}

std::string ResolveEndpoint(const std::optional<std::string>& flag,
                            const char* (*getenv)(const char*)) {
  if (flag) return *flag;
  for (const char* name : {"AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL"}) {
    const char* v = getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "http://127.0.0.1:4567";
}

std::optional<EpochMillis> ParseTimestamp(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text[0])) && (text.size() < 5 || text[4] != '-')) {
    return ParseEpoch(text);
  }
  return ParseIso8601(text);
}

std::string FormatIso8601(EpochMillis ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(ms)};
  const auto days = floor<std::chrono::days>(t);
  const year_month_day ymd{days};
  const hh_mm_ss<milliseconds> tod{t - days};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                static_cast<int>(tod.subseconds().count()));
  return buf;
}

Result<StartFrom> ParseStartFrom(std::string_view text) {
  StartFrom from;
  if (text == "latest" || text == "LATEST") return from;
  if (text == "trim-horizon" || text == "TRIM_HORIZON") {
    from.type = api::ShardIteratorType::kTrimHorizon;
    return from;
  }
  if (AllDigits(text) && text.size() >= 20) {
    from.type = api::ShardIteratorType::kAtSequenceNumber;
    from.sequence_number = std::string(text);
    return from;
  }
  if (auto ts = ParseTimestamp(text)) {
    from.type = api::ShardIteratorType::kAtTimestamp;
    from.timestamp = *ts;
    return from;
  }
  return Status(Code::kInvalidArgument,
                "--from " + std::string(text) +
                    ": expected latest, trim-horizon, a sequence number (20 or more digits), "
                    "an ISO 8601 time (2026-12-02T03:30:00Z) or epoch seconds");
}

Result<OutputTemplate> OutputTemplate::Parse(std::string_view text) {
  OutputTemplate t;
  auto literal = [&t]() -> std::string& {
    if (t.parts_.empty() || t.parts_.back().field != 0) t.parts_.push_back({});
    return t.parts_.back().text;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c != '%' && c != '\\') || i + 1 == text.size()) {
      if (c == '%' || c == '\\')
        return Status(Code::kInvalidArgument,
                      "format: a lone '" + std::string(1, c) + "' at the end");
      literal() += c;
      continue;
    }
    const char n = text[++i];
    if (c == '\\') {
      switch (n) {
        case 'n':
          literal() += '\n';
          break;
        case 't':
          literal() += '\t';
          break;
        case 'r':
          literal() += '\r';
          break;
        case '0':
          literal() += '\0';
          break;
        case '\\':
          literal() += '\\';
          break;
        default:
          return Status(Code::kInvalidArgument,
                        std::string("format: unknown escape \\") + n + " (\\n \\t \\r \\0 \\\\)");
      }
      continue;
    }
    switch (n) {
      case '%':
        literal() += '%';
        break;
      case 'k':
      case 's':
      case 'S':
      case 'T':
      case 't':
      case 'd':
        t.parts_.push_back({n, {}});
        break;
      default:
        return Status(Code::kInvalidArgument,
                      std::string("format: unknown field %") + n + " (%k %s %S %T %t %d %%)");
    }
  }
  return t;
}

void OutputTemplate::Render(const std::string& shard_id, const api::Record& r,
                            std::string& out) const {
  for (const auto& p : parts_) {
    switch (p.field) {
      case 0:
        out += p.text;
        break;
      case 'k':
        out += r.partition_key;
        break;
      case 's':
        out += shard_id;
        break;
      case 'S':
        out += r.sequence_number;
        break;
      case 'T':
        out += std::to_string(r.approximate_arrival_timestamp);
        break;
      case 't':
        out += FormatIso8601(r.approximate_arrival_timestamp);
        break;
      case 'd':
        out += r.data;
        break;
      default:
        break;
    }
  }
}

std::string NormalizeShardId(std::string_view text) {
  if (!AllDigits(text) || text.size() > 12) return std::string(text);
  std::string id = "shardId-" + std::string(12 - text.size(), '0');
  id += text;
  return id;
}

}  // namespace cinesis::app
