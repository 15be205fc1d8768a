// Reliability coefficients, matching the R package psych 2.2.9 (SCIENCE.md §10.5, §11.8).
#pragma once

#include <Eigen/Dense>
#include <cstdint>

#include "base/status.h"

namespace rapport::stats {

// Cronbach's alpha as psych::alpha reports it.
struct Alpha {
  int items = 0;
  int64_t respondents = 0;  // rows with at least one answer
  double raw = 0;           // k/(k−1) (1 − Σ s²_i / s²_X) from pairwise covariances
  double standardized = 0;  // k r̄ / (1 + (k − 1) r̄)
  double average_r = 0;     // r̄: mean off-diagonal of cov2cor(pairwise covariance)
};

// `answers`: respondents × items, NaN for a missing answer. Covariances are pairwise-complete
// (psych::alpha's default use = "pairwise"), with n − 1 denominators.
// Errors: fewer than 2 items, or an item pair with fewer than 2 joint answers, or an item
// without variance → kInvalidArgument.
Result<Alpha> CronbachAlpha(const Eigen::MatrixXd& answers);

// The six intraclass correlations of Shrout & Fleiss (1979), from the two-way ANOVA of a
// complete targets × judges table (psych::ICC).
struct Icc {
  double icc1 = 0, icc2 = 0, icc3 = 0;     // single rater: one-way random; two-way random; mixed
  double icc1k = 0, icc2k = 0, icc3k = 0;  // mean of k raters
  int64_t targets = 0;
  int judges = 0;
};

// `ratings`: targets × judges, no missing values. Errors: fewer than 2 targets or judges,
// a non-finite rating → kInvalidArgument.
Result<Icc> IntraclassCorrelations(const Eigen::MatrixXd& ratings);

}  // namespace rapport::stats
