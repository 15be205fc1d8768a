#include "storage/sqlite/migrations.h"

#include "storage/store.h"
#include "testing/testing.h"

namespace rapport::storage::sqlite {
namespace {

TEST(Migrations, AreNumberedFromOneWithoutGaps) {
  int expected = 1;
  for (const Migration& migration : Migrations()) {
    EXPECT_EQ(migration.version, expected++) << migration.name;
    EXPECT_FALSE(migration.sql.empty());
  }
}

TEST(Migrations, ApplyFromEmptyAndAreIdempotent) {
  testing::TempDir dir;
  auto db = Connection::Open((dir.path() / "m.db").string(), false);
  ASSERT_OK(db);
  EXPECT_EQ(*CurrentVersion(*db), 0);
  ASSERT_OK(Migrate(*db));
  EXPECT_EQ(*CurrentVersion(*db), Migrations().back().version);
  ASSERT_OK(Migrate(*db));
  EXPECT_EQ(*CurrentVersion(*db), Migrations().back().version);
  // Foreign keys are enforced.
  EXPECT_EQ(db->Execute("INSERT INTO clinics (org_id, id, name) VALUES ('nope', 'c', 'n')").code(),
            StatusCode::kConflict);
}

// A database written by an older Rapport keeps its rows through the later migrations.
TEST(Migrations, UpgradeAVersionTwoDatabaseWithData) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "v2.db").string();
  {
    auto db = Connection::Open(path, false);
    ASSERT_OK(db);
    ASSERT_OK(CurrentVersion(*db));
    for (const Migration& migration : Migrations()) {
      if (migration.version > 2) break;
      ASSERT_OK(db->Execute(migration.sql));
      ASSERT_OK(db->Execute("INSERT INTO schema_migrations VALUES (" +
                            std::to_string(migration.version) + ", 'old', 0)"));
    }
    ASSERT_OK(db->Execute(
        "INSERT INTO organizations VALUES ('org', 'Org', 0);"
        "INSERT INTO episodes VALUES ('org', 'e', 'c', 'individual', 0, NULL, NULL);"
        "INSERT INTO sessions VALUES ('org', 's', 'e', 1, 1000, 'attended');"
        "INSERT INTO responses VALUES ('org', 'r', '', 's', 'client', 'client', NULL, 'phq-9', "
        "2000);"
        "INSERT INTO answers VALUES ('org', 'r', 1, 'b', NULL);"
        "INSERT INTO answers VALUES ('org', 'r', 0, 'a', 2.5);"
        "INSERT INTO scores VALUES ('org', 'r', 'phq-9', '0', 9, 'mild', '{}', '[]');"
        "INSERT INTO scores VALUES ('org', 'r', 'phq-9', '1', 12, 'moderate', '{\"s\":null}', "
        "'[\"risk\"]');"));
    EXPECT_EQ(*CurrentVersion(*db), 2);
  }
  auto store = OpenStore("sqlite:" + path, /*migrate=*/true);
  ASSERT_OK(store);
  EXPECT_EQ(*(*store)->SchemaVersion(), Migrations().back().version);
  ASSERT_OK((*store)->Read([](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(
        const auto observations,
        txn.ListObservations("org", "phq-9", FromUnixMillis(0), FromUnixMillis(10'000)));
    EXPECT_EQ(observations.size(), 1u);
    if (!observations.empty()) {
      EXPECT_EQ(observations[0].total, 12.0);
    }
    // Answers in their positions' order and the latest scoring version, in the response's row
    // since migration 9.
    RAPPORT_ASSIGN_OR_RETURN(const auto responses, txn.ListResponsesForEpisode("org", "e"));
    EXPECT_EQ(responses.size(), 1u);
    if (!responses.empty()) {
      const std::vector<domain::ItemAnswer> answers = {{"a", 2.5}, {"b", std::nullopt}};
      EXPECT_EQ(responses[0].answers, answers);
      const domain::Score score = {"phq-9", "1", 12.0, {{"s", std::nullopt}}, "moderate", {"risk"}};
      EXPECT_EQ(responses[0].score, score);
    }
    EXPECT_EQ(txn.GetFittedModel("org", "etr", "phq-9").status().code(), StatusCode::kNotFound);
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, txn.GetAuditHead("org"));
    EXPECT_EQ(head.seq, 0);
    return Status::Ok();
  }));
}

// Defence in depth under the hash chain: no code path can update or delete an audit event.
TEST(Migrations, AuditEventsAreAppendOnly) {
  testing::TempDir dir;
  auto db = Connection::Open((dir.path() / "a.db").string(), false);
  ASSERT_OK(db);
  ASSERT_OK(Migrate(*db));
  ASSERT_OK(db->Execute(
      "INSERT INTO organizations VALUES ('org', 'Org', 0);"
      "INSERT INTO audit_events VALUES ('org', 1, 0, 'system', 'create', 'org', 'local', '', "
      "'', 'h');"));
  EXPECT_FALSE(db->Execute("UPDATE audit_events SET actor = 'x'").ok());
  EXPECT_FALSE(db->Execute("DELETE FROM audit_events").ok());
  EXPECT_FALSE(db->Execute("INSERT INTO audit_events VALUES ('org', 0, 0, 'system', 'create', "
                           "'org', 'local', '', '', 'h')")
                   .ok());
  auto count = db->Prepare("SELECT COUNT(*), MIN(actor) FROM audit_events");
  ASSERT_OK(count);
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->Int(0), 1);
  EXPECT_EQ(count->Text(1), "system");
}

TEST(Migrations, AnUnmigratedDatabaseIsRefusedWithoutMigrate) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "old.db").string();
  {
    auto db = Connection::Open(path, false);
    ASSERT_OK(db);
    ASSERT_OK(CurrentVersion(*db));  // creates the bookkeeping table only
  }
  const auto store = OpenStore("sqlite:" + path, /*migrate=*/false);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find("rapport migrate"), std::string::npos);
}

}  // namespace
}  // namespace rapport::storage::sqlite
