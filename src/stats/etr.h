// Expected treatment response (ETR) and the not-on-track test (SCIENCE.md §4.2–§4.3), after
// Finch, Lambert & Schaalje (2001, Clin. Psychol. Psychother. 8, 231–242): a mixed linear model
// of an outcome measure on the log of the session number, fitted on an organisation's history,
// gives each new client an expected course and percentile bands; a score beyond the one-sided
// boundary on the bad side is "not on track" (Lambert's signal; Lutz et al. 2006 found such
// empirical boundaries better than rational rules).
//
// Model (fitted by REML through MixedModelProblem, lme4 `lmer` equivalent):
//   y_ti = β0 + β1 f(t) [+ β2 x_i + β3 x_i f(t)] + b0i + b1i f(t) + e_ti,
//   (b0i, b1i) ~ N(0, G), e_ti ~ N(0, σ²),
//   f(t) = ln(t + 1) for 0-based sessions (t = 0 is the intake), ln(t) for 1-based ones.
// lme4: lmer(y ~ lt + (lt | client)) or lmer(y ~ lt * x + (lt | client)) with lt = f(t).
//
// Predictive distribution of a new client's score at session t, z_t = (1, f(t)):
//   unconditional       μ_t = x_tᵀβ, V_t = z_tᵀ G z_t + σ²   (x_t the fixed-effects row)
//   given scores y_obs  μ_t + C_{t,obs} V_obs⁻¹ (y_obs − μ_obs),  V_t − C_{t,obs} V_obs⁻¹ C_{obs,t}
//                       with C_{t,s} = z_tᵀ G z_s (s ≠ t) and V_obs = Z G Zᵀ + σ² I — the
//                       empirical-Bayes prediction; with the intake alone it is the Gaussian
//                       conditioning on y_0 of SCIENCE.md §4.3.
// Percentile p of a prediction: μ + Φ⁻¹(p/100) √V.
//
// Pure; no I/O. Models are values, safe to share between threads.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "base/status.h"

namespace rapport::stats {

// How session numbers enter the model (SCIENCE.md §4.3).
enum class SessionOrigin {
  kZeroBased,  // t = 0 is the intake; f(t) = ln(t + 1)
  kOneBased,   // t = 1 is the intake; f(t) = ln(t)   (Finch et al. 2001)
};

// Which way an instrument's scores are better; decides the side of the not-on-track boundary.
enum class ScoreDirection { kHigherIsBetter, kHigherIsWorse };

// The smallest number of clients FitEtr accepts: G has three parameters. Far more are needed
// for useful bands; the signals wait for `etr_min_clients` (docs/signals.md).
inline constexpr int64_t kEtrMinimumClients = 3;

// One observed score.
struct EtrRow {
  std::string client;    // the grouping level: one client's course of treatment
  double session = 0;    // t, on the model's SessionOrigin
  double score = 0;      // y
  double covariate = 0;  // x_i (the client's intake score); read only when fitting with one
};

// Where a model came from. `data_from`/`data_to` are absent when unknown (a CSV file).
struct EtrProvenance {
  std::string instrument_id;
  std::optional<Timestamp> data_from;
  std::optional<Timestamp> data_to;
  int64_t clients = 0;       // levels of the grouping factor
  int64_t observations = 0;  // rows fitted
  Timestamp fitted_at;
  double reml_criterion = 0;  // lme4's REML criterion at the optimum
  bool converged = false;
  bool singular = false;  // a variance of G on its bound 0 (lme4 isSingular)
};

struct EtrModel {
  SessionOrigin origin = SessionOrigin::kZeroBased;
  // Empty: y ~ f(t). Otherwise the covariate's name (e.g. "intake"): y ~ f(t) + x + x:f(t).
  std::string covariate;
  Eigen::VectorXd beta;                         // (Intercept), f(t) [, x, x:f(t)]
  Eigen::VectorXd beta_se;                      // their standard errors (lme4 vcov), for reports
  Eigen::Matrix2d g = Eigen::Matrix2d::Zero();  // Var(b0, b1)
  double sigma2 = 0;                            // σ²
  EtrProvenance provenance;

  bool has_covariate() const { return !covariate.empty(); }
  // f(t). REQUIRES: t at or after the intake (t ≥ 0, or ≥ 1 for kOneBased).
  double TimeTerm(double session) const;
  // The session number of the intake: 0 or 1.
  double IntakeSession() const { return origin == SessionOrigin::kZeroBased ? 0 : 1; }
  // "(Intercept)", "f(t)" [, covariate, covariate + ":f(t)"].
  std::vector<std::string> FixedNames() const;
};

struct EtrFitOptions {
  SessionOrigin origin = SessionOrigin::kZeroBased;
  std::string covariate;  // empty: no covariate; else its name, and EtrRow::covariate is used
  // Copied into the model; FitEtr fills in the counts, criterion and convergence.
  EtrProvenance provenance;
};

// Fits the model by REML. Errors (kInvalidArgument): fewer than kEtrMinimumClients clients
// (the message says how many), a session before the intake, a non-finite value, a covariate
// that differs between rows of one client, an empty client id, or data MixedModelProblem
// refuses (e.g. every row at the intake, so f(t) is all zero).
Result<EtrModel> FitEtr(std::span<const EtrRow> rows, const EtrFitOptions& options);

// A score observed for the client being predicted.
struct ObservedScore {
  double session = 0;
  double score = 0;
};

// The predictive normal distribution of a score at one session.
struct EtrPrediction {
  double session = 0;
  double mean = 0;
  double variance = 0;
  double sd() const;
  // The value at percentile `percent` (0 < percent < 100): mean + Φ⁻¹(percent/100)·sd.
  double Percentile(double percent) const;
};

// Unconditional prediction for a new client at `session` (with covariate value `covariate`
// when the model has one). Errors (kInvalidArgument): a session before the intake or not
// finite; a covariate missing for a model with one, or given to a model without.
Result<EtrPrediction> Predict(const EtrModel& model, double session,
                              std::optional<double> covariate = std::nullopt);

// Empirical-Bayes prediction conditional on the client's observed scores (any sessions,
// each a separate occasion from the one predicted). With no observed scores it equals
// Predict. Errors: as Predict, for `session` and every observed session, and non-finite
// scores.
Result<EtrPrediction> PredictGivenScores(const EtrModel& model, double session,
                                         std::span<const ObservedScore> observed,
                                         std::optional<double> covariate = std::nullopt);

// Gaussian conditioning on the intake score y_0 (SCIENCE.md §4.3):
// μ_{t|0} = μ_t + C_{t0}/V_0 (y_0 − μ_0), V_{t|0} = V_t − C_{t0}²/V_0.
Result<EtrPrediction> PredictGivenIntake(const EtrModel& model, double session, double intake_score,
                                         std::optional<double> covariate = std::nullopt);

// Cov(y_s, y_t) of one new client's scores at two distinct occasions: z_sᵀ G z_t.
// REQUIRES: both sessions at or after the intake.
double PredictiveCovariance(const EtrModel& model, double session_s, double session_t);

// The percentiles of SCIENCE.md §4.3's bands.
inline constexpr std::array<double, 5> kEtrBandPercentiles = {10, 25, 50, 75, 90};

struct EtrBand {
  double percentile = 0;
  double value = 0;
};
std::vector<EtrBand> PercentileBands(const EtrPrediction& prediction,
                                     std::span<const double> percentiles = kEtrBandPercentiles);

struct NotOnTrackResult {
  double percentile = 0;      // e.g. 90: the one-sided boundary leaves 10% beyond it
  double boundary = 0;        // μ + z·√V (higher is worse) or μ − z·√V (higher is better)
  bool not_on_track = false;  // the score lies strictly beyond the boundary
};

// The not-on-track rule of SCIENCE.md §4.3: with z = Φ⁻¹(percentile/100), a higher-is-worse
// score above μ + z√V, or a higher-is-better score below μ − z√V, is not on track.
// Errors (kInvalidArgument): percentile outside (50, 100), a non-finite score.
Result<NotOnTrackResult> TestNotOnTrack(const EtrPrediction& prediction, double score,
                                        ScoreDirection direction, double percentile = 90);

// The model as JSON (docs/statistics.md, "The stored model"): {"kind": "etr", "format": 1,
// "time": {...}, "covariate", "fixed_effects", "random_effects", "residual_variance",
// "provenance"}.
nlohmann::json EtrModelToJson(const EtrModel& model);
// Reads and validates a model written by EtrModelToJson. Errors (kInvalidArgument) name the
// field, e.g. "etr model: random_effects.covariance: must be a symmetric positive
// semi-definite 2×2 matrix".
Result<EtrModel> EtrModelFromJson(const nlohmann::json& document);

}  // namespace rapport::stats
