#include "storage/sqlite/db.h"

#include <mutex>

#include "storage/sqlite/page_cache.h"

namespace rapport::storage::sqlite {
namespace {

// Process-wide SQLite settings, made once before the first connection opens (sqlite3_config
// refuses changes once the library is initialised; then the defaults stay, which is only
// slower).
// - Memory statistics off: with them on, every allocation and free in every connection takes
//   one global mutex; SQLite allocates for every page it reads into a cache (and, built
//   without lookaside as Debian's is, for most small objects), so the server's reader threads
//   and its writer queue on that mutex.
// - Each connection's page cache takes its first 128 pages from one block allocated when it is
//   first used (the default is 20). In WAL mode a reader empties its cache whenever another
//   connection has committed, so under ingest every read transaction fetches its pages again;
//   from the block, that costs no malloc and free per page. 128 pages of 4 KiB cover a
//   submission's reads; the server's 64 read connections hold about 34 MiB for it.
// - The page cache of page_cache.h, whose truncation at each commit does not walk the whole
//   cache.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 128);
    (void)InstallPageCache();
  });
}

}  // namespace

Status SqliteStatus(int code, sqlite3* db, std::string_view what) {
  const int primary = code & 0xff;
  if (primary == SQLITE_OK || primary == SQLITE_DONE || primary == SQLITE_ROW) return Status::Ok();
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  const std::string message = std::string(what) + ": " + detail;
  switch (primary) {
    case SQLITE_CONSTRAINT: return Conflict(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR: return Unavailable(message);
    default: return Internal(message);
  }
}

Result<Connection> Connection::Open(const std::string& path, bool read_only) {
  ConfigureSqliteOnce();
  sqlite3* raw = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection connection;
  connection.db_.reset(raw);
  if (rc != SQLITE_OK) {
    return Unavailable("cannot open SQLite database '" + path +
                       "': " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // WAL with synchronous=FULL: a committed transaction survives power loss (DESIGN.md §7).
  if (!read_only) RAPPORT_RETURN_IF_ERROR(connection.Execute("PRAGMA journal_mode=WAL"));
  RAPPORT_RETURN_IF_ERROR(connection.Execute(
      "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY"));
  return connection;
}

Status Connection::Execute(std::string_view sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_.get(), std::string(sql).c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);
  return SqliteStatus(rc, db_.get(), "execute");
}

Status Connection::ExecuteCached(std::string_view sql) {
  RAPPORT_ASSIGN_OR_RETURN(Statement * stmt, Cached(sql));
  const Status status = stmt->Run();
  stmt->Reset();
  return status;
}

Result<Statement> Connection::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_.get(), "prepare");
  return Statement(stmt);
}

Result<Statement*> Connection::Cached(std::string_view sql) {
  auto it = cache_->find(sql);
  if (it == cache_->end()) {
    RAPPORT_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
    it = cache_->emplace(std::string(sql), std::move(stmt)).first;
  } else {
    it->second.Reset();
  }
  return &it->second;
}

void Connection::ResetCached() {
  for (auto& [sql, stmt] : *cache_) stmt.Reset();
}

void Statement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

Statement& Statement::Bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}
Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_.get(), index, value);
  return *this;
}
Statement& Statement::Bind(int index, const std::optional<double>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(rc, sqlite3_db_handle(stmt_.get()), "step");
}

Status Statement::Run() {
  while (true) {
    RAPPORT_ASSIGN_OR_RETURN(const bool row, Step());
    if (!row) return Status::Ok();
  }
}

std::string Statement::Text(int column) const {
  const auto* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}
int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_.get(), column); }
double Statement::Double(int column) const { return sqlite3_column_double(stmt_.get(), column); }
bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}
std::optional<double> Statement::OptionalDouble(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Double(column);
}

}  // namespace rapport::storage::sqlite
