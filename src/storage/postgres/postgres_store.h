// The PostgreSQL backend of the Store (DESIGN.md §7), for shared or larger deployments: several
// stateless application servers on one database.
//
// Writes mirror the SQLite backend's group commit: one writer thread per store owns a write
// connection; Write() queues the caller's work and blocks; the writer takes every queued item
// (up to a batch limit), runs each in its own SAVEPOINT inside one BEGIN … COMMIT, and wakes
// each caller with its own status once the COMMIT has returned (synchronous_commit on: the
// commit is flushed to the write-ahead log first). A failing caller is rolled back to its
// savepoint alone. Unlike SQLite, a statement that fails (e.g. a unique violation) aborts the
// rest of that caller's work: later statements of the same caller fail too.
//
// Between processes, the database serialises: AppendAudit takes a per-organisation
// transaction-level advisory lock before reading the chain's head, so two servers never append
// the same seq; rate counters are one INSERT … ON CONFLICT … RETURNING.
//
// Reads use a pool of connections (at most `max_readers`, callers wait beyond that), each read
// in its own REPEATABLE READ READ ONLY transaction (one snapshot).
#pragma once

#include <memory>
#include <string>

#include "storage/store.h"

namespace rapport::storage::postgres {

struct Options {
  // A libpq connection URI: postgresql://[user[:password]@]host[:port]/dbname[?param=value...]
  // (postgres:// too).
  std::string url;
  bool migrate = true;
  // The most transactions one commit may hold.
  size_t max_batch = 512;
  // The most read connections open at once.
  size_t max_readers = 16;
};

Result<std::unique_ptr<Store>> OpenPostgresStore(const Options& options);

}  // namespace rapport::storage::postgres
