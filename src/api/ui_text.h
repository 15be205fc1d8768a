// The text of the respondent's pages (check-in form, result and error pages) in every language,
// loaded from data/ui/<language>.json:
//
//   {"language": "es", "name": "Español", "strings": {"form.submit": "Enviar mis respuestas", ...}}
//
// English (en.json) is the reference: every other language must carry exactly its keys, so a
// page is never shown half translated. Strings may hold {name} placeholders (Format).
// Immutable after loading; safe to share between threads.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace rapport::api {

class UiText {
 public:
  // Loads every *.json in `dir`. Errors (kInvalidArgument, one line per problem naming the file
  // and key): unreadable folder or file, malformed JSON, no en.json, a language tag that does
  // not match the file name, a key missing from or unknown to a language.
  static Result<UiText> LoadDirectory(const std::filesystem::path& dir);

  // The string in `language`, or in English when the language is not loaded. A key that does
  // not exist returns the key itself (a programming error, made visible rather than fatal).
  std::string Get(std::string_view language, std::string_view key) const;
  // Get with {name} placeholders replaced by `values`.
  std::string Format(std::string_view language, std::string_view key,
                     const std::vector<std::pair<std::string, std::string>>& values) const;
  // The string when the key exists in English (e.g. "subscale.bond"), else `fallback`.
  std::string GetOr(std::string_view language, std::string_view key,
                    std::string_view fallback) const;

  bool Has(std::string_view language) const { return names_.contains(std::string(language)); }
  // The language's name in itself ("Español"); the tag when unknown.
  std::string Name(std::string_view language) const;
  // Loaded languages in tag order.
  std::vector<std::string> Languages() const;

 private:
  std::map<std::string, std::string> names_;
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> strings_;
};

}  // namespace rapport::api
