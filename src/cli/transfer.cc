// `rapport export | import | backup | restore`: moving an organisation between databases and
// backing up the embedded database (docs/operations.md, "Moving an organisation" and
// "Backups"). Export and import are recorded in the organisation's audit log by actor
// "console".
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cli/command.h"
#include "storage/backup.h"
#include "storage/transfer.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

struct TransferArgs {
  std::string db;
  std::string org;
  std::string format = "ndjson";
  std::string dir;
};

struct BackupArgs {
  std::string db;
  std::string file;
  bool force = false;
};

Json SummaryJson(const storage::TransferSummary& summary) {
  Json tables = Json::object();
  for (const auto& [name, rows] : summary.tables) tables[name] = rows;
  return Json{{"organization", {{"id", summary.org_id}, {"name", summary.org_name}}},
              {"schema_version", summary.schema_version},
              {"rows", summary.rows},
              {"tables", tables},
              {"audit_head", {{"seq", summary.audit_head.seq}, {"hash", summary.audit_head.hash}}}};
}

Json BackupJson(const storage::BackupInfo& info) {
  return Json{{"file", info.file.string()},
              {"bytes", info.bytes},
              {"schema_version", info.schema_version},
              {"organizations", info.organizations}};
}

Status RunExport(const TransferArgs& args) {
  if (args.format != "ndjson") {
    return InvalidArgument("--format must be ndjson, got '" + args.format + "'", "format");
  }
  RAPPORT_ASSIGN_OR_RETURN(const auto store, OpenExistingStore(args.db));
  auto summary =
      storage::ExportOrganization(*store, args.org, args.dir, "console", DefaultClock().Now());
  if (summary.status().code() == StatusCode::kNotFound) {
    return InvalidArgument("unknown organisation '" + args.org + "'", "org");
  }
  RAPPORT_RETURN_IF_ERROR(summary.status());
  store->Close();
  std::cout << SummaryJson(*summary).dump() << "\n";
  return Status::Ok();
}

Status RunImport(const TransferArgs& args) {
  if (args.db.empty()) return InvalidArgument("--db is required", "db");
  // The target may be a new database: it is created and migrated as `rapport migrate` would.
  RAPPORT_ASSIGN_OR_RETURN(const auto store, storage::OpenStore(args.db, /*migrate=*/true));
  RAPPORT_ASSIGN_OR_RETURN(
      const storage::TransferSummary summary,
      storage::ImportOrganization(*store, args.dir, "console", DefaultClock().Now()));
  store->Close();
  std::cout << SummaryJson(summary).dump() << "\n";
  return Status::Ok();
}

// The file of an sqlite: URL; kInvalidArgument pointing PostgreSQL users to pg_dump.
Result<std::string> SqlitePath(const std::string& url, std::string_view command) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite) && url.size() > kSqlite.size()) {
    return url.substr(kSqlite.size());
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return InvalidArgument(std::string("rapport ")
                               .append(command)
                               .append(" is for the embedded SQLite database; back up PostgreSQL "
                                       "with pg_dump and restore with pg_restore "
                                       "(docs/operations.md, \"Backups\")"),
                           "db");
  }
  return InvalidArgument("--db must be sqlite:PATH, got '" + url + "'", "db");
}

Status RunBackup(const BackupArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const std::string path, SqlitePath(args.db, "backup"));
  RAPPORT_ASSIGN_OR_RETURN(const storage::BackupInfo info, storage::BackupSqlite(path, args.file));
  std::cout << BackupJson(info).dump() << "\n";
  return Status::Ok();
}

Status RunRestore(const BackupArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const std::string path, SqlitePath(args.db, "restore"));
  RAPPORT_ASSIGN_OR_RETURN(const storage::BackupInfo info,
                           storage::RestoreSqlite(args.file, path, args.force));
  std::cout << BackupJson(info).dump() << "\n";
  return Status::Ok();
}

int Run(const Status& status) { return status.ok() ? 0 : Fail(status); }

}  // namespace

void AddTransferCommands(CLI::App& app, Commands& commands) {
  auto export_args = std::make_shared<TransferArgs>();
  CLI::App* export_cmd = app.add_subcommand(
      "export",
      "Write one organisation's data (records, scores, accounts, audit log) to a folder, one "
      "NDJSON file per table and a manifest, for `rapport import`. The folder holds password "
      "hashes and clinical records: it is readable by its owner only.");
  export_cmd->add_option("--db", export_args->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  export_cmd->add_option("--org", export_args->org, "The organisation's id")->required();
  export_cmd->add_option("--format", export_args->format, "ndjson (the only format)");
  export_cmd->add_option("--out", export_args->dir, "A new or empty folder")->required();
  commands.push_back({export_cmd, [export_args] { return Run(RunExport(*export_args)); }});

  auto import_args = std::make_shared<TransferArgs>();
  CLI::App* import_cmd = app.add_subcommand(
      "import",
      "Read a folder written by `rapport export` into a database (created and migrated when "
      "new), all or nothing; the organisation must not be in it yet.");
  import_cmd->add_option("--db", import_args->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  import_cmd->add_option("dir", import_args->dir, "The export's folder")->required();
  commands.push_back({import_cmd, [import_args] { return Run(RunImport(*import_args)); }});

  auto backup_args = std::make_shared<BackupArgs>();
  CLI::App* backup = app.add_subcommand(
      "backup",
      "Copy the SQLite database to a new file while the server runs (a consistent snapshot).");
  backup->add_option("--db", backup_args->db, "sqlite:PATH")->required();
  backup->add_option("--out", backup_args->file, "The backup file to create")->required();
  commands.push_back({backup, [backup_args] { return Run(RunBackup(*backup_args)); }});

  auto restore_args = std::make_shared<BackupArgs>();
  CLI::App* restore = app.add_subcommand(
      "restore",
      "Check a backup made by `rapport backup` and put it in place as the SQLite database.");
  restore->add_option("--from", restore_args->file, "The backup file")->required();
  restore->add_option("--db", restore_args->db, "sqlite:PATH of the database to restore")
      ->required();
  restore->add_flag("--force", restore_args->force,
                    "Replace an existing database (only when no server has it open)");
  commands.push_back({restore, [restore_args] { return Run(RunRestore(*restore_args)); }});
}

}  // namespace rapport::cli
