#include "alliance/ruptures.h"

#include <cmath>

namespace rapport::alliance {
namespace {

double Mean(std::span<const double> values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

// Sample variance (n − 1 denominator). REQUIRES: values.size() ≥ 2.
double Variance(std::span<const double> values) {
  const double mean = Mean(values);
  double sum = 0;
  for (double v : values) sum += (v - mean) * (v - mean);
  return sum / static_cast<double>(values.size() - 1);
}

// The threshold that applies to a candidate at position j, or nullopt when none can be
// computed (intra-individual mode with too few previous ratings).
std::optional<double> ThresholdAt(std::span<const SeriesPoint> series, size_t j,
                                  const RuptureParams& params) {
  std::optional<double> intra;
  if (params.mode != ThresholdMode::kFixed &&
      j >= static_cast<size_t>(std::max(params.intra_min_previous, 2))) {
    // Stiles et al. (2004) / Strauss et al. (2006): k SDs of the client's own previous ratings.
    std::vector<double> previous;
    for (size_t i = 0; i < j; ++i) previous.push_back(series[i].score);
    intra = params.intra_k * std::sqrt(Variance(previous));
  }
  switch (params.mode) {
    case ThresholdMode::kFixed: return params.threshold;
    case ThresholdMode::kIntraIndividual: return intra;
    case ThresholdMode::kCombined:
      // Gumz et al. (2012): the stricter of the inter- and intra-individual thresholds.
      return intra ? std::max(params.threshold, *intra) : params.threshold;
  }
  return std::nullopt;
}

std::string LargestDimensionDrop(const SeriesPoint& before, const SeriesPoint& at) {
  std::string best;
  double best_drop = 0;
  const auto consider = [&](const char* name, const std::optional<double>& b,
                            const std::optional<double>& a) {
    if (!b || !a) return;
    const double drop = *b - *a;
    if (drop > best_drop) {
      best_drop = drop;
      best = name;
    }
  };
  consider("bond", before.bond, at.bond);
  consider("goals", before.goals, at.goals);
  consider("tasks", before.tasks, at.tasks);
  return best;
}

}  // namespace

std::string_view Name(ThresholdMode mode) {
  switch (mode) {
    case ThresholdMode::kFixed: return "fixed";
    case ThresholdMode::kIntraIndividual: return "intra";
    case ThresholdMode::kCombined: return "combined";
  }
  return "fixed";
}

Result<ThresholdMode> ParseThresholdMode(std::string_view text) {
  if (text == "fixed") return ThresholdMode::kFixed;
  if (text == "intra") return ThresholdMode::kIntraIndividual;
  if (text == "combined") return ThresholdMode::kCombined;
  return InvalidArgument(
      "threshold mode must be fixed, intra or combined, not '" + std::string(text) + "'", "mode");
}

std::string_view Name(RuptureStatus status) {
  switch (status) {
    case RuptureStatus::kRepaired: return "repaired";
    case RuptureStatus::kUnrepaired: return "unrepaired";
    case RuptureStatus::kOpen: return "open";
  }
  return "open";
}

Status ValidateRuptureParams(const RuptureParams& params) {
  if (params.mode != ThresholdMode::kIntraIndividual &&
      (!(params.threshold > 0) || !std::isfinite(params.threshold))) {
    return InvalidArgument("the rupture threshold must be a positive number of points",
                           "threshold");
  }
  if (!(params.intra_k > 0) || !std::isfinite(params.intra_k)) {
    return InvalidArgument("the intra-individual multiplier k must be positive", "intra_k");
  }
  if (params.intra_min_previous < 2) {
    return InvalidArgument("at least 2 previous ratings are needed for an SD",
                           "intra_min_previous");
  }
  if (params.window < 1) return InvalidArgument("the repair window must be ≥ 1", "window");
  if (params.baseline < 1) {
    return InvalidArgument("the baseline must be ≥ 1 previous rating", "baseline");
  }
  if (!(params.tolerance >= 0) || !std::isfinite(params.tolerance)) {
    return InvalidArgument("the repair tolerance must be ≥ 0", "tolerance");
  }
  return Status::Ok();
}

Result<std::vector<Rupture>> FindRuptures(std::span<const SeriesPoint> series,
                                          const RuptureParams& params) {
  RAPPORT_RETURN_IF_ERROR(ValidateRuptureParams(params));
  for (size_t i = 0; i < series.size(); ++i) {
    if (!std::isfinite(series[i].score)) {
      return InvalidArgument(
          "session " + std::to_string(series[i].session) + ": the score is not a finite number",
          "score");
    }
    if (i > 0 && series[i].session <= series[i - 1].session) {
      return InvalidArgument(
          "session " + std::to_string(series[i].session) + " is repeated or out of order",
          "session");
    }
  }
  // SCIENCE.md §5.2 (our specification after Stiles et al. 2004 and Gumz et al. 2012).
  std::vector<Rupture> out;
  const size_t n = series.size();
  const size_t window = static_cast<size_t>(params.window);
  size_t j = 1;
  while (j < n) {
    double level = 0;
    const size_t from =
        j >= static_cast<size_t>(params.baseline) ? j - static_cast<size_t>(params.baseline) : 0;
    for (size_t i = from; i < j; ++i) level += series[i].score;
    level /= static_cast<double>(j - from);
    const double drop = level - series[j].score;
    const std::optional<double> threshold = ThresholdAt(series, j, params);
    if (!threshold || drop <= 0 || drop < *threshold) {
      ++j;
      continue;
    }
    Rupture rupture;
    rupture.index = j;
    rupture.session = series[j].session;
    rupture.level = level;
    rupture.score = series[j].score;
    rupture.drop = drop;
    rupture.threshold = *threshold;
    rupture.dimension = LargestDimensionDrop(series[j - 1], series[j]);
    for (size_t k = j + 1; k <= j + window && k < n; ++k) {
      if (series[k].score >= level - params.tolerance) {
        rupture.repaired_index = k;
        break;
      }
    }
    if (rupture.repaired_index) {
      rupture.status = RuptureStatus::kRepaired;
      rupture.repaired_at = series[*rupture.repaired_index].session;
      rupture.v_shaped = *rupture.repaired_index == j + 1;
      rupture.close_index = *rupture.repaired_index;
    } else if (j + window <= n - 1) {
      rupture.status = RuptureStatus::kUnrepaired;
      rupture.close_index = j + window;
    } else {
      rupture.status = RuptureStatus::kOpen;
      rupture.close_index = n - 1;
    }
    out.push_back(rupture);
    if (rupture.status == RuptureStatus::kOpen) break;  // the window is still running
    // The next drop examined is x[close] → x[close + 1].
    j = rupture.close_index + 1;
  }
  return out;
}

std::optional<SuddenLossTest> TestSuddenLoss(std::span<const SeriesPoint> series, size_t j,
                                             double cutoff) {
  if (j == 0 || j >= series.size()) return std::nullopt;
  std::vector<double> pre;
  for (size_t i = (j >= 3 ? j - 3 : 0); i < j; ++i) pre.push_back(series[i].score);
  std::vector<double> post;
  for (size_t i = j; i < j + 3 && i < series.size(); ++i) post.push_back(series[i].score);
  if (pre.size() < 2 || post.size() < 2) return std::nullopt;
  SuddenLossTest test;
  test.index = j;
  test.session = series[j].session;
  test.drop = series[j - 1].score - series[j].score;
  test.crit1 = test.drop >= cutoff;
  test.crit2 = test.drop >= 0.25 * series[j - 1].score;
  test.mean_pre = Mean(pre);
  test.mean_post = Mean(post);
  const double n_pre = static_cast<double>(pre.size());
  const double n_post = static_cast<double>(post.size());
  // suddengains: pooled SD without the sqrt(1/n1 + 1/n2) factor (SCIENCE.md §5.2).
  test.s_pooled = std::sqrt(((n_pre - 1) * Variance(pre) + (n_post - 1) * Variance(post)) /
                            (n_pre + n_post - 2));
  const size_t total = pre.size() + post.size();
  test.t_crit = total == 6 ? 2.776 : total == 5 ? 3.182 : 4.303;
  test.crit3 = test.mean_pre - test.mean_post > test.t_crit * test.s_pooled;
  return test;
}

std::vector<SuddenLossTest> FindSuddenLosses(std::span<const SeriesPoint> series, double cutoff) {
  std::vector<SuddenLossTest> out;
  for (size_t j = 1; j < series.size(); ++j) {
    const auto test = TestSuddenLoss(series, j, cutoff);
    if (test && test->sudden_loss()) out.push_back(*test);
  }
  return out;
}

std::vector<size_t> FindCeilingDips(std::span<const SeriesPoint> series, double top) {
  std::vector<size_t> out;
  for (size_t j = 1; j < series.size(); ++j) {
    if (series[j - 1].score >= top && series[j].score < series[j - 1].score) out.push_back(j);
  }
  return out;
}

}  // namespace rapport::alliance
