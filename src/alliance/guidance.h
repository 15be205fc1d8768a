// The guidance library (DESIGN.md §6): short practice suggestions, written in the project's
// own words, each citing its sources and mapped to the signals it helps with. Entries are data
// (data/guidance/*.json, format in docs/signals.md); this header parses and validates one entry
// and selects entries for an alert. Reading the files is done by src/alerts. Pure; no I/O.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace rapport::alliance {

struct GuidanceEntry {
  std::string id;                       // lower-case letters, digits and '-'
  std::string title;                    // one line
  std::string text;                     // what to try, in plain words
  std::vector<std::string> signals;     // signal kinds it is shown with
  std::vector<std::string> dimensions;  // for ruptures: only when this dimension dropped most
  std::vector<std::string> sources;     // "Author (year). Title. ..." — at least one
  std::string file;                     // where it was loaded from
};

// The signal kinds guidance can be mapped to.
const std::vector<std::string>& SignalKinds();

// Parses and validates one entry. `where` names it in messages (a file name or
// "settings guidance.entries[2]"). Errors: InvalidArgument "WHERE: FIELD: problem".
Result<GuidanceEntry> ParseGuidanceEntry(const nlohmann::json& value, const std::string& where);

// The entries for an alert of `kind`, in library order: entries mapped to the kind whose
// `dimensions` are empty or contain `dimension`. `library` is already merged with overrides.
std::vector<const GuidanceEntry*> SelectGuidance(const std::vector<GuidanceEntry>& library,
                                                 std::string_view kind,
                                                 std::string_view dimension = {});

// The shipped library with an organisation's entries applied: an entry with a shipped id
// replaces it, a new id is appended, ids in `disabled` are removed.
std::vector<GuidanceEntry> MergeGuidance(const std::vector<GuidanceEntry>& shipped,
                                         const std::vector<GuidanceEntry>& overrides,
                                         const std::set<std::string, std::less<>>& disabled);

// {"id", "title", "text", "sources"} as shown with an alert.
nlohmann::json GuidanceToJson(const GuidanceEntry& entry);

}  // namespace rapport::alliance
