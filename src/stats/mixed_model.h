// Linear mixed models fitted by profiled REML or ML, reproducing lme4's `lmer`
// (Bates, Mächler, Bolker & Walker 2015, J. Stat. Softw. 67(1); SCIENCE.md §10).
//
// Supported models: fixed effects X β, plus one or two random-effects terms
//   inner: (z1 + ... + zk | g1)            e.g. (session | client), k <= 3
//   outer: (w1 + ... + wk | g2)            e.g. (1 | therapist),    k <= 2, optional
// where every level of the inner factor lies within one level of the outer factor (clients
// nested in therapists; lme4's `(1 | therapist) + (session | client)` with unique client ids,
// or `(1 | batch/cask)`). Each term's covariance is unstructured (lme4 `(x | g)`) or diagonal
// (lme4 `(x || g)`). At most 16 fixed effects.
//
// Parameterisation (SCIENCE.md §10.1): Var(b) = σ² Λθ Λθᵀ; each term has a lower-triangular
// block T whose lower triangle, column-major, is its part of θ (diagonal terms: only the
// diagonal). θ lists the inner term first, then the outer one — lme4's order, which sorts terms
// by decreasing number of levels. Diagonal elements of T are bounded below by 0.
//
// Computation: one pass over the rows builds per-client and per-therapist sufficient statistics
// (ZᵀZ, ZᵀX, Zᵀy, ZᵀW per client; WᵀW, WᵀX, Wᵀy per therapist). For a given θ the sparse
// Cholesky factor of Λᵀ Zᵀ Z Λ + I is assembled block by block from them — with nesting it has
// no fill-in beyond the client-to-therapist blocks — so one evaluation of the profiled
// criterion costs time linear in the number of clients and does not touch the rows.
//
// Thread safety: MixedModelProblem is immutable after Create; Objective and Fit are const and
// may run concurrently.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace rapport::stats {

enum class Criterion {
  kReml,  // lme4 default (REML = TRUE): the REML criterion
  kMl,    // REML = FALSE: the deviance, -2 log-likelihood
};

enum class CovarianceStructure {
  kUnstructured,  // (x | g): full covariance matrix of the term's effects
  kDiagonal,      // (x || g): independent effects
};

// One random-effects term. Row r belongs to level `level[r]` of the grouping factor and
// carries the covariate values `design.row(r)` (usually an intercept column of ones first).
struct RandomEffectsTerm {
  std::string factor;                    // grouping factor name, e.g. "client"
  std::vector<std::string> names;        // covariate names, e.g. {"(Intercept)", "session"}
  std::vector<std::string> level_names;  // one label per level
  std::vector<int32_t> level;            // per row, in [0, level_names.size())
  Eigen::MatrixXd design;                // rows × names.size()
  CovarianceStructure covariance = CovarianceStructure::kUnstructured;
};

struct MixedModelData {
  Eigen::VectorXd y;                       // response, one per row
  Eigen::MatrixXd x;                       // fixed-effects design, rows × p
  std::vector<std::string> fixed_names;    // p names, e.g. {"(Intercept)", "session"}
  RandomEffectsTerm inner;                 // the finer factor (client)
  std::optional<RandomEffectsTerm> outer;  // the coarser factor it is nested in (therapist)
};

struct FitOptions {
  Criterion criterion = Criterion::kReml;
  // Compute conditional modes (BLUPs) and their conditional SDs for every level.
  bool random_effects = true;
  // Start of the optimisation; empty means lme4's start (diagonal 1, off-diagonal 0).
  std::vector<double> start;
  int max_evaluations = 5000;
  // With 20,000 clients or more and no `start`, start from the optimum on a systematic
  // subsample of the clients (see Fit). Changes the path, not the optimum.
  bool warm_start = true;
};

// The covariance of one term's random effects at the optimum, σ² T Tᵀ.
struct VarianceComponent {
  std::string factor;
  std::vector<std::string> names;
  Eigen::MatrixXd covariance;
  // Standard deviations and the correlation matrix derived from `covariance`.
  Eigen::VectorXd sd() const;
  Eigen::MatrixXd correlation() const;
};

// Conditional modes of one term (lme4 `ranef(fit, condVar = TRUE)`): b̃ = Λθ ũ, with conditional
// SDs from σ̂² Λθ (Lθ Lθᵀ)⁻¹ Λθᵀ, conditional on θ̂ and β̂ (they ignore the uncertainty of both).
struct RandomEffects {
  std::string factor;
  std::vector<std::string> names;
  std::vector<std::string> level_names;
  Eigen::MatrixXd modes;    // levels × k
  Eigen::MatrixXd cond_sd;  // levels × k
};

struct MixedModelFit {
  Criterion criterion = Criterion::kReml;
  int64_t observations = 0;
  std::vector<std::string> fixed_names;
  Eigen::VectorXd beta;
  Eigen::MatrixXd beta_covariance;  // lme4 vcov(): σ̂² R_X⁻¹ R_X⁻ᵀ
  Eigen::VectorXd beta_se() const { return beta_covariance.diagonal().cwiseSqrt(); }
  Eigen::VectorXd theta;
  double sigma2 = 0;                          // residual variance σ̂²
  std::vector<VarianceComponent> components;  // inner, then outer
  std::vector<int64_t> levels;                // number of levels per term
  double objective = 0;                       // REML criterion (kReml) or deviance (kMl) at θ̂
  double log_likelihood = 0;  // -objective / 2 (the REML log-likelihood for kReml, as lme4)
  double aic = 0;             // objective + 2 (p + dim θ + 1)
  double bic = 0;             // objective + log(n) (p + dim θ + 1)
  bool singular = false;      // a diagonal element of some T is (numerically) 0
  bool converged = false;
  int evaluations = 0;
  std::vector<RandomEffects> random_effects;  // empty unless FitOptions::random_effects
};

namespace internal {
class MixedModelKernel;
}

// Sufficient statistics of one model and data set; evaluates the profiled criterion and fits.
class MixedModelProblem {
 public:
  // Validates `data` and builds the sufficient statistics. Errors (kInvalidArgument): sizes
  // that disagree, non-finite values, a level without rows, an inner level that appears under
  // two outer levels (not nested), more covariates than supported, too few rows (n <= p), or a
  // rank-deficient fixed-effects design.
  static Result<MixedModelProblem> Create(const MixedModelData& data);

  MixedModelProblem(MixedModelProblem&&) noexcept;
  MixedModelProblem& operator=(MixedModelProblem&&) noexcept;
  ~MixedModelProblem();

  int theta_size() const;
  // Lower bounds of θ: 0 for diagonal elements of T, -infinity otherwise.
  std::vector<double> theta_lower() const;
  int64_t observations() const;

  // The profiled criterion at θ (SCIENCE.md §10.2): d_R(θ) for kReml, d(θ) for kMl
  // (lme4 `devFunOnly = TRUE`). Returns +infinity when θ is outside its bounds.
  // REQUIRES: theta.size() == theta_size().
  double Objective(std::span<const double> theta, Criterion criterion) const;

  // The criterion as Objective does, and its analytic gradient in θ written to `gradient`
  // (zeros where the criterion is not finite). Costs about three evaluations of Objective.
  // REQUIRES: theta.size() == gradient.size() == theta_size().
  double ObjectiveAndGradient(std::span<const double> theta, Criterion criterion,
                              std::span<double> gradient) const;

  // Minimises the criterion over θ and derives every estimate at the optimum.
  // Errors: kInvalidArgument for a start of the wrong size or outside the bounds.
  Result<MixedModelFit> Fit(const FitOptions& options = {}) const;

  // Every estimate at a given θ instead of the optimum (converged = false, evaluations = 0):
  // to compare with another program's estimates at its θ, or to profile.
  // Errors: kInvalidArgument for θ of the wrong size or outside its bounds.
  Result<MixedModelFit> EstimatesAt(std::span<const double> theta, Criterion criterion,
                                    bool random_effects = true) const;

 private:
  explicit MixedModelProblem(std::unique_ptr<internal::MixedModelKernel> kernel);
  std::unique_ptr<internal::MixedModelKernel> kernel_;
};

// MixedModelProblem::Create(data) followed by Fit(options).
Result<MixedModelFit> FitMixedModel(const MixedModelData& data, const FitOptions& options = {});

}  // namespace rapport::stats
