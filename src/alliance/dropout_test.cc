// The early-session features of the dropout model, one by one, on episodes scored with the
// shipped instruments (percent of the maximum: alliance mean 0–4 → 0–100, PHQ-9 0–27 → 0–100).
#include "alliance/dropout.h"

#include <cmath>

#include "instruments/catalog.h"
#include "instruments/scoring.h"
#include "testing/testing.h"

namespace rapport::alliance {
namespace {

using domain::Attendance;
using domain::Perspective;

// "s3", "r0": built by append (g++ 12 warns falsely on "literal" + std::string at -O3).
std::string Id(const char* prefix, size_t number) {
  std::string id(prefix);
  id.append(std::to_string(number));
  return id;
}

enum Feature : size_t {
  kFirstAlliance,
  kAllianceChange,
  kIntakeSeverity,
  kOutcomeChange,
  kMissedSessions,
  kPerspectiveGap,
};

class DropoutFeaturesTest : public ::testing::Test {
 protected:
  DropoutFeaturesTest() {
    auto loaded =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (loaded.ok()) catalog_ = std::move(loaded).value();
  }

  void AddSession(int number, Attendance attendance = Attendance::kAttended) {
    domain::Session session;
    session.id = Id("s", static_cast<size_t>(number));
    session.number = number;
    session.attendance = attendance;
    history_.sessions.push_back(session);
  }

  // A response with every item of `instrument` answered `value` (PHQ-9: the first `value`
  // items 1, the rest 0).
  void Rate(int session, const std::string& instrument, double value,
            Perspective perspective = Perspective::kClient,
            const std::string& respondent = "client-1") {
    const instruments::Definition* definition = catalog_.Find(instrument);
    ASSERT_NE(definition, nullptr);
    std::vector<domain::ItemAnswer> answers;
    for (size_t i = 0; i < definition->items.size(); ++i) {
      const double answer =
          instrument == "phq-9" ? (static_cast<double>(i) < value ? 1.0 : 0.0) : value;
      answers.push_back({definition->items[i].id, answer});
    }
    auto score = instruments::Score(*definition, answers);
    ASSERT_OK(score);
    domain::Response response;
    response.id = Id("r", history_.responses.size());
    response.session_id = Id("s", static_cast<size_t>(session));
    response.respondent_id = respondent;
    response.perspective = perspective;
    response.instrument_id = instrument;
    response.answers = answers;
    response.score = *score;
    response.submitted_at = FromUnixMillis(1'700'000'000'000 + 1000 * session);
    history_.responses.push_back(response);
  }

  void ClientAlliance(int session, double value) {
    Rate(session, "rapport-alliance-client", value);
  }
  void ClinicianAlliance(int session, double value) {
    Rate(session, "rapport-alliance-clinician", value, Perspective::kClinician, "clinician-1");
  }

  std::vector<double> Features(int early_sessions = 3) {
    return DropoutFeatures(
        history_, [&](std::string_view id) { return catalog_.Find(id); }, "client-1",
        early_sessions);
  }

  instruments::Catalog catalog_;
  EpisodeHistory history_;
};

TEST_F(DropoutFeaturesTest, NamesInOrder) {
  EXPECT_EQ(DropoutFeatureNames(),
            (std::vector<std::string>{"first_alliance", "alliance_change", "intake_severity",
                                      "outcome_change", "missed_sessions", "perspective_gap"}));
}

TEST_F(DropoutFeaturesTest, EveryFeatureFromTheEarlySessionsOnly) {
  AddSession(1);
  AddSession(2, Attendance::kCancelled);
  AddSession(3);
  AddSession(4, Attendance::kNoShow);  // after the window: not counted
  ClientAlliance(1, 2);                // 50
  ClinicianAlliance(1, 3);             // 75: the clinician sees it 25 points better
  Rate(1, "phq-9", 9);                 // 9 of 27: 33.3
  ClientAlliance(3, 3);                // 75
  Rate(3, "phq-9", 6);                 // 6 of 27: 22.2
  ClientAlliance(4, 0);                // after the window
  Rate(4, "phq-9", 0);
  const std::vector<double> features = Features();
  ASSERT_EQ(features.size(), DropoutFeatureNames().size());
  EXPECT_DOUBLE_EQ(features[kFirstAlliance], 50);
  EXPECT_DOUBLE_EQ(features[kAllianceChange], 25);
  EXPECT_NEAR(features[kIntakeSeverity], 100.0 * 9 / 27, 1e-12);
  EXPECT_NEAR(features[kOutcomeChange], 100.0 * 3 / 27, 1e-12);  // improvement is positive
  EXPECT_EQ(features[kMissedSessions], 1);
  EXPECT_DOUBLE_EQ(features[kPerspectiveGap], 25);
  // A window of four sessions takes in session 4.
  const std::vector<double> longer = Features(4);
  EXPECT_DOUBLE_EQ(longer[kAllianceChange], -50);
  EXPECT_EQ(longer[kMissedSessions], 2);
}

TEST_F(DropoutFeaturesTest, WhatTheEpisodeLacksIsMissing) {
  AddSession(1);
  AddSession(2);
  ClientAlliance(2, 4);
  ClinicianAlliance(1, 2);  // no client rating in session 1: no gap
  const std::vector<double> features = Features();
  EXPECT_DOUBLE_EQ(features[kFirstAlliance], 100);
  EXPECT_TRUE(std::isnan(features[kAllianceChange]));  // one rating
  EXPECT_TRUE(std::isnan(features[kIntakeSeverity]));  // no outcome measure
  EXPECT_TRUE(std::isnan(features[kOutcomeChange]));
  EXPECT_EQ(features[kMissedSessions], 0);
  EXPECT_TRUE(std::isnan(features[kPerspectiveGap]));
  // The gap is taken at the first session both rated.
  ClinicianAlliance(2, 3);
  EXPECT_DOUBLE_EQ(Features()[kPerspectiveGap], -25);
}

TEST_F(DropoutFeaturesTest, OnlyThisClientsOwnRatingsCount) {
  AddSession(1);
  AddSession(2);
  Rate(1, "rapport-alliance-client", 1, Perspective::kClient, "client-2");  // another member
  Rate(1, "rapport-alliance-client", 1, Perspective::kCollateral, "client-1");
  ClientAlliance(2, 2);
  const std::vector<double> features = Features();
  EXPECT_DOUBLE_EQ(features[kFirstAlliance], 50);
  EXPECT_TRUE(std::isnan(features[kAllianceChange]));
}

// An outcome measure where higher is better (ORS, 0–40) is turned so that higher means more
// severe; an outcome measure is preferred to a progress check-in.
TEST_F(DropoutFeaturesTest, SeverityRunsOneWayWhateverTheInstrument) {
  AddSession(1);
  AddSession(2);
  Rate(1, "rapport-progress", 2);
  Rate(1, "ors", 5);  // total 20 of 40: severity 50
  Rate(2, "ors", 7);  // total 28: severity 30
  const std::vector<double> features = Features();
  EXPECT_NEAR(features[kIntakeSeverity], 50, 1e-12);
  EXPECT_NEAR(features[kOutcomeChange], 20, 1e-12);
}

}  // namespace
}  // namespace rapport::alliance
