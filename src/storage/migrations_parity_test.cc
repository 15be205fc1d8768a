// The two backends' schemas stay one schema (DESIGN.md §7): every migration exists in both,
// with the same version and name, and once applied both databases have the same tables,
// columns (and which may be null) and named indexes.
#include <map>
#include <set>

#include "storage/postgres/migrations.h"
#include "storage/postgres/test_cluster.h"
#include "storage/sqlite/migrations.h"
#include "storage/tables.h"
#include "testing/testing.h"

namespace rapport::storage {
namespace {

TEST(MigrationParity, EveryMigrationExistsInBothBackendsWithTheSameName) {
  std::map<int, std::string> sqlite_list;
  std::map<int, std::string> postgres_list;
  for (const auto& migration : sqlite::Migrations()) {
    sqlite_list.emplace(migration.version, migration.name);
  }
  for (const auto& migration : postgres::Migrations()) {
    postgres_list.emplace(migration.version, migration.name);
  }
  EXPECT_EQ(sqlite_list, postgres_list)
      << "a migration added to one backend needs its counterpart in the other";
}

// Column → "NOT NULL" or "NULL", by table.
using Columns = std::map<std::string, std::map<std::string, std::string>>;

struct Schema {
  Columns columns;
  std::set<std::string> indexes;  // named ones: not those made for primary keys and UNIQUE
};

Result<Schema> SqliteSchema(const std::filesystem::path& path) {
  RAPPORT_ASSIGN_OR_RETURN(sqlite::Connection db, sqlite::Connection::Open(path.string(), false));
  RAPPORT_RETURN_IF_ERROR(sqlite::Migrate(db));
  Schema schema;
  // SQLite lets a non-integer PRIMARY KEY column hold NULL; PostgreSQL never does, and Rapport
  // never stores one, so key columns count as NOT NULL.
  RAPPORT_ASSIGN_OR_RETURN(
      sqlite::Statement columns,
      db.Prepare("SELECT m.name, p.name, p.\"notnull\" OR p.pk > 0 FROM sqlite_master m, "
                 "pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE "
                 "'sqlite\\_%' ESCAPE '\\'"));
  while (true) {
    RAPPORT_ASSIGN_OR_RETURN(const bool row, columns.Step());
    if (!row) break;
    schema.columns[columns.Text(0)][columns.Text(1)] = columns.Int(2) != 0 ? "NOT NULL" : "NULL";
  }
  RAPPORT_ASSIGN_OR_RETURN(
      sqlite::Statement indexes,
      db.Prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"));
  while (true) {
    RAPPORT_ASSIGN_OR_RETURN(const bool row, indexes.Step());
    if (!row) break;
    schema.indexes.insert(indexes.Text(0));
  }
  return schema;
}

Result<Schema> PostgresSchema(const std::string& url) {
  RAPPORT_ASSIGN_OR_RETURN(postgres::Connection db, postgres::Connection::Open(url));
  RAPPORT_RETURN_IF_ERROR(postgres::Migrate(db));
  Schema schema;
  // insert_order is SQLite's implicit rowid made explicit (postgres/migrations.cc).
  RAPPORT_ASSIGN_OR_RETURN(
      const postgres::Rows columns,
      db.Query("SELECT table_name, column_name, is_nullable FROM information_schema.columns "
               "WHERE table_schema = 'public' AND column_name <> 'insert_order'"));
  for (int row = 0; row < columns.size(); ++row) {
    schema.columns[columns.Text(row, 0)][columns.Text(row, 1)] =
        columns.Text(row, 2) == "NO" ? "NOT NULL" : "NULL";
  }
  // Indexes PostgreSQL makes for PRIMARY KEY and UNIQUE constraints are unnamed in SQLite.
  RAPPORT_ASSIGN_OR_RETURN(
      const postgres::Rows indexes,
      db.Query("SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public' AND NOT "
               "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident("
               "i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"));
  for (int row = 0; row < indexes.size(); ++row) schema.indexes.insert(indexes.Text(row, 0));
  return schema;
}

TEST(MigrationParity, BothBackendsHaveTheSameTablesColumnsAndIndexes) {
  testing::TempDir dir;
  auto sqlite_schema = SqliteSchema(dir.path() / "parity.db");
  ASSERT_OK(sqlite_schema);
  auto url = postgres::CreateTestDatabase();
  ASSERT_OK(url);
  auto postgres_schema = PostgresSchema(*url);
  EXPECT_OK(postgres::DropTestDatabase(*url));
  ASSERT_OK(postgres_schema);
  EXPECT_EQ(sqlite_schema->columns, postgres_schema->columns);
  EXPECT_EQ(sqlite_schema->indexes, postgres_schema->indexes);
  EXPECT_GE(sqlite_schema->columns.size(), 20u);
}

// What moves with an organisation (tables.h, `rapport export`) is every column of every table
// but those deliberately left behind, with the type SQLite declares (and, by the test above,
// PostgreSQL has too): a migration that adds a table or a column fails here until the copy
// knows it.
TEST(MigrationParity, EveryColumnMovesWithItsOrganisation) {
  testing::TempDir dir;
  const auto path = dir.path() / "tables.db";
  auto schema = SqliteSchema(path);
  ASSERT_OK(schema);
  auto db = sqlite::Connection::Open(path.string(), true);
  ASSERT_OK(db);
  auto types = db->Prepare(
      "SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p WHERE "
      "m.type = 'table'");
  ASSERT_OK(types);
  std::map<std::string, std::map<std::string, std::string>> declared;
  while (true) {
    auto row = types->Step();
    ASSERT_OK(row);
    if (!*row) break;
    declared[types->Text(0)][types->Text(1)] = types->Text(2);
  }
  std::set<std::string> described;
  for (const TableSpec& table : OrganizationTables()) {
    const std::string name(table.name);
    described.insert(name);
    ASSERT_TRUE(schema->columns.contains(name)) << name << " is not in the schema";
    std::set<std::string> columns;
    for (const std::string_view column : table.maintained) columns.insert(std::string(column));
    for (const ColumnSpec& column : table.columns) {
      columns.insert(std::string(column.name));
      const std::string type = declared[name][std::string(column.name)];
      const std::string expected = column.type == ColumnType::kText   ? "TEXT"
                                   : column.type == ColumnType::kReal ? "REAL"
                                                                      : "INTEGER";
      EXPECT_EQ(type, expected) << name << "." << column.name;
    }
    std::set<std::string> in_schema;
    for (const auto& [column, nullable] : schema->columns.at(name)) in_schema.insert(column);
    EXPECT_EQ(columns, in_schema) << "the columns of " << name;
    EXPECT_GE(table.ColumnIndex(table.org_column), 0) << name;
    for (const std::string_view key : table.key) EXPECT_GE(table.ColumnIndex(key), 0) << name;
  }
  for (const std::string_view table : UncopiedTables()) described.insert(std::string(table));
  for (const auto& [table, columns] : schema->columns) {
    EXPECT_TRUE(described.contains(table))
        << table << " is neither copied with an organisation (tables.h) nor left out on purpose";
  }
}

}  // namespace
}  // namespace rapport::storage
