#include "alerts/signal_cache.h"

#include "testing/testing.h"

namespace rapport::alerts {
namespace {

std::shared_ptr<const SignalInputs> Inputs(const std::string& episode, int64_t revision,
                                           size_t responses = 1) {
  auto inputs = std::make_shared<SignalInputs>();
  inputs->org_id = "org";
  inputs->session.episode_id = episode;
  inputs->episode_revision = revision;
  inputs->history.responses.resize(responses);
  for (domain::Response& response : inputs->history.responses) {
    response.id = std::string(22, 'r');
    response.answers.resize(9, {"item", 1.0});
  }
  return inputs;
}

TEST(SignalCache, FindsAnEpisodeOnlyAtTheRevisionKept) {
  SignalCache cache(1 << 20);
  cache.Put(Inputs("episode", 7));
  EXPECT_NE(cache.Find("org", "episode", 7), nullptr);
  EXPECT_EQ(cache.Find("org", "episode", 6), nullptr);
  EXPECT_EQ(cache.Find("org", "episode", 8), nullptr);
  EXPECT_EQ(cache.Find("other-org", "episode", 7), nullptr);
  EXPECT_EQ(cache.Find("org", "other-episode", 7), nullptr);
  const SignalCache::Counters counters = cache.counters();
  EXPECT_EQ(counters.hits, 1u);
  EXPECT_EQ(counters.misses, 4u);
  EXPECT_EQ(counters.entries, 1u);
}

TEST(SignalCache, KeepsTheLaterRevisionWhicheverArrivesLast) {
  SignalCache cache(1 << 20);
  cache.Put(Inputs("episode", 9));
  cache.Put(Inputs("episode", 8));  // a slower submission's, from before
  EXPECT_NE(cache.Find("org", "episode", 9), nullptr);
  EXPECT_EQ(cache.Find("org", "episode", 8), nullptr);
  cache.Put(Inputs("episode", 10));
  EXPECT_NE(cache.Find("org", "episode", 10), nullptr);
  EXPECT_EQ(cache.counters().entries, 1u);
  EXPECT_EQ(cache.counters().bytes, ApproximateBytes(*Inputs("episode", 10)));
}

TEST(SignalCache, StaysWithinItsBytes) {
  const size_t entry = ApproximateBytes(*Inputs("e", 1, 12));
  EXPECT_GT(entry, 12 * (sizeof(domain::Response) + 9 * sizeof(domain::ItemAnswer)));
  SignalCache cache(10 * entry);
  for (int i = 0; i < 100; ++i) cache.Put(Inputs("episode-" + std::to_string(i), 1, 12));
  const SignalCache::Counters counters = cache.counters();
  EXPECT_EQ(counters.entries, 10u);
  EXPECT_LE(counters.bytes, 10 * entry);
  // The newest entry is always kept; the others that stayed are a random few.
  EXPECT_NE(cache.Find("org", "episode-99", 1), nullptr);
  int kept = 0;
  for (int i = 0; i < 100; ++i)
    kept += cache.Find("org", "episode-" + std::to_string(i), 1) != nullptr;
  EXPECT_EQ(kept, 10);
}

TEST(SignalCache, KeepsNothingLargerThanItself) {
  SignalCache none(0);
  none.Put(Inputs("episode", 1));
  EXPECT_EQ(none.Find("org", "episode", 1), nullptr);
  EXPECT_EQ(none.counters().entries, 0u);

  SignalCache small(ApproximateBytes(*Inputs("a", 1, 1)) + 1);
  small.Put(Inputs("a", 1, 1));
  small.Put(Inputs("b", 1, 50));  // too big: not kept, and evicts nothing
  EXPECT_NE(small.Find("org", "a", 1), nullptr);
  EXPECT_EQ(small.Find("org", "b", 1), nullptr);
}

}  // namespace
}  // namespace rapport::alerts
