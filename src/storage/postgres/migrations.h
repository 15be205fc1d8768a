// Numbered schema migrations of the PostgreSQL backend. They mirror sqlite/migrations.cc one
// for one (same versions and names, same tables, columns, constraints and indexes in
// PostgreSQL's types; storage/migrations_parity_test.cc checks it). Applied in order, each in
// its own transaction under an advisory lock (so two servers migrating at once apply each
// migration once), recorded in schema_migrations. Never edit a released migration: add one, to
// both backends.
#pragma once

#include <span>
#include <string_view>

#include "base/status.h"
#include "storage/postgres/db.h"

namespace rapport::storage::postgres {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const Migration> Migrations();

// Current version of the database (0 when empty). Changes nothing.
Result<int> CurrentVersion(Connection& db);
// Applies every migration above the current version.
Status Migrate(Connection& db);

}  // namespace rapport::storage::postgres
