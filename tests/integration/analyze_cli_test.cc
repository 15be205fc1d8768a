// `rapport analyze` through the real binary: one JSON object per line, exit 2 naming the row
// and column on bad input.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;

testing::CommandResult Rapport(std::vector<std::string> args) {
  args.insert(args.begin(), testing::RapportBinary().string());
  args.push_back("--data-dir");
  args.push_back((testing::SourceDir() / "data").string());
  return testing::RunCommand(args);
}

std::vector<Json> Lines(const std::string& out) {
  std::vector<Json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(Json::parse(line));
  return lines;
}

class AnalyzeCli : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }
  testing::TempDir dir_;
};

TEST_F(AnalyzeCli, RupturesFromRowsInAnyOrder) {
  // SCIENCE.md §5.2 rows 1, 2 and 4 as three episodes, rows shuffled.
  const std::string file = Write("series.csv",
                                 "episode,session,score,bond,goals,tasks\n"
                                 "b,2,34,,,\n"
                                 "a,4,33,4,1,3\n"
                                 "a,1,36,3,3,3\n"
                                 "c,5,34,,,\n"
                                 "a,3,38,4,4,4\n"
                                 "b,1,38,,,\n"
                                 "a,2,37,3,3,3\n"
                                 "a,6,38,4,4,4\n"
                                 "b,3,33,,,\n"
                                 "a,5,37,4,4,4\n"
                                 "b,4,33,,,\n"
                                 "a,7,38,4,4,4\n"
                                 "b,5,34,,,\n"
                                 "b,6,35,,,\n"
                                 "c,1,35,,,\n"
                                 "c,2,31,,,\n"
                                 "c,3,35,,,\n"
                                 "c,4,30,,,\n");
  const auto result = Rapport({"analyze", "ruptures", "--input", file, "--threshold", "3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 4u) << result.out;
  EXPECT_EQ(lines[0], Json::parse(R"({"episode": "a", "session": 4, "level": 38.0, "drop": 5.0,
      "status": "repaired", "repaired_at": 6, "v_shaped": false, "dimension": "goals"})"));
  EXPECT_EQ(lines[1], Json::parse(R"({"episode": "b", "session": 2, "level": 38.0, "drop": 4.0,
      "status": "unrepaired", "repaired_at": null, "v_shaped": false, "dimension": null})"));
  EXPECT_EQ(lines[2]["status"], "repaired");
  EXPECT_EQ(lines[2]["v_shaped"], true);
  EXPECT_EQ(lines[3]["session"], 4);
  EXPECT_EQ(lines[3]["status"], "open");

  const auto tolerant =
      Rapport({"analyze", "ruptures", "--input", file, "--threshold", "3", "--tolerance", "1"});
  ASSERT_EQ(tolerant.exit_code, 0) << tolerant.err;
  EXPECT_EQ(Lines(tolerant.out)[0]["repaired_at"], 5);
  EXPECT_EQ(Lines(tolerant.out)[0]["v_shaped"], true);
}

TEST_F(AnalyzeCli, RupturesThresholdFromTheInstrument) {
  const std::string file = Write("a.csv", "episode,session,score\nx,1,4\nx,2,2.5\nx,3,2.5\n");
  const auto result =
      Rapport({"analyze", "ruptures", "--input", file, "--instrument", "rapport-alliance-client"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(Lines(result.out).size(), 1u);
  EXPECT_EQ(Lines(result.out)[0]["status"], "open");
  const auto worse = Rapport({"analyze", "ruptures", "--input", file, "--instrument", "phq-9"});
  EXPECT_EQ(worse.exit_code, 2);
  EXPECT_NE(worse.err.find("higher-is-worse"), std::string::npos) << worse.err;
}

TEST_F(AnalyzeCli, SuddenLoss) {
  const std::string file =
      Write("s.csv", "episode,session,score\ne,1,30\ne,2,31\ne,3,30\ne,4,22\ne,5,21\ne,6,22\n");
  const auto result =
      Rapport({"analyze", "ruptures", "--input", file, "--threshold", "5", "--sudden-loss", "5"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["sudden_loss"], true);
  EXPECT_EQ(lines[1]["session"], 4);
  EXPECT_NEAR(lines[1]["s_pooled"].get<double>(), 0.577350269, 1e-9);
}

TEST_F(AnalyzeCli, BadInputExitsTwoNamingRowAndColumn) {
  struct Case {
    std::string csv;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"episode,session,score\na,1,30\na,two,29\n", "line 3, column 'session'"},
           {"episode,session,score\na,1,30\na,2,\n", "line 3, column 'score'"},
           {"episode,session,score\na,1,30\na,1,29\n", "session 1 twice"},
           {"episode,session,score,goals\na,1,30,x\n", "line 2, column 'goals'"},
           {"episode,score\na,30\n", "session"},
           {"episode,session,score\na,1\n", "line 2"},
       }) {
    SCOPED_TRACE(c.csv);
    const std::string file = Write("bad.csv", c.csv);
    const auto result = Rapport({"analyze", "ruptures", "--input", file, "--threshold", "3"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_TRUE(result.out.empty());
    EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
  }
  const std::string good = Write("good.csv", "episode,session,score\na,1,30\n");
  EXPECT_EQ(Rapport({"analyze", "ruptures", "--input", good}).exit_code, 2);
  EXPECT_EQ(Rapport({"analyze", "ruptures", "--input", good, "--threshold", "0"}).exit_code, 2);
  EXPECT_EQ(Rapport({"analyze", "ruptures", "--input", good, "--threshold", "3", "--window", "0"})
                .exit_code,
            2);
  EXPECT_EQ(Rapport({"analyze", "ruptures", "--input", (dir_.path() / "none.csv").string(),
                     "--threshold", "3"})
                .exit_code,
            2);
}

TEST_F(AnalyzeCli, ChangeJacobsonTruax) {
  const auto result =
      Rapport({"analyze", "change", "--instrument", "phq-9", "--pre", "16", "--post", "8"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json json = Json::parse(result.out);
  EXPECT_EQ(json["reliable"], "improved");
  EXPECT_EQ(json["clinically_significant"], true);
  EXPECT_EQ(json["classification"], "recovered");
  EXPECT_NEAR(json["rc"].get<double>(), -8 / (6 / 1.96), 1e-12);
  // SCIENCE.md §11.2 row 2 with a reference SD and reliability (PHQ-9 is higher-is-worse, so a
  // fall of 8 is an improvement here).
  const auto reference = Rapport({"analyze", "change", "--instrument", "phq-9", "--pre", "20",
                                  "--post", "12", "--sd", "5", "--reliability", "0.8"});
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  const Json jt = Json::parse(reference.out);
  EXPECT_NEAR(jt["rc"].get<double>(), -2.52982212813, 1e-10);
  EXPECT_NEAR(jt["min_reliable_change"].get<double>(), 6.19806421393, 1e-10);
  EXPECT_EQ(jt["reliable"], "improved");
  EXPECT_EQ(Rapport({"analyze", "change", "--instrument", "phq-9", "--pre", "30", "--post", "8"})
                .exit_code,
            2);
  EXPECT_EQ(
      Rapport({"analyze", "change", "--instrument", "nope", "--pre", "3", "--post", "8"}).exit_code,
      2);
  EXPECT_EQ(Rapport({"analyze", "change", "--instrument", "phq-9", "--pre", "3", "--post", "8",
                     "--sd", "5"})
                .exit_code,
            2);
}

TEST_F(AnalyzeCli, NhsTalkingTherapies) {
  const auto result = Rapport({"analyze", "nhs-tt", "--phq9", "16,8", "--gad7", "12,6"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Json::parse(result.out), Json::parse(R"({"caseness": true, "recovered": true,
      "reliable_improvement": true, "reliable_deterioration": false,
      "reliable_recovery": true})"));
  const auto on = Rapport({"analyze", "nhs-tt", "--phq9", "18,10", "--gad7", "7,12"});
  EXPECT_EQ(Json::parse(on.out)["reliable_improvement"], false);
  const auto off = Rapport(
      {"analyze", "nhs-tt", "--phq9", "18,10", "--gad7", "7,12", "--no-deterioration-rule"});
  EXPECT_EQ(Json::parse(off.out)["reliable_improvement"], true);
  for (const auto& [phq, gad] : std::vector<std::pair<std::string, std::string>>{
           {"16", "12,6"}, {"16,x", "12,6"}, {"16,8", "12,60"}, {"16,8,1", "12,6"}}) {
    const auto bad = Rapport({"analyze", "nhs-tt", "--phq9", phq, "--gad7", gad});
    EXPECT_EQ(bad.exit_code, 2) << phq << " " << gad;
    EXPECT_FALSE(bad.err.empty());
  }
}

}  // namespace
}  // namespace rapport
