#include "instruments/fhir_import.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "instruments/internal/json_reader.h"

namespace rapport::instruments {
namespace {

using internal::FormatNumber;
using internal::GetString;
using internal::Json;
using internal::Member;
using internal::Reporter;

constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kOrdinalValueUrl =
    "http://hl7.org/fhir/StructureDefinition/ordinalValue";
constexpr std::string_view kItemWeightUrl = "http://hl7.org/fhir/StructureDefinition/itemWeight";

// A question of the site's form, flattened out of its groups.
struct FormItem {
  std::string link_id;
  std::string code;  // LOINC item code, if any
  std::string text;
  std::string type;
  std::string path;  // JSON path, for problems
  const Json* json = nullptr;
};

std::string LoincCode(const Json& element) {
  const Json* codes = Member(element, "code");
  if (codes == nullptr || !codes->is_array()) return {};
  for (const Json& coding : *codes) {
    const Json* system = Member(coding, "system");
    const Json* code = Member(coding, "code");
    if (system != nullptr && system->is_string() && *system == kLoinc && code != nullptr &&
        code->is_string()) {
      return code->get<std::string>();
    }
  }
  return {};
}

bool IsQuestion(const std::string& type) {
  return type == "choice" || type == "open-choice" || type == "integer" || type == "decimal" ||
         type == "coding";
}

// Walks item[] recursively (groups, and questions with nested items), keeping questions.
void Flatten(const Json& parent, const std::string& path, std::vector<FormItem>& out,
             int depth = 0) {
  const Json* items = Member(parent, "item");
  if (items == nullptr || !items->is_array() || depth > 16) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const Json& entry = (*items)[i];
    const std::string item_path = path + ".item[" + std::to_string(i) + "]";
    const Json* type = Member(entry, "type");
    const Json* link = Member(entry, "linkId");
    if (type != nullptr && type->is_string() && IsQuestion(type->get<std::string>()) &&
        link != nullptr && link->is_string()) {
      const Json* text = Member(entry, "text");
      out.push_back({link->get<std::string>(), LoincCode(entry),
                     text != nullptr && text->is_string() ? text->get<std::string>() : "",
                     type->get<std::string>(), item_path, &entry});
    }
    Flatten(entry, item_path, out, depth + 1);
  }
}

std::optional<double> ExtensionValue(const Json& element, std::string_view url) {
  if (auto value = internal::ExtensionNumber(element, url)) return value;
  return std::nullopt;
}

std::optional<double> NumericCode(const std::string& code) {
  if (code.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(code.c_str(), &end);
  if (end != code.c_str() + code.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// One answer option of the form: its text, code and (when stated) scored value.
struct FormOption {
  std::string display;
  std::string code;
  std::optional<double> value;
};

// Reads a question's options from answerOption[] or a contained ValueSet.
std::vector<FormOption> ReadOptions(const FormItem& item, const Json& questionnaire,
                                    Reporter& report, const std::string& item_id) {
  std::vector<FormOption> options;
  const Json* answer_options = Member(*item.json, "answerOption");
  if (answer_options != nullptr && answer_options->is_array()) {
    for (size_t i = 0; i < answer_options->size(); ++i) {
      const Json& entry = (*answer_options)[i];
      FormOption option;
      if (const Json* coding = Member(entry, "valueCoding"); coding != nullptr) {
        const Json* code = Member(*coding, "code");
        const Json* display = Member(*coding, "display");
        if (code != nullptr && code->is_string()) option.code = code->get<std::string>();
        if (display != nullptr && display->is_string())
          option.display = display->get<std::string>();
        option.value = ExtensionValue(*coding, kOrdinalValueUrl);
      } else if (const Json* integer = Member(entry, "valueInteger");
                 integer != nullptr && integer->is_number()) {
        option.value = integer->get<double>();
        option.code = FormatNumber(*option.value);
        option.display = option.code;
      } else if (const Json* text = Member(entry, "valueString");
                 text != nullptr && text->is_string()) {
        option.display = text->get<std::string>();
      } else {
        report.Add(item_id, item.path + ".answerOption[" + std::to_string(i) + "]",
                   "needs valueCoding, valueInteger or valueString");
        continue;
      }
      if (!option.value) option.value = ExtensionValue(entry, kOrdinalValueUrl);
      if (!option.value) option.value = ExtensionValue(entry, kItemWeightUrl);
      if (!option.value) option.value = NumericCode(option.code);
      options.push_back(std::move(option));
    }
    return options;
  }
  const Json* value_set = Member(*item.json, "answerValueSet");
  if (value_set == nullptr || !value_set->is_string()) return options;
  const std::string reference = value_set->get<std::string>();
  if (!reference.starts_with('#')) {
    report.Add(item_id, item.path + ".answerValueSet",
               "options come from the external ValueSet '" + reference +
                   "'; include them in the form as answerOption or a contained ValueSet");
    return options;
  }
  const Json* contained = Member(questionnaire, "contained");
  if (contained == nullptr || !contained->is_array()) return options;
  for (const Json& resource : *contained) {
    const Json* id = Member(resource, "id");
    if (id == nullptr || !id->is_string() || *id != reference.substr(1)) continue;
    const Json* compose = Member(resource, "compose");
    const Json* includes = compose != nullptr ? Member(*compose, "include") : nullptr;
    if (includes == nullptr || !includes->is_array()) break;
    for (const Json& include : *includes) {
      const Json* concepts = Member(include, "concept");
      if (concepts == nullptr || !concepts->is_array()) continue;
      for (const Json& concept_entry : *concepts) {
        FormOption option;
        if (const Json* code = Member(concept_entry, "code"); code != nullptr && code->is_string())
          option.code = code->get<std::string>();
        if (const Json* display = Member(concept_entry, "display");
            display != nullptr && display->is_string())
          option.display = display->get<std::string>();
        option.value = ExtensionValue(concept_entry, kOrdinalValueUrl);
        if (!option.value) option.value = ExtensionValue(concept_entry, kItemWeightUrl);
        if (!option.value) option.value = NumericCode(option.code);
        options.push_back(std::move(option));
      }
    }
  }
  return options;
}

std::string StripSlash(std::string_view id) {
  return std::string(id.starts_with('/') ? id.substr(1) : id);
}

}  // namespace

Result<ImportedForm> ImportQuestionnaire(std::string_view json_text, const std::string& file,
                                         const Catalog& catalog, const ImportOptions& options,
                                         std::vector<Problem>* problems) {
  Reporter report(file);
  ImportedForm form;
  const auto finish = [&]() -> Result<ImportedForm> {
    if (report.ok()) return form;
    if (problems != nullptr) {
      problems->insert(problems->end(), report.problems().begin(), report.problems().end());
    }
    return internal::ProblemsToStatus(report.problems());
  };
  const Json q = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (q.is_discarded()) {
    report.Add({}, "$", "not valid JSON");
    return finish();
  }
  if (!q.is_object() || Member(q, "resourceType") == nullptr ||
      *Member(q, "resourceType") != "Questionnaire") {
    report.Add({}, "resourceType", "expected a FHIR Questionnaire resource");
    return finish();
  }

  // Which shipped definition is this?
  const Definition* definition = nullptr;
  if (!options.instrument_id.empty()) {
    definition = catalog.Find(options.instrument_id);
    if (definition == nullptr) {
      report.Add({}, "--instrument", "no instrument '" + options.instrument_id + "' is installed");
      return finish();
    }
    form.matched_by = "--instrument " + options.instrument_id;
  } else {
    std::vector<std::string> panel_codes;
    if (std::string code = LoincCode(q); !code.empty()) panel_codes.push_back(code);
    if (const Json* identifiers = Member(q, "identifier");
        identifiers != nullptr && identifiers->is_array()) {
      for (const Json& identifier : *identifiers) {
        const Json* system = Member(identifier, "system");
        const Json* value = Member(identifier, "value");
        if (system != nullptr && *system == kLoinc && value != nullptr && value->is_string())
          panel_codes.push_back(value->get<std::string>());
      }
    }
    for (const std::string& code : panel_codes) {
      for (const Definition* candidate : catalog.All()) {
        if (!candidate->loinc.empty() && candidate->loinc == code) definition = candidate;
      }
      if (definition != nullptr) {
        form.matched_by = "LOINC " + code;
        break;
      }
    }
    if (definition == nullptr) {
      std::string known;
      for (const Definition* candidate : catalog.All()) {
        if (!candidate->loinc.empty())
          known += (known.empty() ? "" : ", ") + candidate->loinc + " (" + candidate->id + ")";
      }
      report.Add({}, "code",
                 panel_codes.empty()
                     ? "the form has no LOINC panel code; name the instrument it is with "
                       "--instrument ID. Known panels: " +
                           known
                     : "LOINC " + panel_codes.front() +
                           " is not a panel Rapport has scoring for; known: " + known +
                           " (or name the instrument with --instrument ID)");
      return finish();
    }
  }
  form.instrument_id = definition->id;

  TextPack& pack = form.pack;
  pack.instrument_id = definition->id;
  pack.instrument_version = definition->version;
  pack.language = GetString(q, "language", "$", report, false);
  if (pack.language.empty()) pack.language = options.language;
  if (pack.language.empty()) {
    report.Add({}, "language", "the form does not say its language; give --language, e.g. en");
  } else if (!IsLanguageTag(pack.language)) {
    report.Add({}, "language", "'" + pack.language + "' is not a language tag such as en");
  }
  pack.title = GetString(q, "title", "$", report, false);
  if (pack.title.empty()) pack.title = GetString(q, "name", "$", report, false);
  pack.source = options.source.empty() ? "imported from " + file : options.source;
  pack.licence =
      options.licence.empty() ? GetString(q, "copyright", "$", report, false) : options.licence;
  if (pack.licence.empty()) pack.licence = "as licensed to the site";
  pack.source_file = file;

  std::vector<FormItem> questions;
  Flatten(q, "$", questions);

  // Match the definition's items to the form's questions.
  std::map<std::string, size_t> matched;  // definition item id → question index
  std::set<size_t> used;
  const auto match_where = [&](auto predicate) {
    for (const Item& item : definition->items) {
      if (matched.contains(item.id)) continue;
      for (size_t k = 0; k < questions.size(); ++k) {
        if (!used.contains(k) && predicate(item, questions[k])) {
          matched[item.id] = k;
          used.insert(k);
          break;
        }
      }
    }
  };
  match_where([](const Item& item, const FormItem& question) {
    return !item.code.empty() && question.code == item.code;
  });
  form.items_matched_by = "code";
  if (matched.empty()) form.items_matched_by = "linkId";
  match_where([](const Item& item, const FormItem& question) {
    const std::string link = StripSlash(question.link_id);
    return link == item.id || (!item.code.empty() && link == item.code);
  });
  if (matched.empty() && questions.size() == definition->items.size()) {
    form.items_matched_by = "position";
    for (size_t k = 0; k < questions.size(); ++k) {
      matched[definition->items[k].id] = k;
      used.insert(k);
    }
  }
  for (const Item& item : definition->items) {
    if (matched.contains(item.id)) continue;
    report.Add(item.id, "item",
               "the form has no question for " + definition->id + " item " + item.id +
                   (item.code.empty() ? std::string() : " (LOINC " + item.code + ")"));
  }
  for (size_t k = 0; k < questions.size(); ++k) {
    if (!used.contains(k)) pack.ignored_link_ids.push_back(questions[k].link_id);
  }
  if (!report.ok()) return finish();

  for (const Item& item : definition->items) {
    const FormItem& question = questions[matched.at(item.id)];
    ItemText& text = pack.items[item.id];
    if (question.link_id != item.id) text.link_id = question.link_id;
    text.text = question.text;
    if (text.text.empty()) report.Add(item.id, question.path + ".text", "the question has no text");
    if (item.type != ItemType::kChoice) {
      if (question.type != "integer" && question.type != "decimal") {
        report.Add(item.id, question.path + ".type",
                   "is '" + question.type + "'; " + definition->id + " item " + item.id +
                       " takes a number");
      }
      continue;
    }
    std::vector<FormOption> form_options = ReadOptions(question, q, report, item.id);
    if (form_options.size() != item.options.size()) {
      report.Add(item.id, question.path + ".answerOption",
                 "has " + std::to_string(form_options.size()) + " options; " + definition->id +
                     " item " + item.id + " has " + std::to_string(item.options.size()));
      continue;
    }
    const bool all_valued = std::all_of(form_options.begin(), form_options.end(),
                                        [](const FormOption& o) { return o.value.has_value(); });
    if (!all_valued) {
      // No stated values: the options are taken in order, lowest scored first.
      for (size_t k = 0; k < form_options.size(); ++k)
        form_options[k].value = item.options[k].value;
    }
    std::stable_sort(form_options.begin(), form_options.end(),
                     [](const FormOption& a, const FormOption& b) { return *a.value < *b.value; });
    const auto values_of = [](const auto& list, auto value) {
      std::string out;
      for (const auto& entry : list) out += (out.empty() ? "" : ", ") + FormatNumber(value(entry));
      return out;
    };
    bool same_values = true;
    for (size_t k = 0; k < form_options.size(); ++k) {
      same_values = same_values && *form_options[k].value == item.options[k].value;
    }
    if (!same_values) {
      report.Add(item.id, question.path + ".answerOption",
                 "the options score " +
                     values_of(form_options, [](const FormOption& o) { return *o.value; }) + "; " +
                     definition->id + " item " + item.id + " scores " +
                     values_of(item.options, [](const Option& o) { return o.value; }));
      continue;
    }
    for (size_t k = 0; k < form_options.size(); ++k) {
      if (form_options[k].display.empty()) {
        report.Add(item.id, question.path + ".answerOption", "an option has no display text");
        break;
      }
      text.options.push_back({form_options[k].display, form_options[k].code});
    }
  }
  if (report.ok()) {
    std::vector<Problem> pack_problems = CheckTextPack(pack, *definition);
    for (Problem& problem : pack_problems) {
      problem.file = file;
      report.Add(problem.item, problem.field, problem.message);
    }
  }
  return finish();
}

namespace {

void CollectAnswers(const Json& parent, std::vector<std::pair<std::string, const Json*>>& out,
                    int depth = 0) {
  const Json* items = Member(parent, "item");
  if (items == nullptr || !items->is_array() || depth > 16) return;
  for (const Json& entry : *items) {
    const Json* link = Member(entry, "linkId");
    const Json* answers = Member(entry, "answer");
    if (link != nullptr && link->is_string() && answers != nullptr) {
      out.emplace_back(link->get<std::string>(), answers);
      if (answers->is_array()) {
        for (const Json& answer : *answers) CollectAnswers(answer, out, depth + 1);
      }
    }
    CollectAnswers(entry, out, depth + 1);
  }
}

}  // namespace

Result<std::vector<domain::ItemAnswer>> AnswersFromQuestionnaireResponse(
    const Definition& definition, const TextPack* pack, const nlohmann::json& response) {
  if (!response.is_object() || Member(response, "resourceType") == nullptr ||
      *Member(response, "resourceType") != "QuestionnaireResponse") {
    return InvalidArgument("expected a FHIR QuestionnaireResponse resource", "resourceType");
  }
  // linkId on the form → definition item.
  std::map<std::string, const Item*> by_link;
  for (const Item& item : definition.items) {
    std::string link = item.id;
    if (pack != nullptr) {
      if (const auto it = pack->items.find(item.id);
          it != pack->items.end() && !it->second.link_id.empty())
        link = it->second.link_id;
    }
    by_link[link] = &item;
  }
  std::vector<std::pair<std::string, const Json*>> collected;
  CollectAnswers(response, collected);
  std::vector<domain::ItemAnswer> answers;
  for (const auto& [link, values] : collected) {
    const auto it = by_link.find(link);
    if (it == by_link.end()) {
      if (pack != nullptr && std::find(pack->ignored_link_ids.begin(), pack->ignored_link_ids.end(),
                                       link) != pack->ignored_link_ids.end())
        continue;
      return InvalidArgument("linkId '" + link + "' is not a question of " + definition.id,
                             "item " + link);
    }
    const Item& item = *it->second;
    if (!values->is_array() || values->size() > 1) {
      return InvalidArgument("linkId '" + link + "': answer must be an array of one value",
                             "item " + link);
    }
    domain::ItemAnswer answer;
    answer.item_id = item.id;
    if (values->empty()) {
      answers.push_back(std::move(answer));
      continue;
    }
    const Json& value = values->front();
    if (const Json* number = Member(value, "valueInteger"); number != nullptr) {
      if (!number->is_number()) {
        return InvalidArgument("linkId '" + link + "': valueInteger must be a number",
                               "item " + link);
      }
      answer.value = number->get<double>();
    } else if (const Json* decimal = Member(value, "valueDecimal"); decimal != nullptr) {
      if (!decimal->is_number()) {
        return InvalidArgument("linkId '" + link + "': valueDecimal must be a number",
                               "item " + link);
      }
      answer.value = decimal->get<double>();
    } else if (const Json* coding = Member(value, "valueCoding"); coding != nullptr) {
      const Json* code = Member(*coding, "code");
      if (code == nullptr || !code->is_string()) {
        return InvalidArgument("linkId '" + link + "': valueCoding needs a code", "item " + link);
      }
      const std::string text = code->get<std::string>();
      std::optional<double> scored;
      if (pack != nullptr) {
        const auto pack_item = pack->items.find(item.id);
        if (pack_item != pack->items.end()) {
          for (size_t k = 0; k < pack_item->second.options.size() && k < item.options.size(); ++k) {
            if (pack_item->second.options[k].code == text) scored = item.options[k].value;
          }
        }
      }
      if (!scored) scored = NumericCode(text);
      if (!scored) {
        return InvalidArgument(
            "linkId '" + link + "': answer code '" + text + "' is not one of the form's options",
            "item " + link);
      }
      answer.value = *scored;
    } else {
      return InvalidArgument(
          "linkId '" + link + "': expected valueCoding, valueInteger or valueDecimal",
          "item " + link);
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

}  // namespace rapport::instruments
