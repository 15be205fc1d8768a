#include "stats/logistic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>

namespace rapport::stats {
namespace {

using Json = nlohmann::json;

double Logistic(double eta) { return 1 / (1 + std::exp(-eta)); }

double Deviance(const Eigen::VectorXd& mu, const Eigen::VectorXd& y) {
  double sum = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    sum += y[i] > 0.5 ? std::log(mu[i]) : std::log1p(-mu[i]);
  }
  return -2 * sum;
}

// Standardises the columns of x with the given means and SDs; missing (NaN) becomes 0.
Eigen::MatrixXd Standardise(const Eigen::MatrixXd& x, const Eigen::VectorXd& mean,
                            const Eigen::VectorXd& sd) {
  Eigen::MatrixXd z(x.rows(), x.cols());
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      z(r, c) = std::isnan(x(r, c)) ? 0.0 : (x(r, c) - mean[c]) / sd[c];
    }
  }
  return z;
}

struct ColumnMoments {
  double known = 0;  // non-missing values
  double mean = 0;
  double sd = 0;  // n − 1 denominator
};

ColumnMoments MomentsOf(const Eigen::MatrixXd& x, Eigen::Index column,
                        const std::vector<Eigen::Index>& rows) {
  ColumnMoments out;
  double sum = 0;
  for (const Eigen::Index r : rows) {
    if (!std::isnan(x(r, column))) {
      sum += x(r, column);
      ++out.known;
    }
  }
  if (out.known < 2) return out;
  out.mean = sum / out.known;
  double squares = 0;
  for (const Eigen::Index r : rows) {
    if (!std::isnan(x(r, column))) squares += (x(r, column) - out.mean) * (x(r, column) - out.mean);
  }
  out.sd = std::sqrt(squares / (out.known - 1));
  return out;
}

// Means and SDs (n − 1) of each column over its non-missing values.
Status Moments(const std::vector<std::string>& names, const Eigen::MatrixXd& x,
               const std::vector<Eigen::Index>& rows, Eigen::VectorXd& mean, Eigen::VectorXd& sd) {
  mean.resize(x.cols());
  sd.resize(x.cols());
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    const ColumnMoments moments = MomentsOf(x, c, rows);
    if (moments.known < 2) {
      return InvalidArgument(
          "feature '" + names[static_cast<size_t>(c)] + "' has fewer than 2 known values",
          names[static_cast<size_t>(c)]);
    }
    if (!(moments.sd > 0)) {
      return InvalidArgument("feature '" + names[static_cast<size_t>(c)] +
                                 "' does not vary: it cannot predict dropout",
                             names[static_cast<size_t>(c)]);
    }
    mean[c] = moments.mean;
    sd[c] = moments.sd;
  }
  return Status::Ok();
}

Eigen::MatrixXd Rows(const Eigen::MatrixXd& x, const std::vector<Eigen::Index>& rows) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(rows.size()), x.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = x.row(rows[i]);
  return out;
}

Eigen::VectorXd Rows(const Eigen::VectorXd& y, const std::vector<Eigen::Index>& rows) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) out[static_cast<Eigen::Index>(i)] = y[rows[i]];
  return out;
}

// The error for (quasi-)complete separation, naming the features along which the estimates
// diverge: those whose share of `step` (per SD of the feature) is at least a quarter of the
// largest.
Status Separated(const Eigen::MatrixXd& design, const Eigen::VectorXd& step,
                 std::span<const std::string> names) {
  std::vector<double> pull(static_cast<size_t>(design.cols() - 1));
  double largest = 0;
  for (Eigen::Index c = 1; c < design.cols(); ++c) {
    const Eigen::ArrayXd centred = design.col(c).array() - design.col(c).mean();
    pull[static_cast<size_t>(c - 1)] = std::abs(step[c]) * std::sqrt(centred.square().mean());
    largest = std::max(largest, pull[static_cast<size_t>(c - 1)]);
  }
  std::string which;
  std::string first;
  for (size_t k = 0; k < pull.size(); ++k) {
    if (!(pull[k] >= 0.25 * largest) || largest == 0) continue;
    std::string name = k < names.size() ? names[k] : std::string("column ");
    if (k >= names.size()) name.append(std::to_string(k + 1));
    which.append(which.empty() ? " by '" : ", '").append(name).append("'");
    if (first.empty()) first = std::move(name);
  }
  std::string message = "the outcome is (quasi-)completely separated";
  message.append(which).append(
      ": some fitted probabilities reach 0 or 1 and the coefficients have no finite estimate");
  return InvalidArgument(std::move(message), std::move(first));
}

}  // namespace

Result<LogisticFit> FitLogistic(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                std::span<const std::string> names) {
  const Eigen::Index n = y.size();
  const Eigen::Index p = x.cols() + 1;
  if (x.rows() != n) return InvalidArgument("the features and the outcome differ in rows");
  if (!x.allFinite()) return InvalidArgument("a feature value is not a finite number");
  double positives = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (y[i] != 0 && y[i] != 1) return InvalidArgument("the outcome must be 0 or 1");
    positives += y[i];
  }
  if (n <= p) {
    return InvalidArgument("too few cases: " + std::to_string(n) + " for " + std::to_string(p) +
                           " coefficients");
  }
  if (positives == 0 || positives == static_cast<double>(n)) {
    return InvalidArgument("the outcome has only one value: nothing to predict");
  }
  Eigen::MatrixXd design(n, p);
  design.col(0).setOnes();
  design.rightCols(p - 1) = x;
  {
    const Eigen::VectorXd scale = (design.transpose() * design).diagonal().cwiseSqrt();
    const Eigen::MatrixXd scaled = design * scale.cwiseInverse().asDiagonal();
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(scaled);
    const Eigen::VectorXd values = svd.singularValues();
    if (values.minCoeff() < 1e-8 * values.maxCoeff()) {
      return InvalidArgument("the features are collinear (one is a combination of others)");
    }
  }

  LogisticFit fit;
  const double rate = positives / static_cast<double>(n);
  fit.null_deviance =
      -2 * (positives * std::log(rate) + (static_cast<double>(n) - positives) * std::log1p(-rate));
  fit.beta = Eigen::VectorXd::Zero(p);
  fit.beta[0] = std::log(rate / (1 - rate));
  Eigen::VectorXd mu(n);
  double deviance = std::numeric_limits<double>::infinity();
  Eigen::MatrixXd information;
  bool converged = false;
  Eigen::VectorXd previous = fit.beta;
  for (fit.iterations = 1; fit.iterations <= 50; ++fit.iterations) {
    const Eigen::VectorXd eta = design * fit.beta;
    if (eta.cwiseAbs().maxCoeff() > 30) return Separated(design, fit.beta - previous, names);
    for (Eigen::Index i = 0; i < n; ++i) mu[i] = Logistic(eta[i]);
    const Eigen::VectorXd w = mu.array() * (1 - mu.array());
    const Eigen::VectorXd z = eta.array() + (y - mu).array() / w.array();
    information = design.transpose() * w.asDiagonal() * design;
    const Eigen::VectorXd next =
        information.ldlt().solve(design.transpose() * (w.array() * z.array()).matrix());
    previous = fit.beta;
    fit.beta = next;
    const Eigen::VectorXd eta_next = design * fit.beta;
    for (Eigen::Index i = 0; i < n; ++i) mu[i] = Logistic(eta_next[i]);
    const double next_deviance = Deviance(mu, y);
    if (std::abs(next_deviance - deviance) < 1e-10 * (std::abs(next_deviance) + 0.1)) {
      deviance = next_deviance;
      converged = true;
      break;
    }
    deviance = next_deviance;
  }
  if (!converged) return InvalidArgument("the logistic regression did not converge in 50 steps");
  const Eigen::VectorXd w = mu.array() * (1 - mu.array());
  information = design.transpose() * w.asDiagonal() * design;

  // Quasi-complete separation: the likelihood keeps rising towards a limit as the coefficients
  // run off to infinity, so the deviance settles (glm reports "converged") while every further
  // Newton step still moves the linear predictor of the separated rows by about 1/μ ≥ 1
  // (Albert & Anderson 1984; Lesaffre & Albert 1989). At a true maximum the next step is
  // negligible (the deviance criterion leaves it at most ~1e-4 and Newton's quadratic
  // convergence far smaller). The step's direction names the features that separate.
  {
    const Eigen::VectorXd eta = design * fit.beta;
    const Eigen::VectorXd z = eta.array() + (y - mu).array() / w.array();
    const Eigen::VectorXd step =
        information.ldlt().solve(design.transpose() * (w.array() * z.array()).matrix()) - fit.beta;
    if ((design * step).cwiseAbs().maxCoeff() > 0.1) {
      return Separated(design, step, names);
    }
  }
  fit.se = information.inverse().diagonal().cwiseSqrt();
  fit.deviance = deviance;
  return fit;
}

double AreaUnderCurve(const Eigen::VectorXd& predicted, const Eigen::VectorXd& y) {
  const Eigen::Index n = predicted.size();
  std::vector<Eigen::Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::sort(order.begin(), order.end(),
            [&](Eigen::Index a, Eigen::Index b) { return predicted[a] < predicted[b]; });
  // Mid-ranks (1-based) over ties.
  double positive_ranks = 0;
  double positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && predicted[order[j]] == predicted[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + 1 + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (y[order[k]] > 0.5) {
        positive_ranks += rank;
        ++positives;
      }
    }
    i = j;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return std::nan("");
  return (positive_ranks - positives * (positives + 1) / 2) / (positives * negatives);
}

double BrierScore(const Eigen::VectorXd& predicted, const Eigen::VectorXd& y) {
  return (predicted - y).squaredNorm() / static_cast<double>(y.size());
}

std::vector<CalibrationBin> CalibrationTable(const Eigen::VectorXd& predicted,
                                             const Eigen::VectorXd& y, int bins) {
  const auto n = static_cast<size_t>(predicted.size());
  std::vector<Eigen::Index> order(n);
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return predicted[a] < predicted[b]; });
  const size_t groups = std::min(n, static_cast<size_t>(std::max(bins, 1)));
  std::vector<CalibrationBin> table;
  for (size_t g = 0; g < groups; ++g) {
    const size_t begin = g * n / groups;
    const size_t end = (g + 1) * n / groups;
    CalibrationBin bin;
    for (size_t k = begin; k < end; ++k) {
      bin.mean_predicted += predicted[order[k]];
      bin.observed += y[order[k]];
    }
    bin.n = static_cast<int64_t>(end - begin);
    if (bin.n > 0) {
      bin.mean_predicted /= static_cast<double>(bin.n);
      bin.observed /= static_cast<double>(bin.n);
      table.push_back(bin);
    }
  }
  return table;
}

DropoutModel::Prediction DropoutModel::Predict(const std::vector<double>& values) const {
  Prediction prediction;
  double log_odds = fit.beta[0];
  for (size_t k = 0; k < features.size(); ++k) {
    const auto at = static_cast<Eigen::Index>(k);
    const double value = values[k];
    const double z = std::isnan(value) ? 0.0 : (value - mean[at]) / sd[at];
    const double part = fit.beta[at + 1] * z;
    log_odds += part;
    prediction.contributions.push_back({features[k], value, part});
  }
  std::stable_sort(
      prediction.contributions.begin(), prediction.contributions.end(),
      [](const Contribution& a, const Contribution& b) { return a.log_odds > b.log_odds; });
  prediction.probability = Logistic(log_odds);
  return prediction;
}

Json DropoutModel::ToJson() const {
  Json coefficients = {{"(Intercept)", fit.beta[0]}};
  Json errors = {{"(Intercept)", fit.se[0]}};
  for (size_t k = 0; k < features.size(); ++k) {
    coefficients[features[k]] = fit.beta[static_cast<Eigen::Index>(k) + 1];
    errors[features[k]] = fit.se[static_cast<Eigen::Index>(k) + 1];
  }
  Json table = Json::array();
  for (const CalibrationBin& bin : calibration) {
    table.push_back(
        {{"n", bin.n}, {"mean_predicted", bin.mean_predicted}, {"observed", bin.observed}});
  }
  return {{"model", "logistic regression on standardised features"},
          {"features", features},
          {"mean", std::vector<double>(mean.data(), mean.data() + mean.size())},
          {"sd", std::vector<double>(sd.data(), sd.data() + sd.size())},
          {"coefficients", coefficients},
          {"se", errors},
          {"deviance", fit.deviance},
          {"null_deviance", fit.null_deviance},
          {"cases", cases},
          {"dropouts", dropouts},
          {"folds", folds},
          {"auc", auc},
          {"brier", brier},
          {"calibration", table},
          {"fitted_at", fitted_at}};
}

Result<DropoutModel> DropoutModel::FromJson(const Json& json) {
  const auto need = [&](const char* key) -> Status {
    if (!json.is_object() || !json.contains(key)) {
      return InvalidArgument(std::string("dropout model: missing '") + key + "'", key);
    }
    return Status::Ok();
  };
  for (const char* key : {"features", "mean", "sd", "coefficients", "se"}) {
    RAPPORT_RETURN_IF_ERROR(need(key));
  }
  try {
    DropoutModel model;
    model.features = json.at("features").get<std::vector<std::string>>();
    const auto mean = json.at("mean").get<std::vector<double>>();
    const auto sd = json.at("sd").get<std::vector<double>>();
    const size_t k = model.features.size();
    if (mean.size() != k || sd.size() != k) {
      return InvalidArgument("dropout model: 'mean' and 'sd' need one value per feature", "mean");
    }
    model.mean = Eigen::Map<const Eigen::VectorXd>(mean.data(), static_cast<Eigen::Index>(k));
    model.sd = Eigen::Map<const Eigen::VectorXd>(sd.data(), static_cast<Eigen::Index>(k));
    if (!(model.sd.array() > 0).all()) {
      return InvalidArgument("dropout model: every 'sd' must be positive", "sd");
    }
    model.fit.beta.resize(static_cast<Eigen::Index>(k) + 1);
    model.fit.se.resize(static_cast<Eigen::Index>(k) + 1);
    const Json& coefficients = json.at("coefficients");
    const Json& errors = json.at("se");
    model.fit.beta[0] = coefficients.at("(Intercept)").get<double>();
    model.fit.se[0] = errors.at("(Intercept)").get<double>();
    for (size_t i = 0; i < k; ++i) {
      model.fit.beta[static_cast<Eigen::Index>(i) + 1] =
          coefficients.at(model.features[i]).get<double>();
      model.fit.se[static_cast<Eigen::Index>(i) + 1] = errors.at(model.features[i]).get<double>();
    }
    model.fit.deviance = json.value("deviance", 0.0);
    model.fit.null_deviance = json.value("null_deviance", 0.0);
    model.cases = json.value("cases", int64_t{0});
    model.dropouts = json.value("dropouts", int64_t{0});
    model.folds = json.value("folds", 0);
    model.fitted_at = json.value("fitted_at", std::string());
    model.auc = json.value("auc", std::nan(""));
    model.brier = json.value("brier", std::nan(""));
    for (const Json& bin : json.value("calibration", Json::array())) {
      model.calibration.push_back({bin.at("n").get<int64_t>(),
                                   bin.at("mean_predicted").get<double>(),
                                   bin.at("observed").get<double>()});
    }
    if (!model.fit.beta.allFinite()) {
      return InvalidArgument("dropout model: a coefficient is not a finite number", "coefficients");
    }
    return model;
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("dropout model: ") + e.what());
  }
}

Result<DropoutModel> FitDropoutModel(const std::vector<std::string>& features,
                                     const Eigen::MatrixXd& x, const Eigen::VectorXd& dropped_out,
                                     int folds, int bins) {
  const Eigen::Index n = dropped_out.size();
  if (x.rows() != n || x.cols() != static_cast<Eigen::Index>(features.size())) {
    return InvalidArgument("one row per episode and one column per feature are needed");
  }
  if (folds < 2) return InvalidArgument("cross-validation needs at least 2 folds", "folds");
  if (bins < 1) return InvalidArgument("the calibration table needs at least 1 bin", "bins");
  std::vector<Eigen::Index> positives;
  std::vector<Eigen::Index> negatives;
  for (Eigen::Index i = 0; i < n; ++i) (dropped_out[i] > 0.5 ? positives : negatives).push_back(i);
  if (static_cast<int>(positives.size()) < folds || static_cast<int>(negatives.size()) < folds) {
    return InvalidArgument("too little history: " + std::to_string(positives.size()) +
                           " dropouts and " + std::to_string(negatives.size()) +
                           " other endings; each must be at least the number of folds (" +
                           std::to_string(folds) + ")");
  }
  std::vector<Eigen::Index> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), Eigen::Index{0});

  DropoutModel model;
  model.features = features;
  model.cases = n;
  model.dropouts = static_cast<int64_t>(positives.size());
  model.folds = folds;
  RAPPORT_RETURN_IF_ERROR(Moments(features, x, all, model.mean, model.sd));
  RAPPORT_ASSIGN_OR_RETURN(
      model.fit, FitLogistic(Standardise(x, model.mean, model.sd), dropped_out, features));

  // Stratified folds: each outcome's rows dealt to the folds in turn.
  std::vector<int> fold_of(static_cast<size_t>(n));
  for (size_t k = 0; k < positives.size(); ++k) {
    fold_of[static_cast<size_t>(positives[k])] = static_cast<int>(k % static_cast<size_t>(folds));
  }
  for (size_t k = 0; k < negatives.size(); ++k) {
    fold_of[static_cast<size_t>(negatives[k])] = static_cast<int>(k % static_cast<size_t>(folds));
  }
  Eigen::VectorXd held_out(n);
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<Eigen::Index> train;
    std::vector<Eigen::Index> test;
    for (Eigen::Index i = 0; i < n; ++i)
      (fold_of[static_cast<size_t>(i)] == fold ? test : train).push_back(i);
    // The features this fold can learn from: known and varying in its training part.
    std::vector<Eigen::Index> usable;
    std::vector<std::string> usable_names;
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      if (MomentsOf(x, c, train).sd > 0) {
        usable.push_back(c);
        usable_names.push_back(features[static_cast<size_t>(c)]);
      }
    }
    Eigen::MatrixXd x_fold(n, static_cast<Eigen::Index>(usable.size()));
    for (size_t k = 0; k < usable.size(); ++k)
      x_fold.col(static_cast<Eigen::Index>(k)) = x.col(usable[k]);
    const std::string context =
        std::string("cross-validation fold ").append(std::to_string(fold + 1));
    Eigen::VectorXd mean;
    Eigen::VectorXd sd;
    RAPPORT_RETURN_IF_ERROR(Moments(usable_names, x_fold, train, mean, sd).WithContext(context));
    auto fit = FitLogistic(Standardise(Rows(x_fold, train), mean, sd), Rows(dropped_out, train),
                           usable_names);
    if (!fit.ok()) return fit.status().WithContext(context);
    const Eigen::MatrixXd z = Standardise(Rows(x_fold, test), mean, sd);
    for (size_t k = 0; k < test.size(); ++k) {
      const double eta =
          fit->beta[0] + z.row(static_cast<Eigen::Index>(k)).dot(fit->beta.tail(z.cols()));
      held_out[test[k]] = Logistic(eta);
    }
  }
  model.auc = AreaUnderCurve(held_out, dropped_out);
  model.brier = BrierScore(held_out, dropped_out);
  model.calibration = CalibrationTable(held_out, dropped_out, bins);
  return model;
}

}  // namespace rapport::stats
