// The metadata store of durable storage: one SQLite table, each call one atomic, durable
// transaction (WAL, synchronous=FULL). Reached through Env::OpenMetaStore, so tests can put
// a faulty store in its place.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "storage/log.h"

namespace cinesis::storage {

// Opens (creating) the store at `path`; IoError or Corruption when the file is unusable.
Result<std::unique_ptr<MetaStore>> OpenSqliteMetaStore(const std::string& path);

}  // namespace cinesis::storage
