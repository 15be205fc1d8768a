#include "stats/reliability.h"

#include <cmath>
#include <string>

namespace rapport::stats {

Result<Alpha> CronbachAlpha(const Eigen::MatrixXd& answers) {
  const Eigen::Index k = answers.cols();
  if (k < 2) return InvalidArgument("alpha needs at least 2 items");
  // Pairwise-complete covariances (R cov(use = "pairwise")): each pair uses the rows where
  // both are answered, with that subset's means.
  Eigen::MatrixXd covariance(k, k);
  for (Eigen::Index a = 0; a < k; ++a) {
    for (Eigen::Index b = a; b < k; ++b) {
      double sum_a = 0, sum_b = 0;
      int64_t count = 0;
      for (Eigen::Index row = 0; row < answers.rows(); ++row) {
        if (std::isnan(answers(row, a)) || std::isnan(answers(row, b))) continue;
        sum_a += answers(row, a);
        sum_b += answers(row, b);
        ++count;
      }
      if (count < 2) {
        return InvalidArgument("items " + std::to_string(a + 1) + " and " + std::to_string(b + 1) +
                               " have fewer than 2 respondents in common");
      }
      const double mean_a = sum_a / static_cast<double>(count);
      const double mean_b = sum_b / static_cast<double>(count);
      double cross = 0;
      for (Eigen::Index row = 0; row < answers.rows(); ++row) {
        if (std::isnan(answers(row, a)) || std::isnan(answers(row, b))) continue;
        cross += (answers(row, a) - mean_a) * (answers(row, b) - mean_b);
      }
      covariance(a, b) = covariance(b, a) = cross / static_cast<double>(count - 1);
    }
  }
  for (Eigen::Index item = 0; item < k; ++item) {
    if (!(covariance(item, item) > 0)) {
      return InvalidArgument("item " + std::to_string(item + 1) + " has no variance");
    }
  }
  Alpha alpha;
  alpha.items = static_cast<int>(k);
  for (Eigen::Index row = 0; row < answers.rows(); ++row) {
    if (!answers.row(row).array().isNaN().all()) ++alpha.respondents;
  }
  const double kd = static_cast<double>(k);
  // SCIENCE.md §10.5: α = k/(k − 1) (1 − Σ s²_i / s²_X), s²_X = 1ᵀ C 1.
  alpha.raw = kd / (kd - 1) * (1 - covariance.trace() / covariance.sum());
  const Eigen::VectorXd inverse_sd = covariance.diagonal().cwiseSqrt().cwiseInverse();
  const Eigen::MatrixXd correlation =
      inverse_sd.asDiagonal() * covariance * inverse_sd.asDiagonal();
  alpha.average_r = (correlation.sum() - kd) / (kd * (kd - 1));
  alpha.standardized = kd * alpha.average_r / (1 + (kd - 1) * alpha.average_r);
  return alpha;
}

Result<Icc> IntraclassCorrelations(const Eigen::MatrixXd& ratings) {
  const Eigen::Index n = ratings.rows();
  const Eigen::Index k = ratings.cols();
  if (n < 2 || k < 2) return InvalidArgument("ICC needs at least 2 targets and 2 judges");
  if (!ratings.allFinite()) return InvalidArgument("ICC needs a complete table of ratings");
  // Two-way ANOVA mean squares (Shrout & Fleiss 1979, Table 1).
  const double grand = ratings.mean();
  const double nd = static_cast<double>(n);
  const double kd = static_cast<double>(k);
  const double ss_total = (ratings.array() - grand).square().sum();
  const double ss_rows = kd * (ratings.rowwise().mean().array() - grand).square().sum();
  const double ss_cols = nd * (ratings.colwise().mean().array() - grand).square().sum();
  const double ss_error = ss_total - ss_rows - ss_cols;
  const double bms = ss_rows / (nd - 1);                      // between targets
  const double wms = (ss_cols + ss_error) / (nd * (kd - 1));  // within targets
  const double jms = ss_cols / (kd - 1);                      // between judges
  const double ems = ss_error / ((nd - 1) * (kd - 1));        // residual
  Icc icc;
  icc.targets = n;
  icc.judges = static_cast<int>(k);
  icc.icc1 = (bms - wms) / (bms + (kd - 1) * wms);
  icc.icc2 = (bms - ems) / (bms + (kd - 1) * ems + kd * (jms - ems) / nd);
  icc.icc3 = (bms - ems) / (bms + (kd - 1) * ems);
  icc.icc1k = (bms - wms) / bms;
  icc.icc2k = (bms - ems) / (bms + (jms - ems) / nd);
  icc.icc3k = (bms - ems) / bms;
  return icc;
}

}  // namespace rapport::stats
