// One loop over data/golden/scoring/*.json: every shipped instrument's golden scoring cases
// (STYLE.md rule 3). An instrument without a golden file fails the suite.
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "instruments/catalog.h"
#include "instruments/scoring.h"
#include "testing/testing.h"

namespace rapport::instruments {
namespace {

using Json = nlohmann::json;

Json ReadJson(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

void ExpectNumberOrNull(const Json& expected, const std::optional<double>& actual,
                        const std::string& what) {
  if (expected.is_null()) {
    EXPECT_FALSE(actual.has_value()) << what << " should be missing";
  } else {
    ASSERT_TRUE(actual.has_value()) << what << " should be " << expected;
    EXPECT_NEAR(*actual, expected.get<double>(), 1e-9) << what;
  }
}

class GoldenScoring : public ::testing::Test {
 protected:
  GoldenScoring() {
    auto loaded = Catalog::Load(Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) catalog_ = std::move(loaded).value();
  }
  Catalog catalog_;
  const std::filesystem::path golden_dir_ = testing::SourceDir() / "data/golden/scoring";
};

TEST_F(GoldenScoring, EveryInstrumentHasGoldenCases) {
  ASSERT_GT(catalog_.size(), 0u);
  for (const Definition* definition : catalog_.All()) {
    const auto path = golden_dir_ / (definition->id + ".json");
    ASSERT_TRUE(std::filesystem::exists(path))
        << "instrument '" << definition->id << "' has no golden cases at " << path;
    const Json golden = ReadJson(path);
    EXPECT_GE(golden.at("cases").size(), 3u) << definition->id;
  }
}

TEST_F(GoldenScoring, EveryGoldenFileNamesAShippedInstrument) {
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir_)) {
    const Json golden = ReadJson(entry.path());
    EXPECT_NE(catalog_.Find(golden.at("instrument").get<std::string>()), nullptr) << entry.path();
  }
}

TEST_F(GoldenScoring, AllCasesScoreAsExpected) {
  size_t cases_run = 0;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir_)) {
    const Json golden = ReadJson(entry.path());
    const Definition* definition = catalog_.Find(golden.at("instrument").get<std::string>());
    ASSERT_NE(definition, nullptr) << entry.path();
    for (const Json& c : golden.at("cases")) {
      const std::string name = definition->id + ": " + c.at("name").get<std::string>();
      SCOPED_TRACE(name);
      ++cases_run;
      auto answers = AnswersFromArray(*definition, c.at("answers"));
      Result<domain::Score> score =
          answers.ok() ? Score(*definition, *answers) : Result<domain::Score>(answers.status());
      if (c.contains("error")) {
        ASSERT_FALSE(score.ok()) << "expected an error";
        EXPECT_EQ(score.status().code(), StatusCode::kInvalidArgument);
        EXPECT_NE(score.status().message().find(c.at("error").get<std::string>()),
                  std::string::npos)
            << score.status().message();
        continue;
      }
      ASSERT_TRUE(score.ok()) << score.status().ToString();
      const Json& expect = c.at("expect");
      ExpectNumberOrNull(expect.at("total"), score->total, "total");
      if (expect.contains("band")) {
        EXPECT_EQ(score->band,
                  expect.at("band").is_null() ? "" : expect.at("band").get<std::string>());
      }
      if (expect.contains("flags")) {
        EXPECT_EQ(score->flags, expect.at("flags").get<std::vector<std::string>>());
      }
      if (expect.contains("subscales")) {
        for (const auto& [id, value] : expect.at("subscales").items()) {
          ASSERT_TRUE(score->subscales.contains(id)) << "subscale " << id;
          ExpectNumberOrNull(value, score->subscales.at(id), "subscale " + id);
        }
      }
    }
  }
  EXPECT_GT(cases_run, 20u);
}

}  // namespace
}  // namespace rapport::instruments
