// The SQLite store's WAL under a steady load (sqlite_store.cc, RestartWalWhenLong).
#include "storage/sqlite/sqlite_store.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
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

}  // namespace
}  // namespace rapport::storage::sqlite
