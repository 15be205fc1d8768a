// `rapport audit verify|list`: the audit log at the console (docs/security.md, "Audit log").
// `verify` re-reads every organisation's chain (storage/audit_chain.h) and names the first
// changed, inserted or deleted event; `list` prints events for administrators to read.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "storage/audit_chain.h"
#include "storage/store.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

struct AuditArgs {
  std::string db;
  std::string org;
  std::string anchor;  // "SEQ:HASH"
  int64_t after = 0;
  int64_t limit = 1000;
  std::string format = "ndjson";
};

// "SEQ:HASH" as printed by `audit verify` and `audit list`.
Result<storage::AuditHead> ParseAnchor(const std::string& text) {
  const size_t colon = text.find(':');
  const Status bad = InvalidArgument(
      "--anchor must be SEQ:HASH (an event's seq and its 64-digit hex hash), got '" + text + "'",
      "anchor");
  if (colon == std::string::npos || colon == 0) return bad;
  int64_t seq = 0;
  for (const char c : std::string_view(text).substr(0, colon)) {
    if (c < '0' || c > '9' || seq > 1'000'000'000'000) return bad;
    seq = seq * 10 + (c - '0');
  }
  const std::string hash = text.substr(colon + 1);
  const bool hex = hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (seq < 1 || !hex) return bad;
  return storage::AuditHead{{}, seq, hash};
}

// Exit 0 when every chain verifies, 1 when one does not (or on a storage error), 2 for bad
// usage. Each organisation's chain and head are read in one snapshot.
int RunVerify(const AuditArgs& args) {
  std::optional<storage::AuditHead> anchor;
  if (!args.anchor.empty()) {
    if (args.org.empty()) return Fail(InvalidArgument("--anchor needs --org", "anchor"));
    auto parsed = ParseAnchor(args.anchor);
    if (!parsed.ok()) return Fail(parsed.status());
    anchor = *parsed;
  }
  auto store = OpenExistingStore(args.db);
  if (!store.ok()) return Fail(store.status());
  std::vector<std::string> org_ids;
  const Status listed = (*store)->Read([&](storage::ReadTransaction& txn) -> Status {
    if (!args.org.empty()) {
      const auto org = txn.GetOrganization(args.org);
      if (org.status().code() == StatusCode::kNotFound) {
        return InvalidArgument("unknown organisation '" + args.org + "'", "org");
      }
      RAPPORT_RETURN_IF_ERROR(org.status());
      org_ids.push_back(args.org);
      return Status::Ok();
    }
    RAPPORT_ASSIGN_OR_RETURN(const auto orgs, txn.ListOrganizations());
    for (const domain::Organization& org : orgs) org_ids.push_back(org.id);
    return Status::Ok();
  });
  if (!listed.ok()) return Fail(listed);
  size_t failed = 0;
  for (const std::string& org_id : org_ids) {
    storage::AuditVerification result;
    const Status read = (*store)->Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(result, storage::VerifyStoredAuditChain(txn, org_id, anchor));
      return Status::Ok();
    });
    if (!read.ok()) return Fail(read.WithContext("organisation " + org_id));
    if (result.ok()) {
      std::cout << org_id << ": ok: " << result.events << " events";
      if (result.head_seq > 0) std::cout << ", head " << result.head_seq << ":" << result.head_hash;
      if (anchor) std::cout << ", event " << anchor->seq << " has the recorded hash";
      std::cout << "\n";
    } else {
      ++failed;
      std::cout << org_id << ": TAMPERED: " << result.problem->message << "\n";
    }
  }
  std::cout.flush();
  if (failed > 0) {
    std::cerr << "rapport: the audit log of " << failed << " of " << org_ids.size()
              << (org_ids.size() == 1 ? " organisation" : " organisations") << " does not verify\n";
    return 1;
  }
  return 0;
}

Json EventToJson(const domain::AuditEvent& event) {
  return Json{{"org_id", event.org_id},          {"seq", event.seq},
              {"at", FormatTimestamp(event.at)}, {"actor", event.actor},
              {"action", event.action},          {"resource", event.resource},
              {"address", event.address},        {"detail", event.detail},
              {"prev_hash", event.prev_hash},    {"hash", event.hash}};
}

// Columns padded to their widest cell; the last column is not padded.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t column = 0; column < row.size(); ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t column = 0; column < row.size(); ++column) {
      line.append(row[column]);
      if (column + 1 < row.size()) line.append(widths[column] - row[column].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

Status RunList(const AuditArgs& args) {
  if (args.limit < 1) return InvalidArgument("--limit must be at least 1", "limit");
  RAPPORT_ASSIGN_OR_RETURN(const auto store, OpenExistingStore(args.db));
  std::vector<domain::AuditEvent> events;
  RAPPORT_RETURN_IF_ERROR(store->Read([&](storage::ReadTransaction& txn) -> Status {
    const auto org = txn.GetOrganization(args.org);
    if (org.status().code() == StatusCode::kNotFound) {
      return InvalidArgument("unknown organisation '" + args.org + "'", "org");
    }
    RAPPORT_RETURN_IF_ERROR(org.status());
    RAPPORT_ASSIGN_OR_RETURN(events, txn.ListAudit(args.org, args.after, args.limit));
    return Status::Ok();
  }));
  if (args.format == "table") {
    std::vector<std::vector<std::string>> rows{
        {"SEQ", "AT", "ACTOR", "ACTION", "RESOURCE", "ADDRESS", "DETAIL"}};
    for (const domain::AuditEvent& event : events) {
      rows.push_back({std::to_string(event.seq), FormatTimestamp(event.at), event.actor,
                      event.action, event.resource, event.address, event.detail});
    }
    PrintTable(rows);
  } else {
    for (const domain::AuditEvent& event : events) std::cout << EventToJson(event).dump() << "\n";
  }
  return Status::Ok();
}

}  // namespace

void AddAuditCommands(CLI::App& app, Commands& commands) {
  CLI::App* audit = app.add_subcommand(
      "audit", "Verify and read the audit log of clinical reads and writes (docs/security.md).");
  audit->require_subcommand(1);

  auto verify_args = std::make_shared<AuditArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Check every organisation's audit chain; exit 1 naming the first changed, inserted or "
      "deleted event.");
  verify->add_option("--db", verify_args->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  verify->add_option("--org", verify_args->org, "Only this organisation");
  verify->add_option("--anchor", verify_args->anchor,
                     "SEQ:HASH of a head recorded earlier outside the database (with --org): "
                     "event SEQ must still have that hash");
  commands.push_back({verify, [verify_args] { return RunVerify(*verify_args); }});

  auto list_args = std::make_shared<AuditArgs>();
  CLI::App* list = audit->add_subcommand("list", "Print an organisation's audit events.");
  list->add_option("--db", list_args->db, "Database URL: sqlite:PATH or postgresql://...")
      ->required();
  list->add_option("--org", list_args->org, "Organisation id")->required();
  list->add_option("--after", list_args->after, "Only events after this seq (default 0)");
  list->add_option("--limit", list_args->limit, "At most this many events (default 1000)");
  list->add_option("--format", list_args->format, "ndjson (default) or table")
      ->check(CLI::IsMember({"ndjson", "table"}));
  commands.push_back({list, [list_args] {
                        const Status status = RunList(*list_args);
                        return status.ok() ? 0 : Fail(status);
                      }});
}

}  // namespace rapport::cli
