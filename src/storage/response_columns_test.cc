#include "storage/response_columns.h"

#include <limits>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace rapport::storage {
namespace {

using domain::ItemAnswer;

TEST(ResponseColumns, AnswersRoundTripWithMissingValuesAndAnyItemId) {
  const std::vector<std::vector<ItemAnswer>> cases = {
      {},
      {{"1", 2.0}, {"2", std::nullopt}, {"9", 0.0}},
      {{"a", -3.5}, {"b", 1e-7}, {"c", 12345678.25}, {"d", std::numeric_limits<double>::max()}},
      // Ids the fast reader leaves to the JSON library: a quote, a backslash, a control
      // character; and one it reads itself although not ASCII.
      {{"say \"no\"", 1.0}, {"back\\slash", 2.0}, {"tab\there", 3.0}, {"é-item", 4.0}},
  };
  for (const auto& answers : cases) {
    const std::string text = AnswersText(answers);
    SCOPED_TRACE(text);
    const auto read = ParseAnswersText(text);
    ASSERT_OK(read.status());
    EXPECT_EQ(*read, answers);
  }
}

TEST(ResponseColumns, ReadsTheAnswersEachBackendsMigrationWrites) {
  // SQLite's json_group_array (as AnswersText) and PostgreSQL's json_agg, with its spaces.
  const std::vector<ItemAnswer> expected = {{"1", 1.0}, {"2", std::nullopt}, {"3", 2.0}};
  for (const std::string text :
       {R"([["1",1.0],["2",null],["3",2.0]])", R"([["1", 1], ["2", null], ["3", 2]])",
        " [ [ \"1\" , 1 ] ,\n[\"2\",null],[\"3\",2e0] ] "}) {
    SCOPED_TRACE(text);
    const auto read = ParseAnswersText(text);
    ASSERT_OK(read.status());
    EXPECT_EQ(*read, expected);
  }
}

TEST(ResponseColumns, StoredAnswersThatAreNotAnswersAreAnInternalError) {
  for (const std::string text :
       {"", "{}", "[1]", R"([["a"]])", R"([["a",1,2]])", R"([["a",nan]])", R"([["a",inf]])",
        R"([["a",-inf]])", R"([["a","1"]])", R"([[1,1]])", R"([["a",1])", R"([["a",1]] x)",
        R"([["a",1],])", R"([["a",1.2.3]])", R"([["a",]])", "[", "null"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseAnswersText(text).status().code(), StatusCode::kInternal);
  }
}

TEST(ResponseColumns, ScoreTextsRoundTrip) {
  domain::Score score;
  score.subscales = {{"bond", 3.25}, {"goals", std::nullopt}};
  score.flags = {"risk", "prorated"};
  domain::Score read;
  ASSERT_OK(ParseScoreTexts(SubscalesText(score), FlagsText(score), read));
  EXPECT_EQ(read.subscales, score.subscales);
  EXPECT_EQ(read.flags, score.flags);
  domain::Score empty;
  ASSERT_OK(ParseScoreTexts(SubscalesText(empty), FlagsText(empty), read = {}));
  EXPECT_TRUE(read.subscales.empty() && read.flags.empty());
  EXPECT_EQ(ParseScoreTexts("[]", "[]", read).code(), StatusCode::kInternal);
  EXPECT_EQ(ParseScoreTexts("{}", "{}", read).code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace rapport::storage
