// `rapport instruments list | show ID | check [PATH] | import FILE | textpack check FILE`:
// the administrator's view of the catalogue (docs/instruments.md).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/ui_text.h"
#include "cli/command.h"
#include "instruments/catalog.h"
#include "instruments/fhir_import.h"
#include "instruments/textpack.h"

namespace rapport::cli {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

struct CatalogArgs {
  std::string data_dir;
  std::string site_dir;
};

void AddCatalogOptions(CLI::App* command, CatalogArgs& args) {
  command->add_option("--data-dir", args.data_dir,
                      "Rapport's data folder (default: found automatically)");
  command->add_option("--site-dir", args.site_dir,
                      "The site's folder of its own instruments/ and textpacks/ "
                      "(default: $RAPPORT_SITE_DIR)");
}

Result<std::string> ReadFile(const std::string& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return InvalidArgument("cannot read '" + path + "'");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return InvalidArgument("cannot read '" + path + "'");
  return text.str();
}

// Prints problems one per line on stderr and returns exit code 2.
int ReportProblems(const std::vector<instruments::Problem>& problems, const Status& status) {
  if (problems.empty()) return Fail(status);
  for (const instruments::Problem& problem : problems) std::cerr << problem.ToString() << "\n";
  std::cerr << "rapport: " << problems.size() << (problems.size() == 1 ? " problem" : " problems")
            << "\n";
  return 2;
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

const char* TypeName(instruments::ItemType type) {
  switch (type) {
    case instruments::ItemType::kChoice: return "choice";
    case instruments::ItemType::kInteger: return "integer";
    case instruments::ItemType::kDecimal: return "decimal";
  }
  return "choice";
}

const char* MethodName(instruments::Aggregation method) {
  return method == instruments::Aggregation::kMean ? "mean" : "sum";
}

// ---- list -------------------------------------------------------------------------------

struct ListArgs {
  CatalogArgs catalog;
  bool json = false;
};

int RunList(const ListArgs& args) {
  auto catalog = LoadCatalog(args.catalog.data_dir, args.catalog.site_dir);
  if (!catalog.ok()) return Fail(catalog.status());
  if (args.json) {
    for (const instruments::Definition* d : catalog->All()) {
      Json line = {{"id", d->id},
                   {"version", d->version},
                   {"title", d->title},
                   {"kind", d->kind},
                   {"perspective", d->perspective},
                   {"wording", d->wording},
                   {"status", d->status},
                   {"items", d->items.size()},
                   {"languages", catalog->Languages(d->id)},
                   {"loinc", d->loinc.empty() ? Json() : Json(d->loinc)}};
      std::cout << line.dump() << "\n";
    }
    return 0;
  }
  std::printf("%-28s %-4s %-11s %-11s %-6s %-9s %s\n", "ID", "VER", "KIND", "PERSPECTIVE", "ITEMS",
              "LOINC", "SHOWN IN");
  for (const instruments::Definition* d : catalog->All()) {
    const std::vector<std::string> languages = catalog->Languages(d->id);
    const std::string shown =
        languages.empty() ? "- (scoring only: needs a text pack)" : Join(languages, ", ");
    std::printf("%-28s %-4s %-11s %-11s %-6zu %-9s %s\n", d->id.c_str(), d->version.c_str(),
                d->kind.c_str(), d->perspective.c_str(), d->items.size(),
                d->loinc.empty() ? "-" : d->loinc.c_str(), shown.c_str());
  }
  return 0;
}

// ---- show -------------------------------------------------------------------------------

struct ShowArgs {
  CatalogArgs catalog;
  std::string id;
  std::string language;
};

Json DefinitionJson(const instruments::Definition& d, const instruments::Catalog& catalog,
                    const std::string& language) {
  const instruments::Wording wording =
      catalog.Resolve(d.id, language.empty() ? d.language : language);
  const instruments::Definition& shown = wording.definition != nullptr ? *wording.definition : d;
  Json items = Json::array();
  for (const instruments::Item& item : shown.items) {
    Json entry = {{"id", item.id},
                  {"type", TypeName(item.type)},
                  {"required", item.required},
                  {"min", item.min},
                  {"max", item.max}};
    if (!item.text.empty()) entry["text"] = item.text;
    if (!item.code.empty()) entry["loinc"] = item.code;
    if (item.reverse) entry["reverse"] = true;
    if (item.type != instruments::ItemType::kChoice) entry["step"] = item.step;
    if (!item.options.empty()) {
      Json options = Json::array();
      for (const instruments::Option& option : item.options) {
        Json o = {{"value", option.value}};
        if (!option.display.empty()) o["display"] = option.display;
        options.push_back(o);
      }
      entry["options"] = options;
    }
    if (!item.min_label.empty()) entry["min_label"] = item.min_label;
    if (!item.max_label.empty()) entry["max_label"] = item.max_label;
    items.push_back(entry);
  }
  Json subscales = Json::array();
  for (const instruments::Subscale& subscale : d.subscales) {
    subscales.push_back({{"id", subscale.id},
                         {"method", MethodName(subscale.method)},
                         {"items", subscale.item_ids}});
  }
  Json bands = Json::array();
  for (const instruments::Band& band : d.bands) {
    bands.push_back({{"label", band.label}, {"min", band.min}, {"max", band.max}});
  }
  Json flags = Json::array();
  for (const instruments::FlagRule& flag : d.flags) {
    flags.push_back({{"id", flag.id}, {"urgent", flag.urgent}, {"source", flag.source}});
  }
  Json scoring = {
      {"direction", d.direction == instruments::Direction::kHigherIsBetter ? "higher-is-better"
                                                                           : "higher-is-worse"},
      {"total",
       {{"method", MethodName(d.total_method)}, {"min", d.TotalMin()}, {"max", d.TotalMax()}}},
      {"subscales", subscales},
      {"bands", bands},
      {"flags", flags}};
  if (d.missing.min_answered_items > 0) {
    scoring["missing"] = {{"min_answered_items", d.missing.min_answered_items}};
  } else {
    scoring["missing"] = {{"min_answered_fraction", d.missing.min_answered_fraction}};
  }
  if (d.cutoff) {
    scoring["cutoff"] = {{"value", d.cutoff->value},
                         {"comparison", d.cutoff->comparison},
                         {"meaning", d.cutoff->meaning},
                         {"source", d.cutoff->source}};
  }
  if (d.reliable_change) {
    scoring["reliable_change"] = {{"value", d.reliable_change->value},
                                  {"scope", d.reliable_change->per_item ? "item" : "total"},
                                  {"source", d.reliable_change->source}};
  }
  Json out = {{"id", d.id},
              {"version", d.version},
              {"title", shown.title},
              {"kind", d.kind},
              {"perspective", d.perspective},
              {"wording", d.wording},
              {"status", d.status},
              {"licence", d.licence},
              {"citations", d.citations},
              {"languages", catalog.Languages(d.id)},
              {"default_language", d.language},
              {"shown_in", wording.definition != nullptr ? Json(shown.language) : Json()},
              {"fell_back", wording.fell_back},
              {"loinc", d.loinc.empty() ? Json() : Json(d.loinc)},
              {"items", items},
              {"scoring", scoring},
              {"file", d.source_file}};
  if (const instruments::TextPack* pack = catalog.FindTextPack(d.id, shown.language)) {
    out["text_pack"] = {
        {"file", pack->source_file}, {"source", pack->source}, {"licence", pack->licence}};
  }
  return out;
}

int RunShow(const ShowArgs& args) {
  auto catalog = LoadCatalog(args.catalog.data_dir, args.catalog.site_dir);
  if (!catalog.ok()) return Fail(catalog.status());
  const instruments::Definition* definition = catalog->Find(args.id);
  if (definition == nullptr) {
    std::vector<std::string> known;
    for (const auto* d : catalog->All()) known.push_back(d->id);
    return Fail(
        InvalidArgument("unknown instrument '" + args.id + "'; known: " + Join(known, ", ")));
  }
  if (!args.language.empty() && !instruments::IsLanguageTag(args.language)) {
    return Fail(
        InvalidArgument("--language '" + args.language + "' is not a language tag such as en"));
  }
  std::cout << DefinitionJson(*definition, *catalog, args.language).dump(2) << "\n";
  return 0;
}

// ---- check ------------------------------------------------------------------------------

struct CheckArgs {
  CatalogArgs catalog;
  std::string path;
};

int RunCheck(const CheckArgs& args) {
  instruments::CatalogSources sources;
  std::vector<instruments::Problem> problems;
  fs::path ui_dir;  // set when checking a whole data folder
  if (args.path.empty()) {
    const fs::path data = args.catalog.data_dir.empty() ? instruments::DefaultDataDir()
                                                        : fs::path(args.catalog.data_dir);
    std::string site = args.catalog.site_dir;
    if (site.empty()) {
      if (const char* env = std::getenv("RAPPORT_SITE_DIR"); env != nullptr) site = env;
    }
    sources = instruments::Catalog::SourcesFor(data, site);
    ui_dir = data / "ui";
  } else if (std::error_code error; fs::is_regular_file(args.path, error)) {
    // One definition file.
    auto text = ReadFile(args.path);
    if (!text.ok()) return Fail(text.status());
    auto definition = instruments::ParseDefinition(*text, args.path, &problems);
    if (!definition.ok()) return ReportProblems(problems, definition.status());
    std::cout << "ok: " << args.path << " defines " << definition->id << " ("
              << definition->items.size() << " items)\n";
    return 0;
  } else if (fs::is_directory(fs::path(args.path) / "instruments", error)) {
    sources = instruments::Catalog::SourcesFor(args.path);  // a data folder
    if (fs::is_directory(fs::path(args.path) / "ui", error)) ui_dir = fs::path(args.path) / "ui";
  } else if (fs::is_directory(args.path, error)) {
    // A folder of definitions; text packs from its sibling textpacks/ folder.
    const fs::path dir = fs::path(args.path).lexically_normal();
    sources.instrument_dirs = {dir};
    const fs::path parent =
        dir.has_filename() ? dir.parent_path() : dir.parent_path().parent_path();
    if (fs::is_directory(parent / "textpacks", error))
      sources.textpack_dirs = {parent / "textpacks"};
  } else {
    return Fail(InvalidArgument("'" + args.path + "' is neither a file nor a folder"));
  }
  auto catalog = instruments::Catalog::Load(sources, &problems);
  if (!catalog.ok()) return ReportProblems(problems, catalog.status());
  // A data folder also carries the text of the respondent's pages in every language.
  if (!ui_dir.empty()) {
    auto ui = api::UiText::LoadDirectory(ui_dir);
    if (!ui.ok()) {
      std::cerr << ui.status().message() << "\n";
      return 2;
    }
  }
  size_t worded = 0;
  for (const auto* d : catalog->All()) worded += catalog->Languages(d->id).size();
  std::cout << "ok: " << catalog->size() << " instruments, " << worded
            << " worded forms (instrument × language)\n";
  for (const auto* d : catalog->All()) {
    const auto languages = catalog->Languages(d->id);
    std::cout << "  " << d->id << ": "
              << (languages.empty() ? std::string("scoring only") : Join(languages, ", ")) << "\n";
  }
  return 0;
}

// ---- import -----------------------------------------------------------------------------

struct ImportArgs {
  CatalogArgs catalog;
  std::string file;
  std::string instrument;
  std::string language;
  std::string licence;
  bool dry_run = false;
  bool force = false;
};

int RunImport(const ImportArgs& args) {
  std::string site = args.catalog.site_dir;
  if (site.empty()) {
    if (const char* env = std::getenv("RAPPORT_SITE_DIR"); env != nullptr) site = env;
  }
  if (site.empty() && !args.dry_run) {
    return Fail(InvalidArgument(
        "--site-dir is required: the imported wording is written to SITE/textpacks/ "
        "(or use --dry-run)"));
  }
  auto catalog = LoadCatalog(args.catalog.data_dir, site.empty() ? "" : site);
  if (!catalog.ok()) return Fail(catalog.status());
  auto text = ReadFile(args.file);
  if (!text.ok()) return Fail(text.status());
  std::vector<instruments::Problem> problems;
  auto form = instruments::ImportQuestionnaire(
      *text, args.file, *catalog,
      {.instrument_id = args.instrument,
       .language = args.language,
       .source = "imported from " + fs::path(args.file).filename().string(),
       .licence = args.licence},
      &problems);
  if (!form.ok()) return ReportProblems(problems, form.status());
  Json summary = {{"instrument", form->instrument_id},
                  {"matched_by", form->matched_by},
                  {"items_matched_by", form->items_matched_by},
                  {"language", form->pack.language},
                  {"items", form->pack.items.size()},
                  {"ignored_link_ids", form->pack.ignored_link_ids}};
  if (!args.dry_run) {
    const fs::path dir = fs::path(site) / "textpacks";
    const fs::path target = dir / (form->instrument_id + "." + form->pack.language + ".json");
    std::error_code error;
    if (fs::exists(target, error) && !args.force) {
      return Fail(InvalidArgument("'" + target.string() +
                                  "' exists; pass --force to replace it with this import"));
    }
    fs::create_directories(dir, error);
    if (error)
      return Fail(InvalidArgument("cannot create '" + dir.string() + "': " + error.message()));
    // Write beside the target and rename, so a crash never leaves half a file.
    const fs::path temporary = target.string() + ".tmp";
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out << instruments::TextPackToJson(form->pack);
      out.flush();
      if (!out) return Fail(InvalidArgument("cannot write '" + temporary.string() + "'"));
    }
    fs::rename(temporary, target, error);
    if (error)
      return Fail(InvalidArgument("cannot write '" + target.string() + "': " + error.message()));
    summary["written"] = target.string();
  }
  std::cout << summary.dump() << "\n";
  return 0;
}

// ---- textpack check ---------------------------------------------------------------------

struct TextPackCheckArgs {
  CatalogArgs catalog;
  std::string file;
};

int RunTextPackCheck(const TextPackCheckArgs& args) {
  auto catalog = LoadCatalog(args.catalog.data_dir, args.catalog.site_dir);
  if (!catalog.ok()) return Fail(catalog.status());
  auto text = ReadFile(args.file);
  if (!text.ok()) return Fail(text.status());
  std::vector<instruments::Problem> problems;
  auto pack = instruments::ParseTextPack(*text, args.file, &problems);
  if (!pack.ok()) return ReportProblems(problems, pack.status());
  const instruments::Definition* definition = catalog->Find(pack->instrument_id);
  if (definition == nullptr) {
    return ReportProblems({{args.file,
                            {},
                            "textpack.instrument",
                            "no instrument '" + pack->instrument_id + "' is installed"}},
                          Status::Ok());
  }
  problems = instruments::CheckTextPack(*pack, *definition);
  if (!problems.empty()) return ReportProblems(problems, Status::Ok());
  std::cout << "ok: " << args.file << " words " << definition->id << " in '" << pack->language
            << "' (" << pack->items.size() << " items)\n";
  return 0;
}

}  // namespace

void AddInstrumentsCommands(CLI::App& app, Commands& commands) {
  CLI::App* group = app.add_subcommand(
      "instruments", "List, show, check and import instrument definitions and text packs.");
  group->require_subcommand(1);

  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = group->add_subcommand("list", "One line per installed instrument.");
  AddCatalogOptions(list, list_args->catalog);
  list->add_flag("--json", list_args->json, "One JSON object per line");
  commands.push_back({list, [list_args] { return RunList(*list_args); }});

  auto show_args = std::make_shared<ShowArgs>();
  CLI::App* show = group->add_subcommand("show", "An instrument's items and scoring as JSON.");
  show->add_option("id", show_args->id, "Instrument id")->required();
  show->add_option("--language", show_args->language, "Show the wording in this language");
  AddCatalogOptions(show, show_args->catalog);
  commands.push_back({show, [show_args] { return RunShow(*show_args); }});

  auto check_args = std::make_shared<CheckArgs>();
  CLI::App* check = group->add_subcommand(
      "check",
      "Validate definitions and text packs; every problem names file, item and field. PATH: a "
      "data folder, a folder of definitions or one definition file (default: the installed "
      "data and the site folder).");
  check->add_option("path", check_args->path, "What to check");
  AddCatalogOptions(check, check_args->catalog);
  commands.push_back({check, [check_args] { return RunCheck(*check_args); }});

  auto import_args = std::make_shared<ImportArgs>();
  CLI::App* import = group->add_subcommand(
      "import",
      "Import a site's FHIR Questionnaire: recognise the instrument by its LOINC code, keep the "
      "wording as a text pack in SITE/textpacks/ and score with Rapport's definition.");
  import->add_option("file", import_args->file, "FHIR Questionnaire (JSON)")->required();
  import->add_option("--instrument", import_args->instrument,
                     "The instrument it is, when the form has no known LOINC panel code");
  import->add_option("--language", import_args->language,
                     "The wording's language when the form does not say");
  import->add_option("--licence", import_args->licence, "Licence note recorded with the wording");
  import->add_flag("--dry-run", import_args->dry_run, "Check and report; write nothing");
  import->add_flag("--force", import_args->force, "Replace an earlier import");
  AddCatalogOptions(import, import_args->catalog);
  commands.push_back({import, [import_args] { return RunImport(*import_args); }});

  CLI::App* textpack = group->add_subcommand("textpack", "Work with text packs.");
  textpack->require_subcommand(1);
  auto pack_args = std::make_shared<TextPackCheckArgs>();
  CLI::App* pack_check = textpack->add_subcommand(
      "check", "Check a text pack against its instrument: item ids, option counts, every string.");
  pack_check->add_option("file", pack_args->file, "Text pack (JSON)")->required();
  AddCatalogOptions(pack_check, pack_args->catalog);
  commands.push_back({pack_check, [pack_args] { return RunTextPackCheck(*pack_args); }});
}

}  // namespace rapport::cli
