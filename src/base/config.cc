#include "base/config.h"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rapport {

std::string_view ConfigSourceName(Config::Source source) {
  switch (source) {
    case Config::Source::kDefault: return "default";
    case Config::Source::kFile: return "config file";
    case Config::Source::kEnvironment: return "environment";
    case Config::Source::kFlag: return "command line";
  }
  return "default";
}

Result<Config> Config::Load(const std::map<std::string, std::string>& defaults,
                            const std::string& file_path, const char* const* environ,
                            const std::map<std::string, std::string>& flags) {
  Config config;
  for (const auto& [key, value] : defaults) config.Set(key, value, Source::kDefault);

  if (!file_path.empty()) {
    std::ifstream in(file_path);
    if (!in) return InvalidArgument("cannot read config file '" + file_path + "'", "config");
    std::stringstream text;
    text << in.rdbuf();
    const auto json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
      return InvalidArgument("config file '" + file_path + "' is not a JSON object", "config");
    }
    for (const auto& [key, value] : json.items()) {
      if (value.is_string()) {
        config.Set(key, value.get<std::string>(), Source::kFile);
      } else if (value.is_number() || value.is_boolean()) {
        config.Set(key, value.dump(), Source::kFile);
      } else {
        return InvalidArgument(
            "config file '" + file_path + "': '" + key + "' must be a string, number or boolean",
            key);
      }
    }
  }

  if (environ != nullptr) {
    constexpr std::string_view kPrefix = "RAPPORT_";
    for (const char* const* entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      const size_t eq = text.find('=');
      if (eq == std::string_view::npos || !text.starts_with(kPrefix)) continue;
      std::string key(text.substr(kPrefix.size(), eq - kPrefix.size()));
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      // RAPPORT_SOURCE_DIR and friends used by the test harness are not configuration.
      if (key.empty()) continue;
      config.Set(std::move(key), std::string(text.substr(eq + 1)), Source::kEnvironment);
    }
  }

  for (const auto& [key, value] : flags) config.Set(key, value, Source::kFlag);
  return config;
}

void Config::Set(std::string key, std::string value, Source source) {
  entries_[std::move(key)] = Entry{std::move(value), source};
}

std::optional<std::string> Config::Get(std::string_view key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.value;
}

std::string Config::GetOr(std::string_view key, std::string_view fallback) const {
  auto value = Get(key);
  return value ? *value : std::string(fallback);
}

Result<int64_t> Config::GetInt(std::string_view key, int64_t fallback, int64_t min,
                               int64_t max) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return fallback;
  const std::string& text = it->second.value;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    // Built step by step: a single long '+' chain trips a false -Wrestrict in g++ 12 at -O3.
    std::string message = "'";
    message += key;
    message += "' from the ";
    message += ConfigSourceName(it->second.source);
    message += " must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    message += ", got '" + text + "'";
    return InvalidArgument(std::move(message), std::string(key));
  }
  return value;
}

}  // namespace rapport
