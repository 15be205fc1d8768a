// Signals and alerts through the real `rapport serve`: check-ins are submitted over HTTP and
// the alerts read back with `rapport alerts list` while the server runs.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/id.h"
#include "storage/store.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;
using testing::Http;

constexpr int kSessions = 6;

std::string Token(const std::string& what, int session) {
  return "token-" + what + "-session-" + std::to_string(session) + "-abcdefgh";
}

class AlertsEndToEnd : public ::testing::Test {
 protected:
  AlertsEndToEnd() : db_url_("sqlite:" + (dir_.path() / "rapport.db").string()) {
    auto store = storage::OpenStore(db_url_, /*migrate=*/true);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return;
    const Timestamp now = DefaultClock().Now();
    EXPECT_OK((*store)->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org-1", "Clinic", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic-1", "org-1", "Main"}));
      RAPPORT_RETURN_IF_ERROR(txn.PutUser({"clinician-1", "org-1", "clinic-1", "c@example.org",
                                           "Dr C", domain::Role::kClinician, "hash", false, now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({"client-1", "org-1", "C-001", "en", false, now}));
      domain::Episode episode;
      episode.id = "episode-1";
      episode.org_id = "org-1";
      episode.clinic_id = "clinic-1";
      episode.client_ids = {"client-1"};
      episode.clinician_ids = {"clinician-1"};
      episode.started_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      for (int number = 1; number <= kSessions; ++number) {
        domain::Session session;
        session.id = "session-" + std::to_string(number);
        session.org_id = "org-1";
        session.episode_id = "episode-1";
        session.number = number;
        session.scheduled_at = now;
        session.attendance = domain::Attendance::kAttended;
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
        for (const auto& [what, instrument] :
             {std::pair{"alliance", "rapport-alliance-client"}, std::pair{"phq", "phq-9"}}) {
          domain::Checkin checkin;
          checkin.id = std::string(what) + "-" + std::to_string(number);
          checkin.org_id = "org-1";
          checkin.session_id = session.id;
          checkin.respondent_id = "client-1";
          checkin.instrument_ids = {instrument};
          checkin.token_digest = Sha256Hex(Token(what, number));
          checkin.language = "en";
          checkin.created_at = now;
          checkin.expires_at = now + std::chrono::hours(24);
          RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
        }
      }
      return Status::Ok();
    }));
    (*store)->Close();
  }

  testing::CommandResult Rapport(std::vector<std::string> args) {
    args.insert(args.begin(), testing::RapportBinary().string());
    return testing::RunCommand(args);
  }

  std::vector<std::string> ServeArgs() {
    return {testing::RapportBinary().string(), "serve", "--db", db_url_};
  }

  int Submit(int port, const std::string& what, int session, const std::string& instrument,
             const std::vector<int>& answers) {
    const Json body = {{"responses", {{{"instrument", instrument}, {"answers", answers}}}}};
    return Http(port, "POST", "/api/v1/checkins/" + Token(what, session), body.dump(),
                "application/json")
        .status;
  }

  // Every alert of the organisation (resolved included), via the staff CLI.
  std::vector<Json> Alerts(const std::string& kind) {
    const auto result = Rapport({"alerts", "list", "--db", db_url_, "--org", "org-1", "--all",
                                 "--data-dir", (testing::SourceDir() / "data").string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::vector<Json> out;
    std::istringstream in(result.out);
    std::string line;
    while (std::getline(in, line)) {
      const Json alert = Json::parse(line);
      if (alert["kind"] == kind) out.push_back(alert);
    }
    return out;
  }

  testing::TempDir dir_;
  std::string db_url_;
};

std::vector<std::string> GuidanceIds(const Json& alert) {
  std::vector<std::string> ids;
  for (const Json& entry : alert["guidance"]) ids.push_back(entry["id"]);
  return ids;
}

TEST_F(AlertsEndToEnd, ARuptureRaisesOneAlertWithEvidenceAndGuidanceAndRepairResolvesIt) {
  testing::ServerProcess server(ServeArgs());
  ASSERT_TRUE(server.started()) << server.output();
  const std::string alliance = "rapport-alliance-client";
  ASSERT_EQ(Submit(server.port(), "alliance", 1, alliance, {4, 4, 4, 4, 4, 4, 4}), 201);
  ASSERT_EQ(Submit(server.port(), "alliance", 2, alliance, {4, 4, 4, 4, 4, 4, 4}), 201);
  EXPECT_TRUE(Alerts("rupture").empty());
  // Session 3: the total falls from 4 to 3 (≥ T = 1), mostly in how we work (tasks).
  ASSERT_EQ(Submit(server.port(), "alliance", 3, alliance, {4, 4, 4, 4, 1, 1, 3}), 201);
  auto ruptures = Alerts("rupture");
  ASSERT_EQ(ruptures.size(), 1u);
  const Json alert = ruptures[0];
  EXPECT_EQ(alert["status"], "open");
  EXPECT_EQ(alert["severity"], "warning");
  EXPECT_EQ(alert["episode"], "episode-1");
  EXPECT_EQ(alert["client"], "client-1");
  EXPECT_EQ(alert["session"], 3);
  const Json& evidence = alert["evidence"];
  EXPECT_EQ(evidence["level"], 4.0);
  EXPECT_EQ(evidence["score"], 3.0);
  EXPECT_EQ(evidence["drop"], 1.0);
  EXPECT_EQ(evidence["threshold"], 1.0);
  EXPECT_EQ(evidence["window"], 3);
  EXPECT_EQ(evidence["status"], "open");
  EXPECT_EQ(evidence["dimension"], "tasks");
  EXPECT_FALSE(evidence["rule"].get<std::string>().empty());
  const auto guidance = GuidanceIds(alert);
  EXPECT_NE(std::find(guidance.begin(), guidance.end(), "raise-the-rupture"), guidance.end());
  EXPECT_NE(std::find(guidance.begin(), guidance.end(), "renegotiate-tasks"), guidance.end());
  EXPECT_EQ(std::find(guidance.begin(), guidance.end(), "renegotiate-goals"), guidance.end());
  for (const Json& entry : alert["guidance"]) EXPECT_FALSE(entry["sources"].empty());

  // The same check-in submitted again returns the stored result and changes nothing.
  ASSERT_EQ(Submit(server.port(), "alliance", 3, alliance, {4, 4, 4, 4, 1, 1, 3}), 200);
  EXPECT_EQ(Alerts("rupture").size(), 1u);

  // Session 4 returns to the level: repaired within the window (V-shaped).
  ASSERT_EQ(Submit(server.port(), "alliance", 4, alliance, {4, 4, 4, 4, 4, 4, 4}), 201);
  ruptures = Alerts("rupture");
  ASSERT_EQ(ruptures.size(), 1u);
  EXPECT_EQ(ruptures[0]["id"], alert["id"]);
  EXPECT_EQ(ruptures[0]["status"], "resolved");
  EXPECT_EQ(ruptures[0]["resolution"], "repaired");
  EXPECT_EQ(ruptures[0]["resolved_by"], "rapport");
  EXPECT_EQ(ruptures[0]["evidence"]["repaired_at"], 4);
  EXPECT_EQ(ruptures[0]["evidence"]["v_shaped"], true);
}

TEST_F(AlertsEndToEnd, ARiskAnswerRaisesAnUrgentAlertInTheSameRequest) {
  testing::ServerProcess server(ServeArgs());
  ASSERT_TRUE(server.started()) << server.output();
  const std::string settings = (dir_.path() / "settings.json").string();
  std::ofstream(settings) << R"({"safety_text": "Ring the duty clinician on 4000 today."})";
  const auto saved =
      Rapport({"settings", "set", "--db", db_url_, "--org", "org-1", "--file", settings});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;

  ASSERT_EQ(Submit(server.port(), "phq", 1, "phq-9", {0, 0, 0, 0, 0, 0, 0, 0, 0}), 201);
  EXPECT_TRUE(Alerts("risk-item").empty());
  ASSERT_EQ(Submit(server.port(), "phq", 2, "phq-9", {1, 0, 0, 0, 0, 0, 0, 0, 1}), 201);
  // Read back at once: the alert was committed with the response.
  auto risk = Alerts("risk-item");
  ASSERT_EQ(risk.size(), 1u);
  EXPECT_EQ(risk[0]["severity"], "urgent");
  EXPECT_EQ(risk[0]["status"], "open");
  EXPECT_EQ(risk[0]["session"], 2);
  EXPECT_EQ(risk[0]["evidence"]["answers"]["9"], 1.0);
  EXPECT_EQ(risk[0]["evidence"]["safety_procedure"], "Ring the duty clinician on 4000 today.");
  const auto guidance = GuidanceIds(risk[0]);
  EXPECT_NE(std::find(guidance.begin(), guidance.end(), "risk-follow-up"), guidance.end());

  // Staff act on it: acknowledged, a repair note, resolved — each with who and when.
  const std::string id = risk[0]["id"];
  const std::vector<std::string> store = {"--db", db_url_, "--org", "org-1", "--id", id};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), store.begin(), store.end());
    return Rapport(args);
  };
  ASSERT_EQ(with({"alerts", "acknowledge", "--by", "clinician-1"}).exit_code, 0);
  const auto note = with({"alerts", "note", "--by", "clinician-1", "--text",
                          "Phoned the client; safety plan agreed.", "--discussed"});
  ASSERT_EQ(note.exit_code, 0) << note.err;
  ASSERT_EQ(with({"alerts", "resolve", "--by", "clinician-1"}).exit_code, 0);
  risk = Alerts("risk-item");
  ASSERT_EQ(risk.size(), 1u);
  EXPECT_EQ(risk[0]["status"], "resolved");
  EXPECT_EQ(risk[0]["acknowledged_by"], "clinician-1");
  EXPECT_FALSE(risk[0]["acknowledged_at"].is_null());
  EXPECT_EQ(risk[0]["resolved_by"], "clinician-1");
  EXPECT_EQ(risk[0]["resolution"], "staff");
  ASSERT_EQ(risk[0]["repair_notes"].size(), 1u);
  EXPECT_EQ(risk[0]["repair_notes"][0]["discussed_with_client"], true);
  // A second resolution is a conflict, not a crash.
  EXPECT_EQ(with({"alerts", "resolve", "--by", "clinician-1"}).exit_code, 1);
}

TEST_F(AlertsEndToEnd, BadStaffInputIsAClearError) {
  const std::string settings = (dir_.path() / "bad.json").string();
  std::ofstream(settings) << R"({"signals": {"rupture": {"window": "three"}}})";
  const auto bad =
      Rapport({"settings", "set", "--db", db_url_, "--org", "org-1", "--file", settings});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("signals.rupture.window"), std::string::npos) << bad.err;
  const auto unknown = Rapport({"alerts", "acknowledge", "--db", db_url_, "--org", "org-1", "--id",
                                "no-such-alert", "--by", "x"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("alert not found"), std::string::npos) << unknown.err;
  const auto status =
      Rapport({"alerts", "list", "--db", db_url_, "--org", "org-1", "--status", "closed"});
  EXPECT_EQ(status.exit_code, 2);
  const auto org = Rapport({"alerts", "list", "--db", db_url_, "--org", "org-2"});
  EXPECT_EQ(org.exit_code, 1);
  const auto shown = Rapport({"settings", "show", "--db", db_url_, "--org", "org-1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(Json::parse(shown.out), Json::object());
}

}  // namespace
}  // namespace rapport
