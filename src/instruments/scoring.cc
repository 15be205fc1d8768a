#include "instruments/scoring.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace rapport::instruments {
namespace {

std::string FormatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

Status ItemError(const Item& item, const std::string& message) {
  return InvalidArgument("item " + item.id + ": " + message, "item " + item.id);
}

// Aggregates the keyed values of `item_ids` under the missing-data rule (SCIENCE.md §1.7).
std::optional<double> Aggregate(const std::vector<const Item*>& items,
                                const std::map<std::string, double>& keyed, Aggregation method,
                                const MissingRule& missing) {
  double sum = 0;
  size_t answered = 0;
  for (const Item* item : items) {
    const auto it = keyed.find(item->id);
    if (it == keyed.end()) continue;
    sum += it->second;
    ++answered;
  }
  if (items.empty() || answered == 0) return std::nullopt;
  if (missing.min_answered_items > 0) {
    if (answered < static_cast<size_t>(missing.min_answered_items)) return std::nullopt;
  } else {
    const double fraction = static_cast<double>(answered) / static_cast<double>(items.size());
    if (fraction + 1e-12 < missing.min_answered_fraction) return std::nullopt;
  }
  const double mean = sum / static_cast<double>(answered);
  if (method == Aggregation::kMean) return mean;
  // Prorated sum: mean of answered items × number of items (equals the sum when complete).
  return answered == items.size() ? sum : mean * static_cast<double>(items.size());
}

std::string BandFor(const std::vector<Band>& bands, double total) {
  for (size_t i = 0; i < bands.size(); ++i) {
    if (i + 1 == bands.size() || total < bands[i + 1].min) return bands[i].label;
  }
  return {};
}

bool FlagRaised(const FlagRule& rule, const Definition& definition,
                const std::map<std::string, double>& raw, std::optional<double> total) {
  switch (rule.condition) {
    case FlagCondition::kItemAtLeast: {
      const auto it = raw.find(rule.item_id);
      return it != raw.end() && it->second >= rule.value;
    }
    case FlagCondition::kItemAtMost: {
      const auto it = raw.find(rule.item_id);
      return it != raw.end() && it->second <= rule.value;
    }
    case FlagCondition::kTotalBelow: return total.has_value() && *total < rule.value;
    case FlagCondition::kTotalAtLeast: return total.has_value() && *total >= rule.value;
    case FlagCondition::kAnyItemBelow:
    case FlagCondition::kAnyItemAtMin:
      for (const Item& item : definition.items) {
        if (!rule.item_ids.empty() &&
            std::find(rule.item_ids.begin(), rule.item_ids.end(), item.id) == rule.item_ids.end()) {
          continue;
        }
        const auto it = raw.find(item.id);
        if (it == raw.end()) continue;
        if (rule.condition == FlagCondition::kAnyItemBelow) {
          if (it->second < rule.value) return true;
        } else {
          // The worst end of the item: lowest keyed value for higher-is-better instruments.
          const double keyed = KeyedValue(item, it->second);
          const double worst =
              definition.direction == Direction::kHigherIsBetter ? item.min : item.max;
          if (keyed == worst) return true;
        }
      }
      return false;
  }
  return false;
}

}  // namespace

double KeyedValue(const Item& item, double value) {
  return item.reverse ? item.min + item.max - value : value;
}

Status ValidateAnswers(const Definition& definition, std::span<const domain::ItemAnswer> answers) {
  std::map<std::string, const domain::ItemAnswer*> by_id;
  for (const domain::ItemAnswer& answer : answers) {
    const Item* item = definition.FindItem(answer.item_id);
    if (item == nullptr) {
      return InvalidArgument(
          "unknown item '" + answer.item_id + "' for instrument '" + definition.id + "'",
          "item " + answer.item_id);
    }
    if (!by_id.emplace(answer.item_id, &answer).second) {
      return ItemError(*item, "answered more than once");
    }
    if (!answer.value) continue;
    const double value = *answer.value;
    if (!std::isfinite(value)) return ItemError(*item, "value must be a finite number");
    if (value < item->min || value > item->max) {
      return ItemError(*item, "value " + FormatNumber(value) + " is out of range " +
                                  FormatNumber(item->min) + "–" + FormatNumber(item->max));
    }
    if (item->type == ItemType::kChoice) {
      const bool is_option =
          std::any_of(item->options.begin(), item->options.end(),
                      [&](const Option& option) { return option.value == value; });
      if (!is_option) {
        return ItemError(*item,
                         "value " + FormatNumber(value) + " is not one of the item's options");
      }
    } else if (item->step > 0) {
      const double k = (value - item->min) / item->step;
      if (std::fabs(k - std::round(k)) > 1e-9) {
        return ItemError(*item, "value " + FormatNumber(value) + " is not a multiple of the step " +
                                    FormatNumber(item->step));
      }
    }
  }
  // Required items must always be answered (e.g. a risk item); the missing-data rule applies
  // to the others.
  for (const Item& item : definition.items) {
    const auto it = by_id.find(item.id);
    if (item.required && (it == by_id.end() || !it->second->value)) {
      return ItemError(item, "is required and was not answered");
    }
  }
  return Status::Ok();
}

Result<domain::Score> Score(const Definition& definition,
                            std::span<const domain::ItemAnswer> answers) {
  RAPPORT_RETURN_IF_ERROR(ValidateAnswers(definition, answers));
  std::map<std::string, double> raw;
  std::map<std::string, double> keyed;
  for (const domain::ItemAnswer& answer : answers) {
    if (!answer.value) continue;
    const Item* item = definition.FindItem(answer.item_id);
    raw[item->id] = *answer.value;
    keyed[item->id] = KeyedValue(*item, *answer.value);
  }

  domain::Score score;
  score.instrument_id = definition.id;
  score.instrument_version = definition.version;
  std::vector<const Item*> all_items;
  for (const Item& item : definition.items) all_items.push_back(&item);
  score.total = Aggregate(all_items, keyed, definition.total_method, definition.missing);
  for (const Subscale& subscale : definition.subscales) {
    std::vector<const Item*> members;
    for (const std::string& id : subscale.item_ids) members.push_back(definition.FindItem(id));
    score.subscales[subscale.id] = Aggregate(members, keyed, subscale.method, definition.missing);
  }
  if (score.total && !definition.bands.empty())
    score.band = BandFor(definition.bands, *score.total);
  for (const FlagRule& rule : definition.flags) {
    if (FlagRaised(rule, definition, raw, score.total)) score.flags.push_back(rule.id);
  }
  return score;
}

Result<std::vector<domain::ItemAnswer>> AnswersFromArray(const Definition& definition,
                                                         const nlohmann::json& values) {
  if (!values.is_array()) {
    return InvalidArgument("answers must be a JSON array of item values in item order", "answers");
  }
  if (values.size() != definition.items.size()) {
    return InvalidArgument("instrument '" + definition.id + "' has " +
                               std::to_string(definition.items.size()) + " items but " +
                               std::to_string(values.size()) + " answers were given",
                           "answers");
  }
  std::vector<domain::ItemAnswer> answers;
  answers.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const Item& item = definition.items[i];
    const nlohmann::json& value = values[i];
    if (value.is_null()) {
      answers.push_back({item.id, std::nullopt});
    } else if (value.is_number()) {
      answers.push_back({item.id, value.get<double>()});
    } else {
      return ItemError(item, "answer " + value.dump() + " is not a number");
    }
  }
  return answers;
}

nlohmann::json ScoreToJson(const domain::Score& score) {
  nlohmann::json out;
  out["instrument"] = score.instrument_id;
  out["version"] = score.instrument_version;
  out["total"] = score.total ? nlohmann::json(*score.total) : nlohmann::json(nullptr);
  nlohmann::json subscales = nlohmann::json::object();
  for (const auto& [id, value] : score.subscales) {
    subscales[id] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  }
  out["subscales"] = std::move(subscales);
  out["band"] = score.band.empty() ? nlohmann::json(nullptr) : nlohmann::json(score.band);
  out["flags"] = score.flags;
  return out;
}

}  // namespace rapport::instruments
