// One loop over the shipped guidance library (data/guidance/*.json): every entry is valid and
// cites its sources, every signal has guidance, and DESIGN.md §6's topics are all covered.
#include <fstream>
#include <set>

#include "alerts/alerts.h"
#include "testing/testing.h"

namespace rapport::alerts {
namespace {

class GuidanceLibrary : public ::testing::Test {
 protected:
  GuidanceLibrary() {
    auto loaded = LoadGuidanceDirectory(testing::SourceDir() / "data/guidance");
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) library_ = std::move(loaded).value();
  }
  std::vector<alliance::GuidanceEntry> library_;
};

TEST_F(GuidanceLibrary, EveryEntryIsValidAndCitesItsSources) {
  ASSERT_GE(library_.size(), 14u);
  for (const auto& entry : library_) {
    EXPECT_FALSE(entry.sources.empty()) << entry.id;
    EXPECT_GE(entry.text.size(), 200u) << entry.id << ": say what to try, in a few sentences";
  }
}

TEST_F(GuidanceLibrary, EverySignalHasGuidance) {
  for (const std::string& kind : alliance::SignalKinds()) {
    EXPECT_FALSE(alliance::SelectGuidance(library_, kind).empty()) << kind;
  }
  for (const char* dimension : {"bond", "goals", "tasks"}) {
    EXPECT_GT(alliance::SelectGuidance(library_, "rupture", dimension).size(),
              alliance::SelectGuidance(library_, "rupture", "").size())
        << "ruptures in " << dimension << " get guidance of their own";
  }
}

TEST_F(GuidanceLibrary, CoversTheTopicsOfDesignSection6) {
  std::set<std::string> ids;
  for (const auto& entry : library_) ids.insert(entry.id);
  for (const char* topic :
       {"welcome-and-safety", "give-the-relationship-time", "no-judgement",
        "managing-your-own-reactions", "talk-about-goals", "agree-how-to-work",
        "ask-more-or-different-questions", "raise-the-rupture", "invite-negative-feedback",
        "avoid-rejection", "consider-a-different-approach", "balance-attention-across-members",
        "boundaries-and-supervision", "risk-follow-up"}) {
    EXPECT_TRUE(ids.contains(topic)) << "missing guidance topic " << topic;
  }
}

TEST(GuidanceFiles, ProblemsNameTheFileAndField) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "wrong-name.json")
      << R"({"id": "other", "title": "t", "text": "x", "signals": ["rupture"],
             "sources": ["Someone A (2020). A title of some length. Journal."]})";
  std::ofstream(dir.path() / "broken.json") << "{";
  std::ofstream(dir.path() / "no-sources.json")
      << R"({"id": "no-sources", "title": "t", "text": "x", "signals": ["rupture"]})";
  const auto loaded = LoadGuidanceDirectory(dir.path());
  ASSERT_FALSE(loaded.ok());
  const std::string message = loaded.status().message();
  EXPECT_NE(message.find("wrong-name.json: id:"), std::string::npos) << message;
  EXPECT_NE(message.find("broken.json: not valid JSON"), std::string::npos) << message;
  EXPECT_NE(message.find("no-sources.json: sources: is required"), std::string::npos) << message;
}

}  // namespace
}  // namespace rapport::alerts
