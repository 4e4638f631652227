// Checkpoint and lease store in PostgreSQL (libpq, one connection per store under a mutex).
//
// Two tables, created if missing (docs/client.md). Every operation is ONE parameterized
// statement, atomic on its own under READ COMMITTED:
//  - TryAcquire is an INSERT .. ON CONFLICT DO UPDATE .. WHERE: the conflicting row is
//    locked and the WHERE is evaluated on its latest committed version;
//  - SaveIfOwner reads the lease row FOR SHARE in the same statement that writes the
//    checkpoint, so a concurrent takeover (which updates that row) either waits for the
//    write to commit or has already committed and makes the re-checked WHERE fail.
// A broken connection is re-established and the statement sent once more; every
// statement here is idempotent for the same arguments, so a repeat is harmless.
#include <libpq-fe.h>

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

using namespace checks;  // argument checks shared by every store

// --- SQL ---

constexpr const char* kSchemaExistsSql =
    "SELECT to_regclass('cinesis_checkpoints') IS NOT NULL"
    " AND to_regclass('cinesis_leases') IS NOT NULL";
constexpr const char* kSchemaSql[] = {
    "BEGIN",
    // Serializes concurrent creators (CREATE TABLE IF NOT EXISTS alone can race).
    "SELECT pg_advisory_xact_lock(hashtext('cinesis.schema'))",
    "CREATE TABLE IF NOT EXISTS cinesis_checkpoints ("
    " application TEXT NOT NULL,"
    " stream TEXT NOT NULL,"
    " shard_id TEXT NOT NULL,"
    " sequence_number TEXT NOT NULL,"
    " sub_sequence_number NUMERIC(20, 0) NOT NULL DEFAULT 0"
    "  CHECK (sub_sequence_number >= 0 AND sub_sequence_number <= 18446744073709551615),"
    " PRIMARY KEY (application, stream, shard_id))",
    "CREATE TABLE IF NOT EXISTS cinesis_leases ("
    " application TEXT NOT NULL,"
    " stream TEXT NOT NULL,"
    " shard_id TEXT NOT NULL,"
    " owner TEXT NOT NULL DEFAULT '',"
    " counter BIGINT NOT NULL DEFAULT 0,"
    " expires_at BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (application, stream, shard_id))",
    "COMMIT",
};

// $1 application, $2 stream, $3 shard_id, $4 sequence_number, $5 sub_sequence_number
constexpr const char* kSaveSql =
    "INSERT INTO cinesis_checkpoints"
    " (application, stream, shard_id, sequence_number, sub_sequence_number)"
    " VALUES ($1::text, $2::text, $3::text, $4::text, $5::numeric)"
    " ON CONFLICT (application, stream, shard_id) DO UPDATE SET"
    " sequence_number = EXCLUDED.sequence_number,"
    " sub_sequence_number = EXCLUDED.sub_sequence_number";
// $1..$3 scope and shard, $4 owner, $5 counter, $6 now, $7 sequence_number, $8 sub
constexpr const char* kSaveIfOwnerSql =
    "WITH lease AS ("
    " SELECT 1 FROM cinesis_leases"
    " WHERE application = $1::text AND stream = $2::text AND shard_id = $3::text"
    " AND owner = $4::text AND owner <> '' AND counter = $5::bigint AND expires_at > $6::bigint"
    " FOR SHARE)"
    " INSERT INTO cinesis_checkpoints"
    " (application, stream, shard_id, sequence_number, sub_sequence_number)"
    " SELECT $1::text, $2::text, $3::text, $7::text, $8::numeric FROM lease"
    " ON CONFLICT (application, stream, shard_id) DO UPDATE SET"
    " sequence_number = EXCLUDED.sequence_number,"
    " sub_sequence_number = EXCLUDED.sub_sequence_number";
constexpr const char* kLoadSql =
    "SELECT sequence_number, sub_sequence_number::text FROM cinesis_checkpoints"
    " WHERE application = $1::text AND stream = $2::text AND shard_id = $3::text";
constexpr const char* kLoadAllSql =
    "SELECT shard_id, sequence_number, sub_sequence_number::text FROM cinesis_checkpoints"
    " WHERE application = $1::text AND stream = $2::text";
// $1..$3 scope and shard, $4 owner, $5 now, $6 expires_at
constexpr const char* kTryAcquireSql =
    "INSERT INTO cinesis_leases AS l (application, stream, shard_id, owner, counter, expires_at)"
    " VALUES ($1::text, $2::text, $3::text, $4::text, 1, $6::bigint)"
    " ON CONFLICT (application, stream, shard_id) DO UPDATE SET"
    " owner = EXCLUDED.owner,"
    " counter = CASE WHEN l.owner = EXCLUDED.owner THEN l.counter ELSE l.counter + 1 END,"
    " expires_at = EXCLUDED.expires_at"
    " WHERE l.owner = EXCLUDED.owner OR l.owner = '' OR l.expires_at <= $5::bigint"
    " RETURNING counter";
// $1..$3 scope and shard, $4 owner, $5 counter, $6 expires_at
constexpr const char* kRenewSql =
    "UPDATE cinesis_leases SET expires_at = $6::bigint"
    " WHERE application = $1::text AND stream = $2::text AND shard_id = $3::text"
    " AND owner = $4::text AND owner <> '' AND counter = $5::bigint";
// $1..$3 scope and shard, $4 owner, $5 counter
constexpr const char* kReleaseSql =
    "UPDATE cinesis_leases SET owner = '', expires_at = 0"
    " WHERE application = $1::text AND stream = $2::text AND shard_id = $3::text"
    " AND owner = $4::text AND owner <> '' AND counter = $5::bigint";
// $1, $2 scope, $3 prefix of the shard id, $4 now
constexpr const char* kDeleteExpiredSql =
    "DELETE FROM cinesis_leases"
    " WHERE application = $1::text AND stream = $2::text"
    " AND left(shard_id, length($3::text)) = $3::text"
    " AND (owner = '' OR expires_at <= $4::bigint)";
constexpr const char* kListSql =
    "SELECT shard_id, owner, counter, expires_at FROM cinesis_leases"
    " WHERE application = $1::text AND stream = $2::text";

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultFree>;

struct ConnFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, ConnFree>;

void IgnoreNotice(void*, const char*) {}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Status PgError(const PGresult* r, const PGconn* c) {
  std::string msg = "postgres: ";
  const char* rm = r != nullptr ? PQresultErrorMessage(r) : "";
  msg += Trim(rm != nullptr && *rm != '\0' ? rm : PQerrorMessage(c));
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view cls = state != nullptr ? std::string_view(state).substr(0, 2) : "";
  if (cls == "22" || cls == "23") return Status(Code::kInvalidArgument, msg);  // data, constraint
  if (cls == "28" || std::string_view(state != nullptr ? state : "") == "42501") {
    return Status(Code::kAccessDenied, msg);
  }
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58") return Status(Code::kIoError, msg);
  return Status(Code::kInternalFailure, msg);
}

std::string_view Value(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))};
}

template <typename T>
Result<T> Number(const PGresult* r, int row, int col) {
  std::string_view s = Value(r, row, col);
  T out{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return Status(Code::kCorruption, "postgres: bad number '" + std::string(s) + "'");
  }
  return out;
}

bool OneRowChanged(PGresult* r) { return std::string_view(PQcmdTuples(r)) == "1"; }

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  Status Open() {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Connect());
    ASSIGN_OR_RETURN(PgResult exists, ExecLocked(kSchemaExistsSql, {}, /*retry=*/false));
    if (Value(exists.get(), 0, 0) == "t") return Status::Ok();
    for (const char* sql : kSchemaSql) {
      auto r = ExecLocked(sql, {}, /*retry=*/false);
      if (!r.ok()) {
        if (conn_ && PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
          (void)ExecLocked("ROLLBACK", {}, false);
        }
        return std::move(r).take_status();
      }
    }
    return Status::Ok();
  }

  Status Save(const Scope& scope, const std::string& shard_id, const Checkpoint& cp) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    auto r = Exec(kSaveSql, {scope.application, scope.stream, shard_id, cp.sequence_number,
                             std::to_string(cp.sub_sequence_number)});
    return r.ok() ? Status::Ok() : std::move(r).take_status();
  }

  Result<bool> SaveIfOwner(const Scope& scope, const Lease& lease, const Checkpoint& cp,
                           EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    if (lease.owner.empty() || !FitsBigint(lease.counter)) return false;
    ASSIGN_OR_RETURN(
        PgResult r,
        Exec(kSaveIfOwnerSql, {scope.application, scope.stream, lease.shard_id, lease.owner,
                               std::to_string(lease.counter), std::to_string(now),
                               cp.sequence_number, std::to_string(cp.sub_sequence_number)}));
    return OneRowChanged(r.get());
  }

  Result<std::optional<Checkpoint>> Load(const Scope& scope, const std::string& shard_id) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    ASSIGN_OR_RETURN(PgResult r, Exec(kLoadSql, {scope.application, scope.stream, shard_id}));
    if (PQntuples(r.get()) == 0) return std::optional<Checkpoint>();
    ASSIGN_OR_RETURN(auto sub, Number<std::uint64_t>(r.get(), 0, 1));
    return std::optional<Checkpoint>(Checkpoint{std::string(Value(r.get(), 0, 0)), sub});
  }

  Result<std::map<std::string, Checkpoint>> LoadAll(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    ASSIGN_OR_RETURN(PgResult r, Exec(kLoadAllSql, {scope.application, scope.stream}));
    std::map<std::string, Checkpoint> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      ASSIGN_OR_RETURN(auto sub, Number<std::uint64_t>(r.get(), i, 2));
      out[std::string(Value(r.get(), i, 0))] = Checkpoint{std::string(Value(r.get(), i, 1)), sub};
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
    ASSIGN_OR_RETURN(PgResult r,
                     Exec(kTryAcquireSql, {scope.application, scope.stream, shard_id, owner,
                                           std::to_string(now), std::to_string(expires_at)}));
    if (PQntuples(r.get()) == 0) return std::optional<Lease>();
    ASSIGN_OR_RETURN(auto counter, Number<std::uint64_t>(r.get(), 0, 0));
    return std::optional<Lease>(Lease{shard_id, owner, counter, expires_at});
  }

  Result<bool> Renew(const Scope& scope, const Lease& lease, EpochMillis ttl_ms,
                     EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    ASSIGN_OR_RETURN(EpochMillis expires_at, ExpiresAt(now, ttl_ms));
    if (lease.owner.empty() || !FitsBigint(lease.counter)) return false;
    ASSIGN_OR_RETURN(PgResult r,
                     Exec(kRenewSql, {scope.application, scope.stream, lease.shard_id, lease.owner,
                                      std::to_string(lease.counter), std::to_string(expires_at)}));
    return OneRowChanged(r.get());
  }

  Status Release(const Scope& scope, const Lease& lease) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    if (lease.owner.empty() || !FitsBigint(lease.counter)) return Status::Ok();
    auto r = Exec(kReleaseSql, {scope.application, scope.stream, lease.shard_id, lease.owner,
                                std::to_string(lease.counter)});
    return r.ok() ? Status::Ok() : std::move(r).take_status();
  }

  Result<std::vector<Lease>> List(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    ASSIGN_OR_RETURN(PgResult r, Exec(kListSql, {scope.application, scope.stream}));
    std::vector<Lease> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      ASSIGN_OR_RETURN(auto counter, Number<std::uint64_t>(r.get(), i, 2));
      ASSIGN_OR_RETURN(auto expires_at, Number<EpochMillis>(r.get(), i, 3));
      out.push_back(Lease{std::string(Value(r.get(), i, 0)), std::string(Value(r.get(), i, 1)),
                          counter, expires_at});
    }
    // Byte order, like the other stores (ORDER BY would follow the database collation).
    std::sort(out.begin(), out.end(),
              [](const Lease& a, const Lease& b) { return a.shard_id < b.shard_id; });
    return out;
  }

  Result<std::size_t> DeleteExpired(const Scope& scope, const std::string& prefix,
                                    EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("prefix", prefix));
    ASSIGN_OR_RETURN(PgResult r, Exec(kDeleteExpiredSql, {scope.application, scope.stream, prefix,
                                                          std::to_string(now)}));
    std::size_t deleted = 0;
    const std::string_view n(PQcmdTuples(r.get()));
    (void)std::from_chars(n.data(), n.data() + n.size(), deleted);
    return deleted;
  }

 private:
  static bool FitsBigint(std::uint64_t v) {
    return v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  }

  Status Connect() {
    conn_.reset();
    // Later entries win: the caller's conninfo (expanded from "dbname") overrides these.
    const char* keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                          nullptr};
    const char* values[] = {"10", "cinesis", "UTF8", conninfo_.c_str(), nullptr};
    PgConn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
    if (!conn) return Status(Code::kIoError, "postgres: out of memory");
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      return Status(Code::kIoError, "postgres: connect: " + Trim(PQerrorMessage(conn.get())));
    }
    PQsetNoticeProcessor(conn.get(), IgnoreNotice, nullptr);
    conn_ = std::move(conn);
    return Status::Ok();
  }

  Result<PgResult> Exec(const char* sql, const std::vector<std::string>& params) {
    std::lock_guard lock(mu_);
    return ExecLocked(sql, params, /*retry=*/true);
  }

  // Runs one statement (text parameters, text results). With `retry`, a connection found
  // broken is replaced and the statement sent once more.
  Result<PgResult> ExecLocked(const char* sql, const std::vector<std::string>& params, bool retry) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    Status last;
    for (int attempt = 0; attempt < (retry ? 2 : 1); ++attempt) {
      if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
        last = Connect();
        if (!last.ok()) continue;
      }
      PgResult r(PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, /*resultFormat=*/0));
      ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
      if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
      last = PgError(r.get(), conn_.get());
      if (PQstatus(conn_.get()) != CONNECTION_BAD) return last;
      last = Status(Code::kIoError, last.message());  // lost connection: try a new one
      conn_.reset();
    }
    return last;
  }

  const std::string conninfo_;
  std::mutex mu_;  // guards conn_; a PGconn is used by one thread at a time
  PgConn conn_;
};

}  // namespace

Result<std::shared_ptr<Store>> OpenPostgresStore(const std::string& conninfo) {
  auto store = std::make_shared<PostgresStore>(conninfo);
  RETURN_IF_ERROR(store->Open());
  return std::shared_ptr<Store>(std::move(store));
}

}  // namespace cinesis::consumer
