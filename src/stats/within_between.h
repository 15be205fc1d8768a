// Alliance–outcome association split into its within-client and between-client parts
// (SCIENCE.md §6.2): person-mean centring, optionally after detrending the alliance within each
// client (Wang & Maxwell 2015), then
//   y_it = γ00 + γ20 t + γ10 A_w,it + γ01 A_b,i + u_0i + e_it,   REML (lme4 `lmer`),
// with A_b,i the client's mean alliance and A_w,it the deviation from it (or from the client's
// own linear trend when detrending). Within effect γ10 ("when this client's alliance is higher
// than usual, is the outcome better?"), between effect γ01, contextual effect γ01 − γ10.
// Same-session association only: the lagged form with a lagged outcome needs dynamic panel
// methods (Hamaker & Grasman 2015; Falkenström et al. 2017) and is not offered.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Dense>

#include "base/status.h"
#include "stats/mixed_model.h"

namespace rapport::stats {

struct WithinBetweenData {
  std::vector<std::string> client;  // per row
  Eigen::VectorXd t;                // session number
  Eigen::VectorXd alliance;
  Eigen::VectorXd y;  // outcome
};

struct Effect {
  double estimate = 0;
  double se = 0;
};

struct WithinBetween {
  Effect within;      // γ10
  Effect between;     // γ01
  Effect contextual;  // γ01 − γ10, SE from the fixed-effects covariance
  Effect session;     // γ20
  bool detrended = false;
  int64_t clients = 0;
  MixedModelFit fit;  // fixed effects (Intercept), t, a_w, a_b
};

// Errors (kInvalidArgument): sizes that disagree, non-finite values, fewer than 2 clients,
// no alliance variation within clients, and the model's own errors.
Result<WithinBetween> DecomposeWithinBetween(const WithinBetweenData& data, bool detrend = false);

}  // namespace rapport::stats
