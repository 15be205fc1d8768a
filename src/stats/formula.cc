#include "stats/formula.h"

#include <cctype>

namespace rapport::stats {
namespace {

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

// Splits on `separator` outside parentheses.
std::vector<std::string> SplitTop(std::string_view text, char separator) {
  std::vector<std::string> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t index = 0; index < text.size(); ++index) {
    if (text[index] == '(') ++depth;
    if (text[index] == ')') --depth;
    if (depth == 0 && text[index] == separator) {
      parts.push_back(Trim(text.substr(start, index - start)));
      start = index + 1;
    }
  }
  parts.push_back(Trim(text.substr(start)));
  return parts;
}

bool IsName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  }
  return true;
}

Result<std::vector<std::string>> Product(const std::string& term, std::string_view formula) {
  std::vector<std::string> columns = SplitTop(term, ':');
  for (const std::string& column : columns) {
    if (!IsName(column)) {
      return InvalidArgument("formula '" + std::string(formula) + "': '" + term +
                                 "' is not a column name or a product a:b of column names "
                                 "(operators *, ^, I() and functions are not supported)",
                             "formula");
    }
  }
  return columns;
}

// The terms of one side of `+`, with 0/1/-1 handled: returns whether an intercept is kept.
Result<bool> Terms(std::string_view text, std::string_view formula,
                   std::vector<std::vector<std::string>>& out) {
  bool intercept = true;
  std::string expanded(text);
  // "- 1" removes the intercept; rewrite it as "+ 0".
  for (size_t at = expanded.find('-'); at != std::string::npos; at = expanded.find('-')) {
    const std::string rest = Trim(std::string_view(expanded).substr(at + 1));
    if (rest.empty() || rest[0] != '1') {
      return InvalidArgument("formula '" + std::string(formula) + "': only '- 1' may be subtracted",
                             "formula");
    }
    expanded = expanded.substr(0, at) + "+ 0" + rest.substr(1);
  }
  for (const std::string& term : SplitTop(expanded, '+')) {
    if (term.empty()) {
      return InvalidArgument("formula '" + std::string(formula) + "' has an empty term", "formula");
    }
    if (term == "1") continue;
    if (term == "0") {
      intercept = false;
      continue;
    }
    RAPPORT_ASSIGN_OR_RETURN(std::vector<std::string> columns, Product(term, formula));
    out.push_back(std::move(columns));
  }
  return intercept;
}

}  // namespace

Result<Formula> ParseFormula(std::string_view text) {
  const std::string formula = Trim(text);
  const size_t tilde = formula.find('~');
  if (tilde == std::string::npos) {
    return InvalidArgument(
        "formula '" + formula + "' has no '~' (e.g. y ~ session + (session | client))", "formula");
  }
  Formula result;
  result.response = Trim(std::string_view(formula).substr(0, tilde));
  if (!IsName(result.response)) {
    return InvalidArgument("formula '" + formula + "': the response must be a column name",
                           "formula");
  }
  const std::string right = Trim(std::string_view(formula).substr(tilde + 1));
  int depth = 0;
  for (const char c : right) {
    depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth != 0) {
    return InvalidArgument("formula '" + formula + "' has unbalanced parentheses", "formula");
  }
  std::string fixed_text;
  for (const std::string& term : SplitTop(right, '+')) {
    if (term.size() < 2 || term.front() != '(' || term.back() != ')') {
      fixed_text += (fixed_text.empty() ? "" : " + ") + term;
      continue;
    }
    const std::string inside = term.substr(1, term.size() - 2);
    const size_t bar = inside.find('|');
    if (bar == std::string::npos) {
      return InvalidArgument("formula '" + formula + "': '" + term + "' has no '|'", "formula");
    }
    const bool diagonal = bar + 1 < inside.size() && inside[bar + 1] == '|';
    FormulaRandomTerm random;
    random.diagonal = diagonal;
    std::vector<std::vector<std::string>> covariates;
    RAPPORT_ASSIGN_OR_RETURN(random.intercept, Terms(inside.substr(0, bar), formula, covariates));
    for (const auto& covariate : covariates) {
      if (covariate.size() != 1) {
        return InvalidArgument(
            "formula '" + formula + "': random-effects covariates must be columns", "formula");
      }
      random.covariates.push_back(covariate[0]);
    }
    if (!random.intercept && random.covariates.empty()) {
      return InvalidArgument("formula '" + formula + "': '" + term + "' has no effects", "formula");
    }
    const std::string factor = Trim(std::string_view(inside).substr(bar + (diagonal ? 2 : 1)));
    const std::vector<std::string> nested = SplitTop(factor, '/');
    if (nested.size() > 2) {
      return InvalidArgument("formula '" + formula + "': only one level of nesting a/b", "formula");
    }
    std::vector<std::string> prefix;
    for (const std::string& level : nested) {
      RAPPORT_ASSIGN_OR_RETURN(std::vector<std::string> columns, Product(level, formula));
      prefix.insert(prefix.end(), columns.begin(), columns.end());
      random.factor = prefix;
      result.random.push_back(random);
    }
  }
  if (result.random.empty()) {
    return InvalidArgument("formula '" + formula +
                               "' has no random-effects term such as (1 | client); for a model "
                               "without random effects use ordinary regression",
                           "formula");
  }
  if (result.random.size() > 2) {
    return InvalidArgument("formula '" + formula + "' has " + std::to_string(result.random.size()) +
                               " random-effects terms; at most two (clients nested in therapists) "
                               "are supported",
                           "formula");
  }
  if (fixed_text.empty()) fixed_text = "1";
  RAPPORT_ASSIGN_OR_RETURN(result.intercept, Terms(fixed_text, formula, result.fixed));
  return result;
}

}  // namespace rapport::stats
