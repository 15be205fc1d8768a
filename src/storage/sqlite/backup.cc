#include "storage/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <system_error>

#include "storage/sqlite/db.h"
#include "storage/sqlite/migrations.h"
#include "storage/store.h"

namespace rapport::storage {
namespace {

namespace fs = std::filesystem;
using sqlite::Connection;
using sqlite::Statement;

// Makes a rename or a removal in `dir` durable.
void SyncFolder(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

fs::path Beside(const fs::path& file, std::string_view suffix) {
  fs::path out = file;
  out += suffix;
  return out;
}

void RemoveWithSidecars(const fs::path& file) {
  std::error_code ignored;
  for (const std::string_view suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(Beside(file, suffix), ignored);
  }
}

// SQLite's verdict on a file that is not a database at all is a plain error; say what it means.
Status NotADatabase(const fs::path& file, const Status& status) {
  return InvalidArgument(
      file.string().append(" is not a Rapport database: ").append(status.message()), "from");
}

Result<int64_t> CountOrganizations(Connection& db) {
  RAPPORT_ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT COUNT(*) FROM organizations"));
  RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

// SQLite's integrity check, then the schema version and organisations of a database file that
// `db` has open.
Result<BackupInfo> Inspect(Connection& db, const fs::path& file) {
  RAPPORT_ASSIGN_OR_RETURN(Statement check, db.Prepare("PRAGMA integrity_check"));
  RAPPORT_ASSIGN_OR_RETURN(const bool row, check.Step());
  if (!row || check.Text(0) != "ok") {
    return InvalidArgument(
        file.string().append(" fails SQLite's integrity check: ").append(row ? check.Text(0) : ""),
        "from");
  }
  BackupInfo info;
  info.file = file;
  RAPPORT_ASSIGN_OR_RETURN(info.schema_version, sqlite::CurrentVersion(db));
  if (info.schema_version == 0) {
    return InvalidArgument(file.string().append(" holds no Rapport schema"), "from");
  }
  const int known = sqlite::Migrations().back().version;
  if (info.schema_version > known) {
    return InvalidArgument(file.string()
                               .append(" is at schema version ")
                               .append(std::to_string(info.schema_version))
                               .append(", newer than this Rapport's ")
                               .append(std::to_string(known)),
                           "from");
  }
  RAPPORT_ASSIGN_OR_RETURN(info.organizations, CountOrganizations(db));
  return info;
}

// Copies all of `from` into `to` in one step (one read snapshot of `from`).
Status Copy(Connection& from, Connection& to) {
  sqlite3_backup* backup = sqlite3_backup_init(to.get(), "main", from.get(), "main");
  if (backup == nullptr) return sqlite::SqliteStatus(sqlite3_errcode(to.get()), to.get(), "backup");
  const int step = sqlite3_backup_step(backup, -1);
  const int finish = sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE) return sqlite::SqliteStatus(step, to.get(), "backup");
  return sqlite::SqliteStatus(finish, to.get(), "backup");
}

// Opens an existing database file (Connection::Open would create a missing one).
Result<Connection> OpenExisting(const fs::path& file, bool read_only, std::string_view field) {
  std::error_code error;
  if (!fs::is_regular_file(file, error)) {
    return InvalidArgument(file.string().append(" does not exist"), std::string(field));
  }
  auto db = Connection::Open(file.string(), read_only);
  if (!db.ok()) return NotADatabase(file, db.status());
  return db;
}

// A copy of `source` (open) at `partial`, in one file with no -wal beside it.
Status WriteCopy(Connection& source, const fs::path& partial) {
  RemoveWithSidecars(partial);
  RAPPORT_ASSIGN_OR_RETURN(Connection copy, Connection::Open(partial.string(), false));
  std::error_code ignored;
  fs::permissions(partial, fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace, ignored);
  RAPPORT_RETURN_IF_ERROR(Copy(source, copy));
  // A rollback journal instead of WAL: the copy is one self-contained file.
  return copy.Execute("PRAGMA journal_mode=DELETE");
}

}  // namespace

Result<BackupInfo> BackupSqlite(const fs::path& database, const fs::path& to) {
  std::error_code error;
  if (fs::exists(to, error)) {
    return InvalidArgument(to.string().append(" exists; a backup never overwrites a file"), "out");
  }
  auto source = OpenExisting(database, true, "db");
  if (!source.ok()) return source.status();
  {
    auto version = sqlite::CurrentVersion(*source);
    if (!version.ok()) return NotADatabase(database, version.status());
  }
  const fs::path partial = Beside(to, ".partial");
  Result<BackupInfo> info = [&]() -> Result<BackupInfo> {
    RAPPORT_RETURN_IF_ERROR(WriteCopy(*source, partial));
    RAPPORT_ASSIGN_OR_RETURN(Connection copy, OpenExisting(partial, true, "out"));
    return Inspect(copy, to);
  }();
  if (!info.ok()) {
    RemoveWithSidecars(partial);
    return info.status();
  }
  fs::rename(partial, to, error);
  if (error) {
    RemoveWithSidecars(partial);
    return Internal(std::string("cannot rename the backup into place: ").append(error.message()));
  }
  SyncFolder(to.parent_path());
  info->bytes = static_cast<int64_t>(fs::file_size(to, error));
  return info;
}

Result<BackupInfo> RestoreSqlite(const fs::path& from, const fs::path& database, bool replace) {
  std::error_code error;
  const bool exists = fs::exists(database, error);
  if (exists && !replace) {
    return InvalidArgument(
        database.string().append(" exists; pass --force to replace it (stop the server first)"),
        "db");
  }
  auto backup = OpenExisting(from, true, "from");
  if (!backup.ok()) return backup.status();
  {
    auto inspected = Inspect(*backup, from);
    if (!inspected.ok()) {
      return inspected.status().code() == StatusCode::kInvalidArgument
                 ? inspected.status()
                 : NotADatabase(from, inspected.status());
    }
  }

  // The restored database is made and checked beside its final place, then renamed there.
  const fs::path partial = Beside(database, ".restoring");
  Result<BackupInfo> info = [&]() -> Result<BackupInfo> {
    RAPPORT_RETURN_IF_ERROR(WriteCopy(*backup, partial));
    // Through the store, as a server would open it: migrated when the backup is older.
    {
      RAPPORT_ASSIGN_OR_RETURN(auto store, OpenStore("sqlite:" + partial.string(), true));
      RAPPORT_RETURN_IF_ERROR(store->Read([&](ReadTransaction& txn) -> Status {
        RAPPORT_ASSIGN_OR_RETURN(const auto orgs, txn.ListOrganizations());
        for (const domain::Organization& org : orgs) {
          RAPPORT_ASSIGN_OR_RETURN(const AuditVerification chain,
                                   VerifyStoredAuditChain(txn, org.id));
          if (!chain.ok()) {
            return InvalidArgument(from.string()
                                       .append(": the audit log of organisation ")
                                       .append(org.id)
                                       .append(" does not verify: ")
                                       .append(chain.problem->message),
                                   "from");
          }
        }
        return Status::Ok();
      }));
      store->Close();
    }
    RAPPORT_ASSIGN_OR_RETURN(Connection restored, OpenExisting(partial, false, "db"));
    RAPPORT_RETURN_IF_ERROR(restored.Execute("PRAGMA journal_mode=DELETE"));
    return Inspect(restored, database);
  }();
  if (!info.ok()) {
    RemoveWithSidecars(partial);
    return info.status();
  }

  std::optional<Connection> old;
  if (exists) {
    // Leaving WAL needs the only connection to the database: a running server makes this fail
    // (busy), and success folds the old -wal into the file and removes it, so nothing of the
    // old database can be replayed onto the restored one.
    auto opened = Connection::Open(database.string(), false);
    Status leave_wal = opened.status();
    if (opened.ok()) {
      sqlite3_busy_timeout(opened->get(), 200);
      leave_wal = opened->Execute("PRAGMA journal_mode=DELETE");
    }
    if (!leave_wal.ok()) {
      RemoveWithSidecars(partial);
      return Unavailable(database.string().append(
          " is in use (is `rapport serve` running on it?); stop it, then restore"));
    }
    old = std::move(*opened);
  }
  fs::rename(partial, database, error);
  old.reset();
  if (error) {
    RemoveWithSidecars(partial);
    return Internal(
        std::string("cannot rename the restored database into place: ").append(error.message()));
  }
  std::error_code ignored;
  fs::remove(Beside(database, "-wal"), ignored);
  fs::remove(Beside(database, "-shm"), ignored);
  SyncFolder(database.parent_path());
  info->file = database;
  info->bytes = static_cast<int64_t>(fs::file_size(database, error));
  return info;
}

}  // namespace rapport::storage
