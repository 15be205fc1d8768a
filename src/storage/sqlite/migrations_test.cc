#include "storage/sqlite/migrations.h"

#include "storage/store.h"
#include "storage/upgrade_test_data.h"
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
    ASSERT_OK(db->Execute(upgrade_test::kVersionTwoRows));
    EXPECT_EQ(*CurrentVersion(*db), 2);
  }
  auto store = OpenStore("sqlite:" + path, /*migrate=*/true);
  ASSERT_OK(store);
  EXPECT_EQ(*(*store)->SchemaVersion(), Migrations().back().version);
  ASSERT_OK((*store)->Read(upgrade_test::ExpectVersionTwoRowsMigrated));
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
