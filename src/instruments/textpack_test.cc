#include "instruments/textpack.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "instruments/catalog.h"
#include "testing/testing.h"

namespace rapport::instruments {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// GAD-7 wording with placeholder text: 7 items of 4 options.
Json Gad7Pack() {
  Json items = Json::object();
  for (int i = 1; i <= 7; ++i) {
    items[std::to_string(i)] = {{"text", "Placeholder " + std::to_string(i)},
                                {"options", {"p0", "p1", "p2", "p3"}}};
  }
  return {{"textpack",
           {{"instrument", "gad-7"}, {"language", "en"}, {"source", "test"}, {"licence", "test"}}},
          {"title", "Placeholder anxiety questionnaire"},
          {"items", items}};
}

class TextPacks : public ::testing::Test {
 protected:
  TextPacks() {
    auto loaded = Catalog::Load(Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) catalog_ = std::move(loaded).value();
  }
  std::vector<Problem> Check(const Json& pack_json) {
    auto pack = ParseTextPack(pack_json.dump(), "gad-7.en.json");
    EXPECT_TRUE(pack.ok()) << pack.status().ToString();
    if (!pack.ok()) return {};
    return CheckTextPack(*pack, *catalog_.Find("gad-7"));
  }
  Catalog catalog_;
};

TEST_F(TextPacks, ACompletePackWordsAScoringOnlyInstrument) {
  EXPECT_EQ(catalog_.FindWorded("gad-7", "en"), nullptr);  // never shown without wording
  EXPECT_TRUE(catalog_.Languages("gad-7").empty());
  auto pack = ParseTextPack(Gad7Pack().dump(), "gad-7.en.json");
  ASSERT_OK(pack);
  ASSERT_OK(catalog_.AddTextPack(*pack));
  const Definition* worded = catalog_.FindWorded("gad-7", "en");
  ASSERT_NE(worded, nullptr);
  EXPECT_TRUE(worded->HasWording());
  EXPECT_EQ(worded->items[6].options[3].display, "p3");
  EXPECT_EQ(worded->items[6].options[3].value, 3);
  EXPECT_EQ(catalog_.Languages("gad-7"), (std::vector<std::string>{"en"}));
  // The scoring definition itself is unchanged.
  EXPECT_FALSE(catalog_.Find("gad-7")->HasWording());
}

TEST_F(TextPacks, EveryMissingStringIsNamed) {
  Json pack = Gad7Pack();
  pack["items"].erase("3");
  pack["items"]["5"].erase("text");
  pack["items"]["6"]["options"] = {"a", "b", "c"};
  pack["items"]["99"] = {{"text", "extra"}};
  pack.erase("title");
  std::vector<std::string> messages;
  for (const Problem& problem : Check(pack)) messages.push_back(problem.ToString());
  EXPECT_THAT(messages, ::testing::UnorderedElementsAre(
                            "gad-7.en.json: title: missing language string",
                            "gad-7.en.json: item 3: items.3: missing language string: the item "
                            "has no text",
                            "gad-7.en.json: item 5: items.5.text: missing language string",
                            "gad-7.en.json: item 6: items.6.options: has 3 options; the item has 4",
                            "gad-7.en.json: item 99: items.99: unknown item '99' (not in gad-7)"));
}

TEST_F(TextPacks, VersionAndInstrumentMustFit) {
  Json pack = Gad7Pack();
  pack["textpack"]["instrument_version"] = "7";
  auto problems = Check(pack);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, "textpack.instrument_version");
  pack["textpack"]["instrument"] = "phq-9";
  problems = Check(pack);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("pack is for 'phq-9', not 'gad-7'"));
}

TEST_F(TextPacks, MalformedPacksAreProblemsNotCrashes) {
  for (const char* text :
       {"", "[]", "{}", "{\"textpack\": 1}", "{\"textpack\":{},\"items\":[]}",
        "{\"textpack\":{\"instrument\":\"gad-7\",\"language\":\"English\",\"source\":\"s\","
        "\"licence\":\"l\"},\"items\":{\"1\":{\"options\":[1,2]}}}"}) {
    std::vector<Problem> problems;
    EXPECT_FALSE(ParseTextPack(text, "x.json", &problems).ok()) << text;
    EXPECT_FALSE(problems.empty()) << text;
  }
}

TEST_F(TextPacks, RoundTripsThroughJson) {
  auto pack = ParseTextPack(Gad7Pack().dump(), "a.json");
  ASSERT_OK(pack);
  pack->items["1"].link_id = "/69725-0";
  pack->items["1"].options[0].code = "LA6568-5";
  pack->ignored_link_ids = {"/70274-6"};
  auto again = ParseTextPack(TextPackToJson(*pack), "b.json");
  ASSERT_OK(again);
  EXPECT_EQ(again->items.at("1").link_id, "/69725-0");
  EXPECT_EQ(again->items.at("1").options[0].code, "LA6568-5");
  EXPECT_EQ(again->items.at("1").options[0].display, "p0");
  EXPECT_EQ(again->ignored_link_ids, pack->ignored_link_ids);
  EXPECT_TRUE(CheckTextPack(*again, *catalog_.Find("gad-7")).empty());
}

TEST_F(TextPacks, SitePackOverridesAndFallbackIsExplicit) {
  testing::TempDir site;
  std::filesystem::create_directories(site.path() / "textpacks");
  std::ofstream(site.path() / "textpacks/gad-7.de.json") << [] {
    Json pack = Gad7Pack();
    pack["textpack"]["language"] = "de";
    return pack.dump();
  }();
  auto catalog = Catalog::Load(Catalog::SourcesFor(testing::SourceDir() / "data", site.path()));
  ASSERT_OK(catalog);
  EXPECT_EQ(catalog->Languages("gad-7"), (std::vector<std::string>{"de"}));
  const Wording wording = catalog->Resolve("gad-7", "fr");
  ASSERT_NE(wording.definition, nullptr);
  EXPECT_TRUE(wording.fell_back);
  EXPECT_EQ(wording.definition->language, "de");
  EXPECT_EQ(catalog->Resolve("phq-9", "en").definition, nullptr);
  // An own instrument asked for in a language it lacks falls back to its default language.
  const Wording own = catalog->Resolve("rapport-alliance-client", "fr");
  ASSERT_NE(own.definition, nullptr);
  EXPECT_TRUE(own.fell_back);
  EXPECT_EQ(own.definition->language, "en");
  EXPECT_FALSE(catalog->Resolve("rapport-alliance-client", "en").fell_back);
}

TEST_F(TextPacks, PacksForUnknownInstrumentsOrTwiceInOneFolderAreProblems) {
  testing::TempDir site;
  std::filesystem::create_directories(site.path() / "textpacks");
  Json unknown = Gad7Pack();
  unknown["textpack"]["instrument"] = "no-such";
  std::ofstream(site.path() / "textpacks/a.json") << unknown.dump();
  std::ofstream(site.path() / "textpacks/b.json") << Gad7Pack().dump();
  std::ofstream(site.path() / "textpacks/c.json") << Gad7Pack().dump();
  std::vector<Problem> problems;
  auto catalog =
      Catalog::Load(Catalog::SourcesFor(testing::SourceDir() / "data", site.path()), &problems);
  ASSERT_FALSE(catalog.ok());
  EXPECT_THAT(catalog.status().message(), HasSubstr("no instrument 'no-such' is installed"));
  EXPECT_THAT(catalog.status().message(), HasSubstr("a second pack for gad-7 in 'en'"));
}

TEST_F(TextPacks, DeclaredLanguageWithoutPackIsAProblem) {
  testing::TempDir data;
  std::filesystem::create_directories(data.path() / "instruments");
  std::filesystem::copy_file(testing::SourceDir() / "data/instruments/rapport-progress.json",
                             data.path() / "instruments/rapport-progress.json");
  std::ifstream in(data.path() / "instruments/rapport-progress.json");
  Json definition = Json::parse(in);
  in.close();
  definition["scoring"]["languages"] = {"fr"};
  std::ofstream(data.path() / "instruments/rapport-progress.json") << definition.dump();
  auto catalog = Catalog::Load(Catalog::SourcesFor(data.path()));
  ASSERT_FALSE(catalog.ok());
  EXPECT_THAT(catalog.status().message(),
              HasSubstr("rapport-progress.json: scoring.languages[0]: missing language 'fr'"));
}

}  // namespace
}  // namespace rapport::instruments
