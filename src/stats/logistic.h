// Logistic regression by iteratively reweighted least squares (as R's glm(family = binomial)),
// its discrimination and calibration (AUC, Brier score, calibration table) on held-out data by
// k-fold cross-validation, and the dropout model built on it (SCIENCE.md §6.1; DESIGN.md §5:
// "early dropout risk ... logistic model fitted on the organisation's own history when large
// enough, otherwise published defaults").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "base/status.h"

namespace rapport::stats {

struct LogisticFit {
  Eigen::VectorXd beta;  // intercept first, then one per column of x
  Eigen::VectorXd se;    // from the inverse Fisher information at β̂
  double deviance = 0;
  double null_deviance = 0;
  int iterations = 0;
};

// Fits P(y = 1) = 1 / (1 + exp(−(β0 + x β))). `y` holds 0 and 1. Converges when the deviance
// changes by less than 1e-10 relative (glm uses 1e-8) and a further Newton step no longer moves
// the linear predictor. `names` (one per column of x, optional) name features in errors.
// Errors (kInvalidArgument): sizes that disagree, values other than 0/1, a non-finite x, fewer
// rows than parameters, a constant or collinear column, only one outcome, complete or
// quasi-complete separation (the maximum likelihood estimate does not exist; the message names
// the separating features and the status's field the first of them — where glm would report
// convergence with huge standard errors), no convergence.
Result<LogisticFit> FitLogistic(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                std::span<const std::string> names = {});

// Area under the ROC curve: the Mann–Whitney probability that a random positive scores above a
// random negative, ties counting one half (Hanley & McNeil 1982). NaN without both outcomes.
double AreaUnderCurve(const Eigen::VectorXd& predicted, const Eigen::VectorXd& y);
// Mean squared difference between predicted probability and outcome (Brier 1950).
double BrierScore(const Eigen::VectorXd& predicted, const Eigen::VectorXd& y);

struct CalibrationBin {
  int64_t n = 0;
  double mean_predicted = 0;
  double observed = 0;  // share of positives
};
// Rows sorted by prediction and cut into `bins` groups of (nearly) equal size, as the groups of
// the Hosmer–Lemeshow test; fewer bins when there are fewer rows.
std::vector<CalibrationBin> CalibrationTable(const Eigen::VectorXd& predicted,
                                             const Eigen::VectorXd& y, int bins = 10);

// A fitted dropout model: standardised features (means and SDs of the training data; a missing
// feature counts as the training mean), coefficients, and how well it did on held-out data.
struct DropoutModel {
  std::vector<std::string> features;
  Eigen::VectorXd mean;
  Eigen::VectorXd sd;
  LogisticFit fit;  // on the standardised features
  int64_t cases = 0;
  int64_t dropouts = 0;
  int folds = 0;
  double auc = 0;                           // out of fold
  double brier = 0;                         // out of fold
  std::vector<CalibrationBin> calibration;  // out of fold
  std::string fitted_at;  // RFC 3339, set by whoever fits it on stored history; may be empty

  struct Contribution {
    std::string feature;
    double value = 0;     // as given (NaN: missing)
    double log_odds = 0;  // β_k × z_k: what it adds to the log-odds
  };
  struct Prediction {
    double probability = 0;
    std::vector<Contribution> contributions;  // largest increase in risk first
  };
  // `values` in the order of `features`; NaN for a missing value. REQUIRES: same size.
  Prediction Predict(const std::vector<double>& values) const;

  nlohmann::json ToJson() const;
  // Errors (kInvalidArgument) name the field that is missing or malformed.
  static Result<DropoutModel> FromJson(const nlohmann::json& json);
};

// Fits the model on one row per ended episode (`x`: features, NaN for missing; `dropped_out`:
// 1 when the client ended unilaterally) and evaluates it by stratified `folds`-fold
// cross-validation (rows dealt to folds in order within each outcome; deterministic), the
// held-out predictions cut into `bins` calibration groups. A feature that does not vary within
// a fold's training part is left out of that fold's model (it can learn nothing from it).
// Errors: those of FitLogistic (with the fold's number when a fold fails); a feature with fewer
// than 2 known values or that does not vary; fewer than `folds` dropouts or completers;
// folds < 2; bins < 1.
Result<DropoutModel> FitDropoutModel(const std::vector<std::string>& features,
                                     const Eigen::MatrixXd& x, const Eigen::VectorXd& dropped_out,
                                     int folds = 5, int bins = 10);

}  // namespace rapport::stats
