// Backups of the embedded SQLite database while Rapport serves from it, and restoring one
// (docs/operations.md "Backups"). PostgreSQL is backed up with its own tools (pg_dump,
// pg_basebackup); these functions are for sqlite: databases only.
#pragma once

#include <cstdint>
#include <filesystem>

#include "base/status.h"

namespace rapport::storage {

struct BackupInfo {
  std::filesystem::path file;
  int64_t bytes = 0;
  int schema_version = 0;
  int64_t organizations = 0;
};

// Copies the SQLite database at `database` into the new file `to` with SQLite's online backup:
// one consistent snapshot taken while servers go on reading and writing (WAL readers do not
// block writers). The copy is written beside `to` first and renamed into place once it is
// complete, synced and passes SQLite's integrity check, so a file at `to` is always whole. It is
// one self-contained file (no -wal), readable by its owner only.
// kInvalidArgument when `to` exists or `database` is not a Rapport database.
Result<BackupInfo> BackupSqlite(const std::filesystem::path& database,
                                const std::filesystem::path& to);

// Restores the backup `from` as the database `database`. The backup is copied beside
// `database`, checked (SQLite's integrity check, a schema this Rapport knows, migrated when
// older, and every organisation's audit chain verifying) and only then renamed into place.
// An existing `database` is replaced only when `replace` is set, and only when no other program
// (a running `rapport serve`) has it open: kUnavailable otherwise. The backup is not changed.
Result<BackupInfo> RestoreSqlite(const std::filesystem::path& from,
                                 const std::filesystem::path& database, bool replace);

}  // namespace rapport::storage
