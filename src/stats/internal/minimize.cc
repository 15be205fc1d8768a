#include "stats/internal/minimize.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace rapport::stats::internal {
namespace {

// Counts evaluations and gives every point its value and gradient, analytic or by differences.
class Counted {
 public:
  Counted(const ValueFunction* f, const ValueAndGradientFunction* fg, Eigen::VectorXd lower,
          int budget)
      : f_(f), fg_(fg), lower_(std::move(lower)), budget_(budget) {}

  // f(x), and with an analytic gradient also ∇f(x) in `gradient` (else `gradient` is emptied).
  double Value(const Eigen::VectorXd& x, Eigen::VectorXd& gradient) {
    if (fg_ != nullptr) return ValueAndGradient(x, gradient);
    gradient.resize(0);
    return Call(x);
  }
  // Makes sure `gradient` holds ∇f at x, whose value Value gave as `fx`.
  void Complete(const Eigen::VectorXd& x, double fx, Eigen::VectorXd& gradient) {
    if (gradient.size() == x.size()) return;
    gradient = Differences(x, fx);
  }
  bool exhausted() const { return evaluations_ >= budget_; }
  int evaluations() const { return evaluations_; }

 private:
  double Call(const Eigen::VectorXd& x) {
    ++evaluations_;
    const double value = (*f_)(std::span<const double>(x.data(), static_cast<size_t>(x.size())));
    return std::isnan(value) ? std::numeric_limits<double>::infinity() : value;
  }
  double ValueAndGradient(const Eigen::VectorXd& x, Eigen::VectorXd& gradient) {
    ++evaluations_;
    gradient.resize(x.size());
    const double value =
        (*fg_)(std::span<const double>(x.data(), static_cast<size_t>(x.size())),
               std::span<double>(gradient.data(), static_cast<size_t>(gradient.size())));
    if (std::isnan(value) || !gradient.allFinite()) {
      gradient.setZero();
      return std::numeric_limits<double>::infinity();
    }
    return value;
  }
  // Central differences, or second-order one-sided differences where the central stencil
  // would leave the feasible region. The step balances truncation error against the rounding
  // noise of the criterion (about 1e-13 relative).
  Eigen::VectorXd Differences(const Eigen::VectorXd& x, double fx) {
    Eigen::VectorXd g(x.size());
    for (Eigen::Index i = 0; i < x.size(); ++i) {
      const double h = 2e-5 * std::max(1.0, std::abs(x[i]));
      Eigen::VectorXd probe = x;
      if (x[i] - h >= lower_[i]) {
        probe[i] = x[i] + h;
        const double up = Call(probe);
        probe[i] = x[i] - h;
        const double down = Call(probe);
        g[i] = (up - down) / (2 * h);
      } else {
        probe[i] = x[i] + h;
        const double one = Call(probe);
        probe[i] = x[i] + 2 * h;
        const double two = Call(probe);
        g[i] = (-3 * fx + 4 * one - two) / (2 * h);
      }
    }
    return g;
  }

  const ValueFunction* f_;
  const ValueAndGradientFunction* fg_;
  Eigen::VectorXd lower_;
  int budget_;
  int evaluations_ = 0;
};

MinimizeResult Minimize(const ValueFunction* value, const ValueAndGradientFunction* value_gradient,
                        std::vector<double> start, const std::vector<double>& lower_bounds,
                        const MinimizeOptions& options) {
  const Eigen::Index n = static_cast<Eigen::Index>(start.size());
  const Eigen::VectorXd lower = Eigen::Map<const Eigen::VectorXd>(lower_bounds.data(), n);
  Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(start.data(), n).cwiseMax(lower);
  Counted count(value, value_gradient, lower, options.max_evaluations);

  Eigen::VectorXd g;
  double fx = count.Value(x, g);
  count.Complete(x, fx, g);
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
      Eigen::VectorXd g_new;
      double f_new = 0;
      bool accepted = false;
      for (int attempt = 0; attempt < 60 && !count.exhausted(); ++attempt) {
        x_new = (x + alpha * d).cwiseMax(lower);
        f_new = count.Value(x_new, g_new);
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
      count.Complete(x_new, f_new, g_new);
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
      // The decrease the quadratic model still expects from a full step on the free variables:
      // once it is below the tolerance, further steps only chase the rounding noise of f.
      if (!fresh) {
        Eigen::VectorXd free_now = Eigen::VectorXd::Ones(n);
        for (Eigen::Index i = 0; i < n; ++i) {
          if (x[i] <= lower[i] && g[i] > 0) free_now[i] = 0;
        }
        const Eigen::VectorXd g_free_now = g.cwiseProduct(free_now);
        const double expected = 0.5 * g_free_now.dot(h_inv * g_free_now);
        if (expected >= 0 && expected <= options.expected_decrease_tolerance * (1 + std::abs(fx))) {
          converged = true;
          break;
        }
      }
    }
    // A criterion that is even in a variable bounded below by 0 (the profiled mixed-model
    // criterion in the one diagonal element of a single-covariate term) has zero slope there, so
    // a step that lands on the bound can stop on a saddle. Probe inside before accepting a
    // bound: if moving off it lowers f, search again from the better point.
    if (!converged || count.exhausted()) break;
    bool released = false;
    for (Eigen::Index i = 0; i < n && !count.exhausted(); ++i) {
      if (!(x[i] <= lower[i]) || !std::isfinite(lower[i])) continue;
      for (const double offset : {1e-2, 1e-1}) {
        Eigen::VectorXd probe = x;
        probe[i] = lower[i] + offset * std::max(1.0, x.lpNorm<Eigen::Infinity>());
        Eigen::VectorXd g_probe;
        const double f_probe = count.Value(probe, g_probe);
        if (f_probe < fx) {
          x = probe;
          fx = f_probe;
          g = g_probe;
          count.Complete(x, fx, g);
          released = true;
          break;
        }
      }
    }
    if (!released) break;
    converged = false;
    stalls = 0;
    h_inv.setIdentity();
    fresh = true;
  }
  MinimizeResult result{std::vector<double>(x.data(), x.data() + n), fx, count.evaluations(),
                        converged, std::vector<double>(static_cast<size_t>(n * n))};
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      result.inverse_hessian.data(), n, n) = h_inv;
  return result;
}

}  // namespace

MinimizeResult MinimizeBounded(const ValueFunction& f, std::vector<double> start,
                               const std::vector<double>& lower, const MinimizeOptions& options) {
  return Minimize(&f, nullptr, std::move(start), lower, options);
}

MinimizeResult MinimizeBounded(const ValueAndGradientFunction& f, std::vector<double> start,
                               const std::vector<double>& lower, const MinimizeOptions& options) {
  return Minimize(nullptr, &f, std::move(start), lower, options);
}

}  // namespace rapport::stats::internal
