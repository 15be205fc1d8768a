// The tables that hold one organisation's data, described once for both backends, so that an
// organisation can be copied row by row from one database to another (storage/transfer.h)
// without either side knowing the other's SQL dialect (DESIGN.md §7). A test checks this
// description against both backends' migrated schemas: a column or table added by a migration
// and missing here fails it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace rapport::storage {

// The kinds of value a column holds. Times are kInteger milliseconds since the Unix epoch
// (UTC) in both backends; flags are SQLite INTEGER 0/1 and PostgreSQL BOOLEAN.
enum class ColumnType { kText, kInteger, kReal, kBoolean };

std::string_view Name(ColumnType type);  // "text", "integer", "real", "boolean"

struct ColumnSpec {
  std::string_view name;
  ColumnType type;
};

struct TableSpec {
  std::string_view name;
  // The column naming the organisation: "org_id", or "id" for the organizations table.
  std::string_view org_column;
  std::vector<ColumnSpec> columns;    // the copied columns, the organisation's among them
  std::vector<std::string_view> key;  // the primary key without the organisation's column
  // True when the store lists some of the table's rows in the order they were inserted
  // (SQLite's rowid, PostgreSQL's insert_order): rows are then copied in that order, so the
  // copy lists them alike. Otherwise rows are copied by key, text compared byte by byte.
  bool insertion_ordered = false;
  // Columns the database keeps by itself and are not copied: the copy's own triggers set them
  // as its rows go in (episodes.revision, a change counter whose number means nothing).
  std::vector<std::string_view> maintained = {};

  // The position of column `name`, or -1.
  int ColumnIndex(std::string_view name) const;
};

// One value: null, or of its column's type.
using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;
// One row: a value per column, in the TableSpec's column order.
using Row = std::vector<Value>;

// Every table holding an organisation's data, in an order where the rows a row refers to come
// before it. Not copied: auth_sessions (staff sign in again on the new database),
// rate_counters (not an organisation's) and schema_migrations.
const std::vector<TableSpec>& OrganizationTables();

// The tables that exist in the schema but deliberately hold nothing to copy.
const std::vector<std::string_view>& UncopiedTables();

// The organisation table named `name`; nullptr when there is none.
const TableSpec* FindOrganizationTable(std::string_view name);

// The table's column names separated by ", ", for the backends' SELECT and INSERT statements.
std::string ColumnList(const TableSpec& table);

// The SELECT of ScanOrganizationRows in a backend's dialect: the table's columns, of the
// organisation named by `placeholder`, in the table's copy order — `insertion_column` (the
// backend's name for insertion order) or the key, each text key column followed by
// `text_collation` so that text compares byte by byte.
std::string ScanSql(const TableSpec& table, std::string_view placeholder,
                    std::string_view insertion_column, std::string_view text_collation);

// kInvalidArgument unless `table` is one of OrganizationTables() (the backends build SQL from
// its names, so only these descriptions may reach them).
Status CheckOrganizationTable(const TableSpec& table);

// CheckOrganizationTable, then kInvalidArgument naming the table and column when `row` does not
// hold one value per column, each null or of the column's type.
Status CheckRow(const TableSpec& table, const Row& row);

// The value of one column of a backend's current result row, read by its column's type.
// `reader` has IsNull, Text, Int, Double and Bool, each taking the column's position.
template <typename Reader>
Value ReadValue(const Reader& reader, int column, ColumnType type) {
  if (reader.IsNull(column)) return std::monostate{};
  switch (type) {
    case ColumnType::kText: return reader.Text(column);
    case ColumnType::kInteger: return reader.Int(column);
    case ColumnType::kReal: return reader.Double(column);
    case ColumnType::kBoolean: return reader.Bool(column);
  }
  return std::monostate{};
}

}  // namespace rapport::storage
