// Bound-constrained minimisation of a smooth function of a few variables (the profiled
// mixed-model criterion of SCIENCE.md §10.2, at most 9 parameters).
//
// Projected quasi-Newton (BFGS) with an active set for the lower bounds, using the caller's
// analytic gradient or else central finite differences (one-sided second-order differences at a
// bound). lme4 uses the derivative-free BOBYQA for the same problem; any good bounded optimiser
// reaches the same optimum within the tolerances of SCIENCE.md §10.2.
#pragma once

#include <functional>
#include <span>
#include <vector>

namespace rapport::stats::internal {

struct MinimizeOptions {
  int max_evaluations = 5000;
  // Stop when the function decreases by less than this, relative to |f|, over an iteration
  // and the projected gradient is small.
  double relative_tolerance = 1e-13;
  // Also stop when the quasi-Newton model expects less than this decrease, relative to 1 + |f|,
  // from a full step: the rounding noise of the mixed-model criterion is about 1e-12 relative.
  double expected_decrease_tolerance = 1e-12;
  // Initial inverse-Hessian approximation (n×n, row-major); empty means a scaled identity.
  std::vector<double> inverse_hessian;
};

struct MinimizeResult {
  std::vector<double> x;
  double f = 0;
  int evaluations = 0;
  bool converged = false;
  std::vector<double> inverse_hessian;  // the final approximation, n×n row-major
};

using ValueFunction = std::function<double(std::span<const double> x)>;
// Returns f(x) and writes ∇f(x) to `gradient` (x.size() elements).
using ValueAndGradientFunction =
    std::function<double(std::span<const double> x, std::span<double> gradient)>;

// Minimises `f` subject to x >= lower (elementwise; use -infinity for no bound), starting at
// `start` (projected onto the bounds). `f` may return +infinity for infeasible points.
// REQUIRES: start.size() == lower.size() >= 1.
MinimizeResult MinimizeBounded(const ValueFunction& f, std::vector<double> start,
                               const std::vector<double>& lower,
                               const MinimizeOptions& options = {});
// The same with an analytic gradient: every point tried costs one call of `f`.
MinimizeResult MinimizeBounded(const ValueAndGradientFunction& f, std::vector<double> start,
                               const std::vector<double>& lower,
                               const MinimizeOptions& options = {});

}  // namespace rapport::stats::internal
