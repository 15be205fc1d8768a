#include "stats/within_between.h"

#include <cmath>
#include <map>

namespace rapport::stats {

Result<WithinBetween> DecomposeWithinBetween(const WithinBetweenData& data, bool detrend) {
  const auto n = static_cast<Eigen::Index>(data.client.size());
  if (data.t.size() != n || data.alliance.size() != n || data.y.size() != n) {
    return InvalidArgument("client, t, alliance and y must have one value per row");
  }
  if (!data.t.allFinite() || !data.alliance.allFinite() || !data.y.allFinite()) {
    return InvalidArgument("t, alliance and y must be finite numbers");
  }
  // Rows of each client, clients in sorted order (as R's factor()).
  std::map<std::string, std::vector<Eigen::Index>> rows_of;
  for (Eigen::Index row = 0; row < n; ++row)
    rows_of[data.client[static_cast<size_t>(row)]].push_back(row);
  if (rows_of.size() < 2) return InvalidArgument("the decomposition needs at least 2 clients");

  Eigen::VectorXd between(n);
  Eigen::VectorXd within(n);
  RandomEffectsTerm term;
  term.factor = "client";
  term.names = {"(Intercept)"};
  term.design = Eigen::MatrixXd::Ones(n, 1);
  term.level.assign(static_cast<size_t>(n), 0);
  for (const auto& [client, rows] : rows_of) {
    const auto level = static_cast<int32_t>(term.level_names.size());
    term.level_names.push_back(client);
    double mean_a = 0;
    double mean_t = 0;
    for (const Eigen::Index row : rows) {
      mean_a += data.alliance[row];
      mean_t += data.t[row];
    }
    mean_a /= static_cast<double>(rows.size());
    mean_t /= static_cast<double>(rows.size());
    // Least-squares slope of the alliance on t within the client (0 when t does not vary).
    double slope = 0;
    if (detrend) {
      double sxy = 0;
      double sxx = 0;
      for (const Eigen::Index row : rows) {
        sxy += (data.t[row] - mean_t) * (data.alliance[row] - mean_a);
        sxx += (data.t[row] - mean_t) * (data.t[row] - mean_t);
      }
      if (sxx > 0) slope = sxy / sxx;
    }
    for (const Eigen::Index row : rows) {
      term.level[static_cast<size_t>(row)] = level;
      between[row] = mean_a;
      within[row] = data.alliance[row] - mean_a - slope * (data.t[row] - mean_t);
    }
  }
  // Up to rounding: a within part a billion times smaller than the alliance is none.
  if (within.cwiseAbs().maxCoeff() <= 1e-9 * (1 + data.alliance.cwiseAbs().maxCoeff())) {
    return InvalidArgument("the alliance does not vary within any client: no within effect");
  }

  MixedModelData model;
  model.y = data.y;
  model.x.resize(n, 4);
  model.x.col(0).setOnes();
  model.x.col(1) = data.t;
  model.x.col(2) = within;
  model.x.col(3) = between;
  model.fixed_names = {"(Intercept)", "t", "a_w", "a_b"};
  model.inner = std::move(term);
  RAPPORT_ASSIGN_OR_RETURN(MixedModelFit fit, FitMixedModel(model));

  WithinBetween out;
  const Eigen::MatrixXd& v = fit.beta_covariance;
  out.session = {fit.beta[1], std::sqrt(v(1, 1))};
  out.within = {fit.beta[2], std::sqrt(v(2, 2))};
  out.between = {fit.beta[3], std::sqrt(v(3, 3))};
  out.contextual = {fit.beta[3] - fit.beta[2],
                    std::sqrt(std::max(0.0, v(3, 3) + v(2, 2) - 2 * v(2, 3)))};
  out.detrended = detrend;
  out.clients = static_cast<int64_t>(rows_of.size());
  out.fit = std::move(fit);
  return out;
}

}  // namespace rapport::stats
