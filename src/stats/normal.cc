#include "stats/normal.h"

#include <cmath>
#include <limits>

namespace rapport::stats {

double NormalCdf(double z) {
  // Φ(z) = erfc(−z/√2)/2 holds in both tails without cancellation.
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

double NormalQuantile(double p) {
  if (std::isnan(p) || p < 0 || p > 1) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  // The upper half by symmetry: 1 − p is exact for p ≥ 0.5 (Sterbenz), and the lower tail of
  // Φ keeps full relative precision where 1 − Φ would cancel.
  if (p == 0.5) return 0;
  if (p > 0.5) return -NormalQuantile(1 - p);
  // Φ is strictly increasing, so bisection on [−39, 0] (Φ(−39) is below the smallest
  // positive double) converges to the neighbouring doubles of the root; 200 halvings are more
  // than the exponent range needs. Simple and exact to the precision of erfc.
  double low = -39;
  double high = 0;
  for (int step = 0; step < 200; ++step) {
    const double middle = 0.5 * (low + high);
    if (middle <= low || middle >= high) break;
    if (NormalCdf(middle) < p) {
      low = middle;
    } else {
      high = middle;
    }
  }
  return 0.5 * (low + high);
}

}  // namespace rapport::stats
