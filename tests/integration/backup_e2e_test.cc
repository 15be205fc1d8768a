// `rapport backup` and `rapport restore` through the real binary (docs/operations.md
// "Backups"): a backup taken while the server runs holds every acknowledged write, a restore
// refuses to replace a database a server has open, and the restored database serves.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/demo.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::Http;
using testing::RunCommand;
using testing::ServerProcess;

TEST(BackupEndToEnd, ABackupWhileServingHoldsEveryAcknowledgedWriteAndRestores) {
  const std::string rapport = testing::RapportBinary().string();
  testing::TempDir dir;
  const fs::path demo_dir = dir.path() / "demo";
  const fs::path database = demo_dir / "rapport.db";
  const std::string db = "sqlite:" + database.string();
  std::optional<ServerProcess> demo;
  demo.emplace(std::vector<std::string>{rapport, "demo", "--data-dir", demo_dir.string()});
  ASSERT_TRUE(demo->started()) << demo->output();
  const Json accounts = Json::parse(testing::ReadFileText(demo_dir / "demo-accounts.json"));
  const std::string link = accounts["checkin_links"][0];
  const std::string checkin = "/api/v1/checkins/" + testing::CheckinToken(link);

  // A check-in acknowledged by the running server, then a backup while it still runs.
  const auto submitted =
      Http(demo->port(), "POST", checkin, testing::DemoCheckinAnswers(6), "application/json");
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const fs::path backup = dir.path() / "backups" / "monday.db";
  fs::create_directories(backup.parent_path());
  const auto made = RunCommand({rapport, "backup", "--db", db, "--out", backup.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const Json info = Json::parse(made.out);
  EXPECT_EQ(info["organizations"], 2);
  EXPECT_GT(info["bytes"].get<int64_t>(), 100'000);
  EXPECT_FALSE(fs::exists(backup.string() + "-wal")) << "a backup is one file";
  EXPECT_EQ(fs::status(backup).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // A backup never overwrites a file.
  const auto again = RunCommand({rapport, "backup", "--db", db, "--out", backup.string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("never overwrites"), std::string::npos) << again.err;

  // Restored beside the live database: the same organisations, a verifying audit log, and the
  // acknowledged check-in in it (its token is used: other answers are refused).
  const std::string restored = "sqlite:" + (dir.path() / "restored.db").string();
  const auto restore =
      RunCommand({rapport, "restore", "--from", backup.string(), "--db", restored});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(RunCommand({rapport, "org", "list", "--db", restored}).out,
            RunCommand({rapport, "org", "list", "--db", db}).out);
  const auto verify = RunCommand({rapport, "audit", "verify", "--db", restored});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  {
    ServerProcess server({rapport, "serve", "--db", restored});
    ASSERT_TRUE(server.started()) << server.output();
    EXPECT_EQ(
        Http(server.port(), "POST", checkin, testing::DemoCheckinAnswers(6), "application/json")
            .status,
        200)
        << "the same answers again: already recorded";
    EXPECT_EQ(
        Http(server.port(), "POST", checkin, testing::DemoCheckinAnswers(2), "application/json")
            .status,
        409);
  }

  // The running server's database is not replaced under it.
  const auto busy =
      RunCommand({rapport, "restore", "--from", backup.string(), "--db", db, "--force"});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("in use"), std::string::npos) << busy.err;
  EXPECT_EQ(Http(demo->port(), "GET", "/readyz").status, 200);
  // Without --force an existing database is never replaced.
  const auto exists = RunCommand({rapport, "restore", "--from", backup.string(), "--db", db});
  EXPECT_EQ(exists.exit_code, 2);
  EXPECT_NE(exists.err.find("--force"), std::string::npos) << exists.err;

  // Stopped, a later write is undone by restoring Monday's backup over it.
  const std::string second_link = accounts["checkin_links"][1];
  const std::string second = "/api/v1/checkins/" + testing::CheckinToken(second_link);
  ASSERT_EQ(
      Http(demo->port(), "POST", second, testing::DemoCheckinAnswers(4), "application/json").status,
      201);
  demo.reset();
  const auto replaced =
      RunCommand({rapport, "restore", "--from", backup.string(), "--db", db, "--force"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_FALSE(fs::exists(database.string() + ".restoring"));
  ServerProcess server({rapport, "serve", "--db", db});
  ASSERT_TRUE(server.started()) << server.output();
  EXPECT_EQ(Http(server.port(), "POST", second, testing::DemoCheckinAnswers(2), "application/json")
                .status,
            201)
      << "the check-in made after the backup is open again";
}

TEST(BackupEndToEnd, BadInputIsRefusedWithAMessage) {
  const std::string rapport = testing::RapportBinary().string();
  testing::TempDir dir;
  const fs::path text = dir.path() / "notes.txt";
  std::ofstream(text) << "not a database, just some notes about the week\n";
  const std::string target = "sqlite:" + (dir.path() / "r.db").string();
  const auto not_db = RunCommand({rapport, "restore", "--from", text.string(), "--db", target});
  EXPECT_EQ(not_db.exit_code, 2);
  EXPECT_NE(not_db.err.find("is not a Rapport database"), std::string::npos) << not_db.err;
  EXPECT_FALSE(fs::exists(dir.path() / "r.db"));

  const auto missing = RunCommand(
      {rapport, "backup", "--db", "sqlite:" + (dir.path() / "none.db").string(), "--out", "b"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;

  const auto postgres = RunCommand(
      {rapport, "backup", "--db", "postgresql://rapport@127.0.0.1/rapport", "--out", "b"});
  EXPECT_EQ(postgres.exit_code, 2);
  EXPECT_NE(postgres.err.find("pg_dump"), std::string::npos) << postgres.err;
}

}  // namespace
}  // namespace rapport
