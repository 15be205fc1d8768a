// Numbered schema migrations of the SQLite backend. Applied in order, each in its own
// transaction, recorded in schema_migrations. Never edit a released migration: add one.
#pragma once

#include <span>
#include <string_view>

#include "base/status.h"
#include "storage/sqlite/db.h"

namespace rapport::storage::sqlite {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const Migration> Migrations();

// Current version of the database (0 when empty).
Result<int> CurrentVersion(Connection& db);
// Applies every migration above the current version.
Status Migrate(Connection& db);

}  // namespace rapport::storage::sqlite
