// Therapist effects against lme4 1.1-31 (SCIENCE.md §11.4 Dyestuff, §11.5 three-level data),
// with the tolerances of SCIENCE.md §10.2.
#include "stats/therapist_effects.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "sim/three_level.h"
#include "testing/testing.h"

namespace rapport::stats {
namespace {

#define EXPECT_REL(actual, expected, tolerance) \
  EXPECT_NEAR(actual, expected, (tolerance)*std::abs(expected))

// Dyestuff: Yield by Batch A–F, 5 each; batches stand in for therapists.
TherapistData Dyestuff() {
  const double yields[6][5] = {{1545, 1440, 1440, 1520, 1580}, {1540, 1555, 1490, 1560, 1495},
                               {1595, 1550, 1605, 1510, 1560}, {1445, 1440, 1595, 1465, 1545},
                               {1595, 1630, 1515, 1635, 1625}, {1520, 1455, 1450, 1480, 1445}};
  TherapistData data;
  data.y.resize(30);
  for (int batch = 0; batch < 6; ++batch) {
    for (int k = 0; k < 5; ++k) {
      data.therapist.push_back(std::string(1, static_cast<char>('A' + batch)));
      data.y[batch * 5 + k] = yields[batch][k];
    }
  }
  return data;
}

const TherapistEffect& Find(const TherapistEffects& effects, const std::string& name) {
  for (const TherapistEffect& effect : effects.effects) {
    if (effect.therapist == name) return effect;
  }
  static const TherapistEffect none;
  ADD_FAILURE() << "no therapist " << name;
  return none;
}

TEST(TherapistEffects, DyestuffShrinkageIccAndReliability) {
  TherapistEffectsOptions options;
  options.min_cases = 5;
  auto effects = EstimateTherapistEffects(Dyestuff(), options);
  ASSERT_OK(effects);
  EXPECT_FALSE(effects->three_level);
  EXPECT_REL(effects->therapist_variance, 1764.05000643, 2e-3);
  EXPECT_REL(effects->residual_variance, 2451.24999861, 2e-3);
  EXPECT_REL(effects->icc, 0.4184874159, 2e-3);
  const double blups[] = {-17.6068513669, 0.3912633637,  28.5622255507,
                          -23.0845384588, 56.7331877377, -44.9952868265};
  for (int batch = 0; batch < 6; ++batch) {
    const TherapistEffect& effect = Find(*effects, std::string(1, static_cast<char>('A' + batch)));
    EXPECT_REL(effect.effect, blups[batch], 1e-4) << batch;
    EXPECT_REL(effect.cond_sd, 19.58657009, 1e-4) << batch;
    EXPECT_EQ(effect.cases, 5);
    // The one-way reliability λ = τ² / (τ² + σ²/n) of SCIENCE.md §11.4's hand check.
    EXPECT_NEAR(effect.reliability, 0.782528, 1e-5);
    EXPECT_TRUE(effect.shown);
  }
  // Caterpillar order, lowest first; a class only when the 95% interval excludes 0.
  ASSERT_EQ(effects->effects.size(), 6u);
  EXPECT_EQ(effects->effects.front().therapist, "F");
  EXPECT_EQ(effects->effects.back().therapist, "E");
  EXPECT_EQ(Find(*effects, "E").classification, "above average");
  EXPECT_EQ(Find(*effects, "F").classification, "below average");
  EXPECT_EQ(Find(*effects, "A").classification, "indistinguishable from average");
  EXPECT_NEAR(Find(*effects, "E").lower, 56.7331877377 - 1.959963984540054 * 19.58657009, 1e-2);
  EXPECT_EQ(effects->shown, 6);
  EXPECT_FALSE(effects->notes.empty());  // fewer than 30 therapists; condVar disclosure
}

TEST(TherapistEffects, MinimumCaseloadAndReliabilityHideEstimates) {
  auto by_default = EstimateTherapistEffects(Dyestuff());  // 5 cases < 20
  ASSERT_OK(by_default);
  EXPECT_EQ(by_default->shown, 0);
  for (const TherapistEffect& effect : by_default->effects) {
    EXPECT_EQ(effect.classification, "not shown");
  }
  TherapistEffectsOptions strict;
  strict.min_cases = 5;
  strict.min_reliability = 0.8;  // λ = 0.78
  auto unreliable = EstimateTherapistEffects(Dyestuff(), strict);
  ASSERT_OK(unreliable);
  EXPECT_EQ(unreliable->shown, 0);
}

TEST(TherapistEffects, ThreeLevelMatchesLme4) {
  TherapistData data;
  const auto rows = sim::ScienceFixture();
  data.y.resize(static_cast<Eigen::Index>(rows.size()));
  data.t.resize(data.y.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    data.therapist.push_back(std::to_string(rows[i].therapist));
    data.client.push_back(std::to_string(rows[i].client));
    data.y[static_cast<Eigen::Index>(i)] = rows[i].y;
    data.t[static_cast<Eigen::Index>(i)] = rows[i].session;
  }
  auto effects = EstimateTherapistEffects(data);
  ASSERT_OK(effects);
  EXPECT_TRUE(effects->three_level);
  // SCIENCE.md §11.5: therapist Var 2.574642553358, client Var(int) 17.502620618193,
  // σ² 5.637829887695; therapist BLUPs 1–6 with condSD 1.252648642.
  EXPECT_REL(effects->therapist_variance, 2.574642553358, 2e-3);
  EXPECT_REL(effects->icc, 2.574642553358 / (2.574642553358 + 17.502620618193 + 5.637829887695),
             2e-3);
  const double blups[] = {0.6046479129, -1.2429537581, 0.6943163314,
                          0.4854068662, -1.3319547244, 0.7905373721};
  for (int therapist = 0; therapist < 6; ++therapist) {
    const TherapistEffect& effect = Find(*effects, std::to_string(therapist + 1));
    EXPECT_REL(effect.effect, blups[therapist], 1e-3) << therapist;
    EXPECT_REL(effect.cond_sd, 1.252648642, 1e-3) << therapist;
    EXPECT_EQ(effect.cases, 5);  // clients, not sessions
  }
}

// With an intake covariate and unequal caseloads the reliability 1 − condVar_j/τ² is still the
// one-way τ²/(τ² + σ²/n_j): lme4's condVar is conditional on the fixed effects.
TEST(TherapistEffects, IntakeCovariateKeepsTheOneWayReliability) {
  // Dyestuff without some rows, so that caseloads differ, and an intake score per row.
  const TherapistData all = Dyestuff();
  const std::set<int> dropped = {9, 13, 14, 18, 19, 24};
  TherapistData data;
  std::vector<double> y;
  std::vector<double> intake;
  for (int row = 0; row < 30; ++row) {
    if (dropped.count(row) > 0) continue;
    data.therapist.push_back(all.therapist[static_cast<size_t>(row)]);
    y.push_back(all.y[row]);
    intake.push_back((row * 7) % 11);
  }
  data.y = Eigen::Map<const Eigen::VectorXd>(y.data(), static_cast<Eigen::Index>(y.size()));
  data.intake =
      Eigen::Map<const Eigen::VectorXd>(intake.data(), static_cast<Eigen::Index>(intake.size()));
  TherapistEffectsOptions options;
  options.min_cases = 4;
  auto effects = EstimateTherapistEffects(data, options);
  ASSERT_OK(effects);
  ASSERT_EQ(effects->fit.fixed_names.size(), 2u);
  const double tau2 = effects->therapist_variance;
  const double sigma2 = effects->residual_variance;
  ASSERT_GT(tau2, 0);
  const std::map<std::string, int> caseload = {{"A", 5}, {"B", 4}, {"C", 3},
                                               {"D", 3}, {"E", 4}, {"F", 5}};
  for (const TherapistEffect& effect : effects->effects) {
    SCOPED_TRACE(effect.therapist);
    EXPECT_EQ(effect.cases, caseload.at(effect.therapist));
    EXPECT_NEAR(effect.reliability, tau2 / (tau2 + sigma2 / static_cast<double>(effect.cases)),
                1e-9);
    EXPECT_EQ(effect.shown, effect.cases >= 4 && effect.reliability >= 0.7);
  }
}

TEST(TherapistEffects, RejectsBadInput) {
  TherapistData one;
  one.therapist = {"a", "a"};
  one.y = Eigen::VectorXd::Ones(2);
  EXPECT_FALSE(EstimateTherapistEffects(one).ok());
  TherapistData sizes = Dyestuff();
  sizes.y.conservativeResize(10);
  EXPECT_FALSE(EstimateTherapistEffects(sizes).ok());
  TherapistData missing = Dyestuff();
  missing.y[4] = std::nan("");
  EXPECT_FALSE(EstimateTherapistEffects(missing).ok());
  // Three levels: a client seen by two therapists is not nested.
  TherapistData crossed = Dyestuff();
  crossed.t = Eigen::VectorXd::Zero(30);
  for (int row = 0; row < 30; ++row) {
    crossed.client.push_back(std::string(1, 'c').append(std::to_string(row / 2)));
    crossed.t[row] = row % 2;
  }
  crossed.client[5] = "c0";
  auto not_nested = EstimateTherapistEffects(crossed);
  ASSERT_FALSE(not_nested.ok());
  EXPECT_NE(not_nested.status().message().find("nested"), std::string::npos)
      << not_nested.status().message();
}

}  // namespace
}  // namespace rapport::stats
