#include "alliance/settings.h"

#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace rapport::alliance {
namespace {

using Json = nlohmann::json;

TEST(Settings, EmptyDocumentGivesTheDocumentedDefaults) {
  auto settings = ParseOrgSettingsText("{}");
  ASSERT_OK(settings);
  EXPECT_EQ(settings->signals.rupture_mode, ThresholdMode::kFixed);
  EXPECT_EQ(settings->signals.rupture_window, 3);
  EXPECT_EQ(settings->signals.rupture_tolerance, 0);
  EXPECT_EQ(settings->signals.rupture_intra_k, 2);
  EXPECT_EQ(settings->signals.dropout_early_sessions, 3);
  EXPECT_EQ(settings->signals.dropout_min_factors, 2);
  EXPECT_EQ(settings->signals.not_on_track_session, 6);
  EXPECT_EQ(settings->signals.etr_min_clients, 50);
  EXPECT_EQ(settings->signals.dropout_model_min_cases, 100);
  EXPECT_DOUBLE_EQ(settings->signals.dropout_model_threshold, 0.30);
  EXPECT_EQ(settings->signals.not_on_track_percentile, 90);
  EXPECT_EQ(settings->signals.goal_stalled_sessions, 3);
  EXPECT_TRUE(settings->safety_text.empty());
}

TEST(Settings, ParsesEverySetting) {
  auto settings = ParseOrgSettings(Json::parse(R"({
    "safety_text": "Call the duty clinician on 0123.",
    "signals": {
      "rupture": {"mode": "combined", "threshold": {"rapport-alliance-client": 0.5},
                  "intra_k": 1, "window": 2, "tolerance": 0.25, "baseline": 3},
      "dropout": {"early_sessions": 4, "min_factors": 3},
      "not_on_track": {"session": 8, "etr_min_clients": 120, "percentile": 80},
      "goal_stalled": {"sessions": 2},
      "disabled": ["ceiling-dip"]
    },
    "guidance": {"disabled": ["raise-the-rupture"], "entries": [{
      "id": "local-risk", "title": "Our risk pathway", "text": "Ring the duty line.",
      "signals": ["risk-item"], "sources": ["Example Clinic (2024). Local risk policy. Internal."]
    }]}
  })"));
  ASSERT_OK(settings);
  EXPECT_EQ(settings->safety_text, "Call the duty clinician on 0123.");
  EXPECT_EQ(settings->signals.rupture_mode, ThresholdMode::kCombined);
  EXPECT_EQ(settings->signals.rupture_threshold.at("rapport-alliance-client"), 0.5);
  EXPECT_EQ(settings->signals.rupture_window, 2);
  EXPECT_EQ(settings->signals.rupture_tolerance, 0.25);
  EXPECT_EQ(settings->signals.rupture_baseline, 3);
  EXPECT_EQ(settings->signals.dropout_min_factors, 3);
  EXPECT_EQ(settings->signals.not_on_track_session, 8);
  EXPECT_EQ(settings->signals.etr_min_clients, 120);
  EXPECT_EQ(settings->signals.not_on_track_percentile, 80);
  EXPECT_TRUE(settings->signals.disabled.contains("ceiling-dip"));
  ASSERT_EQ(settings->guidance_entries.size(), 1u);
  EXPECT_TRUE(settings->guidance_disabled.contains("raise-the-rupture"));
}

TEST(Settings, ErrorsNameTheField) {
  const auto field = [](const char* text) { return ParseOrgSettingsText(text).status().field(); };
  EXPECT_EQ(field(R"({"signals": {"rupture": {"window": 0}}})"), "signals.rupture.window");
  EXPECT_EQ(field(R"({"signals": {"rupture": {"windows": 3}}})"), "signals.rupture.windows");
  EXPECT_EQ(field(R"({"signals": {"rupture": {"baseline": 0}}})"), "signals.rupture.baseline");
  EXPECT_EQ(field(R"({"signals": {"rupture": {"mode": "loose"}}})"), "signals.rupture.mode");
  EXPECT_EQ(field(R"({"signals": {"rupture": {"threshold": {"x": -1}}}})"),
            "signals.rupture.threshold.x");
  EXPECT_EQ(field(R"({"signals": {"disabled": ["risk-item"]}})"), "signals.disabled[0]");
  EXPECT_EQ(field(R"({"signals": {"not_on_track": {"etr_min_clients": 2}}})"),
            "signals.not_on_track.etr_min_clients");
  EXPECT_EQ(field(R"({"signals": {"not_on_track": {"etr_min_clients": 50.5}}})"),
            "signals.not_on_track.etr_min_clients");
  EXPECT_EQ(field(R"({"signals": {"not_on_track": {"percentile": 100}}})"),
            "signals.not_on_track.percentile");
  EXPECT_EQ(field(R"({"signals": {"not_on_track": {"percentile": 50}}})"),
            "signals.not_on_track.percentile");
  EXPECT_EQ(field(R"({"signals": {"dropout": {"model_min_cases": 19}}})"),
            "signals.dropout.model_min_cases");
  EXPECT_EQ(field(R"({"signals": {"dropout": {"model_threshold": 1}}})"),
            "signals.dropout.model_threshold");
  EXPECT_EQ(field(R"({"safety_text": ""})"), "safety_text");
  EXPECT_EQ(field(R"({"colour": "blue"})"), "colour");
  EXPECT_EQ(field(R"({"guidance": {"entries": [{"id": "x"}]}})"), "title");
  EXPECT_EQ(ParseOrgSettingsText("{not json").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rapport::alliance
