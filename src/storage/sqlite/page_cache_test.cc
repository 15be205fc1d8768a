#include "storage/sqlite/page_cache.h"

#include <map>
#include <random>
#include <string>

#include <sqlite3.h>

#include "storage/sqlite/db.h"
#include "testing/testing.h"

namespace rapport::storage::sqlite {
namespace {

// What the table holds, read through `db`.
std::map<int64_t, std::string> Rows(Connection& db) {
  std::map<int64_t, std::string> rows;
  auto select = db.Prepare("SELECT k, v FROM t");
  EXPECT_OK(select.status());
  if (!select.ok()) return rows;
  while (true) {
    auto more = select->Step();
    EXPECT_OK(more.status());
    if (!more.ok() || !*more) break;
    rows.emplace(select->Int(0), select->Text(1));
  }
  return rows;
}

// The installed methods, driven directly: pages at or past a truncation's limit go, however
// they were numbered there, and only a truncation that would remove nothing is skipped.
TEST(PageCache, RemovesEveryPageAtOrPastTheLimit) {
  ASSERT_OK(Connection::Open(":memory:", /*read_only=*/false).status());  // installs it
  const sqlite3_pcache_methods2* methods = InstalledPageCache();
  ASSERT_NE(methods, nullptr);
  sqlite3_pcache* cache = methods->xCreate(4096, 64, /*bPurgeable=*/1);
  ASSERT_NE(cache, nullptr);
  methods->xCachesize(cache, 100);
  const auto add = [&](unsigned key) {
    sqlite3_pcache_page* page = methods->xFetch(cache, key, /*createFlag=*/2);
    ASSERT_NE(page, nullptr);
    methods->xUnpin(cache, page, /*discard=*/0);
  };
  const auto rekey = [&](unsigned from, unsigned to) {
    sqlite3_pcache_page* page = methods->xFetch(cache, from, 0);
    ASSERT_NE(page, nullptr);
    methods->xRekey(cache, page, from, to);
    methods->xUnpin(cache, page, 0);
  };
  const PageCacheCounters start = GetPageCacheCounters();
  const auto passed = [&] {
    return GetPageCacheCounters().truncations_passed - start.truncations_passed;
  };
  for (unsigned key = 1; key <= 10; ++key) add(key);
  methods->xTruncate(cache, 11);  // the first: nothing known, passed on
  EXPECT_EQ(methods->xPagecount(cache), 10);
  EXPECT_EQ(passed(), 1u);

  methods->xTruncate(cache, 11);  // nothing at or past 11: skipped
  EXPECT_EQ(passed(), 1u);
  add(15);
  methods->xTruncate(cache, 11);
  EXPECT_EQ(methods->xPagecount(cache), 10);
  EXPECT_EQ(passed(), 2u);

  // Renumbered far past the end and back below the next limit, as balancing does: skipped.
  add(11);
  rekey(11, 262145);
  rekey(262145, 11);
  methods->xTruncate(cache, 12);
  EXPECT_EQ(methods->xPagecount(cache), 11);
  EXPECT_EQ(passed(), 2u);
  // Renumbered past the limit and left there: removed.
  rekey(11, 262145);
  methods->xTruncate(cache, 12);
  EXPECT_EQ(methods->xPagecount(cache), 10);
  EXPECT_EQ(passed(), 3u);
  // To a smaller limit (a rollback, or a reader's cache emptied): always passed on.
  methods->xTruncate(cache, 6);
  EXPECT_EQ(methods->xPagecount(cache), 5);
  EXPECT_EQ(passed(), 4u);
  methods->xTruncate(cache, 1);
  EXPECT_EQ(methods->xPagecount(cache), 0);
  methods->xDestroy(cache);
}

// A writer with a large cache changes a table at random, in transactions that commit, roll
// back whole, or roll back to a savepoint after growing the database; what it holds is checked
// against a model after every transaction, through its own cache and through a fresh
// connection's, and the file's integrity at the end. Random keys split index pages everywhere,
// so balancing renumbers pages through the page past the first gigabyte (page_cache.h) and
// truncations are skipped.
TEST(PageCache, KeepsWhatEveryTransactionLeavesWhileSkippingTruncations) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "pages.db").string();
  auto opened = Connection::Open(path, /*read_only=*/false);
  ASSERT_OK(opened.status());
  Connection& writer = *opened;
  const PageCacheCounters before = GetPageCacheCounters();
  ASSERT_OK(writer.Execute(
      "PRAGMA cache_size=-65536; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);"
      "CREATE INDEX t_v ON t (v)"));
  std::map<int64_t, std::string> model;
  std::mt19937_64 random(20261204);
  const auto value = [&] {
    return std::to_string(random()) +
           std::string(random() % 300, static_cast<char>('a' + random() % 26));
  };
  for (int transaction = 0; transaction < 300; ++transaction) {
    SCOPED_TRACE("transaction " + std::to_string(transaction));
    const int kind = static_cast<int>(random() % 10);  // 0: roll back; 1: savepoint; else commit
    std::map<int64_t, std::string> next = model;
    ASSERT_OK(writer.Execute("BEGIN"));
    const auto change = [&](std::map<int64_t, std::string>& rows, int count) {
      for (int i = 0; i < count; ++i) {
        const auto key = static_cast<int64_t>(random() % 5000);
        if (random() % 4 == 0) {
          auto erase = writer.Prepare("DELETE FROM t WHERE k = ?");
          ASSERT_OK(erase.status());
          ASSERT_OK(erase->Bind(1, key).Run());
          rows.erase(key);
        } else {
          const std::string text = value();
          auto put = writer.Prepare("INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)");
          ASSERT_OK(put.status());
          ASSERT_OK(put->Bind(1, key).Bind(2, text).Run());
          rows[key] = text;
        }
      }
    };
    change(next, 1 + static_cast<int>(random() % 40));
    if (kind == 1) {
      // Grow the database, then give the growth back.
      std::map<int64_t, std::string> discarded = next;
      ASSERT_OK(writer.Execute("SAVEPOINT grow"));
      change(discarded, 400);
      ASSERT_OK(writer.Execute("ROLLBACK TO grow; RELEASE grow"));
    }
    if (kind == 0) {
      ASSERT_OK(writer.Execute("ROLLBACK"));
    } else {
      ASSERT_OK(writer.Execute("COMMIT"));
      model = std::move(next);
    }
    ASSERT_EQ(Rows(writer), model);
    if (transaction % 25 == 0) {
      auto reader = Connection::Open(path, /*read_only=*/true);
      ASSERT_OK(reader.status());
      ASSERT_EQ(Rows(*reader), model);
    }
  }
  auto reader = Connection::Open(path, /*read_only=*/true);
  ASSERT_OK(reader.status());
  EXPECT_EQ(Rows(*reader), model);
  auto check = reader->Prepare("PRAGMA integrity_check");
  ASSERT_OK(check.status());
  auto row = check->Step();
  ASSERT_OK(row.status());
  ASSERT_TRUE(*row);
  EXPECT_EQ(check->Text(0), "ok");

  const PageCacheCounters after = GetPageCacheCounters();
  EXPECT_GT(after.truncations_skipped - before.truncations_skipped, 200u);
  EXPECT_GT(after.truncations_passed - before.truncations_passed, 0u);
}

}  // namespace
}  // namespace rapport::storage::sqlite
