// The client dashboard's expected course: the organisation's stored expected-treatment-response
// model drawn for a client's outcome ratings, conditioned on the intake (SCIENCE.md §4.3).
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
