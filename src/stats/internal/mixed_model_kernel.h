// The sufficient statistics of a mixed model (stats/mixed_model.h) and the table of its
// kernels: the profiled criterion, its gradient, the estimates and the accumulation of the
// statistics, each compiled for every shape it supports (inner covariates K, outer covariates KT,
// fixed effects P) so that the per-client loops have sizes known at compile time and unroll.
// The kernels of each K are compiled in a translation unit of their own
// (mixed_model_kernels_<K>.cc), so that they compile in parallel: each takes minutes.
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stats/mixed_model.h"

namespace rapport::stats::internal {

constexpr int kMaxFixed = 16;
constexpr int kMaxInner = 3;
constexpr int kMaxOuter = 2;

// The sufficient statistics of a model (see the header) and the shapes the kernels need.
class MixedModelKernel {
 public:
  int k = 0;   // covariates of the inner term
  int kt = 0;  // covariates of the outer term; 0 when there is none
  int p = 0;   // fixed effects
  int64_t n = 0;
  CovarianceStructure inner_covariance = CovarianceStructure::kUnstructured;
  CovarianceStructure outer_covariance = CovarianceStructure::kUnstructured;
  std::vector<std::string> fixed_names;
  RandomEffectsTerm inner_names;  // names and level names only (no rows)
  std::optional<RandomEffectsTerm> outer_names;

  // y is centred by `y_shift` when X has a column of ones (`intercept_column`): r² is unchanged
  // and yᵀy − ‖c‖² cancels far less; the intercept estimate is shifted back at the end.
  int intercept_column = -1;
  double y_shift = 0;
  double yty = 0;
  Eigen::MatrixXd xtx;
  Eigen::VectorXd xty;

  // Inner levels in processing order (grouped by outer level): order[position] = level.
  std::vector<int32_t> order;
  // Per position: ZᵀZ (k×k), ZᵀX (k×p), Zᵀy (k), ZᵀW (k×kt), column-major, `client_stride`
  // doubles each.
  std::vector<double> client_stats;
  size_t client_stride = 0;
  // Positions [outer_begin[j], outer_begin[j + 1]) belong to outer level j (one range when
  // there is no outer term).
  std::vector<int64_t> outer_begin;
  // Per outer level: WᵀW (kt×kt), WᵀX (kt×p), Wᵀy (kt).
  std::vector<double> outer_stats;
  size_t outer_stride = 0;
  // Per position, not read by the criterion: XᵀX (p×p), Xᵀy (p), yᵀy, rows — so a subsample of
  // clients can be a problem of its own (the warm start of Fit).
  std::vector<double> client_totals;
  size_t totals_stride = 0;

  // xtx, xty, yty and n from the per-client totals.
  void SumTotals() {
    xtx = Eigen::MatrixXd::Zero(p, p);
    xty = Eigen::VectorXd::Zero(p);
    yty = 0;
    double rows = 0;
    for (size_t position = 0; position < order.size(); ++position) {
      const double* t = client_totals.data() + position * totals_stride;
      xtx += Eigen::Map<const Eigen::MatrixXd>(t, p, p);
      xty += Eigen::Map<const Eigen::VectorXd>(t + p * p, p);
      yty += t[p * p + p];
      rows += t[p * p + p + 1];
    }
    n = static_cast<int64_t>(rows);
  }

  // Every `stride`-th outer level with all its inner levels (without an outer term: every
  // `stride`-th inner level). Level names are not carried over.
  std::unique_ptr<MixedModelKernel> Subsample(int64_t stride) const {
    auto sub = std::make_unique<MixedModelKernel>();
    sub->k = k;
    sub->kt = kt;
    sub->p = p;
    sub->inner_covariance = inner_covariance;
    sub->outer_covariance = outer_covariance;
    sub->intercept_column = intercept_column;
    sub->y_shift = y_shift;
    sub->client_stride = client_stride;
    sub->outer_stride = outer_stride;
    sub->totals_stride = totals_stride;
    sub->outer_begin.push_back(0);
    const auto take = [&](size_t position) {
      sub->order.push_back(static_cast<int32_t>(sub->order.size()));
      sub->client_stats.insert(
          sub->client_stats.end(),
          client_stats.begin() + static_cast<std::ptrdiff_t>(position * client_stride),
          client_stats.begin() + static_cast<std::ptrdiff_t>((position + 1) * client_stride));
      sub->client_totals.insert(
          sub->client_totals.end(),
          client_totals.begin() + static_cast<std::ptrdiff_t>(position * totals_stride),
          client_totals.begin() + static_cast<std::ptrdiff_t>((position + 1) * totals_stride));
    };
    const size_t outer_levels = outer_begin.size() - 1;
    if (kt == 0) {
      for (size_t position = 0; position < order.size(); position += static_cast<size_t>(stride))
        take(position);
      sub->outer_begin.push_back(static_cast<int64_t>(sub->order.size()));
    } else {
      for (size_t outer = 0; outer < outer_levels; outer += static_cast<size_t>(stride)) {
        for (int64_t position = outer_begin[outer]; position < outer_begin[outer + 1]; ++position) {
          take(static_cast<size_t>(position));
        }
        sub->outer_begin.push_back(static_cast<int64_t>(sub->order.size()));
        sub->outer_stats.insert(
            sub->outer_stats.end(),
            outer_stats.begin() + static_cast<std::ptrdiff_t>(outer * outer_stride),
            outer_stats.begin() + static_cast<std::ptrdiff_t>((outer + 1) * outer_stride));
      }
    }
    sub->SumTotals();
    return sub;
  }

  int InnerThetaSize() const {
    return inner_covariance == CovarianceStructure::kDiagonal ? k : k * (k + 1) / 2;
  }
  int OuterThetaSize() const {
    if (kt == 0) return 0;
    return outer_covariance == CovarianceStructure::kDiagonal ? kt : kt * (kt + 1) / 2;
  }
};

// The kernels of one shape. Each REQUIRES a kernel `m` of that shape.
struct KernelFunctions {
  // The criterion at θ (SCIENCE.md §10.2); +∞ where the factorisation fails.
  double (*objective)(const MixedModelKernel& m, const double* theta, Criterion criterion);
  // The criterion and its gradient (gradient: theta_size() values, overwritten).
  double (*objective_and_gradient)(const MixedModelKernel& m, const double* theta,
                                   Criterion criterion, double* gradient);
  // The estimates at θ, with the conditional modes when `random_effects`.
  void (*finish)(const MixedModelKernel& m, const double* theta, Criterion criterion,
                 bool random_effects, MixedModelFit& fit);
  // One pass over the rows of `data`: the per-client and per-outer-level statistics and the
  // per-client totals, into `m` (sized by the caller).
  void (*accumulate)(const MixedModelData& data, const std::vector<int64_t>& position_of,
                     MixedModelKernel& m);
};

// The kernels for k inner covariates (1 to kMaxInner), kt outer ones (0 to kMaxOuter) and p
// fixed effects (1 to kMaxFixed; 1 to 4 have kernels of their own, more share one).
const KernelFunctions& KernelsFor(int k, int kt, int p);

// KernelsFor, for one k each (mixed_model_kernels_<k>.cc).
const KernelFunctions& KernelsWithInner1(int kt, int p);
const KernelFunctions& KernelsWithInner2(int kt, int p);
const KernelFunctions& KernelsWithInner3(int kt, int p);

}  // namespace rapport::stats::internal
