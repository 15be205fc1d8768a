// RAII wrappers for sqlite3 handles (STYLE.md rule 8). Internal to the SQLite backend.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rapport::storage::sqlite {

struct ConnectionDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

// Maps an SQLite result code to a Status: constraint violations → kConflict, busy/locked/full
// → kUnavailable, everything else → kInternal. The message never contains SQL.
Status SqliteStatus(int code, sqlite3* db, std::string_view what);

// A prepared statement. Bind positions are 1-based as in SQLite.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, int64_t{value}); }
  Statement& Bind(int index, bool value) { return Bind(index, int64_t{value ? 1 : 0}); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, const std::optional<double>& value);
  Statement& BindNull(int index);
  Statement& Bind(int index, const char* value) { return Bind(index, std::string_view(value)); }
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, std::string_view(value));
  }

  // Makes a used statement ready to run again and clears its bindings.
  void Reset();

  // Advances: true when a row is available, false when done; errors as Status.
  Result<bool> Step();
  // Steps to completion of a statement that returns no rows.
  Status Run();

  std::string Text(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  bool Bool(int column) const { return Int(column) != 0; }  // INTEGER 0/1 flags
  bool IsNull(int column) const;
  std::optional<double> OptionalDouble(int column) const;

 private:
  std::unique_ptr<sqlite3_stmt, StatementDeleter> stmt_;
};

// How long a connection waits for another's lock before SQLITE_BUSY.
inline constexpr int kBusyTimeoutMs = 10'000;

class Connection {
 public:
  // Opens (creating when absent) the database at `path` with WAL, synchronous=FULL and foreign
  // keys on.
  static Result<Connection> Open(const std::string& path, bool read_only);

  // Runs SQL without results (may hold several statements).
  Status Execute(std::string_view sql);
  // Runs one statement without results, prepared once (Cached): for the statements every
  // transaction runs (BEGIN, SAVEPOINT, COMMIT, ...).
  Status ExecuteCached(std::string_view sql);
  // Prepares one statement; REQUIRES: `sql` is a single valid statement.
  Result<Statement> Prepare(std::string_view sql);
  // A statement prepared once per connection and reused; reset and unbound on every call.
  // The pointer stays valid for the connection's lifetime.
  Result<Statement*> Cached(std::string_view sql);
  // Resets every cached statement so none keeps a read snapshot open after a transaction.
  void ResetCached();
  sqlite3* get() const { return db_.get(); }

 private:
  std::unique_ptr<sqlite3, ConnectionDeleter> db_;
  std::unique_ptr<std::map<std::string, Statement, std::less<>>> cache_ =
      std::make_unique<std::map<std::string, Statement, std::less<>>>();
};

}  // namespace rapport::storage::sqlite
