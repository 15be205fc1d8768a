// The `rapport` command line: output, exit codes and messages (0 ok, 1 failure, 2 bad input).
#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

testing::CommandResult Rapport(std::vector<std::string> args) {
  args.insert(args.begin(), testing::RapportBinary().string());
  return testing::RunCommand(args);
}

std::string DataDir() { return (testing::SourceDir() / "data").string(); }

TEST(Cli, ScorePrintsOneJsonObject) {
  const auto result = Rapport({"score", "--instrument", "phq-9", "--answers", "[1,2,1,2,1,2,1,2,1]",
                               "--data-dir", DataDir()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["instrument"], "phq-9");
  EXPECT_EQ(json["total"], 13.0);
  EXPECT_EQ(json["band"], "moderate");
  EXPECT_EQ(json["flags"], nlohmann::json::array({"risk"}));
  EXPECT_TRUE(json["subscales"].is_object());
}

TEST(Cli, ScoreGad7Bands) {
  const auto result = Rapport(
      {"score", "--instrument", "gad-7", "--answers", "[3,3,3,3,3,0,3]", "--data-dir", DataDir()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["band"], "severe");
}

TEST(Cli, BadAnswersExitTwoNamingTheItem) {
  struct Case {
    std::string answers;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{{"[0,0,0,0,0,0,0,0,4]", "item 9"},
                                         {"[0,0,0,0,0,0,0,0]", "9 items but 8 answers"},
                                         {"[0,0,\"x\",0,0,0,0,0,0]", "item 3"},
                                         {"[0,0,0,0,0,0,0,0,-1]", "item 9"},
                                         {"not json", "not valid JSON"},
                                         {"{\"1\": 2}", "JSON array"}}) {
    const auto result = Rapport(
        {"score", "--instrument", "phq-9", "--answers", c.answers, "--data-dir", DataDir()});
    EXPECT_EQ(result.exit_code, 2) << c.answers;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << c.answers << ": " << result.err;
    EXPECT_TRUE(result.out.empty());
  }
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(Rapport({}).exit_code, 2);
  EXPECT_EQ(Rapport({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Rapport({"score", "--instrument", "phq-9"}).exit_code, 2);
  const auto unknown =
      Rapport({"score", "--instrument", "nope", "--answers", "[]", "--data-dir", DataDir()});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown instrument 'nope'"), std::string::npos);
  EXPECT_EQ(Rapport({"serve"}).exit_code, 2);
  EXPECT_EQ(Rapport({"serve", "--db", "mysql://x"}).exit_code, 2);
  EXPECT_EQ(Rapport({"demo", "--port", "99999"}).exit_code, 2);
}

TEST(Cli, HelpEverywhere) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"score", "--help"},
                                             {"serve", "--help"},
                                             {"migrate", "--help"},
                                             {"demo", "--help"},
                                             {"audit", "verify", "--help"},
                                             {"audit", "list", "--help"}}) {
    const auto result = Rapport(args);
    EXPECT_EQ(result.exit_code, 0) << args.front();
    EXPECT_NE(result.out.find("--"), std::string::npos);
  }
}

TEST(Cli, MigrateThenServeOnAnEmptyDatabase) {
  testing::TempDir dir;
  const std::string db = "sqlite:" + (dir.path() / "r.db").string();
  const auto migrated = Rapport({"migrate", "--db", db});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.out.find("schema version 6"), std::string::npos) << migrated.out;
  testing::ServerProcess server(
      {testing::RapportBinary().string(), "serve", "--db", db, "--address", "127.0.0.1"});
  ASSERT_TRUE(server.started()) << server.output();
  EXPECT_EQ(testing::Http(server.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(server.StopWith(SIGINT, std::chrono::seconds(20)), 0);
}

TEST(Cli, ServeRefusesAnUnmigratedDatabase) {
  testing::TempDir dir;
  const auto result =
      Rapport({"serve", "--db", "sqlite:" + (dir.path() / "new.db").string(), "--port", "0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("rapport migrate"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace rapport
