// Moving an organisation through the real binary (docs/operations.md "Moving an
// organisation"): the demo's organisation exported from SQLite, imported into PostgreSQL,
// exported again and imported into a new SQLite database keeps every record, score and
// account, and its audit chain verifies with the imports appended. Needs the throwaway
// PostgreSQL cluster (the postgres_cluster fixture).
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "storage/postgres/test_cluster.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::Http;
using testing::RunCommand;
using testing::ServerProcess;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(TransferEndToEnd, SqliteToPostgresqlToSqliteKeepsEveryRecordAndTheAuditChain) {
  const std::string rapport = testing::RapportBinary().string();
  testing::TempDir dir;
  const fs::path demo_dir = dir.path() / "demo";
  {
    ServerProcess demo({rapport, "demo", "--data-dir", demo_dir.string()});
    ASSERT_TRUE(demo.started()) << demo.output();
  }
  const std::string source = "sqlite:" + (demo_dir / "rapport.db").string();
  const auto orgs = RunCommand({rapport, "org", "list", "--db", source});
  ASSERT_EQ(orgs.exit_code, 0) << orgs.err;
  const Json org = Json::parse(Lines(orgs.out).at(0));
  const std::string org_id = org["id"];

  auto pg = storage::postgres::CreateTestDatabase();
  ASSERT_OK(pg);
  const std::string final_db = "sqlite:" + (dir.path() / "final.db").string();
  const fs::path e1 = dir.path() / "e1", e2 = dir.path() / "e2", e3 = dir.path() / "e3";
  const std::vector<std::vector<std::string>> steps = {
      {rapport, "export", "--db", source, "--org", org_id, "--format", "ndjson", "--out", e1},
      {rapport, "import", "--db", *pg, e1},
      {rapport, "export", "--db", *pg, "--org", org_id, "--out", e2},
      {rapport, "import", "--db", final_db, e2},
      {rapport, "export", "--db", final_db, "--org", org_id, "--out", e3},
  };
  for (const auto& step : steps) {
    const auto run = RunCommand(step);
    ASSERT_EQ(run.exit_code, 0) << step[1] << ": " << run.err;
    const Json summary = Json::parse(run.out, nullptr, false);
    ASSERT_TRUE(summary.is_object()) << run.out;
    EXPECT_EQ(summary["organization"]["id"], org_id);
    EXPECT_GT(summary["rows"].get<int64_t>(), 1000) << "the demo has a history";
  }
  EXPECT_OK(storage::postgres::DropTestDatabase(*pg));

  // Every record and score identical, byte for byte, after two moves across backends.
  const Json manifest = Json::parse(testing::ReadFileText(e1 / "manifest.json"));
  int compared = 0;
  for (const Json& table : manifest["tables"]) {
    const std::string file = table["file"];
    if (file == "audit_events.ndjson" || file == "audit_heads.ndjson") continue;
    const std::string original = testing::ReadFileText(e1 / file);
    EXPECT_EQ(testing::ReadFileText(e2 / file), original) << file << " changed on PostgreSQL";
    EXPECT_EQ(testing::ReadFileText(e3 / file), original) << file << " changed back on SQLite";
    ++compared;
  }
  EXPECT_GE(compared, 20);
  const auto responses = Lines(testing::ReadFileText(e1 / "responses.ndjson"));
  EXPECT_GT(responses.size(), 500u);
  // Each with its answers and score (migration 9).
  const Json response = Json::parse(responses.at(0));
  EXPECT_FALSE(Json::parse(response["answers"].get<std::string>()).empty()) << response;
  EXPECT_FALSE(response["scoring_version"].get<std::string>().empty()) << response;
  // The audit chain: the exported events unchanged, then one import event per move.
  const auto first = Lines(testing::ReadFileText(e1 / "audit_events.ndjson"));
  const auto last = Lines(testing::ReadFileText(e3 / "audit_events.ndjson"));
  ASSERT_EQ(last.size(), first.size() + 2);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), last.begin()));
  for (size_t i = first.size(); i < last.size(); ++i) {
    EXPECT_EQ(Json::parse(last[i])["action"], "organization.import");
  }
  const auto verify = RunCommand({rapport, "audit", "verify", "--db", final_db});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find(org_id + ": ok"), std::string::npos) << verify.out;
  const auto final_orgs = RunCommand({rapport, "org", "list", "--db", final_db});
  EXPECT_EQ(Lines(final_orgs.out).size(), 1u) << "only the organisation moved";

  // The moved organisation works: its clinician signs in with the same password and sees the
  // same caseload.
  const Json accounts = Json::parse(testing::ReadFileText(demo_dir / "demo-accounts.json"));
  Json clinician;
  for (const Json& account : accounts["accounts"]) {
    if (account["role"] == "clinician" && account["org"] == org["name"]) {
      clinician = account;
      break;
    }
  }
  ASSERT_TRUE(clinician.is_object());
  ServerProcess server({rapport, "serve", "--db", final_db});
  ASSERT_TRUE(server.started()) << server.output();
  const Json credentials = {{"email", clinician["email"]}, {"password", clinician["password"]}};
  const auto login =
      Http(server.port(), "POST", "/api/v1/auth/login", credentials.dump(), "application/json");
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string cookie =
      login.headers.at("set-cookie").substr(0, login.headers.at("set-cookie").find(';'));
  const auto clients = Http(server.port(), "GET", "/api/v1/clients", {}, {}, {{"Cookie", cookie}});
  EXPECT_EQ(clients.status, 200) << clients.body;
  const Json listed = Json::parse(clients.body, nullptr, false);
  ASSERT_TRUE(listed.is_object()) << clients.body;
  EXPECT_EQ(listed["clients"].size(), 26u) << "each demo clinician has 26 clients";
}

TEST(TransferEndToEnd, BadUsageExitsWithTwoAndAMessage) {
  const std::string rapport = testing::RapportBinary().string();
  testing::TempDir dir;
  const std::string db = "sqlite:" + (dir.path() / "x.db").string();
  ASSERT_EQ(RunCommand({rapport, "migrate", "--db", db}).exit_code, 0);
  const auto format =
      RunCommand({rapport, "export", "--db", db, "--org", "o", "--format", "csv", "--out", "x"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--format must be ndjson"), std::string::npos) << format.err;
  const auto unknown = RunCommand(
      {rapport, "export", "--db", db, "--org", "nope", "--out", (dir.path() / "o").string()});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown organisation 'nope'"), std::string::npos) << unknown.err;
  const auto missing = RunCommand({rapport, "import", "--db", db, (dir.path() / "none").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("manifest.json"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace rapport
