#include "instruments/scoring.h"

#include <nlohmann/json.hpp>

#include "instruments/catalog.h"
#include "testing/testing.h"

namespace rapport::instruments {
namespace {

class ScoringTest : public ::testing::Test {
 protected:
  ScoringTest() {
    auto loaded = Catalog::Load(Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) catalog_ = std::move(loaded).value();
  }
  const Definition& Get(const char* id) { return *catalog_.Find(id); }
  Catalog catalog_;
};

TEST_F(ScoringTest, UnknownItemIsRefused) {
  const std::vector<domain::ItemAnswer> answers{{"10", 1.0}};
  const Status status = ValidateAnswers(Get("phq-9"), answers);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.field(), "item 10");
}

TEST_F(ScoringTest, DuplicateAnswerIsRefused) {
  const std::vector<domain::ItemAnswer> answers{{"1", 1.0}, {"1", 2.0}};
  EXPECT_EQ(ValidateAnswers(Get("phq-9"), answers).message(), "item 1: answered more than once");
}

TEST_F(ScoringTest, NonFiniteValueIsRefused) {
  const std::vector<domain::ItemAnswer> answers{{"self", std::nan("")}};
  EXPECT_FALSE(ValidateAnswers(Get("rapport-progress"), answers).ok());
}

TEST_F(ScoringTest, AnswersMayComeInAnyOrder) {
  std::vector<domain::ItemAnswer> answers;
  for (int item = 9; item >= 1; --item) answers.push_back({std::to_string(item), 1.0});
  const auto score = Score(Get("phq-9"), answers);
  ASSERT_OK(score);
  EXPECT_EQ(*score->total, 9);
  EXPECT_EQ(score->flags, std::vector<std::string>{"risk"});
}

TEST_F(ScoringTest, ScoreJsonHasTheDocumentedShape) {
  const auto answers = AnswersFromArray(Get("gad-7"), nlohmann::json::parse("[1,1,1,1,1,1,1]"));
  ASSERT_OK(answers);
  const auto score = Score(Get("gad-7"), *answers);
  ASSERT_OK(score);
  const nlohmann::json json = ScoreToJson(*score);
  EXPECT_EQ(json["instrument"], "gad-7");
  EXPECT_EQ(json["total"], 7.0);
  EXPECT_EQ(json["band"], "mild");
  EXPECT_TRUE(json["subscales"].is_object());
  EXPECT_TRUE(json["flags"].is_array());
}

TEST_F(ScoringTest, ReverseKeyedItemsAreMirrored) {
  Item item;
  item.min = 1;
  item.max = 5;
  item.reverse = true;
  EXPECT_EQ(KeyedValue(item, 1), 5);
  EXPECT_EQ(KeyedValue(item, 4), 2);
  item.reverse = false;
  EXPECT_EQ(KeyedValue(item, 4), 4);
}

}  // namespace
}  // namespace rapport::instruments
