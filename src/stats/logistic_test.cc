#include "stats/logistic.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/random.h"
#include "testing/testing.h"

namespace rapport::stats {
namespace {

// One binary predictor: the maximum likelihood estimates are the 2 × 2 table's log odds, with
// Woolf's standard errors — exact, so any IRLS error shows.
TEST(Logistic, TwoByTwoTableHasClosedFormEstimates) {
  Eigen::MatrixXd x(200, 1);
  Eigen::VectorXd y(200);
  for (int i = 0; i < 200; ++i) {
    const bool exposed = i >= 100;
    x(i, 0) = exposed ? 1 : 0;
    y[i] = exposed ? (i - 100 < 60 ? 1 : 0) : (i < 30 ? 1 : 0);
  }
  auto fit = FitLogistic(x, y);
  ASSERT_OK(fit);
  EXPECT_NEAR(fit->beta[0], std::log(30.0 / 70.0), 1e-10);
  EXPECT_NEAR(fit->beta[1], std::log(60.0 / 40.0) - std::log(30.0 / 70.0), 1e-10);
  EXPECT_NEAR(fit->se[0], std::sqrt(1.0 / 30 + 1.0 / 70), 1e-8);
  EXPECT_NEAR(fit->se[1], std::sqrt(1.0 / 30 + 1.0 / 70 + 1.0 / 60 + 1.0 / 40), 1e-8);
  const double null = -2 * (90 * std::log(0.45) + 110 * std::log(0.55));
  EXPECT_NEAR(fit->null_deviance, null, 1e-9);
  EXPECT_LT(fit->deviance, fit->null_deviance);
}

TEST(Logistic, ClearErrors) {
  Eigen::MatrixXd x(6, 1);
  x << 1, 2, 3, 4, 5, 6;
  Eigen::VectorXd separated(6);
  separated << 0, 0, 0, 1, 1, 1;
  auto fit = FitLogistic(x, separated);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("separated"), std::string::npos);
  Eigen::VectorXd constant = Eigen::VectorXd::Ones(6);
  EXPECT_NE(FitLogistic(x, constant).status().message().find("only one value"), std::string::npos);
  Eigen::VectorXd bad(6);
  bad << 0, 2, 0, 1, 1, 0;
  EXPECT_FALSE(FitLogistic(x, bad).ok());
  Eigen::MatrixXd collinear(6, 2);
  collinear.col(0) = x.col(0);
  collinear.col(1) = 2 * x.col(0);
  Eigen::VectorXd mixed(6);
  mixed << 0, 1, 0, 1, 1, 0;
  EXPECT_NE(FitLogistic(collinear, mixed).status().message().find("collinear"), std::string::npos);
}

// Quasi-complete separation through a binary feature: every exposed case is positive, the others
// mixed. glm "converges" here (its deviance settles) with a coefficient of about 7 and a
// standard error in the hundreds; the estimate does not exist and the fit must say so, naming
// the feature, not the noise beside it.
TEST(Logistic, QuasiCompleteSeparationIsAnErrorNamingTheFeature) {
  SeededRandom random(3);
  const int n = 200;
  Eigen::MatrixXd x(n, 2);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = random.Normal();
    x(i, 1) = i < 30 ? 1 : 0;
    y[i] = i < 30 || random.Uniform() < 0.3 ? 1 : 0;
  }
  const std::vector<std::string> names = {"noise", "missed_any"};
  auto fit = FitLogistic(x, y, names);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("separated by 'missed_any':"), std::string::npos)
      << fit.status().message();
  EXPECT_EQ(fit.status().field(), "missed_any");
  // One exposed case that did not end positive removes the separation.
  y[0] = 0;
  auto overlapping = FitLogistic(x, y, names);
  ASSERT_OK(overlapping);
  EXPECT_GT(overlapping->beta[2], 2);
  EXPECT_LT(overlapping->se[2], 2);
}

// Strong effects with overlap are fitted, never mistaken for separation.
TEST(Logistic, StrongEffectsWithOverlapAreNotSeparation) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(std::string("seed ").append(std::to_string(seed)));
    SeededRandom random(seed);
    const int n = 300;
    Eigen::MatrixXd x(n, 1);
    Eigen::VectorXd y(n);
    for (int i = 0; i < n; ++i) {
      x(i, 0) = random.Normal();
      y[i] = random.Uniform() < 1 / (1 + std::exp(-(0.5 + 4 * x(i, 0)))) ? 1 : 0;
    }
    auto fit = FitLogistic(x, y);
    ASSERT_OK(fit);
    EXPECT_NEAR(fit->beta[1], 4, 5 * fit->se[1]);
  }
}

TEST(Logistic, AucBrierAndCalibration) {
  Eigen::VectorXd p(4);
  p << 0.1, 0.4, 0.35, 0.8;
  Eigen::VectorXd y(4);
  y << 0, 0, 1, 1;
  EXPECT_DOUBLE_EQ(AreaUnderCurve(p, y), 0.75);
  EXPECT_DOUBLE_EQ(AreaUnderCurve(Eigen::VectorXd::Constant(4, 0.3), y), 0.5);  // ties: ½
  EXPECT_TRUE(std::isnan(AreaUnderCurve(p, Eigen::VectorXd::Zero(4))));
  EXPECT_NEAR(BrierScore(p, y), (0.01 + 0.16 + 0.4225 + 0.04) / 4, 1e-15);
  const auto table = CalibrationTable(p, y, 2);
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[0].n, 2);
  EXPECT_NEAR(table[0].mean_predicted, 0.225, 1e-15);
  EXPECT_NEAR(table[0].observed, 0.5, 1e-15);
  EXPECT_NEAR(table[1].observed, 0.5, 1e-15);
  EXPECT_EQ(CalibrationTable(p, y, 10).size(), 4u);
}

// A low first alliance raises the risk; a missing value counts as the average.
TEST(DropoutModel, LearnsRiskCrossValidatesAndRoundTrips) {
  SeededRandom random(5);
  const int n = 400;
  Eigen::MatrixXd x(n, 2);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = 20 + 4 * random.Normal();  // first alliance
    x(i, 1) = random.Normal();           // noise
    if (i % 17 == 0) x(i, 1) = std::nan("");
    const double eta = -1 - 0.4 * (x(i, 0) - 20);
    y[i] = random.Uniform() < 1 / (1 + std::exp(-eta)) ? 1 : 0;
  }
  auto model = FitDropoutModel({"first_alliance", "noise"}, x, y, 5);
  ASSERT_OK(model);
  EXPECT_LT(model->fit.beta[1], 0);  // per SD of the first alliance
  EXPECT_GT(model->auc, 0.75);
  EXPECT_LT(model->brier, 0.2);
  EXPECT_EQ(model->folds, 5);
  EXPECT_EQ(model->calibration.size(), 10u);
  const auto low = model->Predict({12, 0});
  const auto high = model->Predict({28, 0});
  EXPECT_GT(low.probability, high.probability);
  EXPECT_EQ(low.contributions.front().feature, "first_alliance");  // the biggest push up
  const auto missing = model->Predict({std::nan(""), std::nan("")});
  EXPECT_NEAR(missing.probability, 1 / (1 + std::exp(-model->fit.beta[0])), 1e-15);

  auto again = DropoutModel::FromJson(model->ToJson());
  ASSERT_OK(again);
  EXPECT_DOUBLE_EQ(again->Predict({12, 0.5}).probability, model->Predict({12, 0.5}).probability);
  EXPECT_DOUBLE_EQ(again->auc, model->auc);
  nlohmann::json broken = model->ToJson();
  broken.erase("sd");
  EXPECT_NE(DropoutModel::FromJson(broken).status().message().find("'sd'"), std::string::npos);
  EXPECT_FALSE(FitDropoutModel({"first_alliance", "noise"}, x.topRows(8), y.head(8), 5).ok());
}

// A rare feature that does not vary within one fold's training part (its only two non-zero
// cases are that fold's test cases) is left out of that fold's model; the full model keeps it.
TEST(DropoutModel, FeatureConstantInAFoldIsLeftOutOfThatFold) {
  SeededRandom random(8);
  const int n = 120;
  Eigen::MatrixXd x(n, 2);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = random.Normal();
    y[i] = random.Uniform() < 1 / (1 + std::exp(x(i, 0))) ? 1 : 0;
    x(i, 1) = 0;
  }
  // The first dropout and the first completer fall in fold 1 (stratified, dealt in order).
  for (const double outcome : {0.0, 1.0}) {
    for (int i = 0; i < n; ++i) {
      if (y[i] == outcome) {
        x(i, 1) = 1;
        break;
      }
    }
  }
  auto model = FitDropoutModel({"alliance", "rare"}, x, y, 4, 5);
  ASSERT_OK(model);
  EXPECT_EQ(model->features.size(), 2u);
  EXPECT_EQ(model->calibration.size(), 5u);
  EXPECT_TRUE(std::isfinite(model->auc));
  EXPECT_FALSE(FitDropoutModel({"alliance", "rare"}, x, y, 4, 0).ok());
  x.col(1).setZero();
  auto constant = FitDropoutModel({"alliance", "rare"}, x, y, 4);
  ASSERT_FALSE(constant.ok());
  EXPECT_EQ(constant.status().field(), "rare");
}

}  // namespace
}  // namespace rapport::stats
