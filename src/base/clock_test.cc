#include "base/clock.h"

#include "testing/testing.h"

namespace rapport {
namespace {

TEST(Timestamp, FormatsAndParsesRfc3339) {
  const Timestamp t = FromUnixMillis(1'795'000'000'123);
  const std::string text = FormatTimestamp(t);
  EXPECT_EQ(text, "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(*ParseTimestamp(text), t);
  EXPECT_EQ(*ParseTimestamp("2026-11-18T11:06:40Z"), FromUnixMillis(1'795'000'000'000));
}

TEST(Timestamp, RejectsMalformedText) {
  for (const char* text : {"", "yesterday", "2026-13-01T00:00:00Z", "2026-11-18T09:46:40+01:00",
                           "2026-02-30T00:00:00Z"}) {
    EXPECT_FALSE(ParseTimestamp(text).ok()) << text;
  }
}

TEST(FakeClock, MovesOnlyWhenTold) {
  testing::FakeClock clock;
  const Timestamp start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(std::chrono::minutes(5));
  EXPECT_EQ(clock.Now() - start, std::chrono::minutes(5));
}

}  // namespace
}  // namespace rapport
