// Expected-treatment-response models on a stored history: from observations to model rows,
// fitting on a simulated organisation in a real SQLite store, storing and loading, and the
// not-on-track alert that uses the stored model.
#include "alerts/models.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "alliance/dropout.h"
#include "base/id.h"
#include "instruments/scoring.h"
#include "sim/cohort.h"
#include "testing/testing.h"

namespace rapport::alerts {
namespace {

using domain::Perspective;
using storage::InstrumentObservation;

constexpr auto kWeek = std::chrono::hours(24 * 7);

InstrumentObservation Observation(const std::string& episode, const std::string& client,
                                  int session, double total, Timestamp at) {
  InstrumentObservation o;
  o.response_id = episode + "/" + std::to_string(session) + "/" + std::to_string(total);
  o.episode_id = episode;
  o.session_number = session;
  o.session_at = at;
  o.respondent_id = client;
  o.client_id = client;
  o.perspective = Perspective::kClient;
  o.total = total;
  o.submitted_at = at;
  return o;
}

TEST(EtrRows, OneSeriesPerClientAndEpisodeCountedFromTheIntake) {
  const Timestamp t0 = FromUnixMillis(1'700'000'000'000);
  std::vector<InstrumentObservation> observations = {
      Observation("e1", "c1", 2, 20, t0),               // intake: t = 0
      Observation("e1", "c1", 3, 18, t0 + kWeek),       // t = 1
      Observation("e1", "c1", 3, 17, t0 + kWeek),       // a later submission for session 3
      Observation("e1", "c1", 5, 12, t0 + 3 * kWeek),   // t = 3: the gap is kept
      Observation("e2", "c1", 1, 25, t0 + 10 * kWeek),  // the same client's next episode
      Observation("e2", "c1", 2, 22, t0 + 11 * kWeek),
      Observation("e3", "c2", 1, 9, t0 - kWeek),  // intake before `from`: the series is left out
      Observation("e3", "c2", 2, 8, t0),
      Observation("e4", "c3", 1, 15, t0 + 2 * kWeek),  // only an intake
  };
  observations[2].submitted_at += std::chrono::minutes(5);
  InstrumentObservation clinician = Observation("e1", "", 4, 10, t0 + 2 * kWeek);
  clinician.respondent_id = "clinician";
  clinician.perspective = Perspective::kClinician;
  observations.push_back(clinician);
  InstrumentObservation unscored = Observation("e1", "c1", 4, 0, t0 + 2 * kWeek);
  unscored.total.reset();
  observations.push_back(unscored);
  observations.push_back(Observation("e2", "c1", 3, 20, t0 + 30 * kWeek));  // after `to`

  EtrWindow window;
  window.from = t0;
  window.to = t0 + 20 * kWeek;
  const EtrData data = EtrRowsFromObservations(observations, window);
  EXPECT_EQ(data.clients, 3);
  EXPECT_EQ(data.first_intake, t0);
  std::vector<std::tuple<std::string, double, double>> rows;
  for (const stats::EtrRow& row : data.rows) rows.emplace_back(row.client, row.session, row.score);
  EXPECT_EQ(rows, (std::vector<std::tuple<std::string, double, double>>{{"e1/c1", 0, 20},
                                                                        {"e1/c1", 1, 17},
                                                                        {"e1/c1", 3, 12},
                                                                        {"e2/c1", 0, 25},
                                                                        {"e2/c1", 1, 22},
                                                                        {"e4/c3", 0, 15}}));

  // With the intake as covariate: the rows after the intake, each with its series' intake.
  window.intake_covariate = true;
  const EtrData covariate = EtrRowsFromObservations(observations, window);
  EXPECT_EQ(covariate.clients, 2) << "a series with only an intake has no rows";
  ASSERT_EQ(covariate.rows.size(), 3u);
  EXPECT_EQ(covariate.rows[0].session, 1);
  EXPECT_EQ(covariate.rows[0].covariate, 20);
  EXPECT_EQ(covariate.rows[2].client, "e2/c1");
  EXPECT_EQ(covariate.rows[2].covariate, 25);
}

// A simulated organisation (sim/cohort.h: PHQ-9 improving along a log curve) in SQLite.
class StoredHistory : public ::testing::Test {
 protected:
  StoredHistory() {
    auto catalog =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    if (catalog.ok()) catalog_ = std::move(catalog).value();
    auto store = storage::OpenStore("sqlite:" + (dir_.path() / "r.db").string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (store.ok()) store_ = std::move(store).value();
  }

  // Stores an organisation with `clinicians` × 6 simulated clients.
  // `everyone_attends`: every session attended (no missed sessions in the history).
  sim::Cohort AddOrganisation(const std::string& org_id, int clinicians, uint64_t seed,
                              bool everyone_attends = false) {
    const Timestamp now = clock_.Now();
    sim::CohortOptions options;
    options.seed = seed;
    options.org_id = org_id;
    options.clinic_id = "clinic";
    for (int k = 0; k < clinicians; ++k) {
      options.clinician_ids.push_back(org_id + "-clinician-" + std::to_string(k));
    }
    options.end = now;
    auto cohort = sim::GenerateCohort(options, catalog_);
    EXPECT_OK(cohort);
    if (!cohort.ok()) return {};
    if (everyone_attends) {
      for (auto& session : cohort->sessions) session.attendance = domain::Attendance::kAttended;
    }
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({org_id, "Org " + org_id, now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic", org_id, "Main"}));
      for (const std::string& id : options.clinician_ids) {
        RAPPORT_RETURN_IF_ERROR(txn.PutUser({id, org_id, "clinic", id + "@example.org", id,
                                             domain::Role::kClinician, "hash", false, now}));
      }
      for (const auto& client : cohort->clients) RAPPORT_RETURN_IF_ERROR(txn.PutClient(client));
      for (const auto& e : cohort->episodes) RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(e));
      for (const auto& s : cohort->sessions) RAPPORT_RETURN_IF_ERROR(txn.PutSession(s));
      for (const auto& r : cohort->responses) RAPPORT_RETURN_IF_ERROR(txn.PutResponse(r));
      return Status::Ok();
    }));
    return std::move(cohort).value();
  }

  Result<stats::EtrModel> Fit(const std::string& org_id, const EtrWindow& window,
                              std::optional<int64_t> min_clients = std::nullopt,
                              const std::string& instrument = "phq-9") {
    EtrFitRequest request;
    request.org_id = org_id;
    request.instrument = catalog_.Find(instrument);
    request.window = window;
    request.min_clients = min_clients;
    request.now = clock_.Now();
    std::optional<Result<stats::EtrModel>> out;
    EXPECT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
      out = FitEtrOnHistory(txn, request);
      return Status::Ok();
    }));
    return std::move(*out);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  instruments::Catalog catalog_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(StoredHistory, FitsTheModelOnTheOrganisationsOwnHistory) {
  const sim::Cohort cohort = AddOrganisation("org-a", 10, 11);
  AddOrganisation("org-b", 2, 12);
  // The rows the store path must produce, built here from the simulation directly.
  std::map<std::string, int> first_session;
  std::map<std::string, int> number_of;
  for (const domain::Session& session : cohort.sessions) number_of[session.id] = session.number;
  std::vector<stats::EtrRow> expected;
  std::map<std::string, std::string> episode_of;
  for (const domain::Session& session : cohort.sessions)
    episode_of[session.id] = session.episode_id;
  for (const domain::Response& response : cohort.responses) {
    if (response.instrument_id != "phq-9" || !response.score.total) continue;
    const std::string key = episode_of[response.session_id] + "/" + response.respondent_id;
    const int number = number_of[response.session_id];
    const auto [it, inserted] = first_session.try_emplace(key, number);
    expected.push_back({key, static_cast<double>(number - it->second), *response.score.total, 0});
  }
  ASSERT_EQ(first_session.size(), 60u);

  EtrWindow window;
  window.to = clock_.Now() + std::chrono::hours(1);
  const auto model = Fit("org-a", window);
  ASSERT_OK(model);
  EXPECT_EQ(model->provenance.clients, 60);
  EXPECT_EQ(model->provenance.observations, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(model->provenance.instrument_id, "phq-9");
  EXPECT_EQ(model->provenance.fitted_at, clock_.Now());
  EXPECT_EQ(model->provenance.data_to, window.to);
  ASSERT_TRUE(model->provenance.data_from.has_value());
  EXPECT_LT(*model->provenance.data_from, clock_.Now());
  EXPECT_TRUE(model->provenance.converged);
  const auto direct = stats::FitEtr(expected, {});
  ASSERT_OK(direct);
  EXPECT_NEAR(model->provenance.reml_criterion, direct->provenance.reml_criterion, 1e-9);
  EXPECT_NEAR(model->beta[1], direct->beta[1], 1e-9);
  // The simulation improves along a log curve: the expected course falls.
  EXPECT_LT(model->beta[1], 0);

  // The default minimum is the organisation's setting (50); org-b has 12 clients.
  const auto small = Fit("org-b", window);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(small.status().message(),
            "organisation 'org-b' has 12 clients with client-rated 'phq-9' scores in the window "
            "(one per client and episode); the model needs at least 50 (the organisation's "
            "signals.not_on_track.etr_min_clients)");
  ASSERT_OK(Fit("org-b", window, 10));
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return SaveOrgSettings(txn, "org-b", R"({"signals":{"not_on_track":{"etr_min_clients":12}}})",
                           clock_.Now());
  }));
  EXPECT_OK(Fit("org-b", window));

  // A window that starts after every intake leaves no clients.
  window.from = clock_.Now();
  const auto none = Fit("org-a", window, 3);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("has 0 clients"), std::string::npos);

  EXPECT_EQ(Fit("org-x", window).status().code(), StatusCode::kNotFound);
  const auto alliance = Fit("org-a", window, 3, "rapport-alliance-client");
  ASSERT_FALSE(alliance.ok());
  EXPECT_NE(alliance.status().message().find("outcome measures"), std::string::npos);
}

TEST_F(StoredHistory, StoredModelsLoadBackAndInvalidOnesAreSkipped) {
  AddOrganisation("org-a", 10, 11);
  EtrWindow window;
  window.to = clock_.Now() + std::chrono::hours(1);
  window.intake_covariate = true;
  const auto model = Fit("org-a", window);
  ASSERT_OK(model);
  EXPECT_EQ(model->covariate, "intake");
  ASSERT_OK(store_->Write(
      [&](storage::WriteTransaction& txn) { return StoreEtrModel(txn, "org-a", *model); }));
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    storage::FittedModel broken;
    broken.org_id = "org-a";
    broken.kind = "etr";
    broken.instrument_id = "gad-7";
    broken.document = R"({"kind":"etr"})";
    broken.fitted_at = clock_.Now();
    return txn.PutFittedModel(broken);
  }));
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const storage::FittedModel stored,
                             txn.GetFittedModel("org-a", "etr", "phq-9"));
    EXPECT_EQ(stored.clients, model->provenance.clients);
    EXPECT_EQ(stored.observations, model->provenance.observations);
    EXPECT_EQ(stored.criterion, model->provenance.reml_criterion);
    EXPECT_EQ(stored.data_to, model->provenance.data_to);
    EXPECT_EQ(stored.fitted_at, model->provenance.fitted_at);
    const std::vector<std::string> ids = {"phq-9", "gad-7", "ors", "phq-9"};
    RAPPORT_ASSIGN_OR_RETURN(const auto models, LoadEtrModels(txn, "org-a", ids));
    EXPECT_EQ(models.size(), 1u);
    if (models.contains("phq-9")) {
      const stats::EtrModel& loaded = models.find("phq-9")->second;
      EXPECT_EQ(loaded.beta, model->beta);
      EXPECT_EQ(loaded.g, model->g);
      EXPECT_EQ(loaded.covariate, "intake");
    }
    return Status::Ok();
  }));
}

// The check-in path: EvaluateAfterResponse finds the stored model and the alert names it.
TEST_F(StoredHistory, NotOnTrackAlertUsesTheStoredModel) {
  AddOrganisation("org-a", 10, 11);
  EtrWindow window;
  window.to = clock_.Now() + std::chrono::hours(1);
  const auto model = Fit("org-a", window);
  ASSERT_OK(model);
  ASSERT_OK(store_->Write(
      [&](storage::WriteTransaction& txn) { return StoreEtrModel(txn, "org-a", *model); }));
  // A new client: intake 15, then 16 four sessions later, where the model expects about 10.
  const auto boundary = [&](double intake, double t) {
    return stats::TestNotOnTrack(*stats::PredictGivenIntake(*model, t, intake), 0,
                                 stats::ScoreDirection::kHigherIsWorse)
        ->boundary;
  };
  ASSERT_LT(boundary(15, 4), 16);
  const instruments::Definition* phq9 = catalog_.Find("phq-9");
  ASSERT_NE(phq9, nullptr);
  SeededRandom random(3);
  const auto answer = [&](int number, int total) -> Status {
    std::vector<domain::ItemAnswer> answers;
    for (size_t item = 0; item < 9; ++item) {
      const int value = item < 8 ? std::min(3, std::max(0, total - 3 * static_cast<int>(item))) : 0;
      answers.push_back({phq9->items[item].id, static_cast<double>(value)});
    }
    RAPPORT_ASSIGN_OR_RETURN(const domain::Score score, instruments::Score(*phq9, answers));
    clock_.Advance(kWeek);
    return store_->Write([&](storage::WriteTransaction& txn) -> Status {
      if (number == 1) {
        RAPPORT_RETURN_IF_ERROR(
            txn.PutClient({"new-client", "org-a", "NEW-1", "en", false, clock_.Now()}));
        domain::Episode episode;
        episode.id = "new-episode";
        episode.org_id = "org-a";
        episode.clinic_id = "clinic";
        episode.client_ids = {"new-client"};
        episode.started_at = clock_.Now();
        RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      }
      domain::Session session;
      session.id = "new-session-" + std::to_string(number);
      session.org_id = "org-a";
      session.episode_id = "new-episode";
      session.number = number;
      session.scheduled_at = clock_.Now();
      session.attendance = domain::Attendance::kAttended;
      RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
      domain::Response response;
      response.id = NewId(random);
      response.org_id = "org-a";
      response.session_id = session.id;
      response.respondent_id = "new-client";
      response.instrument_id = "phq-9";
      response.answers = answers;
      response.score = score;
      response.submitted_at = clock_.Now();
      RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
      return EvaluateAfterResponse(txn, catalog_, "org-a", session.id, clock_.Now(), random);
    });
  };
  const auto alerts = [&] {
    std::vector<domain::Alert> out;
    EXPECT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
      storage::AlertQuery query;
      query.episode_id = "new-episode";
      RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListAlerts("org-a", query));
      for (const domain::Alert& alert : all) {
        if (alert.kind == "not-on-track") out.push_back(alert);
      }
      return Status::Ok();
    }));
    return out;
  };
  ASSERT_OK(answer(1, 15));
  ASSERT_OK(answer(3, 12));
  EXPECT_TRUE(alerts().empty());
  ASSERT_OK(answer(5, 16));
  auto raised = alerts();
  ASSERT_EQ(raised.size(), 1u);
  EXPECT_EQ(raised[0].severity, domain::AlertSeverity::kWarning);
  const nlohmann::json evidence = nlohmann::json::parse(raised[0].evidence_json);
  EXPECT_EQ(evidence["method"], "expected-treatment-response");
  EXPECT_EQ(evidence["sessions_since_intake"], 4.0);
  EXPECT_NEAR(evidence["boundary"].get<double>(), boundary(15, 4), 1e-9);
  EXPECT_EQ(evidence["model"]["clients"], 60);
  EXPECT_EQ(evidence["model"]["fitted_at"], FormatTimestamp(model->provenance.fitted_at));
  // Back within the band: the alert resolves itself.
  ASSERT_OK(answer(6, 8));
  raised = alerts();
  ASSERT_EQ(raised.size(), 1u);
  EXPECT_EQ(raised[0].status, domain::AlertStatus::kResolved);
  EXPECT_EQ(raised[0].resolution, "condition-cleared");
}

// The dropout model: fitted on the ended episodes of a simulated organisation (where a low early
// alliance raises the chance of dropping out), stored, loaded back, and used by the
// dropout-risk signal of a new client's first check-in.
TEST_F(StoredHistory, DropoutModelOnHistoryDrivesTheSignal) {
  AddOrganisation("org-a", 30, 5);
  AddOrganisation("org-small", 1, 6);
  const std::string settings = R"({"signals": {"dropout": {"model_min_cases": 40}}})";
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return SaveOrgSettings(txn, "org-a", settings, clock_.Now());
  }));
  const Timestamp to = clock_.Now() + std::chrono::hours(1);
  std::optional<Result<stats::DropoutModel>> fitted;
  std::optional<Result<stats::DropoutModel>> small;
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    fitted = FitDropoutOnHistory(txn, catalog_, "org-a", to, clock_.Now());
    small = FitDropoutOnHistory(txn, catalog_, "org-small", to, clock_.Now());
    return Status::Ok();
  }));
  ASSERT_FALSE(small->ok());
  EXPECT_NE(small->status().message().find("needs at least 100"), std::string::npos)
      << small->status().message();
  ASSERT_OK(*fitted);
  const stats::DropoutModel& model = **fitted;
  EXPECT_GE(model.cases, 40);
  EXPECT_GT(model.dropouts, 5);
  ASSERT_EQ(model.features.front(), "first_alliance");
  EXPECT_NE(std::find(model.features.begin(), model.features.end(), "perspective_gap"),
            model.features.end());
  EXPECT_LT(model.fit.beta[1], 0) << "a higher first alliance lowers the risk";
  EXPECT_GT(model.auc, 0.6);
  EXPECT_EQ(model.fitted_at, FormatTimestamp(clock_.Now()));
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return StoreDropoutModel(txn, "org-a", model, clock_.Now());
  }));
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto loaded, LoadDropoutModel(txn, "org-a"));
    EXPECT_TRUE(loaded.has_value());
    if (loaded) {
      EXPECT_DOUBLE_EQ(loaded->fit.beta[1], model.fit.beta[1]);
    }
    RAPPORT_ASSIGN_OR_RETURN(const auto none, LoadDropoutModel(txn, "org-small"));
    EXPECT_FALSE(none.has_value());
    return Status::Ok();
  }));

  // Two new clients rate their first session: one at the bottom of the alliance scale, one at
  // the top. Only the first is flagged, by the model, with its reasons.
  const instruments::Definition* alliance = catalog_.Find("rapport-alliance-client");
  ASSERT_NE(alliance, nullptr);
  SeededRandom random(9);
  const auto first_session = [&](const std::string& who, bool low) -> Status {
    std::vector<domain::ItemAnswer> answers;
    for (const instruments::Item& item : alliance->items) {
      const double value = low ? item.options.front().value : item.options.back().value;
      answers.push_back({item.id, value});
    }
    RAPPORT_ASSIGN_OR_RETURN(const domain::Score score, instruments::Score(*alliance, answers));
    return store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({who, "org-a", who, "en", false, clock_.Now()}));
      domain::Episode episode;
      episode.id = who + "-episode";
      episode.org_id = "org-a";
      episode.clinic_id = "clinic";
      episode.client_ids = {who};
      episode.started_at = clock_.Now();
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      domain::Session session;
      session.id = who + "-session-1";
      session.org_id = "org-a";
      session.episode_id = episode.id;
      session.number = 1;
      session.scheduled_at = clock_.Now();
      session.attendance = domain::Attendance::kAttended;
      RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
      domain::Response response;
      response.id = NewId(random);
      response.org_id = "org-a";
      response.session_id = session.id;
      response.respondent_id = who;
      response.instrument_id = alliance->id;
      response.answers = answers;
      response.score = score;
      response.submitted_at = clock_.Now();
      RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
      return EvaluateAfterResponse(txn, catalog_, "org-a", session.id, clock_.Now(), random);
    });
  };
  ASSERT_OK(first_session("low", true));
  ASSERT_OK(first_session("high", false));
  const auto dropout_alerts = [&](const std::string& who) {
    std::vector<domain::Alert> out;
    EXPECT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
      storage::AlertQuery query;
      query.episode_id = who + "-episode";
      RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListAlerts("org-a", query));
      for (const domain::Alert& alert : all) {
        if (alert.kind == "dropout-risk") out.push_back(alert);
      }
      return Status::Ok();
    }));
    return out;
  };
  EXPECT_TRUE(dropout_alerts("high").empty());
  const auto low = dropout_alerts("low");
  ASSERT_EQ(low.size(), 1u);
  const nlohmann::json evidence = nlohmann::json::parse(low[0].evidence_json);
  EXPECT_EQ(evidence["method"], "model");
  EXPECT_GE(evidence["probability"].get<double>(), 0.30);
  EXPECT_EQ(evidence["contributions"][0]["feature"], "first_alliance");
  EXPECT_EQ(evidence["contributions"][0]["value"], 0.0);  // the bottom of the scale
  EXPECT_EQ(evidence["model"]["cases"], model.cases);
}

// A feature that is the same for every ended episode (here nobody ever missed a session) can
// predict nothing: it is left out and the model is fitted on the others.
TEST_F(StoredHistory, DropoutModelLeavesOutAFeatureThatNeverVaries) {
  AddOrganisation("org-a", 30, 5, /*everyone_attends=*/true);
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return SaveOrgSettings(txn, "org-a", R"({"signals": {"dropout": {"model_min_cases": 40}}})",
                           clock_.Now());
  }));
  std::optional<Result<stats::DropoutModel>> fitted;
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    fitted = FitDropoutOnHistory(txn, catalog_, "org-a", clock_.Now() + std::chrono::hours(1),
                                 clock_.Now());
    return Status::Ok();
  }));
  ASSERT_OK(*fitted);
  const std::vector<std::string>& features = (*fitted)->features;
  EXPECT_EQ(std::find(features.begin(), features.end(), "missed_sessions"), features.end());
  EXPECT_EQ(features.size(), alliance::DropoutFeatureNames().size() - 1);
}

}  // namespace
}  // namespace rapport::alerts
