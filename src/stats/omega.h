// McDonald's omega as psych::omega (Revelle, psych 2.2.9) computes it: SCIENCE.md §10.5, §11.8.
//
// The algorithm (psych's documented defaults, fm = "minres", rotate = "oblimin"):
//  1. Minimum-residual factor analysis of the correlation matrix R with `factors` factors
//     (Harman's minres = unweighted least squares: the uniquenesses Ψ minimise the residual
//     off-diagonal sum of squares, loadings are the leading eigenvectors of R − Ψ scaled by the
//     root of their eigenvalues; Ψ bounded to [0.005, 1] as psych's fa).
//  2. Varimax (Kaiser-normalised) and then quartimin (oblimin, γ = 0) rotation by the gradient
//     projection algorithm of Jennrich (2002) and Bernaards & Jennrich (2005), as
//     GPArotation::oblimin: pattern loadings F and factor correlations Φ.
//  3. Schmid–Leiman: loadings of the factors on one general factor, from a one-factor minres
//     analysis of Φ (three or more factors; with two, both set to √|φ₁₂| as psych's
//     option = "equal"; with one factor the general loadings are the loadings); general
//     loadings g = F γ.
//  4. Items whose general loading is negative are reversed (psych's flip = TRUE), then with
//     V_t = 1ᵀR1 of the reversed matrix and the communalities h²:
//        ω_h = (Σ|g_i|)² / V_t,   ω_t = (V_t − Σ(1 − h²_i)) / V_t,
//        α   = k/(k − 1) (V_t − tr R)/V_t   (the standardised α psych::omega reports).
// The rotation converges to the same optimum as GPArotation (which stops at a projected-gradient
// norm of 1e-5; this iterates to 1e-7, near the limit of rounding): on the §11.8 examples ω_h and
// ω_t agree with psych 2.2.9 to 1e-6; SCIENCE.md §10.5 asks for 1e-3.
#pragma once

#include <Eigen/Dense>

#include "base/status.h"

namespace rapport::stats {

struct Omega {
  double omega_hierarchical = 0;  // ω_h
  double omega_total = 0;         // ω_t
  double alpha = 0;               // standardised α of the (reversed) correlation matrix
  Eigen::VectorXd general;        // general-factor loadings g (after reversal, all >= 0)
  Eigen::VectorXd communality;    // h² of the minres solution
  Eigen::MatrixXd phi;            // factor correlations after oblimin
};

// `correlation`: a k × k correlation (or covariance: it is rescaled to a correlation) matrix.
// Errors (kInvalidArgument): not square and symmetric, fewer than 3 items, factors < 1 or
// >= k, a non-positive or non-finite variance, or a factor analysis that does not converge.
Result<Omega> McDonaldOmega(const Eigen::MatrixXd& correlation, int factors = 3);

// Pairwise-complete correlations of the columns of `answers` (NaN = missing), R's
// cor(x, use = "pairwise"): each pair uses its own complete rows, means and SDs.
// Errors: a pair with fewer than 2 rows in common or without variance → kInvalidArgument.
Result<Eigen::MatrixXd> PairwiseCorrelation(const Eigen::MatrixXd& answers);

}  // namespace rapport::stats
