// The standard normal distribution: cumulative distribution and quantile function, as R's
// pnorm and qnorm (to about one unit in the last place). Pure; thread safe.
#pragma once

namespace rapport::stats {

// Φ(z) = P(Z ≤ z) for Z ~ N(0, 1); computed from erfc so both tails keep full relative
// precision.
double NormalCdf(double z);

// Φ⁻¹(p), the z with Φ(z) = p (R: qnorm(p)); e.g. NormalQuantile(0.9) = 1.2815515655446004.
// Returns -infinity for p = 0, +infinity for p = 1 and NaN outside [0, 1].
double NormalQuantile(double p);

}  // namespace rapport::stats
