// Therapist effects reported responsibly (SCIENCE.md §8): the share of outcome variance between
// therapists (ICC), empirical-Bayes (shrunken) therapist effects with intervals, the minimum
// caseload and reliability rule, and the data of a caterpillar chart — never a league table.
//
// Two designs, both fitted by REML through mixed_model.h:
//   cases in therapists:                 y ~ 1 [+ intake] + (1 | therapist), one row per case
//   sessions in clients in therapists:   y ~ 1 + t [+ intake] + (1 | therapist) + (1 + t | client)
// The intake score, when given, adjusts for case mix (§8 item 5).
//
// Shrunken effects are lme4's conditional modes and their SDs lme4's condVar: conditional on the
// estimated fixed effects and variances, so they ignore the uncertainty of both (§8 item 6).
// Reliability of a therapist's estimate is λ_j = 1 − condVar_j / τ²: the share of the prior
// variance τ² that the therapist's data remove. In the first design it equals the one-way
// λ_j = τ² / (τ² + σ²/n_j) exactly, with or without the intake covariate, because condVar is
// conditional on the fixed effects (Dyestuff, SCIENCE.md §11.4). In the three-level design it
// generalises that formula: each client contributes its mean with the client's own random
// effects as extra noise, so λ_j is lower than τ² / (τ² + σ²/sessions_j) would say.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "base/status.h"
#include "stats/mixed_model.h"

namespace rapport::stats {

struct TherapistData {
  std::vector<std::string> therapist;  // per row
  Eigen::VectorXd y;                   // outcome per row
  std::optional<Eigen::VectorXd> intake;
  // Three levels when set: the client of each row (unique across therapists) and the session
  // number t of each row (0 at intake).
  std::vector<std::string> client;
  Eigen::VectorXd t;
};

struct TherapistEffectsOptions {
  int min_cases = 20;             // §8 item 4: our default
  double min_reliability = 0.70;  // §8 item 4: our default
  double z = 1.959963984540054;   // 95% intervals
};

struct TherapistEffect {
  std::string therapist;
  int64_t cases = 0;  // rows (two levels) or clients (three levels)
  double effect = 0;  // shrunken deviation from the average therapist
  double cond_sd = 0;
  double lower = 0;  // effect ∓ z · cond_sd
  double upper = 0;
  double reliability = 0;  // λ_j
  bool shown = false;      // meets the minimum caseload and reliability
  // "above average" or "below average" only when shown and the interval excludes 0;
  // "indistinguishable from average" when shown otherwise; "not shown" below the minimums.
  std::string classification;
};

struct TherapistEffects {
  bool three_level = false;
  double therapist_variance = 0;  // τ²
  double client_variance = 0;     // client intercept variance (three levels), else 0
  double residual_variance = 0;   // σ²
  double icc = 0;                 // τ² / denominator
  std::string icc_denominator;    // which components the denominator holds
  int64_t therapists = 0;
  int64_t shown = 0;
  // Sorted by effect, lowest first: the caterpillar chart's order.
  std::vector<TherapistEffect> effects;
  std::vector<std::string> notes;  // precision warnings and the condVar disclosure
  MixedModelFit fit;
};

// Errors (kInvalidArgument): sizes that disagree, fewer than 2 therapists, a non-finite value,
// a client under two therapists, and the model's own errors.
Result<TherapistEffects> EstimateTherapistEffects(const TherapistData& data,
                                                  const TherapistEffectsOptions& options = {});

}  // namespace rapport::stats
