// Alerts evaluated inside a write transaction against a real store, as CheckinService does.
#include "alerts/alerts.h"

#include "base/id.h"
#include "instruments/scoring.h"
#include "testing/testing.h"

namespace rapport::alerts {
namespace {

using domain::AlertSeverity;
using domain::AlertStatus;

class StoredAlerts : public ::testing::Test {
 protected:
  StoredAlerts() {
    auto catalog =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    if (catalog.ok()) catalog_ = std::move(catalog).value();
    auto store = storage::OpenStore("sqlite:" + (dir_.path() / "r.db").string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (store.ok()) store_ = std::move(store).value();
    const Timestamp now = clock_.Now();
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org", "Org", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic", "org", "Main"}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({"client", "org", "C-1", "en", false, now}));
      domain::Episode episode;
      episode.id = "episode";
      episode.org_id = "org";
      episode.clinic_id = "clinic";
      episode.client_ids = {"client"};
      episode.started_at = now;
      return txn.PutEpisode(episode);
    }));
  }

  // Stores session `number` (if new) and a client response to `instrument`, then evaluates.
  void Answer(int number, const std::string& instrument, const std::vector<double>& values) {
    const instruments::Definition* definition = catalog_.Find(instrument);
    ASSERT_NE(definition, nullptr);
    std::vector<domain::ItemAnswer> answers;
    for (size_t i = 0; i < values.size(); ++i) {
      answers.push_back({definition->items[i].id, values[i]});
    }
    auto score = instruments::Score(*definition, answers);
    ASSERT_OK(score);
    clock_.Advance(std::chrono::hours(24 * 7));
    ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      const std::string session_id = "session-" + std::to_string(number);
      if (!txn.GetSession("org", session_id).ok()) {
        domain::Session session;
        session.id = session_id;
        session.org_id = "org";
        session.episode_id = "episode";
        session.number = number;
        session.scheduled_at = clock_.Now();
        session.attendance = domain::Attendance::kAttended;
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
      }
      domain::Response response;
      response.id = NewId(random_);
      response.org_id = "org";
      response.session_id = session_id;
      response.respondent_id = "client";
      response.instrument_id = instrument;
      response.answers = answers;
      response.score = *score;
      response.submitted_at = clock_.Now();
      RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
      return EvaluateAfterResponse(txn, catalog_, "org", session_id, clock_.Now(), random_);
    }));
  }

  void Alliance(int session, double value) {
    Answer(session, "rapport-alliance-client", std::vector<double>(7, value));
  }

  std::vector<domain::Alert> Alerts(const std::string& kind) {
    std::vector<domain::Alert> out;
    EXPECT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListAlerts("org", {}));
      for (const auto& a : all) {
        if (a.kind == kind) out.push_back(a);
      }
      return Status::Ok();
    }));
    return out;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  SeededRandom random_{7};
  instruments::Catalog catalog_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(StoredAlerts, ARuptureRaisesOneAlertAndItsRepairResolvesIt) {
  Alliance(1, 4);
  Alliance(2, 4);
  EXPECT_TRUE(Alerts("rupture").empty());
  Alliance(3, 2);
  auto ruptures = Alerts("rupture");
  ASSERT_EQ(ruptures.size(), 1u);
  EXPECT_EQ(ruptures[0].status, AlertStatus::kOpen);
  EXPECT_EQ(ruptures[0].session_number, 3);
  Alliance(4, 2);  // still open, merged, not duplicated
  ruptures = Alerts("rupture");
  ASSERT_EQ(ruptures.size(), 1u);
  EXPECT_EQ(ruptures[0].status, AlertStatus::kOpen);
  Alliance(5, 4);  // back to the level within K = 3: repaired
  ruptures = Alerts("rupture");
  ASSERT_EQ(ruptures.size(), 1u);
  EXPECT_EQ(ruptures[0].status, AlertStatus::kResolved);
  EXPECT_EQ(ruptures[0].resolution, "repaired");
  EXPECT_EQ(ruptures[0].resolved_by, "rapport");
  // Low alliance at sessions 3–4 cleared by session 5.
  const auto low = Alerts("low-alliance");
  ASSERT_EQ(low.size(), 1u);
  EXPECT_EQ(low[0].resolution, "condition-cleared");
}

TEST_F(StoredAlerts, RiskItemIsUrgentAndStaysUntilStaffResolveIt) {
  Answer(1, "phq-9", {1, 1, 1, 1, 1, 1, 1, 1, 2});
  auto risk = Alerts("risk-item");
  ASSERT_EQ(risk.size(), 1u);
  EXPECT_EQ(risk[0].severity, AlertSeverity::kUrgent);
  Answer(2, "phq-9", {0, 0, 0, 0, 0, 0, 0, 0, 0});
  risk = Alerts("risk-item");
  ASSERT_EQ(risk.size(), 1u);
  EXPECT_EQ(risk[0].status, AlertStatus::kOpen) << "a risk alert never clears by itself";
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(AcknowledgeAlert(txn, "org", risk[0].id, "clinician", clock_.Now()));
    RAPPORT_RETURN_IF_ERROR(AddRepairNote(txn, "org", risk[0].id, "clinician",
                                          "Phoned the client; safety plan reviewed.", true,
                                          clock_.Now(), random_)
                                .status());
    return ResolveAlert(txn, "org", risk[0].id, "clinician", clock_.Now());
  }));
  risk = Alerts("risk-item");
  EXPECT_EQ(risk[0].status, AlertStatus::kResolved);
  EXPECT_EQ(risk[0].acknowledged_by, "clinician");
  EXPECT_EQ(risk[0].resolution, "staff");
  Answer(3, "phq-9", {0, 0, 0, 0, 0, 0, 0, 0, 1});  // a new answer raises a new alert
  EXPECT_EQ(Alerts("risk-item").size(), 2u);
}

TEST_F(StoredAlerts, OrganisationSettingsChangeTheRulesAndAreValidated) {
  EXPECT_EQ(store_
                ->Write([&](storage::WriteTransaction& txn) {
                  return SaveOrgSettings(txn, "org", R"({"signals": {"rupture": {"window": 0}}})",
                                         clock_.Now());
                })
                .field(),
            "signals.rupture.window");
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return SaveOrgSettings(txn, "org",
                           R"({"safety_text": "Ring the duty line.",
            "signals": {"rupture": {"threshold": {"rapport-alliance-client": 2.5}}}})",
                           clock_.Now());
  }));
  Alliance(1, 4);
  Alliance(2, 2);  // a drop of 2 < 2.5: no rupture under this organisation's threshold
  EXPECT_TRUE(Alerts("rupture").empty());
  Answer(3, "phq-9", {0, 0, 0, 0, 0, 0, 0, 0, 1});
  const auto risk = Alerts("risk-item");
  ASSERT_EQ(risk.size(), 1u);
  EXPECT_NE(risk[0].evidence_json.find("Ring the duty line."), std::string::npos);
}

TEST_F(StoredAlerts, InvalidStoredSettingsFallBackToDefaultsSoRiskIsNeverMissed) {
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return txn.PutOrgSettings("org", "{\"signals\": 3}", clock_.Now());
  }));
  Answer(1, "phq-9", {0, 0, 0, 0, 0, 0, 0, 0, 3});
  EXPECT_EQ(Alerts("risk-item").size(), 1u);
}

TEST_F(StoredAlerts, RepairNotesNeedTextAndAuthor) {
  Answer(1, "phq-9", {0, 0, 0, 0, 0, 0, 0, 0, 1});
  const std::string id = Alerts("risk-item")[0].id;
  EXPECT_EQ(
      store_
          ->Write([&](storage::WriteTransaction& txn) {
            return AddRepairNote(txn, "org", id, "c", "  ", false, clock_.Now(), random_).status();
          })
          .field(),
      "text");
  EXPECT_EQ(store_
                ->Write([&](storage::WriteTransaction& txn) {
                  return AddRepairNote(txn, "org", "nope", "c", "x", false, clock_.Now(), random_)
                      .status();
                })
                .code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace rapport::alerts
