// Reports built on the statistics: the client dashboard's expected course (the organisation's
// stored expected-treatment-response model drawn for a client's outcome ratings, conditioned
// on the intake; SCIENCE.md §4.3) and the supervisor's therapist report (SCIENCE.md §8).
#include <cmath>

#include "alerts/models.h"
#include "api/test_world.h"

namespace rapport::api {
namespace {

using testing_world::Json;

class Dashboard : public testing_world::World {
 protected:
  // PHQ-9 totals for the client at sessions 1, 2, 3, and one clinician rating at session 3.
  void AddRatings(const std::vector<double>& totals) {
    const testing_world::Org& org = orgs_.at("a");
    ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      for (size_t i = 0; i < totals.size(); ++i) {
        const int number = static_cast<int>(i) + 1;
        std::string session_id = org.session_id;
        if (number > 1) {
          domain::Session session;
          session.id = session_id = "session-a-" + std::to_string(number);
          session.org_id = org.id;
          session.episode_id = org.episode_id;
          session.number = number;
          session.scheduled_at = clock_.Now();
          session.attendance = domain::Attendance::kAttended;
          RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
        }
        const auto add = [&](const std::string& respondent, domain::Perspective perspective) {
          domain::Response response;
          response.id = "r-" + respondent + "-" + std::to_string(number);
          response.org_id = org.id;
          response.session_id = session_id;
          response.respondent_id = respondent;
          response.perspective = perspective;
          response.instrument_id = "phq-9";
          response.submitted_at = clock_.Now();
          response.score.total = totals[i];
          return txn.PutResponse(response);
        };
        RAPPORT_RETURN_IF_ERROR(add(org.client_id, domain::Perspective::kClient));
        if (number == 3) {
          RAPPORT_RETURN_IF_ERROR(
              add(org.users.at("clinician1").id, domain::Perspective::kClinician));
        }
      }
      return Status::Ok();
    }));
  }

  // y = 20 − 3·ln(t + 1) + b0 + b1·ln(t + 1) + e, Var(b0) = 16, Var(b1) = 1, σ² = 9.
  void StoreModel(int64_t clients) {
    stats::EtrModel model;
    model.beta = Eigen::Vector2d(20, -3);
    model.beta_se = Eigen::Vector2d(0.5, 0.2);
    model.g << 16, 0, 0, 1;
    model.sigma2 = 9;
    model.provenance.instrument_id = "phq-9";
    model.provenance.clients = clients;
    model.provenance.observations = clients * 5;
    model.provenance.fitted_at = clock_.Now();
    model.provenance.converged = true;
    ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
      return alerts::StoreEtrModel(txn, "org-a", model);
    }));
  }

  Json Get() {
    const auto [cookie, csrf] = SignIn(orgs_.at("a").users.at("clinician1"));
    const Response response =
        Send({"GET", "/api/v1/episodes/" + orgs_.at("a").episode_id + "/dashboard", "", cookie});
    EXPECT_EQ(response.status, 200) << response.body;
    return Body(response);
  }

  static const Json* Series(const Json& dashboard, const std::string& perspective) {
    for (const Json& series : dashboard["series"]) {
      if (series["instrument"] == "phq-9" && series["perspective"] == perspective) return &series;
    }
    return nullptr;
  }
};

TEST_F(Dashboard, DrawsTheExpectedCourseForTheClientsOutcomeRatings) {
  AddRatings({24, 22, 21});
  StoreModel(120);
  const Json dashboard = Get();
  const Json* client = Series(dashboard, "client");
  ASSERT_NE(client, nullptr) << dashboard.dump(2);
  ASSERT_TRUE(client->contains("expected")) << client->dump(2);
  const Json& expected = (*client)["expected"];
  EXPECT_TRUE(expected["applies"].get<bool>());
  EXPECT_EQ(expected["model_clients"], 120);
  EXPECT_EQ(expected["intake_session"], 1);
  // From the intake to four sessions past the latest rating.
  ASSERT_EQ(expected["sessions"].size(), 7u);
  EXPECT_EQ(expected["sessions"][0]["session"], 1);
  EXPECT_EQ(expected["sessions"][6]["session"], 7);
  // By hand from SCIENCE.md §4.3's conditioning on the intake y0 = 24, for a new rating at
  // t = session − 1: μ0 = 20, V0 = 16 + 9; μt = 20 − 3·f, Vt = 16 + f² + 9 with f = ln(t + 1);
  // C = Cov(y_t, y_0) = 16 (distinct occasions: no σ²); μ = μt + C/V0·(y0 − μ0),
  // V = Vt − C²/V0; p10/p90 = μ ∓ 1.2815516·√V.
  for (const int t : {0, 2, 6}) {
    const double f = std::log(t + 1.0);
    const double mean = 20 - 3 * f + 16.0 / 25.0 * 4;
    const double variance = 16 + f * f + 9 - 256.0 / 25.0;
    const Json& row = expected["sessions"][static_cast<size_t>(t)];
    EXPECT_EQ(row["session"], t + 1);
    EXPECT_NEAR(row["p50"].get<double>(), mean, 1e-6) << t;
    EXPECT_NEAR(row["p90"].get<double>(), mean + 1.2815516 * std::sqrt(variance), 1e-5) << t;
    EXPECT_NEAR(row["p10"].get<double>(), mean - 1.2815516 * std::sqrt(variance), 1e-5) << t;
    EXPECT_LT(row["p25"].get<double>(), row["p75"].get<double>());
  }

  // The clinician's ratings of the client are not the model's population.
  const Json* clinician = Series(dashboard, "clinician");
  ASSERT_NE(clinician, nullptr);
  EXPECT_FALSE(clinician->contains("expected"));
}

TEST_F(Dashboard, EachGoalCarriesItsClientsRatingsSessionBySession) {
  AddRatings({20, 18});
  const testing_world::Org& org = orgs_.at("a");
  const Timestamp now = clock_.Now();
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
    // Three goals, agreed in this order: the n-th is rated by rapport-goals' n-th item.
    for (const auto& [id, text, offset] : {std::tuple{"goal-x", "Sleep through the night", 0},
                                           {"goal-b", "Walk every day", 1},
                                           {"goal-a", "See friends", 2}}) {
      RAPPORT_RETURN_IF_ERROR(txn.PutGoal({id, org.id, org.episode_id, org.client_id, text,
                                           now + std::chrono::milliseconds(offset)}));
    }
    const auto rate = [&](const std::string& session, std::optional<double> first,
                          std::optional<double> second) {
      domain::Response response;
      response.id = "goals-" + session;
      response.org_id = org.id;
      response.session_id = session;
      response.respondent_id = org.client_id;
      response.instrument_id = "rapport-goals";
      response.submitted_at = now;
      response.answers = {{"goal-1", first}, {"goal-2", second}, {"goal-3", std::nullopt}};
      return txn.PutResponse(response);
    };
    RAPPORT_RETURN_IF_ERROR(rate(org.session_id, 2, 5));
    return rate("session-a-2", 4, std::nullopt);
  }));
  const Json dashboard = Get();
  const Json& goals = dashboard["goals"];
  ASSERT_EQ(goals.size(), 3u) << dashboard.dump(2);
  EXPECT_EQ(goals[0]["description"], "Sleep through the night");
  EXPECT_EQ(goals[0]["ratings"],
            Json::parse(R"([{"session":1,"value":2.0,"instrument":"rapport-goals"},
                            {"session":2,"value":4.0,"instrument":"rapport-goals"}])"));
  EXPECT_EQ(goals[0]["range"], Json::parse("[0.0, 10.0]"));
  ASSERT_EQ(goals[1]["ratings"].size(), 1u) << "not rated at session 2";
  EXPECT_EQ(goals[1]["ratings"][0]["value"], 5.0);
  EXPECT_TRUE(goals[2]["ratings"].empty());
  EXPECT_TRUE(goals[2]["range"].is_null());
}

TEST_F(Dashboard, SaysWhenTheModelRestsOnTooFewClientsAndIsSilentWithoutOne) {
  AddRatings({24, 22});
  EXPECT_FALSE(Series(Get(), "client")->contains("expected"));
  StoreModel(10);  // the signals need 50 by default
  const Json dashboard = Get();
  const Json* client = Series(dashboard, "client");
  ASSERT_TRUE(client != nullptr && client->contains("expected"));
  EXPECT_FALSE((*client)["expected"]["applies"].get<bool>());
  EXPECT_EQ((*client)["expected"]["model_clients"], 10);
}

}  // namespace
}  // namespace rapport::api

namespace rapport::api {
namespace {

// The supervisor's therapist report over a team of two clinicians whose clients differ.
class TherapistReport : public testing_world::World {
 protected:
  // `per_clinician` clients each for clinician 1 and 2 of organisation `org`: PHQ-9 at
  // sessions 1 and 2; clinician 2's clients improve by `gap` points more.
  void AddCases(const std::string& org_name, int per_clinician, double gap) {
    const testing_world::Org& org = orgs_.at(org_name);
    ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      for (int c = 0; c < 2 * per_clinician; ++c) {
        const bool second = c % 2 == 1;
        const std::string id = org_name + "-case-" + std::to_string(c);
        RAPPORT_RETURN_IF_ERROR(
            txn.PutClient({"client-" + id, org.id, "R-" + id, "en", true, clock_.Now()}));
        domain::Episode episode;
        episode.id = "episode-" + id;
        episode.org_id = org.id;
        episode.clinic_id = org.clinic_id;
        episode.client_ids = {"client-" + id};
        episode.clinician_ids = {org.users.at(second ? "clinician2" : "clinician1").id};
        episode.started_at = clock_.Now();
        RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
        const double intake = 14 + (c % 7);
        const double later = intake - 3 - (second ? gap : 0) + (c % 3);
        for (const int number : {1, 2}) {
          domain::Session session;
          session.id = "session-" + id + "-" + std::to_string(number);
          session.org_id = org.id;
          session.episode_id = episode.id;
          session.number = number;
          session.scheduled_at = clock_.Now();
          session.attendance = domain::Attendance::kAttended;
          RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
          domain::Response response;
          response.id = "response-" + id + "-" + std::to_string(number);
          response.org_id = org.id;
          response.session_id = session.id;
          response.respondent_id = "client-" + id;
          response.perspective = domain::Perspective::kClient;
          response.instrument_id = "phq-9";
          response.submitted_at = clock_.Now();
          response.score.total = number == 1 ? intake : later;
          RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
        }
      }
      return Status::Ok();
    }));
  }

  Response Get(const std::string& query) {
    const auto [cookie, csrf] = SignIn(orgs_.at("a").users.at("supervisor"));
    return Send({"GET", "/api/v1/reports/therapists" + query, "", cookie});
  }
};

TEST_F(TherapistReport, ShowsShrunkenEffectsOfTheTeamInCaterpillarOrder) {
  AddCases("a", 30, 6);
  AddCases("b", 30, -6);  // another organisation: never part of the report
  const Response response = Get("");
  ASSERT_EQ(response.status, 200) << response.body;
  const Json report = Body(response);
  ASSERT_TRUE(report["available"].get<bool>()) << report.dump(2);
  EXPECT_EQ(report["instrument"], "phq-9");
  EXPECT_FALSE(report["higher_is_better"].get<bool>());
  EXPECT_EQ(report["cases"], 60);
  ASSERT_EQ(report["effects"].size(), 2u);
  const Json& lowest = report["effects"][0];
  const Json& highest = report["effects"][1];
  // Clinician 2's clients end 6 points lower (better on PHQ-9) for the same intake.
  EXPECT_EQ(lowest["therapist_id"], orgs_.at("a").users.at("clinician2").id);
  EXPECT_EQ(lowest["name"], "clinician2 a");
  EXPECT_EQ(lowest["cases"], 30);
  ASSERT_TRUE(lowest["shown"].get<bool>()) << report.dump(2);
  EXPECT_LT(lowest["effect"].get<double>(), 0);
  EXPECT_LT(lowest["lower"].get<double>(), lowest["effect"].get<double>());
  EXPECT_GT(highest["effect"].get<double>(), lowest["effect"].get<double>());
  EXPECT_GT(report["icc"].get<double>(), 0);
  // Read as outcomes: lower PHQ-9 is better, so below average reads as better outcomes.
  EXPECT_EQ(lowest["classification"], "below average");
  EXPECT_EQ(lowest["reading"], "better outcomes than average");
  EXPECT_EQ(highest["reading"], "worse outcomes than average");
}

TEST_F(TherapistReport, HidesEstimatesBelowTheMinimumCaseloadAndNamesBadInput) {
  AddCases("a", 5, 6);
  const Json report = Body(Get("?instrument=phq-9"));
  ASSERT_TRUE(report["available"].get<bool>()) << report.dump(2);
  for (const Json& effect : report["effects"]) {
    EXPECT_FALSE(effect["shown"].get<bool>());
    EXPECT_FALSE(effect.contains("effect")) << "an estimate below the minimum caseload leaked";
  }
  const Response unknown = Get("?instrument=nope");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(Body(unknown)["field"], "instrument");
}

}  // namespace
}  // namespace rapport::api

namespace rapport::api {
namespace {

class Caseload : public testing_world::World {};

TEST_F(Caseload, PutsWhatNeedsAttentionFirst) {
  const testing_world::Org& org = orgs_.at("a");
  // The world's episode has a low-alliance alert; add one with none, one with a rupture and
  // one with a risk answer, in that order, for clinician 1.
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
    for (const std::string kind : {"", "rupture", "risk-item"}) {
      const std::string id = kind.empty() ? "calm" : kind;
      RAPPORT_RETURN_IF_ERROR(
          txn.PutClient({"client-" + id, org.id, "K-" + id, "en", true, clock_.Now()}));
      domain::Episode episode;
      episode.id = "episode-" + id;
      episode.org_id = org.id;
      episode.clinic_id = org.clinic_id;
      episode.client_ids = {"client-" + id};
      episode.clinician_ids = {org.users.at("clinician1").id};
      episode.started_at = clock_.Now();
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      if (kind.empty()) continue;
      domain::Alert alert;
      alert.id = "alert-" + id;
      alert.org_id = org.id;
      alert.episode_id = episode.id;
      alert.client_id = "client-" + id;
      alert.kind = kind;
      alert.severity =
          kind == "risk-item" ? domain::AlertSeverity::kUrgent : domain::AlertSeverity::kWarning;
      alert.dedupe_key = kind + ":" + id;
      alert.session_number = 1;
      alert.last_session_number = 1;
      alert.evidence_json = "{}";
      alert.created_at = alert.updated_at = clock_.Now();
      RAPPORT_RETURN_IF_ERROR(txn.PutAlert(alert));
    }
    return Status::Ok();
  }));
  const auto [cookie, csrf] = SignIn(org.users.at("clinician1"));
  const Response response = Send({"GET", "/api/v1/caseload", "", cookie});
  ASSERT_EQ(response.status, 200) << response.body;
  const Json caseload = Body(response);
  std::vector<std::string> order;
  for (const Json& episode : caseload["episodes"]) order.push_back(episode["id"]);
  EXPECT_EQ(order, (std::vector<std::string>{"episode-risk-item", "episode-rupture", org.episode_id,
                                             "episode-calm"}))
      << response.body;
}

TEST_F(Caseload, AlertsNameTheirClientByCode) {
  const testing_world::Org& org = orgs_.at("a");
  const auto [cookie, csrf] = SignIn(org.users.at("supervisor"));
  const Response listed = Send({"GET", "/api/v1/alerts", "", cookie});
  ASSERT_EQ(listed.status, 200) << listed.body;
  const Json alerts = Body(listed)["alerts"];
  ASSERT_EQ(alerts.size(), 1u) << listed.body;
  EXPECT_EQ(alerts[0]["client"], org.client_id);
  EXPECT_EQ(alerts[0]["client_code"], "C-a");
  EXPECT_EQ(alerts[0]["episode"], org.episode_id);
  EXPECT_EQ(alerts[0]["episode_clients"], Json::parse(R"([{"id": "client-a", "code": "C-a"}])"));
  // The same in one alert and in the client page's alerts.
  EXPECT_EQ(Body(Send({"GET", "/api/v1/alerts/" + org.alert_id, "", cookie}))["client_code"],
            "C-a");
  const Json dashboard =
      Body(Send({"GET", "/api/v1/episodes/" + org.episode_id + "/dashboard", "", cookie}));
  ASSERT_EQ(dashboard["alerts"].size(), 1u);
  EXPECT_EQ(dashboard["alerts"][0]["client_code"], "C-a");
  // An alert about the whole episode (no one client) has no client_code but names the clients.
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(domain::Alert alert, txn.GetAlert(org.id, org.alert_id));
    alert.id = "alert-episode";
    alert.client_id.clear();
    alert.kind = "split-alliance";
    alert.dedupe_key = "split-alliance:a";
    return txn.PutAlert(alert);
  }));
  const Json both = Body(Send({"GET", "/api/v1/alerts", "", cookie}))["alerts"];
  ASSERT_EQ(both.size(), 2u);
  for (const Json& alert : both) {
    if (alert["id"] != "alert-episode") continue;
    EXPECT_TRUE(alert["client_code"].is_null());
    EXPECT_EQ(alert["episode_clients"][0]["code"], "C-a");
  }
}

TEST_F(Caseload, AlertsCarryTheOrganisationsGuidance) {
  const testing_world::Org& org = orgs_.at("a");
  const auto [cookie, csrf] = SignIn(org.users.at("clinician1"));
  const auto guidance_ids = [&, cookie = cookie] {
    std::vector<std::string> ids;
    const Json alert = Body(Send({"GET", "/api/v1/alerts/" + org.alert_id, "", cookie}));
    for (const Json& entry : alert["guidance"]) ids.push_back(entry["id"]);
    return ids;
  };
  const std::vector<std::string> shipped = guidance_ids();
  ASSERT_NE(std::find(shipped.begin(), shipped.end(), "agree-how-to-work"), shipped.end());
  // The administrator hides one shipped entry and adds the organisation's own.
  const auto [admin_cookie, admin_csrf] = SignIn(org.users.at("admin"));
  const Response saved = Send(
      {"PUT", "/api/v1/settings",
       R"json({"guidance": {"disabled": ["agree-how-to-work"], "entries": [{"id": "our-own-check-in",
           "title": "Our own check-in", "text": "Invented guidance of the organisation.",
           "signals": ["low-alliance"], "sources": ["Invented Clinic (2026). Our own check-ins. Practice note."]}]}})json",
       admin_cookie, admin_csrf});
  ASSERT_EQ(saved.status, 200) << saved.body;
  const std::vector<std::string> now = guidance_ids();
  EXPECT_EQ(std::find(now.begin(), now.end(), "agree-how-to-work"), now.end());
  EXPECT_NE(std::find(now.begin(), now.end(), "our-own-check-in"), now.end());
  // The library lists the hidden entry as hidden; the other organisation is unchanged.
  const Json library = Body(Send({"GET", "/api/v1/guidance", "", admin_cookie}));
  bool found = false;
  for (const Json& entry : library["shipped"]) {
    if (entry["id"] == "agree-how-to-work") {
      found = true;
      EXPECT_EQ(entry["hidden"], true);
      EXPECT_EQ(entry["replaced"], false);
      EXPECT_FALSE(entry["signals"].empty());
    }
  }
  EXPECT_TRUE(found);
  EXPECT_NE(std::find(library["signals"].begin(), library["signals"].end(), "rupture"),
            library["signals"].end());
  const testing_world::Org& other = orgs_.at("b");
  const auto [b_cookie, b_csrf] = SignIn(other.users.at("clinician1"));
  const Json b_alert = Body(Send({"GET", "/api/v1/alerts/" + other.alert_id, "", b_cookie}));
  EXPECT_EQ(b_alert["guidance"].size(), shipped.size());
}

}  // namespace
}  // namespace rapport::api

namespace rapport::api {
namespace {

class OutcomesReport : public testing_world::World {
 protected:
  // An episode of clinician 1 in organisation a with client ratings of each instrument at
  // sessions 1, 2, ...; ended or ongoing.
  void AddEpisode(const std::string& id, bool ended,
                  const std::map<std::string, std::vector<double>>& ratings) {
    const testing_world::Org& org = orgs_.at("a");
    ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(
          txn.PutClient({"client-" + id, org.id, "O-" + id, "en", true, clock_.Now()}));
      domain::Episode episode;
      episode.id = "episode-" + id;
      episode.org_id = org.id;
      episode.clinic_id = org.clinic_id;
      episode.client_ids = {"client-" + id};
      episode.clinician_ids = {org.users.at("clinician1").id};
      episode.started_at = clock_.Now();
      if (ended) {
        episode.ended_at = clock_.Now() + std::chrono::hours(24 * 70);
        episode.end_reason = domain::EndReason::kCompleted;
      }
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      size_t sessions = 0;
      for (const auto& [instrument, totals] : ratings) sessions = std::max(sessions, totals.size());
      for (size_t n = 1; n <= sessions; ++n) {
        domain::Session session;
        session.id = "session-" + id + "-" + std::to_string(n);
        session.org_id = org.id;
        session.episode_id = episode.id;
        session.number = static_cast<int>(n);
        session.scheduled_at = clock_.Now();
        session.attendance = domain::Attendance::kAttended;
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
        for (const auto& [instrument, totals] : ratings) {
          if (n > totals.size()) continue;
          domain::Response response;
          response.id = "response-" + id + "-" + instrument + "-" + std::to_string(n);
          response.org_id = org.id;
          response.session_id = session.id;
          response.respondent_id = "client-" + id;
          response.perspective = domain::Perspective::kClient;
          response.instrument_id = instrument;
          response.submitted_at = clock_.Now();
          response.score.total = totals[n - 1];
          RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
        }
      }
      return Status::Ok();
    }));
  }
};

TEST_F(OutcomesReport, CountsNhsTalkingTherapiesOutcomesOfEndedEpisodes) {
  AddEpisode("recovered", true, {{"phq-9", {15, 9, 5}}, {"gad-7", {12, 4}}});
  AddEpisode("worse", true, {{"phq-9", {8, 14}}, {"gad-7", {5, 6}}});  // not a case at start
  AddEpisode("same", true, {{"phq-9", {12, 10}}, {"gad-7", {9, 9}}});
  AddEpisode("ongoing", false, {{"phq-9", {20, 2}}, {"gad-7", {15, 1}}});
  AddEpisode("one-session", true, {{"phq-9", {20}}, {"gad-7", {15}}});
  AddEpisode("no-anxiety", true, {{"phq-9", {20, 3}}});
  const auto [cookie, csrf] = SignIn(orgs_.at("a").users.at("supervisor"));
  const Response response = Send({"GET", "/api/v1/reports/outcomes", "", cookie});
  ASSERT_EQ(response.status, 200) << response.body;
  const Json report = Body(response);
  EXPECT_EQ(report["ended_episodes"], 5);
  EXPECT_EQ(report["finished_treatment"], 3);
  EXPECT_EQ(report["at_caseness"], 2);
  EXPECT_EQ(report["recovered"], 1);
  EXPECT_DOUBLE_EQ(report["recovery_rate"].get<double>(), 0.5);
  EXPECT_EQ(report["reliable_improvement"], 1);
  EXPECT_DOUBLE_EQ(report["reliable_improvement_rate"].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(report["reliable_recovery"], 1);
  EXPECT_EQ(report["reliable_deterioration"], 1);

  // A clinician is not given the team's report.
  const auto [clinician, token] = SignIn(orgs_.at("a").users.at("clinician1"));
  EXPECT_EQ(Send({"GET", "/api/v1/reports/outcomes", "", clinician}).status, 403);
}

}  // namespace
}  // namespace rapport::api
