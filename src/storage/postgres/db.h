// RAII wrappers for libpq handles (STYLE.md rule 8). Internal to the PostgreSQL backend.
//
// Every statement with values goes through Query(): the SQL has $1, $2, ... placeholders and
// the values travel separately (text format, types inferred by the server from the statement),
// so no value is ever spliced into SQL. Statements are prepared once per connection.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rapport::storage::postgres {

struct ConnectionDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

// Maps a failed result to a Status by its SQLSTATE: integrity constraint violations (class 23:
// unique, foreign key, check, not null) → kConflict, as SQLite's constraint errors are;
// serialisation failures, deadlocks, lost connections, lack of resources and shutdowns →
// kUnavailable; everything else → kInternal. The message never contains SQL or values.
Status PostgresStatus(const PGresult* result, PGconn* conn, std::string_view what);

// Values of one statement's parameters, in order ($1 first). Null is std::nullopt.
class Params {
 public:
  Params& Add(std::string_view value);
  Params& Add(const std::string& value) { return Add(std::string_view(value)); }
  Params& Add(const char* value) { return Add(std::string_view(value)); }
  Params& Add(int64_t value);
  Params& Add(int value) { return Add(int64_t{value}); }
  Params& Add(bool value);
  Params& Add(double value);
  Params& Add(const std::optional<double>& value);
  Params& Add(const std::optional<int64_t>& value);
  Params& AddNull();

  size_t size() const { return values_.size(); }
  // Pointers for libpq; valid while this object lives and is not changed.
  std::vector<const char*> Pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// The rows of a successful query.
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result) {}

  int size() const { return PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  // Rows changed by an INSERT, UPDATE or DELETE.
  int64_t Affected() const;

  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  double Double(int row, int column) const;
  bool Bool(int row, int column) const;
  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::optional<double> OptionalDouble(int row, int column) const;

 private:
  std::unique_ptr<PGresult, ResultDeleter> result_;
};

class Connection {
 public:
  // Connects to `url` (a libpq URI: postgresql://user@host:port/dbname?...) with
  // synchronous_commit on, UTC and client messages at warning level.
  static Result<Connection> Open(const std::string& url);

  // Runs SQL without parameters (may hold several statements).
  Status Execute(std::string_view sql);
  // Runs one statement with parameters; prepared once per connection and reused.
  Result<Rows> Query(std::string_view sql, const Params& params = {});
  // True while the connection is usable (not lost).
  bool Healthy() const;
  // Reconnects a lost connection; forgets prepared statements.
  Status Reset();
  PGconn* get() const { return conn_.get(); }

 private:
  std::unique_ptr<PGconn, ConnectionDeleter> conn_;
  std::unique_ptr<std::map<std::string, std::string, std::less<>>> prepared_ =
      std::make_unique<std::map<std::string, std::string, std::less<>>>();
};

}  // namespace rapport::storage::postgres
