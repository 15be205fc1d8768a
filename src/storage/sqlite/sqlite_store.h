// The embedded SQLite backend of the Store (DESIGN.md §7).
//
// One writer thread owns the write connection. Write() queues the caller's work and blocks;
// the writer takes every queued item (up to a batch limit), runs each inside its own SAVEPOINT
// within one BEGIN IMMEDIATE … COMMIT, and wakes each caller with its own status once the
// COMMIT has returned. With WAL and synchronous=FULL the commit is on disk before anyone is
// told it succeeded (group commit: one fsync for many callers).
//
// Reads use a pool of read connections, each in its own snapshot transaction. Checkpoints
// (copying the WAL back into the database) run on a thread of their own with their own
// connection, so the writer's commits never wait for one.
#pragma once

#include <memory>
#include <string>

#include "storage/store.h"

namespace rapport::storage::sqlite {

struct Options {
  std::string path;
  bool migrate = true;
  // The most transactions one commit may hold.
  size_t max_batch = 512;
  // WAL pages after which the writer starts the WAL over between batches (sqlite_store.cc),
  // which bounds the WAL file under a steady load to about this size.
  int wal_restart_pages = 8192;
};

Result<std::unique_ptr<Store>> OpenSqliteStore(const Options& options);

}  // namespace rapport::storage::sqlite
