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
#include <vector>

#include "base/status.h"
#include "instruments/definition.h"

namespace rapport::instruments {

struct Problem {
  std::string file;
  std::string item;   // empty when not about one item
  std::string field;  // JSON path within the file
  std::string message;
  std::string ToString() const;
};

// Parses and validates one definition from JSON text. `file` names it in problems.
// On failure returns kInvalidArgument whose message lists every problem, one per line, and
// appends them to `problems` when not null.
Result<Definition> ParseDefinition(std::string_view json_text, const std::string& file,
                                   std::vector<Problem>* problems = nullptr);

// The set of loaded instruments. Immutable after loading; safe to share between threads.
class Catalog {
 public:
  // Loads every *.json file directly under `dir` (sub-folders are not definitions).
  // Errors: unreadable directory, any invalid definition, or a duplicate instrument id →
  // kInvalidArgument listing every problem in every file.
  static Result<Catalog> LoadDirectory(const std::filesystem::path& dir,
                                       std::vector<Problem>* problems = nullptr);

  // Adds one definition. Errors: kInvalidArgument when the id is taken.
  Status Add(Definition definition);

  // The instrument with `id`, or null.
  const Definition* Find(std::string_view id) const;
  // All instruments, ordered by id.
  std::vector<const Definition*> All() const;
  size_t size() const { return definitions_.size(); }

 private:
  std::map<std::string, std::shared_ptr<const Definition>, std::less<>> definitions_;
};

// The folder of shipped definitions: $RAPPORT_DATA_DIR/instruments when set, else the
// first of ./data/instruments and <install prefix>/share/rapport/data/instruments that exists.
std::filesystem::path DefaultInstrumentDir();
// The data folder root (instruments, guidance), found the same way.
std::filesystem::path DefaultDataDir();

}  // namespace rapport::instruments
