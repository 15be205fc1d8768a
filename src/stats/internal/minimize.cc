#include "stats/internal/minimize.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

namespace rapport::stats::internal {
namespace {

class Counted {
 public:
  Counted(const std::function<double(std::span<const double>)>& f, int budget)
      : f_(f), budget_(budget) {}
  double operator()(const Eigen::VectorXd& x) {
    ++evaluations_;
    const double value = f_(std::span<const double>(x.data(), static_cast<size_t>(x.size())));
    return std::isnan(value) ? std::numeric_limits<double>::infinity() : value;
  }
  bool exhausted() const { return evaluations_ >= budget_; }
  int evaluations() const { return evaluations_; }

 private:
  const std::function<double(std::span<const double>)>& f_;
  int budget_;
  int evaluations_ = 0;
};

// Central differences, or second-order one-sided differences where the central stencil would
// leave the feasible region. The step balances truncation error against the rounding noise of
// the criterion (about 1e-13 relative).
Eigen::VectorXd Gradient(Counted& f, const Eigen::VectorXd& x, double fx,
                         const Eigen::VectorXd& lower) {
  Eigen::VectorXd g(x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double h = 2e-5 * std::max(1.0, std::abs(x[i]));
    Eigen::VectorXd probe = x;
    if (x[i] - h >= lower[i]) {
      probe[i] = x[i] + h;
      const double up = f(probe);
      probe[i] = x[i] - h;
      const double down = f(probe);
      g[i] = (up - down) / (2 * h);
    } else {
      probe[i] = x[i] + h;
      const double one = f(probe);
      probe[i] = x[i] + 2 * h;
      const double two = f(probe);
      g[i] = (-3 * fx + 4 * one - two) / (2 * h);
    }
  }
  return g;
}

}  // namespace

MinimizeResult MinimizeBounded(const std::function<double(std::span<const double>)>& f,
                               std::vector<double> start, const std::vector<double>& lower_bounds,
                               const MinimizeOptions& options) {
  const Eigen::Index n = static_cast<Eigen::Index>(start.size());
  const Eigen::VectorXd lower = Eigen::Map<const Eigen::VectorXd>(lower_bounds.data(), n);
  Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(start.data(), n).cwiseMax(lower);
  Counted count(f, options.max_evaluations);

  double fx = count(x);
  Eigen::VectorXd g = Gradient(count, x, fx, lower);
  Eigen::MatrixXd h_inv = Eigen::MatrixXd::Identity(n, n);
  bool fresh = true;  // h_inv is the identity: scale the first step
  if (options.inverse_hessian.size() == static_cast<size_t>(n * n)) {
    h_inv =
        Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            options.inverse_hessian.data(), n, n);
    fresh = false;
  }
  int stalls = 0;
  bool converged = false;

  for (int round = 0; round < 8; ++round) {
    while (!count.exhausted()) {
      // Active set: variables at their bound whose gradient pushes them further out.
      Eigen::VectorXd free = Eigen::VectorXd::Ones(n);
      for (Eigen::Index i = 0; i < n; ++i) {
        if (x[i] <= lower[i] && g[i] > 0) free[i] = 0;
      }
      const Eigen::VectorXd g_free = g.cwiseProduct(free);
      if (g_free.lpNorm<Eigen::Infinity>() == 0) {
        converged = true;
        break;
      }
      Eigen::VectorXd d = -(free.asDiagonal() * h_inv * free.asDiagonal()) * g;
      if (g_free.dot(d) >= 0) {
        h_inv.setIdentity();
        fresh = true;
        d = -g_free;
      }
      double alpha = 1;
      const double longest = d.lpNorm<Eigen::Infinity>();
      if (fresh) alpha = std::min(1.0, 0.5 / longest);
      if (alpha * longest > 10) alpha = 10 / longest;

      // Backtracking (Armijo) along the projected path.
      Eigen::VectorXd x_new;
      double f_new = 0;
      bool accepted = false;
      for (int attempt = 0; attempt < 60 && !count.exhausted(); ++attempt) {
        x_new = (x + alpha * d).cwiseMax(lower);
        f_new = count(x_new);
        const double slope = g.dot(x_new - x);
        if (f_new <= fx + 1e-4 * slope) {
          accepted = true;
          break;
        }
        // Minimiser of the quadratic through f(0), f'(0) and f(alpha), kept in [0.1, 0.5] alpha.
        const double denominator = 2 * (f_new - fx - slope);
        double next = 0.5 * alpha;
        if (std::isfinite(f_new) && denominator > 0) next = -slope * alpha / denominator;
        alpha = std::clamp(next, 0.1 * alpha, 0.5 * alpha);
      }
      if (!accepted) {
        if (!fresh) {  // the quasi-Newton model misleads: restart from steepest descent
          h_inv.setIdentity();
          fresh = true;
          continue;
        }
        converged = true;  // no descent is possible at the resolution of f
        break;
      }
      const Eigen::VectorXd g_new = Gradient(count, x_new, f_new, lower);
      const Eigen::VectorXd s = x_new - x;
      const Eigen::VectorXd y = g_new - g;
      const double sy = s.dot(y);
      if (sy > 1e-12 * s.norm() * y.norm()) {
        if (fresh) h_inv *= sy / y.squaredNorm();
        const double rho = 1 / sy;
        const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(n, n);
        h_inv =
            (identity - rho * s * y.transpose()) * h_inv * (identity - rho * y * s.transpose()) +
            rho * s * s.transpose();
        fresh = false;
      }
      const double decrease = fx - f_new;
      x = x_new;
      fx = f_new;
      g = g_new;
      stalls = decrease <= options.relative_tolerance * std::abs(fx) ? stalls + 1 : 0;
      if (stalls >= 2) {
        converged = true;
        break;
      }
    }
    // A criterion that is even in a variable with a bound of 0 (the profiled mixed-model
    // criterion in each diagonal element of T) has zero slope there, so a step that lands on the
    // bound can stop on a saddle. Probe inside before accepting a bound: if moving off it lowers
    // f, restart the quasi-Newton search from the better point.
    if (!converged || count.exhausted()) break;
    bool released = false;
    for (Eigen::Index i = 0; i < n && !count.exhausted(); ++i) {
      if (!(x[i] <= lower[i]) || !std::isfinite(lower[i])) continue;
      for (const double offset : {1e-2, 1e-1}) {
        Eigen::VectorXd probe = x;
        probe[i] = lower[i] + offset * std::max(1.0, x.lpNorm<Eigen::Infinity>());
        const double f_probe = count(probe);
        if (f_probe < fx) {
          x = probe;
          fx = f_probe;
          released = true;
          break;
        }
      }
    }
    if (!released) break;
    converged = false;
    stalls = 0;
    g = Gradient(count, x, fx, lower);
    h_inv.setIdentity();
    fresh = true;
  }
  MinimizeResult result{std::vector<double>(x.data(), x.data() + n), fx, count.evaluations(),
                        converged, std::vector<double>(static_cast<size_t>(n * n))};
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      result.inverse_hessian.data(), n, n) = h_inv;
  return result;
}

}  // namespace rapport::stats::internal
