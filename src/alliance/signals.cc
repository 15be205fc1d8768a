#include "alliance/signals.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "alliance/change.h"
#include "alliance/dropout.h"

namespace rapport::alliance {
namespace {

using domain::AlertSeverity;
using domain::Perspective;
using domain::Response;
using instruments::Definition;
using Json = nlohmann::json;

// One rater's ratings on one instrument, one per session (the latest submitted), by session.
struct Series {
  std::string respondent_id;
  Perspective perspective = Perspective::kClient;
  const Definition* definition = nullptr;
  std::vector<std::pair<int, const Response*>> ratings;
};

std::optional<double> Subscale(const Response& response, std::initializer_list<const char*> ids) {
  for (const char* id : ids) {
    const auto it = response.score.subscales.find(id);
    if (it != response.score.subscales.end()) return it->second;
  }
  return std::nullopt;
}

// The scored ratings of a series; `responses`, when given, receives the matching responses.
std::vector<SeriesPoint> Points(const Series& series,
                                std::vector<const Response*>* responses = nullptr) {
  std::vector<SeriesPoint> out;
  for (const auto& [session, response] : series.ratings) {
    if (!response->score.total) continue;
    if (responses != nullptr) responses->push_back(response);
    SeriesPoint point;
    point.session = session;
    point.score = *response->score.total;
    point.bond = Subscale(*response, {"bond"});
    point.goals = Subscale(*response, {"goals", "goal"});
    point.tasks = Subscale(*response, {"tasks", "task"});
    out.push_back(point);
  }
  return out;
}

// The lowest possible value of a subscale (its items' keyed minimum, summed or averaged).
double SubscaleMin(const Definition& definition, const instruments::Subscale& subscale) {
  double sum = 0;
  double lowest = 0;
  bool first = true;
  for (const std::string& item_id : subscale.item_ids) {
    const instruments::Item* item = definition.FindItem(item_id);
    if (item == nullptr) continue;
    sum += item->min;
    lowest = first ? item->min : std::min(lowest, item->min);
    first = false;
  }
  return subscale.method == instruments::Aggregation::kSum ? sum : lowest;
}

bool LowOnCutoff(const Definition& definition, double total) {
  return definition.cutoff &&
         OnConcernSide(total, definition.cutoff->value, definition.cutoff->comparison);
}

// Dimensions (bond, goals, tasks, ...) at their lowest possible value.
std::vector<std::string> DimensionsAtMinimum(const Definition& definition,
                                             const Response& response) {
  std::vector<std::string> out;
  for (const instruments::Subscale& subscale : definition.subscales) {
    const auto it = response.score.subscales.find(subscale.id);
    if (it == response.score.subscales.end() || !it->second) continue;
    if (*it->second <= SubscaleMin(definition, subscale) + 1e-9) out.push_back(subscale.id);
  }
  return out;
}

std::optional<double> ReliableThreshold(const Definition& definition,
                                        const SignalSettings& settings) {
  const auto it = settings.rupture_threshold.find(definition.id);
  if (it != settings.rupture_threshold.end()) return it->second;
  if (definition.reliable_change) return definition.reliable_change->value;
  return std::nullopt;
}

Json JsonOrNull(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

// A number in its shortest form for text: 90, 92.5.
std::string Short(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

class Evaluator {
 public:
  Evaluator(const EpisodeHistory& history, const DefinitionLookup& find,
            const OrgSettings& settings, const EtrModelLookup& etr_models,
            const stats::DropoutModel* dropout_model)
      : history_(history),
        find_(find),
        settings_(settings),
        signals_(settings.signals),
        etr_models_(etr_models),
        dropout_model_(dropout_model) {}

  std::vector<Signal> Run() {
    BuildSeries();
    for (const Series& series : series_) {
      RiskItems(series);
      if (series.definition->kind == "alliance" && series.perspective == Perspective::kClient) {
        Alliance(series);
        PerspectiveGap(series);
        DropoutRisk(series);
      }
      if (series.definition->kind == "outcome") NotOnTrack(series);
      if (series.definition->kind == "goals") GoalsStalled(series);
    }
    return std::move(out_);
  }

 private:
  bool Enabled(std::string_view kind) const { return !signals_.disabled.contains(kind); }

  void BuildSeries() {
    std::map<std::string, int> session_numbers;
    for (const domain::Session& session : history_.sessions) {
      session_numbers[session.id] = session.number;
    }
    std::map<std::tuple<std::string, Perspective, std::string>, size_t> index;
    for (const Response& response : history_.responses) {
      const auto session = session_numbers.find(response.session_id);
      const Definition* definition = find_(response.instrument_id);
      if (session == session_numbers.end() || definition == nullptr) continue;
      const auto key =
          std::make_tuple(response.respondent_id, response.perspective, response.instrument_id);
      auto [it, inserted] = index.try_emplace(key, series_.size());
      if (inserted) {
        series_.push_back({response.respondent_id, response.perspective, definition, {}});
      }
      auto& ratings = series_[it->second].ratings;
      const auto same = std::find_if(ratings.begin(), ratings.end(),
                                     [&](const auto& r) { return r.first == session->second; });
      if (same != ratings.end()) {
        same->second = &response;  // the latest submission for a session wins
      } else {
        ratings.emplace_back(session->second, &response);
      }
    }
    for (Series& series : series_) {
      std::sort(series.ratings.begin(), series.ratings.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
    }
  }

  std::string Key(std::string_view kind, const Series& series, std::string_view extra = {}) {
    std::string key = std::string(kind) + "/" + series.respondent_id + "/" + series.definition->id;
    if (!extra.empty()) key += "/" + std::string(extra);
    return key;
  }

  // Risk items (SCIENCE.md §2.1): any answer that meets an urgent flag of the instrument, e.g.
  // PHQ-9 item 9 ≥ 1. Never switched off, never delayed.
  void RiskItems(const Series& series) {
    std::vector<const instruments::FlagRule*> urgent;
    for (const instruments::FlagRule& rule : series.definition->flags) {
      if (rule.urgent) urgent.push_back(&rule);
    }
    if (urgent.empty()) return;
    Signal signal;
    int count = 0;
    for (const auto& [session, response] : series.ratings) {
      for (const instruments::FlagRule* rule : urgent) {
        if (std::find(response->score.flags.begin(), response->score.flags.end(), rule->id) ==
            response->score.flags.end()) {
          continue;
        }
        ++count;
        if (count == 1) signal.session_number = session;
        signal.last_session_number = session;
        Json answers = Json::object();
        std::vector<std::string> items = rule->item_ids;
        if (!rule->item_id.empty()) items.push_back(rule->item_id);
        for (const domain::ItemAnswer& answer : response->answers) {
          if (std::find(items.begin(), items.end(), answer.item_id) != items.end()) {
            answers[answer.item_id] = answer.value ? Json(*answer.value) : Json(nullptr);
          }
        }
        signal.evidence = {
            {"rule",
             "an answer on a risk item needs clinician follow-up the same day, "
             "regardless of the total (SCIENCE.md §2.1)"},
            {"instrument", series.definition->id},
            {"flag", rule->id},
            {"session", session},
            {"answers", answers},
            {"total", response->score.total ? Json(*response->score.total) : Json(nullptr)},
            {"source", rule->source},
            {"safety_procedure", settings_.safety_text.empty() ? std::string(kDefaultSafetyText)
                                                               : settings_.safety_text}};
      }
    }
    if (count == 0) return;
    signal.kind = "risk-item";
    signal.severity = AlertSeverity::kUrgent;
    signal.key = Key("risk-item", series);
    signal.client_id = series.respondent_id;
    signal.occurrences = count;
    signal.evidence["occurrences"] = count;
    out_.push_back(std::move(signal));
  }

  void Alliance(const Series& series) {
    const Definition& definition = *series.definition;
    std::vector<const Response*> responses;
    const std::vector<SeriesPoint> points = Points(series, &responses);
    if (points.empty()) return;
    const SeriesPoint& latest = points.back();
    const Response& latest_response = *responses.back();

    // Low alliance (DESIGN.md §5): below the instrument's cutoff, or a dimension at its lowest.
    if (Enabled("low-alliance")) {
      const auto is_low = [&](const SeriesPoint& p, const Response& r) {
        return LowOnCutoff(definition, p.score) || !DimensionsAtMinimum(definition, r).empty();
      };
      if (is_low(latest, latest_response)) {
        Signal signal;
        signal.kind = "low-alliance";
        signal.severity = AlertSeverity::kWarning;
        signal.key = Key("low-alliance", series);
        signal.client_id = series.respondent_id;
        signal.last_session_number = static_cast<int>(latest.session);
        // The first session of the current run of low ratings.
        size_t first = points.size() - 1;
        while (first > 0) {
          if (!is_low(points[first - 1], *responses[first - 1])) break;
          --first;
        }
        signal.session_number = static_cast<int>(points[first].session);
        signal.occurrences = static_cast<int>(points.size() - first);
        signal.evidence = {
            {"rule",
             "the alliance is below the instrument's cutoff, or a dimension is at its "
             "lowest option (DESIGN.md §5)"},
            {"instrument", definition.id},
            {"session", latest.session},
            {"total", latest.score},
            {"cutoff", definition.cutoff ? Json(definition.cutoff->value) : Json(nullptr)},
            {"comparison", definition.cutoff ? Json(definition.cutoff->comparison) : Json(nullptr)},
            {"below_cutoff", LowOnCutoff(definition, latest.score)},
            {"dimensions_at_lowest", DimensionsAtMinimum(definition, latest_response)},
            {"sessions_in_a_row", signal.occurrences}};
        out_.push_back(std::move(signal));
      }
    }

    // Ruptures and repairs (SCIENCE.md §5.2).
    std::vector<Rupture> ruptures;
    auto params = RuptureParamsFor(definition, signals_);
    if (params.ok()) {
      auto found = FindRuptures(points, *params);
      if (found.ok()) ruptures = std::move(found).value();
    }
    if (Enabled("rupture")) {
      for (const Rupture& rupture : ruptures) {
        Signal signal;
        signal.kind = "rupture";
        signal.severity = AlertSeverity::kWarning;
        signal.key = Key("rupture", series, "s" + std::to_string(rupture.session));
        signal.client_id = series.respondent_id;
        signal.session_number = static_cast<int>(rupture.session);
        signal.last_session_number = static_cast<int>(points[rupture.close_index].session);
        signal.active = rupture.status != RuptureStatus::kRepaired;
        if (!signal.active) signal.resolution = "repaired";
        const auto sudden = TestSuddenLoss(points, rupture.index, rupture.threshold);
        signal.evidence = {
            {"rule",
             "a drop of at least T points from the previous rating; repaired when a "
             "rating within K sessions returns to within R points of the level before "
             "(SCIENCE.md §5.2)"},
            {"instrument", definition.id},
            {"mode", Name(params->mode)},
            {"threshold", rupture.threshold},
            {"window", params->window},
            {"tolerance", params->tolerance},
            {"baseline", params->baseline},
            {"session", rupture.session},
            {"level", rupture.level},
            {"score", rupture.score},
            {"drop", rupture.drop},
            {"status", Name(rupture.status)},
            {"repaired_at", JsonOrNull(rupture.repaired_at)},
            {"v_shaped", rupture.v_shaped},
            {"dimension", rupture.dimension.empty() ? Json(nullptr) : Json(rupture.dimension)},
            {"sudden_loss", sudden ? Json(sudden->sudden_loss()) : Json(nullptr)}};
        out_.push_back(std::move(signal));
      }
    }

    // A dip from the top of the scale is always worth a gentle word (DESIGN.md §5), when it
    // is the latest rating and not already a rupture.
    if (Enabled("ceiling-dip") && points.size() >= 2) {
      const double top = definition.TotalMax();
      const auto dips = FindCeilingDips(points, top);
      const size_t last = points.size() - 1;
      const bool is_rupture = std::any_of(ruptures.begin(), ruptures.end(),
                                          [&](const Rupture& r) { return r.index == last; });
      if (!dips.empty() && dips.back() == last && !is_rupture) {
        Signal signal;
        signal.kind = "ceiling-dip";
        signal.severity = AlertSeverity::kPrompt;
        signal.key = Key("ceiling-dip", series, "s" + std::to_string(latest.session));
        signal.client_id = series.respondent_id;
        signal.session_number = signal.last_session_number = static_cast<int>(latest.session);
        signal.evidence = {
            {"rule",
             "the previous rating was at the top of the scale and this one is lower: "
             "many clients rate at the top, so any dip is worth asking about "
             "(DESIGN.md §5)"},
            {"instrument", definition.id},
            {"session", latest.session},
            {"top", top},
            {"previous", points[last - 1].score},
            {"score", latest.score},
            {"drop", points[last - 1].score - latest.score}};
        out_.push_back(std::move(signal));
      }
    }
  }

  // Clinician's alliance above the client's by more than the reliable-change threshold
  // (DESIGN.md §5), at the latest session both rated.
  void PerspectiveGap(const Series& client) {
    if (!Enabled("perspective-gap")) return;
    const Definition& definition = *client.definition;
    const auto threshold = ReliableThreshold(definition, signals_);
    if (!threshold) return;
    for (const Series& other : series_) {
      if (other.perspective != Perspective::kClinician || other.definition->kind != "alliance" ||
          other.definition->TotalMin() != definition.TotalMin() ||
          other.definition->TotalMax() != definition.TotalMax()) {
        continue;
      }
      for (auto it = client.ratings.rbegin(); it != client.ratings.rend(); ++it) {
        const auto match = std::find_if(other.ratings.begin(), other.ratings.end(),
                                        [&](const auto& r) { return r.first == it->first; });
        if (match == other.ratings.end()) continue;
        if (!it->second->score.total || !match->second->score.total) break;
        const double client_score = *it->second->score.total;
        const double clinician_score = *match->second->score.total;
        const double gap = clinician_score - client_score;
        if (gap > *threshold) {
          Signal signal;
          signal.kind = "perspective-gap";
          signal.severity = AlertSeverity::kWarning;
          signal.key = Key("perspective-gap", client);
          signal.client_id = client.respondent_id;
          signal.session_number = signal.last_session_number = it->first;
          signal.evidence = {
              {"rule",
               "the clinician's alliance rating is above the client's by more than the "
               "reliable-change threshold (DESIGN.md §5)"},
              {"instrument", definition.id},
              {"clinician_instrument", other.definition->id},
              {"session", it->first},
              {"client", client_score},
              {"clinician", clinician_score},
              {"gap", gap},
              {"threshold", *threshold}};
          out_.push_back(std::move(signal));
        }
        return;  // only the latest session both rated counts
      }
    }
  }

  // Early dropout risk, rule-based defaults until a model is fitted (DESIGN.md §5; Sharf,
  // Primavera & Diener 2010: weaker alliance, more dropout, d = .55).
  // Early dropout risk from the organisation's own model (stats/logistic.h) on the features of
  // alliance/dropout.h: the predicted probability against the configured threshold, with each
  // feature's share of the log-odds as the reason.
  void DropoutRiskFromModel(const Series& client, const std::vector<SeriesPoint>& points) {
    const stats::DropoutModel& model = *dropout_model_;
    const std::vector<double> values =
        DropoutFeatures(history_, find_, client.respondent_id, signals_.dropout_early_sessions);
    const std::vector<std::string>& names = DropoutFeatureNames();
    std::vector<double> ordered;
    for (const std::string& feature : model.features) {
      const auto at = std::find(names.begin(), names.end(), feature);
      ordered.push_back(at == names.end() ? std::nan("")
                                          : values[static_cast<size_t>(at - names.begin())]);
    }
    const stats::DropoutModel::Prediction prediction = model.Predict(ordered);
    if (prediction.probability < signals_.dropout_model_threshold) return;
    Json contributions = Json::array();
    for (const auto& part : prediction.contributions) {
      contributions.push_back({{"feature", part.feature},
                               {"value", std::isnan(part.value) ? Json() : Json(part.value)},
                               {"log_odds", part.log_odds}});
    }
    Signal signal;
    signal.kind = "dropout-risk";
    signal.severity = AlertSeverity::kWarning;
    signal.key = Key("dropout-risk", client);
    signal.client_id = client.respondent_id;
    signal.session_number = signal.last_session_number = static_cast<int>(points.back().session);
    signal.evidence = {
        {"method", "model"},
        {"rule", "predicted probability of dropping out at least " +
                     Short(signals_.dropout_model_threshold) +
                     " (logistic model fitted on the organisation's ended episodes)"},
        {"probability", prediction.probability},
        {"threshold", signals_.dropout_model_threshold},
        {"early_sessions", signals_.dropout_early_sessions},
        {"contributions", contributions},
        {"model",
         {{"kind", "dropout"},
          {"fitted_at", model.fitted_at},
          {"cases", model.cases},
          {"dropouts", model.dropouts},
          {"auc", model.auc},
          {"brier", model.brier}}}};
    out_.push_back(std::move(signal));
  }

  void DropoutRisk(const Series& client) {
    if (!Enabled("dropout-risk")) return;
    const Definition& definition = *client.definition;
    const int early = signals_.dropout_early_sessions;
    std::vector<SeriesPoint> points;
    for (const SeriesPoint& p : Points(client)) {
      if (p.session <= early) points.push_back(p);
    }
    if (points.empty()) return;
    if (dropout_model_ != nullptr && dropout_model_->cases >= signals_.dropout_model_min_cases) {
      DropoutRiskFromModel(client, points);
      return;
    }
    Json factors = Json::array();
    for (const SeriesPoint& p : points) {
      if (LowOnCutoff(definition, p.score)) {
        factors.push_back({{"factor", "low-alliance"},
                           {"session", p.session},
                           {"score", p.score},
                           {"cutoff", definition.cutoff->value}});
        break;
      }
    }
    const auto threshold = ReliableThreshold(definition, signals_);
    if (threshold && points.size() >= 2 &&
        points.front().score - points.back().score >= *threshold) {
      factors.push_back({{"factor", "falling-alliance"},
                         {"first", points.front().score},
                         {"latest", points.back().score},
                         {"threshold", *threshold}});
    }
    for (const Series& outcome : series_) {
      if (outcome.respondent_id != client.respondent_id || outcome.definition->kind != "outcome" ||
          !outcome.definition->reliable_change) {
        continue;
      }
      std::vector<SeriesPoint> early_outcome;
      for (const SeriesPoint& p : Points(outcome)) {
        if (p.session <= early) early_outcome.push_back(p);
      }
      if (early_outcome.size() < 2 || early_outcome.back().session < early) continue;
      auto criteria = CriteriaFromDefinition(*outcome.definition);
      if (!criteria.ok()) continue;
      const ChangeResult change =
          ClassifyChange(early_outcome.front().score, early_outcome.back().score, *criteria);
      if (change.reliable != ReliableChangeKind::kImproved) {
        factors.push_back({{"factor", "no-improvement"},
                           {"instrument", outcome.definition->id},
                           {"first", early_outcome.front().score},
                           {"latest", early_outcome.back().score},
                           {"reliable_change", criteria->min_reliable_change}});
        break;
      }
    }
    int missed = 0;
    for (const domain::Session& session : history_.sessions) {
      if (session.number <= early && session.attendance == domain::Attendance::kNoShow) ++missed;
    }
    if (missed > 0) factors.push_back({{"factor", "missed-sessions"}, {"count", missed}});
    if (static_cast<int>(factors.size()) < signals_.dropout_min_factors) return;
    Signal signal;
    signal.kind = "dropout-risk";
    signal.severity = AlertSeverity::kWarning;
    signal.key = Key("dropout-risk", client);
    signal.client_id = client.respondent_id;
    signal.session_number = signal.last_session_number = static_cast<int>(points.back().session);
    signal.evidence = {
        {"method", "rule"},
        {"rule", "in the first sessions, at least " + std::to_string(signals_.dropout_min_factors) +
                     " of: low alliance, falling alliance, no reliable "
                     "improvement, a missed session (rule-based default)"},
        {"early_sessions", early},
        {"factors", factors}};
    out_.push_back(std::move(signal));
  }

  // Not on track (SCIENCE.md §4.3): against the organisation's expected treatment response
  // when a model fitted on enough clients exists for client ratings of the instrument;
  // otherwise the rational fallback.
  void NotOnTrack(const Series& series) {
    if (!Enabled("not-on-track")) return;
    const std::vector<SeriesPoint> points = Points(series);
    if (points.size() < 2) return;
    std::string why_rational = "no expected-treatment-response model for this instrument";
    if (series.perspective != Perspective::kClient) {
      why_rational = "the expected-treatment-response model describes client ratings";
    } else if (const stats::EtrModel* model =
                   etr_models_ ? etr_models_(series.definition->id) : nullptr;
               model != nullptr) {
      if (model->provenance.clients >= signals_.etr_min_clients) {
        if (NotOnTrackByModel(series, points, *model)) return;
        why_rational = "the expected-treatment-response model does not apply to this series";
      } else {
        why_rational = "the expected-treatment-response model was fitted on " +
                       std::to_string(model->provenance.clients) + " clients; at least " +
                       std::to_string(signals_.etr_min_clients) +
                       " are needed (signals.not_on_track.etr_min_clients)";
      }
    }
    NotOnTrackRational(series, points, why_rational);
  }

  // The empirical rule (SCIENCE.md §4.3; Finch, Lambert & Schaalje 2001; Lutz et al. 2006):
  // the latest score against the one-sided boundary of the predictive distribution for a new
  // client with this intake score. Sessions count from the client's first rating (the intake,
  // t = 0), as the model was fitted (docs/statistics.md). Without an intake covariate the
  // prediction is conditioned on the intake score (Gaussian conditioning); with one, the intake
  // enters as the covariate. Returns false when the model cannot be applied (then the
  // rational fallback runs).
  bool NotOnTrackByModel(const Series& series, const std::vector<SeriesPoint>& points,
                         const stats::EtrModel& model) {
    const SeriesPoint& intake = points.front();
    const SeriesPoint& latest = points.back();
    const double since_intake = static_cast<double>(latest.session - intake.session);
    const double t = model.IntakeSession() + since_intake;
    const auto prediction = model.has_covariate()
                                ? stats::Predict(model, t, intake.score)
                                : stats::PredictGivenIntake(model, t, intake.score);
    if (!prediction.ok()) return false;
    const bool higher_is_better =
        series.definition->direction == instruments::Direction::kHigherIsBetter;
    const auto test =
        stats::TestNotOnTrack(*prediction, latest.score,
                              higher_is_better ? stats::ScoreDirection::kHigherIsBetter
                                               : stats::ScoreDirection::kHigherIsWorse,
                              signals_.not_on_track_percentile);
    if (!test.ok()) return false;
    if (!test->not_on_track) return true;
    Json band = Json::object();
    for (const stats::EtrBand& b : stats::PercentileBands(*prediction)) {
      band["p" + Short(b.percentile)] = b.value;
    }
    const stats::EtrProvenance& provenance = model.provenance;
    const auto optional_time = [](const std::optional<Timestamp>& time) {
      return time ? Json(FormatTimestamp(*time)) : Json(nullptr);
    };
    Signal signal;
    signal.kind = "not-on-track";
    signal.severity = AlertSeverity::kWarning;
    signal.key = Key("not-on-track", series);
    signal.client_id = series.respondent_id;
    signal.session_number = signal.last_session_number = static_cast<int>(latest.session);
    std::string rule = "the latest score is worse than the one-sided ";
    rule.append(Short(test->percentile))
        .append(
            "% boundary of the organisation's expected treatment response for a client with "
            "this intake score (SCIENCE.md §4.3; Finch, Lambert & Schaalje 2001)");
    signal.evidence = {
        {"rule", rule},
        {"method", "expected-treatment-response"},
        {"instrument", series.definition->id},
        {"direction", higher_is_better ? "higher-is-better" : "higher-is-worse"},
        {"intake_session", intake.session},
        {"intake", intake.score},
        {"session", latest.session},
        {"sessions_since_intake", since_intake},
        {"latest", latest.score},
        {"expected", prediction->mean},
        {"sd", prediction->sd()},
        {"band", band},
        {"percentile", test->percentile},
        {"boundary", test->boundary},
        {"model",
         {{"kind", "etr"},
          {"instrument", provenance.instrument_id},
          {"conditioning", model.has_covariate() ? "intake as covariate" : "intake score"},
          {"fitted_at", FormatTimestamp(provenance.fitted_at)},
          {"clients", provenance.clients},
          {"observations", provenance.observations},
          {"data_from", optional_time(provenance.data_from)},
          {"data_to", optional_time(provenance.data_to)}}}};
    out_.push_back(std::move(signal));
    return true;
  }

  // Rational fallback of SCIENCE.md §4.3: reliable deterioration from the first rating
  // (warning), or no reliable improvement by the configured session (prompt).
  void NotOnTrackRational(const Series& series, const std::vector<SeriesPoint>& points,
                          const std::string& why_rational) {
    auto criteria = CriteriaFromDefinition(*series.definition);
    if (!criteria.ok()) return;
    const ChangeResult change =
        ClassifyChange(points.front().score, points.back().score, *criteria);
    const bool deteriorated = change.reliable == ReliableChangeKind::kDeteriorated;
    const bool late = points.back().session >= signals_.not_on_track_session &&
                      change.reliable != ReliableChangeKind::kImproved;
    if (!deteriorated && !late) return;
    Signal signal;
    signal.kind = "not-on-track";
    signal.severity = deteriorated ? AlertSeverity::kWarning : AlertSeverity::kPrompt;
    signal.key = Key("not-on-track", series);
    signal.client_id = series.respondent_id;
    signal.session_number = signal.last_session_number = static_cast<int>(points.back().session);
    signal.evidence = {
        {"rule", deteriorated ? "reliable deterioration since the first rating (SCIENCE.md §3, "
                                "§4.3 rational fallback)"
                              : "no reliable improvement by session " +
                                    std::to_string(signals_.not_on_track_session) +
                                    " (SCIENCE.md §4.3 rational fallback)"},
        {"method", "rational"},
        {"why_rational", why_rational},
        {"instrument", series.definition->id},
        {"first_session", points.front().session},
        {"first", points.front().score},
        {"session", points.back().session},
        {"latest", points.back().score},
        {"change", change.change},
        {"reliable_change", criteria->min_reliable_change},
        {"reliable", Name(change.reliable)}};
    out_.push_back(std::move(signal));
  }

  void GoalsStalled(const Series& series) {
    if (!Enabled("goal-stalled")) return;
    for (const instruments::Item& item : series.definition->items) {
      std::vector<SeriesPoint> ratings;
      for (const auto& [session, response] : series.ratings) {
        for (const domain::ItemAnswer& answer : response->answers) {
          if (answer.item_id == item.id && answer.value) {
            ratings.push_back({session, *answer.value, {}, {}, {}});
          }
        }
      }
      const int k = signals_.goal_stalled_sessions;
      if (!GoalStalled(ratings, k, item.max)) continue;
      const SeriesPoint& latest = ratings.back();
      const SeriesPoint& before = ratings[ratings.size() - static_cast<size_t>(k)];
      Signal signal;
      signal.kind = "goal-stalled";
      signal.severity = AlertSeverity::kPrompt;
      signal.key = Key("goal-stalled", series, item.id);
      signal.client_id = series.respondent_id;
      signal.session_number = signal.last_session_number = static_cast<int>(latest.session);
      signal.evidence = {{"rule", "no progress on an agreed goal over " + std::to_string(k) +
                                      " ratings (DESIGN.md §5)"},
                         {"instrument", series.definition->id},
                         {"goal", item.id},
                         {"from_session", before.session},
                         {"from", before.score},
                         {"session", latest.session},
                         {"latest", latest.score}};
      out_.push_back(std::move(signal));
    }
  }

  const EpisodeHistory& history_;
  const DefinitionLookup& find_;
  const OrgSettings& settings_;
  const SignalSettings& signals_;
  const EtrModelLookup& etr_models_;
  const stats::DropoutModel* dropout_model_;
  std::vector<Series> series_;
  std::vector<Signal> out_;
};

}  // namespace

Result<RuptureParams> RuptureParamsFor(const Definition& definition,
                                       const SignalSettings& settings) {
  RuptureParams params;
  params.mode = settings.rupture_mode;
  params.intra_k = settings.rupture_intra_k;
  params.window = settings.rupture_window;
  params.tolerance = settings.rupture_tolerance;
  params.baseline = settings.rupture_baseline;
  const auto threshold = ReliableThreshold(definition, settings);
  if (threshold) {
    params.threshold = *threshold;
  } else if (params.mode != ThresholdMode::kIntraIndividual) {
    return InvalidArgument("instrument '" + definition.id +
                               "' has no reliable-change value and no rupture threshold is "
                               "configured",
                           "threshold");
  }
  RAPPORT_RETURN_IF_ERROR(ValidateRuptureParams(params));
  return params;
}

bool GoalStalled(std::span<const SeriesPoint> ratings, int sessions, double top) {
  if (sessions < 2 || ratings.size() < static_cast<size_t>(sessions)) return false;
  const double latest = ratings.back().score;
  const double before = ratings[ratings.size() - static_cast<size_t>(sessions)].score;
  return latest < top && latest <= before;
}

std::vector<Signal> EvaluateEpisode(const EpisodeHistory& history, const DefinitionLookup& find,
                                    const OrgSettings& settings, const EtrModelLookup& etr_models,
                                    const stats::DropoutModel* dropout_model) {
  return Evaluator(history, find, settings, etr_models, dropout_model).Run();
}

}  // namespace rapport::alliance
