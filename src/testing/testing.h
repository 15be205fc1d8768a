// Shared test helpers (STYLE.md rule 10): status assertions, a fake clock, temporary
// directories and the paths the test harness passes in.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "base/clock.h"
#include "base/status.h"

#define ASSERT_OK(expr)                                               \
  do {                                                                \
    const ::rapport::Status _st = ::rapport::testing::ToStatus(expr); \
    ASSERT_TRUE(_st.ok()) << _st.ToString();                          \
  } while (false)

#define EXPECT_OK(expr)                                               \
  do {                                                                \
    const ::rapport::Status _st = ::rapport::testing::ToStatus(expr); \
    EXPECT_TRUE(_st.ok()) << _st.ToString();                          \
  } while (false)

namespace rapport::testing {

inline Status ToStatus(const Status& status) { return status; }
template <typename T>
Status ToStatus(const Result<T>& result) {
  return result.status();
}

// A clock that moves only when told to. Thread safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start = FromUnixMillis(1'790'000'000'000))
      : now_(ToUnixMillis(start)) {}
  Timestamp Now() const override { return FromUnixMillis(now_.load()); }
  void Advance(std::chrono::milliseconds by) { now_ += by.count(); }
  void Set(Timestamp t) { now_ = ToUnixMillis(t); }

 private:
  std::atomic<int64_t> now_;
};

// The repository root (RAPPORT_SOURCE_DIR, else the tree this test was built from).
std::filesystem::path SourceDir();
// The `rapport` binary under test (RAPPORT_BINARY, else the one built beside this test).
std::filesystem::path RapportBinary();

// The whole content of a file; empty when it cannot be read.
std::string ReadFileText(const std::filesystem::path& path);

// A fresh directory removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace rapport::testing
