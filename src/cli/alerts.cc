// `rapport alerts ...` and `rapport settings ...`: staff at the console. Alerts are listed one
// JSON object per line with their evidence, guidance and repair notes; lifecycle transitions
// record who and when. Settings are validated before they are stored (docs/signals.md).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "base/clock.h"
#include "base/random.h"
#include "cli/command.h"
#include "storage/store.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;

struct AlertArgs {
  std::string db;
  std::string org;
  std::string episode;
  std::string client;
  std::string status;
  bool all = false;
  std::string id;
  std::string by;
  std::string text;
  bool discussed = false;
  std::string file;
  std::string data_dir;
};

Result<std::unique_ptr<storage::Store>> Open(const AlertArgs& args) {
  if (args.db.empty()) {
    return InvalidArgument("--db is required, e.g. --db sqlite:rapport.db", "db");
  }
  return storage::OpenStore(args.db, /*migrate=*/false);
}

Status RunList(const AlertArgs& args) {
  storage::AlertQuery query;
  query.episode_id = args.episode;
  query.client_id = args.client;
  if (!args.status.empty()) {
    RAPPORT_ASSIGN_OR_RETURN(query.status, domain::ParseAlertStatus(args.status));
  } else {
    query.active_only = !args.all;
  }
  RAPPORT_ASSIGN_OR_RETURN(
      const auto shipped,
      alerts::LoadGuidanceDirectory(args.data_dir.empty()
                                        ? alerts::DefaultGuidanceDir()
                                        : std::filesystem::path(args.data_dir) / "guidance"));
  RAPPORT_ASSIGN_OR_RETURN(const auto store, Open(args));
  std::string out;
  RAPPORT_RETURN_IF_ERROR(store->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.GetOrganization(args.org).status());
    RAPPORT_ASSIGN_OR_RETURN(const alliance::OrgSettings settings,
                             alerts::LoadOrgSettings(txn, args.org));
    const auto library =
        alliance::MergeGuidance(shipped, settings.guidance_entries, settings.guidance_disabled);
    RAPPORT_ASSIGN_OR_RETURN(const auto alerts, txn.ListAlerts(args.org, query));
    for (const domain::Alert& alert : alerts) {
      RAPPORT_ASSIGN_OR_RETURN(const auto notes, txn.ListRepairNotes(args.org, alert.id));
      out += alerts::AlertToJson(alert, notes, library).dump() + "\n";
    }
    return Status::Ok();
  }));
  std::cout << out;
  return Status::Ok();
}

// Runs a staff transition and prints the alert as it now stands.
Status RunTransition(const AlertArgs& args,
                     const std::function<Status(storage::WriteTransaction&, Timestamp)>& change) {
  RAPPORT_ASSIGN_OR_RETURN(const auto store, Open(args));
  RAPPORT_RETURN_IF_ERROR(store->Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.GetOrganization(args.org).status());
    return change(txn, DefaultClock().Now());
  }));
  std::string out;
  RAPPORT_RETURN_IF_ERROR(store->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Alert alert, txn.GetAlert(args.org, args.id));
    RAPPORT_ASSIGN_OR_RETURN(const auto notes, txn.ListRepairNotes(args.org, args.id));
    out = alerts::AlertToJson(alert, notes, {}).dump() + "\n";
    return Status::Ok();
  }));
  std::cout << out;
  return Status::Ok();
}

Status RunSettingsShow(const AlertArgs& args) {
  RAPPORT_ASSIGN_OR_RETURN(const auto store, Open(args));
  std::string document;
  RAPPORT_RETURN_IF_ERROR(store->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.GetOrganization(args.org).status());
    RAPPORT_ASSIGN_OR_RETURN(document, txn.GetOrgSettings(args.org));
    return Status::Ok();
  }));
  const Json parsed = Json::parse(document, nullptr, false);
  std::cout << (parsed.is_discarded() ? document : parsed.dump()) << "\n";
  return Status::Ok();
}

Status RunSettingsSet(const AlertArgs& args) {
  std::ifstream in(args.file);
  if (!in) return InvalidArgument("cannot read '" + args.file + "'", "file");
  std::stringstream text;
  text << in.rdbuf();
  RAPPORT_ASSIGN_OR_RETURN(const auto store, Open(args));
  RAPPORT_RETURN_IF_ERROR(store->Write([&](storage::WriteTransaction& txn) {
    return alerts::SaveOrgSettings(txn, args.org, text.str(), DefaultClock().Now());
  }));
  std::cout << Json{{"org", args.org}, {"saved", true}}.dump() << "\n";
  return Status::Ok();
}

int Run(const Status& status) { return status.ok() ? 0 : Fail(status); }

void AddStoreOptions(CLI::App* command, AlertArgs& a) {
  command->add_option("--db", a.db, "Database URL: sqlite:PATH or postgresql://...")->required();
  command->add_option("--org", a.org, "Organisation id")->required();
}

}  // namespace

void AddAlertCommands(CLI::App& app, Commands& commands) {
  CLI::App* alerts_cmd = app.add_subcommand("alerts", "List and act on clinical alerts.");
  alerts_cmd->require_subcommand(1);

  auto list_args = std::make_shared<AlertArgs>();
  CLI::App* list = alerts_cmd->add_subcommand(
      "list", "Print alerts (open and acknowledged by default), one JSON object per line.");
  AddStoreOptions(list, *list_args);
  list->add_option("--episode", list_args->episode, "Only this episode");
  list->add_option("--client", list_args->client, "Only this client");
  list->add_option("--status", list_args->status, "open, acknowledged or resolved");
  list->add_flag("--all", list_args->all, "Include resolved alerts");
  list->add_option("--data-dir", list_args->data_dir, "Folder holding guidance/ (default: data)");
  commands.push_back({list, [list_args] { return Run(RunList(*list_args)); }});

  auto ack_args = std::make_shared<AlertArgs>();
  CLI::App* ack = alerts_cmd->add_subcommand("acknowledge", "Acknowledge an alert.");
  AddStoreOptions(ack, *ack_args);
  ack->add_option("--id", ack_args->id, "Alert id")->required();
  ack->add_option("--by", ack_args->by, "Your user id")->required();
  commands.push_back({ack, [ack_args] {
                        const AlertArgs& a = *ack_args;
                        return Run(
                            RunTransition(a, [&](storage::WriteTransaction& txn, Timestamp now) {
                              return alerts::AcknowledgeAlert(txn, a.org, a.id, a.by, now);
                            }));
                      }});

  auto resolve_args = std::make_shared<AlertArgs>();
  CLI::App* resolve = alerts_cmd->add_subcommand("resolve", "Resolve an alert.");
  AddStoreOptions(resolve, *resolve_args);
  resolve->add_option("--id", resolve_args->id, "Alert id")->required();
  resolve->add_option("--by", resolve_args->by, "Your user id")->required();
  commands.push_back({resolve, [resolve_args] {
                        const AlertArgs& a = *resolve_args;
                        return Run(
                            RunTransition(a, [&](storage::WriteTransaction& txn, Timestamp now) {
                              return alerts::ResolveAlert(txn, a.org, a.id, a.by, now);
                            }));
                      }});

  auto note_args = std::make_shared<AlertArgs>();
  CLI::App* note =
      alerts_cmd->add_subcommand("note", "Record what was done about an alert (a repair note).");
  AddStoreOptions(note, *note_args);
  note->add_option("--id", note_args->id, "Alert id")->required();
  note->add_option("--by", note_args->by, "Your user id")->required();
  note->add_option("--text", note_args->text, "What was done")->required();
  note->add_flag("--discussed", note_args->discussed, "It was discussed with the client");
  commands.push_back({note, [note_args] {
                        const AlertArgs& a = *note_args;
                        return Run(
                            RunTransition(a, [&](storage::WriteTransaction& txn, Timestamp now) {
                              return alerts::AddRepairNote(txn, a.org, a.id, a.by, a.text,
                                                           a.discussed, now, DefaultRandom())
                                  .status();
                            }));
                      }});

  CLI::App* settings = app.add_subcommand(
      "settings", "Show or set an organisation's signal settings (docs/signals.md).");
  settings->require_subcommand(1);
  auto show_args = std::make_shared<AlertArgs>();
  CLI::App* show = settings->add_subcommand("show", "Print the settings document.");
  AddStoreOptions(show, *show_args);
  commands.push_back({show, [show_args] { return Run(RunSettingsShow(*show_args)); }});
  auto set_args = std::make_shared<AlertArgs>();
  CLI::App* set = settings->add_subcommand("set", "Validate and store a settings document.");
  AddStoreOptions(set, *set_args);
  set->add_option("--file", set_args->file, "JSON settings document")->required();
  commands.push_back({set, [set_args] { return Run(RunSettingsSet(*set_args)); }});
}

}  // namespace rapport::cli
