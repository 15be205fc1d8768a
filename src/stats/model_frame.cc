#include "stats/model_frame.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

namespace rapport::stats {
namespace {

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : std::string(separator)) + part;
  return out;
}

std::optional<double> AsNumber(const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Levels of a grouping factor from its labels, sorted as R sorts factor levels.
void AssignLevels(const std::vector<std::string>& labels, RandomEffectsTerm& term) {
  std::vector<std::string> unique = labels;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  const bool numeric = std::all_of(unique.begin(), unique.end(), [](const std::string& label) {
    return AsNumber(label).has_value();
  });
  if (numeric) {
    std::stable_sort(unique.begin(), unique.end(), [](const std::string& a, const std::string& b) {
      return *AsNumber(a) < *AsNumber(b);
    });
  }
  std::map<std::string, int32_t> index;
  for (size_t level = 0; level < unique.size(); ++level) {
    index[unique[level]] = static_cast<int32_t>(level);
  }
  term.level_names = unique;
  term.level.clear();
  term.level.reserve(labels.size());
  for (const std::string& label : labels) term.level.push_back(index[label]);
}

}  // namespace

Result<ModelFrame> BuildModelFrame(const CsvTable& table, const Formula& formula) {
  if (formula.random.size() == 2 && formula.random[0].factor == formula.random[1].factor) {
    return InvalidArgument("two random-effects terms on '" + Join(formula.random[0].factor, ":") +
                               "': write one term, (x | g) or (x || g)",
                           "formula");
  }
  // Every column used, and which rows have all of them.
  std::map<std::string, size_t> columns;
  const auto need = [&](const std::string& name) -> Status {
    if (columns.count(name) != 0) return Status::Ok();
    RAPPORT_ASSIGN_OR_RETURN(const size_t column, table.RequireColumn(name));
    columns[name] = column;
    return Status::Ok();
  };
  RAPPORT_RETURN_IF_ERROR(need(formula.response));
  for (const auto& term : formula.fixed) {
    for (const auto& name : term) RAPPORT_RETURN_IF_ERROR(need(name));
  }
  for (const auto& random : formula.random) {
    for (const auto& name : random.covariates) RAPPORT_RETURN_IF_ERROR(need(name));
    for (const auto& name : random.factor) RAPPORT_RETURN_IF_ERROR(need(name));
  }
  std::vector<size_t> rows;
  ModelFrame frame;
  for (size_t row = 0; row < table.row_count(); ++row) {
    bool complete = true;
    for (const auto& [name, column] : columns) complete = complete && !table.IsMissing(row, column);
    if (complete) {
      rows.push_back(row);
    } else {
      ++frame.rows_dropped;
    }
  }
  if (rows.empty())
    return InvalidArgument(table.source() + ": no row has every column the formula uses");
  frame.rows_used = static_cast<int64_t>(rows.size());
  const auto n = static_cast<Eigen::Index>(rows.size());

  const auto numeric = [&](const std::string& name, Eigen::VectorXd& out) -> Status {
    out.resize(n);
    const size_t column = columns[name];
    for (Eigen::Index index = 0; index < n; ++index) {
      RAPPORT_ASSIGN_OR_RETURN(out[index], table.Number(rows[static_cast<size_t>(index)], column));
    }
    return Status::Ok();
  };
  const auto product = [&](const std::vector<std::string>& names, Eigen::VectorXd& out) -> Status {
    out = Eigen::VectorXd::Ones(n);
    Eigen::VectorXd factor;
    for (const std::string& name : names) {
      RAPPORT_RETURN_IF_ERROR(numeric(name, factor));
      out = out.cwiseProduct(factor);
    }
    return Status::Ok();
  };

  MixedModelData& data = frame.data;
  RAPPORT_RETURN_IF_ERROR(numeric(formula.response, data.y));
  const auto p = static_cast<Eigen::Index>(formula.fixed.size() + (formula.intercept ? 1 : 0));
  data.x.resize(n, p);
  Eigen::Index col = 0;
  if (formula.intercept) {
    data.x.col(col++).setOnes();
    data.fixed_names.push_back("(Intercept)");
  }
  Eigen::VectorXd values;
  for (const auto& term : formula.fixed) {
    RAPPORT_RETURN_IF_ERROR(product(term, values));
    data.x.col(col++) = values;
    data.fixed_names.push_back(Join(term, ":"));
  }

  std::vector<RandomEffectsTerm> terms;
  for (const auto& random : formula.random) {
    RandomEffectsTerm term;
    term.factor = Join(random.factor, ":");
    term.covariance =
        random.diagonal ? CovarianceStructure::kDiagonal : CovarianceStructure::kUnstructured;
    const auto k = static_cast<Eigen::Index>(random.covariates.size() + (random.intercept ? 1 : 0));
    term.design.resize(n, k);
    Eigen::Index term_col = 0;
    if (random.intercept) {
      term.design.col(term_col++).setOnes();
      term.names.push_back("(Intercept)");
    }
    for (const auto& covariate : random.covariates) {
      RAPPORT_RETURN_IF_ERROR(numeric(covariate, values));
      term.design.col(term_col++) = values;
      term.names.push_back(covariate);
    }
    std::vector<std::string> labels;
    labels.reserve(rows.size());
    for (const size_t row : rows) {
      std::string label;
      for (size_t part = 0; part < random.factor.size(); ++part) {
        RAPPORT_ASSIGN_OR_RETURN(const std::string text,
                                 table.Text(row, columns[random.factor[part]]));
        label += (part == 0 ? "" : ":") + text;
      }
      labels.push_back(std::move(label));
    }
    AssignLevels(labels, term);
    terms.push_back(std::move(term));
  }
  // lme4 orders terms by decreasing number of levels (SCIENCE.md §10.1): the finer factor first.
  if (terms.size() == 2 && terms[1].level_names.size() > terms[0].level_names.size()) {
    std::swap(terms[0], terms[1]);
  }
  data.inner = std::move(terms[0]);
  if (terms.size() == 2) data.outer = std::move(terms[1]);
  return frame;
}

}  // namespace rapport::stats
