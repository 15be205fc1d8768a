#include "stats/mixed_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <utility>

#include "stats/internal/minimize.h"

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

  result.schur_xtx = schur_xtx;
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

// Dispatch on the (inner, outer) term sizes to the fixed-size kernels.
template <typename F>
auto Dispatch(int k, int kt, F&& f) {
  const auto on_inner = [&](auto inner) {
    switch (kt) {
      case 1: return f(inner, std::integral_constant<int, 1>{});
      case 2: return f(inner, std::integral_constant<int, 2>{});
      default: return f(inner, std::integral_constant<int, 0>{});
    }
  };
  switch (k) {
    case 2: return on_inner(std::integral_constant<int, 2>{});
    case 3: return on_inner(std::integral_constant<int, 3>{});
    default: return on_inner(std::integral_constant<int, 1>{});
  }
}

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
  internal::Dispatch(k, kt, [&](auto k_value, auto kt_value) {
    constexpr int K = decltype(k_value)::value;
    constexpr int KT = decltype(kt_value)::value;
    const auto accumulate = [&](auto p_value) {
      internal::AccumulateRows<K, KT, decltype(p_value)::value>(data, position_of, *m);
      return 0;
    };
    switch (p) {
      case 1: return accumulate(std::integral_constant<int, 1>{});
      case 2: return accumulate(std::integral_constant<int, 2>{});
      case 3: return accumulate(std::integral_constant<int, 3>{});
      case 4: return accumulate(std::integral_constant<int, 4>{});
      default: return accumulate(std::integral_constant<int, Eigen::Dynamic>{});
    }
  });
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
  return internal::Dispatch(kernel_->k, kernel_->kt, [&](auto k, auto kt) {
    constexpr int K = decltype(k)::value;
    constexpr int KT = decltype(kt)::value;
    const auto pass = [&](auto p) {
      return internal::Pass<K, KT, decltype(p)::value>(*kernel_, theta.data(), criterion, nullptr)
          .objective;
    };
    switch (kernel_->p) {
      case 1: return pass(std::integral_constant<int, 1>{});
      case 2: return pass(std::integral_constant<int, 2>{});
      case 3: return pass(std::integral_constant<int, 3>{});
      case 4: return pass(std::integral_constant<int, 4>{});
      default: return pass(std::integral_constant<int, Eigen::Dynamic>{});
    }
  });
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
  return internal::Dispatch(kernel_->k, kernel_->kt, [&](auto k, auto kt) {
    constexpr int K = decltype(k)::value;
    constexpr int KT = decltype(kt)::value;
    const auto evaluate = [&](auto p) {
      return internal::ObjectiveAndGradient<K, KT, decltype(p)::value>(*kernel_, theta.data(),
                                                                       criterion, gradient.data());
    };
    switch (kernel_->p) {
      case 1: return evaluate(std::integral_constant<int, 1>{});
      case 2: return evaluate(std::integral_constant<int, 2>{});
      case 3: return evaluate(std::integral_constant<int, 3>{});
      case 4: return evaluate(std::integral_constant<int, 4>{});
      default: return evaluate(std::integral_constant<int, Eigen::Dynamic>{});
    }
  });
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
  internal::Dispatch(kernel_->k, kernel_->kt, [&](auto k, auto kt) {
    constexpr int K = decltype(k)::value;
    constexpr int KT = decltype(kt)::value;
    const auto finish = [&](auto p) {
      internal::Finish<K, KT, decltype(p)::value>(*kernel_, theta.data(), criterion, random_effects,
                                                  fit);
      return 0;
    };
    switch (kernel_->p) {
      case 1: return finish(std::integral_constant<int, 1>{});
      case 2: return finish(std::integral_constant<int, 2>{});
      case 3: return finish(std::integral_constant<int, 3>{});
      case 4: return finish(std::integral_constant<int, 4>{});
      default: return finish(std::integral_constant<int, Eigen::Dynamic>{});
    }
  });
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
