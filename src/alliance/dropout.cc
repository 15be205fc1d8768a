#include "alliance/dropout.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace rapport::alliance {
namespace {

// Percent of the maximum possible: 0 at the lowest total, 100 at the highest.
double Pomp(const instruments::Definition& definition, double total) {
  const double low = definition.TotalMin();
  const double high = definition.TotalMax();
  return high > low ? 100 * (total - low) / (high - low) : std::nan("");
}

}  // namespace

const std::vector<std::string>& DropoutFeatureNames() {
  static const std::vector<std::string> kNames = {"first_alliance",  "alliance_change",
                                                  "intake_severity", "outcome_change",
                                                  "missed_sessions", "perspective_gap"};
  return kNames;
}

std::vector<double> DropoutFeatures(const EpisodeHistory& history, const DefinitionLookup& find,
                                    std::string_view client_id, int early_sessions) {
  std::map<std::string, int, std::less<>> number_of;
  double missed = 0;
  for (const domain::Session& session : history.sessions) {
    number_of[session.id] = session.number;
    if (session.number >= 1 && session.number <= early_sessions &&
        (session.attendance == domain::Attendance::kNoShow ||
         session.attendance == domain::Attendance::kCancelled)) {
      ++missed;
    }
  }
  // The client's own ratings in the window, by session (then submission) order.
  struct Rating {
    int session = 0;
    double pomp = 0;
  };
  // One instrument per series: the first alliance measure rated, and the first outcome measure
  // (kind "outcome", else "progress").
  std::vector<Rating> alliance;
  std::vector<Rating> outcome;
  std::vector<Rating> clinician;  // any clinician's alliance ratings of the episode
  std::string alliance_instrument;
  std::string outcome_instrument;
  bool outcome_is_progress = false;
  std::vector<const domain::Response*> responses;
  for (const domain::Response& response : history.responses) responses.push_back(&response);
  std::stable_sort(responses.begin(), responses.end(),
                   [&](const auto* a, const auto* b) { return a->submitted_at < b->submitted_at; });
  for (const domain::Response* response : responses) {
    const auto session = number_of.find(response->session_id);
    if (session == number_of.end() || session->second < 1 || session->second > early_sessions ||
        !response->score.total) {
      continue;
    }
    const bool from_client = response->respondent_id == client_id &&
                             response->perspective == domain::Perspective::kClient;
    const bool from_clinician = response->perspective == domain::Perspective::kClinician;
    if (!from_client && !from_clinician) continue;
    const instruments::Definition* definition = find(response->instrument_id);
    if (definition == nullptr) continue;
    double pomp = Pomp(*definition, *response->score.total);
    if (std::isnan(pomp)) continue;
    if (from_clinician) {
      if (definition->kind == "alliance") clinician.push_back({session->second, pomp});
      continue;
    }
    if (definition->kind == "alliance") {
      if (alliance_instrument.empty()) alliance_instrument = definition->id;
      if (definition->id == alliance_instrument) alliance.push_back({session->second, pomp});
    } else if (definition->kind == "outcome" || definition->kind == "progress") {
      const bool progress = definition->kind == "progress";
      if (outcome_instrument.empty() || (outcome_is_progress && !progress)) {
        if (outcome_instrument != definition->id) outcome.clear();
        outcome_instrument = definition->id;
        outcome_is_progress = progress;
      }
      if (definition->id != outcome_instrument) continue;
      // Higher means more severe, whichever way the instrument runs.
      const bool better = definition->direction == instruments::Direction::kHigherIsBetter;
      outcome.push_back({session->second, better ? 100 - pomp : pomp});
    }
  }
  const auto by_session = [](const Rating& a, const Rating& b) { return a.session < b.session; };
  std::stable_sort(alliance.begin(), alliance.end(), by_session);
  std::stable_sort(outcome.begin(), outcome.end(), by_session);
  std::stable_sort(clinician.begin(), clinician.end(), by_session);
  const double nan = std::nan("");
  // The gap at the first session that both the client and a clinician rated.
  double gap = nan;
  for (const Rating& rating : alliance) {
    const auto match = std::find_if(clinician.begin(), clinician.end(),
                                    [&](const Rating& c) { return c.session == rating.session; });
    if (match != clinician.end()) {
      gap = match->pomp - rating.pomp;
      break;
    }
  }
  return {
      alliance.empty() ? nan : alliance.front().pomp,
      alliance.size() < 2 ? nan : alliance.back().pomp - alliance.front().pomp,
      outcome.empty() ? nan : outcome.front().pomp,
      outcome.size() < 2 ? nan : outcome.front().pomp - outcome.back().pomp,
      missed,
      gap,
  };
}

}  // namespace rapport::alliance
