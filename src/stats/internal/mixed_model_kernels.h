// The kernels of the mixed model as templates on their shape (mixed_model_kernel.h), included
// only by the translation units that compile them (mixed_model_kernels_<K>.cc).
#pragma once

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <numbers>
#include <type_traits>
#include <vector>

#include "stats/internal/mixed_model_kernel.h"

namespace rapport::stats::internal::kernels {
// Internal linkage, as when the kernels were private to one file: each includer instantiates
// the shapes of its own K only, and GCC inlines them as it did there.
namespace {

using DynP =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, kMaxFixed, kMaxFixed>;
using VecP = Eigen::Matrix<double, Eigen::Dynamic, 1, Eigen::ColMajor, kMaxFixed, 1>;
// R rows by p columns (Eigen requires row-major storage for a single row); with the number of
// fixed effects known at compile time (P != Eigen::Dynamic) the per-client kernel unrolls
// completely.
template <int R, int P>
using RowsP = Eigen::Matrix<double, R, P, (R == 1 && P != 1) ? Eigen::RowMajor : Eigen::ColMajor, R,
                            P == Eigen::Dynamic ? kMaxFixed : P>;
template <int P>
using SquareP = Eigen::Matrix<double, P, P, Eigen::ColMajor, P == Eigen::Dynamic ? kMaxFixed : P,
                              P == Eigen::Dynamic ? kMaxFixed : P>;
template <int P>
using ColumnP =
    Eigen::Matrix<double, P, 1, Eigen::ColMajor, P == Eigen::Dynamic ? kMaxFixed : P, 1>;

// The lower-triangular block T of a term from its slice of θ (SCIENCE.md §10.1: the lower
// triangle in column-major order; a diagonal term has only the diagonal).
template <int K>
Eigen::Matrix<double, K, K> BuildT(const double* theta, CovarianceStructure covariance) {
  Eigen::Matrix<double, K, K> t = Eigen::Matrix<double, K, K>::Zero();
  int index = 0;
  for (int col = 0; col < K; ++col) {
    if (covariance == CovarianceStructure::kDiagonal) {
      t(col, col) = theta[index++];
    } else {
      for (int row = col; row < K; ++row) t(row, col) = theta[index++];
    }
  }
  return t;
}

// Accumulates log of a product of factors >= 1 with few logarithms.
class LogProduct {
 public:
  void Multiply(double factor) {
    if (factor > 1e50) {
      log_ += std::log(factor);
      return;
    }
    product_ *= factor;
    if (product_ > 1e250) {
      log_ += std::log(product_);
      product_ = 1;
    }
  }
  double Log() const { return log_ + std::log(product_); }

 private:
  double product_ = 1;
  double log_ = 0;
};

// Cholesky factorisation of a small symmetric positive-definite matrix in place: the lower
// triangle becomes L with L Lᵀ = A (the strict upper triangle is set to 0). Returns false when A
// is not positive definite. Written out because Eigen's general LLT and triangular solvers do
// not inline for 2×2 blocks, and this loop runs once per client per evaluation.
template <int K>
bool SmallCholesky(Eigen::Matrix<double, K, K>& a) {
  for (int j = 0; j < K; ++j) {
    double diagonal = a(j, j);
    for (int c = 0; c < j; ++c) diagonal -= a(j, c) * a(j, c);
    if (!(diagonal > 0)) return false;
    diagonal = std::sqrt(diagonal);
    a(j, j) = diagonal;
    for (int i = j + 1; i < K; ++i) {
      double value = a(i, j);
      for (int c = 0; c < j; ++c) value -= a(i, c) * a(j, c);
      a(i, j) = value / diagonal;
      a(j, i) = 0;
    }
  }
  return true;
}

// Solves L X = B in place for a lower-triangular K×K factor L (forward substitution).
template <int K, typename Matrix>
void SolveLower(const Eigen::Matrix<double, K, K>& l, Matrix& b) {
  for (Eigen::Index col = 0; col < b.cols(); ++col) {
    for (int i = 0; i < K; ++i) {
      double value = b(i, col);
      for (int c = 0; c < i; ++c) value -= l(i, c) * b(c, col);
      b(i, col) = value / l(i, i);
    }
  }
}

// What the final pass keeps per inner position and per outer level.
template <int K, int KT, int P = Eigen::Dynamic>
struct Factors {
  static constexpr int KO = KT > 0 ? KT : 1;  // storage shape when there is no outer term
  std::vector<Eigen::Matrix<double, K, K>> l_inner;
  std::vector<Eigen::Matrix<double, K, 1>> c_inner;
  std::vector<RowsP<K, P>> r_inner;
  std::vector<Eigen::Matrix<double, K, KO>> e_inner;
  std::vector<Eigen::Matrix<double, KO, KO>> l_outer;
  std::vector<Eigen::Matrix<double, KO, 1>> c_outer;
  std::vector<RowsP<KO, P>> r_outer;
};

struct PassResult {
  double objective = std::numeric_limits<double>::infinity();
  double r2 = 0;
  DynP schur_xtx;  // R_Xᵀ R_X
  VecP c_beta;
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor, kMaxFixed, kMaxFixed>
      l_x;  // lower Cholesky factor of schur_xtx (= R_Xᵀ)
};

// One evaluation of the profiled criterion (SCIENCE.md §10.2) from the sufficient statistics.
// Block Cholesky of Λᵀ Zᵀ Z Λ + I with inner levels first and outer levels last (the order of
// lme4's terms), P = identity:
//   inner block i:   L_i L_iᵀ = T_cᵀ (ZᵀZ)_i T_c + I
//   coupling:        E_i = L_i⁻¹ T_cᵀ (ZᵀW)_i T_t           (the (j, i) block of L is E_iᵀ)
//   outer block j:   L_j L_jᵀ = T_tᵀ (WᵀW)_j T_t + I − Σ_{i in j} E_iᵀ E_i
// with c_u and R_ZX eliminated the same way, then R_Xᵀ R_X = XᵀX − R_ZXᵀ R_ZX and
// r² = yᵀy − ‖c_u‖² − ‖c_β‖².
template <int K, int KT, int P>
PassResult Pass(const MixedModelKernel& m, const double* theta, Criterion criterion,
                Factors<K, KT, P>* factors) {
  using MatK = Eigen::Matrix<double, K, K>;
  using VecK = Eigen::Matrix<double, K, 1>;
  using MatKP = RowsP<K, P>;
  constexpr int KO = KT > 0 ? KT : 1;  // storage shape when there is no outer term
  using MatT = Eigen::Matrix<double, KO, KO>;
  using VecT = Eigen::Matrix<double, KO, 1>;
  using MatTP = RowsP<KO, P>;
  using MatKT = Eigen::Matrix<double, K, KO>;

  const int p = m.p;
  const MatK tc = BuildT<K>(theta, m.inner_covariance);
  MatT tt = MatT::Zero();
  if constexpr (KT > 0) tt = BuildT<KT>(theta + m.InnerThetaSize(), m.outer_covariance);

  PassResult result;
  SquareP<P> schur_xtx = m.xtx;
  ColumnP<P> xty = m.xty;
  double ssc = 0;  // ‖c_u‖²
  LogProduct det;  // |L|
  const size_t outer_levels = m.outer_begin.size() - 1;
  if (factors != nullptr) {
    const size_t inner_levels = m.order.size();
    factors->l_inner.resize(inner_levels);
    factors->c_inner.resize(inner_levels);
    factors->r_inner.resize(inner_levels);
    if constexpr (KT > 0) {
      factors->e_inner.resize(inner_levels);
      factors->l_outer.resize(outer_levels);
      factors->c_outer.resize(outer_levels);
      factors->r_outer.resize(outer_levels);
    }
  }

  for (size_t outer = 0; outer < outer_levels; ++outer) {
    MatT d;
    VecT dy;
    MatTP dx(KO, p);
    if constexpr (KT > 0) {
      const double* s = m.outer_stats.data() + outer * m.outer_stride;
      const Eigen::Map<const MatT> wtw(s);
      const Eigen::Map<const RowsP<KT, P>> wtx(s + KT * KT, KT, p);
      const Eigen::Map<const VecT> wty(s + KT * KT + KT * p);
      d = tt.transpose() * wtw * tt;
      d += MatT::Identity();
      dy = tt.transpose() * wty;
      dx = tt.transpose() * wtx;
    }
    for (int64_t position = m.outer_begin[outer]; position < m.outer_begin[outer + 1]; ++position) {
      const double* s = m.client_stats.data() + static_cast<size_t>(position) * m.client_stride;
      const Eigen::Map<const MatK> ztz(s);
      const Eigen::Map<const RowsP<K, P>> ztx(s + K * K, K, p);
      const Eigen::Map<const VecK> zty(s + K * K + K * p);
      MatK l = (tc.transpose() * ztz * tc).eval();
      l += MatK::Identity();
      SmallCholesky<K>(l);  // cannot fail: Tᵀ ZᵀZ T + I >= I
      double diagonal_product = 1;
      for (int index = 0; index < K; ++index) diagonal_product *= l(index, index);
      det.Multiply(diagonal_product);
      VecK c = (tc.transpose() * zty).eval();
      SolveLower<K>(l, c);
      MatKP r = (tc.transpose() * ztx).eval();
      SolveLower<K>(l, r);
      ssc += c.squaredNorm();
      schur_xtx.noalias() -= r.transpose() * r;
      xty.noalias() -= r.transpose() * c;
      if constexpr (KT > 0) {
        const Eigen::Map<const Eigen::Matrix<double, K, KT>> ztw(s + K * K + K * p + K);
        MatKT e = (tc.transpose() * ztw * tt).eval();
        SolveLower<K>(l, e);
        d.noalias() -= e.transpose() * e;
        dy.noalias() -= e.transpose() * c;
        dx.noalias() -= e.transpose() * r;
        if (factors != nullptr) factors->e_inner[static_cast<size_t>(position)] = e;
      }
      if (factors != nullptr) {
        factors->l_inner[static_cast<size_t>(position)] = l;
        factors->c_inner[static_cast<size_t>(position)] = c;
        factors->r_inner[static_cast<size_t>(position)] = r;
      }
    }
    if constexpr (KT > 0) {
      MatT l = d;
      if (!SmallCholesky<KT>(l)) return result;  // only by rounding: the Schur complement is >= I
      double diagonal_product = 1;
      for (int index = 0; index < KT; ++index) diagonal_product *= l(index, index);
      det.Multiply(diagonal_product);
      VecT c = dy;
      SolveLower<KT>(l, c);
      MatTP r = dx;
      SolveLower<KT>(l, r);
      ssc += c.squaredNorm();
      schur_xtx.noalias() -= r.transpose() * r;
      xty.noalias() -= r.transpose() * c;
      if (factors != nullptr) {
        factors->l_outer[outer] = l;
        factors->c_outer[outer] = c;
        factors->r_outer[outer] = r;
      }
    }
  }

  // Element by element: GCC 12 takes Eigen's packet copy out of a 1×1 fixed-size matrix for a
  // read past its end (-Warray-bounds), on a path that never runs for one element.
  result.schur_xtx.resize(p, p);
  for (int col = 0; col < p; ++col) {
    for (int row = 0; row < p; ++row) result.schur_xtx(row, col) = schur_xtx(row, col);
  }
  const Eigen::LLT<DynP> llt_x(result.schur_xtx);
  if (llt_x.info() != Eigen::Success) return result;
  result.l_x = llt_x.matrixL();
  result.c_beta = llt_x.matrixL().solve(xty);
  double log_rx = 0;
  for (int index = 0; index < p; ++index) log_rx += std::log(result.l_x(index, index));
  result.r2 = m.yty - ssc - result.c_beta.squaredNorm();
  if (!(result.r2 > 0)) return result;
  const double log_l2 = 2 * det.Log();
  const double two_pi = 2 * std::numbers::pi;
  if (criterion == Criterion::kMl) {
    const double n = static_cast<double>(m.n);
    result.objective = log_l2 + n * (1 + std::log(two_pi * result.r2 / n));
  } else {
    const double dof = static_cast<double>(m.n - p);
    result.objective = log_l2 + 2 * log_rx + dof * (1 + std::log(two_pi * result.r2 / dof));
  }
  return result;
}

// Estimates at θ̂ from the stored factors: β̂, vcov, σ̂², variance components, and (optionally)
// the conditional modes with their conditional SDs.
template <int K, int KT, int P>
void Finish(const MixedModelKernel& m, const double* theta, Criterion criterion,
            bool random_effects, MixedModelFit& fit) {
  // The per-client factors are kept only for the conditional modes.
  Factors<K, KT, P> factors;
  const PassResult pass = Pass<K, KT, P>(m, theta, criterion, random_effects ? &factors : nullptr);
  const int p = m.p;
  const double n = static_cast<double>(m.n);
  fit.objective = pass.objective;
  fit.sigma2 = pass.r2 / (criterion == Criterion::kMl ? n : n - p);
  const VecP beta_centred =
      pass.l_x.transpose().template triangularView<Eigen::Upper>().solve(pass.c_beta);
  fit.beta = beta_centred;
  if (m.intercept_column >= 0) fit.beta[m.intercept_column] += m.y_shift;
  const DynP identity = DynP::Identity(p, p);
  const DynP rx_inverse =
      pass.l_x.transpose().template triangularView<Eigen::Upper>().solve(identity);
  fit.beta_covariance = fit.sigma2 * rx_inverse * rx_inverse.transpose();

  using MatK = Eigen::Matrix<double, K, K>;
  const MatK tc = BuildT<K>(theta, m.inner_covariance);
  fit.components.push_back(
      {m.inner_names.factor, m.inner_names.names, fit.sigma2 * tc * tc.transpose()});
  constexpr int KO = KT > 0 ? KT : 1;
  Eigen::Matrix<double, KO, KO> tt = Eigen::Matrix<double, KO, KO>::Zero();
  if constexpr (KT > 0) {
    tt = BuildT<KT>(theta + m.InnerThetaSize(), m.outer_covariance);
    fit.components.push_back(
        {m.outer_names->factor, m.outer_names->names, fit.sigma2 * tt * tt.transpose()});
  }
  if (!random_effects) return;

  const size_t outer_levels = m.outer_begin.size() - 1;
  const double sigma = std::sqrt(fit.sigma2);
  RandomEffects inner{m.inner_names.factor, m.inner_names.names, m.inner_names.level_names,
                      Eigen::MatrixXd(static_cast<Eigen::Index>(m.order.size()), K),
                      Eigen::MatrixXd(static_cast<Eigen::Index>(m.order.size()), K)};
  RandomEffects outer;
  std::vector<Eigen::Matrix<double, KO, KO>> outer_inverse(outer_levels);  // (L_j L_jᵀ)⁻¹
  std::vector<Eigen::Matrix<double, KO, 1>> outer_u(outer_levels);
  if constexpr (KT > 0) {
    outer = {m.outer_names->factor, m.outer_names->names, m.outer_names->level_names,
             Eigen::MatrixXd(static_cast<Eigen::Index>(outer_levels), KT),
             Eigen::MatrixXd(static_cast<Eigen::Index>(outer_levels), KT)};
    for (size_t j = 0; j < outer_levels; ++j) {
      const auto& l = factors.l_outer[j];
      // Lᵀ u = c − R_ZX β, outer block first (it is last in the factor).
      outer_u[j] = l.transpose().template triangularView<Eigen::Upper>().solve(
          factors.c_outer[j] - factors.r_outer[j] * beta_centred);
      const Eigen::Matrix<double, KT, KT> l_inverse =
          l.template triangularView<Eigen::Lower>().solve(
              Eigen::Matrix<double, KT, KT>::Identity());
      outer_inverse[j] = l_inverse.transpose() * l_inverse;
      const auto i = static_cast<Eigen::Index>(j);
      outer.modes.row(i) = (tt * outer_u[j]).transpose();
      outer.cond_sd.row(i) =
          (sigma * (tt * outer_inverse[j] * tt.transpose()).diagonal().cwiseSqrt()).transpose();
    }
  }
  for (size_t j = 0; j < outer_levels; ++j) {
    for (int64_t position = m.outer_begin[j]; position < m.outer_begin[j + 1]; ++position) {
      const auto at = static_cast<size_t>(position);
      const MatK& l = factors.l_inner[at];
      Eigen::Matrix<double, K, 1> rhs = factors.c_inner[at] - factors.r_inner[at] * beta_centred;
      const MatK l_inverse = l.template triangularView<Eigen::Lower>().solve(MatK::Identity());
      MatK inverse = l_inverse.transpose() * l_inverse;
      if constexpr (KT > 0) {
        rhs -= factors.e_inner[at] * outer_u[j];
        const Eigen::Matrix<double, K, KT> g = l_inverse.transpose() * factors.e_inner[at];
        inverse += g * outer_inverse[j] * g.transpose();
      }
      const Eigen::Matrix<double, K, 1> u =
          l.transpose().template triangularView<Eigen::Upper>().solve(rhs);
      const auto level = static_cast<Eigen::Index>(m.order[at]);
      inner.modes.row(level) = (tc * u).transpose();
      inner.cond_sd.row(level) =
          (sigma * (tc * inverse * tc.transpose()).diagonal().cwiseSqrt()).transpose();
    }
  }
  fit.random_effects.push_back(std::move(inner));
  if constexpr (KT > 0) fit.random_effects.push_back(std::move(outer));
}

// The gradient of tr(T · S) in one term's slice of θ: the element for T(row, col) is
// S(col, row).
template <int K, typename Matrix>
void TermGradient(const Matrix& s, CovarianceStructure covariance, double* gradient) {
  int index = 0;
  for (int col = 0; col < K; ++col) {
    if (covariance == CovarianceStructure::kDiagonal) {
      gradient[index++] = s(col, col);
    } else {
      for (int row = col; row < K; ++row) gradient[index++] = s(col, row);
    }
  }
}

// The profiled criterion and its gradient in θ, from one factorisation and one backward pass.
//
// With M = Λ̃ᵀ C Λ̃ + diag(I, 0) the system matrix of (u, β) (C = [Z X]ᵀ[Z X], Λ̃ = diag(Λθ, I)),
// log|L|² + log|R_X|² = log|M| and d log|M| = 2 tr(M⁻¹ Λ̃ᵀ C dΛ̃), which needs only the blocks of
// M⁻¹ on the pattern of its Cholesky factor: they follow from the factor by the Takahashi
// recursion (Takahashi, Fagan & Chin 1973; Erisman & Tinney 1975), from β back to the clients.
// The ML deviance needs d log|L|² instead: the same recursion on ΛᵀZᵀZΛ + I alone (no β rows).
// For the penalised residual r²(θ) = min ‖y − Xβ − ZΛu‖² + ‖u‖² the envelope theorem gives
// dr² = −2 (y − Xβ̂ − ZΛû)ᵀ Z dΛ û. Cost: about three evaluations of the criterion, against
// 2·dim θ for central differences.
template <int K, int KT, int P>
double ObjectiveAndGradient(const MixedModelKernel& m, const double* theta, Criterion criterion,
                            double* gradient) {
  using MatK = Eigen::Matrix<double, K, K>;
  using VecK = Eigen::Matrix<double, K, 1>;
  constexpr int KO = KT > 0 ? KT : 1;
  using MatT = Eigen::Matrix<double, KO, KO>;
  using VecT = Eigen::Matrix<double, KO, 1>;
  using MatKT = Eigen::Matrix<double, K, KO>;
  using MatTK = Eigen::Matrix<double, KO, K>;
  using MatPK = RowsP<P, K>;   // p × k
  using MatPT = RowsP<P, KO>;  // p × kt
  using MatPP = SquareP<P>;
  using VecPP = ColumnP<P>;

  const int p = m.p;
  Factors<K, KT, P> factors;
  const PassResult pass = Pass<K, KT, P>(m, theta, criterion, &factors);
  if (!std::isfinite(pass.objective)) {
    std::fill(gradient, gradient + m.InnerThetaSize() + m.OuterThetaSize(), 0.0);
    return pass.objective;
  }

  const bool reml = criterion == Criterion::kReml;
  const MatK tc = BuildT<K>(theta, m.inner_covariance);
  MatT tt = MatT::Zero();
  if constexpr (KT > 0) tt = BuildT<KT>(theta + m.InnerThetaSize(), m.outer_covariance);

  // β̂ (for the centred response) and Σ_ββ = (R_Xᵀ R_X)⁻¹; Σ_ββ enters log|M| only under REML.
  const SquareP<P> l_x = pass.l_x;
  const VecPP beta = l_x.transpose().template triangularView<Eigen::Upper>().solve(pass.c_beta);
  MatPP sigma_bb = MatPP::Zero(p, p);
  if (reml) {
    const MatPP l_x_inverse =
        l_x.template triangularView<Eigen::Lower>().solve(MatPP::Identity(p, p));
    sigma_bb = l_x_inverse.transpose() * l_x_inverse;
  }

  MatK s_c = MatK::Zero();  // Σ_i [M⁻¹ Λ̃ᵀ C] client blocks
  MatK q_c = MatK::Zero();  // Σ_i û_i (Z_iᵀ res)ᵀ
  MatT s_t = MatT::Zero();
  MatT q_t = MatT::Zero();
  const size_t outer_levels = m.outer_begin.size() - 1;
  for (size_t outer = 0; outer < outer_levels; ++outer) {
    VecT v = VecT::Zero();
    MatT sigma_vv = MatT::Zero();
    MatPT sigma_bv = MatPT::Zero(p, KO);
    MatT l_outer_inverse = MatT::Zero();
    const double* w = nullptr;
    if constexpr (KT > 0) {
      w = m.outer_stats.data() + outer * m.outer_stride;
      const MatT& l = factors.l_outer[outer];
      v = l.transpose().template triangularView<Eigen::Upper>().solve(
          factors.c_outer[outer] - factors.r_outer[outer] * beta);
      l_outer_inverse = l.template triangularView<Eigen::Lower>().solve(MatT::Identity());
      // Σ_βv = −Σ_ββ L_βv L_vv⁻¹ with L_βv = r_jᵀ; Σ_vv = L_vv⁻ᵀ (L_vv⁻¹ − L_βvᵀ Σ_βv).
      sigma_bv = -(sigma_bb * factors.r_outer[outer].transpose()) * l_outer_inverse;
      sigma_vv =
          l_outer_inverse.transpose() * (l_outer_inverse - factors.r_outer[outer] * sigma_bv);
    }
    VecT w_residual = VecT::Zero();  // W_jᵀ res
    MatT h = MatT::Zero();           // [M⁻¹ Λ̃ᵀ C] block of therapist j
    if constexpr (KT > 0) {
      const Eigen::Map<const MatT> wtw(w);
      const Eigen::Map<const RowsP<KT, P>> wtx(w + KT * KT, KT, p);
      const Eigen::Map<const VecT> wty(w + KT * KT + KT * p);
      w_residual = wty - wtx * beta - wtw * (tt * v);
      h = sigma_vv * tt.transpose() * wtw + sigma_bv.transpose() * wtx.transpose();
    }
    for (int64_t position = m.outer_begin[outer]; position < m.outer_begin[outer + 1]; ++position) {
      const auto at = static_cast<size_t>(position);
      const double* s = m.client_stats.data() + at * m.client_stride;
      const Eigen::Map<const MatK> ztz(s);
      const Eigen::Map<const RowsP<K, P>> ztx(s + K * K, K, p);
      const Eigen::Map<const VecK> zty(s + K * K + K * p);
      const MatK& l = factors.l_inner[at];
      const auto& r = factors.r_inner[at];
      const MatK l_inverse = l.template triangularView<Eigen::Lower>().solve(MatK::Identity());
      VecK rhs = factors.c_inner[at] - r * beta;
      // Σ_βu = −(Σ_βv L_vu + Σ_ββ L_βu) L_ii⁻¹ with L_vu = e_iᵀ, L_βu = r_iᵀ.
      MatPK sigma_bu = -(sigma_bb * r.transpose()) * l_inverse;
      MatTK sigma_vu = MatTK::Zero();
      MatK inside = l_inverse;  // L_ii⁻¹ − e_i Σ_vu − r_i Σ_βu
      if constexpr (KT > 0) {
        const MatKT& e = factors.e_inner[at];
        rhs -= e * v;
        sigma_bu.noalias() -= (sigma_bv * e.transpose()) * l_inverse;
        sigma_vu = -(sigma_vv * e.transpose() + sigma_bv.transpose() * r.transpose()) * l_inverse;
        inside.noalias() -= e * sigma_vu;
      }
      inside.noalias() -= r * sigma_bu;
      const MatK sigma_uu = l_inverse.transpose() * inside;
      const VecK u = l.transpose().template triangularView<Eigen::Upper>().solve(rhs);
      const VecK tu = tc * u;
      VecK z_residual = zty - ztx * beta - ztz * tu;
      MatK g = sigma_uu * tc.transpose() * ztz + sigma_bu.transpose() * ztx.transpose();
      if constexpr (KT > 0) {
        const Eigen::Map<const Eigen::Matrix<double, K, KT>> ztw(s + K * K + K * p + K);
        z_residual.noalias() -= ztw * (tt * v);
        g.noalias() += sigma_vu.transpose() * tt.transpose() * ztw.transpose();
        h.noalias() += sigma_vu * tc.transpose() * ztw;
        w_residual.noalias() -= ztw.transpose() * tu;
      }
      s_c += g;
      q_c.noalias() += u * z_residual.transpose();
    }
    if constexpr (KT > 0) {
      s_t += h;
      q_t.noalias() += v * w_residual.transpose();
    }
  }

  // d criterion = d log|M| (or d log|L|²) + dof / r² · d r², dof = n − p (REML) or n (ML).
  const double dof = static_cast<double>(reml ? m.n - p : m.n);
  const double residual_scale = dof / pass.r2;
  const MatK inner_total = 2 * s_c - 2 * residual_scale * q_c;
  TermGradient<K>(inner_total, m.inner_covariance, gradient);
  if constexpr (KT > 0) {
    const MatT outer_total = 2 * s_t - 2 * residual_scale * q_t;
    TermGradient<KT>(outer_total, m.outer_covariance, gradient + m.InnerThetaSize());
  }
  return pass.objective;
}

// One pass over the rows: the per-client and per-therapist sums of the header, and the
// per-client totals the warm start's subsample needs. Sizes known at compile time (K, KT and,
// unless Dynamic, P) let the loops unroll.
template <int K, int KT, int P>
void AccumulateRows(const MixedModelData& data, const std::vector<int64_t>& position_of,
                    MixedModelKernel& m) {
  const int p = P == Eigen::Dynamic ? m.p : P;
  const Eigen::Index n = data.y.size();
  double x_row[kMaxFixed];
  double z_row[K];
  double w_row[KT > 0 ? KT : 1];
  for (Eigen::Index row = 0; row < n; ++row) {
    const double y = data.y[row] - m.y_shift;
    for (int col = 0; col < p; ++col) x_row[col] = data.x(row, col);
    for (int a = 0; a < K; ++a) z_row[a] = data.inner.design(row, a);
    for (int a = 0; a < KT; ++a) w_row[a] = data.outer->design(row, a);
    const auto position = static_cast<size_t>(
        position_of[static_cast<size_t>(data.inner.level[static_cast<size_t>(row)])]);
    double* totals = m.client_totals.data() + position * m.totals_stride;
    for (int a = 0; a < p; ++a) {
      for (int b = 0; b < p; ++b) totals[a + b * p] += x_row[a] * x_row[b];
      totals[p * p + a] += x_row[a] * y;
    }
    totals[p * p + p] += y * y;
    totals[p * p + p + 1] += 1;
    double* s = m.client_stats.data() + position * m.client_stride;
    for (int a = 0; a < K; ++a) {
      const double z = z_row[a];
      for (int b = 0; b < K; ++b) s[a + b * K] += z * z_row[b];
      for (int col = 0; col < p; ++col) s[K * K + a + col * K] += z * x_row[col];
      s[K * K + K * p + a] += z * y;
      for (int b = 0; b < KT; ++b) s[K * K + K * p + K + a + b * K] += z * w_row[b];
    }
    if constexpr (KT > 0) {
      const auto outer = static_cast<size_t>(data.outer->level[static_cast<size_t>(row)]);
      double* t = m.outer_stats.data() + outer * m.outer_stride;
      for (int a = 0; a < KT; ++a) {
        const double w = w_row[a];
        for (int b = 0; b < KT; ++b) t[a + b * KT] += w * w_row[b];
        for (int col = 0; col < p; ++col) t[KT * KT + a + col * KT] += w * x_row[col];
        t[KT * KT + KT * p + a] += w * y;
      }
    }
  }
}

// The kernels of shape (K, KT, P) as plain functions.
template <int K, int KT, int P>
double Objective(const MixedModelKernel& m, const double* theta, Criterion criterion) {
  return Pass<K, KT, P>(m, theta, criterion, nullptr).objective;
}

template <int K, int KT, int P>
constexpr KernelFunctions kShape{&Objective<K, KT, P>, &ObjectiveAndGradient<K, KT, P>,
                                 &Finish<K, KT, P>, &AccumulateRows<K, KT, P>};

// KernelsFor(K, kt, p): fixed-size kernels for 1 to 4 fixed effects, one of dynamic size beyond.
template <int K, int KT>
const KernelFunctions& WithOuter(int p) {
  switch (p) {
    case 1: return kShape<K, KT, 1>;
    case 2: return kShape<K, KT, 2>;
    case 3: return kShape<K, KT, 3>;
    case 4: return kShape<K, KT, 4>;
    default: return kShape<K, KT, Eigen::Dynamic>;
  }
}

template <int K>
const KernelFunctions& WithInner(int kt, int p) {
  switch (kt) {
    case 1: return WithOuter<K, 1>(p);
    case 2: return WithOuter<K, 2>(p);
    default: return WithOuter<K, 0>(p);
  }
}

}  // namespace
}  // namespace rapport::stats::internal::kernels
