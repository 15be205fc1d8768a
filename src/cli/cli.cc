#include "cli/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "api/app.h"
#include "api/server.h"
#include "api/ui_text.h"
#include "base/config.h"
#include "base/log.h"
#include "base/random.h"
#include "cli/command.h"
#include "cli/demo.h"
#include "instruments/catalog.h"
#include "instruments/fhir_import.h"
#include "instruments/scoring.h"
#include "storage/store.h"

extern char** environ;

namespace rapport::cli {

int Fail(const Status& status) {
  std::cerr << "rapport: " << status.message() << "\n";
  return ExitCode(status.code());
}

Result<std::unique_ptr<storage::Store>> OpenExistingStore(const std::string& url) {
  if (url.empty()) return InvalidArgument("--db is required, e.g. --db sqlite:rapport.db", "db");
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    const std::filesystem::path path(url.substr(kSqlite.size()));
    std::error_code error;
    if (!path.empty() && !std::filesystem::is_regular_file(path, error)) {
      return InvalidArgument("no database at '" + path.string() + "'", "db");
    }
  }
  return storage::OpenStore(url, /*migrate=*/false);
}

Result<instruments::Catalog> LoadCatalog(const std::string& data_dir, const std::string& site_dir) {
  const std::filesystem::path data =
      data_dir.empty() ? instruments::DefaultDataDir() : std::filesystem::path(data_dir);
  std::string site = site_dir;
  if (site.empty()) {
    if (const char* env = std::getenv("RAPPORT_SITE_DIR"); env != nullptr) site = env;
  }
  if (!site.empty() && !std::filesystem::is_directory(site)) {
    return InvalidArgument("site folder '" + site + "' does not exist", "site_dir");
  }
  return instruments::Catalog::Load(instruments::Catalog::SourcesFor(data, site));
}

namespace {

struct ScoreArgs {
  std::string instrument;
  std::string answers;
  std::string response_file;
  std::string language;
  std::string data_dir;
  std::string site_dir;
};

// The text pack that maps a site form's linkIds and answer codes for `id`: the one in
// `language` when given, else the first that records the form's linkIds.
const instruments::TextPack* FormPack(const instruments::Catalog& catalog, const std::string& id,
                                      const std::string& language) {
  if (!language.empty()) return catalog.FindTextPack(id, language);
  for (const std::string& candidate : catalog.Languages(id)) {
    const instruments::TextPack* pack = catalog.FindTextPack(id, candidate);
    if (pack == nullptr) continue;
    for (const auto& [item_id, text] : pack->items) {
      if (!text.link_id.empty()) return pack;
    }
  }
  return nullptr;
}

int RunScore(const ScoreArgs& args) {
  auto catalog = LoadCatalog(args.data_dir, args.site_dir);
  if (!catalog.ok()) return Fail(catalog.status());
  const instruments::Definition* definition = catalog->Find(args.instrument);
  if (definition == nullptr) {
    std::string known;
    for (const auto* d : catalog->All()) known += (known.empty() ? "" : ", ") + d->id;
    return Fail(InvalidArgument("unknown instrument '" + args.instrument + "'; known: " + known));
  }
  if (args.answers.empty() == args.response_file.empty()) {
    return Fail(InvalidArgument("give either --answers or --response"));
  }
  Result<std::vector<domain::ItemAnswer>> answers = std::vector<domain::ItemAnswer>{};
  if (!args.answers.empty()) {
    const nlohmann::json values = nlohmann::json::parse(args.answers, nullptr, false);
    if (values.is_discarded()) {
      return Fail(
          InvalidArgument("--answers is not valid JSON; expected an array such as [0,1,2]"));
    }
    answers = instruments::AnswersFromArray(*definition, values);
  } else {
    std::ifstream in(args.response_file, std::ios::binary);
    if (!in) return Fail(InvalidArgument("cannot read --response '" + args.response_file + "'"));
    const nlohmann::json response = nlohmann::json::parse(in, nullptr, false);
    if (response.is_discarded()) {
      return Fail(InvalidArgument("--response '" + args.response_file + "' is not valid JSON"));
    }
    answers = instruments::AnswersFromQuestionnaireResponse(
        *definition, FormPack(*catalog, definition->id, args.language), response);
  }
  if (!answers.ok()) return Fail(answers.status());
  auto score = instruments::Score(*definition, *answers);
  if (!score.ok()) return Fail(score.status());
  std::cout << instruments::ScoreToJson(*score).dump() << "\n";
  return 0;
}

struct ServeArgs {
  std::string db;
  std::string config_file;
  std::string address;
  int port = -1;
  int threads = -1;
  std::string site_dir;
  std::string log_level;
  int read_timeout = -1;
  int idle_timeout = -1;
  bool trust_proxy = false;
};

// A boolean setting: true/false, 1/0, yes/no.
Result<bool> GetBool(const Config& config, std::string_view key, bool fallback) {
  const auto value = config.Get(key);
  if (!value) return fallback;
  if (*value == "true" || *value == "1" || *value == "yes") return true;
  if (*value == "false" || *value == "0" || *value == "no") return false;
  return InvalidArgument(std::string(key) + " must be true or false", std::string(key));
}

// Resolves server settings: defaults < config file < RAPPORT_* environment < flags.
Result<api::ServerOptions> ServerOptionsFrom(const ServeArgs& args, Config* out_config) {
  std::map<std::string, std::string> flags;
  if (!args.db.empty()) flags["db"] = args.db;
  if (!args.address.empty()) flags["address"] = args.address;
  if (args.port >= 0) flags["port"] = std::to_string(args.port);
  if (args.threads >= 0) flags["handler_threads"] = std::to_string(args.threads);
  if (!args.log_level.empty()) flags["log_level"] = args.log_level;
  if (!args.site_dir.empty()) flags["site_dir"] = args.site_dir;
  if (args.read_timeout >= 0) flags["read_timeout_seconds"] = std::to_string(args.read_timeout);
  if (args.idle_timeout >= 0) flags["idle_timeout_seconds"] = std::to_string(args.idle_timeout);
  if (args.trust_proxy) flags["trust_proxy"] = "true";
  RAPPORT_ASSIGN_OR_RETURN(
      Config config,
      Config::Load({{"address", "127.0.0.1"}, {"port", "8080"}, {"log_level", "info"}},
                   args.config_file, environ, flags));
  api::ServerOptions options;
  options.address = config.GetOr("address", "127.0.0.1");
  RAPPORT_ASSIGN_OR_RETURN(const int64_t port, config.GetInt("port", 8080, 0, 65535));
  options.port = static_cast<uint16_t>(port);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t threads, config.GetInt("handler_threads", 64, 1, 1024));
  options.handler_threads = static_cast<int>(threads);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t io, config.GetInt("io_threads", 2, 1, 64));
  options.io_threads = static_cast<int>(io);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t body,
                           config.GetInt("max_body_bytes", 256 * 1024, 1024, 64 << 20));
  options.limits.max_body_bytes = static_cast<size_t>(body);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t header_bytes,
                           config.GetInt("max_header_bytes", 16 * 1024, 1024, 1 << 20));
  options.limits.max_header_bytes = static_cast<size_t>(header_bytes);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t header_count,
                           config.GetInt("max_header_count", 64, 8, 1000));
  options.limits.max_header_count = static_cast<size_t>(header_count);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t field_bytes,
                           config.GetInt("max_header_field_bytes", 8 * 1024, 256, 1 << 20));
  options.limits.max_header_field_bytes = static_cast<size_t>(field_bytes);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t read_timeout,
                           config.GetInt("read_timeout_seconds", 30, 1, 3600));
  options.read_timeout = std::chrono::seconds(read_timeout);
  RAPPORT_ASSIGN_OR_RETURN(const int64_t idle_timeout,
                           config.GetInt("idle_timeout_seconds", 75, 1, 3600));
  options.idle_timeout = std::chrono::seconds(idle_timeout);
  RAPPORT_ASSIGN_OR_RETURN(options.trust_proxy, GetBool(config, "trust_proxy", false));
  log::Level level = log::Level::kInfo;
  if (!log::ParseLevel(config.GetOr("log_level", "info"), level)) {
    return InvalidArgument("log_level must be debug, info, warning or error", "log_level");
  }
  log::SetLevel(level);
  if (out_config != nullptr) *out_config = std::move(config);
  return options;
}

// Opens the store, builds the app and serves until SIGTERM/SIGINT.
// The start page lists the demo's open check-ins as relative links.
int Serve(storage::Store& store, const instruments::Catalog& catalog, api::ServerOptions options,
          const Config& config, const std::function<void(uint16_t)>& on_listening,
          const DemoData& demo = {}) {
  api::AppOptions app_options;
  auto json_depth = config.GetInt("max_json_depth", app_options.max_json_depth, 2, 512);
  if (!json_depth.ok()) return Fail(json_depth.status());
  app_options.max_json_depth = static_cast<int>(*json_depth);
  auto json_string =
      config.GetInt("max_json_string_bytes",
                    static_cast<int64_t>(app_options.max_json_string_bytes), 64, 64 << 20);
  if (!json_string.ok()) return Fail(json_string.status());
  app_options.max_json_string_bytes = static_cast<size_t>(*json_string);
  auto signal_cache_mb = config.GetInt(
      "signal_cache_mb", static_cast<int64_t>(app_options.signal_cache_bytes >> 20), 0, 1 << 16);
  if (!signal_cache_mb.ok()) return Fail(signal_cache_mb.status());
  app_options.signal_cache_bytes = static_cast<size_t>(*signal_cache_mb) << 20;
  auto ui_text = api::UiText::LoadDirectory(instruments::DefaultDataDir() / "ui");
  if (!ui_text.ok()) return Fail(ui_text.status());
  app_options.ui_text = std::make_shared<const api::UiText>(std::move(ui_text).value());
  app_options.web_dir = api::DefaultWebDir();
  // The first links only: a load-test demo has a million (all are in demo-accounts.json).
  constexpr size_t kStartPageLinks = 60;
  for (size_t i = 0; i < std::min(demo.checkin_tokens.size(), kStartPageLinks); ++i) {
    app_options.demo_checkin_links.push_back("/c/" + demo.checkin_tokens[i]);
  }
  api::App app(store, catalog, DefaultClock(), DefaultRandom(), std::move(app_options));
  api::Server server(options, app.router());
  server.HandleSignals();
  if (Status status = server.Listen(); !status.ok()) return Fail(status);
  log::Info("listening", {{"address", options.address}, {"port", int64_t{server.port()}}});
  on_listening(server.port());
  server.Run();
  store.Close();
  log::Info("stopped");
  return 0;
}

int RunServe(const ServeArgs& args) {
  Config config;
  auto options = ServerOptionsFrom(args, &config);
  if (!options.ok()) return Fail(options.status());
  const auto db = config.Get("db");
  if (!db) return Fail(InvalidArgument("--db is required, e.g. --db sqlite:rapport.db", "db"));
  auto catalog = LoadCatalog({}, config.GetOr("site_dir", ""));
  if (!catalog.ok()) return Fail(catalog.status());
  auto store = storage::OpenStore(*db, /*migrate=*/false);
  if (!store.ok()) return Fail(store.status());
  return Serve(**store, *catalog, *options, config, [&](uint16_t port) {
    std::cout << "Rapport is serving on http://" << options->address << ":" << port << "/"
              << std::endl;
  });
}

int RunMigrate(const std::string& db) {
  auto store = storage::OpenStore(db, /*migrate=*/true);
  if (!store.ok()) return Fail(store.status());
  auto version = (*store)->SchemaVersion();
  if (!version.ok()) return Fail(version.status());
  std::cout << "database is at schema version " << *version << "\n";
  return 0;
}

struct DemoArgs {
  ServeArgs serve;
  std::string dir = "demo-data";
  std::string db;  // empty: SQLite in `dir`
  uint64_t seed = 20261122;
  int extra_checkins = 0;
  bool therapist_team = false;
};

int RunDemo(DemoArgs args) {
  if (args.serve.port < 0) args.serve.port = 8080;
  Config config;
  auto options = ServerOptionsFrom(args.serve, &config);
  if (!options.ok()) return Fail(options.status());
  auto catalog = LoadCatalog({}, config.GetOr("site_dir", ""));
  if (!catalog.ok()) return Fail(catalog.status());
  std::error_code error;
  std::filesystem::create_directories(args.dir, error);
  if (error)
    return Fail(InvalidArgument("cannot create --data-dir '" + args.dir + "': " + error.message()));
  const std::filesystem::path accounts = std::filesystem::path(args.dir) / "demo-accounts.json";
  bool fresh = false;
  Result<std::unique_ptr<storage::Store>> store = Unavailable("no database");
  if (args.db.empty()) {
    const std::filesystem::path db_path = std::filesystem::path(args.dir) / "rapport.db";
    fresh = !std::filesystem::exists(db_path);
    store = storage::OpenStore("sqlite:" + db_path.string(), /*migrate=*/true);
    if (!store.ok()) return Fail(store.status());
  } else {
    // Another database (e.g. PostgreSQL) holds the demo when it has no organisation yet.
    store = storage::OpenStore(args.db, /*migrate=*/true);
    if (!store.ok()) return Fail(store.status());
    const Status read = (*store)->Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto organizations, txn.ListOrganizations());
      fresh = organizations.empty();
      return Status::Ok();
    });
    if (!read.ok()) return Fail(read);
  }
  DemoData data;
  if (fresh) {
    std::cout << "Creating the demo organisation in "
              << (args.db.empty() ? args.dir : std::string("the --db database")) << " ..."
              << std::endl;
    auto created =
        CreateDemo(**store, *catalog, args.seed, args.extra_checkins, args.therapist_team);
    if (!created.ok()) return Fail(created.status());
    data = std::move(created).value();
  } else {
    auto read = ReadDemoAccounts(accounts);
    if (!read.ok()) {
      return Fail(
          Status(read.status().code(), read.status().message() + "; remove " + args.dir +
                                           (args.db.empty() ? "" : " and empty the --db database") +
                                           " to start a fresh demo"));
    }
    data = std::move(read).value();
  }
  return Serve(
      **store, *catalog, *options, config,
      [&](uint16_t port) {
        const std::string base = "http://" + options->address + ":" + std::to_string(port);
        if (Status status = WriteDemoAccounts(accounts, base, data); !status.ok()) {
          log::Error("cannot write demo accounts", {{"error", status.message()}});
        }
        std::cout << "\nRapport demo is running. Open " << base << "/\n"
                  << "Demo logins and open check-in links: " << accounts.string() << "\n"
                  << "Stop with Ctrl-C.\n"
                  << std::endl;
      },
      data);
}

}  // namespace

void AddCoreCommands(CLI::App& app, Commands& commands) {
  // The parsed values must outlive this function: they are owned by the run functions.
  auto score_args = std::make_shared<ScoreArgs>();
  CLI::App* score = app.add_subcommand("score", "Score one set of answers and print JSON.");
  score->add_option("--instrument", score_args->instrument, "Instrument id, e.g. phq-9")
      ->required();
  score->add_option("--answers", score_args->answers,
                    "JSON array of item values in item order; null for unanswered");
  score->add_option("--response", score_args->response_file,
                    "A FHIR QuestionnaireResponse (JSON file) to the instrument or to a site's "
                    "imported form");
  score->add_option("--language", score_args->language,
                    "With --response: the language of the imported form it answers");
  score->add_option("--data-dir", score_args->data_dir,
                    "Rapport's data folder (default: found automatically)");
  score->add_option("--site-dir", score_args->site_dir,
                    "The site's folder of its own instruments and text packs");
  commands.push_back({score, [score_args] { return RunScore(*score_args); }});

  const auto add_server_options = [](CLI::App* command, ServeArgs& a) {
    command->add_option("--port", a.port, "TCP port (0 picks a free one)");
    command->add_option("--address", a.address, "Listen address (default 127.0.0.1)");
    command->add_option(
        "--threads", a.threads,
        "Threads for handlers that may block (default 64; JSON check-in submissions need none)");
    command->add_option("--config", a.config_file, "JSON configuration file");
    command->add_option("--site-dir", a.site_dir,
                        "The site's folder of its own instruments/ and textpacks/");
    command->add_option("--log-level", a.log_level, "debug, info, warning or error");
    command->add_option("--read-timeout", a.read_timeout,
                        "Seconds within which a request must arrive whole (default 30)");
    command->add_option("--idle-timeout", a.idle_timeout,
                        "Seconds an idle keep-alive connection is kept open (default 75)");
    command->add_flag("--trust-proxy", a.trust_proxy,
                      "Behind a TLS-terminating reverse proxy: trust its X-Forwarded-For and "
                      "X-Forwarded-Proto (see docs/operations.md)");
  };
  auto serve_args = std::make_shared<ServeArgs>();
  CLI::App* serve = app.add_subcommand("serve", "Serve the web application and API.");
  serve->add_option("--db", serve_args->db,
                    "Database URL: sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME");
  add_server_options(serve, *serve_args);
  commands.push_back({serve, [serve_args] { return RunServe(*serve_args); }});

  auto migrate_db = std::make_shared<std::string>();
  CLI::App* migrate = app.add_subcommand("migrate", "Create or upgrade the database schema.");
  migrate
      ->add_option("--db", *migrate_db,
                   "Database URL: sqlite:PATH or postgresql://USER@HOST:PORT/DBNAME")
      ->required();
  commands.push_back({migrate, [migrate_db] { return RunMigrate(*migrate_db); }});

  auto demo_args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand(
      "demo", "Create (if absent) and serve a demo organisation with simulated history.");
  demo->add_option("--data-dir", demo_args->dir,
                   "Folder for the demo database and demo-accounts.json (default ./demo-data)");
  demo->add_option("--db", demo_args->db,
                   "Database URL instead of SQLite in --data-dir, e.g. "
                   "postgresql://rapport@127.0.0.1/rapport (the demo is created when it holds "
                   "no organisation)");
  demo->add_option("--seed", demo_args->seed, "Seed of the simulated history");
  demo->add_option("--extra-checkins", demo_args->extra_checkins,
                   "Open this many more check-ins (for load tests)")
      ->check(CLI::Range(0, 10000000));
  demo->add_flag("--therapist-team", demo_args->therapist_team,
                 "Add a third organisation whose five clinicians' simulated clients differ in "
                 "outcome by clinician, so the team page's therapist effects are estimated and "
                 "drawn");
  add_server_options(demo, demo_args->serve);
  commands.push_back({demo, [demo_args] { return RunDemo(*demo_args); }});
}

int Main(int argc, char** argv) {
  CLI::App app{"Rapport: measurement-based care of the therapeutic relationship.", "rapport"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rapport 0.1.0");
  Commands commands;
  AddCoreCommands(app, commands);
  AddInstrumentsCommands(app, commands);
  AddFitCommands(app, commands);
  AddFitEffectsCommands(app, commands);
  AddAnalyzeCommands(app, commands);
  AddAlertCommands(app, commands);
  AddAuditCommands(app, commands);
  AddAccountCommands(app, commands);
  AddTransferCommands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 2;
}

}  // namespace rapport::cli
