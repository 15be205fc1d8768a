#include "storage/response_columns.h"

#include <charconv>
#include <optional>
#include <system_error>

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

namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The answers as AnswersText, SQLite's json_group_array and PostgreSQL's json_agg write them,
// read without building a JSON document (a response is read back whenever its episode's
// signals are evaluated from the database); nullopt for anything else, such as an item id with
// an escape, which the JSON library then reads.
std::optional<std::vector<domain::ItemAnswer>> ParsePlainAnswers(std::string_view text) {
  size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && IsJsonSpace(text[at])) ++at;
  };
  const auto take = [&](char c) {
    skip_space();
    if (at == text.size() || text[at] != c) return false;
    ++at;
    return true;
  };
  std::vector<domain::ItemAnswer> out;
  if (!take('[')) return std::nullopt;
  if (!take(']')) {
    do {
      if (!take('[') || !take('"')) return std::nullopt;
      const size_t quote = text.find('"', at);
      if (quote == std::string_view::npos) return std::nullopt;
      const std::string_view item_id = text.substr(at, quote - at);
      if (item_id.find('\\') != std::string_view::npos) return std::nullopt;
      at = quote + 1;
      if (!take(',')) return std::nullopt;
      skip_space();
      std::optional<double> value;
      if (text.substr(at).starts_with("null")) {
        at += 4;
      } else {
        // A JSON number: from_chars would also take "inf" and "nan", which JSON has not.
        const size_t end = text.find_first_not_of("0123456789+-.eE", at);
        const char* last = text.data() + (end == std::string_view::npos ? text.size() : end);
        double number = 0;
        const auto [parsed_to, error] = std::from_chars(text.data() + at, last, number);
        if (error != std::errc() || parsed_to != last || parsed_to == text.data() + at) {
          return std::nullopt;
        }
        at = static_cast<size_t>(last - text.data());
        value = number;
      }
      if (!take(']')) return std::nullopt;
      out.push_back({std::string(item_id), value});
    } while (take(','));
    if (!take(']')) return std::nullopt;
  }
  skip_space();
  if (at != text.size()) return std::nullopt;
  return out;
}

}  // namespace

Result<std::vector<domain::ItemAnswer>> ParseAnswersText(std::string_view text) {
  if (auto plain = ParsePlainAnswers(text)) return std::move(*plain);
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
  if (subscales == "{}" && flags == "[]") return Status::Ok();  // most instruments' scores
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
