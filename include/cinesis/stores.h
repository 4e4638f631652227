// Shared checkpoint and lease stores: SQLite (a file; the embedded default), Redis
// (hiredis) and PostgreSQL (libpq). Each object implements both CheckpointStore and
// LeaseStore on the same backend, so checkpoints can be fenced by leases atomically.
#pragma once

#include <memory>
#include <string>

#include "cinesis/checkpoint.h"
#include "cinesis/export.h"

namespace cinesis::consumer {

class CINESIS_EXPORT Store : public CheckpointStore, public LeaseStore {};

// Creates the file and its tables if missing.
CINESIS_EXPORT Result<std::shared_ptr<Store>> OpenSqliteStore(const std::string& path);
// "redis://host:port[/db]" or host/port; keys under the prefix "cinesis:".
CINESIS_EXPORT Result<std::shared_ptr<Store>> OpenRedisStore(const std::string& host, int port,
                                                             int db = 0);
// A libpq connection string, e.g. "host=127.0.0.1 port=5432 dbname=app user=app";
// creates the schema if missing (see docs/client.md).
CINESIS_EXPORT Result<std::shared_ptr<Store>> OpenPostgresStore(const std::string& conninfo);
CINESIS_EXPORT std::shared_ptr<Store> NewMemoryStore();

}  // namespace cinesis::consumer
