// Loading and validating instrument definitions, and the catalogue of loaded instruments.
//
// Validation reports every problem it finds, each naming the file, the item (when the problem
// is about one) and the field, e.g.
//   data/instruments/phq-9.json: item 10: scoring.flags[0].item: unknown item '10'
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "instruments/definition.h"
#include "instruments/problem.h"
#include "instruments/textpack.h"

namespace rapport::instruments {

// Parses and validates one definition from JSON text. `file` names it in problems.
// On failure returns kInvalidArgument whose message lists every problem, one per line, and
// appends them to `problems` when not null.
Result<Definition> ParseDefinition(std::string_view json_text, const std::string& file,
                                   std::vector<Problem>* problems = nullptr);

// Where a catalogue is loaded from.
struct CatalogSources {
  // Folders of definitions (*.json directly inside). An instrument id may appear only once
  // across all of them.
  std::vector<std::filesystem::path> instrument_dirs;
  // Folders of text packs (*.json directly inside). A pack in a later folder replaces one for
  // the same instrument and language in an earlier folder (a site's wording over a shipped one);
  // two packs for the same instrument and language in one folder are a problem.
  std::vector<std::filesystem::path> textpack_dirs;
};

// How an instrument is worded for a respondent who asked for a language.
struct Wording {
  const Definition* definition = nullptr;  // worded; null when it has no wording at all
  std::string requested;                   // the language asked for
  bool fell_back = false;  // true when shown in another language than the one asked for
};

// The set of loaded instruments with their wording in every language. Immutable after
// loading; safe to share between threads.
class Catalog {
 public:
  // Loads definitions, then text packs, then checks that every language an instrument
  // declares has its wording. Errors: unreadable folder, any invalid definition or pack, a
  // duplicate instrument id, a pack for an unknown instrument, a missing language →
  // kInvalidArgument listing every problem in every file (also appended to `problems`).
  // Folders that do not exist are skipped, except the first instrument folder.
  static Result<Catalog> Load(const CatalogSources& sources,
                              std::vector<Problem>* problems = nullptr);
  // Load({dir}, {}): definitions only.
  static Result<Catalog> LoadDirectory(const std::filesystem::path& dir,
                                       std::vector<Problem>* problems = nullptr);
  // DATA/instruments and DATA/textpacks, then SITE/instruments and SITE/textpacks when `site`
  // is not empty: the shipped data followed by a site's own definitions and licensed wording.
  static CatalogSources SourcesFor(const std::filesystem::path& data_dir,
                                   const std::filesystem::path& site_dir = {});

  // Adds one definition. Errors: kInvalidArgument when the id is taken.
  Status Add(Definition definition);
  // Adds (or replaces) the wording of one instrument in one language. Errors: kInvalidArgument
  // listing CheckTextPack's problems, or naming an unknown instrument.
  Status AddTextPack(const TextPack& pack);

  // The instrument with `id` (as defined: the scoring, and the default wording if any), or null.
  const Definition* Find(std::string_view id) const;
  // All instruments, ordered by id.
  std::vector<const Definition*> All() const;
  size_t size() const { return definitions_.size(); }

  // The instrument worded in `language`, or null when it has no wording in that language.
  const Definition* FindWorded(std::string_view id, std::string_view language) const;
  // The languages `id` can be shown in: the default first when the definition is worded, then
  // the others in tag order. Empty for an unknown instrument or one without any wording.
  std::vector<std::string> Languages(std::string_view id) const;
  // The wording to show: `language` when available, otherwise the definition's default
  // language, otherwise the first available (fell_back = true in both cases).
  Wording Resolve(std::string_view id, std::string_view language) const;
  // The text pack that supplied `id` in `language`, or null (own default wording has none).
  const TextPack* FindTextPack(std::string_view id, std::string_view language) const;

 private:
  using Key = std::pair<std::string, std::string>;  // instrument id, language
  std::map<std::string, std::shared_ptr<const Definition>, std::less<>> definitions_;
  std::map<Key, std::shared_ptr<const Definition>> worded_;
  std::map<Key, std::shared_ptr<const TextPack>> packs_;
};

// The folder of shipped definitions: $RAPPORT_DATA_DIR/instruments when set, else the
// first of ./data/instruments and <install prefix>/share/rapport/data/instruments that exists.
std::filesystem::path DefaultInstrumentDir();
// The data folder root (instruments, guidance), found the same way.
std::filesystem::path DefaultDataDir();

}  // namespace rapport::instruments
