#include "instruments/catalog.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace rapport::instruments {
namespace {

using Json = nlohmann::json;

// A small valid definition that each test breaks in one way.
Json ValidDefinition() {
  return Json::parse(R"({
    "questionnaire": {
      "resourceType": "Questionnaire", "id": "toy", "version": "1", "title": "Toy",
      "language": "en", "status": "active",
      "contained": [{"resourceType": "ValueSet", "id": "s", "compose": {"include": [
        {"system": "urn:x", "concept": [{"code": "0", "display": "No"}, {"code": "1", "display": "Some"},
                                         {"code": "2", "display": "Yes"}]}]}}],
      "item": [
        {"linkId": "a", "type": "choice", "text": "A?", "answerValueSet": "#s"},
        {"linkId": "b", "type": "choice", "text": "B?", "answerValueSet": "#s"},
        {"linkId": "c", "type": "choice", "text": "C?", "answerValueSet": "#s"}
      ]
    },
    "scoring": {
      "kind": "alliance", "perspective": "client", "wording": "own", "status": "test",
      "licence": "test", "direction": "higher-is-better", "total": {"method": "sum"},
      "reverse": ["c"],
      "subscales": [{"id": "ab", "items": ["a", "b"]}],
      "bands": [{"label": "low", "min": 0, "max": 2}, {"label": "high", "min": 3, "max": 6}],
      "flags": [{"id": "a-high", "when": "item_at_least", "item": "a", "value": 2, "source": "test"}]
    }
  })");
}

std::string Problems(const Json& definition) {
  const auto parsed = ParseDefinition(definition.dump(), "toy.json");
  return parsed.ok() ? std::string() : parsed.status().message();
}

TEST(ParseDefinition, AcceptsTheValidDefinition) {
  const auto parsed = ParseDefinition(ValidDefinition().dump(), "toy.json");
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->items.size(), 3u);
  EXPECT_TRUE(parsed->items[2].reverse);
  EXPECT_EQ(parsed->items[0].max, 2);
  EXPECT_TRUE(parsed->HasWording());
  EXPECT_EQ(parsed->TotalMax(), 6);
}

TEST(ParseDefinition, UnknownItemInSubscaleNamesFileItemAndField) {
  Json d = ValidDefinition();
  d["scoring"]["subscales"][0]["items"][1] = "z";
  EXPECT_EQ(Problems(d),
            "toy.json: item z: scoring.subscales[0].items[1]: unknown item 'z' in subscale 'ab'");
}

TEST(ParseDefinition, ReverseKeyOfUnknownItem) {
  Json d = ValidDefinition();
  d["scoring"]["reverse"] = {"q"};
  EXPECT_EQ(Problems(d), "toy.json: item q: scoring.reverse[0]: unknown item 'q'");
}

TEST(ParseDefinition, DuplicateItemId) {
  Json d = ValidDefinition();
  d["questionnaire"]["item"][1]["linkId"] = "a";
  EXPECT_NE(Problems(d).find("item a: questionnaire.item[1].linkId: duplicate item id 'a'"),
            std::string::npos)
      << Problems(d);
}

TEST(ParseDefinition, BandGap) {
  Json d = ValidDefinition();
  d["scoring"]["bands"][1]["min"] = 4;
  EXPECT_EQ(Problems(d),
            "toy.json: scoring.bands[1].min: gap between band 'low' (max 2) and band "
            "'high' (min 4)");
}

TEST(ParseDefinition, BandOverlap) {
  Json d = ValidDefinition();
  d["scoring"]["bands"][1]["min"] = 2;
  EXPECT_EQ(Problems(d),
            "toy.json: scoring.bands[1].min: band 'high' (min 2) overlaps band 'low' "
            "(max 2)");
}

TEST(ParseDefinition, BandsMustCoverTheRange) {
  Json d = ValidDefinition();
  d["scoring"]["bands"][1]["max"] = 5;
  EXPECT_EQ(Problems(d),
            "toy.json: scoring.bands[1].max: bands must end at the highest possible total 6");
}

TEST(ParseDefinition, FlagOnUnknownItemAndThresholdOutOfRange) {
  Json d = ValidDefinition();
  d["scoring"]["flags"][0]["item"] = "nine";
  EXPECT_EQ(Problems(d), "toy.json: item nine: scoring.flags[0].item: unknown item 'nine'");
  d["scoring"]["flags"][0]["item"] = "a";
  d["scoring"]["flags"][0]["value"] = 3;
  EXPECT_EQ(Problems(d),
            "toy.json: item a: scoring.flags[0].value: threshold 3 is outside the "
            "item's range 0–2");
}

TEST(ParseDefinition, ReportsEveryProblemNotJustTheFirst) {
  Json d = ValidDefinition();
  d["scoring"].erase("direction");
  d["scoring"]["total"]["method"] = "median";
  d["questionnaire"]["item"][0].erase("type");
  const std::string problems = Problems(d);
  EXPECT_NE(problems.find("scoring.direction: required string is missing"), std::string::npos);
  EXPECT_NE(problems.find("scoring.total.method: must be 'sum' or 'mean'"), std::string::npos);
  EXPECT_NE(problems.find("item a: questionnaire.item[0].type: required string is missing"),
            std::string::npos);
}

TEST(ParseDefinition, MalformedInputIsAnErrorNotACrash) {
  for (const std::string text : {"", "{", "[]", "null", "{\"questionnaire\": 3}",
                                 "{\"questionnaire\": {\"item\": [1, 2]}, \"scoring\": []}"}) {
    const auto parsed = ParseDefinition(text, "bad.json");
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().rfind("bad.json: ", 0), 0u) << parsed.status().message();
  }
}

TEST(Catalog, DuplicateIdAcrossFilesNamesBoth) {
  testing::TempDir dir;
  for (const char* name : {"one.json", "two.json"}) {
    std::ofstream(dir.path() / name) << ValidDefinition().dump();
  }
  const auto catalog = Catalog::LoadDirectory(dir.path());
  ASSERT_FALSE(catalog.ok());
  EXPECT_NE(catalog.status().message().find("duplicate instrument id 'toy'"), std::string::npos);
  EXPECT_NE(catalog.status().message().find("one.json"), std::string::npos);
}

TEST(Catalog, ShippedInstrumentsLoad) {
  const auto catalog = Catalog::Load(Catalog::SourcesFor(testing::SourceDir() / "data"));
  ASSERT_OK(catalog);
  for (const char* id : {"phq-9", "gad-7", "rapport-alliance-client", "rapport-alliance-clinician",
                         "rapport-progress"}) {
    EXPECT_NE(catalog->Find(id), nullptr) << id;
  }
  EXPECT_EQ(catalog->Find("phq-9")->loinc, "44249-1");
  EXPECT_EQ(catalog->Find("gad-7")->loinc, "69737-5");
  // Standard instruments ship scoring only: no wording, so they are never shown to a client.
  EXPECT_FALSE(catalog->Find("phq-9")->HasWording());
  EXPECT_TRUE(catalog->Find("rapport-alliance-client")->HasWording());
}

}  // namespace
}  // namespace rapport::instruments
