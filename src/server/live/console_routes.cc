#include "server/live/console_routes.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cinesis::server::live {

namespace {

api::WireResponse Json(int status, std::string body) {
  api::WireResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

api::WireResponse Error(int status, std::string_view type, std::string_view message) {
  std::string body = "{\"__type\":";
  AppendJsonString(body, type);
  body += ",\"message\":";
  AppendJsonString(body, message);
  body += "}";
  return Json(status, std::move(body));
}

api::WireResponse ErrorOf(const Status& st) {
  return Error(st.code() == Code::kInternalFailure ? 500 : 400, st.name(), st.message());
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = FromHex(s[i + 1]), lo = FromHex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

void AppendLabel(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

// "GetRecords.Records" -> "get_records_records".
std::string SnakeCase(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      out.push_back('_');
      continue;
    }
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != '_') out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::uint64_t ResidentBytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

api::WireResponse MetricsJson(const Context& ctx, std::string_view target) {
  std::optional<std::string> stream = QueryParam(target, "stream");
  int seconds = 60;
  if (auto s = QueryParam(target, "seconds")) {
    char* end = nullptr;
    const long v = std::strtol(s->c_str(), &end, 10);
    if (end == s->c_str() || *end || v < 1 || v > api::kMetricHistorySeconds) {
      return Error(
          400, "ValidationException",
          "seconds must be an integer in 1.." + std::to_string(api::kMetricHistorySeconds));
    }
    seconds = static_cast<int>(v);
  }
  auto snap = ctx.live->Metrics(stream, seconds);
  if (!snap.ok()) return ErrorOf(snap.status());
  std::string out = "{\"resolution_ms\":1000,\"end_ms\":" + std::to_string(snap->end_ms) +
                    ",\"seconds\":" + std::to_string(snap->seconds) + ",\"streams\":{";
  bool first_stream = true;
  for (const auto& s : snap->streams) {
    if (!first_stream) out += ',';
    first_stream = false;
    AppendJsonString(out, s.stream_name);
    out += ":{\"shards\":{";
    bool first_shard = true;
    for (const auto& sh : s.shards) {
      if (!first_shard) out += ',';
      first_shard = false;
      AppendJsonString(out, sh.shard_id);
      out += ":{";
      for (std::size_t m = 0; m < api::kMetricCount; ++m) {
        if (m) out += ',';
        AppendJsonString(out, api::kMetricNames[m]);
        out += ":[";
        for (std::size_t i = 0; i < sh.history[m].size(); ++i) {
          if (i) out += ',';
          out += std::to_string(sh.history[m][i]);
        }
        out += ']';
      }
      // Per registered consumer: "SubscribeToShardEvent.MillisBehindLatest/<consumer>".
      for (const auto& c : sh.consumer_lags) {
        out += ',';
        AppendJsonString(out, std::string(api::kConsumerLagMetricName) + "/" + c.consumer_name);
        out += ":[";
        for (std::size_t i = 0; i < c.history.size(); ++i) {
          if (i) out += ',';
          out += std::to_string(c.history[i]);
        }
        out += ']';
      }
      out += ",\"totals\":{";
      for (std::size_t m = 0; m < api::kMetricCount; ++m) {
        if (m) out += ',';
        AppendJsonString(out, api::kMetricNames[m]);
        out += ':' + std::to_string(sh.totals[m]);
      }
      for (const auto& c : sh.consumer_lags) {
        out += ',';
        AppendJsonString(out, std::string(api::kConsumerLagMetricName) + "/" + c.consumer_name);
        out += ':' + std::to_string(c.last);
      }
      out += "}}";
    }
    out += "},\"consumers\":{";
    bool first_consumer = true;
    for (const auto& c : s.consumers) {
      if (!first_consumer) out += ',';
      first_consumer = false;
      // The consumer's lag: the largest of its shards' last values.
      std::uint64_t lag = 0;
      for (const auto& sh : s.shards) {
        for (const auto& l : sh.consumer_lags) {
          if (l.consumer_name == c.consumer_name) lag = std::max(lag, l.last);
        }
      }
      AppendJsonString(out, c.consumer_name);
      out += ":{\"SubscribeToShardEvent.Records\":" + std::to_string(c.records) +
             ",\"SubscribeToShardEvent.Bytes\":" + std::to_string(c.bytes) + ",\"" +
             std::string(api::kConsumerLagMetricName) + "\":" + std::to_string(lag) + "}";
    }
    out += "}}";
  }
  out += "}}";
  return Json(200, std::move(out));
}

api::WireResponse Prometheus(const Context& ctx) {
  auto snap = ctx.live->Metrics(std::nullopt, 1);
  if (!snap.ok()) return ErrorOf(snap.status());
  std::string out;
  for (std::size_t m = 0; m < api::kMetricCount; ++m) {
    const bool gauge = api::IsGauge(static_cast<api::Metric>(m));
    const std::string name = "cinesis_" + SnakeCase(api::kMetricNames[m]) + (gauge ? "" : "_total");
    out += "# HELP " + name + " Kinesis " + std::string(api::kMetricNames[m]) +
           (gauge ? " (largest in the last second)" : " since the server started") +
           ", per shard.\n";
    out += "# TYPE " + name + (gauge ? " gauge\n" : " counter\n");
    for (const auto& s : snap->streams) {
      for (const auto& sh : s.shards) {
        out += name + "{stream=";
        AppendLabel(out, s.stream_name);
        out += ",shard=";
        AppendLabel(out, sh.shard_id);
        out += "} " + std::to_string(sh.totals[m]) + "\n";
      }
    }
  }
  for (const bool bytes : {false, true}) {
    const std::string name = std::string("cinesis_consumer_subscribe_to_shard_event_") +
                             (bytes ? "bytes" : "records") + "_total";
    out += "# HELP " + name + " SubscribeToShardEvent." + (bytes ? "Bytes" : "Records") +
           " per registered consumer.\n# TYPE " + name + " counter\n";
    for (const auto& s : snap->streams) {
      for (const auto& c : s.consumers) {
        out += name + "{stream=";
        AppendLabel(out, s.stream_name);
        out += ",consumer=";
        AppendLabel(out, c.consumer_name);
        out += "} " + std::to_string(bytes ? c.bytes : c.records) + "\n";
      }
    }
  }
  {
    const std::string name = "cinesis_consumer_subscribe_to_shard_event_millis_behind_latest";
    out += "# HELP " + name +
           " SubscribeToShardEvent.MillisBehindLatest per registered consumer and shard (largest "
           "in the last second; the last value while its subscription is open).\n# TYPE " +
           name + " gauge\n";
    for (const auto& s : snap->streams) {
      for (const auto& sh : s.shards) {
        for (const auto& c : sh.consumer_lags) {
          out += name + "{stream=";
          AppendLabel(out, s.stream_name);
          out += ",shard=";
          AppendLabel(out, sh.shard_id);
          out += ",consumer=";
          AppendLabel(out, c.consumer_name);
          out += "} " + std::to_string(c.last) + "\n";
        }
      }
    }
  }
  out +=
      "# HELP cinesis_process_resident_memory_bytes Resident set size of the server.\n"
      "# TYPE cinesis_process_resident_memory_bytes gauge\n"
      "cinesis_process_resident_memory_bytes " +
      std::to_string(ResidentBytes()) + "\n";
  out +=
      "# HELP cinesis_open_connections Open HTTP/1.1 and WebSocket connections.\n"
      "# TYPE cinesis_open_connections gauge\n"
      "cinesis_open_connections " +
      std::to_string(ctx.connections ? ctx.connections->load() : 0) + "\n";
  const auto h = ctx.live->Fsyncs();
  out +=
      "# HELP cinesis_fsync_duration_seconds Latency of the storage's fsyncs.\n"
      "# TYPE cinesis_fsync_duration_seconds histogram\n";
  for (std::size_t i = 0; i < h.buckets.size(); ++i) {
    char le[32];
    std::snprintf(le, sizeof le, "%g", api::FsyncHistogram::kBoundsSeconds[i]);
    out += "cinesis_fsync_duration_seconds_bucket{le=\"" + std::string(le) + "\"} " +
           std::to_string(h.buckets[i]) + "\n";
  }
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.9g", h.sum_seconds);
  out += "cinesis_fsync_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  out += "cinesis_fsync_duration_seconds_sum " + std::string(sum) + "\n";
  out += "cinesis_fsync_duration_seconds_count " + std::to_string(h.count) + "\n";
  api::WireResponse r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(out);
  return r;
}

api::WireResponse Faults(const Context& ctx, std::string_view method, std::string_view target,
                         std::string_view body) {
  if (!ctx.faults) return Error(404, "ResourceNotFoundException", "fault injection is off");
  if (method == "GET") return Json(200, ctx.faults->ToJson());
  if (method == "DELETE") {
    if (auto id = QueryParam(target, "id")) {
      if (!ctx.faults->Remove(*id))
        return Error(404, "ResourceNotFoundException", "no fault rule " + *id);
    } else {
      ctx.faults->Clear();
    }
    return Json(200, ctx.faults->ToJson());
  }
  if (method == "POST") {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object())
      return Error(400, "SerializationException", "the body must be a JSON object");
    std::vector<FaultRule> rules;
    if (const auto* list = v.as_object().if_contains("rules")) {
      if (!list->is_array()) return Error(400, "ValidationException", "rules must be an array");
      for (const auto& item : list->as_array()) {
        auto r = FaultRules::FromJson(item);
        if (!r.ok()) return Error(400, "ValidationException", r.status().message());
        rules.push_back(std::move(r).value());
      }
    } else {
      auto r = FaultRules::FromJson(v);
      if (!r.ok()) return Error(400, "ValidationException", r.status().message());
      rules.push_back(std::move(r).value());
    }
    for (auto& r : rules) ctx.faults->Add(std::move(r));
    return Json(200, ctx.faults->ToJson());
  }
  api::WireResponse r = Error(405, "MethodNotAllowed", "use GET, POST or DELETE");
  r.headers.emplace_back("Allow", "GET, POST, DELETE");
  return r;
}

}  // namespace

bool IsLivePath(std::string_view target) { return target.substr(0, kPrefix.size()) == kPrefix; }

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

std::optional<std::string> QueryParam(std::string_view target, std::string_view key) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = item.find('=');
    if (PercentDecode(item.substr(0, eq)) != key) continue;
    return eq == std::string_view::npos ? std::string() : PercentDecode(item.substr(eq + 1));
  }
  return std::nullopt;
}

bool OriginAllowed(std::optional<std::string_view> origin, std::string_view host) {
  if (!origin) return true;
  std::string_view o = *origin;
  const auto scheme = o.find("://");
  if (scheme == std::string_view::npos) return false;  // "null" and other opaque origins
  o.remove_prefix(scheme + 3);
  if (o.empty() || host.empty()) return false;
  return Lower(o) == Lower(host);
}

api::WireResponse Route(const Context& ctx, std::string_view method, std::string_view target,
                        std::string_view body) {
  const std::string_view path = PathOf(target);
  if (!ctx.live) return Error(404, "ResourceNotFoundException", "not found");
  if (path == "/_cinesis/metrics.json" || path == "/_cinesis/metrics") {
    if (method != "GET" && method != "HEAD") {
      api::WireResponse r = Error(405, "MethodNotAllowed", "use GET");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    return path == "/_cinesis/metrics" ? Prometheus(ctx) : MetricsJson(ctx, target);
  }
  if (path == "/_cinesis/faults") return Faults(ctx, method, target, body);
  if (path == "/_cinesis/ws")
    return Error(426, "UpgradeRequired", "a WebSocket upgrade is expected");
  return Error(404, "ResourceNotFoundException", "no such endpoint: " + std::string(path));
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace cinesis::server::live
