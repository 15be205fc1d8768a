#include "api/ui_text.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rapport::api {

Result<UiText> UiText::LoadDirectory(const std::filesystem::path& dir) {
  using Json = nlohmann::json;
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (error) {
    return InvalidArgument("cannot read the page text folder '" + dir.string() +
                           "': " + error.message());
  }
  std::sort(files.begin(), files.end());
  UiText ui;
  std::vector<std::string> problems;
  std::map<std::string, std::string> file_of;
  for (const auto& file : files) {
    const std::string name = file.string();
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const Json root = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.is_object()) {
      problems.push_back(name + ": not a JSON object");
      continue;
    }
    const auto language = root.find("language");
    const auto display = root.find("name");
    const auto strings = root.find("strings");
    if (language == root.end() || !language->is_string() ||
        language->get<std::string>() != file.stem().string()) {
      problems.push_back(name + ": language: must be \"" + file.stem().string() +
                         "\", the file's name");
      continue;
    }
    if (display == root.end() || !display->is_string() || display->get<std::string>().empty()) {
      problems.push_back(name + ": name: the language's own name is required");
      continue;
    }
    if (strings == root.end() || !strings->is_object()) {
      problems.push_back(name + ": strings: required object of texts by key");
      continue;
    }
    const std::string tag = language->get<std::string>();
    auto& table = ui.strings_[tag];
    for (const auto& [key, value] : strings->items()) {
      if (!value.is_string() || value.get<std::string>().empty()) {
        problems.push_back(name + ": strings." + key + ": must be a non-empty string");
        continue;
      }
      table[key] = value.get<std::string>();
    }
    ui.names_[tag] = display->get<std::string>();
    file_of[tag] = name;
  }
  const auto english = ui.strings_.find("en");
  if (english == ui.strings_.end()) {
    problems.push_back(dir.string() + ": en.json, the reference language, is missing");
  } else {
    for (const auto& [tag, table] : ui.strings_) {
      if (tag == "en") continue;
      for (const auto& [key, value] : english->second) {
        if (!table.contains(key))
          problems.push_back(file_of[tag] + ": strings." + key + ": missing language string");
      }
      for (const auto& [key, value] : table) {
        if (!english->second.contains(key))
          problems.push_back(file_of[tag] + ": strings." + key + ": unknown key (not in en.json)");
      }
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& problem : problems) message += (message.empty() ? "" : "\n") + problem;
    return InvalidArgument(message);
  }
  return ui;
}

std::string UiText::Get(std::string_view language, std::string_view key) const {
  for (const std::string_view tag : {language, std::string_view("en")}) {
    const auto table = strings_.find(tag);
    if (table == strings_.end()) continue;
    const auto it = table->second.find(key);
    if (it != table->second.end()) return it->second;
  }
  return std::string(key);  // unknown key: shown as is, so what is missing is visible
}

std::string UiText::GetOr(std::string_view language, std::string_view key,
                          std::string_view fallback) const {
  const auto english = strings_.find(std::string_view("en"));
  if (english == strings_.end() || !english->second.contains(key)) return std::string(fallback);
  return Get(language, key);
}

std::string UiText::Format(std::string_view language, std::string_view key,
                           const std::vector<std::pair<std::string, std::string>>& values) const {
  std::string text = Get(language, key);
  for (const auto& [name, value] : values) {
    const std::string placeholder = "{" + name + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

std::string UiText::Name(std::string_view language) const {
  const auto it = names_.find(std::string(language));
  return it == names_.end() ? std::string(language) : it->second;
}

std::vector<std::string> UiText::Languages() const {
  std::vector<std::string> out;
  for (const auto& [tag, name] : names_) out.push_back(tag);
  return out;
}

}  // namespace rapport::api
