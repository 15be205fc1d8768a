#include "stats/mixed_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "stats/internal/minimize.h"
#include "stats/internal/mixed_model_kernel.h"

namespace rapport::stats {

Eigen::VectorXd VarianceComponent::sd() const { return covariance.diagonal().cwiseSqrt(); }

Eigen::MatrixXd VarianceComponent::correlation() const {
  const Eigen::VectorXd s = sd();
  Eigen::MatrixXd r = covariance;
  for (Eigen::Index row = 0; row < r.rows(); ++row) {
    for (Eigen::Index col = 0; col < r.cols(); ++col) {
      const double scale = s[row] * s[col];
      r(row, col) = row == col ? 1.0 : (scale > 0 ? r(row, col) / scale : 0.0);
    }
  }
  return r;
}

namespace internal {

const KernelFunctions& KernelsFor(int k, int kt, int p) {
  switch (k) {
    case 2: return KernelsWithInner2(kt, p);
    case 3: return KernelsWithInner3(kt, p);
    default: return KernelsWithInner1(kt, p);
  }
}

namespace {

Status CheckTerm(const RandomEffectsTerm& term, Eigen::Index rows, int max_covariates,
                 std::string_view role) {
  const std::string where = "random-effects term for '" + term.factor + "'";
  if (term.names.empty() || static_cast<int>(term.names.size()) > max_covariates) {
    return InvalidArgument(where + " has " + std::to_string(term.names.size()) +
                           " covariates; the " + std::string(role) + " term supports 1 to " +
                           std::to_string(max_covariates));
  }
  if (term.design.rows() != rows ||
      term.design.cols() != static_cast<Eigen::Index>(term.names.size()) ||
      static_cast<Eigen::Index>(term.level.size()) != rows) {
    return InvalidArgument(where + ": design or levels do not match the number of rows");
  }
  if (term.level_names.empty()) return InvalidArgument(where + " has no levels");
  if (!term.design.allFinite()) return InvalidArgument(where + " has a non-finite covariate value");
  std::vector<int64_t> counts(term.level_names.size(), 0);
  for (const int32_t level : term.level) {
    if (level < 0 || static_cast<size_t>(level) >= counts.size()) {
      return InvalidArgument(where + " has a level index out of range");
    }
    ++counts[static_cast<size_t>(level)];
  }
  for (size_t level = 0; level < counts.size(); ++level) {
    if (counts[level] == 0) {
      return InvalidArgument(where + ": level '" + term.level_names[level] + "' has no rows");
    }
  }
  return Status::Ok();
}

}  // namespace
}  // namespace internal

MixedModelProblem::MixedModelProblem(std::unique_ptr<internal::MixedModelKernel> kernel)
    : kernel_(std::move(kernel)) {}
MixedModelProblem::MixedModelProblem(MixedModelProblem&&) noexcept = default;
MixedModelProblem& MixedModelProblem::operator=(MixedModelProblem&&) noexcept = default;
MixedModelProblem::~MixedModelProblem() = default;

Result<MixedModelProblem> MixedModelProblem::Create(const MixedModelData& data) {
  const Eigen::Index n = data.y.size();
  const Eigen::Index p = data.x.cols();
  if (data.x.rows() != n) {
    return InvalidArgument("the fixed-effects design has " + std::to_string(data.x.rows()) +
                           " rows but the response has " + std::to_string(n));
  }
  if (p < 1 || p > internal::kMaxFixed) {
    return InvalidArgument("the model has " + std::to_string(p) +
                           " fixed effects; 1 to 16 are supported");
  }
  if (static_cast<Eigen::Index>(data.fixed_names.size()) != p) {
    return InvalidArgument("fixed_names does not match the fixed-effects design");
  }
  if (n <= p) {
    return InvalidArgument("too few observations: " + std::to_string(n) + " rows for " +
                           std::to_string(p) + " fixed effects");
  }
  if (!data.y.allFinite()) return InvalidArgument("the response has a non-finite value");
  if (!data.x.allFinite())
    return InvalidArgument("the fixed-effects design has a non-finite value");
  RAPPORT_RETURN_IF_ERROR(internal::CheckTerm(data.inner, n, internal::kMaxInner, "inner"));
  if (data.outer) {
    RAPPORT_RETURN_IF_ERROR(internal::CheckTerm(*data.outer, n, internal::kMaxOuter, "outer"));
  }

  auto m = std::make_unique<internal::MixedModelKernel>();
  m->k = static_cast<int>(data.inner.names.size());
  m->kt = data.outer ? static_cast<int>(data.outer->names.size()) : 0;
  m->p = static_cast<int>(p);
  m->n = n;
  m->inner_covariance = data.inner.covariance;
  m->fixed_names = data.fixed_names;
  m->inner_names = {data.inner.factor,    data.inner.names, data.inner.level_names, {}, {},
                    data.inner.covariance};
  if (data.outer) {
    m->outer_covariance = data.outer->covariance;
    m->outer_names =
        RandomEffectsTerm{data.outer->factor,    data.outer->names, data.outer->level_names, {}, {},
                          data.outer->covariance};
  }

  // Nesting: every inner level lies within one outer level.
  const size_t inner_levels = data.inner.level_names.size();
  const size_t outer_levels = data.outer ? data.outer->level_names.size() : 1;
  std::vector<int32_t> outer_of(inner_levels, -1);
  for (Eigen::Index row = 0; row < n; ++row) {
    const auto inner = static_cast<size_t>(data.inner.level[static_cast<size_t>(row)]);
    const int32_t outer = data.outer ? data.outer->level[static_cast<size_t>(row)] : 0;
    if (outer_of[inner] < 0) {
      outer_of[inner] = outer;
    } else if (outer_of[inner] != outer) {
      return InvalidArgument(data.inner.factor + " '" + data.inner.level_names[inner] +
                             "' appears under " + data.outer->factor + " '" +
                             data.outer->level_names[static_cast<size_t>(outer_of[inner])] +
                             "' and '" + data.outer->level_names[static_cast<size_t>(outer)] +
                             "'; the model needs each " + data.inner.factor + " nested in one " +
                             data.outer->factor);
    }
  }
  // Processing order: inner levels grouped by outer level, in level order within each.
  m->order.resize(inner_levels);
  m->outer_begin.assign(outer_levels + 1, 0);
  for (size_t inner = 0; inner < inner_levels; ++inner) {
    ++m->outer_begin[static_cast<size_t>(outer_of[inner]) + 1];
  }
  for (size_t outer = 0; outer < outer_levels; ++outer) {
    m->outer_begin[outer + 1] += m->outer_begin[outer];
  }
  std::vector<int64_t> position_of(inner_levels);
  {
    std::vector<int64_t> next(m->outer_begin.begin(), m->outer_begin.end() - 1);
    for (size_t inner = 0; inner < inner_levels; ++inner) {
      const int64_t position = next[static_cast<size_t>(outer_of[inner])]++;
      position_of[inner] = position;
      m->order[static_cast<size_t>(position)] = static_cast<int32_t>(inner);
    }
  }

  for (Eigen::Index col = 0; col < p; ++col) {
    if ((data.x.col(col).array() == 1.0).all()) {
      m->intercept_column = static_cast<int>(col);
      m->y_shift = data.y.mean();
      break;
    }
  }

  const int k = m->k;
  const int kt = m->kt;
  m->client_stride = static_cast<size_t>(k * k + k * p + k + k * kt);
  m->outer_stride = static_cast<size_t>(kt * kt + kt * p + kt);
  m->client_stats.assign(inner_levels * m->client_stride, 0.0);
  m->outer_stats.assign(data.outer ? outer_levels * m->outer_stride : 0, 0.0);
  m->totals_stride = static_cast<size_t>(p * p + p + 2);
  m->client_totals.assign(inner_levels * m->totals_stride, 0.0);
  internal::KernelsFor(k, kt, static_cast<int>(p)).accumulate(data, position_of, *m);
  m->SumTotals();

  // Enough levels and rows for the random effects (lme4's checks): more than one level per
  // term, and more rows than random effects.
  const auto check_levels = [&](const RandomEffectsTerm& term) -> Status {
    const auto levels = static_cast<int64_t>(term.level_names.size());
    if (levels < 2) {
      return InvalidArgument(
          "random effects by '" + term.factor + "' need at least 2 levels; the " + "data have " +
          std::to_string(levels) + " (" + term.factor + " '" + term.level_names.front() + "')");
    }
    const int64_t effects = levels * static_cast<int64_t>(term.names.size());
    if (n <= effects) {
      return InvalidArgument("the " + std::to_string(n) + " observations are not more than the " +
                             std::to_string(effects) + " random effects by '" + term.factor +
                             "' (" + std::to_string(levels) + " levels × " +
                             std::to_string(term.names.size()) +
                             "): the variances cannot be told apart from the residual");
    }
    return Status::Ok();
  };
  RAPPORT_RETURN_IF_ERROR(check_levels(data.inner));
  if (data.outer) RAPPORT_RETURN_IF_ERROR(check_levels(*data.outer));

  // Full column rank of X, judged on the correlation-scaled cross-product.
  const Eigen::VectorXd scale = m->xtx.diagonal().cwiseSqrt();
  if ((scale.array() == 0).any()) {
    return InvalidArgument("a fixed-effects column is all zero");
  }
  const Eigen::MatrixXd scaled =
      scale.cwiseInverse().asDiagonal() * m->xtx * scale.cwiseInverse().asDiagonal();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(scaled, Eigen::EigenvaluesOnly);
  if (eigen.eigenvalues().minCoeff() < 1e-10 * eigen.eigenvalues().maxCoeff()) {
    return InvalidArgument(
        "the fixed-effects design is rank deficient (a column is a combination "
        "of others)");
  }
  // Something to model: y must not be an exact function of the fixed effects.
  const double rss = m->yty - m->xty.dot(m->xtx.ldlt().solve(m->xty));
  if (!(rss > 1e-12 * (m->yty + m->y_shift * m->y_shift * static_cast<double>(n)))) {
    return InvalidArgument(m->intercept_column >= 0 && m->yty == 0
                               ? "the response has no variance: every value is the same"
                               : "the response is an exact function of the fixed effects: "
                                 "there is no variance left to model");
  }
  return MixedModelProblem(std::move(m));
}

int MixedModelProblem::theta_size() const {
  return kernel_->InnerThetaSize() + kernel_->OuterThetaSize();
}

std::vector<double> MixedModelProblem::theta_lower() const {
  std::vector<double> lower;
  const auto add = [&](int k, CovarianceStructure covariance) {
    for (int col = 0; col < k; ++col) {
      if (covariance == CovarianceStructure::kDiagonal) {
        lower.push_back(0);
      } else {
        for (int row = col; row < k; ++row) {
          lower.push_back(row == col ? 0 : -std::numeric_limits<double>::infinity());
        }
      }
    }
  };
  add(kernel_->k, kernel_->inner_covariance);
  add(kernel_->kt, kernel_->outer_covariance);
  return lower;
}

int64_t MixedModelProblem::observations() const { return kernel_->n; }

double MixedModelProblem::Objective(std::span<const double> theta, Criterion criterion) const {
  const std::vector<double> lower = theta_lower();
  for (size_t index = 0; index < lower.size(); ++index) {
    if (!(theta[index] >= lower[index]) || !std::isfinite(theta[index])) {
      return std::numeric_limits<double>::infinity();
    }
  }
  return internal::KernelsFor(kernel_->k, kernel_->kt, kernel_->p)
      .objective(*kernel_, theta.data(), criterion);
}

double MixedModelProblem::ObjectiveAndGradient(std::span<const double> theta, Criterion criterion,
                                               std::span<double> gradient) const {
  std::fill(gradient.begin(), gradient.end(), 0.0);
  const std::vector<double> lower = theta_lower();
  for (size_t index = 0; index < lower.size(); ++index) {
    if (!(theta[index] >= lower[index]) || !std::isfinite(theta[index])) {
      return std::numeric_limits<double>::infinity();
    }
  }
  return internal::KernelsFor(kernel_->k, kernel_->kt, kernel_->p)
      .objective_and_gradient(*kernel_, theta.data(), criterion, gradient.data());
}

Result<MixedModelFit> MixedModelProblem::Fit(const FitOptions& options) const {
  const std::vector<double> lower = theta_lower();
  std::vector<double> start = options.start;
  if (start.empty()) {
    for (const double bound : lower) start.push_back(bound == 0 ? 1.0 : 0.0);
  }
  if (start.size() != lower.size()) {
    return InvalidArgument("the start has " + std::to_string(start.size()) + " values; θ has " +
                           std::to_string(lower.size()));
  }
  for (size_t index = 0; index < start.size(); ++index) {
    if (!(start[index] >= lower[index]) || !std::isfinite(start[index])) {
      return InvalidArgument("the start is outside the bounds of θ");
    }
  }
  internal::MinimizeOptions minimize;
  minimize.max_evaluations = options.max_evaluations;
  // Warm start for large data: the optimum on a systematic subsample of about 4,000 clients
  // (whole therapists in a three-level model) is close to the full optimum, and its inverse
  // Hessian, scaled by the share of clients, is a good first quasi-Newton model. The full
  // optimisation then needs a few iterations; the optimum itself is that of the full data.
  const auto clients = static_cast<int64_t>(kernel_->order.size());
  if (options.start.empty() && options.warm_start && clients >= 20'000) {
    const int64_t stride = clients / 4'000;
    const MixedModelProblem sub(kernel_->Subsample(stride));
    const internal::MinimizeResult sub_optimum = internal::MinimizeBounded(
        internal::ValueAndGradientFunction(
            [&](std::span<const double> theta, std::span<double> gradient) {
              return sub.ObjectiveAndGradient(theta, options.criterion, gradient);
            }),
        start, lower, minimize);
    if (std::isfinite(sub_optimum.f)) {
      start = sub_optimum.x;
      const double share =
          static_cast<double>(sub.kernel_->order.size()) / static_cast<double>(clients);
      minimize.inverse_hessian = sub_optimum.inverse_hessian;
      for (double& value : minimize.inverse_hessian) value *= share;
    }
  }
  const internal::MinimizeResult optimum = internal::MinimizeBounded(
      internal::ValueAndGradientFunction(
          [&](std::span<const double> theta, std::span<double> gradient) {
            return ObjectiveAndGradient(theta, options.criterion, gradient);
          }),
      start, lower, minimize);
  if (!std::isfinite(optimum.f)) {
    return Internal("the mixed-model criterion is not finite at any θ tried");
  }

  RAPPORT_ASSIGN_OR_RETURN(MixedModelFit fit,
                           EstimatesAt(optimum.x, options.criterion, options.random_effects));
  // A residual variance of (numerically) zero: the random effects reproduce the data exactly,
  // and the criterion falls without bound as θ grows. No estimate exists.
  if (!(fit.sigma2 > 1e-9 * kernel_->yty / static_cast<double>(kernel_->n))) {
    return InvalidArgument(
        "the model reproduces the data exactly (residual variance 0): too few observations per " +
        kernel_->inner_names.factor + " for this model");
  }
  fit.converged = optimum.converged;
  fit.evaluations = optimum.evaluations;
  return fit;
}

Result<MixedModelFit> MixedModelProblem::EstimatesAt(std::span<const double> theta,
                                                     Criterion criterion,
                                                     bool random_effects) const {
  const std::vector<double> lower = theta_lower();
  if (theta.size() != lower.size() || !std::isfinite(Objective(theta, criterion))) {
    return InvalidArgument(
        "θ has the wrong size, is outside its bounds or gives no finite criterion");
  }
  MixedModelFit fit;
  fit.criterion = criterion;
  fit.observations = kernel_->n;
  fit.fixed_names = kernel_->fixed_names;
  fit.theta =
      Eigen::Map<const Eigen::VectorXd>(theta.data(), static_cast<Eigen::Index>(theta.size()));
  fit.levels.push_back(static_cast<int64_t>(kernel_->order.size()));
  if (kernel_->kt > 0) fit.levels.push_back(static_cast<int64_t>(kernel_->outer_begin.size() - 1));
  internal::KernelsFor(kernel_->k, kernel_->kt, kernel_->p)
      .finish(*kernel_, theta.data(), criterion, random_effects, fit);
  // lme4 isSingular(tol = 1e-4): a diagonal element of some T at (or next to) its bound of 0.
  for (size_t index = 0; index < lower.size(); ++index) {
    if (lower[index] == 0 && theta[index] < 1e-4) fit.singular = true;
  }
  const double parameters = static_cast<double>(kernel_->p + theta_size() + 1);
  fit.log_likelihood = -fit.objective / 2;
  fit.aic = fit.objective + 2 * parameters;
  fit.bic = fit.objective + std::log(static_cast<double>(kernel_->n)) * parameters;
  return fit;
}

Result<MixedModelFit> FitMixedModel(const MixedModelData& data, const FitOptions& options) {
  RAPPORT_ASSIGN_OR_RETURN(const MixedModelProblem problem, MixedModelProblem::Create(data));
  return problem.Fit(options);
}

}  // namespace rapport::stats
