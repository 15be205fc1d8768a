// Per-organisation settings of the clinical signals (docs/signals.md): rule parameters, the
// safety text shown with risk alerts, and guidance overrides. Stored as one JSON document per
// organisation (storage: org_settings); parsed and validated here. Pure; no I/O.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "alliance/guidance.h"
#include "alliance/ruptures.h"
#include "base/status.h"

namespace rapport::alliance {

// Rule parameters; the defaults are those of docs/signals.md.
struct SignalSettings {
  // Rupture rule (SCIENCE.md §5.2). The fixed/RCI threshold of an instrument is, in order:
  // `rupture_threshold[instrument]`, else the instrument's reliable_change value.
  ThresholdMode rupture_mode = ThresholdMode::kFixed;
  std::map<std::string, double, std::less<>> rupture_threshold;
  double rupture_intra_k = 2;
  int rupture_window = 3;        // K
  double rupture_tolerance = 0;  // R
  int rupture_baseline = 1;      // pre-rupture level: mean of this many previous ratings
  // Early dropout risk: the first `dropout_early_sessions` sessions; alert when at least
  // `dropout_min_factors` of {low alliance, falling alliance, no improvement, missed session}.
  int dropout_early_sessions = 3;
  int dropout_min_factors = 2;
  // With a dropout model fitted on at least `dropout_model_min_cases` ended episodes
  // (src/stats/logistic.h): alert when the predicted probability of dropout is at least
  // `dropout_model_threshold`, instead of the rule above.
  int dropout_model_min_cases = 100;
  double dropout_model_threshold = 0.30;
  // Not on track (SCIENCE.md §4.3). With an expected-treatment-response model of the
  // instrument fitted on at least `etr_min_clients` clients: a score beyond the one-sided
  // `not_on_track_percentile` boundary of the expected course for the client's intake.
  // Otherwise the rational fallback: reliable deterioration at any time; no reliable
  // improvement by session `not_on_track_session`.
  int etr_min_clients = 50;
  double not_on_track_percentile = 90;
  int not_on_track_session = 6;
  // Goal stalled: no rise on a goal over this many ratings.
  int goal_stalled_sessions = 3;
  // Signal kinds switched off (never "risk-item": risk is always raised).
  std::set<std::string, std::less<>> disabled;
};

struct OrgSettings {
  // Shown with every risk-item alert: the organisation's own safety procedure.
  std::string safety_text;
  SignalSettings signals;
  // Guidance entries that replace shipped ones with the same id, or add new ones.
  std::vector<GuidanceEntry> guidance_entries;
  // Shipped guidance entries the organisation does not want shown.
  std::set<std::string, std::less<>> guidance_disabled;
};

// The text shown with risk alerts when an organisation has configured none.
extern const char* const kDefaultSafetyText;

// Parses the settings document. Unknown keys and wrong types are InvalidArgument naming the
// field as a path, e.g. "signals.rupture.window". An empty object gives the defaults.
Result<OrgSettings> ParseOrgSettings(const nlohmann::json& document);
Result<OrgSettings> ParseOrgSettingsText(std::string_view json_text);

}  // namespace rapport::alliance
