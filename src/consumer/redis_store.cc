// Checkpoint and lease store in Redis (hiredis, one connection per store under a mutex).
//
// Layout (docs/client.md): two hashes per scope whose names share a hash tag, so a Lua
// script may touch both even on a cluster:
//   cinesis:{<application>:<stream>}:checkpoints   shard_id -> "<sequence_number>:<sub>"
//   cinesis:{<application>:<stream>}:leases        shard_id -> "<counter>:<expires_at>:<owner>"
// with '%', ':', '{', '}' and control bytes of the names percent-escaped. Every
// read-check-write runs as one Lua script (EVAL), which Redis executes atomically.
//
// A broken connection (reset, timeout) is replaced and the command sent once more; every
// command here is idempotent for the same arguments, so a repeat is harmless.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cinesis/stores.h"
#include "common/status.h"
#include "consumer/store_checks.h"

namespace cinesis::consumer {
namespace {

constexpr int kConnectTimeoutMs = 5'000;
constexpr int kCommandTimeoutMs = 10'000;

using namespace checks;  // argument checks shared by every store

// --- keys and values ---

std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '%' || c == ':' || c == '{' || c == '}' || u < 0x20 || u == 0x7f) {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string ScopeKey(const Scope& scope, std::string_view kind) {
  std::string key = "cinesis:{" + Escape(scope.application) + ":" + Escape(scope.stream) + "}:";
  key += kind;
  return key;
}

template <typename T>
bool ParseInt(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string EncodeCheckpoint(const Checkpoint& cp) {
  return cp.sequence_number + ":" + std::to_string(cp.sub_sequence_number);
}

Result<Checkpoint> DecodeCheckpoint(std::string_view shard, std::string_view v) {
  auto colon = v.rfind(':');
  Checkpoint cp;
  if (colon == std::string_view::npos || colon == 0 ||
      !ParseInt(v.substr(colon + 1), cp.sub_sequence_number)) {
    return Status(Code::kCorruption, "redis: bad checkpoint value for shard " + std::string(shard));
  }
  cp.sequence_number = std::string(v.substr(0, colon));
  return cp;
}

Result<Lease> DecodeLease(std::string_view shard, std::string_view v) {
  Lease lease;
  lease.shard_id = std::string(shard);
  auto c1 = v.find(':');
  auto c2 = c1 == std::string_view::npos ? c1 : v.find(':', c1 + 1);
  if (c2 == std::string_view::npos || !ParseInt(v.substr(0, c1), lease.counter) ||
      !ParseInt(v.substr(c1 + 1, c2 - c1 - 1), lease.expires_at)) {
    return Status(Code::kCorruption, "redis: bad lease value for shard " + std::string(shard));
  }
  lease.owner = std::string(v.substr(c2 + 1));
  return lease;
}

// --- scripts ---
// Counters are compared as strings (exact) and stored with %.0f (exact below 2^53);
// times are compared as Lua numbers (exact below 2^53 ms).

constexpr const char* kParseLease =
    "local function parse(v)\n"
    "  local c, e, o = string.match(v, '^(%d+):(%-?%d+):(.*)$')\n"
    "  if not c then return redis.error_reply('cinesis: corrupt lease value') end\n"
    "  return c, tonumber(e), o\n"
    "end\n";

// KEYS[1] leases; ARGV shard, owner, now, expires_at -> counter (string) or nil.
const std::string kTryAcquireLua =
    std::string(kParseLease) +
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "local counter = 1\n"
    "if v then\n"
    "  local c, e, o = parse(v)\n"
    "  if not e then return c end\n"
    "  counter = tonumber(c)\n"
    "  if o ~= ARGV[2] then\n"
    "    if o ~= '' and e > tonumber(ARGV[3]) then return false end\n"
    "    counter = counter + 1\n"
    "  end\n"
    "end\n"
    "local cs = string.format('%.0f', counter)\n"
    "redis.call('HSET', KEYS[1], ARGV[1], cs .. ':' .. ARGV[4] .. ':' .. ARGV[2])\n"
    "return cs\n";

// KEYS[1] leases; ARGV shard, owner, counter, expires_at -> 1 renewed, 0 lost.
const std::string kRenewLua =
    std::string(kParseLease) +
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local c, e, o = parse(v)\n"
    "if not e then return c end\n"
    "if o == '' or o ~= ARGV[2] or c ~= ARGV[3] then return 0 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], c .. ':' .. ARGV[4] .. ':' .. o)\n"
    "return 1\n";

// KEYS[1] leases; ARGV shard, owner, counter -> 1 released, 0 not held.
const std::string kReleaseLua = std::string(kParseLease) +
                                "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
                                "if not v then return 0 end\n"
                                "local c, e, o = parse(v)\n"
                                "if not e then return c end\n"
                                "if o == '' or o ~= ARGV[2] or c ~= ARGV[3] then return 0 end\n"
                                "redis.call('HSET', KEYS[1], ARGV[1], c .. ':0:')\n"
                                "return 1\n";

// KEYS[1] leases, KEYS[2] checkpoints; ARGV shard, owner, counter, now, value
// -> 1 written, 0 lease lost.
const std::string kSaveIfOwnerLua =
    std::string(kParseLease) +
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local c, e, o = parse(v)\n"
    "if not e then return c end\n"
    "if o == '' or o ~= ARGV[2] or c ~= ARGV[3] or e <= tonumber(ARGV[4]) then return 0 end\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])\n"
    "return 1\n";

// KEYS[1] leases; ARGV prefix, now -> number of rows deleted (free or expired, whose
// field starts with the prefix).
const std::string kDeleteExpiredLua = std::string(kParseLease) +
                                      "local all = redis.call('HGETALL', KEYS[1])\n"
                                      "local n = 0\n"
                                      "for i = 1, #all, 2 do\n"
                                      "  local f = all[i]\n"
                                      "  if string.sub(f, 1, #ARGV[1]) == ARGV[1] then\n"
                                      "    local c, e, o = parse(all[i + 1])\n"
                                      "    if not e then return c end\n"
                                      "    if o == '' or e <= tonumber(ARGV[2]) then\n"
                                      "      redis.call('HDEL', KEYS[1], f)\n"
                                      "      n = n + 1\n"
                                      "    end\n"
                                      "  end\n"
                                      "end\n"
                                      "return n\n";

struct ReplyFree {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

struct ContextFree {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

timeval Millis(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

std::string_view Str(const redisReply* r) { return {r->str, r->len}; }

struct Endpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;
  std::string password;
};

// "redis://[[user]:password@]host[:port][/db]".
Result<Endpoint> ParseUrl(std::string_view url) {
  Endpoint ep;
  const std::string whole(url);
  auto bad = [&] { return Status(Code::kInvalidArgument, "redis store: bad URL " + whole); };
  url.remove_prefix(std::string_view("redis://").size());
  if (auto slash = url.find('/'); slash != std::string_view::npos) {
    if (!ParseInt(url.substr(slash + 1), ep.db) || ep.db < 0) return bad();
    url = url.substr(0, slash);
  }
  if (auto at = url.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = url.substr(0, at);
    url = url.substr(at + 1);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) {
      ep.user = std::string(auth.substr(0, colon));
      ep.password = std::string(auth.substr(colon + 1));
    } else {
      ep.password = std::string(auth);
    }
  }
  if (!url.empty() && url.front() == '[') {  // [IPv6]:port
    auto close = url.find(']');
    if (close == std::string_view::npos) return bad();
    ep.host = std::string(url.substr(1, close - 1));
    url = url.substr(close + 1);
    if (!url.empty()) {
      if (url.front() != ':' || !ParseInt(url.substr(1), ep.port)) return bad();
    }
  } else if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
    ep.host = std::string(url.substr(0, colon));
    if (!ParseInt(url.substr(colon + 1), ep.port)) return bad();
  } else {
    ep.host = std::string(url);
  }
  if (ep.host.empty()) ep.host = "127.0.0.1";
  return ep;
}

class RedisStore final : public Store {
 public:
  explicit RedisStore(Endpoint ep) : ep_(std::move(ep)) {}

  Status Open() {
    std::lock_guard lock(mu_);
    return Connect();
  }

  Status Save(const Scope& scope, const std::string& shard_id, const Checkpoint& cp) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    auto r = Command({"HSET", ScopeKey(scope, "checkpoints"), shard_id, EncodeCheckpoint(cp)});
    return r.ok() ? Status::Ok() : std::move(r).take_status();
  }

  Result<bool> SaveIfOwner(const Scope& scope, const Lease& lease, const Checkpoint& cp,
                           EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    ASSIGN_OR_RETURN(auto r, Command({"EVAL", kSaveIfOwnerLua, "2", ScopeKey(scope, "leases"),
                                      ScopeKey(scope, "checkpoints"), lease.shard_id, lease.owner,
                                      std::to_string(lease.counter), std::to_string(now),
                                      EncodeCheckpoint(cp)}));
    return IntegerReply(r.get(), "SaveIfOwner");
  }

  Result<std::optional<Checkpoint>> Load(const Scope& scope, const std::string& shard_id) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    ASSIGN_OR_RETURN(auto r, Command({"HGET", ScopeKey(scope, "checkpoints"), shard_id}));
    if (r->type == REDIS_REPLY_NIL) return std::optional<Checkpoint>();
    if (r->type != REDIS_REPLY_STRING) return Unexpected("HGET");
    ASSIGN_OR_RETURN(auto cp, DecodeCheckpoint(shard_id, Str(r.get())));
    return std::optional<Checkpoint>(std::move(cp));
  }

  Result<std::map<std::string, Checkpoint>> LoadAll(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    ASSIGN_OR_RETURN(auto r, Command({"HGETALL", ScopeKey(scope, "checkpoints")}));
    RETURN_IF_ERROR(CheckPairs(r.get()));
    std::map<std::string, Checkpoint> out;
    for (std::size_t i = 0; i < r->elements; i += 2) {
      std::string shard(Str(r->element[i]));
      ASSIGN_OR_RETURN(auto cp, DecodeCheckpoint(shard, Str(r->element[i + 1])));
      out.emplace(std::move(shard), std::move(cp));
    }
    return out;
  }

  Result<std::optional<Lease>> TryAcquire(const Scope& scope, const std::string& shard_id,
                                          const std::string& owner, EpochMillis ttl_ms,
                                          EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    RETURN_IF_ERROR(CheckName("owner", owner));
    ASSIGN_OR_RETURN(EpochMillis expires_at, ExpiresAt(now, ttl_ms));
    ASSIGN_OR_RETURN(
        auto r, Command({"EVAL", kTryAcquireLua, "1", ScopeKey(scope, "leases"), shard_id, owner,
                         std::to_string(now), std::to_string(expires_at)}));
    if (r->type == REDIS_REPLY_NIL) return std::optional<Lease>();
    Lease lease{shard_id, owner, 0, expires_at};
    if (r->type != REDIS_REPLY_STRING || !ParseInt(Str(r.get()), lease.counter)) {
      return Unexpected("TryAcquire");
    }
    return std::optional<Lease>(std::move(lease));
  }

  Result<bool> Renew(const Scope& scope, const Lease& lease, EpochMillis ttl_ms,
                     EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    ASSIGN_OR_RETURN(EpochMillis expires_at, ExpiresAt(now, ttl_ms));
    ASSIGN_OR_RETURN(
        auto r, Command({"EVAL", kRenewLua, "1", ScopeKey(scope, "leases"), lease.shard_id,
                         lease.owner, std::to_string(lease.counter), std::to_string(expires_at)}));
    return IntegerReply(r.get(), "Renew");
  }

  Status Release(const Scope& scope, const Lease& lease) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    ASSIGN_OR_RETURN(auto r, Command({"EVAL", kReleaseLua, "1", ScopeKey(scope, "leases"),
                                      lease.shard_id, lease.owner, std::to_string(lease.counter)}));
    auto released = IntegerReply(r.get(), "Release");
    return released.ok() ? Status::Ok() : released.status();
  }

  Result<std::vector<Lease>> List(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    ASSIGN_OR_RETURN(auto r, Command({"HGETALL", ScopeKey(scope, "leases")}));
    RETURN_IF_ERROR(CheckPairs(r.get()));
    std::vector<Lease> out;
    for (std::size_t i = 0; i < r->elements; i += 2) {
      ASSIGN_OR_RETURN(auto lease, DecodeLease(Str(r->element[i]), Str(r->element[i + 1])));
      out.push_back(std::move(lease));
    }
    std::sort(out.begin(), out.end(),
              [](const Lease& a, const Lease& b) { return a.shard_id < b.shard_id; });
    return out;
  }

  Result<std::size_t> DeleteExpired(const Scope& scope, const std::string& prefix,
                                    EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("prefix", prefix));
    ASSIGN_OR_RETURN(auto r, Command({"EVAL", kDeleteExpiredLua, "1", ScopeKey(scope, "leases"),
                                      prefix, std::to_string(now)}));
    if (r->type != REDIS_REPLY_INTEGER || r->integer < 0) return Unexpected("DeleteExpired");
    return static_cast<std::size_t>(r->integer);
  }

 private:
  static Status Unexpected(std::string_view what) {
    return Status(Code::kInternalFailure, "redis: unexpected reply to " + std::string(what));
  }

  static Result<bool> IntegerReply(const redisReply* r, std::string_view what) {
    if (r->type != REDIS_REPLY_INTEGER) return Unexpected(what);
    return r->integer == 1;
  }

  static Status CheckPairs(const redisReply* r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) return Unexpected("HGETALL");
    for (std::size_t i = 0; i < r->elements; ++i) {
      if (r->element[i]->type != REDIS_REPLY_STRING) return Unexpected("HGETALL");
    }
    return Status::Ok();
  }

  // Sends one command on the current connection; nullptr (with ctx_->err set) when the
  // connection failed.
  Reply Send(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data())));
  }

  Status Connect() {
    ctx_.reset(redisConnectWithTimeout(ep_.host.c_str(), ep_.port, Millis(kConnectTimeoutMs)));
    std::string where = "redis " + ep_.host + ":" + std::to_string(ep_.port);
    if (!ctx_) return Status(Code::kIoError, where + ": out of memory");
    if (ctx_->err != 0) {
      Status s(Code::kIoError, where + ": " + ctx_->errstr);
      ctx_.reset();
      return s;
    }
    redisSetTimeout(ctx_.get(), Millis(kCommandTimeoutMs));
    redisEnableKeepAlive(ctx_.get());
    auto setup = [&](const std::vector<std::string>& args) -> Status {
      Reply r = Send(args);
      if (!r) return Status(Code::kIoError, where + ": " + ctx_->errstr);
      if (r->type == REDIS_REPLY_ERROR) {
        return Status(Code::kAccessDenied,
                      where + ": " + args[0] + ": " + std::string(Str(r.get())));
      }
      return Status::Ok();
    };
    Status s;
    if (!ep_.password.empty()) {
      s = ep_.user.empty() ? setup({"AUTH", ep_.password})
                           : setup({"AUTH", ep_.user, ep_.password});
    }
    if (s.ok() && ep_.db != 0) s = setup({"SELECT", std::to_string(ep_.db)});
    if (!s.ok()) ctx_.reset();
    return s;
  }

  // Runs one command, reconnecting and retrying once if the connection is (or turns out
  // to be) broken. Error replies become kInternalFailure.
  Result<Reply> Command(const std::vector<std::string>& args) {
    std::lock_guard lock(mu_);
    Status last;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!ctx_) {
        last = Connect();
        if (!last.ok()) continue;
      }
      Reply r = Send(args);
      if (!r) {
        last = Status(Code::kIoError,
                      "redis " + ep_.host + ":" + std::to_string(ep_.port) + ": " + ctx_->errstr);
        ctx_.reset();
        continue;
      }
      if (r->type == REDIS_REPLY_ERROR) {
        std::string msg(Str(r.get()));
        // Our scripts' own complaint about a lease value they cannot parse.
        Code code = msg.find("cinesis: corrupt") != std::string::npos ? Code::kCorruption
                                                                      : Code::kInternalFailure;
        return Status(code, "redis: " + args[0] + ": " + msg);
      }
      return r;
    }
    return last;
  }

  const Endpoint ep_;
  std::mutex mu_;  // guards ctx_; hiredis contexts are single-threaded
  Context ctx_;
};

}  // namespace

Result<std::shared_ptr<Store>> OpenRedisStore(const std::string& host, int port, int db) {
  Endpoint ep;
  if (std::string_view(host).starts_with("redis://")) {
    ASSIGN_OR_RETURN(ep, ParseUrl(host));
  } else {
    ep.host = host.empty() ? "127.0.0.1" : host;
    ep.port = port;
    ep.db = db;
  }
  if (ep.port <= 0 || ep.port > 65535) {
    return Status(Code::kInvalidArgument, "redis store: bad port " + std::to_string(ep.port));
  }
  if (ep.db < 0)
    return Status(Code::kInvalidArgument, "redis store: bad db " + std::to_string(ep.db));
  auto store = std::make_shared<RedisStore>(std::move(ep));
  RETURN_IF_ERROR(store->Open());
  return std::shared_ptr<Store>(std::move(store));
}

}  // namespace cinesis::consumer
