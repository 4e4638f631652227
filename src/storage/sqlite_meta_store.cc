#include "storage/sqlite_meta_store.h"

#include <sqlite3.h>

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cinesis::storage {
namespace {

class SqliteMetaStore final : public MetaStore {
 public:
  ~SqliteMetaStore() override {
    if (db_) sqlite3_close(db_);
  }
  Status Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      return Error("open " + path);
    }
    return Exec(
        // A small page cache (256 KiB, not SQLite's 2 MB): the store is read once at start
        // and then written, one document at a time; a cache filled by the start's read of
        // 10,000 streams stayed with the process.
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-256;"
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);");
  }
  Status Put(std::string_view key, std::string_view value) override {
    return Run("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", key, value);
  }
  Status Erase(std::string_view key) override {
    return Run("DELETE FROM meta WHERE key = ?1", key, {});
  }
  Result<std::vector<std::pair<std::string, std::string>>> LoadAll() override {
    std::vector<std::pair<std::string, std::string>> out;
    RETURN_IF_ERROR(ForEach([&](std::string_view key, std::string_view value) {
      out.emplace_back(key, value);
      return true;
    }));
    return out;
  }
  // Reads kForEachChunk entries at a time under the lock, then visits them without it: the
  // engine's start takes each stream's lock in `visit`, and holds a stream's lock around Put
  // elsewhere (Persist), so visiting under mu_ would order the two locks both ways.
  Status ForEach(const EntryVisitor& visit) override {
    std::vector<std::pair<std::string, std::string>> chunk;
    std::string after;
    bool first = true;
    for (;;) {
      chunk.clear();
      {
        std::lock_guard lock(mu_);
        sqlite3_stmt* st = nullptr;
        const char* sql = first
                              ? "SELECT key, value FROM meta ORDER BY key LIMIT ?1"
                              : "SELECT key, value FROM meta WHERE key > ?2 ORDER BY key LIMIT ?1";
        if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return Error("prepare");
        sqlite3_bind_int(st, 1, kForEachChunk);
        if (!first) {
          sqlite3_bind_text(st, 2, after.data(), static_cast<int>(after.size()), SQLITE_TRANSIENT);
        }
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
          auto text = [&](int col) {
            const auto* p = static_cast<const char*>(sqlite3_column_blob(st, col));
            return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, col)));
          };
          chunk.emplace_back(text(0), text(1));
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) return Error("select");
      }
      for (const auto& [key, value] : chunk) {
        if (!visit(key, value)) return Status::Ok();
      }
      if (chunk.size() < static_cast<std::size_t>(kForEachChunk)) return Status::Ok();
      after = chunk.back().first;
      first = false;
    }
  }

  // PRAGMA quick_check: Corruption unless SQLite finds the file sound.
  Status Check() {
    std::lock_guard lock(mu_);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA quick_check", -1, &st, nullptr) != SQLITE_OK)
      return Error("quick_check");
    std::string verdict;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const auto* p = sqlite3_column_text(st, 0);
      verdict = p ? reinterpret_cast<const char*>(p) : "";
    }
    sqlite3_finalize(st);
    if (verdict != "ok") return {Code::kCorruption, "sqlite quick_check: " + verdict};
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) {
    const int primary = sqlite3_errcode(db_) & 0xff;
    const Code code =
        primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? Code::kCorruption : Code::kIoError;
    return {code, "sqlite " + what + ": " + sqlite3_errmsg(db_)};
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
      const int primary = rc & 0xff;
      Status st(primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? Code::kCorruption
                                                                      : Code::kIoError,
                std::string("sqlite: ") + (err ? err : "?"));
      sqlite3_free(err);
      return st;
    }
    return Status::Ok();
  }
  Status Run(const char* sql, std::string_view a, std::string_view b) {
    std::lock_guard lock(mu_);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return Error("prepare");
    sqlite3_bind_text(st, 1, a.data(), static_cast<int>(a.size()), SQLITE_TRANSIENT);
    if (sqlite3_bind_parameter_count(st) > 1) {
      sqlite3_bind_blob(st, 2, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? Status::Ok() : Error("write");
  }
  static constexpr int kForEachChunk = 64;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenSqliteMetaStore(const std::string& path) {
  auto store = std::make_unique<SqliteMetaStore>();
  RETURN_IF_ERROR(store->Open(path));
  // A damaged file opens fine and fails at the first read: find out now.
  RETURN_IF_ERROR(store->Check());
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace cinesis::storage
