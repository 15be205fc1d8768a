#include "stats/omega.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace rapport::stats {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

constexpr double kPsiLower = 0.005;  // psych's fa bounds on the uniquenesses
constexpr double kPsiUpper = 1.0;

// The leading `factors` eigenvectors of s scaled by the root of their (non-negative)
// eigenvalues.
MatrixXd LeadingLoadings(const MatrixXd& s, int factors) {
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eigen(s);
  const Index k = s.rows();
  MatrixXd loadings(k, factors);
  for (int f = 0; f < factors; ++f) {
    const Index column = k - 1 - f;  // eigenvalues ascend
    loadings.col(f) =
        eigen.eigenvectors().col(column) * std::sqrt(std::max(eigen.eigenvalues()[column], 0.0));
  }
  return loadings;
}

// Minres (unweighted least squares) factor analysis of a correlation matrix: the uniquenesses
// Ψ solve diag(R − Ψ − LLᵀ) = 0 with L the leading loadings of R − Ψ, which is the stationary
// point of the profiled least-squares criterion (its gradient is −2 diag(R − Ψ − LLᵀ)). Started,
// as psych's fa, at Ψ = 1 − SMC; iterated to a change below 1e-13.
Result<MatrixXd> Minres(const MatrixXd& r, int factors) {
  const Index k = r.rows();
  const Eigen::LDLT<MatrixXd> ldlt(r);
  VectorXd psi(k);
  const MatrixXd inverse = ldlt.solve(MatrixXd::Identity(k, k));
  for (Index i = 0; i < k; ++i) {
    const double smc = 1 - 1 / inverse(i, i);
    psi[i] = std::clamp(std::isfinite(smc) ? 1 - smc : 0.5, kPsiLower, kPsiUpper);
  }
  MatrixXd loadings;
  for (int iteration = 0; iteration < 200'000; ++iteration) {
    MatrixXd s = r;
    s.diagonal() -= psi;
    loadings = LeadingLoadings(s, factors);
    VectorXd next = r.diagonal() - loadings.rowwise().squaredNorm();
    for (Index i = 0; i < k; ++i) next[i] = std::clamp(next[i], kPsiLower, kPsiUpper);
    const double change = (next - psi).cwiseAbs().maxCoeff();
    psi = next;
    if (change < 1e-13) {
      MatrixXd final_s = r;
      final_s.diagonal() -= psi;
      return LeadingLoadings(final_s, factors);
    }
  }
  return InvalidArgument("the minres factor analysis did not converge");
}

// Kaiser-normalised varimax (Kaiser 1958), the SVD iteration of R's stats::varimax.
MatrixXd Varimax(const MatrixXd& loadings) {
  const Index p = loadings.rows();
  const Index q = loadings.cols();
  if (q < 2) return loadings;
  const VectorXd scale = loadings.rowwise().norm();
  const MatrixXd x = scale.cwiseInverse().asDiagonal() * loadings;
  MatrixXd rotation = MatrixXd::Identity(q, q);
  double d = 0;
  for (int iteration = 0; iteration < 1000; ++iteration) {
    const MatrixXd z = x * rotation;
    const VectorXd column_ss = z.colwise().squaredNorm();
    const MatrixXd b = x.transpose() * (z.array().cube().matrix() -
                                        z * column_ss.asDiagonal() / static_cast<double>(p));
    const Eigen::JacobiSVD<MatrixXd> svd(b, Eigen::ComputeFullU | Eigen::ComputeFullV);
    rotation = svd.matrixU() * svd.matrixV().transpose();
    const double previous = d;
    d = svd.singularValues().sum();
    if (d < previous * (1 + 1e-10)) break;
  }
  return scale.asDiagonal() * (x * rotation);
}

// Quartimin (oblimin with γ = 0) criterion of loadings l and its gradient dQ/dL.
double Quartimin(const MatrixXd& l, MatrixXd& gradient) {
  const MatrixXd l2 = l.array().square().matrix();
  const Index q = l.cols();
  const MatrixXd off = MatrixXd::Ones(q, q) - MatrixXd::Identity(q, q);
  const MatrixXd l2n = l2 * off;
  gradient = (l.array() * l2n.array()).matrix();
  return (l2.array() * l2n.array()).sum() / 4;
}

// Oblique gradient projection rotation (Bernaards & Jennrich 2005, GPFoblq) from T = I:
// pattern L = A (Tᵀ)⁻¹, factor correlations Φ = TᵀT, T with unit-length columns.
Status Oblimin(const MatrixXd& a, MatrixXd& pattern, MatrixXd& phi) {
  const Index q = a.cols();
  MatrixXd t = MatrixXd::Identity(q, q);
  MatrixXd l = a;
  MatrixXd gq;
  double f = Quartimin(l, gq);
  MatrixXd g = -(l.transpose() * gq * t.inverse()).transpose();
  double step = 1;
  for (int iteration = 0; iteration < 100'000; ++iteration) {
    const VectorXd diag = (t.array() * g.array()).colwise().sum().transpose();
    const MatrixXd projected = g - t * diag.asDiagonal();
    const double s = projected.norm();
    if (s < 1e-7) {
      pattern = l;
      phi = t.transpose() * t;
      return Status::Ok();
    }
    step *= 2;
    MatrixXd t_next, l_next, gq_next;
    double f_next = f;
    for (int halving = 0; halving <= 10; ++halving) {
      MatrixXd x = t - step * projected;
      const VectorXd norms = x.colwise().norm();
      t_next = x * norms.cwiseInverse().asDiagonal();
      l_next = a * t_next.inverse().transpose();
      f_next = Quartimin(l_next, gq_next);
      if (f_next < f - 0.5 * s * s * step) break;
      step /= 2;
    }
    t = t_next;
    l = l_next;
    f = f_next;
    g = -(l.transpose() * gq_next * t.inverse()).transpose();
  }
  return InvalidArgument("the oblimin rotation did not converge");
}

}  // namespace

Result<Eigen::MatrixXd> PairwiseCorrelation(const Eigen::MatrixXd& answers) {
  const Index k = answers.cols();
  MatrixXd r = MatrixXd::Identity(k, k);
  for (Index a = 0; a < k; ++a) {
    for (Index b = a + 1; b < k; ++b) {
      double sa = 0, sb = 0, count = 0;
      for (Index row = 0; row < answers.rows(); ++row) {
        if (std::isnan(answers(row, a)) || std::isnan(answers(row, b))) continue;
        sa += answers(row, a);
        sb += answers(row, b);
        ++count;
      }
      if (count < 2) {
        return InvalidArgument("items " + std::to_string(a + 1) + " and " + std::to_string(b + 1) +
                               " have fewer than 2 respondents in common");
      }
      const double ma = sa / count, mb = sb / count;
      double saa = 0, sbb = 0, sab = 0;
      for (Index row = 0; row < answers.rows(); ++row) {
        if (std::isnan(answers(row, a)) || std::isnan(answers(row, b))) continue;
        const double da = answers(row, a) - ma, db = answers(row, b) - mb;
        saa += da * da;
        sbb += db * db;
        sab += da * db;
      }
      if (!(saa > 0) || !(sbb > 0)) {
        return InvalidArgument("items " + std::to_string(a + 1) + " and " + std::to_string(b + 1) +
                               " have no variance where both are answered");
      }
      r(a, b) = r(b, a) = sab / std::sqrt(saa * sbb);
    }
  }
  return r;
}

Result<Omega> McDonaldOmega(const Eigen::MatrixXd& correlation, int factors) {
  const Index k = correlation.rows();
  if (correlation.cols() != k || !correlation.allFinite() ||
      !correlation.isApprox(correlation.transpose(), 1e-10)) {
    return InvalidArgument("omega needs a finite symmetric correlation matrix");
  }
  if (k < 3) return InvalidArgument("omega needs at least 3 items");
  if (factors < 1 || factors >= k) {
    return InvalidArgument("omega needs 1 to " + std::to_string(k - 1) + " group factors for " +
                           std::to_string(k) + " items");
  }
  if (!(correlation.diagonal().array() > 0).all()) {
    return InvalidArgument("an item has no variance");
  }
  // cov2cor, as psych::omega does for a covariance matrix.
  const VectorXd inverse_sd = correlation.diagonal().cwiseSqrt().cwiseInverse();
  const MatrixXd r = inverse_sd.asDiagonal() * correlation * inverse_sd.asDiagonal();

  RAPPORT_ASSIGN_OR_RETURN(const MatrixXd unrotated, Minres(r, factors));
  Omega omega;
  omega.communality = unrotated.rowwise().squaredNorm();
  VectorXd general;
  if (factors == 1) {
    general = unrotated.col(0);
    omega.phi = MatrixXd::Identity(1, 1);
  } else {
    MatrixXd pattern;
    RAPPORT_RETURN_IF_ERROR(Oblimin(Varimax(unrotated), pattern, omega.phi));
    VectorXd gamma(factors);
    if (factors == 2) {
      const double phi12 = omega.phi(0, 1);
      gamma << std::sqrt(std::abs(phi12)), (phi12 < 0 ? -1 : 1) * std::sqrt(std::abs(phi12));
    } else {
      RAPPORT_ASSIGN_OR_RETURN(const MatrixXd second, Minres(omega.phi, 1));
      gamma = second.col(0);
    }
    general = pattern * gamma;  // Schmid–Leiman general-factor loadings
  }
  // psych's flip: reverse the items with negative general loadings.
  VectorXd key(k);
  for (Index i = 0; i < k; ++i) key[i] = general[i] < 0 ? -1 : 1;
  const MatrixXd reversed = key.asDiagonal() * r * key.asDiagonal();
  const double vt = reversed.sum();
  const double kd = static_cast<double>(k);
  omega.general = general.cwiseAbs();
  omega.omega_hierarchical = std::pow(omega.general.sum(), 2) / vt;
  omega.omega_total = (vt - (1 - omega.communality.array()).sum()) / vt;
  omega.alpha = kd / (kd - 1) * (vt - reversed.trace()) / vt;
  return omega;
}

}  // namespace rapport::stats
