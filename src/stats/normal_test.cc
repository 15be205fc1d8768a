// The standard normal quantile and distribution function against R's qnorm/pnorm (R 4.2.2).
#include "stats/normal.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rapport::stats {
namespace {

TEST(Normal, QuantileMatchesR) {
  // qnorm(p) printed with 15 significant digits.
  const struct {
    double p;
    double z;
  } cases[] = {{0.1, -1.2815515655446},    {0.25, -0.674489750196082},  {0.5, 0},
               {0.8, 0.841621233572914},   {0.9, 1.2815515655446},      {0.975, 1.95996398454005},
               {1e-10, -6.36134090240406}, {0.999999, 4.75342430881709}};
  for (const auto& c : cases) {
    EXPECT_NEAR(NormalQuantile(c.p), c.z, 1e-13 * std::max(1.0, std::abs(c.z))) << c.p;
    EXPECT_NEAR(NormalCdf(NormalQuantile(c.p)), c.p, 1e-15) << c.p;
  }
  // SCIENCE.md §4.3 and §11.6: z for the one-sided 90% boundary.
  EXPECT_NEAR(NormalQuantile(0.9), 1.28155156554, 1e-11);
  EXPECT_DOUBLE_EQ(NormalQuantile(0.1), -NormalQuantile(0.9));
}

TEST(Normal, QuantileEdges) {
  EXPECT_TRUE(std::isinf(NormalQuantile(0)) && NormalQuantile(0) < 0);
  EXPECT_TRUE(std::isinf(NormalQuantile(1)) && NormalQuantile(1) > 0);
  EXPECT_TRUE(std::isnan(NormalQuantile(-0.1)));
  EXPECT_TRUE(std::isnan(NormalQuantile(1.5)));
  EXPECT_TRUE(std::isnan(NormalQuantile(std::nan(""))));
  EXPECT_DOUBLE_EQ(NormalCdf(0), 0.5);
}

}  // namespace
}  // namespace rapport::stats
