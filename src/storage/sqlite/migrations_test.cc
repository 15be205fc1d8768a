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
