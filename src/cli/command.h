// How a family of subcommands plugs into `rapport` (see cli.cc): each family adds its CLI11
// subcommands to the app and records, for every leaf, the function that runs it. Main runs the
// one that parsed. Exit codes: 0 ok, 1 failure, 2 bad usage or bad input.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

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

// Subcommand families, one per source file; Main adds each in turn.
void AddCoreCommands(CLI::App& app, Commands& commands);     // cli.cc: score, serve, migrate, demo
void AddAnalyzeCommands(CLI::App& app, Commands& commands);  // analyze.cc: analyze ...
void AddAlertCommands(CLI::App& app, Commands& commands);    // alerts.cc: alerts, settings

}  // namespace rapport::cli
