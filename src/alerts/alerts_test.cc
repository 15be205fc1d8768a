// Alerts evaluated inside a write transaction against a real store, as CheckinService does.
#include "alerts/alerts.h"

#include <algorithm>
#include <random>
#include <tuple>

#include "alerts/models.h"
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

// Signals evaluated from a snapshot and checked in the write (PrepareEvaluation, IsCurrent,
// ApplyEvaluation), against the same answers evaluated inside the write
// (EvaluateAfterResponse) on a second store: the alerts must be the same.
// The alerts a write leaves, worked out in memory, are those the store lists after it: over
// random alerts whose creation times often tie, updated (severity, status, sessions) and
// joined by new ones, as Reconcile's changes are.
TEST_F(StoredAlerts, AlertsAfterChangesAreThoseTheStoreLists) {
  SeededRandom random(11);
  const auto pick = [&](int n) { return static_cast<int>(random.UniformInt(0, n - 1)); };
  const auto make_alert = [&](int created_minute) {
    domain::Alert alert;
    alert.id = NewId(random);
    alert.org_id = "org";
    alert.episode_id = "episode";
    alert.client_id = "client";
    alert.kind = pick(2) == 0 ? "rupture" : "low-alliance";
    alert.dedupe_key = alert.kind + "/" + alert.id;
    alert.severity = static_cast<AlertSeverity>(pick(3));
    alert.session_number = 1 + pick(5);
    alert.last_session_number = alert.session_number;
    alert.evidence_json = "{}";
    alert.created_at = FromUnixMillis(1'700'000'000'000 + 60'000 * created_minute);
    alert.updated_at = alert.created_at;
    return alert;
  };
  int settled = 0;
  int unsettled = 0;
  for (int round = 0; round < 100; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Each round adds alerts to the episode, created in the same millisecond as those of the
    // evaluation they came from.
    std::vector<domain::Alert> before;
    ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      for (int i = pick(4); i > 0; --i) {
        RAPPORT_RETURN_IF_ERROR(txn.PutAlert(make_alert(round)));
      }
      storage::AlertQuery query;
      query.episode_id = "episode";
      RAPPORT_ASSIGN_OR_RETURN(before, txn.ListAlerts("org", query));
      return Status::Ok();
    }));
    std::vector<alliance::AlertChange> changes;
    bool severity_moved = false;
    for (const domain::Alert& listed : before) {
      // The recent alerts are the active ones, which evaluations update.
      if (listed.created_at < make_alert(round - 3).created_at || pick(2) != 0) continue;
      domain::Alert alert = listed;
      if (pick(4) == 0) {
        alert.severity = static_cast<AlertSeverity>(pick(3));
        severity_moved = severity_moved || alert.severity != listed.severity;
      }
      if (pick(2) == 0) alert.status = domain::AlertStatus::kResolved;
      alert.last_session_number += 1;
      alert.occurrences += 1;
      changes.push_back({alert, false});
    }
    std::shuffle(changes.begin(), changes.end(), std::mt19937(static_cast<unsigned>(round)));
    for (int i = pick(3); i > 0; --i) changes.push_back({make_alert(round), true});

    const std::optional<std::vector<domain::Alert>> after = AlertsAfter(before, changes);
    std::vector<domain::Alert> stored;
    ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      for (const alliance::AlertChange& change : changes) {
        RAPPORT_RETURN_IF_ERROR(change.is_new ? txn.PutAlert(change.alert)
                                              : txn.UpdateAlert(change.alert));
      }
      storage::AlertQuery query;
      query.episode_id = "episode";
      RAPPORT_ASSIGN_OR_RETURN(stored, txn.ListAlerts("org", query));
      return Status::Ok();
    }));
    if (after) {
      ++settled;
      EXPECT_EQ(*after, stored);
    } else {
      ++unsettled;
      // Only a changed severity can leave the order to the store.
      EXPECT_TRUE(severity_moved);
    }
  }
  // Most rounds are settled in memory; the ties the store alone can order do occur.
  EXPECT_GT(settled, 50);
  EXPECT_GT(unsettled, 0);

  // An update to an alert that was not listed.
  domain::Alert unknown = make_alert(0);
  EXPECT_FALSE(AlertsAfter({}, std::vector<alliance::AlertChange>{{unknown, false}}));
}

class PreparedAlerts : public ::testing::Test {
 protected:
  PreparedAlerts() {
    auto catalog =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    if (catalog.ok()) catalog_ = std::move(catalog).value();
    serial_ = MakeStore("serial.db");
    prepared_ = MakeStore("prepared.db");
  }

  std::unique_ptr<storage::Store> MakeStore(const std::string& name) {
    auto opened = storage::OpenStore("sqlite:" + (dir_.path() / name).string());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return nullptr;
    std::unique_ptr<storage::Store> store = std::move(opened).value();
    const Timestamp now = clock_.Now();
    EXPECT_OK(store->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org", "Org", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic", "org", "Main"}));
      for (const char* id : {"client", "other-client"}) {
        RAPPORT_RETURN_IF_ERROR(txn.PutClient({id, "org", id, "en", false, now}));
      }
      for (const char* id : {"episode", "other-episode"}) {
        domain::Episode episode;
        episode.id = id;
        episode.org_id = "org";
        episode.clinic_id = "clinic";
        episode.client_ids = {std::string(id) == "episode" ? "client" : "other-client"};
        episode.started_at = now;
        RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      }
      return Status::Ok();
    }));
    return store;
  }

  // Adds session `number` of `episode` to both stores, a week after the last.
  void AddSession(int number, const std::string& episode = "episode") {
    clock_.Advance(std::chrono::hours(24 * 7));
    for (storage::Store* store : {serial_.get(), prepared_.get()}) {
      ASSERT_OK(store->Write([&](storage::WriteTransaction& txn) {
        domain::Session session;
        session.id = episode + "-session-" + std::to_string(number);
        session.org_id = "org";
        session.episode_id = episode;
        session.number = number;
        session.scheduled_at = clock_.Now();
        session.attendance = domain::Attendance::kAttended;
        return txn.PutSession(session);
      }));
    }
  }

  domain::Response MakeResponse(int number, const std::string& instrument,
                                const std::vector<double>& values,
                                const std::string& episode = "episode") {
    const instruments::Definition* definition = catalog_.Find(instrument);
    EXPECT_NE(definition, nullptr);
    domain::Response response;
    response.id = NewId(random_);
    response.org_id = "org";
    response.session_id = episode + "-session-" + std::to_string(number);
    response.respondent_id = episode == "episode" ? "client" : "other-client";
    response.instrument_id = instrument;
    for (size_t i = 0; definition != nullptr && i < values.size(); ++i) {
      response.answers.push_back({definition->items[i].id, values[i]});
    }
    if (definition != nullptr) {
      auto score = instruments::Score(*definition, response.answers);
      EXPECT_OK(score);
      if (score.ok()) response.score = *score;
    }
    response.submitted_at = clock_.Now();
    return response;
  }

  // The serial way: store and evaluate inside one write.
  void StoreSerially(storage::Store& store, const domain::Response& response) {
    ASSERT_OK(store.Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
      return EvaluateAfterResponse(txn, catalog_, "org", response.session_id, clock_.Now(),
                                   random_);
    }));
  }

  PreparedEvaluation Prepare(storage::Store& store, const domain::Response& response) {
    std::optional<SignalInputs> inputs;
    EXPECT_OK(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(
          inputs, ReadSignalInputs(txn, catalog_, "org", response.session_id, {&response, 1}));
      return Status::Ok();
    }));
    if (!inputs) return {};
    return PrepareEvaluation(std::move(*inputs), catalog_, {&response, 1}, clock_.Now(), random_);
  }

  // The optimistic way: store and apply what was prepared; returns IsCurrent's answer.
  bool StorePrepared(storage::Store& store, const domain::Response& response,
                     const PreparedEvaluation& prepared) {
    bool current = false;
    EXPECT_OK(store.Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(current, IsCurrent(txn, prepared));
      RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
      return ApplyEvaluation(txn, catalog_, prepared, current, clock_.Now(), random_);
    }));
    return current;
  }

  // One answer both ways; the prepared evaluation must still be current.
  void Answer(int number, const std::string& instrument, const std::vector<double>& values) {
    const domain::Response response = MakeResponse(number, instrument, values);
    StoreSerially(*serial_, response);
    EXPECT_TRUE(StorePrepared(*prepared_, response, Prepare(*prepared_, response)));
  }

  void Alliance(int number, double value) {
    Answer(number, "rapport-alliance-client", std::vector<double>(7, value));
  }

  // Every alert of the organisation without its id (ids are random), in a fixed order.
  static std::vector<domain::Alert> Alerts(storage::Store& store) {
    std::vector<domain::Alert> out;
    EXPECT_OK(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(out, txn.ListAlerts("org", {}));
      return Status::Ok();
    }));
    for (domain::Alert& alert : out) alert.id.clear();
    std::sort(out.begin(), out.end(), [](const domain::Alert& a, const domain::Alert& b) {
      return std::tie(a.episode_id, a.dedupe_key, a.created_at, a.session_number) <
             std::tie(b.episode_id, b.dedupe_key, b.created_at, b.session_number);
    });
    return out;
  }

  void ExpectSameAlerts() {
    const auto serial = Alerts(*serial_);
    EXPECT_EQ(Alerts(*prepared_), serial);
  }

  // Runs `work` on both stores.
  void WriteBoth(const std::function<Status(storage::WriteTransaction&)>& work) {
    ASSERT_OK(serial_->Write(work));
    ASSERT_OK(prepared_->Write(work));
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  SeededRandom random_{17};
  instruments::Catalog catalog_;
  std::unique_ptr<storage::Store> serial_;
  std::unique_ptr<storage::Store> prepared_;
};

TEST_F(PreparedAlerts, EqualEvaluatingInsideTheWriteOverACourseOfTherapy) {
  // Ruptures and their repair, low alliance, a risk answer and falling outcomes, with staff
  // acknowledging an alert on the way.
  const double alliance[] = {4, 4, 2, 2, 4, 3, 1, 1, 4, 4, 4, 2};
  const std::vector<std::vector<double>> phq = {
      {1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 2, 2, 2, 2, 2, 2, 2, 0}, {2, 2, 2, 2, 2, 2, 2, 2, 1},
      {3, 3, 3, 3, 3, 3, 3, 3, 0}, {3, 3, 3, 3, 3, 3, 2, 2, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0}};
  for (int number = 1; number <= 12; ++number) {
    AddSession(number);
    Alliance(number, alliance[number - 1]);
    if (number % 2 == 0) Answer(number, "phq-9", phq[static_cast<size_t>(number / 2 - 1)]);
    ExpectSameAlerts();
    if (number == 4) {
      // Staff acknowledge the same alert (by key) in both stores.
      for (storage::Store* store : {serial_.get(), prepared_.get()}) {
        ASSERT_OK(store->Write([&](storage::WriteTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListAlerts("org", {}));
          for (const domain::Alert& alert : all) {
            if (alert.kind == "risk-item" && alert.status == domain::AlertStatus::kOpen) {
              return AcknowledgeAlert(txn, "org", alert.id, "clinician", clock_.Now());
            }
          }
          return Status::Ok();
        }));
      }
    }
  }
  EXPECT_FALSE(Alerts(*serial_).empty());
}

// Two submissions to one episode prepared from the same snapshot: the first still holds when
// written, the second does not and is evaluated again in its write, so the result equals
// evaluating them one after the other.
TEST_F(PreparedAlerts, RacingSubmissionsToOneEpisodeEqualEvaluatingThemSerially) {
  for (int number = 1; number <= 4; ++number) AddSession(number);
  Alliance(1, 4);
  Alliance(2, 4);
  const domain::Response first = MakeResponse(3, "rapport-alliance-client", {2, 2, 2, 2, 2, 2, 2});
  const domain::Response second = MakeResponse(4, "rapport-alliance-client", {2, 2, 2, 2, 2, 2, 2});
  StoreSerially(*serial_, first);
  StoreSerially(*serial_, second);

  const PreparedEvaluation prepared_first = Prepare(*prepared_, first);
  const PreparedEvaluation prepared_second = Prepare(*prepared_, second);
  // Without the first response, the second looks like a new rupture at session 4.
  EXPECT_TRUE(std::any_of(prepared_second.changes.begin(), prepared_second.changes.end(),
                          [](const alliance::AlertChange& change) {
                            return change.is_new && change.alert.kind == "rupture" &&
                                   change.alert.session_number == 4;
                          }));
  EXPECT_TRUE(StorePrepared(*prepared_, first, prepared_first));
  EXPECT_FALSE(StorePrepared(*prepared_, second, prepared_second));
  ExpectSameAlerts();
  std::vector<domain::Alert> ruptures;
  for (const domain::Alert& alert : Alerts(*prepared_)) {
    if (alert.kind == "rupture") ruptures.push_back(alert);
  }
  ASSERT_EQ(ruptures.size(), 1u);
  EXPECT_EQ(ruptures[0].session_number, 3);
  EXPECT_EQ(ruptures[0].last_session_number, 4);
}

// Whatever the evaluation read and a concurrent write changes makes it stale; writes to
// another episode do not.
TEST_F(PreparedAlerts, AnyChangeToWhatWasReadMakesThePreparedEvaluationStale) {
  for (int number = 1; number <= 3; ++number) AddSession(number);
  AddSession(1, "other-episode");
  Alliance(1, 4);
  Answer(2, "phq-9", {0, 0, 0, 0, 0, 0, 0, 0, 2});  // a risk alert to acknowledge
  const domain::Response response = MakeResponse(3, "phq-9", {1, 1, 1, 1, 1, 1, 1, 1, 0});
  const auto stale_after = [&](const std::string& what,
                               const std::function<Status(storage::WriteTransaction&)>& change) {
    // A fresh store each time, with the same history as the prepared one.
    SCOPED_TRACE(what);
    const PreparedEvaluation prepared = Prepare(*prepared_, response);
    bool current = true;
    // Rolled back afterwards (an error), so every case starts from the same state.
    const Status status = prepared_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(change(txn));
      RAPPORT_ASSIGN_OR_RETURN(current, IsCurrent(txn, prepared));
      return InvalidArgument("roll back");
    });
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    return !current;
  };
  EXPECT_FALSE(stale_after("nothing", [](storage::WriteTransaction&) { return Status::Ok(); }));
  EXPECT_FALSE(stale_after("another episode", [&](storage::WriteTransaction& txn) {
    return txn.PutResponse(MakeResponse(1, "phq-9", {3, 3, 3, 3, 3, 3, 3, 3, 3}, "other-episode"));
  }));
  EXPECT_TRUE(stale_after("a response", [&](storage::WriteTransaction& txn) {
    return txn.PutResponse(MakeResponse(2, "rapport-alliance-client", std::vector<double>(7, 1)));
  }));
  EXPECT_TRUE(stale_after("an acknowledged alert", [&](storage::WriteTransaction& txn) -> Status {
    storage::AlertQuery query;
    query.episode_id = "episode";
    RAPPORT_ASSIGN_OR_RETURN(const auto alerts, txn.ListAlerts("org", query));
    if (alerts.empty()) return Internal("no alert");
    return AcknowledgeAlert(txn, "org", alerts[0].id, "clinician", clock_.Now());
  }));
  EXPECT_TRUE(stale_after("attendance", [&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(domain::Session session, txn.GetSession("org", "episode-session-1"));
    session.attendance = domain::Attendance::kNoShow;
    return txn.UpdateSession(session);
  }));
  EXPECT_TRUE(stale_after("settings", [&](storage::WriteTransaction& txn) {
    return SaveOrgSettings(txn, "org", R"({"safety_text": "Ring the duty line."})", clock_.Now());
  }));
  EXPECT_TRUE(stale_after("a dropout model", [&](storage::WriteTransaction& txn) {
    return txn.PutFittedModel({"org", std::string(kDropoutModelKind), "", "{}", clock_.Now(),
                               std::nullopt, std::nullopt, 1, 1, 0});
  }));
  EXPECT_TRUE(stale_after("an outcome model", [&](storage::WriteTransaction& txn) {
    return txn.PutFittedModel({"org", std::string(kEtrModelKind), "phq-9", "{}", clock_.Now(),
                               std::nullopt, std::nullopt, 1, 1, 0});
  }));
}

}  // namespace
}  // namespace rapport::alerts
