// Rupture rules beyond the golden vectors: the required properties (ruptures never overlap;
// a constant series has none; scaling scores, T and R together changes nothing), threshold
// modes, validation, and dips from the ceiling.
#include "alliance/ruptures.h"

#include <algorithm>
#include <cmath>

#include "base/random.h"
#include "testing/testing.h"

namespace rapport::alliance {
namespace {

std::vector<SeriesPoint> FromScores(const std::vector<double>& scores) {
  std::vector<SeriesPoint> out;
  for (size_t i = 0; i < scores.size(); ++i) out.push_back({int64_t(i + 1), scores[i], {}, {}, {}});
  return out;
}

// Integer-valued random walks on 0..40 with occasional large drops, so ruptures of every kind
// occur; integers keep scaled arithmetic exact.
std::vector<double> RandomSeries(SeededRandom& random) {
  const int64_t n = random.UniformInt(1, 25);
  std::vector<double> scores;
  double x = static_cast<double>(random.UniformInt(20, 40));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t step =
        random.UniformInt(0, 9) == 0 ? -random.UniformInt(3, 12) : random.UniformInt(-2, 3);
    x = std::clamp(x + static_cast<double>(step), 0.0, 40.0);
    scores.push_back(x);
  }
  return scores;
}

RuptureParams RandomParams(SeededRandom& random) {
  RuptureParams params;
  params.threshold = static_cast<double>(random.UniformInt(1, 8));
  params.window = static_cast<int>(random.UniformInt(1, 5));
  params.tolerance = static_cast<double>(random.UniformInt(0, 2));
  return params;
}

TEST(RupturesProperty, NeverOverlapAndAreOrdered) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SeededRandom random(seed);
    const auto series = FromScores(RandomSeries(random));
    const RuptureParams params = RandomParams(random);
    auto found = FindRuptures(series, params);
    ASSERT_OK(found);
    for (size_t i = 0; i < found->size(); ++i) {
      const Rupture& r = (*found)[i];
      EXPECT_GE(r.close_index, r.index);
      EXPECT_LE(r.close_index, r.index + static_cast<size_t>(params.window));
      EXPECT_GE(r.drop, params.threshold);
      if (i > 0) {
        EXPECT_LT((*found)[i - 1].close_index, r.index) << "episodes overlap";
      }
      if (r.status == RuptureStatus::kOpen) {
        EXPECT_EQ(i + 1, found->size()) << "only the last episode can be open";
      }
    }
  }
}

TEST(RupturesProperty, ConstantSeriesHasNone) {
  for (double value : {0.0, 1.0, 3.5, 40.0}) {
    for (size_t n : {0u, 1u, 2u, 7u, 30u}) {
      const auto series = FromScores(std::vector<double>(n, value));
      for (ThresholdMode mode :
           {ThresholdMode::kFixed, ThresholdMode::kIntraIndividual, ThresholdMode::kCombined}) {
        RuptureParams params;
        params.mode = mode;
        params.threshold = 0.5;
        auto found = FindRuptures(series, params);
        ASSERT_OK(found);
        EXPECT_TRUE(found->empty()) << "value " << value << " n " << n;
      }
    }
  }
}

TEST(RupturesProperty, ScalingScoresThresholdAndToleranceTogetherChangesNothing) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SeededRandom random(seed);
    const std::vector<double> scores = RandomSeries(random);
    const RuptureParams params = RandomParams(random);
    auto base = FindRuptures(FromScores(scores), params);
    ASSERT_OK(base);
    for (double factor : {0.25, 2.0, 10.0, 3.0}) {
      std::vector<double> scaled = scores;
      for (double& s : scaled) s *= factor;
      RuptureParams scaled_params = params;
      scaled_params.threshold *= factor;
      scaled_params.tolerance *= factor;
      auto result = FindRuptures(FromScores(scaled), scaled_params);
      ASSERT_OK(result);
      ASSERT_EQ(result->size(), base->size()) << "factor " << factor;
      for (size_t i = 0; i < base->size(); ++i) {
        EXPECT_EQ((*result)[i].session, (*base)[i].session);
        EXPECT_EQ((*result)[i].status, (*base)[i].status);
        EXPECT_EQ((*result)[i].repaired_at, (*base)[i].repaired_at);
        EXPECT_EQ((*result)[i].v_shaped, (*base)[i].v_shaped);
        EXPECT_DOUBLE_EQ((*result)[i].drop, (*base)[i].drop * factor);
      }
    }
  }
}

TEST(Ruptures, IntraIndividualNeedsFourPreviousRatings) {
  // Previous 30, 32, 30, 32 (SD 1.1547): k = 2 gives T = 2.309; a drop of 3 at the 5th rating
  // is a rupture, the same drop at the 4th is not evaluated.
  RuptureParams params;
  params.mode = ThresholdMode::kIntraIndividual;
  auto found = FindRuptures(FromScores({30, 32, 30, 32, 29, 29, 29, 29}), params);
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].session, 5);
  EXPECT_NEAR((*found)[0].threshold, 2 * 1.1547005383792515, 1e-12);
  found = FindRuptures(FromScores({30, 32, 35, 29}), params);
  ASSERT_OK(found);
  EXPECT_TRUE(found->empty());
}

TEST(Ruptures, CombinedUsesTheStricterThreshold) {
  RuptureParams params;
  params.mode = ThresholdMode::kCombined;
  params.threshold = 2;
  // A spread-out history: SD of (10, 20, 30, 40) = 12.9, so 2·SD = 25.8 > 2: a drop of 5 is
  // not a rupture (with the fixed threshold alone it would be).
  auto found = FindRuptures(FromScores({10, 20, 30, 40, 35}), params);
  ASSERT_OK(found);
  EXPECT_TRUE(found->empty());
  // Fewer than 4 previous ratings: the fixed threshold alone applies.
  found = FindRuptures(FromScores({30, 27}), params);
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
}

TEST(Ruptures, InvalidInputIsAnErrorNamingTheField) {
  RuptureParams params;
  params.threshold = 0;
  EXPECT_EQ(FindRuptures(FromScores({1, 2}), params).status().field(), "threshold");
  params.threshold = 3;
  params.window = 0;
  EXPECT_EQ(FindRuptures(FromScores({1, 2}), params).status().field(), "window");
  params.window = 3;
  params.tolerance = -1;
  EXPECT_EQ(FindRuptures(FromScores({1, 2}), params).status().field(), "tolerance");
  params.tolerance = 0;
  params.baseline = 0;
  EXPECT_EQ(FindRuptures(FromScores({1, 2}), params).status().field(), "baseline");
  params.baseline = 1;
  std::vector<SeriesPoint> repeated = FromScores({1, 2});
  repeated[1].session = 1;
  EXPECT_EQ(FindRuptures(repeated, params).status().field(), "session");
  std::vector<SeriesPoint> nan = FromScores({1, std::nan("")});
  EXPECT_EQ(FindRuptures(nan, params).status().field(), "score");
}

TEST(SuddenLoss, EdgesUseTheSmallerCriticalValues) {
  const auto series = FromScores({30, 30, 20, 20});
  auto test = TestSuddenLoss(series, 2, 5);  // 2 before + 2 after
  ASSERT_TRUE(test.has_value());
  EXPECT_EQ(test->t_crit, 4.303);
  EXPECT_TRUE(test->sudden_loss());
  EXPECT_FALSE(TestSuddenLoss(series, 1, 5).has_value());  // one rating before
  EXPECT_FALSE(TestSuddenLoss(series, 3, 5).has_value());  // one rating from j on
}

TEST(CeilingDips, AnyDipFromTheTop) {
  EXPECT_EQ(FindCeilingDips(FromScores({4, 4, 3.86, 4, 3.5, 3}), 4), (std::vector<size_t>{2, 4}));
  EXPECT_TRUE(FindCeilingDips(FromScores({3, 2, 1}), 4).empty());
}

}  // namespace
}  // namespace rapport::alliance
