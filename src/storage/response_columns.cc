#include "storage/response_columns.h"

#include <nlohmann/json.hpp>

namespace rapport::storage {

using Json = nlohmann::json;

std::string AnswersText(const std::vector<domain::ItemAnswer>& answers) {
  Json out = Json::array();
  for (const domain::ItemAnswer& answer : answers) {
    out.push_back(
        Json::array({answer.item_id, answer.value ? Json(*answer.value) : Json(nullptr)}));
  }
  return out.dump();
}

Result<std::vector<domain::ItemAnswer>> ParseAnswersText(std::string_view text) {
  const Json parsed = Json::parse(text, nullptr, false);
  if (!parsed.is_array()) return Internal("stored answers are invalid");
  std::vector<domain::ItemAnswer> out;
  out.reserve(parsed.size());
  for (const Json& pair : parsed) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() ||
        !(pair[1].is_number() || pair[1].is_null())) {
      return Internal("stored answers are invalid");
    }
    out.push_back({pair[0].get<std::string>(),
                   pair[1].is_null() ? std::nullopt : std::optional(pair[1].get<double>())});
  }
  return out;
}

std::string SubscalesText(const domain::Score& score) {
  Json out = Json::object();
  for (const auto& [id, value] : score.subscales) out[id] = value ? Json(*value) : Json(nullptr);
  return out.dump();
}

std::string FlagsText(const domain::Score& score) { return Json(score.flags).dump(); }

Status ParseScoreTexts(std::string_view subscales, std::string_view flags, domain::Score& score) {
  const Json parsed_subscales = Json::parse(subscales, nullptr, false);
  const Json parsed_flags = Json::parse(flags, nullptr, false);
  if (!parsed_subscales.is_object() || !parsed_flags.is_array()) {
    return Internal("stored score is invalid");
  }
  for (const auto& [id, value] : parsed_subscales.items()) {
    score.subscales[id] =
        value.is_number() ? std::optional<double>(value.get<double>()) : std::nullopt;
  }
  for (const Json& flag : parsed_flags) {
    if (flag.is_string()) score.flags.push_back(flag.get<std::string>());
  }
  return Status::Ok();
}

}  // namespace rapport::storage
