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

// A store that starts its WAL over after 32 pages, with one organisation.
class SqliteStoreWal : public ::testing::Test {
 protected:
  SqliteStoreWal() {
    options_.path = (dir_.path() / "rapport.db").string();
    options_.wal_restart_pages = 32;
    auto opened = OpenSqliteStore(options_);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return;
    store_ = std::move(opened).value();
    EXPECT_OK(store_->Write([&](WriteTransaction& txn) {
      return txn.PutOrganization({"org", "Org", now_});
    }));
  }

  // Stores client `number` with a long code: each commit writes a page of its own and the
  // index's.
  Status WriteClient(int number) {
    return store_->Write([&](WriteTransaction& txn) {
      return txn.PutClient({"client-" + std::to_string(number), "org",
                            std::string(2000, 'c') + std::to_string(number), "en", false, now_});
    });
  }

  size_t Clients() {
    size_t count = 0;
    EXPECT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto clients, txn.ListClients("org"));
      count = clients.size();
      return Status::Ok();
    }));
    return count;
  }

  testing::TempDir dir_;
  Options options_;
  std::unique_ptr<Store> store_;
  const Timestamp now_ = testing::FakeClock().Now();
};

// Readers that always hold some snapshot keep SQLite from starting the WAL over by itself; the
// writer must still do so between batches, so the WAL stays near wal_restart_pages instead of
// growing with everything written. Here about 1,800 pages are written; without the restart the
// WAL file holds them all.
TEST_F(SqliteStoreWal, StartsOverUnderSteadyReadsAndWrites) {
  ASSERT_NE(store_, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        EXPECT_OK(store_->Read(
            [&](ReadTransaction& txn) { return txn.GetOrganization("org").status(); }));
        ++reads;
      }
    });
  }
  const std::filesystem::path wal = options_.path + "-wal";
  constexpr int kWrites = 600;
  uintmax_t largest = 0;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_OK(WriteClient(i));
    std::error_code error;
    largest = std::max(largest, std::filesystem::file_size(wal, error));
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(reads.load(), kWrites);

  // Pages of 4 KiB and a 24-byte header each in the WAL.
  constexpr uintmax_t kFrame = 4096 + 24;
  EXPECT_LE(largest, 16 * 32 * kFrame) << "the WAL grew to " << largest / kFrame << " pages";
  EXPECT_EQ(Clients(), static_cast<size_t>(kWrites));
}

}  // namespace
}  // namespace rapport::storage::sqlite
