// The within/between decomposition against lme4 1.1-31 on SCIENCE.md §11.7, with the
// tolerances of SCIENCE.md §10.2.
#include "stats/within_between.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sim/three_level.h"
#include "testing/testing.h"

namespace rapport::stats {
namespace {

#define EXPECT_REL(actual, expected, tolerance) \
  EXPECT_NEAR(actual, expected, (tolerance)*std::abs(expected))

WithinBetweenData Science() {
  const auto rows = sim::ScienceFixture();
  WithinBetweenData data;
  const auto n = static_cast<Eigen::Index>(rows.size());
  data.t.resize(n);
  data.alliance.resize(n);
  data.y.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const sim::SessionRow& row = rows[static_cast<size_t>(i)];
    data.client.push_back(std::to_string(row.client));
    data.t[i] = row.session;
    data.alliance[i] = row.alliance;
    data.y[i] = row.y;
  }
  return data;
}

TEST(WithinBetween, ScienceExampleMatchesLme4) {
  auto result = DecomposeWithinBetween(Science());
  ASSERT_OK(result);
  // lmer(y ~ session + a_w + a_b + (1 | client)), REML (SCIENCE.md §11.7).
  EXPECT_REL(result->fit.objective, 964.56886642, 1e-9);
  EXPECT_REL(result->fit.beta[0], 37.7796947326854, 1e-5);
  EXPECT_REL(result->session.estimate, -1.4180762401475, 1e-5);
  EXPECT_REL(result->within.estimate, -0.0628380849507, 1e-5);
  EXPECT_REL(result->between.estimate, -1.7768512882507, 1e-5);
  EXPECT_NEAR(result->contextual.estimate, -1.7768512882507 + 0.0628380849507, 1e-6);
  EXPECT_REL(result->fit.components[0].covariance(0, 0), 26.51290234229, 2e-3);
  EXPECT_REL(result->fit.sigma2, 7.67778110318, 2e-3);
  EXPECT_EQ(result->clients, 30);
  const Eigen::MatrixXd& v = result->fit.beta_covariance;
  EXPECT_NEAR(result->contextual.se, std::sqrt(v(2, 2) + v(3, 3) - 2 * v(2, 3)), 1e-12);
  EXPECT_GT(result->within.se, 0);
  EXPECT_FALSE(result->detrended);
}

TEST(WithinBetween, DetrendingRemovesEachClientsLinearTrend) {
  WithinBetweenData data = Science();
  // An alliance that only rises steadily within each client has no within part once detrended.
  for (Eigen::Index i = 0; i < data.t.size(); ++i) {
    data.alliance[i] = 4 + 0.1 * std::stoi(data.client[static_cast<size_t>(i)]) + 0.2 * data.t[i];
  }
  EXPECT_FALSE(DecomposeWithinBetween(data, /*detrend=*/true).ok());
  auto centred = DecomposeWithinBetween(data, /*detrend=*/false);
  ASSERT_OK(centred);
  // With noise the detrended fit runs and keeps the between part of the raw one.
  data = Science();
  auto detrended = DecomposeWithinBetween(data, /*detrend=*/true);
  ASSERT_OK(detrended);
  EXPECT_TRUE(detrended->detrended);
  auto plain = DecomposeWithinBetween(data);
  ASSERT_OK(plain);
  EXPECT_NE(detrended->within.estimate, plain->within.estimate);
}

TEST(WithinBetween, RejectsBadInput) {
  WithinBetweenData data = Science();
  data.y.conservativeResize(10);
  EXPECT_FALSE(DecomposeWithinBetween(data).ok());
  data = Science();
  for (auto& client : data.client) client = "one";
  EXPECT_FALSE(DecomposeWithinBetween(data).ok());
  data = Science();
  data.alliance[3] = std::nan("");
  EXPECT_FALSE(DecomposeWithinBetween(data).ok());
}

}  // namespace
}  // namespace rapport::stats
