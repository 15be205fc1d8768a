// psych 2.2.9 reference values of SCIENCE.md §11.8.
#include "stats/reliability.h"

#include <gtest/gtest.h>

#include <cmath>

#include "testing/testing.h"

namespace rapport::stats {
namespace {

TEST(Alpha, SmallMatrix) {
  Eigen::MatrixXd answers(5, 3);
  answers << 3, 4, 3, 2, 2, 3, 4, 5, 5, 1, 2, 1, 3, 3, 4;
  auto alpha = CronbachAlpha(answers);
  ASSERT_OK(alpha);
  EXPECT_NEAR(alpha->raw, 0.942857142857, 1e-12);
  EXPECT_NEAR(alpha->standardized, 0.951752416331, 1e-12);
  EXPECT_EQ(alpha->respondents, 5);
}

TEST(Alpha, PairwiseWithMissingAndErrors) {
  Eigen::MatrixXd answers(6, 3);
  const double na = std::nan("");
  answers << 3, 4, 3, 2, 2, 3, 4, 5, 5, 1, 2, 1, 3, 3, 4, na, na, na;
  auto alpha = CronbachAlpha(answers);
  ASSERT_OK(alpha);  // a row with no answers changes nothing
  EXPECT_NEAR(alpha->raw, 0.942857142857, 1e-12);
  EXPECT_EQ(alpha->respondents, 5);
  EXPECT_FALSE(CronbachAlpha(Eigen::MatrixXd::Ones(4, 1)).ok());
  EXPECT_FALSE(CronbachAlpha(Eigen::MatrixXd::Ones(4, 3)).ok());  // no variance
}

TEST(Icc, ShroutFleissExample) {
  Eigen::MatrixXd ratings(6, 4);
  ratings << 9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7;
  auto icc = IntraclassCorrelations(ratings);
  ASSERT_OK(icc);
  // The ANOVA estimates are exactly psych::ICC(x, lmer = FALSE) (R 4.2.2, psych 2.2.9).
  EXPECT_NEAR(icc->icc1, 0.165741768405476, 1e-13);
  EXPECT_NEAR(icc->icc2, 0.289763779527559, 1e-13);
  EXPECT_NEAR(icc->icc3, 0.714840714840715, 1e-13);
  EXPECT_NEAR(icc->icc1k, 0.442797133679269, 1e-13);
  EXPECT_NEAR(icc->icc2k, 0.620050547598989, 1e-13);
  EXPECT_NEAR(icc->icc3k, 0.909315542377069, 1e-13);
  // SCIENCE.md §11.8 lists psych::ICC's default (lmer = TRUE), which takes the variance
  // components from an lmer fit; its optimiser tolerance moves them by about 1e-6.
  EXPECT_NEAR(icc->icc1, 0.1657422862, 2e-6);
  EXPECT_NEAR(icc->icc2, 0.2897641937, 2e-6);
  EXPECT_NEAR(icc->icc3, 0.7148415115, 2e-6);
  EXPECT_NEAR(icc->icc1k, 0.4427980576, 2e-6);
  EXPECT_NEAR(icc->icc2k, 0.6200510217, 2e-6);
  EXPECT_NEAR(icc->icc3k, 0.9093158647, 2e-6);
  EXPECT_FALSE(IntraclassCorrelations(Eigen::MatrixXd::Ones(1, 3)).ok());
}

}  // namespace
}  // namespace rapport::stats
