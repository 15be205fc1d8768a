// How a response's answers and score are kept in its own row, by both backends (migration 9):
// the text of the `answers`, `subscales` and `flags` columns of the responses table. One row
// per response, not one per answer and one per score, because every stored check-in adds its
// responses: in SQLite they then share the pages at the end of the table instead of changing
// a page at a random place per answer key (docs/benchmarks.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "domain/types.h"

namespace rapport::storage {

// The answers in item order, as a JSON array of [item id, value or null] pairs:
// [["1",2.0],["2",null]].
std::string AnswersText(const std::vector<domain::ItemAnswer>& answers);
// The inverse of AnswersText. Errors: kInternal when `text` is not such an array.
Result<std::vector<domain::ItemAnswer>> ParseAnswersText(std::string_view text);

// A score's subscales as a JSON object of numbers or nulls, and its flags as a JSON array of
// strings.
std::string SubscalesText(const domain::Score& score);
std::string FlagsText(const domain::Score& score);
// Sets `score`'s subscales and flags from those texts. Errors: kInternal when either is not
// what SubscalesText or FlagsText writes.
Status ParseScoreTexts(std::string_view subscales, std::string_view flags, domain::Score& score);

}  // namespace rapport::storage
