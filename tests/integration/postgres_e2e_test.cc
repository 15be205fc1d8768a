// The real binary on PostgreSQL (docs/operations.md "Running on PostgreSQL"): `rapport migrate`
// and `rapport serve` on a fresh database of the test cluster, two servers on one database,
// and `rapport demo --db`. The cluster comes from the ctest fixture postgres_cluster
// (scripts/test-postgres.sh); without it these tests fail, saying so.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "storage/postgres/test_cluster.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;
using testing::Http;
using testing::RunCommand;
using testing::ServerProcess;

class PostgresEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = storage::postgres::CreateTestDatabase();
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
  }
  void TearDown() override {
    if (!url_.empty()) {
      const Status dropped = storage::postgres::DropTestDatabase(url_);
      EXPECT_TRUE(dropped.ok()) << dropped.ToString();
    }
  }

  std::string url_;
  testing::TempDir dir_;
};

TEST_F(PostgresEndToEnd, MigrateThenServeAnswersReady) {
  const std::string rapport = testing::RapportBinary().string();
  // serve does not migrate: an empty database is refused until `rapport migrate`.
  const auto refused = RunCommand({rapport, "serve", "--db", url_, "--port", "0"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("rapport migrate"), std::string::npos) << refused.err;

  const auto migrated = RunCommand({rapport, "migrate", "--db", url_});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.out.find("schema version 5"), std::string::npos) << migrated.out;

  // Two stateless servers on one database (DESIGN.md §7).
  ServerProcess first({rapport, "serve", "--db", url_});
  ASSERT_TRUE(first.started()) << first.output();
  ServerProcess second({rapport, "serve", "--db", url_});
  ASSERT_TRUE(second.started()) << second.output();
  EXPECT_EQ(Http(first.port(), "GET", "/readyz").status, 200);
  EXPECT_EQ(Http(second.port(), "GET", "/readyz").status, 200);
}

TEST_F(PostgresEndToEnd, DemoRunsOnPostgresql) {
  const std::string rapport = testing::RapportBinary().string();
  std::optional<ServerProcess> demo;
  demo.emplace(
      std::vector<std::string>{rapport, "demo", "--db", url_, "--data-dir", dir_.path().string()});
  ASSERT_TRUE(demo->started()) << demo->output();
  EXPECT_EQ(Http(demo->port(), "GET", "/readyz").status, 200);
  std::ifstream in(dir_.path() / "demo-accounts.json");
  std::stringstream text;
  text << in.rdbuf();
  const Json accounts = Json::parse(text.str(), nullptr, false);
  ASSERT_TRUE(accounts.is_object()) << text.str();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "rapport.db")) << "the demo is in PostgreSQL";
  // A clinician signs in against the accounts stored in PostgreSQL.
  for (const Json& account : accounts["accounts"]) {
    if (account["role"] != "clinician") continue;
    const Json body = {{"email", account["email"]}, {"password", account["password"]}};
    const auto login =
        Http(demo->port(), "POST", "/api/v1/auth/login", body.dump(), "application/json");
    EXPECT_EQ(login.status, 200) << login.body;
    break;
  }
  demo.reset();
  // Started again on the same database, the demo is kept, not created twice.
  ServerProcess again({rapport, "demo", "--db", url_, "--data-dir", dir_.path().string()});
  ASSERT_TRUE(again.started()) << again.output();
  EXPECT_EQ(again.output().find("Creating the demo"), std::string::npos) << again.output();
}

}  // namespace
}  // namespace rapport
