#include "base/random.h"

#include <cmath>

#include "testing/testing.h"

namespace rapport {
namespace {

TEST(SeededRandom, SameSeedSameStream) {
  SeededRandom a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next64();
    EXPECT_EQ(x, b.Next64());
    EXPECT_NE(x, c.Next64());
  }
  EXPECT_EQ(a.seed(), 42u);
}

TEST(SeededRandom, UniformIntStaysInRangeAndCoversIt) {
  SeededRandom random(7);
  int counts[5] = {};
  for (int i = 0; i < 5000; ++i) {
    const int64_t v = random.UniformInt(0, 4);
    ASSERT_GE(v, 0);
    ASSERT_LE(v, 4);
    ++counts[v];
  }
  for (const int count : counts) EXPECT_GT(count, 800);
}

TEST(SeededRandom, NormalHasRoughlyUnitMoments) {
  SeededRandom random(11);
  double sum = 0, sum_sq = 0;
  constexpr int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    const double z = random.Normal();
    sum += z;
    sum_sq += z * z;
  }
  EXPECT_NEAR(sum / kN, 0.0, 0.05);
  EXPECT_NEAR(sum_sq / kN, 1.0, 0.05);
}

}  // namespace
}  // namespace rapport
