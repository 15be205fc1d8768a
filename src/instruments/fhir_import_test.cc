#include "instruments/fhir_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "instruments/scoring.h"
#include "testing/testing.h"

namespace rapport::instruments {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

const char* const kAnswerCodes[] = {"LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"};
const char* const kItemCodes[] = {"44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
                                  "44258-2", "44252-5", "44253-3", "44260-8"};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class FhirImport : public ::testing::Test {
 protected:
  FhirImport() {
    auto loaded = Catalog::Load(Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) catalog_ = std::move(loaded).value();
  }
  std::string Placeholder() const {
    return ReadFile(testing::SourceDir() / "tests/data/fhir/phq-9-placeholder-questionnaire.json");
  }
  // A QuestionnaireResponse to the placeholder form, answering item i with values[i].
  static Json ResponseFor(const std::vector<int>& values) {
    Json items = Json::array();
    for (size_t i = 0; i < values.size(); ++i) {
      items.push_back(
          {{"linkId", std::string("/") + kItemCodes[i]},
           {"answer",
            {{{"valueCoding",
               {{"system", "http://loinc.org"}, {"code", kAnswerCodes[values[i]]}}}}}}});
    }
    items.push_back({{"linkId", "/44261-6"}, {"answer", {{{"valueInteger", 99}}}}});
    return {{"resourceType", "QuestionnaireResponse"},
            {"status", "completed"},
            {"item", {{{"linkId", "/44249-1"}, {"item", items}}}}};
  }
  Catalog catalog_;
};

TEST_F(FhirImport, RecognisesThePhq9PanelAndKeepsOnlyTheWording) {
  auto form = ImportQuestionnaire(Placeholder(), "site-phq9.json", catalog_);
  ASSERT_OK(form);
  EXPECT_EQ(form->instrument_id, "phq-9");
  EXPECT_EQ(form->matched_by, "LOINC 44249-1");
  EXPECT_EQ(form->items_matched_by, "code");
  EXPECT_EQ(form->pack.language, "en");
  EXPECT_EQ(form->pack.items.at("1").text, "Placeholder question 1");
  EXPECT_EQ(form->pack.items.at("1").link_id, "/44250-9");
  // Item 5 lists its options highest first; the pack orders them by scored value.
  EXPECT_EQ(form->pack.items.at("5").options.front().code, "LA6568-5");
  EXPECT_EQ(form->pack.items.at("5").options.back().display, "Placeholder answer 3");
  EXPECT_EQ(form->pack.ignored_link_ids, (std::vector<std::string>{"/44261-6", "/69722-7"}));
  EXPECT_TRUE(CheckTextPack(form->pack, *catalog_.Find("phq-9")).empty());
}

TEST_F(FhirImport, ImportedFormScoresExactlyLikeTheShippedDefinition) {
  auto form = ImportQuestionnaire(Placeholder(), "site-phq9.json", catalog_);
  ASSERT_OK(form);
  ASSERT_OK(catalog_.AddTextPack(form->pack));
  const Definition& shipped = *catalog_.Find("phq-9");
  const Definition* worded = catalog_.FindWorded("phq-9", "en");
  ASSERT_NE(worded, nullptr);
  EXPECT_TRUE(worded->HasWording());
  const std::vector<std::vector<int>> vectors = {
      {0, 0, 0, 0, 0, 0, 0, 0, 0}, {3, 3, 3, 3, 3, 3, 3, 3, 3}, {1, 1, 1, 1, 0, 0, 0, 0, 0},
      {2, 2, 1, 1, 1, 1, 1, 1, 0}, {3, 2, 2, 2, 2, 2, 2, 1, 1}, {0, 1, 2, 3, 0, 1, 2, 3, 0},
      {3, 3, 3, 3, 2, 2, 2, 2, 2}, {1, 0, 0, 0, 0, 0, 0, 0, 2}};
  for (const auto& values : vectors) {
    auto answers = AnswersFromQuestionnaireResponse(*worded, catalog_.FindTextPack("phq-9", "en"),
                                                    ResponseFor(values));
    ASSERT_OK(answers);
    auto imported = Score(*worded, *answers);
    ASSERT_OK(imported);
    Json array = Json::array();
    for (int v : values) array.push_back(v);
    auto direct = Score(shipped, *AnswersFromArray(shipped, array));
    ASSERT_OK(direct);
    EXPECT_EQ(ScoreToJson(*imported), ScoreToJson(*direct)) << array.dump();
  }
}

TEST_F(FhirImport, ExplainsWhatDoesNotMatch) {
  Json form = Json::parse(Placeholder());
  auto& items = form["item"][0]["item"];
  items[2]["answerOption"].erase(3);                                // item 3: three options
  items[3]["answerOption"][0]["extension"][0]["valueDecimal"] = 5;  // item 4: a value 5
  items.erase(8);                                                   // no item 9
  std::vector<Problem> problems;
  auto imported = ImportQuestionnaire(form.dump(), "bad.json", catalog_, {}, &problems);
  ASSERT_FALSE(imported.ok());
  EXPECT_THAT(imported.status().message(), HasSubstr("bad.json: item 9: item: the form has no "
                                                     "question for phq-9 item 9 (LOINC 44260-8)"));
  problems.clear();
  items.push_back(Json::parse(Placeholder())["item"][0]["item"][8]);
  imported = ImportQuestionnaire(form.dump(), "bad.json", catalog_, {}, &problems);
  ASSERT_FALSE(imported.ok());
  EXPECT_THAT(imported.status().message(), HasSubstr("item 3: $.item[0].item[2].answerOption: "
                                                     "has 3 options; phq-9 item 3 has 4"));
  EXPECT_THAT(imported.status().message(), HasSubstr("item 4:"));
  EXPECT_THAT(imported.status().message(),
              HasSubstr("item 4: $.item[0].item[3].answerOption: the options score 1, 2, 3, 5; "
                        "phq-9 item 4 scores 0, 1, 2, 3"));
}

TEST_F(FhirImport, UnknownPanelOrNoCodeNeedsTheInstrumentNamed) {
  Json form = Json::parse(Placeholder());
  form["code"][0]["code"] = "99999-9";
  auto imported = ImportQuestionnaire(form.dump(), "x.json", catalog_);
  ASSERT_FALSE(imported.ok());
  EXPECT_THAT(imported.status().message(), HasSubstr("LOINC 99999-9 is not a panel"));
  EXPECT_THAT(imported.status().message(), HasSubstr("44249-1 (phq-9)"));
  auto named = ImportQuestionnaire(form.dump(), "x.json", catalog_, {.instrument_id = "phq-9"});
  ASSERT_OK(named);
  EXPECT_EQ(named->matched_by, "--instrument phq-9");
}

TEST_F(FhirImport, HomeGrownFormMatchedByPosition) {
  // A site's own form: no codes, its own linkIds, integer-valued options.
  Json items = Json::array();
  for (int i = 0; i < 7; ++i) {
    Json options = Json::array();
    for (int v = 0; v < 4; ++v) options.push_back({{"valueInteger", v}});
    const std::string number = std::to_string(i);
    items.push_back({{"linkId", std::string("q").append(number)},
                     {"text", std::string("Placeholder ").append(number)},
                     {"type", "choice"},
                     {"answerOption", options}});
  }
  const Json form = {{"resourceType", "Questionnaire"}, {"title", "Site form"}, {"item", items}};
  auto imported = ImportQuestionnaire(form.dump(), "gad.json", catalog_,
                                      {.instrument_id = "gad-7", .language = "en"});
  ASSERT_OK(imported);
  EXPECT_EQ(imported->items_matched_by, "position");
  EXPECT_EQ(imported->pack.items.at("7").link_id, "q6");
  // Without a language the import asks for one.
  auto no_language =
      ImportQuestionnaire(form.dump(), "gad.json", catalog_, {.instrument_id = "gad-7"});
  ASSERT_FALSE(no_language.ok());
  EXPECT_THAT(no_language.status().message(), HasSubstr("give --language"));
}

TEST_F(FhirImport, ExternalValueSetsAndJunkAreRefusedNotCrashed) {
  Json form = Json::parse(Placeholder());
  auto& item = form["item"][0]["item"][0];
  item.erase("answerOption");
  item["answerValueSet"] = "http://loinc.org/vs/LL358-3";
  auto imported = ImportQuestionnaire(form.dump(), "x.json", catalog_);
  ASSERT_FALSE(imported.ok());
  EXPECT_THAT(imported.status().message(), HasSubstr("external ValueSet"));
  for (const char* junk : {"", "[]", "{}", "{\"resourceType\":\"Patient\"}", "nul",
                           "{\"resourceType\":\"Questionnaire\",\"item\":7}"}) {
    EXPECT_FALSE(ImportQuestionnaire(junk, "junk.json", catalog_).ok()) << junk;
  }
}

TEST_F(FhirImport, ResponsesWithUnknownOrMalformedAnswersAreErrors) {
  auto form = ImportQuestionnaire(Placeholder(), "site-phq9.json", catalog_);
  ASSERT_OK(form);
  const Definition& phq9 = *catalog_.Find("phq-9");
  Json response = ResponseFor({0, 0, 0, 0, 0, 0, 0, 0, 0});
  response["item"][0]["item"][0]["answer"][0]["valueCoding"]["code"] = "LA0000-0";
  auto answers = AnswersFromQuestionnaireResponse(phq9, &form->pack, response);
  ASSERT_FALSE(answers.ok());
  EXPECT_THAT(answers.status().message(), HasSubstr("'/44250-9': answer code 'LA0000-0'"));
  Json stray = ResponseFor({0, 0, 0, 0, 0, 0, 0, 0, 0});
  stray["item"].push_back({{"linkId", "extra"}, {"answer", {{{"valueInteger", 1}}}}});
  EXPECT_FALSE(AnswersFromQuestionnaireResponse(phq9, &form->pack, stray).ok());
  EXPECT_FALSE(AnswersFromQuestionnaireResponse(phq9, nullptr, Json::array()).ok());
}

}  // namespace
}  // namespace rapport::instruments
