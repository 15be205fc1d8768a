#include "alliance/guidance.h"

#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace rapport::alliance {
namespace {

using Json = nlohmann::json;

Json Entry(const std::string& id) {
  return {
      {"id", id},
      {"title", "A title"},
      {"text", "Some words."},
      {"signals", {"rupture"}},
      {"sources", {"Safran JD, Muran JC (2000). Negotiating the therapeutic alliance. Guilford."}}};
}

TEST(Guidance, ParsesAValidEntry) {
  auto entry = ParseGuidanceEntry(Entry("raise-it"), "a.json");
  ASSERT_OK(entry);
  EXPECT_EQ(entry->id, "raise-it");
  EXPECT_EQ(entry->signals, std::vector<std::string>{"rupture"});
}

TEST(Guidance, ProblemsNameTheFileAndField) {
  const auto problem = [](Json value) {
    return ParseGuidanceEntry(value, "data/guidance/x.json").status();
  };
  Json bad = Entry("Bad Id");
  EXPECT_EQ(problem(bad).field(), "id");
  bad = Entry("ok");
  bad["signals"] = {"weather"};
  EXPECT_EQ(problem(bad).field(), "signals[0]");
  EXPECT_NE(problem(bad).message().find("data/guidance/x.json"), std::string::npos);
  bad = Entry("ok");
  bad["sources"] = {"a website"};
  EXPECT_EQ(problem(bad).field(), "sources[0]");
  bad = Entry("ok");
  bad.erase("text");
  EXPECT_EQ(problem(bad).field(), "text");
  bad = Entry("ok");
  bad["dimensions"] = {"mood"};
  EXPECT_EQ(problem(bad).field(), "dimensions[0]");
  bad = Entry("ok");
  bad["extra"] = 1;
  EXPECT_EQ(problem(bad).field(), "extra");
}

TEST(Guidance, SelectionFollowsSignalAndDimension) {
  std::vector<GuidanceEntry> library;
  for (const char* id : {"general", "goals-only", "other"}) {
    library.push_back(*ParseGuidanceEntry(Entry(id), id));
  }
  library[1].dimensions = {"goals"};
  library[2].signals = {"risk-item"};
  auto ids = [&](std::string_view kind, std::string_view dimension) {
    std::vector<std::string> out;
    for (const GuidanceEntry* e : SelectGuidance(library, kind, dimension)) out.push_back(e->id);
    return out;
  };
  EXPECT_EQ(ids("rupture", "goals"), (std::vector<std::string>{"general", "goals-only"}));
  EXPECT_EQ(ids("rupture", "bond"), (std::vector<std::string>{"general"}));
  EXPECT_EQ(ids("risk-item", ""), (std::vector<std::string>{"other"}));
}

TEST(Guidance, OrganisationsReplaceAddAndDisableEntries) {
  std::vector<GuidanceEntry> shipped = {*ParseGuidanceEntry(Entry("a"), "a"),
                                        *ParseGuidanceEntry(Entry("b"), "b")};
  GuidanceEntry replaced = shipped[0];
  replaced.text = "Our own words.";
  GuidanceEntry added = *ParseGuidanceEntry(Entry("c"), "c");
  const auto merged = MergeGuidance(shipped, {replaced, added}, {"b"});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].id, "a");
  EXPECT_EQ(merged[0].text, "Our own words.");
  EXPECT_EQ(merged[1].id, "c");
}

}  // namespace
}  // namespace rapport::alliance
