// Checkpoint and lease store in one SQLite file, shared by the processes of a host.
//
// WAL journal (readers never block the writer), a busy handler so processes queue for the
// write lock instead of failing, and every read-check-write in a `BEGIN IMMEDIATE`
// transaction: the write lock is taken before the lease row is read, so no other
// connection can change the row between the check and the write. Schema: docs/client.md.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "cinesis/stores.h"
#include "common/status.h"
#include "consumer/store_checks.h"

namespace cinesis::consumer {
namespace {

constexpr int kBusyTimeoutMs = 30'000;

// Waits for a lock held by another connection: polls every millisecond for up to
// kBusyTimeoutMs. (SQLite's own busy timeout backs off to 100 ms sleeps, which lets a
// connection that writes in a loop starve the others for seconds.)
int BusyHandler(void*, int attempts) {
  if (attempts >= kBusyTimeoutMs) return 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return 1;
}

using namespace checks;  // argument checks shared by every store

// --- SQL ---

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS cinesis_checkpoints ("
    " application TEXT NOT NULL,"
    " stream TEXT NOT NULL,"
    " shard_id TEXT NOT NULL,"
    " sequence_number TEXT NOT NULL,"
    " sub_sequence_number INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (application, stream, shard_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS cinesis_leases ("
    " application TEXT NOT NULL,"
    " stream TEXT NOT NULL,"
    " shard_id TEXT NOT NULL,"
    " owner TEXT NOT NULL DEFAULT '',"
    " counter INTEGER NOT NULL DEFAULT 0,"
    " expires_at INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (application, stream, shard_id)) WITHOUT ROWID",
};

constexpr const char* kSaveSql =
    "INSERT INTO cinesis_checkpoints"
    " (application, stream, shard_id, sequence_number, sub_sequence_number)"
    " VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (application, stream, shard_id) DO UPDATE SET"
    " sequence_number = excluded.sequence_number,"
    " sub_sequence_number = excluded.sub_sequence_number";
constexpr const char* kLoadSql =
    "SELECT sequence_number, sub_sequence_number FROM cinesis_checkpoints"
    " WHERE application = ?1 AND stream = ?2 AND shard_id = ?3";
constexpr const char* kLoadAllSql =
    "SELECT shard_id, sequence_number, sub_sequence_number FROM cinesis_checkpoints"
    " WHERE application = ?1 AND stream = ?2";
constexpr const char* kGetLeaseSql =
    "SELECT owner, counter, expires_at FROM cinesis_leases"
    " WHERE application = ?1 AND stream = ?2 AND shard_id = ?3";
constexpr const char* kPutLeaseSql =
    "INSERT INTO cinesis_leases (application, stream, shard_id, owner, counter, expires_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (application, stream, shard_id) DO UPDATE SET"
    " owner = excluded.owner, counter = excluded.counter, expires_at = excluded.expires_at";
// Both only touch a row that still names ?4 with counter ?5; one statement is atomic.
constexpr const char* kRenewSql =
    "UPDATE cinesis_leases SET expires_at = ?6"
    " WHERE application = ?1 AND stream = ?2 AND shard_id = ?3"
    " AND owner = ?4 AND owner <> '' AND counter = ?5";
constexpr const char* kReleaseSql =
    "UPDATE cinesis_leases SET owner = '', expires_at = 0"
    " WHERE application = ?1 AND stream = ?2 AND shard_id = ?3"
    " AND owner = ?4 AND owner <> '' AND counter = ?5";
// Worker rows: ?3 is a prefix of the shard id (compared as a prefix, no LIKE escaping).
constexpr const char* kDeleteExpiredSql =
    "DELETE FROM cinesis_leases"
    " WHERE application = ?1 AND stream = ?2 AND substr(shard_id, 1, length(?3)) = ?3"
    " AND (owner = '' OR expires_at <= ?4)";
constexpr const char* kListSql =
    "SELECT shard_id, owner, counter, expires_at FROM cinesis_leases"
    " WHERE application = ?1 AND stream = ?2";

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "sqlite: " + std::string(what) + ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xff;
  // Contention, I/O and "try again" conditions are worth retrying; the rest is a bug or
  // a damaged file.
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return Status(Code::kCorruption, msg);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR ||
      primary == SQLITE_FULL || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY ||
      primary == SQLITE_PROTOCOL) {
    return Status(Code::kIoError, msg);
  }
  return Status(Code::kInternalFailure, msg);
}

// A prepared statement that is reset (and its bindings cleared) when the guard goes away,
// so it never holds a read snapshot open between calls.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Strings must outlive the statement's execution (they are bound without copying).
  Stmt& Bind(int i, std::string_view v) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text64(s_, i, v.data(), v.size(), nullptr, SQLITE_UTF8);
    }
    return *this;
  }
  Stmt& Bind(int i, std::int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& BindU64(int i, std::uint64_t v) { return Bind(i, static_cast<std::int64_t>(v)); }

  // One step: true when a row is available, false when done.
  Result<bool> Step() {
    if (rc_ != SQLITE_OK) return SqliteError(db_, rc_, "bind");
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, "step");
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? Status::Ok() : std::move(r).take_status();
  }

  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  std::uint64_t U64(int col) const { return static_cast<std::uint64_t>(Int(col)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
};

class SqliteStore final : public Store {
 public:
  SqliteStore() = default;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override {
    for (sqlite3_stmt* s : {save_, load_, load_all_, get_lease_, put_lease_, renew_, release_,
                            list_, delete_expired_}) {
      sqlite3_finalize(s);
    }
    sqlite3_close_v2(db_);
  }

  Status Open(const std::string& path) {
    int rc =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "open " + path);
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_handler(db_, BusyHandler, nullptr);
    // WAL persists in the file; setting it again is a no-op. ":memory:" answers "memory".
    // Switching a new file to WAL needs its exclusive lock, and SQLite answers BUSY without
    // calling the busy handler when another connection opening the same new file holds a
    // shared lock (processes started together): retry for as long as the handler would wait.
    for (int attempt = 0;; ++attempt) {
      Status wal = Exec("PRAGMA journal_mode=WAL");
      if (wal.ok()) break;
      if ((sqlite3_errcode(db_) & 0xff) != SQLITE_BUSY || attempt >= kBusyTimeoutMs) return wal;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    for (const char* sql : kSchema) {
      Status s = Exec(sql);
      if (!s.ok()) {
        (void)Exec("ROLLBACK");
        return s;
      }
    }
    RETURN_IF_ERROR(Commit());
    RETURN_IF_ERROR(Prepare(kSaveSql, &save_));
    RETURN_IF_ERROR(Prepare(kLoadSql, &load_));
    RETURN_IF_ERROR(Prepare(kLoadAllSql, &load_all_));
    RETURN_IF_ERROR(Prepare(kGetLeaseSql, &get_lease_));
    RETURN_IF_ERROR(Prepare(kPutLeaseSql, &put_lease_));
    RETURN_IF_ERROR(Prepare(kRenewSql, &renew_));
    RETURN_IF_ERROR(Prepare(kReleaseSql, &release_));
    RETURN_IF_ERROR(Prepare(kListSql, &list_));
    RETURN_IF_ERROR(Prepare(kDeleteExpiredSql, &delete_expired_));
    return Status::Ok();
  }

  Status Save(const Scope& scope, const std::string& shard_id, const Checkpoint& cp) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    std::lock_guard lock(mu_);
    return SaveLocked(scope, shard_id, cp);
  }

  Result<bool> SaveIfOwner(const Scope& scope, const Lease& lease, const Checkpoint& cp,
                           EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    RETURN_IF_ERROR(CheckCheckpoint(cp));
    std::lock_guard lock(mu_);
    return InWriteTransaction<bool>([&]() -> Result<bool> {
      ASSIGN_OR_RETURN(auto row, GetLease(scope, lease.shard_id));
      if (!row || row->owner.empty() || row->owner != lease.owner ||
          row->counter != lease.counter || row->expires_at <= now) {
        return false;
      }
      RETURN_IF_ERROR(SaveLocked(scope, lease.shard_id, cp));
      return true;
    });
  }

  Result<std::optional<Checkpoint>> Load(const Scope& scope, const std::string& shard_id) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("shard_id", shard_id));
    std::lock_guard lock(mu_);
    Stmt st(db_, load_);
    st.Bind(1, scope.application).Bind(2, scope.stream).Bind(3, shard_id);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<Checkpoint>();
    return std::optional<Checkpoint>(Checkpoint{st.Text(0), st.U64(1)});
  }

  Result<std::map<std::string, Checkpoint>> LoadAll(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    std::lock_guard lock(mu_);
    Stmt st(db_, load_all_);
    st.Bind(1, scope.application).Bind(2, scope.stream);
    std::map<std::string, Checkpoint> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out[st.Text(0)] = Checkpoint{st.Text(1), st.U64(2)};
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
    std::lock_guard lock(mu_);
    return InWriteTransaction<std::optional<Lease>>([&]() -> Result<std::optional<Lease>> {
      ASSIGN_OR_RETURN(auto row, GetLease(scope, shard_id));
      Lease out{shard_id, owner, 1, expires_at};
      if (row) {
        if (row->owner != owner && !row->owner.empty() && row->expires_at > now) {
          return std::optional<Lease>();
        }
        out.counter = row->owner == owner ? row->counter : row->counter + 1;
      }
      Stmt st(db_, put_lease_);
      st.Bind(1, scope.application).Bind(2, scope.stream).Bind(3, shard_id).Bind(4, owner);
      st.BindU64(5, out.counter).Bind(6, out.expires_at);
      RETURN_IF_ERROR(st.Run());
      return std::optional<Lease>(std::move(out));
    });
  }

  Result<bool> Renew(const Scope& scope, const Lease& lease, EpochMillis ttl_ms,
                     EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    ASSIGN_OR_RETURN(EpochMillis expires_at, ExpiresAt(now, ttl_ms));
    std::lock_guard lock(mu_);
    Stmt st(db_, renew_);
    st.Bind(1, scope.application).Bind(2, scope.stream).Bind(3, lease.shard_id);
    st.Bind(4, lease.owner).BindU64(5, lease.counter).Bind(6, expires_at);
    RETURN_IF_ERROR(st.Run());
    return sqlite3_changes(db_) == 1;
  }

  Status Release(const Scope& scope, const Lease& lease) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("lease.shard_id", lease.shard_id));
    std::lock_guard lock(mu_);
    Stmt st(db_, release_);
    st.Bind(1, scope.application).Bind(2, scope.stream).Bind(3, lease.shard_id);
    st.Bind(4, lease.owner).BindU64(5, lease.counter);
    return st.Run();
  }

  Result<std::vector<Lease>> List(const Scope& scope) override {
    RETURN_IF_ERROR(CheckScope(scope));
    std::lock_guard lock(mu_);
    Stmt st(db_, list_);
    st.Bind(1, scope.application).Bind(2, scope.stream);
    std::vector<Lease> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.push_back(Lease{st.Text(0), st.Text(1), st.U64(2), st.Int(3)});
    }
    std::sort(out.begin(), out.end(),
              [](const Lease& a, const Lease& b) { return a.shard_id < b.shard_id; });
    return out;
  }

  Result<std::size_t> DeleteExpired(const Scope& scope, const std::string& prefix,
                                    EpochMillis now) override {
    RETURN_IF_ERROR(CheckScope(scope));
    RETURN_IF_ERROR(CheckName("prefix", prefix));
    std::lock_guard lock(mu_);
    Stmt st(db_, delete_expired_);
    st.Bind(1, scope.application).Bind(2, scope.stream).Bind(3, prefix).Bind(4, now);
    RETURN_IF_ERROR(st.Run());
    return static_cast<std::size_t>(sqlite3_changes(db_));
  }

 private:
  struct LeaseRow {
    std::string owner;
    std::uint64_t counter = 0;
    EpochMillis expires_at = 0;
  };

  Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string what = err != nullptr ? std::string(sql) + " (" + err + ")" : std::string(sql);
    sqlite3_free(err);
    return SqliteError(db_, rc, what);
  }

  Status Commit() {
    Status s = Exec("COMMIT");
    if (!s.ok() && sqlite3_get_autocommit(db_) == 0) (void)Exec("ROLLBACK");
    return s;
  }

  Status Prepare(const char* sql, sqlite3_stmt** out) {
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : SqliteError(db_, rc, "prepare");
  }

  // Runs `body` between BEGIN IMMEDIATE and COMMIT (ROLLBACK when it fails). The write
  // lock is held from the first read, so the body's read-check-write is atomic with
  // respect to every other connection to the file.
  template <typename T, typename F>
  Result<T> InWriteTransaction(F&& body) {
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Result<T> r = body();
    if (!r.ok()) {
      if (sqlite3_get_autocommit(db_) == 0) (void)Exec("ROLLBACK");
      return r;
    }
    RETURN_IF_ERROR(Commit());
    return r;
  }

  Result<std::optional<LeaseRow>> GetLease(const Scope& scope, const std::string& shard_id) {
    Stmt st(db_, get_lease_);
    st.Bind(1, scope.application).Bind(2, scope.stream).Bind(3, shard_id);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<LeaseRow>();
    return std::optional<LeaseRow>(LeaseRow{st.Text(0), st.U64(1), st.Int(2)});
  }

  Status SaveLocked(const Scope& scope, const std::string& shard_id, const Checkpoint& cp) {
    Stmt st(db_, save_);
    st.Bind(1, scope.application).Bind(2, scope.stream).Bind(3, shard_id);
    st.Bind(4, cp.sequence_number).BindU64(5, cp.sub_sequence_number);
    return st.Run();
  }

  std::mutex mu_;  // one connection, used by one thread at a time
  sqlite3* db_ = nullptr;
  sqlite3_stmt* save_ = nullptr;
  sqlite3_stmt* load_ = nullptr;
  sqlite3_stmt* load_all_ = nullptr;
  sqlite3_stmt* get_lease_ = nullptr;
  sqlite3_stmt* put_lease_ = nullptr;
  sqlite3_stmt* renew_ = nullptr;
  sqlite3_stmt* release_ = nullptr;
  sqlite3_stmt* list_ = nullptr;
  sqlite3_stmt* delete_expired_ = nullptr;
};

}  // namespace

Result<std::shared_ptr<Store>> OpenSqliteStore(const std::string& path) {
  if (path.empty()) return Status(Code::kInvalidArgument, "sqlite store: empty path");
  auto store = std::make_shared<SqliteStore>();
  RETURN_IF_ERROR(store->Open(path));
  return std::shared_ptr<Store>(std::move(store));
}

}  // namespace cinesis::consumer
