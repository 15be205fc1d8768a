// Moving a whole organisation between databases, on either backend (DESIGN.md §7;
// docs/operations.md "Moving an organisation"): `rapport export --format ndjson` writes the
// organisation's rows, one newline-delimited JSON file per table of tables.h, and a manifest
// with each file's row count and SHA-256; `rapport import` checks them and writes every row
// back unchanged in one transaction: ids, times, scores and the hash-chained audit log are
// kept, so the imported chain verifies as the exported one did.
//
// The export holds everything the organisation's staff and clients entrusted to it, including
// password hashes and TOTP secrets: it is written readable by its owner only and must be
// handled like the database itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "storage/store.h"

namespace rapport::storage {

// The name and version of the format, in the manifest.
inline constexpr std::string_view kExportFormat = "rapport-organization-export";
inline constexpr int kExportFormatVersion = 1;
inline constexpr std::string_view kManifestFile = "manifest.json";
// The oldest schema version whose exports can be imported: the tables of OrganizationTables()
// since migration 9, when a response took in its answers and score. An older export is refused
// with what to do instead (import it with its own Rapport, migrate, export again).
inline constexpr int kOldestReadableSchema = 9;

struct TransferSummary {
  std::string org_id;
  std::string org_name;
  int schema_version = 0;
  int64_t rows = 0;                                     // all tables
  std::vector<std::pair<std::string, int64_t>> tables;  // rows per table, in copy order
  AuditHead audit_head;  // the end of the chain as exported (before the import's own event)
};

// Writes the organisation to `dir` (created; it must not exist or be empty), read in one
// snapshot, then records the export in the organisation's audit log as `actor`.
// kNotFound for an unknown organisation; kInvalidArgument when `dir` is not usable.
Result<TransferSummary> ExportOrganization(Store& store, std::string_view org_id,
                                           const std::filesystem::path& dir, std::string_view actor,
                                           Timestamp now);

// Reads an export from `dir` into `store` in one transaction and records the import in the
// organisation's audit log as `actor`. Nothing is written unless everything is: the manifest
// and every file's checksum and row count are checked first, every row must name the exported
// organisation and fit its table, and the audit chain must verify after the rows are in.
// kInvalidArgument naming the file, line and column for a malformed export; kConflict when the
// organisation (or a row's id, e-mail or token) already exists in the target database.
Result<TransferSummary> ImportOrganization(Store& store, const std::filesystem::path& dir,
                                           std::string_view actor, Timestamp now);

}  // namespace rapport::storage
