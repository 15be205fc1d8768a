#include "instruments/textpack.h"

#include <nlohmann/json.hpp>

#include "instruments/internal/json_reader.h"

namespace rapport::instruments {
namespace {

using internal::GetString;
using internal::Json;
using internal::Member;
using internal::Reporter;

// Every string a pack carries is shown to respondents: refuse empty ones where present.
std::string NonEmpty(const Json& object, std::string_view key, const std::string& path,
                     Reporter& report, bool required, const std::string& item = {}) {
  std::string value = GetString(object, key, path, report, required, item);
  if (Member(object, key) != nullptr && Member(object, key)->is_string() && value.empty()) {
    report.Add(item, path + "." + std::string(key), "must not be empty");
  }
  return value;
}

void ParseItem(const std::string& id, const Json& entry, const std::string& path, Reporter& report,
               ItemText& out) {
  if (!entry.is_object()) {
    report.Add(id, path, "must be an object with the item's text");
    return;
  }
  out.link_id = GetString(entry, "link_id", path, report, false, id);
  out.text = NonEmpty(entry, "text", path, report, false, id);
  out.min_label = NonEmpty(entry, "min_label", path, report, false, id);
  out.max_label = NonEmpty(entry, "max_label", path, report, false, id);
  const Json* options = Member(entry, "options");
  if (options == nullptr) return;
  if (!options->is_array()) {
    report.Add(id, path + ".options", "must be an array, lowest scored option first");
    return;
  }
  for (size_t i = 0; i < options->size(); ++i) {
    const std::string option_path = path + ".options[" + std::to_string(i) + "]";
    const Json& option = (*options)[i];
    OptionText text;
    if (option.is_string()) {
      text.display = option.get<std::string>();
      if (text.display.empty()) report.Add(id, option_path, "must not be empty");
    } else if (option.is_object()) {
      text.display = NonEmpty(option, "display", option_path, report, true, id);
      text.code = GetString(option, "code", option_path, report, false, id);
    } else {
      report.Add(id, option_path, "must be a string or {\"display\": ..., \"code\": ...}");
    }
    out.options.push_back(std::move(text));
  }
}

}  // namespace

Result<TextPack> ParseTextPack(std::string_view json_text, const std::string& file,
                               std::vector<Problem>* problems, TextPack* partial) {
  Reporter report(file);
  TextPack pack;
  pack.source_file = file;
  const Json root = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    report.Add({}, "$", "not valid JSON");
  } else if (!root.is_object()) {
    report.Add({}, "$", "a text pack must be a JSON object");
  } else {
    const Json* header = Member(root, "textpack");
    if (header == nullptr || !header->is_object()) {
      report.Add({}, "textpack",
                 "required object {\"instrument\", \"language\", \"source\", \"licence\"} is "
                 "missing");
    } else {
      pack.instrument_id = GetString(*header, "instrument", "textpack", report, true);
      pack.instrument_version = GetString(*header, "instrument_version", "textpack", report, false);
      pack.language = GetString(*header, "language", "textpack", report, true);
      if (!pack.language.empty() && !IsLanguageTag(pack.language)) {
        report.Add({}, "textpack.language",
                   "'" + pack.language + "' is not a language tag such as en or pt-BR");
      }
      pack.source = GetString(*header, "source", "textpack", report, true);
      pack.licence = GetString(*header, "licence", "textpack", report, true);
    }
    pack.title = NonEmpty(root, "title", "$", report, false);
    pack.description = GetString(root, "description", "$", report, false);
    pack.ignored_link_ids = internal::GetStringArray(root, "ignored_link_ids", "$", report);
    const Json* items = Member(root, "items");
    if (items == nullptr || !items->is_object()) {
      report.Add({}, "items", "required object of item texts by item id is missing");
    } else {
      for (const auto& [id, entry] : items->items()) {
        ParseItem(id, entry, "items." + id, report, pack.items[id]);
      }
    }
  }
  if (partial != nullptr) *partial = pack;
  if (!report.ok()) {
    if (problems != nullptr) {
      problems->insert(problems->end(), report.problems().begin(), report.problems().end());
    }
    return internal::ProblemsToStatus(report.problems());
  }
  return pack;
}

std::vector<Problem> CheckTextPack(const TextPack& pack, const Definition& definition) {
  Reporter report(pack.source_file);
  if (pack.instrument_id != definition.id) {
    report.Add({}, "textpack.instrument",
               "pack is for '" + pack.instrument_id + "', not '" + definition.id + "'");
    return report.problems();
  }
  if (!pack.instrument_version.empty() && pack.instrument_version != definition.version) {
    report.Add({}, "textpack.instrument_version",
               "pack is for version " + pack.instrument_version + "; the definition is version " +
                   definition.version);
  }
  if (pack.title.empty()) report.Add({}, "title", "missing language string");
  for (const auto& [id, text] : pack.items) {
    if (definition.FindItem(id) == nullptr) {
      report.Add(id, "items." + id, "unknown item '" + id + "' (not in " + definition.id + ")");
    }
  }
  for (const Item& item : definition.items) {
    const std::string path = "items." + item.id;
    const auto it = pack.items.find(item.id);
    if (it == pack.items.end()) {
      report.Add(item.id, path, "missing language string: the item has no text");
      continue;
    }
    const ItemText& text = it->second;
    if (text.text.empty()) report.Add(item.id, path + ".text", "missing language string");
    if (item.type == ItemType::kChoice) {
      if (text.options.size() != item.options.size()) {
        report.Add(item.id, path + ".options",
                   "has " + std::to_string(text.options.size()) + " options; the item has " +
                       std::to_string(item.options.size()));
      }
    } else {
      if (!text.options.empty()) {
        report.Add(item.id, path + ".options", "a slider item has no options; use anchors");
      }
      // Anchors the default wording has must be translated too.
      if (!item.min_label.empty() && text.min_label.empty()) {
        report.Add(item.id, path + ".min_label", "missing language string");
      }
      if (!item.max_label.empty() && text.max_label.empty()) {
        report.Add(item.id, path + ".max_label", "missing language string");
      }
      if (text.min_label.empty() != text.max_label.empty()) {
        report.Add(item.id, path, "give both anchors (min_label and max_label) or neither");
      }
    }
  }
  return report.problems();
}

Definition ApplyTextPack(const Definition& definition, const TextPack& pack) {
  Definition worded = definition;
  worded.language = pack.language;
  worded.title = pack.title;
  if (!pack.description.empty()) worded.description = pack.description;
  for (Item& item : worded.items) {
    const ItemText& text = pack.items.at(item.id);
    item.text = text.text;
    for (size_t k = 0; k < item.options.size(); ++k) {
      item.options[k].display = text.options[k].display;
    }
    item.min_label = text.min_label;
    item.max_label = text.max_label;
  }
  return worded;
}

std::string TextPackToJson(const TextPack& pack) {
  Json header = {{"instrument", pack.instrument_id},
                 {"language", pack.language},
                 {"source", pack.source},
                 {"licence", pack.licence}};
  if (!pack.instrument_version.empty()) header["instrument_version"] = pack.instrument_version;
  Json items = Json::object();
  for (const auto& [id, text] : pack.items) {
    Json item = {{"text", text.text}};
    if (!text.link_id.empty()) item["link_id"] = text.link_id;
    if (!text.options.empty()) {
      Json options = Json::array();
      for (const OptionText& option : text.options) {
        if (option.code.empty()) {
          options.push_back(option.display);
        } else {
          options.push_back({{"display", option.display}, {"code", option.code}});
        }
      }
      item["options"] = std::move(options);
    }
    if (!text.min_label.empty()) item["min_label"] = text.min_label;
    if (!text.max_label.empty()) item["max_label"] = text.max_label;
    items[id] = std::move(item);
  }
  Json root = {{"textpack", std::move(header)}, {"title", pack.title}, {"items", std::move(items)}};
  if (!pack.description.empty()) root["description"] = pack.description;
  if (!pack.ignored_link_ids.empty()) root["ignored_link_ids"] = pack.ignored_link_ids;
  return root.dump(2) + "\n";
}

}  // namespace rapport::instruments
