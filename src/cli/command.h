// How a family of subcommands plugs into `rapport` (see cli.cc): each family adds its CLI11
// subcommands to the app and records, for every leaf, the function that runs it. Main runs the
// one that parsed. Exit codes: 0 ok, 1 failure, 2 bad usage or bad input.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <memory>

#include "base/status.h"
#include "instruments/catalog.h"
#include "storage/store.h"

namespace CLI {
class App;
}

namespace rapport::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};
using Commands = std::vector<Command>;

// Prints a failed Status as "rapport: message" on stderr and returns its exit code.
int Fail(const Status& status);

// The instrument catalogue: Rapport's data folder (empty: found automatically, see
// instruments::DefaultDataDir) followed by the site's folder (empty: $RAPPORT_SITE_DIR, if set).
Result<instruments::Catalog> LoadCatalog(const std::string& data_dir, const std::string& site_dir);

// Opens an existing database without migrating it, for commands that must not create or
// change a schema. kInvalidArgument (field "db") when the URL is empty or names no SQLite file.
Result<std::unique_ptr<storage::Store>> OpenExistingStore(const std::string& url);

// Subcommand families, one per source file; Main adds each in turn.
void AddCoreCommands(CLI::App& app, Commands& commands);  // cli.cc: score, serve, migrate, demo
// fit.cc: fit lmm|reliability|etr, simulate
void AddFitCommands(CLI::App& app, Commands& commands);
// fit_effects.cc: fit therapists|within-between|dropout (after AddFitCommands, which adds `fit`)
void AddFitEffectsCommands(CLI::App& app, Commands& commands);
void AddInstrumentsCommands(CLI::App& app, Commands& commands);  // instruments.cc
void AddAnalyzeCommands(CLI::App& app, Commands& commands);      // analyze.cc: analyze ...
void AddAlertCommands(CLI::App& app, Commands& commands);        // alerts.cc: alerts, settings
void AddAuditCommands(CLI::App& app, Commands& commands);        // audit.cc: audit verify|list
void AddAccountCommands(CLI::App& app, Commands& commands);      // accounts.cc: org, user
// transfer.cc: export, import, backup, restore
void AddTransferCommands(CLI::App& app, Commands& commands);

}  // namespace rapport::cli
