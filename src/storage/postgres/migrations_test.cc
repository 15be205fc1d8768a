// What the PostgreSQL migrations must do beyond the conformance suite: apply from empty and
// from an older schema with data, enforce the constraints, keep audit events append-only.
// Each test works in a fresh database of the test cluster (test_cluster.h).
#include "storage/postgres/migrations.h"

#include <thread>

#include "storage/postgres/test_cluster.h"
#include "storage/store.h"
#include "storage/upgrade_test_data.h"
#include "testing/testing.h"

namespace rapport::storage::postgres {
namespace {

class PostgresMigrations : public ::testing::Test {
 protected:
  PostgresMigrations() {
    auto url = CreateTestDatabase();
    if (!url.ok()) {
      setup_error_ = url.status().ToString();
      return;
    }
    url_ = *url;
    auto db = Connection::Open(url_);
    if (!db.ok()) {
      setup_error_ = db.status().ToString();
      return;
    }
    db_ = std::make_unique<Connection>(std::move(db).value());
  }
  ~PostgresMigrations() override {
    db_.reset();
    if (!url_.empty()) EXPECT_OK(DropTestDatabase(url_));
  }
  void SetUp() override { ASSERT_NE(db_, nullptr) << setup_error_; }

  std::string url_;
  std::string setup_error_;
  std::unique_ptr<Connection> db_;
};

TEST(PostgresMigrationList, IsNumberedFromOneWithoutGaps) {
  int expected = 1;
  for (const Migration& migration : Migrations()) {
    EXPECT_EQ(migration.version, expected++) << migration.name;
    EXPECT_FALSE(migration.sql.empty());
  }
}

TEST_F(PostgresMigrations, ApplyFromEmptyAndAreIdempotent) {
  EXPECT_EQ(*CurrentVersion(*db_), 0);
  ASSERT_OK(Migrate(*db_));
  EXPECT_EQ(*CurrentVersion(*db_), Migrations().back().version);
  ASSERT_OK(Migrate(*db_));
  EXPECT_EQ(*CurrentVersion(*db_), Migrations().back().version);
  // Foreign keys are enforced, and violations are conflicts as in SQLite.
  EXPECT_EQ(db_->Execute("INSERT INTO clinics (org_id, id, name) VALUES ('nope', 'c', 'n')").code(),
            StatusCode::kConflict);
}

// A database written by an older Rapport keeps its rows through the later migrations.
TEST_F(PostgresMigrations, UpgradeAVersionTwoDatabaseWithData) {
  ASSERT_OK(db_->Execute(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at BIGINT NOT NULL)"));
  for (const Migration& migration : Migrations()) {
    if (migration.version > 2) break;
    ASSERT_OK(db_->Execute(migration.sql));
    ASSERT_OK(db_->Query("INSERT INTO schema_migrations VALUES ($1, 'old', 0)",
                         Params().Add(migration.version)));
  }
  ASSERT_OK(db_->Execute(upgrade_test::kVersionTwoRows));
  EXPECT_EQ(*CurrentVersion(*db_), 2);
  auto store = OpenStore(url_, /*migrate=*/true);
  ASSERT_OK(store);
  EXPECT_EQ(*(*store)->SchemaVersion(), Migrations().back().version);
  ASSERT_OK((*store)->Read(upgrade_test::ExpectVersionTwoRowsMigrated));
}

// Defence in depth under the hash chain: no code path can update or delete an audit event.
TEST_F(PostgresMigrations, AuditEventsAreAppendOnly) {
  ASSERT_OK(Migrate(*db_));
  ASSERT_OK(db_->Execute(
      "INSERT INTO organizations VALUES ('org', 'Org', 0);"
      "INSERT INTO audit_events VALUES ('org', 1, 0, 'system', 'create', 'org', 'local', '', "
      "'', 'h');"));
  EXPECT_FALSE(db_->Execute("UPDATE audit_events SET actor = 'x'").ok());
  EXPECT_FALSE(db_->Execute("DELETE FROM audit_events").ok());
  EXPECT_FALSE(db_->Execute("TRUNCATE audit_events").ok());
  EXPECT_FALSE(db_->Execute("INSERT INTO audit_events VALUES ('org', 0, 0, 'system', 'create', "
                            "'org', 'local', '', '', 'h')")
                   .ok());
  auto count = db_->Query("SELECT COUNT(*), MIN(actor) FROM audit_events");
  ASSERT_OK(count);
  EXPECT_EQ(count->Int(0, 0), 1);
  EXPECT_EQ(count->Text(0, 1), "system");
}

TEST_F(PostgresMigrations, AnUnmigratedDatabaseIsRefusedWithoutMigrate) {
  const auto store = OpenStore(url_, /*migrate=*/false);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find("rapport migrate"), std::string::npos);
}

// Two processes migrating one database at once apply each migration once (the advisory lock).
TEST_F(PostgresMigrations, ConcurrentMigrationsApplyEachOnce) {
  auto other = Connection::Open(url_);
  ASSERT_OK(other);
  Status first;
  std::thread thread([&] { first = Migrate(*other); });
  const Status second = Migrate(*db_);
  thread.join();
  ASSERT_OK(first);
  ASSERT_OK(second);
  auto count = db_->Query("SELECT COUNT(*) FROM schema_migrations");
  ASSERT_OK(count);
  EXPECT_EQ(count->Int(0, 0), static_cast<int64_t>(Migrations().size()));
}

}  // namespace
}  // namespace rapport::storage::postgres
