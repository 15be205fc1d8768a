// `rapport instruments ...` and `rapport score` over every shipped instrument, through the real
// binary: checks that pass, seeded mistakes reported with file, item and field, and a site's
// imported FHIR form scoring exactly like the shipped definition.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

testing::CommandResult Rapport(std::vector<std::string> args) {
  args.insert(args.begin(), testing::RapportBinary().string());
  return testing::RunCommand(args);
}

Json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return Json::parse(in);
}

void WriteJson(const fs::path& path, const Json& json) { std::ofstream(path) << json.dump(2); }

const fs::path kData = testing::SourceDir() / "data";

TEST(InstrumentsCli, ShippedDataPasses) {
  const auto folder = Rapport({"instruments", "check", (kData / "instruments").string()});
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_NE(folder.out.find("ok: 14 instruments"), std::string::npos) << folder.out;
  EXPECT_NE(folder.out.find("rapport-alliance-group: en, es"), std::string::npos) << folder.out;
  EXPECT_NE(folder.out.find("phq-9: scoring only"), std::string::npos);
  const auto whole = Rapport({"instruments", "check", kData.string()});
  EXPECT_EQ(whole.exit_code, 0) << whole.err;
  const auto one = Rapport({"instruments", "check", (kData / "instruments/srs.json").string()});
  EXPECT_EQ(one.exit_code, 0) << one.err;
}

// Each seeded mistake in a copy of the data folder is reported with file, item and field.
class SeededMistake : public ::testing::Test {
 protected:
  SeededMistake() {
    fs::copy(kData / "instruments", dir_.path() / "instruments");
    fs::copy(kData / "textpacks", dir_.path() / "textpacks");
  }
  fs::path Instrument(const std::string& id) const {
    return dir_.path() / "instruments" / (id + ".json");
  }
  testing::CommandResult Check() {
    return Rapport({"instruments", "check", (dir_.path() / "instruments").string()});
  }
  void ExpectReported(const std::string& expected) {
    const auto result = Check();
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find(expected), std::string::npos)
        << "expected: " << expected << "\ngot: " << result.err;
  }
  testing::TempDir dir_;
};

TEST_F(SeededMistake, UnknownItemInASubscale) {
  Json wai = ReadJson(Instrument("wai-sr"));
  wai["scoring"]["subscales"][0]["items"].push_back("13");
  WriteJson(Instrument("wai-sr"), wai);
  ExpectReported(
      "wai-sr.json: item 13: scoring.subscales[0].items[4]: unknown item '13' in "
      "subscale 'task'");
}

TEST_F(SeededMistake, ReverseKeyOutsideTheItems) {
  Json wai = ReadJson(Instrument("wai-sr"));
  wai["scoring"]["reverse"] = {"13"};
  WriteJson(Instrument("wai-sr"), wai);
  ExpectReported("wai-sr.json: item 13: scoring.reverse[0]: unknown item '13'");
}

TEST_F(SeededMistake, DuplicateIds) {
  Json gad = ReadJson(Instrument("gad-7"));
  gad["questionnaire"]["item"][1]["linkId"] = "1";
  WriteJson(Instrument("gad-7"), gad);
  ExpectReported("gad-7.json: item 1: questionnaire.item[1].linkId: duplicate item id '1'");
  fs::copy_file(Instrument("phq-9"), dir_.path() / "instruments/phq-9-copy.json");
  ExpectReported("phq-9.json: questionnaire.id: duplicate instrument id 'phq-9'");
}

TEST_F(SeededMistake, BandGapAndOverlap) {
  Json phq = ReadJson(Instrument("phq-9"));
  phq["scoring"]["bands"][1]["min"] = 6;
  WriteJson(Instrument("phq-9"), phq);
  ExpectReported("phq-9.json: scoring.bands[1].min: gap between band");
  phq["scoring"]["bands"][1]["min"] = 4;
  WriteJson(Instrument("phq-9"), phq);
  ExpectReported("phq-9.json: scoring.bands[1].min: band 'mild' (min 4) overlaps band");
}

TEST_F(SeededMistake, MissingLanguageString) {
  const fs::path pack = dir_.path() / "textpacks/rapport-progress.es.json";
  Json spanish = ReadJson(pack);
  spanish["items"]["self"].erase("text");
  WriteJson(pack, spanish);
  ExpectReported("rapport-progress.es.json: item self: items.self.text: missing language string");
  fs::remove(pack);
  ExpectReported("rapport-progress.json: scoring.languages[0]: missing language 'es'");
}

TEST(InstrumentsCli, ListShowAndTextPackCheck) {
  const auto list = Rapport({"instruments", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::istringstream lines(list.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    const Json entry = Json::parse(line);
    if (entry["id"] == "phq-9") {
      EXPECT_EQ(entry["loinc"], "44249-1");
    }
    if (entry["id"] == "rapport-goals") {
      EXPECT_EQ(entry["languages"], Json({"en", "es"}));
    }
  }
  EXPECT_EQ(count, 14);
  const auto show = Rapport({"instruments", "show", "rapport-alliance-client", "--language", "es"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const Json shown = Json::parse(show.out);
  EXPECT_EQ(shown["shown_in"], "es");
  EXPECT_EQ(shown["title"], "¿Cómo fue la sesión de hoy?");
  EXPECT_EQ(shown["scoring"]["subscales"].size(), 4u);
  const auto phq9 = Json::parse(Rapport({"instruments", "show", "phq-9"}).out);
  EXPECT_TRUE(phq9["shown_in"].is_null());  // scoring only: no wording in the repository
  EXPECT_EQ(phq9["items"][8]["loinc"], "44260-8");
  EXPECT_EQ(Rapport({"instruments", "show", "nope"}).exit_code, 2);

  const auto good = Rapport(
      {"instruments", "textpack", "check", (kData / "textpacks/rapport-goals.es.json").string()});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  testing::TempDir dir;
  Json pack = ReadJson(kData / "textpacks/rapport-alliance-client.es.json");
  pack["items"]["bond-1"]["options"].erase(4);
  WriteJson(dir.path() / "bad.json", pack);
  const auto bad =
      Rapport({"instruments", "textpack", "check", (dir.path() / "bad.json").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("item bond-1: items.bond-1.options: has 4 options; the item has 5"),
            std::string::npos)
      << bad.err;
}

TEST(InstrumentsCli, EveryInstrumentScoresFromTheCommandLine) {
  const auto list = Rapport({"instruments", "list", "--json"});
  std::istringstream lines(list.out);
  int scored = 0;
  for (std::string line; std::getline(lines, line);) {
    const std::string id = Json::parse(line)["id"];
    const Json golden = ReadJson(kData / "golden/scoring" / (id + ".json"));
    for (const Json& c : golden["cases"]) {
      if (!c.contains("expect")) continue;
      const auto result = Rapport({"score", "--instrument", id, "--answers", c["answers"].dump()});
      ASSERT_EQ(result.exit_code, 0) << id << " " << c["name"] << ": " << result.err;
      const Json score = Json::parse(result.out);
      EXPECT_EQ(score["instrument"], id);
      if (c["expect"].contains("total") && !c["expect"]["total"].is_null()) {
        EXPECT_NEAR(score["total"].get<double>(), c["expect"]["total"].get<double>(), 1e-9)
            << id << " " << c["name"];
      }
      ++scored;
      break;  // one case per instrument here; the golden loop runs them all
    }
  }
  EXPECT_EQ(scored, 14);
}

// A site's FHIR Questionnaire carrying LOINC 44249-1 with placeholder wording, imported, scores
// identically to the shipped PHQ-9.
TEST(InstrumentsCli, ImportedPhq9ScoresLikeTheShippedDefinition) {
  testing::TempDir site;
  const std::string form =
      (testing::SourceDir() / "tests/data/fhir/phq-9-placeholder-questionnaire.json").string();
  const auto dry = Rapport({"instruments", "import", form, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_FALSE(fs::exists(site.path() / "textpacks"));
  const auto imported =
      Rapport({"instruments", "import", form, "--site-dir", site.path().string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const Json summary = Json::parse(imported.out);
  EXPECT_EQ(summary["instrument"], "phq-9");
  EXPECT_EQ(summary["matched_by"], "LOINC 44249-1");
  EXPECT_TRUE(fs::exists(site.path() / "textpacks/phq-9.en.json"));
  // Importing again needs --force; the first import stays as it was.
  EXPECT_EQ(Rapport({"instruments", "import", form, "--site-dir", site.path().string()}).exit_code,
            2);
  const auto listed = Rapport({"instruments", "show", "phq-9", "--site-dir", site.path().string()});
  EXPECT_EQ(Json::parse(listed.out)["shown_in"], "en");

  const char* const item_codes[] = {"44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
                                    "44258-2", "44252-5", "44253-3", "44260-8"};
  const char* const answer_codes[] = {"LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"};
  const std::vector<std::vector<int>> vectors = {
      {0, 0, 0, 0, 0, 0, 0, 0, 0}, {3, 3, 3, 3, 3, 3, 3, 3, 3}, {1, 2, 1, 2, 1, 2, 1, 2, 1},
      {2, 2, 2, 1, 1, 1, 0, 0, 0}, {3, 2, 3, 2, 3, 2, 1, 1, 0}, {0, 1, 0, 1, 0, 1, 0, 1, 3}};
  for (const auto& values : vectors) {
    Json items = Json::array();
    for (size_t i = 0; i < values.size(); ++i) {
      items.push_back(
          {{"linkId", std::string("/") + item_codes[i]},
           {"answer",
            {{{"valueCoding",
               {{"system", "http://loinc.org"}, {"code", answer_codes[values[i]]}}}}}}});
    }
    const Json response = {{"resourceType", "QuestionnaireResponse"},
                           {"status", "completed"},
                           {"item", {{{"linkId", "/44249-1"}, {"item", items}}}}};
    WriteJson(site.path() / "response.json", response);
    const auto via_form =
        Rapport({"score", "--instrument", "phq-9", "--response",
                 (site.path() / "response.json").string(), "--site-dir", site.path().string()});
    ASSERT_EQ(via_form.exit_code, 0) << via_form.err;
    const auto direct =
        Rapport({"score", "--instrument", "phq-9", "--answers", Json(values).dump()});
    ASSERT_EQ(direct.exit_code, 0) << direct.err;
    EXPECT_EQ(Json::parse(via_form.out), Json::parse(direct.out)) << Json(values).dump();
  }
}

TEST(InstrumentsCli, BadInputExitsTwoWithAMessage) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "junk.json") << "{\"resourceType\": \"Questionnaire\", \"item\": 1";
  const auto junk = Rapport({"instruments", "import", (dir.path() / "junk.json").string(),
                             "--site-dir", dir.path().string()});
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_NE(junk.err.find("not valid JSON"), std::string::npos) << junk.err;
  EXPECT_EQ(Rapport({"instruments", "import", "/no/such/file.json", "--dry-run"}).exit_code, 2);
  EXPECT_EQ(Rapport({"instruments", "check", "/no/such/place"}).exit_code, 2);
  EXPECT_EQ(Rapport({"instruments"}).exit_code, 2);
  EXPECT_EQ(Rapport({"score", "--instrument", "phq-9", "--site-dir", "/no/such/site", "--answers",
                     "[0,0,0,0,0,0,0,0,0]"})
                .exit_code,
            2);
}

}  // namespace
}  // namespace rapport
