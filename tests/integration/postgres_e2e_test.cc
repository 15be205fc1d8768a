// The real binary on PostgreSQL (docs/operations.md "Running on PostgreSQL"): `rapport migrate`
// and `rapport serve` on a fresh database of the test cluster, two servers on one database
// acting as one (a shared sign-in, a check-in raced to both accepted once), and
// `rapport demo --db`. The cluster comes from the ctest fixture postgres_cluster
// (scripts/test-postgres.sh); without it these tests fail, saying so.
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/postgres/db.h"
#include "storage/postgres/test_cluster.h"
#include "storage/sqlite/migrations.h"
#include "support/demo.h"
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
  // The latest migration (the two backends have the same list: migrations_parity_test.cc).
  EXPECT_NE(migrated.out.find("schema version " +
                              std::to_string(storage::sqlite::Migrations().back().version)),
            std::string::npos)
      << migrated.out;

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
  const std::string text = testing::ReadFileText(dir_.path() / "demo-accounts.json");
  const Json accounts = Json::parse(text, nullptr, false);
  ASSERT_TRUE(accounts.is_object()) << text;
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

TEST_F(PostgresEndToEnd, TwoServersOnOneDatabaseActAsOne) {
  const std::string rapport = testing::RapportBinary().string();
  {
    ServerProcess demo({rapport, "demo", "--db", url_, "--data-dir", dir_.path().string()});
    ASSERT_TRUE(demo.started()) << demo.output();
  }
  const std::string text = testing::ReadFileText(dir_.path() / "demo-accounts.json");
  const Json accounts = Json::parse(text, nullptr, false);
  ASSERT_TRUE(accounts.is_object()) << text;

  ServerProcess first({rapport, "serve", "--db", url_});
  ASSERT_TRUE(first.started()) << first.output();
  ServerProcess second({rapport, "serve", "--db", url_});
  ASSERT_TRUE(second.started()) << second.output();

  // A sign-in on one server is a session on the other; signing out on the other ends it.
  Json clinician;
  for (const Json& account : accounts["accounts"]) {
    if (account["role"] == "clinician") {
      clinician = account;
      break;
    }
  }
  const auto login =
      Http(first.port(), "POST", "/api/v1/auth/login",
           Json{{"email", clinician["email"]}, {"password", clinician["password"]}}.dump(),
           "application/json");
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string cookie =
      login.headers.at("set-cookie").substr(0, login.headers.at("set-cookie").find(';'));
  const std::string csrf = Json::parse(login.body)["csrf_token"];
  EXPECT_EQ(Http(second.port(), "GET", "/api/v1/me", {}, {}, {{"Cookie", cookie}}).status, 200);
  EXPECT_EQ(Http(second.port(), "POST", "/api/v1/auth/logout", {}, {},
                 {{"Cookie", cookie}, {"X-CSRF-Token", csrf}})
                .status,
            204);
  EXPECT_EQ(Http(first.port(), "GET", "/api/v1/me", {}, {}, {{"Cookie", cookie}}).status, 401);

  // One check-in token sent to both servers at the same moment, with different answers: it is
  // accepted exactly once (201) and the other is refused (409), for every token tried.
  const Json& links = accounts["checkin_links"];
  ASSERT_GE(links.size(), 16u);
  for (size_t i = 0; i < 16; ++i) {
    const std::string link = links[i];
    const std::string path = "/api/v1/checkins/" + testing::CheckinToken(link);
    std::atomic<int> ready{0};
    int statuses[2] = {0, 0};
    std::vector<std::thread> racers;
    for (int server = 0; server < 2; ++server) {
      racers.emplace_back([&, server] {
        ready.fetch_add(1);
        while (ready.load() < 2) std::this_thread::yield();
        statuses[server] =
            Http(server == 0 ? first.port() : second.port(), "POST", path,
                 testing::DemoCheckinAnswers(server == 0 ? 2 : 8), "application/json")
                .status;
      });
    }
    for (std::thread& racer : racers) racer.join();
    std::multiset<int> got(std::begin(statuses), std::end(statuses));
    EXPECT_EQ(got, (std::multiset<int>{201, 409})) << "token " << i;
  }
}

}  // namespace
}  // namespace rapport
