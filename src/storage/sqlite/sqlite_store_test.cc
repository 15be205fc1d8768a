// The SQLite store's WAL under a steady load (sqlite_store.cc, RestartWalWhenLong).
#include "storage/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace rapport::storage::sqlite {
namespace {

// Readers that always hold some snapshot keep SQLite from starting the WAL over by itself; the
// writer must still do so between batches, so the WAL stays near wal_restart_pages instead of
// growing with everything written. Here about 1,800 pages are written; without the restart the
// WAL file holds them all.
TEST(SqliteStore, TheWalStartsOverUnderSteadyReadsAndWrites) {
  testing::TempDir dir;
  Options options;
  options.path = (dir.path() / "rapport.db").string();
  options.wal_restart_pages = 32;
  auto opened = OpenSqliteStore(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Store> store = std::move(opened).value();
  const Timestamp now = testing::FakeClock().Now();
  ASSERT_OK(store->Write([&](WriteTransaction& txn) {
    return txn.PutOrganization({"org", "Org", now});
  }));

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        EXPECT_OK(
            store->Read([&](ReadTransaction& txn) { return txn.GetOrganization("org").status(); }));
        ++reads;
      }
    });
  }
  const std::filesystem::path wal = options.path + "-wal";
  constexpr int kWrites = 600;
  uintmax_t largest = 0;
  for (int i = 0; i < kWrites; ++i) {
    // A client with a long code: each commit writes a page of its own and the index's.
    ASSERT_OK(store->Write([&](WriteTransaction& txn) {
      return txn.PutClient({"client-" + std::to_string(i), "org",
                            std::string(2000, 'c') + std::to_string(i), "en", false, now});
    }));
    std::error_code error;
    largest = std::max(largest, std::filesystem::file_size(wal, error));
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(reads.load(), kWrites);

  // Pages of 4 KiB and a 24-byte header each in the WAL.
  constexpr uintmax_t kFrame = 4096 + 24;
  EXPECT_LE(largest, 16 * 32 * kFrame) << "the WAL grew to " << largest / kFrame << " pages";
  int clients = 0;
  ASSERT_OK(store->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListClients("org"));
    clients = static_cast<int>(all.size());
    return Status::Ok();
  }));
  EXPECT_EQ(clients, kWrites);
}

// The frames in the database's WAL now, as a passive checkpoint reports them.
int WalFrames(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  // A connection knows the database is in WAL mode once it has read it.
  EXPECT_EQ(sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr),
            SQLITE_OK);
  int log = -1;
  int checkpointed = -1;
  // SQLITE_BUSY while the store's own checkpoint runs: ask again.
  int rc = SQLITE_BUSY;
  for (int attempt = 0; attempt < 500 && rc == SQLITE_BUSY; ++attempt) {
    rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &checkpointed);
    if (rc == SQLITE_BUSY) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(rc, SQLITE_OK);
  sqlite3_close(db);
  return log;
}

// A long read (an export, a backup) keeps the WAL from starting over while it lasts: writing goes
// on meanwhile, and once it ends the WAL starts over again.
TEST(SqliteStore, ALongReadHoldsTheWalBackOnlyWhileItLasts) {
  testing::TempDir dir;
  Options options;
  options.path = (dir.path() / "rapport.db").string();
  options.wal_restart_pages = 32;
  auto opened = OpenSqliteStore(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Store> store = std::move(opened).value();
  const Timestamp now = testing::FakeClock().Now();
  ASSERT_OK(store->Write([&](WriteTransaction& txn) {
    return txn.PutOrganization({"org", "Org", now});
  }));
  int written = 0;
  const auto write = [&](int count) {
    for (int i = 0; i < count; ++i, ++written) {
      ASSERT_OK(store->Write([&](WriteTransaction& txn) {
        return txn.PutClient({"client-" + std::to_string(written), "org",
                              std::string(2000, 'c') + std::to_string(written), "en", false, now});
      }));
    }
  };

  std::promise<void> reading;
  std::promise<void> finish;
  std::thread reader([&] {
    EXPECT_OK(store->Read([&](ReadTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.GetOrganization("org").status());
      reading.set_value();
      finish.get_future().wait();
      // Still the snapshot it began with.
      RAPPORT_ASSIGN_OR_RETURN(const auto clients, txn.ListClients("org"));
      EXPECT_TRUE(clients.empty());
      return Status::Ok();
    }));
  });
  reading.get_future().wait();
  write(200);
  EXPECT_GT(WalFrames(options.path), 200);  // held back: everything since the read began
  finish.set_value();
  reader.join();

  write(300);
  EXPECT_LE(WalFrames(options.path), 2 * options.wal_restart_pages);
  ASSERT_OK(store->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto clients, txn.ListClients("org"));
    EXPECT_EQ(clients.size(), 500u);
    return Status::Ok();
  }));
}

}  // namespace
}  // namespace rapport::storage::sqlite
