// The signals over one episode, scored with the shipped instruments and the one scoring engine.
#include "alliance/signals.h"

#include "instruments/catalog.h"
#include "instruments/scoring.h"
#include "testing/testing.h"

namespace rapport::alliance {
namespace {

using domain::AlertSeverity;
using domain::Perspective;

class Signals : public ::testing::Test {
 protected:
  Signals() {
    auto loaded =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) catalog_ = std::move(loaded).value();
  }

  void AddSession(int number, domain::Attendance attendance = domain::Attendance::kAttended) {
    domain::Session session;
    session.id = "s" + std::to_string(number);
    session.number = number;
    session.attendance = attendance;
    history_.sessions.push_back(session);
  }

  // A response on `instrument` with item values in item order.
  void Rate(int session, const std::string& instrument, const std::vector<double>& values,
            Perspective perspective = Perspective::kClient,
            const std::string& respondent = "client-1") {
    const instruments::Definition* definition = catalog_.Find(instrument);
    ASSERT_NE(definition, nullptr);
    std::vector<domain::ItemAnswer> answers;
    for (size_t i = 0; i < values.size(); ++i) {
      answers.push_back({definition->items[i].id, values[i]});
    }
    auto score = instruments::Score(*definition, answers);
    ASSERT_OK(score);
    domain::Response response;
    response.id = "r" + std::to_string(history_.responses.size());
    response.session_id = "s" + std::to_string(session);
    response.respondent_id = respondent;
    response.perspective = perspective;
    response.instrument_id = instrument;
    response.answers = answers;
    response.score = *score;
    history_.responses.push_back(response);
  }

  // Client alliance with bond, goals, tasks, openness values (items in pairs, then openness).
  void Alliance(int session, double bond, double goals, double tasks, double open,
                Perspective perspective = Perspective::kClient) {
    Rate(session,
         perspective == Perspective::kClient ? "rapport-alliance-client"
                                             : "rapport-alliance-clinician",
         {bond, bond, goals, goals, tasks, tasks, open}, perspective,
         perspective == Perspective::kClient ? "client-1" : "clinician-1");
  }

  std::vector<Signal> Evaluate() {
    return EvaluateEpisode(
        history_, [&](std::string_view id) { return catalog_.Find(id); }, settings_,
        [&](std::string_view id) -> const stats::EtrModel* {
          const auto it = etr_models_.find(std::string(id));
          return it == etr_models_.end() ? nullptr : &it->second;
        });
  }

  std::vector<Signal> OfKind(const std::string& kind) {
    std::vector<Signal> out;
    for (Signal& s : Evaluate()) {
      if (s.kind == kind) out.push_back(std::move(s));
    }
    return out;
  }

  instruments::Catalog catalog_;
  EpisodeHistory history_;
  OrgSettings settings_;
  std::map<std::string, stats::EtrModel> etr_models_;
};

// An expected-treatment-response model on a PHQ-9-like scale: falling from 16 at intake along
// ln(t + 1), fitted (by assumption) on `clients` clients.
stats::EtrModel PhqModel(int64_t clients) {
  stats::EtrModel model;
  model.beta = Eigen::Vector2d(16, -3);
  model.beta_se = Eigen::Vector2d(0.4, 0.2);
  model.g << 16, 2, 2, 2;
  model.sigma2 = 4;
  model.provenance.instrument_id = "phq-9";
  model.provenance.clients = clients;
  model.provenance.observations = clients * 8;
  model.provenance.fitted_at = FromUnixMillis(1'780'000'000'000);
  model.provenance.data_to = FromUnixMillis(1'779'000'000'000);
  model.provenance.converged = true;
  return model;
}

TEST_F(Signals, RuptureCarriesEvidenceAndTheDimensionThatDroppedMost) {
  for (int s = 1; s <= 3; ++s) AddSession(s);
  Alliance(1, 4, 4, 4, 4);
  Alliance(2, 3, 1, 3, 3);  // total 4 → 2.43: a drop of 1.57 ≥ 1; goals fell most
  const auto ruptures = OfKind("rupture");
  ASSERT_EQ(ruptures.size(), 1u);
  const Signal& r = ruptures[0];
  EXPECT_TRUE(r.active);
  EXPECT_EQ(r.severity, AlertSeverity::kWarning);
  EXPECT_EQ(r.session_number, 2);
  EXPECT_EQ(r.evidence["status"], "open");
  EXPECT_EQ(r.evidence["dimension"], "goals");
  EXPECT_DOUBLE_EQ(r.evidence["level"].get<double>(), 4);
  EXPECT_DOUBLE_EQ(r.evidence["threshold"].get<double>(), 1);
  EXPECT_EQ(r.evidence["window"], 3);
  // The next rating returns to the level: repaired, V-shaped, no longer active.
  Alliance(3, 4, 4, 4, 4);
  const auto repaired = OfKind("rupture");
  ASSERT_EQ(repaired.size(), 1u);
  EXPECT_FALSE(repaired[0].active);
  EXPECT_EQ(repaired[0].resolution, "repaired");
  EXPECT_EQ(repaired[0].evidence["repaired_at"], 3);
  EXPECT_EQ(repaired[0].evidence["v_shaped"], true);
  EXPECT_EQ(repaired[0].key, ruptures[0].key);
}

TEST_F(Signals, RiskItemIsUrgentWithTheOrganisationsSafetyText) {
  AddSession(1);
  settings_.safety_text = "Phone the duty clinician on extension 4000 today.";
  Rate(1, "phq-9", {1, 1, 1, 1, 1, 1, 1, 1, 1});
  const auto risk = OfKind("risk-item");
  ASSERT_EQ(risk.size(), 1u);
  EXPECT_EQ(risk[0].severity, AlertSeverity::kUrgent);
  EXPECT_EQ(risk[0].evidence["answers"]["9"], 1);
  EXPECT_EQ(risk[0].evidence["safety_procedure"], settings_.safety_text);
  settings_.signals.disabled.insert("rupture");
  EXPECT_EQ(OfKind("risk-item").size(), 1u);
}

TEST_F(Signals, NoRiskWhenItemNineIsZero) {
  AddSession(1);
  Rate(1, "phq-9", {3, 3, 3, 3, 3, 3, 3, 3, 0});
  EXPECT_TRUE(OfKind("risk-item").empty());
}

TEST_F(Signals, LowAllianceBelowCutoffOrADimensionAtItsLowest) {
  AddSession(1);
  AddSession(2);
  Alliance(1, 4, 4, 0, 4);  // total 2.86 < 3 and tasks at 0
  auto low = OfKind("low-alliance");
  ASSERT_EQ(low.size(), 1u);
  EXPECT_EQ(low[0].evidence["dimensions_at_lowest"], nlohmann::json({"tasks"}));
  EXPECT_EQ(low[0].evidence["below_cutoff"], true);
  Alliance(2, 4, 4, 3, 4);
  EXPECT_TRUE(OfKind("low-alliance").empty());
}

TEST_F(Signals, CeilingDipIsAGentlePrompt) {
  AddSession(1);
  AddSession(2);
  Alliance(1, 4, 4, 4, 4);
  Alliance(2, 4, 4, 4, 3);  // 4 → 3.86: below the rupture threshold, but a dip from the top
  EXPECT_TRUE(OfKind("rupture").empty());
  const auto dips = OfKind("ceiling-dip");
  ASSERT_EQ(dips.size(), 1u);
  EXPECT_EQ(dips[0].severity, AlertSeverity::kPrompt);
}

TEST_F(Signals, PerspectiveGapWhenTheClinicianRatesHigherByMoreThanTheThreshold) {
  AddSession(1);
  Alliance(1, 3, 2, 2, 2);
  Alliance(1, 4, 4, 4, 4, Perspective::kClinician);
  const auto gap = OfKind("perspective-gap");
  ASSERT_EQ(gap.size(), 1u);
  EXPECT_NEAR(gap[0].evidence["gap"].get<double>(), 4 - 16.0 / 7, 1e-12);
  history_.responses.pop_back();
  Alliance(1, 3, 3, 3, 3, Perspective::kClinician);  // gap 0.86 ≤ 1
  EXPECT_TRUE(OfKind("perspective-gap").empty());
}

TEST_F(Signals, EarlyDropoutRiskNeedsTwoFactors) {
  AddSession(1);
  AddSession(2, domain::Attendance::kNoShow);
  AddSession(3);
  Alliance(1, 3, 3, 3, 3);
  EXPECT_TRUE(OfKind("dropout-risk").empty());
  Alliance(3, 2, 2, 2, 2);  // below the cutoff, falling by 1, and session 2 was missed
  const auto risk = OfKind("dropout-risk");
  ASSERT_EQ(risk.size(), 1u);
  ASSERT_EQ(risk[0].evidence["factors"].size(), 3u);
  EXPECT_EQ(risk[0].evidence["factors"][0]["factor"], "low-alliance");
  EXPECT_EQ(risk[0].evidence["factors"][1]["factor"], "falling-alliance");
  EXPECT_EQ(risk[0].evidence["factors"][2]["factor"], "missed-sessions");
}

TEST_F(Signals, NotOnTrackOnReliableDeteriorationOrNoImprovementByTheSession) {
  for (int s = 1; s <= 6; ++s) AddSession(s);
  Rate(1, "phq-9", {1, 1, 1, 1, 1, 1, 1, 1, 0});  // 8
  Rate(2, "phq-9", {2, 2, 2, 2, 2, 2, 2, 0, 0});  // 14: +6, reliable deterioration
  auto not_on_track = OfKind("not-on-track");
  ASSERT_EQ(not_on_track.size(), 1u);
  EXPECT_EQ(not_on_track[0].severity, AlertSeverity::kWarning);
  Rate(6, "phq-9", {1, 1, 1, 1, 1, 1, 1, 0, 0});  // 7 at session 6: no reliable improvement
  not_on_track = OfKind("not-on-track");
  ASSERT_EQ(not_on_track.size(), 1u);
  EXPECT_EQ(not_on_track[0].severity, AlertSeverity::kPrompt);
}

// PHQ-9 answers whose total is `total` (item 9 always 0).
std::vector<double> PhqAnswers(int total) {
  std::vector<double> answers(9, 0);
  for (size_t item = 0; item < 8 && total > 0; ++item) {
    answers[item] = std::min(3, total);
    total -= static_cast<int>(answers[item]);
  }
  return answers;
}

TEST_F(Signals, NotOnTrackAgainstTheExpectedTreatmentResponseModel) {
  for (int s = 1; s <= 7; ++s) AddSession(s);
  etr_models_["phq-9"] = PhqModel(120);
  const stats::EtrModel& model = etr_models_["phq-9"];
  Rate(2, "phq-9", PhqAnswers(15));  // the intake: the first rating, t = 0
  Rate(3, "phq-9", PhqAnswers(14));
  // Session 6 is t = 4 after the intake. Conditional on the intake of 15 the expected score is
  // about 10.2 with SD 3.6: the 90% boundary is about 14.9.
  const auto given = stats::PredictGivenIntake(model, 4, 15);
  ASSERT_OK(given);
  const auto test = stats::TestNotOnTrack(*given, 0, stats::ScoreDirection::kHigherIsWorse, 90);
  ASSERT_OK(test);
  ASSERT_GT(test->boundary, 14);
  ASSERT_LT(test->boundary, 16);
  Rate(6, "phq-9", PhqAnswers(16));  // +1 from intake: no reliable deterioration, yet NOT
  auto signals = OfKind("not-on-track");
  ASSERT_EQ(signals.size(), 1u);
  const Signal& signal = signals[0];
  EXPECT_EQ(signal.severity, AlertSeverity::kWarning);
  EXPECT_EQ(signal.session_number, 6);
  const nlohmann::json& e = signal.evidence;
  EXPECT_EQ(e["method"], "expected-treatment-response");
  EXPECT_EQ(e["direction"], "higher-is-worse");
  EXPECT_EQ(e["intake_session"], 2);
  EXPECT_EQ(e["intake"], 15.0);
  EXPECT_EQ(e["session"], 6);
  EXPECT_EQ(e["sessions_since_intake"], 4.0);
  EXPECT_EQ(e["latest"], 16.0);
  EXPECT_DOUBLE_EQ(e["expected"].get<double>(), given->mean);
  EXPECT_DOUBLE_EQ(e["sd"].get<double>(), given->sd());
  EXPECT_DOUBLE_EQ(e["boundary"].get<double>(), test->boundary);
  EXPECT_EQ(e["percentile"], 90.0);
  EXPECT_DOUBLE_EQ(e["band"]["p50"].get<double>(), given->mean);
  EXPECT_DOUBLE_EQ(e["band"]["p90"].get<double>(), test->boundary);
  EXPECT_EQ(e["band"].size(), 5u);
  EXPECT_EQ(e["model"]["kind"], "etr");
  EXPECT_EQ(e["model"]["clients"], 120);
  EXPECT_EQ(e["model"]["fitted_at"], FormatTimestamp(model.provenance.fitted_at));
  EXPECT_EQ(e["model"]["data_to"], FormatTimestamp(*model.provenance.data_to));
  EXPECT_TRUE(e["model"]["data_from"].is_null());
  EXPECT_EQ(e["model"]["conditioning"], "intake score");
  EXPECT_NE(e["rule"].get<std::string>().find("one-sided 90% boundary"), std::string::npos);

  // A stricter organisation setting moves the boundary nearer the mean.
  settings_.signals.not_on_track_percentile = 75;
  signals = OfKind("not-on-track");
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_LT(signals[0].evidence["boundary"].get<double>(), test->boundary);

  // Within the band at the latest session: no signal, although the rational rule would prompt
  // (no reliable improvement by session 6).
  settings_.signals.not_on_track_percentile = 90;
  Rate(7, "phq-9", PhqAnswers(12));
  EXPECT_TRUE(OfKind("not-on-track").empty());
  etr_models_.clear();
  signals = OfKind("not-on-track");
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].evidence["method"], "rational");
  EXPECT_EQ(signals[0].severity, AlertSeverity::kPrompt);
}

TEST_F(Signals, NotOnTrackFallsBackToTheRationalRuleWithoutEnoughClients) {
  for (int s = 1; s <= 2; ++s) AddSession(s);
  etr_models_["phq-9"] = PhqModel(49);  // the default etr_min_clients is 50
  Rate(1, "phq-9", PhqAnswers(8));
  Rate(2, "phq-9", PhqAnswers(14));  // +6: reliable deterioration
  auto signals = OfKind("not-on-track");
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].evidence["method"], "rational");
  EXPECT_EQ(signals[0].evidence["why_rational"],
            "the expected-treatment-response model was fitted on 49 clients; at least 50 are "
            "needed (signals.not_on_track.etr_min_clients)");
  EXPECT_EQ(signals[0].severity, AlertSeverity::kWarning);
  // With a lower organisation minimum the model decides (14 after an intake of 8 is beyond
  // its boundary of about 10.7 one session later).
  settings_.signals.etr_min_clients = 40;
  signals = OfKind("not-on-track");
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].evidence["method"], "expected-treatment-response");
  EXPECT_GT(signals[0].evidence["boundary"].get<double>(), 10);
  EXPECT_LT(signals[0].evidence["boundary"].get<double>(), 11);
  // Ratings by someone else than the client never use the model.
  history_.responses.clear();
  Rate(1, "phq-9", PhqAnswers(8), Perspective::kCollateral, "partner-1");
  Rate(2, "phq-9", PhqAnswers(14), Perspective::kCollateral, "partner-1");
  signals = OfKind("not-on-track");
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].evidence["method"], "rational");
  EXPECT_EQ(signals[0].evidence["why_rational"],
            "the expected-treatment-response model describes client ratings");
}

TEST_F(Signals, NotOnTrackOnAHigherIsBetterOutcomeUsesTheLowerBoundary) {
  for (int s = 1; s <= 5; ++s) AddSession(s);
  // ORS-like: rising from 20 at intake; an intake covariate model.
  stats::EtrModel model;
  model.covariate = "intake";
  model.beta = Eigen::Vector4d(2, 4, 0.9, 0);
  model.beta_se = Eigen::Vector4d(1, 1, 0.1, 0.1);
  model.g << 4, 0, 0, 1;
  model.sigma2 = 4;
  model.provenance.clients = 300;
  model.provenance.fitted_at = FromUnixMillis(1'780'000'000'000);
  etr_models_["ors"] = model;
  Rate(1, "ors", {5, 5, 5, 5});  // intake 20: expected at t = 3 is 2 + 4 ln 4 + 18 ≈ 25.5
  Rate(4, "ors", {5, 5, 5, 4});  // 19, below the 10th percentile of about 20.9
  const auto prediction = stats::Predict(model, 3, 20.0);
  ASSERT_OK(prediction);
  auto signals = OfKind("not-on-track");
  ASSERT_EQ(signals.size(), 1u);
  const nlohmann::json& e = signals[0].evidence;
  EXPECT_EQ(e["direction"], "higher-is-better");
  EXPECT_EQ(e["model"]["conditioning"], "intake as covariate");
  EXPECT_DOUBLE_EQ(e["expected"].get<double>(), prediction->mean);
  EXPECT_DOUBLE_EQ(e["boundary"].get<double>(), prediction->Percentile(10));
  EXPECT_GT(e["boundary"].get<double>(), 19);
  Rate(5, "ors", {6, 6, 6, 6});  // 24 at t = 4: on track
  EXPECT_TRUE(OfKind("not-on-track").empty());
}

TEST_F(Signals, DisabledKindsAreNotRaised) {
  AddSession(1);
  AddSession(2);
  Alliance(1, 4, 4, 4, 4);
  Alliance(2, 1, 1, 1, 1);
  settings_.signals.disabled = {"rupture", "low-alliance"};
  EXPECT_TRUE(OfKind("rupture").empty());
  EXPECT_TRUE(OfKind("low-alliance").empty());
}

TEST(GoalStalled, NoRiseOverKRatings) {
  const auto points = [](std::vector<double> v) {
    std::vector<SeriesPoint> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back({int64_t(i + 1), v[i], {}, {}, {}});
    return out;
  };
  EXPECT_TRUE(GoalStalled(points({2, 3, 3, 3}), 3, 10));
  EXPECT_TRUE(GoalStalled(points({5, 4, 4, 4}), 3, 10));
  EXPECT_FALSE(GoalStalled(points({2, 3, 3, 4}), 3, 10));
  EXPECT_TRUE(GoalStalled(points({3, 3, 3}), 3, 10));
  EXPECT_FALSE(GoalStalled(points({3, 3}), 3, 10));            // too few ratings yet
  EXPECT_FALSE(GoalStalled(points({10, 10, 10, 10}), 3, 10));  // goal reached
}

}  // namespace
}  // namespace rapport::alliance
