#include "instruments/catalog.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "instruments/internal/json_reader.h"

namespace rapport::instruments {
namespace {

using internal::ExtensionNumber;
using internal::ExtensionString;
using internal::FormatNumber;
using internal::GetBool;
using internal::GetNumber;
using internal::GetString;
using internal::GetStringArray;
using internal::Json;
using internal::Member;
using internal::Reporter;

constexpr std::string_view kMinValueUrl = "http://hl7.org/fhir/StructureDefinition/minValue";
constexpr std::string_view kMaxValueUrl = "http://hl7.org/fhir/StructureDefinition/maxValue";
constexpr std::string_view kSliderStepUrl =
    "http://hl7.org/fhir/StructureDefinition/questionnaire-sliderStepValue";
constexpr std::string_view kLoincSystem = "http://loinc.org";
// Anchor texts of a slider item: Rapport's own extensions.
constexpr std::string_view kMinLabelUrl = "urn:rapport:extension:min-label";
constexpr std::string_view kMaxLabelUrl = "urn:rapport:extension:max-label";

// Parses an option code as its scored value. Codes of scored options are numbers.
std::optional<double> CodeValue(const std::string& code) {
  if (code.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(code.c_str(), &end);
  if (end != code.c_str() + code.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Reads the concepts of a contained ValueSet (compose.include[].concept[]).
std::vector<Option> ReadValueSet(const Json& value_set, const std::string& path, Reporter& report,
                                 const std::string& item) {
  std::vector<Option> options;
  const Json* compose = Member(value_set, "compose");
  const Json* includes = compose != nullptr ? Member(*compose, "include") : nullptr;
  if (includes == nullptr || !includes->is_array()) {
    report.Add(item, path + ".compose.include", "a contained ValueSet must list its concepts");
    return options;
  }
  for (size_t i = 0; i < includes->size(); ++i) {
    const Json* concepts = Member((*includes)[i], "concept");
    const std::string include_path = path + ".compose.include[" + std::to_string(i) + "]";
    if (concepts == nullptr || !concepts->is_array()) {
      report.Add(item, include_path + ".concept", "must be an array of concepts");
      continue;
    }
    for (size_t c = 0; c < concepts->size(); ++c) {
      const std::string concept_path = include_path + ".concept[" + std::to_string(c) + "]";
      Option option;
      option.code = GetString((*concepts)[c], "code", concept_path, report, true, item);
      option.display = GetString((*concepts)[c], "display", concept_path, report, false, item);
      const auto value = CodeValue(option.code);
      if (!value) {
        if (!option.code.empty()) {
          report.Add(item, concept_path + ".code",
                     "option code '" + option.code + "' must be the number it scores");
        }
        continue;
      }
      option.value = *value;
      options.push_back(std::move(option));
    }
  }
  return options;
}

// Reads answerOption[] (valueCoding or valueInteger).
std::vector<Option> ReadAnswerOptions(const Json& answer_options, const std::string& path,
                                      Reporter& report, const std::string& item) {
  std::vector<Option> options;
  if (!answer_options.is_array()) {
    report.Add(item, path, "must be an array");
    return options;
  }
  for (size_t i = 0; i < answer_options.size(); ++i) {
    const std::string option_path = path + "[" + std::to_string(i) + "]";
    const Json& entry = answer_options[i];
    Option option;
    if (const Json* integer = Member(entry, "valueInteger"); integer != nullptr) {
      if (!integer->is_number_integer()) {
        report.Add(item, option_path + ".valueInteger", "must be an integer");
        continue;
      }
      option.value = integer->get<double>();
      option.code = std::to_string(integer->get<int64_t>());
    } else if (const Json* coding = Member(entry, "valueCoding"); coding != nullptr) {
      option.code = GetString(*coding, "code", option_path + ".valueCoding", report, true, item);
      option.display =
          GetString(*coding, "display", option_path + ".valueCoding", report, false, item);
      const auto value = CodeValue(option.code);
      if (!value) {
        if (!option.code.empty()) {
          report.Add(item, option_path + ".valueCoding.code",
                     "option code '" + option.code + "' must be the number it scores");
        }
        continue;
      }
      option.value = *value;
    } else {
      report.Add(item, option_path, "needs valueCoding or valueInteger");
      continue;
    }
    options.push_back(std::move(option));
  }
  return options;
}

Result<Direction> ParseDirection(const std::string& text) {
  if (text == "higher-is-better") return Direction::kHigherIsBetter;
  if (text == "higher-is-worse") return Direction::kHigherIsWorse;
  return InvalidArgument("must be 'higher-is-better' or 'higher-is-worse'");
}

Result<Aggregation> ParseAggregation(const std::string& text) {
  if (text == "sum") return Aggregation::kSum;
  if (text == "mean") return Aggregation::kMean;
  return InvalidArgument("must be 'sum' or 'mean'");
}

Result<FlagCondition> ParseCondition(const std::string& text) {
  if (text == "item_at_least") return FlagCondition::kItemAtLeast;
  if (text == "item_at_most") return FlagCondition::kItemAtMost;
  if (text == "total_below") return FlagCondition::kTotalBelow;
  if (text == "total_at_least") return FlagCondition::kTotalAtLeast;
  if (text == "any_item_below") return FlagCondition::kAnyItemBelow;
  if (text == "any_item_at_min") return FlagCondition::kAnyItemAtMin;
  return InvalidArgument(
      "must be one of item_at_least, item_at_most, total_below, total_at_least, any_item_below, "
      "any_item_at_min");
}

class DefinitionParser {
 public:
  DefinitionParser(const Json& root, Reporter& report) : root_(root), report_(report) {}

  Definition Parse() {
    if (!root_.is_object()) {
      report_.Add({}, "$", "a definition must be a JSON object");
      return definition_;
    }
    const Json* questionnaire = Member(root_, "questionnaire");
    if (questionnaire == nullptr || !questionnaire->is_object()) {
      report_.Add({}, "questionnaire", "required FHIR Questionnaire object is missing");
    } else {
      ParseQuestionnaire(*questionnaire);
    }
    const Json* scoring = Member(root_, "scoring");
    if (scoring == nullptr || !scoring->is_object()) {
      report_.Add({}, "scoring", "required scoring block is missing");
    } else {
      ParseScoring(*scoring);
    }
    if (report_.ok()) CheckConsistency();
    return std::move(definition_);
  }

 private:
  void ParseQuestionnaire(const Json& q) {
    const std::string path = "questionnaire";
    if (GetString(q, "resourceType", path, report_, true) != "Questionnaire" &&
        Member(q, "resourceType") != nullptr) {
      report_.Add({}, path + ".resourceType", "must be 'Questionnaire'");
    }
    definition_.id = GetString(q, "id", path, report_, true);
    if (!definition_.id.empty() && !IsInstrumentId(definition_.id)) {
      report_.Add({}, path + ".id",
                  "'" + definition_.id + "' must be lower-case letters, digits and '-' (1–64)");
    }
    definition_.version = GetString(q, "version", path, report_, true);
    definition_.title = GetString(q, "title", path, report_, true);
    definition_.language = GetString(q, "language", path, report_, true);
    definition_.description = GetString(q, "description", path, report_, false);
    definition_.loinc = ReadLoincCode(q, path, {});

    std::map<std::string, std::vector<Option>> value_sets;
    if (const Json* contained = Member(q, "contained"); contained != nullptr) {
      if (!contained->is_array()) {
        report_.Add({}, path + ".contained", "must be an array");
      } else {
        for (size_t i = 0; i < contained->size(); ++i) {
          const std::string vs_path = path + ".contained[" + std::to_string(i) + "]";
          const Json& resource = (*contained)[i];
          if (GetString(resource, "resourceType", vs_path, report_, true) != "ValueSet") continue;
          const std::string vs_id = GetString(resource, "id", vs_path, report_, true);
          if (value_sets.contains(vs_id)) {
            report_.Add({}, vs_path + ".id", "duplicate contained ValueSet id '" + vs_id + "'");
          }
          value_sets[vs_id] = ReadValueSet(resource, vs_path, report_, {});
        }
      }
    }

    const Json* items = Member(q, "item");
    if (items == nullptr || !items->is_array() || items->empty()) {
      report_.Add({}, path + ".item", "a questionnaire needs at least one item");
      return;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < items->size(); ++i) {
      const std::string item_path = path + ".item[" + std::to_string(i) + "]";
      const Json& entry = (*items)[i];
      Item item;
      item.id = GetString(entry, "linkId", item_path, report_, true);
      const std::string& name = item.id;
      if (!item.id.empty() && !seen.insert(item.id).second) {
        report_.Add(name, item_path + ".linkId", "duplicate item id '" + item.id + "'");
      }
      item.text = GetString(entry, "text", item_path, report_, false, name);
      item.code = ReadLoincCode(entry, item_path, name);
      item.required = GetBool(entry, "required", item_path, report_, true, name);
      const std::string type = GetString(entry, "type", item_path, report_, true, name);
      if (type == "choice") {
        item.type = ItemType::kChoice;
        if (const Json* vs = Member(entry, "answerValueSet"); vs != nullptr) {
          const std::string ref = vs->is_string() ? vs->get<std::string>() : std::string();
          if (!ref.starts_with('#') || !value_sets.contains(ref.substr(1))) {
            report_.Add(name, item_path + ".answerValueSet",
                        "must reference a contained ValueSet as '#id', got '" + ref + "'");
          } else {
            item.options = value_sets[ref.substr(1)];
          }
        } else if (const Json* options = Member(entry, "answerOption"); options != nullptr) {
          item.options = ReadAnswerOptions(*options, item_path + ".answerOption", report_, name);
        } else {
          report_.Add(name, item_path, "a choice item needs answerValueSet or answerOption");
        }
        std::sort(item.options.begin(), item.options.end(),
                  [](const Option& a, const Option& b) { return a.value < b.value; });
        for (size_t k = 1; k < item.options.size(); ++k) {
          if (item.options[k].value == item.options[k - 1].value) {
            report_.Add(name, item_path,
                        "two options score the same value " + FormatNumber(item.options[k].value));
          }
        }
        if (item.options.size() < 2) {
          report_.Add(name, item_path, "a choice item needs at least two options");
        } else {
          item.min = item.options.front().value;
          item.max = item.options.back().value;
          item.step = 0;  // choice answers must equal an option value
        }
      } else if (type == "integer" || type == "decimal") {
        item.type = type == "integer" ? ItemType::kInteger : ItemType::kDecimal;
        const auto min = ExtensionNumber(entry, kMinValueUrl);
        const auto max = ExtensionNumber(entry, kMaxValueUrl);
        const auto step = ExtensionNumber(entry, kSliderStepUrl);
        if (!min || !max) {
          report_.Add(name, item_path + ".extension",
                      "an integer or decimal item needs minValue and maxValue extensions");
        } else if (*min >= *max) {
          report_.Add(name, item_path + ".extension", "minValue must be below maxValue");
        } else {
          item.min = *min;
          item.max = *max;
        }
        item.step = step.value_or(item.type == ItemType::kInteger ? 1.0 : 0.0);
        if (item.step < 0 ||
            (item.type == ItemType::kInteger && item.step != std::floor(item.step))) {
          report_.Add(name, item_path + ".extension", "slider step must be a positive number");
        }
        item.min_label = ExtensionString(entry, kMinLabelUrl);
        item.max_label = ExtensionString(entry, kMaxLabelUrl);
      } else if (!type.empty()) {
        report_.Add(name, item_path + ".type",
                    "'" + type + "' is not scorable; use choice, integer or decimal");
      }
      definition_.items.push_back(std::move(item));
    }
  }

  // The LOINC code among element.code[] (Codings), or empty.
  std::string ReadLoincCode(const Json& element, const std::string& path, const std::string& item) {
    std::string loinc;
    const Json* codes = Member(element, "code");
    if (codes == nullptr) return loinc;
    if (!codes->is_array()) {
      report_.Add(item, path + ".code", "must be an array of Codings");
      return loinc;
    }
    for (size_t i = 0; i < codes->size(); ++i) {
      const std::string code_path = path + ".code[" + std::to_string(i) + "]";
      const std::string system = GetString((*codes)[i], "system", code_path, report_, true, item);
      const std::string code = GetString((*codes)[i], "code", code_path, report_, true, item);
      if (system == kLoincSystem) loinc = code;
    }
    return loinc;
  }

  void ParseScoring(const Json& s) {
    const std::string path = "scoring";
    definition_.kind = GetString(s, "kind", path, report_, true);
    definition_.perspective = GetString(s, "perspective", path, report_, true);
    definition_.wording = GetString(s, "wording", path, report_, true);
    if (!definition_.wording.empty() && definition_.wording != "own" &&
        definition_.wording != "site-supplied") {
      report_.Add({}, path + ".wording", "must be 'own' or 'site-supplied'");
    }
    definition_.status = GetString(s, "status", path, report_, true);
    definition_.licence = GetString(s, "licence", path, report_, true);
    definition_.citations = GetStringArray(s, "citations", path, report_);
    if (const std::string direction = GetString(s, "direction", path, report_, true);
        !direction.empty()) {
      const auto parsed = ParseDirection(direction);
      if (parsed.ok()) {
        definition_.direction = *parsed;
      } else {
        report_.Add({}, path + ".direction", parsed.status().message());
      }
    }
    if (const Json* total = Member(s, "total"); total == nullptr || !total->is_object()) {
      report_.Add({}, path + ".total", "required object {\"method\": \"sum\"|\"mean\"} is missing");
    } else {
      const auto method =
          ParseAggregation(GetString(*total, "method", path + ".total", report_, true));
      if (method.ok()) {
        definition_.total_method = *method;
      } else {
        report_.Add({}, path + ".total.method", method.status().message());
      }
    }
    if (const Json* missing = Member(s, "missing"); missing != nullptr) {
      const auto items = GetNumber(*missing, "min_answered_items", path + ".missing", report_,
                                   /*required=*/false);
      if (items) {
        if (*items < 1 || *items != std::floor(*items) || *items > 1000) {
          report_.Add({}, path + ".missing.min_answered_items", "must be a whole number ≥ 1");
        } else {
          definition_.missing.min_answered_items = static_cast<int>(*items);
        }
      }
      const auto fraction = GetNumber(*missing, "min_answered_fraction", path + ".missing", report_,
                                      /*required=*/!items);
      if (fraction && items) {
        report_.Add({}, path + ".missing",
                    "give min_answered_fraction or min_answered_items, not both");
      } else if (fraction) {
        if (*fraction <= 0 || *fraction > 1) {
          report_.Add({}, path + ".missing.min_answered_fraction", "must be in (0, 1]");
        } else {
          definition_.missing.min_answered_fraction = *fraction;
        }
      }
    }
    languages_ = GetStringArray(s, "languages", path, report_);
    for (size_t i = 0; i < languages_.size(); ++i) {
      if (!IsLanguageTag(languages_[i])) {
        report_.Add({}, path + ".languages[" + std::to_string(i) + "]",
                    "'" + languages_[i] + "' is not a language tag such as en or pt-BR");
      }
    }
    for (const std::string& id : GetStringArray(s, "reverse", path, report_)) {
      reverse_.push_back(id);
    }
    if (const Json* subscales = Member(s, "subscales"); subscales != nullptr) {
      if (!subscales->is_array()) {
        report_.Add({}, path + ".subscales", "must be an array");
      } else {
        for (size_t i = 0; i < subscales->size(); ++i) {
          const std::string sub_path = path + ".subscales[" + std::to_string(i) + "]";
          Subscale subscale;
          subscale.id = GetString((*subscales)[i], "id", sub_path, report_, true);
          const std::string method = GetString((*subscales)[i], "method", sub_path, report_, false);
          subscale.method = definition_.total_method;
          if (!method.empty()) {
            const auto parsed = ParseAggregation(method);
            if (parsed.ok()) {
              subscale.method = *parsed;
            } else {
              report_.Add({}, sub_path + ".method", parsed.status().message());
            }
          }
          subscale.item_ids = GetStringArray((*subscales)[i], "items", sub_path, report_);
          if (subscale.item_ids.empty()) {
            report_.Add({}, sub_path + ".items", "a subscale needs at least one item");
          }
          definition_.subscales.push_back(std::move(subscale));
        }
      }
    }
    if (const Json* bands = Member(s, "bands"); bands != nullptr) {
      if (!bands->is_array()) {
        report_.Add({}, path + ".bands", "must be an array");
      } else {
        for (size_t i = 0; i < bands->size(); ++i) {
          const std::string band_path = path + ".bands[" + std::to_string(i) + "]";
          Band band;
          band.label = GetString((*bands)[i], "label", band_path, report_, true);
          band.min = GetNumber((*bands)[i], "min", band_path, report_, true).value_or(0);
          band.max = GetNumber((*bands)[i], "max", band_path, report_, true).value_or(0);
          definition_.bands.push_back(std::move(band));
        }
      }
    }
    band_resolution_ = GetNumber(s, "band_resolution", path, report_, false);
    if (const Json* cutoff = Member(s, "cutoff"); cutoff != nullptr) {
      Cutoff c;
      c.value = GetNumber(*cutoff, "value", path + ".cutoff", report_, true).value_or(0);
      c.comparison = GetString(*cutoff, "comparison", path + ".cutoff", report_, true);
      if (c.comparison != "<" && c.comparison != "<=" && c.comparison != ">=" &&
          c.comparison != ">") {
        report_.Add({}, path + ".cutoff.comparison", "must be one of <, <=, >=, >");
      }
      c.meaning = GetString(*cutoff, "meaning", path + ".cutoff", report_, true);
      c.source = GetString(*cutoff, "source", path + ".cutoff", report_, true);
      definition_.cutoff = c;
    }
    if (const Json* rc = Member(s, "reliable_change"); rc != nullptr) {
      ReliableChange r;
      r.value = GetNumber(*rc, "value", path + ".reliable_change", report_, true).value_or(0);
      if (r.value <= 0) report_.Add({}, path + ".reliable_change.value", "must be positive");
      r.source = GetString(*rc, "source", path + ".reliable_change", report_, true);
      const std::string scope = GetString(*rc, "scope", path + ".reliable_change", report_, false);
      if (scope == "item") {
        r.per_item = true;
      } else if (!scope.empty() && scope != "total") {
        report_.Add({}, path + ".reliable_change.scope", "must be 'total' or 'item'");
      }
      definition_.reliable_change = r;
    }
    if (const Json* flags = Member(s, "flags"); flags != nullptr) {
      if (!flags->is_array()) {
        report_.Add({}, path + ".flags", "must be an array");
      } else {
        for (size_t i = 0; i < flags->size(); ++i) {
          const std::string flag_path = path + ".flags[" + std::to_string(i) + "]";
          const Json& entry = (*flags)[i];
          FlagRule rule;
          rule.id = GetString(entry, "id", flag_path, report_, true);
          const auto condition = ParseCondition(GetString(entry, "when", flag_path, report_, true));
          if (!condition.ok()) {
            report_.Add({}, flag_path + ".when", condition.status().message());
          } else {
            rule.condition = *condition;
          }
          rule.item_id = GetString(entry, "item", flag_path, report_, false);
          rule.item_ids = GetStringArray(entry, "items", flag_path, report_);
          const bool needs_value = rule.condition != FlagCondition::kAnyItemAtMin;
          rule.value = GetNumber(entry, "value", flag_path, report_, needs_value).value_or(0);
          rule.urgent = GetBool(entry, "urgent", flag_path, report_, false);
          rule.source = GetString(entry, "source", flag_path, report_, true);
          if ((rule.condition == FlagCondition::kItemAtLeast ||
               rule.condition == FlagCondition::kItemAtMost) &&
              rule.item_id.empty()) {
            report_.Add({}, flag_path + ".item", "this condition needs the item it looks at");
          }
          definition_.flags.push_back(std::move(rule));
        }
      }
    }
  }

  // Cross-checks between the questionnaire and the scoring block.
  void CheckConsistency() {
    if (!IsLanguageTag(definition_.language)) {
      report_.Add({}, "questionnaire.language",
                  "'" + definition_.language + "' is not a language tag such as en or pt-BR");
    }
    // The default language comes first; it is offered whenever the definition carries wording.
    definition_.languages = {definition_.language};
    std::set<std::string> languages = {definition_.language};
    for (size_t i = 0; i < languages_.size(); ++i) {
      if (!languages.insert(languages_[i]).second) {
        if (languages_[i] == definition_.language) continue;
        report_.Add({}, "scoring.languages[" + std::to_string(i) + "]",
                    "language '" + languages_[i] + "' listed twice");
        continue;
      }
      definition_.languages.push_back(languages_[i]);
    }
    if (definition_.wording == "own" && !definition_.HasWording()) {
      report_.Add({}, "scoring.wording",
                  "an own instrument must carry its wording in the default language");
    }
    for (size_t i = 0; i < reverse_.size(); ++i) {
      Item* item = FindMutableItem(reverse_[i]);
      if (item == nullptr) {
        report_.Add(reverse_[i], "scoring.reverse[" + std::to_string(i) + "]",
                    "unknown item '" + reverse_[i] + "'");
      } else {
        item->reverse = true;
      }
    }
    std::set<std::string> subscale_ids;
    for (size_t s = 0; s < definition_.subscales.size(); ++s) {
      const Subscale& subscale = definition_.subscales[s];
      const std::string sub_path = "scoring.subscales[" + std::to_string(s) + "]";
      if (!subscale_ids.insert(subscale.id).second) {
        report_.Add({}, sub_path + ".id", "duplicate subscale id '" + subscale.id + "'");
      }
      std::set<std::string> members;
      for (size_t k = 0; k < subscale.item_ids.size(); ++k) {
        const std::string& id = subscale.item_ids[k];
        const std::string field = sub_path + ".items[" + std::to_string(k) + "]";
        if (definition_.FindItem(id) == nullptr) {
          report_.Add(id, field, "unknown item '" + id + "' in subscale '" + subscale.id + "'");
        } else if (!members.insert(id).second) {
          report_.Add(id, field, "item listed twice in subscale '" + subscale.id + "'");
        }
      }
    }
    for (size_t f = 0; f < definition_.flags.size(); ++f) {
      const FlagRule& rule = definition_.flags[f];
      const std::string flag_path = "scoring.flags[" + std::to_string(f) + "]";
      if (!rule.item_id.empty()) {
        const Item* item = definition_.FindItem(rule.item_id);
        if (item == nullptr) {
          report_.Add(rule.item_id, flag_path + ".item", "unknown item '" + rule.item_id + "'");
        } else if (rule.value < item->min || rule.value > item->max) {
          report_.Add(rule.item_id, flag_path + ".value",
                      "threshold " + FormatNumber(rule.value) + " is outside the item's range " +
                          FormatNumber(item->min) + "–" + FormatNumber(item->max));
        }
      }
      for (size_t k = 0; k < rule.item_ids.size(); ++k) {
        if (definition_.FindItem(rule.item_ids[k]) == nullptr) {
          report_.Add(rule.item_ids[k], flag_path + ".items[" + std::to_string(k) + "]",
                      "unknown item '" + rule.item_ids[k] + "'");
        }
      }
    }
    CheckBands();
    if (definition_.cutoff && (definition_.cutoff->value < definition_.TotalMin() ||
                               definition_.cutoff->value > definition_.TotalMax())) {
      report_.Add({}, "scoring.cutoff.value",
                  "cutoff is outside the possible totals " + FormatNumber(definition_.TotalMin()) +
                      "–" + FormatNumber(definition_.TotalMax()));
    }
  }

  // Bands must cover the possible totals from lowest to highest without gap or overlap.
  void CheckBands() {
    const auto& bands = definition_.bands;
    if (bands.empty()) return;
    const double resolution = band_resolution_.value_or(1.0);
    if (resolution <= 0) {
      report_.Add({}, "scoring.band_resolution", "must be positive");
      return;
    }
    constexpr double kEps = 1e-9;
    for (size_t i = 0; i < bands.size(); ++i) {
      const std::string band_path = "scoring.bands[" + std::to_string(i) + "]";
      if (bands[i].min > bands[i].max) {
        report_.Add({}, band_path, "band '" + bands[i].label + "' has min above max");
      }
      if (i == 0) continue;
      const double expected = bands[i - 1].max + resolution;
      if (bands[i].min > expected + kEps) {
        report_.Add({}, band_path + ".min",
                    "gap between band '" + bands[i - 1].label + "' (max " +
                        FormatNumber(bands[i - 1].max) + ") and band '" + bands[i].label +
                        "' (min " + FormatNumber(bands[i].min) + ")");
      } else if (bands[i].min < expected - kEps) {
        report_.Add({}, band_path + ".min",
                    "band '" + bands[i].label + "' (min " + FormatNumber(bands[i].min) +
                        ") overlaps band '" + bands[i - 1].label + "' (max " +
                        FormatNumber(bands[i - 1].max) + ")");
      }
    }
    if (std::fabs(bands.front().min - definition_.TotalMin()) > kEps) {
      report_.Add(
          {}, "scoring.bands[0].min",
          "bands must start at the lowest possible total " + FormatNumber(definition_.TotalMin()));
    }
    if (std::fabs(bands.back().max - definition_.TotalMax()) > kEps) {
      report_.Add(
          {}, "scoring.bands[" + std::to_string(bands.size() - 1) + "].max",
          "bands must end at the highest possible total " + FormatNumber(definition_.TotalMax()));
    }
  }

  Item* FindMutableItem(const std::string& id) {
    for (Item& item : definition_.items) {
      if (item.id == id) return &item;
    }
    return nullptr;
  }

  static bool IsLanguageTag(const std::string& tag) { return instruments::IsLanguageTag(tag); }

  static bool IsInstrumentId(const std::string& id) {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
  }

  const Json& root_;
  Reporter& report_;
  Definition definition_;
  std::vector<std::string> reverse_;
  std::vector<std::string> languages_;
  std::optional<double> band_resolution_;
};

}  // namespace

Result<Definition> ParseDefinition(std::string_view json_text, const std::string& file,
                                   std::vector<Problem>* problems) {
  Reporter report(file);
  const Json root = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  Definition definition;
  if (root.is_discarded()) {
    report.Add({}, "$", "not valid JSON");
  } else {
    DefinitionParser parser(root, report);
    definition = parser.Parse();
  }
  if (!report.ok()) {
    if (problems != nullptr) {
      problems->insert(problems->end(), report.problems().begin(), report.problems().end());
    }
    return internal::ProblemsToStatus(report.problems());
  }
  definition.source_file = file;
  return definition;
}

namespace {

// The *.json files directly in `dir`, sorted. A folder that does not exist is empty unless
// `required`.
Result<std::vector<std::filesystem::path>> JsonFiles(const std::filesystem::path& dir,
                                                     bool required, const char* what) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  if (!required && !std::filesystem::exists(dir, error)) return files;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (error) {
    return InvalidArgument(std::string("cannot read ") + what + " folder '" + dir.string() +
                           "': " + error.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Reads a whole file, or records a problem and returns nullopt.
std::optional<std::string> ReadText(const std::filesystem::path& file,
                                    std::vector<Problem>& problems) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    problems.push_back({file.string(), {}, {}, "cannot read file"});
    return std::nullopt;
  }
  return text.str();
}

}  // namespace

Result<Catalog> Catalog::Load(const CatalogSources& sources, std::vector<Problem>* problems) {
  Catalog catalog;
  std::vector<Problem> all;
  std::map<std::string, std::string> id_to_file;
  for (size_t d = 0; d < sources.instrument_dirs.size(); ++d) {
    const auto& dir = sources.instrument_dirs[d];
    RAPPORT_ASSIGN_OR_RETURN(const auto files, JsonFiles(dir, d == 0, "instrument"));
    for (const auto& file : files) {
      const auto text = ReadText(file, all);
      if (!text) continue;
      auto definition = ParseDefinition(*text, file.string(), &all);
      if (!definition.ok()) continue;
      const std::string id = definition->id;
      if (const auto it = id_to_file.find(id); it != id_to_file.end()) {
        all.push_back({file.string(),
                       {},
                       "questionnaire.id",
                       "duplicate instrument id '" + id + "' (also in " + it->second + ")"});
        continue;
      }
      id_to_file[id] = file.string();
      (void)catalog.Add(std::move(definition).value());
    }
  }
  for (const auto& dir : sources.textpack_dirs) {
    RAPPORT_ASSIGN_OR_RETURN(const auto files, JsonFiles(dir, false, "text pack"));
    std::map<Key, std::string> seen_here;
    for (const auto& file : files) {
      const auto text = ReadText(file, all);
      if (!text) continue;
      auto pack = ParseTextPack(*text, file.string(), &all);
      if (!pack.ok()) continue;
      const Definition* definition = catalog.Find(pack->instrument_id);
      if (definition == nullptr) {
        all.push_back({file.string(),
                       {},
                       "textpack.instrument",
                       "no instrument '" + pack->instrument_id + "' is installed"});
        continue;
      }
      const Key key{pack->instrument_id, pack->language};
      if (const auto [it, inserted] = seen_here.emplace(key, file.string()); !inserted) {
        all.push_back({file.string(),
                       {},
                       "textpack.language",
                       "a second pack for " + key.first + " in '" + key.second + "' (also " +
                           it->second + ")"});
        continue;
      }
      std::vector<Problem> pack_problems = CheckTextPack(*pack, *definition);
      if (!pack_problems.empty()) {
        all.insert(all.end(), pack_problems.begin(), pack_problems.end());
        continue;
      }
      (void)catalog.AddTextPack(*pack);
    }
  }
  // Every language a definition declares must be worded (SCIENCE.md §1.7: never show a
  // respondent a form with missing text).
  for (const auto& [id, definition] : catalog.definitions_) {
    for (size_t i = 1; i < definition->languages.size(); ++i) {
      const std::string& language = definition->languages[i];
      if (catalog.FindWorded(id, language) == nullptr) {
        all.push_back({definition->source_file,
                       {},
                       "scoring.languages[" + std::to_string(i - 1) + "]",
                       "missing language '" + language + "': no complete text pack for " + id +
                           " in '" + language + "'"});
      }
    }
  }
  if (!all.empty()) {
    if (problems != nullptr) problems->insert(problems->end(), all.begin(), all.end());
    return internal::ProblemsToStatus(all);
  }
  if (catalog.size() == 0) {
    return InvalidArgument("no instrument definitions (*.json) in '" +
                           (sources.instrument_dirs.empty()
                                ? std::string("(none given)")
                                : sources.instrument_dirs.front().string()) +
                           "'");
  }
  return catalog;
}

Result<Catalog> Catalog::LoadDirectory(const std::filesystem::path& dir,
                                       std::vector<Problem>* problems) {
  return Load({.instrument_dirs = {dir}, .textpack_dirs = {}}, problems);
}

CatalogSources Catalog::SourcesFor(const std::filesystem::path& data_dir,
                                   const std::filesystem::path& site_dir) {
  CatalogSources sources{{data_dir / "instruments"}, {data_dir / "textpacks"}};
  if (!site_dir.empty()) {
    sources.instrument_dirs.push_back(site_dir / "instruments");
    sources.textpack_dirs.push_back(site_dir / "textpacks");
  }
  return sources;
}

Status Catalog::Add(Definition definition) {
  const std::string id = definition.id;
  if (definitions_.contains(id)) return InvalidArgument("duplicate instrument id '" + id + "'");
  auto shared = std::make_shared<const Definition>(std::move(definition));
  if (shared->HasWording()) worded_[{id, shared->language}] = shared;
  definitions_.emplace(id, std::move(shared));
  return Status::Ok();
}

Status Catalog::AddTextPack(const TextPack& pack) {
  const Definition* definition = Find(pack.instrument_id);
  if (definition == nullptr) {
    return InvalidArgument("no instrument '" + pack.instrument_id + "' is installed",
                           "textpack.instrument");
  }
  if (std::vector<Problem> problems = CheckTextPack(pack, *definition); !problems.empty()) {
    return internal::ProblemsToStatus(problems);
  }
  const Key key{pack.instrument_id, pack.language};
  worded_[key] = std::make_shared<const Definition>(ApplyTextPack(*definition, pack));
  packs_[key] = std::make_shared<const TextPack>(pack);
  return Status::Ok();
}

const Definition* Catalog::Find(std::string_view id) const {
  const auto it = definitions_.find(id);
  return it == definitions_.end() ? nullptr : it->second.get();
}

std::vector<const Definition*> Catalog::All() const {
  std::vector<const Definition*> out;
  out.reserve(definitions_.size());
  for (const auto& [id, definition] : definitions_) out.push_back(definition.get());
  return out;
}

const Definition* Catalog::FindWorded(std::string_view id, std::string_view language) const {
  const auto it = worded_.find(Key{std::string(id), std::string(language)});
  return it == worded_.end() ? nullptr : it->second.get();
}

const TextPack* Catalog::FindTextPack(std::string_view id, std::string_view language) const {
  const auto it = packs_.find(Key{std::string(id), std::string(language)});
  return it == packs_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Catalog::Languages(std::string_view id) const {
  std::vector<std::string> languages;
  const Definition* definition = Find(id);
  if (definition == nullptr) return languages;
  if (FindWorded(id, definition->language) != nullptr) languages.push_back(definition->language);
  for (auto it = worded_.lower_bound(Key{std::string(id), {}});
       it != worded_.end() && it->first.first == id; ++it) {
    if (it->first.second != definition->language) languages.push_back(it->first.second);
  }
  return languages;
}

Wording Catalog::Resolve(std::string_view id, std::string_view language) const {
  Wording wording{.definition = nullptr, .requested = std::string(language), .fell_back = false};
  if (const Definition* exact = FindWorded(id, language); exact != nullptr) {
    wording.definition = exact;
    return wording;
  }
  const std::vector<std::string> languages = Languages(id);
  if (languages.empty()) return wording;
  wording.definition = FindWorded(id, languages.front());
  wording.fell_back = true;
  return wording;
}

std::filesystem::path DefaultDataDir() {
  if (const char* dir = std::getenv("RAPPORT_DATA_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  // A checkout's own data first, then the source tree the binary was built from, then the
  // installed copy.
  for (const std::filesystem::path& candidate :
       {std::filesystem::path("data"), std::filesystem::path(RAPPORT_SOURCE_DATA_DIR),
        std::filesystem::path(RAPPORT_INSTALL_DATA_DIR)}) {
    std::error_code ignored;
    if (std::filesystem::is_directory(candidate / "instruments", ignored)) return candidate;
  }
  return "data";
}

std::filesystem::path DefaultInstrumentDir() { return DefaultDataDir() / "instruments"; }

}  // namespace rapport::instruments
