// The clinical signals of DESIGN.md §5 over one episode's stored ratings: risk items, low
// alliance, ruptures and repairs, dips from the ceiling, perspective gaps, early dropout risk,
// not on track, and stalled goals. Each signal carries its evidence (the numbers and the rule).
// Rules and defaults: docs/signals.md. Pure; no I/O (models fitted on the organisation's
// history are passed in). Thread safety: none needed.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "alliance/ruptures.h"
#include "alliance/settings.h"
#include "domain/alert.h"
#include "domain/types.h"
#include "instruments/definition.h"
#include "stats/etr.h"
#include "stats/logistic.h"

namespace rapport::alliance {

struct Signal {
  std::string kind;  // one of SignalKinds()
  domain::AlertSeverity severity = domain::AlertSeverity::kWarning;
  // Signals with the same key are one condition: they merge into one alert.
  std::string key;
  std::string client_id;
  int session_number = 0;       // the session that raised it
  int last_session_number = 0;  // the latest session that confirms it
  int occurrences = 1;          // ratings that raised it (e.g. risk answers)
  // False when the condition is known to be over (a repaired rupture): an alert for it is
  // resolved with `resolution`.
  bool active = true;
  std::string resolution;
  nlohmann::json evidence = nlohmann::json::object();
};

// One episode as stored: its sessions (with attendance) and every response with its score.
struct EpisodeHistory {
  std::vector<domain::Session> sessions;
  std::vector<domain::Response> responses;
};

using DefinitionLookup = std::function<const instruments::Definition*(std::string_view id)>;
// The organisation's expected-treatment-response model of an instrument (stats/etr.h), or
// null when it has none. An empty lookup means no models.
using EtrModelLookup = std::function<const stats::EtrModel*(std::string_view instrument_id)>;

// Every signal that the ratings so far support, in a deterministic order. Responses whose
// instrument is unknown or whose session is not in `sessions` are ignored. Not on track uses
// the instrument's model from `etr_models` for client ratings when the model was fitted on at
// least `settings.signals.etr_min_clients` clients, else the rational fallback
// (docs/signals.md).
// Early dropout risk uses `dropout_model` (stats/logistic.h) when it is not null and was fitted
// on at least `settings.signals.dropout_model_min_cases` ended episodes, else the rule.
std::vector<Signal> EvaluateEpisode(const EpisodeHistory& history, const DefinitionLookup& find,
                                    const OrgSettings& settings,
                                    const EtrModelLookup& etr_models = {},
                                    const stats::DropoutModel* dropout_model = nullptr);

// The rupture rule parameters for ratings on `definition` under `settings`; errors when no
// threshold can be found (no setting, no reliable_change value, not intra-individual mode).
Result<RuptureParams> RuptureParamsFor(const instruments::Definition& definition,
                                       const SignalSettings& settings);

// Goal stalled (DESIGN.md §5): the last `sessions` ratings show no rise (the latest is no
// higher than the first of them), while the goal is not yet reached (below `top`).
bool GoalStalled(std::span<const SeriesPoint> ratings, int sessions, double top);

}  // namespace rapport::alliance
