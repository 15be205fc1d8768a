#include "stats/formula.h"

#include <gtest/gtest.h>

#include "base/csv.h"
#include "stats/model_frame.h"
#include "testing/testing.h"

namespace rapport::stats {
namespace {

TEST(Formula, ParsesTheLme4Forms) {
  auto three = ParseFormula("y ~ session + (1 | therapist) + (session | client)");
  ASSERT_OK(three);
  EXPECT_EQ(three->response, "y");
  EXPECT_TRUE(three->intercept);
  ASSERT_EQ(three->fixed.size(), 1u);
  EXPECT_EQ(three->fixed[0], std::vector<std::string>{"session"});
  ASSERT_EQ(three->random.size(), 2u);
  EXPECT_TRUE(three->random[0].covariates.empty());
  EXPECT_EQ(three->random[1].covariates, std::vector<std::string>{"session"});
  EXPECT_EQ(three->random[1].factor, std::vector<std::string>{"client"});

  auto diagonal = ParseFormula("Reaction ~ Days + (Days || Subject)");
  ASSERT_OK(diagonal);
  EXPECT_TRUE(diagonal->random[0].diagonal);

  auto nested = ParseFormula("strength ~ 1 + (1 | batch/cask)");
  ASSERT_OK(nested);
  ASSERT_EQ(nested->random.size(), 2u);
  EXPECT_EQ(nested->random[1].factor, (std::vector<std::string>{"batch", "cask"}));

  auto no_intercept = ParseFormula("y ~ x - 1 + (0 + x | g)");
  ASSERT_OK(no_intercept);
  EXPECT_FALSE(no_intercept->intercept);
  EXPECT_FALSE(no_intercept->random[0].intercept);
}

TEST(Formula, RejectsWhatItCannotFit) {
  for (const char* bad : {"y session + (1 | g)", "y ~ session", "y ~ a * b + (1 | g)",
                          "y ~ (1 | a) + (1 | b) + (1 | c)", "y ~ a + (1 | g", "y ~ log(a) + (1|g)",
                          "y ~ a - b + (1 | g)", "y ~ a + + b + (1 | g)"}) {
    auto formula = ParseFormula(bad);
    EXPECT_FALSE(formula.ok()) << bad;
    EXPECT_EQ(formula.status().field(), "formula") << bad;
  }
}

TEST(ModelFrame, BuildsTermsAndDropsMissingRows) {
  auto table = ParseCsv("t,c,s,y\n1,10,0,5\n1,10,1,4\n1,2,0,6\n2,3,0,NA\n2,3,1,7\n2,3,2,6.5\n",
                        "scores.csv");
  ASSERT_OK(table);
  auto formula = ParseFormula("y ~ s + (1 | t) + (s | c)");
  ASSERT_OK(formula);
  auto frame = BuildModelFrame(*table, *formula);
  ASSERT_OK(frame);
  EXPECT_EQ(frame->rows_used, 5);
  EXPECT_EQ(frame->rows_dropped, 1);
  EXPECT_EQ(frame->data.inner.factor, "c");  // 3 clients > 2 therapists
  EXPECT_EQ(frame->data.inner.level_names, (std::vector<std::string>{"2", "3", "10"}));
  ASSERT_TRUE(frame->data.outer.has_value());
  EXPECT_EQ(frame->data.outer->factor, "t");
  EXPECT_EQ(frame->data.fixed_names, (std::vector<std::string>{"(Intercept)", "s"}));

  auto bad_cell = ParseCsv("t,c,s,y\n1,1,0,5\n1,1,x,4\n", "scores.csv");
  ASSERT_OK(bad_cell);
  auto failed = BuildModelFrame(*bad_cell, *formula);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("scores.csv line 3, column 's'"), std::string::npos)
      << failed.status().message();
  auto missing_column = BuildModelFrame(*bad_cell, *ParseFormula("y ~ s + (s | patient)"));
  EXPECT_NE(missing_column.status().message().find("patient"), std::string::npos);
}

}  // namespace
}  // namespace rapport::stats
