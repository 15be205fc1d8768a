#include "alliance/change.h"

#include "testing/testing.h"

namespace rapport::alliance {
namespace {

using instruments::Direction;

TEST(Change, ReferenceInputsAreValidated) {
  EXPECT_EQ(JacobsonTruaxFrom(0, 0.8).status().field(), "sd");
  EXPECT_EQ(JacobsonTruaxFrom(5, 1.0).status().field(), "reliability");
  EXPECT_EQ(JacobsonTruaxFrom(5, -0.1).status().field(), "reliability");
  EXPECT_EQ(ClinicalCutoffsFrom(40, 0, 60, 5, Direction::kHigherIsBetter).status().field(), "s1");
}

TEST(Change, CutoffsMirrorForHigherIsWorse) {
  auto cutoffs = ClinicalCutoffsFrom(20, 5, 6, 4, Direction::kHigherIsWorse);
  ASSERT_OK(cutoffs);
  EXPECT_DOUBLE_EQ(cutoffs->a, 10);  // M1 − 2·s1
  EXPECT_DOUBLE_EQ(cutoffs->b, 14);  // M0 + 2·s0
  EXPECT_DOUBLE_EQ(cutoffs->c, (4.0 * 20 + 5.0 * 6) / 9);
}

TEST(Change, JacobsonTruaxIsStrictAndPublishedThresholdsInclusive) {
  ChangeCriteria strict;
  strict.s_diff = 1;
  strict.min_reliable_change = 1.96;
  strict.inclusive = false;
  EXPECT_EQ(ClassifyChange(0, 1.96, strict).reliable, ReliableChangeKind::kNoChange);
  ChangeCriteria inclusive = strict;
  inclusive.inclusive = true;
  EXPECT_EQ(ClassifyChange(0, 1.96, inclusive).reliable, ReliableChangeKind::kImproved);
}

TEST(Change, DirectionDecidesWhatImprovementIs) {
  ChangeCriteria criteria;
  criteria.direction = Direction::kHigherIsWorse;
  criteria.s_diff = 6 / 1.96;
  criteria.min_reliable_change = 6;
  EXPECT_EQ(ClassifyChange(16, 8, criteria).reliable, ReliableChangeKind::kImproved);
  EXPECT_EQ(ClassifyChange(8, 16, criteria).reliable, ReliableChangeKind::kDeteriorated);
  EXPECT_NEAR(ClassifyChange(16, 8, criteria).rc, -8 / (6 / 1.96), 1e-12);
}

TEST(Change, ConcernSide) {
  EXPECT_TRUE(OnConcernSide(10, 10, ">="));
  EXPECT_FALSE(OnConcernSide(10, 10, ">"));
  EXPECT_TRUE(OnConcernSide(2.9, 3, "<"));
  EXPECT_TRUE(OnConcernSide(3, 3, "<="));
  EXPECT_FALSE(OnConcernSide(3, 3, "?"));
}

}  // namespace
}  // namespace rapport::alliance
