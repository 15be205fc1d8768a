// JSON reading shared by the definition, text pack and FHIR import parsers: typed accessors
// that record a Problem (file, item, field) instead of throwing. Internal to src/instruments.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "instruments/problem.h"

namespace rapport::instruments::internal {

using Json = nlohmann::json;

// Collects problems for one file while parsing it.
class Reporter {
 public:
  explicit Reporter(std::string file) : file_(std::move(file)) {}
  void Add(std::string item, std::string field, std::string message) {
    problems_.push_back({file_, std::move(item), std::move(field), std::move(message)});
  }
  const std::vector<Problem>& problems() const { return problems_; }
  bool ok() const { return problems_.empty(); }

 private:
  std::string file_;
  std::vector<Problem> problems_;
};

inline std::string FormatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Typed accessors that report instead of throwing.
inline const Json* Member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

inline std::string GetString(const Json& object, std::string_view key, const std::string& path,
                             Reporter& report, bool required, const std::string& item = {}) {
  const Json* value = Member(object, key);
  if (value == nullptr) {
    if (required) report.Add(item, path + "." + std::string(key), "required string is missing");
    return {};
  }
  if (!value->is_string()) {
    report.Add(item, path + "." + std::string(key), "must be a string");
    return {};
  }
  return value->get<std::string>();
}

inline std::optional<double> GetNumber(const Json& object, std::string_view key,
                                       const std::string& path, Reporter& report, bool required,
                                       const std::string& item = {}) {
  const Json* value = Member(object, key);
  if (value == nullptr) {
    if (required) report.Add(item, path + "." + std::string(key), "required number is missing");
    return std::nullopt;
  }
  if (!value->is_number()) {
    report.Add(item, path + "." + std::string(key), "must be a number");
    return std::nullopt;
  }
  const double number = value->get<double>();
  if (!std::isfinite(number)) {
    report.Add(item, path + "." + std::string(key), "must be finite");
    return std::nullopt;
  }
  return number;
}

inline bool GetBool(const Json& object, std::string_view key, const std::string& path,
                    Reporter& report, bool fallback, const std::string& item = {}) {
  const Json* value = Member(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    report.Add(item, path + "." + std::string(key), "must be true or false");
    return fallback;
  }
  return value->get<bool>();
}

inline std::vector<std::string> GetStringArray(const Json& object, std::string_view key,
                                               const std::string& path, Reporter& report,
                                               const std::string& item = {}) {
  std::vector<std::string> out;
  const Json* value = Member(object, key);
  if (value == nullptr) return out;
  if (!value->is_array()) {
    report.Add(item, path + "." + std::string(key), "must be an array of strings");
    return out;
  }
  for (size_t i = 0; i < value->size(); ++i) {
    const Json& element = (*value)[i];
    if (!element.is_string()) {
      report.Add(item, path + "." + std::string(key) + "[" + std::to_string(i) + "]",
                 "must be a string");
      continue;
    }
    out.push_back(element.get<std::string>());
  }
  return out;
}

// Reads a numeric valueX of an extension (valueInteger or valueDecimal).
inline std::optional<double> ExtensionNumber(const Json& element, std::string_view url) {
  const Json* extensions = Member(element, "extension");
  if (extensions == nullptr || !extensions->is_array()) return std::nullopt;
  for (const Json& extension : *extensions) {
    const Json* ext_url = Member(extension, "url");
    if (ext_url == nullptr || !ext_url->is_string() || *ext_url != url) continue;
    for (const char* key : {"valueInteger", "valueDecimal"}) {
      if (const Json* v = Member(extension, key); v != nullptr && v->is_number()) {
        return v->get<double>();
      }
    }
  }
  return std::nullopt;
}

inline std::string ExtensionString(const Json& element, std::string_view url) {
  const Json* extensions = Member(element, "extension");
  if (extensions == nullptr || !extensions->is_array()) return {};
  for (const Json& extension : *extensions) {
    const Json* ext_url = Member(extension, "url");
    if (ext_url == nullptr || !ext_url->is_string() || *ext_url != url) continue;
    if (const Json* v = Member(extension, "valueString"); v != nullptr && v->is_string()) {
      return v->get<std::string>();
    }
  }
  return {};
}

// All problems as one kInvalidArgument, one per line; the field is the first problem's.
inline Status ProblemsToStatus(const std::vector<Problem>& problems) {
  std::string message;
  for (const Problem& problem : problems) {
    if (!message.empty()) message += '\n';
    message += problem.ToString();
  }
  const std::string field = problems.empty() ? std::string() : problems.front().field;
  return InvalidArgument(std::move(message), field);
}

}  // namespace rapport::instruments::internal
