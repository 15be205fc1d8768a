// The one generic scoring engine (DESIGN.md §4). The server, the CLI, the simulator and the
// tests all score through here; nothing is scored anywhere else.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "domain/types.h"
#include "instruments/definition.h"

namespace rapport::instruments {

// Checks answers against the definition: every answer names a known item at most once, every
// value lies in its item's range and on its step (or equals an option's value), and required
// items are answered. Errors: kInvalidArgument whose field is "item <id>" and whose message
// names the item and what is wrong.
Status ValidateAnswers(const Definition& definition, std::span<const domain::ItemAnswer> answers);

// Scores validated answers: reverse keys, the missing-data rule, subscales, total, band and
// flags. Validates first and returns its error when the answers are invalid.
Result<domain::Score> Score(const Definition& definition,
                            std::span<const domain::ItemAnswer> answers);

// Reads answers given as a JSON array of item values in item order (null = not answered).
// Errors name the position and item: wrong count, a value that is not a number.
Result<std::vector<domain::ItemAnswer>> AnswersFromArray(const Definition& definition,
                                                         const nlohmann::json& values);

// Canonical JSON of a score, as printed by `rapport score` and returned by the API:
// {"instrument", "version", "total", "subscales", "band", "flags"}; missing values are null.
nlohmann::json ScoreToJson(const domain::Score& score);

// The value as scored: reversed when the item is reverse keyed.
double KeyedValue(const Item& item, double value);

}  // namespace rapport::instruments
