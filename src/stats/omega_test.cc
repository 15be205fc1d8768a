// McDonald's omega on correlation matrices with a known hierarchical structure, where ω_h and ω_t
// follow from the construction. psych's own values (SCIENCE.md §11.8, Thurstone and Harman74)
// are checked through `rapport fit reliability` in tests/integration/fit_test.cc.
#include "stats/omega.h"

#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"

namespace rapport::stats {
namespace {

// Nine items, three per group factor, with factor correlations φ_ab = γ_a γ_b (a general factor
// behind the groups): R = Λ Φ Λᵀ + Ψ exactly. Minres recovers Λ Φ Λᵀ, quartimin reaches 0 at the
// simple structure, and Schmid–Leiman gives g_i = λ_i γ_group(i).
TEST(Omega, ExactHierarchicalStructure) {
  const double lambda[9] = {0.8, 0.7, 0.6, 0.75, 0.65, 0.55, 0.7, 0.6, 0.5};
  const double gamma[3] = {0.9, 0.8, 0.7};
  Eigen::MatrixXd r(9, 9);
  double general_sum = 0, communality_sum = 0;
  for (int i = 0; i < 9; ++i) {
    general_sum += lambda[i] * gamma[i / 3];
    communality_sum += lambda[i] * lambda[i];
    for (int j = 0; j < 9; ++j) {
      const double phi = i / 3 == j / 3 ? 1.0 : gamma[i / 3] * gamma[j / 3];
      r(i, j) = i == j ? 1.0 : lambda[i] * lambda[j] * phi;
    }
  }
  auto omega = McDonaldOmega(r, 3);
  ASSERT_OK(omega);
  const double vt = r.sum();
  EXPECT_NEAR(omega->omega_hierarchical, general_sum * general_sum / vt, 1e-6);
  EXPECT_NEAR(omega->omega_total, (vt - (9 - communality_sum)) / vt, 1e-8);
  EXPECT_NEAR(omega->alpha, 9.0 / 8.0 * (vt - 9) / vt, 1e-12);
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(omega->general[i], lambda[i] * gamma[i / 3], 1e-5);

  // A covariance matrix gives the same answer (rescaled to correlations).
  Eigen::VectorXd sd(9);
  sd << 1, 2, 3, 0.5, 1, 2, 4, 1, 1;
  auto scaled = McDonaldOmega(sd.asDiagonal() * r * sd.asDiagonal(), 3);
  ASSERT_OK(scaled);
  EXPECT_NEAR(scaled->omega_hierarchical, omega->omega_hierarchical, 1e-9);

  // A reversed item is flipped back (psych::omega flip = TRUE).
  Eigen::MatrixXd flipped = r;
  flipped.row(4) *= -1;
  flipped.col(4) *= -1;
  auto reversed = McDonaldOmega(flipped, 3);
  ASSERT_OK(reversed);
  EXPECT_NEAR(reversed->omega_hierarchical, omega->omega_hierarchical, 1e-6);
  EXPECT_NEAR(reversed->omega_total, omega->omega_total, 1e-8);
}

TEST(Omega, OneFactorIsCongeneric) {
  // One factor: ω_h = ω_t = (Σλ)² / 1ᵀR1.
  const double lambda[5] = {0.8, 0.7, 0.6, 0.5, 0.4};
  Eigen::MatrixXd r(5, 5);
  double sum = 0;
  for (int i = 0; i < 5; ++i) {
    sum += lambda[i];
    for (int j = 0; j < 5; ++j) r(i, j) = i == j ? 1.0 : lambda[i] * lambda[j];
  }
  auto omega = McDonaldOmega(r, 1);
  ASSERT_OK(omega);
  EXPECT_NEAR(omega->omega_hierarchical, sum * sum / r.sum(), 1e-8);
  EXPECT_NEAR(omega->omega_total, sum * sum / r.sum(), 1e-8);
}

TEST(Omega, Errors) {
  EXPECT_FALSE(McDonaldOmega(Eigen::MatrixXd::Identity(2, 2), 1).ok());
  EXPECT_FALSE(McDonaldOmega(Eigen::MatrixXd::Identity(4, 4), 4).ok());
  Eigen::MatrixXd asymmetric = Eigen::MatrixXd::Identity(4, 4);
  asymmetric(0, 1) = 0.5;
  EXPECT_FALSE(McDonaldOmega(asymmetric, 2).ok());
}

TEST(PairwiseCorrelation, UsesEachPairsOwnRows) {
  const double na = std::nan("");
  Eigen::MatrixXd answers(5, 3);
  answers << 1, 2, na, 2, 4, 1, 3, 6, 2, 4, 8, 4, na, na, 3;
  auto r = PairwiseCorrelation(answers);
  ASSERT_OK(r);
  EXPECT_NEAR((*r)(0, 1), 1.0, 1e-12);
  EXPECT_NEAR((*r)(2, 0), (*r)(0, 2), 0);
  EXPECT_GT((*r)(1, 2), 0.9);
  answers.col(2).setConstant(na);
  EXPECT_FALSE(PairwiseCorrelation(answers).ok());
}

}  // namespace
}  // namespace rapport::stats
