// Bound-constrained minimisation of a smooth function of a few variables (the profiled
// mixed-model criterion of SCIENCE.md §10.2, at most 9 parameters).
//
// Projected quasi-Newton (BFGS) with an active set for the lower bounds and central finite
// differences for the gradient (one-sided second-order differences at a bound). lme4 uses the
// derivative-free BOBYQA for the same problem; any good bounded optimiser reaches the same
// optimum within the tolerances of SCIENCE.md §10.2.
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

// Minimises `f` subject to x >= lower (elementwise; use -infinity for no bound), starting at
// `start` (projected onto the bounds). `f` may return +infinity for infeasible points.
// REQUIRES: start.size() == lower.size() >= 1.
MinimizeResult MinimizeBounded(const std::function<double(std::span<const double>)>& f,
                               std::vector<double> start, const std::vector<double>& lower,
                               const MinimizeOptions& options = {});

}  // namespace rapport::stats::internal
