#include "sim/cohort.h"

#include <map>
#include <set>

#include "testing/testing.h"

namespace rapport::sim {
namespace {

class CohortTest : public ::testing::Test {
 protected:
  CohortTest() {
    auto loaded =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) catalog_ = std::move(loaded).value();
    options_.seed = 7;
    options_.org_id = "org";
    options_.clinic_id = "clinic";
    options_.clinician_ids = {"u1", "u2", "u3"};
    options_.clients_per_clinician = 20;
    options_.end = FromUnixMillis(1'795'000'000'000);
  }
  instruments::Catalog catalog_;
  CohortOptions options_;
};

TEST_F(CohortTest, SameSeedSameCohort) {
  const auto a = GenerateCohort(options_, catalog_);
  const auto b = GenerateCohort(options_, catalog_);
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_EQ(a->responses.size(), b->responses.size());
  for (size_t i = 0; i < a->responses.size(); ++i) {
    EXPECT_EQ(a->responses[i].id, b->responses[i].id);
    EXPECT_EQ(a->responses[i].answers, b->responses[i].answers);
  }
  options_.seed = 8;
  const auto c = GenerateCohort(options_, catalog_);
  ASSERT_OK(c);
  EXPECT_NE(a->clients[0].id, c->clients[0].id);
}

TEST_F(CohortTest, HasPlausibleStructure) {
  const auto cohort = GenerateCohort(options_, catalog_);
  ASSERT_OK(cohort);
  EXPECT_EQ(cohort->clients.size(), 60u);
  EXPECT_EQ(cohort->episodes.size(), 60u);
  int ruptures = 0, dropouts = 0;
  for (const ClientTruth& truth : cohort->truth) {
    ruptures += truth.ruptured;
    dropouts += truth.dropped_out;
  }
  EXPECT_GT(ruptures, 5);
  EXPECT_GT(dropouts, 2);
  std::set<std::string> session_ids;
  for (const auto& session : cohort->sessions) {
    EXPECT_LE(session.scheduled_at, options_.end);
    EXPECT_TRUE(session_ids.insert(session.id).second);
  }
  for (const auto& response : cohort->responses) {
    EXPECT_TRUE(session_ids.contains(response.session_id));
    EXPECT_EQ(response.score.instrument_id, response.instrument_id);
  }
}

TEST_F(CohortTest, CliniciansRateTheAllianceHigherOnAverage) {
  const auto cohort = GenerateCohort(options_, catalog_);
  ASSERT_OK(cohort);
  double client_sum = 0, clinician_sum = 0;
  int client_n = 0, clinician_n = 0;
  for (const auto& response : cohort->responses) {
    if (!response.score.total) continue;
    if (response.instrument_id == "rapport-alliance-client") {
      client_sum += *response.score.total;
      ++client_n;
    } else if (response.instrument_id == "rapport-alliance-clinician") {
      clinician_sum += *response.score.total;
      ++clinician_n;
    }
  }
  ASSERT_GT(client_n, 100);
  EXPECT_GT(clinician_sum / clinician_n, client_sum / client_n);
}

TEST_F(CohortTest, PlantedTherapistEffectsMoveTheOutcomesNotTheAlliance) {
  const auto plain = GenerateCohort(options_, catalog_);
  options_.therapist_effects = {-4, 0, 4};
  const auto planted = GenerateCohort(options_, catalog_);
  ASSERT_OK(plain);
  ASSERT_OK(planted);
  ASSERT_EQ(plain->responses.size(), planted->responses.size());
  // Same clients, sessions, intakes and alliance ratings; later PHQ-9 totals (and the progress
  // and GAD-7 ratings that follow them) lower under the first clinician and higher under the
  // third, on average.
  std::map<std::string, std::string> clinician_of;
  for (const auto& episode : plain->episodes) clinician_of[episode.id] = episode.clinician_ids[0];
  std::map<std::string, std::pair<std::string, int>> session_of;  // → (clinician, number)
  for (const auto& session : plain->sessions) {
    session_of[session.id] = {clinician_of[session.episode_id], session.number};
  }
  std::map<std::string, double> shift;
  std::map<std::string, int> count;
  for (size_t i = 0; i < plain->responses.size(); ++i) {
    const auto& before = plain->responses[i];
    const auto& after = planted->responses[i];
    ASSERT_EQ(before.session_id, after.session_id);
    const auto& [clinician, number] = session_of[before.session_id];
    if (before.instrument_id.starts_with("rapport-alliance") || number == 1) {
      EXPECT_EQ(before.answers, after.answers) << before.instrument_id;
    }
    if (before.instrument_id != "phq-9" || number < 5) continue;
    shift[clinician] += *after.score.total - *before.score.total;
    ++count[clinician];
  }
  ASSERT_GT(count["u1"], 0);
  ASSERT_GT(count["u3"], 0);
  EXPECT_LT(shift["u1"] / count["u1"], -2.0);
  EXPECT_NEAR(shift["u2"] / count["u2"], 0.0, 1e-9);
  EXPECT_GT(shift["u3"] / count["u3"], 2.0);
  options_.therapist_effects = {1};
  EXPECT_EQ(GenerateCohort(options_, catalog_).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CohortTest, ClientsRateTheirAgreedGoalsMostRisingSomeStalling) {
  const auto cohort = GenerateCohort(options_, catalog_);
  ASSERT_OK(cohort);
  std::map<std::string, int> goals_of;  // client → goals
  for (const domain::Goal& goal : cohort->goals) {
    ++goals_of[goal.client_id];
    EXPECT_FALSE(goal.description.empty());
  }
  EXPECT_EQ(goals_of.size(), cohort->clients.size()) << "every client agrees a goal";
  int rising = 0;
  int flat_or_falling = 0;
  std::map<std::pair<std::string, std::string>, std::vector<double>> ratings;  // (client, item)
  for (const domain::Response& response : cohort->responses) {
    if (response.instrument_id != "rapport-goals") continue;
    int answered = 0;
    for (const domain::ItemAnswer& answer : response.answers) {
      if (!answer.value) continue;
      ++answered;
      EXPECT_GE(*answer.value, 0);
      EXPECT_LE(*answer.value, 10);
      ratings[{response.respondent_id, answer.item_id}].push_back(*answer.value);
    }
    // One rating per agreed goal, in the goals' order (goal-1 for the first).
    EXPECT_EQ(answered, goals_of[response.respondent_id]);
    EXPECT_TRUE(response.score.total.has_value());
  }
  for (const auto& [key, values] : ratings) {
    if (values.size() < 6) continue;
    (values.back() - values.front() >= 2 ? rising : flat_or_falling) += 1;
  }
  EXPECT_GT(rising, 2 * flat_or_falling);
  EXPECT_GT(flat_or_falling, 0);
}

TEST_F(CohortTest, NeedsClinicians) {
  options_.clinician_ids.clear();
  EXPECT_EQ(GenerateCohort(options_, catalog_).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rapport::sim
