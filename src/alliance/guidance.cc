#include "alliance/guidance.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace rapport::alliance {
namespace {

using Json = nlohmann::json;

Status Problem(const std::string& where, const std::string& field, const std::string& message) {
  return InvalidArgument(where + ": " + field + ": " + message, field);
}

Result<std::string> RequiredText(const Json& value, const std::string& where,
                                 const std::string& field) {
  if (!value.contains(field)) return Problem(where, field, "is required");
  const Json& text = value.at(field);
  if (!text.is_string() ||
      text.get<std::string>().find_first_not_of(" \t\n") == std::string::npos) {
    return Problem(where, field, "must be non-empty text");
  }
  return text.get<std::string>();
}

Result<std::vector<std::string>> TextList(const Json& value, const std::string& where,
                                          const std::string& field, bool required) {
  std::vector<std::string> out;
  if (!value.contains(field)) {
    if (required) return Problem(where, field, "is required");
    return out;
  }
  const Json& list = value.at(field);
  if (!list.is_array()) return Problem(where, field, "must be an array of text");
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string() || list[i].get<std::string>().empty()) {
      return Problem(where, field + "[" + std::to_string(i) + "]", "must be non-empty text");
    }
    out.push_back(list[i].get<std::string>());
  }
  if (required && out.empty()) return Problem(where, field, "must not be empty");
  return out;
}

// Lower-case letters and digits in words joined by single '-'.
bool IsEntryId(const std::string& id) {
  if (id.empty() || id.front() == '-' || id.back() == '-') return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (c == '-') {
      if (id[i - 1] == '-') return false;
    } else if (!std::islower(static_cast<unsigned char>(c)) &&
               !std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// "Author(s) (year). Title ...": authors, a year (19xx or 20xx, optionally with a letter) in
// parentheses followed by ". ", then at least eight characters of title.
bool IsCitation(const std::string& text) {
  const size_t open = text.find(" (");
  if (open == std::string::npos || open == 0) return false;
  size_t i = open + 2;
  if (text.size() < i + 4 || !(text.compare(i, 2, "19") == 0 || text.compare(i, 2, "20") == 0)) {
    return false;
  }
  for (size_t d = i; d < i + 4; ++d) {
    if (!std::isdigit(static_cast<unsigned char>(text[d]))) return false;
  }
  i += 4;
  if (i < text.size() && std::islower(static_cast<unsigned char>(text[i]))) ++i;
  if (text.compare(i, 3, "). ") != 0) return false;
  return text.size() >= i + 3 + 8;
}

}  // namespace

const std::vector<std::string>& SignalKinds() {
  static const std::vector<std::string> kinds = {"risk-item",    "low-alliance",    "rupture",
                                                 "ceiling-dip",  "perspective-gap", "dropout-risk",
                                                 "not-on-track", "goal-stalled"};
  return kinds;
}

Result<GuidanceEntry> ParseGuidanceEntry(const Json& value, const std::string& where) {
  if (!value.is_object()) return InvalidArgument(where + ": a guidance entry must be an object");
  static const std::set<std::string> known = {"id",      "title",      "text",
                                              "signals", "dimensions", "sources"};
  for (const auto& [key, unused] : value.items()) {
    if (!known.contains(key)) return Problem(where, key, "is not a known field");
  }
  GuidanceEntry entry;
  entry.file = where;
  RAPPORT_ASSIGN_OR_RETURN(entry.id, RequiredText(value, where, "id"));
  if (!IsEntryId(entry.id)) {
    return Problem(where, "id", "'" + entry.id + "' must be lower-case words joined by '-'");
  }
  RAPPORT_ASSIGN_OR_RETURN(entry.title, RequiredText(value, where, "title"));
  if (entry.title.find('\n') != std::string::npos || entry.title.size() > 120) {
    return Problem(where, "title", "must be one line of at most 120 characters");
  }
  RAPPORT_ASSIGN_OR_RETURN(entry.text, RequiredText(value, where, "text"));
  RAPPORT_ASSIGN_OR_RETURN(entry.signals, TextList(value, where, "signals", true));
  for (size_t i = 0; i < entry.signals.size(); ++i) {
    const auto& kinds = SignalKinds();
    if (std::find(kinds.begin(), kinds.end(), entry.signals[i]) == kinds.end()) {
      return Problem(where, "signals[" + std::to_string(i) + "]",
                     "unknown signal '" + entry.signals[i] + "'");
    }
  }
  RAPPORT_ASSIGN_OR_RETURN(entry.dimensions, TextList(value, where, "dimensions", false));
  for (size_t i = 0; i < entry.dimensions.size(); ++i) {
    const std::string& d = entry.dimensions[i];
    if (d != "bond" && d != "goals" && d != "tasks") {
      return Problem(where, "dimensions[" + std::to_string(i) + "]",
                     "must be bond, goals or tasks, not '" + d + "'");
    }
  }
  RAPPORT_ASSIGN_OR_RETURN(entry.sources, TextList(value, where, "sources", true));
  for (size_t i = 0; i < entry.sources.size(); ++i) {
    if (!IsCitation(entry.sources[i])) {
      return Problem(where, "sources[" + std::to_string(i) + "]",
                     "must read 'Author (year). Title. ...', not '" + entry.sources[i] + "'");
    }
  }
  return entry;
}

std::vector<const GuidanceEntry*> SelectGuidance(const std::vector<GuidanceEntry>& library,
                                                 std::string_view kind,
                                                 std::string_view dimension) {
  std::vector<const GuidanceEntry*> out;
  for (const GuidanceEntry& entry : library) {
    if (std::find(entry.signals.begin(), entry.signals.end(), kind) == entry.signals.end()) {
      continue;
    }
    if (!entry.dimensions.empty() && std::find(entry.dimensions.begin(), entry.dimensions.end(),
                                               dimension) == entry.dimensions.end()) {
      continue;
    }
    out.push_back(&entry);
  }
  return out;
}

std::vector<GuidanceEntry> MergeGuidance(const std::vector<GuidanceEntry>& shipped,
                                         const std::vector<GuidanceEntry>& overrides,
                                         const std::set<std::string, std::less<>>& disabled) {
  std::vector<GuidanceEntry> out;
  for (const GuidanceEntry& entry : shipped) {
    if (disabled.contains(entry.id)) continue;
    const auto replaced = std::find_if(overrides.begin(), overrides.end(),
                                       [&](const GuidanceEntry& o) { return o.id == entry.id; });
    out.push_back(replaced == overrides.end() ? entry : *replaced);
  }
  for (const GuidanceEntry& entry : overrides) {
    const bool shipped_id = std::any_of(shipped.begin(), shipped.end(),
                                        [&](const GuidanceEntry& s) { return s.id == entry.id; });
    if (!shipped_id && !disabled.contains(entry.id)) out.push_back(entry);
  }
  return out;
}

Json GuidanceToJson(const GuidanceEntry& entry) {
  return Json{
      {"id", entry.id}, {"title", entry.title}, {"text", entry.text}, {"sources", entry.sources}};
}

}  // namespace rapport::alliance
