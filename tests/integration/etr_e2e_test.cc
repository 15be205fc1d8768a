// Expected treatment response through the real binary: `rapport fit etr` on a CSV file against
// SCIENCE.md §11.6 and against lme4 run in the test, and on a simulated organisation's stored
// history, after which a new client above the boundary gets a not-on-track alert through
// `rapport serve` whose evidence names the model. Tolerances: SCIENCE.md §10.2.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/id.h"
#include "instruments/catalog.h"
#include "sim/cohort.h"
#include "sim/three_level.h"
#include "storage/store.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;

#define EXPECT_REL(actual, expected, tolerance) \
  EXPECT_NEAR(actual, expected, (tolerance)*std::abs(expected))

testing::CommandResult Rapport(std::vector<std::string> args) {
  args.insert(args.begin(), testing::RapportBinary().string());
  return testing::RunCommand(args);
}

std::string DataDir() { return (testing::SourceDir() / "data").string(); }

// SCIENCE.md §11.5 as y, t, client (and x, the client's session-0 score, when `intake` is set:
// then only the rows after the intake, as the intake-covariate model is fitted).
void WriteScienceCsv(const std::filesystem::path& path, bool intake) {
  const std::vector<sim::SessionRow> rows = sim::ScienceFixture();
  std::map<int64_t, double> first;
  for (const sim::SessionRow& row : rows) {
    if (row.session == 0) first[row.client] = row.y;
  }
  std::ofstream out(path);
  out << (intake ? "y,t,client,x\n" : "y,t,client\n");
  char line[128];
  for (const sim::SessionRow& row : rows) {
    if (intake && row.session == 0) continue;
    std::snprintf(line, sizeof line, "%.17g,%d,%lld", row.y, row.session,
                  static_cast<long long>(row.client));
    out << line;
    if (intake) {
      std::snprintf(line, sizeof line, ",%.17g", first[row.client]);
      out << line;
    }
    out << "\n";
  }
}

TEST(CliFitEtr, CsvReproducesTheScienceWorkedExample) {
  testing::TempDir dir;
  const auto data = dir.path() / "science.csv";
  WriteScienceCsv(data, false);
  const auto result = Rapport({"fit", "etr", "--input", data.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json model = Json::parse(result.out);
  // SCIENCE.md §11.6.
  const double criterion = model["provenance"]["reml_criterion"];
  EXPECT_LE(criterion, 967.369155947 + 1e-6);
  EXPECT_REL(criterion, 967.369155947, 1e-9);
  EXPECT_REL(model["fixed_effects"]["estimates"][0].get<double>(), 29.29785465377, 1e-5);
  EXPECT_REL(model["fixed_effects"]["estimates"][1].get<double>(), -4.00010898207, 1e-5);
  const Json& g = model["random_effects"]["covariance"];
  EXPECT_REL(g[0][0].get<double>(), 18.14828082964, 2e-3);
  EXPECT_REL(g[0][1].get<double>(), 3.03970482925, 2e-3);
  EXPECT_REL(g[1][1].get<double>(), 3.77167965131, 2e-3);
  EXPECT_REL(model["residual_variance"].get<double>(), 6.92703129367, 2e-3);
  EXPECT_EQ(model["provenance"]["clients"], 30);
  EXPECT_EQ(model["provenance"]["observations"], 180);
  EXPECT_TRUE(model["provenance"]["data_from"].is_null());
  EXPECT_EQ(model["time"]["f"], "ln(t + 1)");
  EXPECT_TRUE(model["covariate"].is_null());

  // Bad input is a clear exit 2.
  const auto no_x = Rapport({"fit", "etr", "--input", data.string(), "--covariate", "intake"});
  EXPECT_EQ(no_x.exit_code, 2);
  EXPECT_NE(no_x.err.find("column 'x'"), std::string::npos) << no_x.err;
  const auto one_based = Rapport({"fit", "etr", "--input", data.string(), "--first-session", "1"});
  EXPECT_EQ(one_based.exit_code, 2);
  EXPECT_NE(one_based.err.find("line 2, column 't'"), std::string::npos) << one_based.err;
  EXPECT_EQ(Rapport({"fit", "etr"}).exit_code, 2);
  EXPECT_EQ(Rapport({"fit", "etr", "--input", data.string(), "--org", "o"}).exit_code, 2);
}

// The intake-covariate model against lme4 on the same file, here and now.
TEST(CliFitEtr, IntakeCovariateMatchesLme4Live) {
  testing::TempDir dir;
  const auto data = dir.path() / "intake.csv";
  WriteScienceCsv(data, true);
  const auto result = Rapport({"fit", "etr", "--input", data.string(), "--covariate", "intake"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const Json model = Json::parse(result.out);
  const std::filesystem::path script = dir.path() / "etr.R";
  std::ofstream(script) << "suppressMessages(library(lme4))\n"
                           "d <- read.csv('"
                        << data.string()
                        << "')\n"
                           "d$lt <- log(d$t + 1)\n"
                           "m <- lmer(y ~ lt * x + (lt | client), d)\n"
                           "f <- function(n, v) cat(n, sprintf('%.15g', v), '\\n')\n"
                           "f('criterion', REMLcrit(m))\n"
                           "b <- fixef(m); for (i in 1:4) f(paste0('b', i), b[i])\n"
                           "v <- VarCorr(m)$client\n"
                           "f('g00', v[1, 1]); f('g01', v[1, 2]); f('g11', v[2, 2])\n"
                           "f('sigma2', sigma(m)^2)\n";
  const auto r = testing::RunCommand({"/usr/bin/env", "Rscript", "--vanilla", script.string()});
  ASSERT_EQ(r.exit_code, 0) << "Rscript failed (run scripts/setup.sh): " << r.err;
  std::map<std::string, double> lme4;
  std::istringstream lines(r.out);
  std::string name;
  double value = 0;
  while (lines >> name >> value) lme4[name] = value;
  ASSERT_EQ(lme4.size(), 9u);
  const double criterion = model["provenance"]["reml_criterion"];
  EXPECT_LE(criterion, lme4["criterion"] + 1e-6);
  EXPECT_REL(criterion, lme4["criterion"], 1e-9);
  EXPECT_EQ(model["fixed_effects"]["names"],
            Json({"(Intercept)", "f(t)", "intake", "intake:f(t)"}));
  for (int index = 0; index < 4; ++index) {
    EXPECT_REL(model["fixed_effects"]["estimates"][index].get<double>(),
               lme4["b" + std::to_string(index + 1)], 1e-5)
        << index;
  }
  const Json& g = model["random_effects"]["covariance"];
  EXPECT_REL(g[0][0].get<double>(), lme4["g00"], 2e-3);
  EXPECT_REL(g[0][1].get<double>(), lme4["g01"], 2e-3);
  EXPECT_REL(g[1][1].get<double>(), lme4["g11"], 2e-3);
  EXPECT_REL(model["residual_variance"].get<double>(), lme4["sigma2"], 2e-3);
  EXPECT_EQ(model["covariate"], "intake");
}

constexpr int kClinicians = 10;  // × 6 simulated clients each
constexpr int kNewSessions = 5;

std::string Token(int session) {
  return "token-etr-session-" + std::to_string(session) + "-abcdefghijkl";
}

// An organisation with a simulated history of 60 clients (src/sim/cohort.h: PHQ-9 along a log
// curve) and one new client whose check-ins for sessions 1..5 are open.
class EtrEndToEnd : public ::testing::Test {
 protected:
  EtrEndToEnd() : db_url_("sqlite:" + (dir_.path() / "rapport.db").string()) {
    auto catalog = instruments::Catalog::Load(instruments::Catalog::SourcesFor(DataDir()));
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    if (!catalog.ok()) return;
    auto store = storage::OpenStore(db_url_, /*migrate=*/true);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return;
    const Timestamp now = DefaultClock().Now();
    sim::CohortOptions options;
    options.seed = 2024;
    options.org_id = "org-1";
    options.clinic_id = "clinic-1";
    for (int k = 0; k < kClinicians; ++k) {
      options.clinician_ids.push_back("clinician-" + std::to_string(k));
    }
    options.end = now - std::chrono::hours(24);
    auto cohort = sim::GenerateCohort(options, *catalog);
    EXPECT_TRUE(cohort.ok()) << cohort.status().ToString();
    if (!cohort.ok()) return;
    EXPECT_OK((*store)->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org-1", "Clinic", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org-2", "Another clinic", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic-1", "org-1", "Main"}));
      for (const std::string& id : options.clinician_ids) {
        RAPPORT_RETURN_IF_ERROR(txn.PutUser({id, "org-1", "clinic-1", id + "@example.org", id,
                                             domain::Role::kClinician, "hash", false, now}));
      }
      for (const auto& client : cohort->clients) RAPPORT_RETURN_IF_ERROR(txn.PutClient(client));
      for (const auto& e : cohort->episodes) RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(e));
      for (const auto& s : cohort->sessions) RAPPORT_RETURN_IF_ERROR(txn.PutSession(s));
      for (const auto& r : cohort->responses) RAPPORT_RETURN_IF_ERROR(txn.PutResponse(r));
      // The new client.
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({"new-client", "org-1", "NEW-1", "en", false, now}));
      domain::Episode episode;
      episode.id = "new-episode";
      episode.org_id = "org-1";
      episode.clinic_id = "clinic-1";
      episode.client_ids = {"new-client"};
      episode.clinician_ids = {"clinician-0"};
      episode.started_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      for (int number = 1; number <= kNewSessions; ++number) {
        domain::Session session;
        session.id = "new-session-" + std::to_string(number);
        session.org_id = "org-1";
        session.episode_id = episode.id;
        session.number = number;
        session.scheduled_at = now + std::chrono::hours(24 * 7 * number);
        session.attendance = domain::Attendance::kAttended;
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
        domain::Checkin checkin;
        checkin.id = "checkin-" + std::to_string(number);
        checkin.org_id = "org-1";
        checkin.session_id = session.id;
        checkin.respondent_id = "new-client";
        checkin.instrument_ids = {"phq-9"};
        checkin.token_digest = Sha256Hex(Token(number));
        checkin.language = "en";
        checkin.created_at = now;
        checkin.expires_at = now + std::chrono::hours(24 * 7 * (kNewSessions + 2));
        RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
      }
      return Status::Ok();
    }));
    (*store)->Close();
  }

  testing::CommandResult FitEtr(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"fit", "etr", "--db", db_url_, "--data-dir", DataDir()};
    args.insert(args.end(), extra.begin(), extra.end());
    return Rapport(args);
  }

  std::vector<Json> Alerts(const std::string& kind) {
    const auto result = Rapport(
        {"alerts", "list", "--db", db_url_, "--org", "org-1", "--all", "--data-dir", DataDir()});
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

// PHQ-9 answers (item 9 always 0) with this total.
std::vector<int> PhqAnswers(int total) {
  std::vector<int> answers(9, 0);
  for (size_t item = 0; item < 8 && total > 0; ++item) {
    answers[item] = std::min(3, total);
    total -= answers[item];
  }
  return answers;
}

TEST_F(EtrEndToEnd, AFittedModelFlagsAClientAboveItsBoundary) {
  // Clear errors first, each exit 2.
  auto bad = FitEtr({"--org", "no-such-org", "--instrument", "phq-9"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown organisation 'no-such-org'"), std::string::npos) << bad.err;
  bad = FitEtr({"--org", "org-1", "--instrument", "no-such-instrument"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown instrument 'no-such-instrument'"), std::string::npos) << bad.err;
  bad = FitEtr({"--org", "org-1", "--instrument", "rapport-alliance-client"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("outcome measures"), std::string::npos) << bad.err;
  bad = FitEtr({"--org", "org-1", "--instrument", "phq-9", "--min-clients", "500"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("has 60 clients"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("at least 500"), std::string::npos) << bad.err;
  bad = FitEtr({"--org", "org-2", "--instrument", "phq-9"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("has 0 clients"), std::string::npos) << bad.err;
  bad = FitEtr({"--org", "org-1", "--instrument", "phq-9", "--from", "last week"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--from 'last week'"), std::string::npos) << bad.err;

  // The organisation's history: 60 clients (the default minimum is 50).
  const auto fitted = FitEtr({"--org", "org-1", "--instrument", "phq-9"});
  ASSERT_EQ(fitted.exit_code, 0) << fitted.err;
  const Json model = Json::parse(fitted.out);
  EXPECT_EQ(model["kind"], "etr");
  EXPECT_EQ(model["provenance"]["instrument"], "phq-9");
  EXPECT_EQ(model["provenance"]["clients"], 60);
  EXPECT_TRUE(model["provenance"]["converged"].get<bool>());
  EXPECT_FALSE(model["provenance"]["data_from"].is_null());
  EXPECT_FALSE(model["provenance"]["data_to"].is_null());
  EXPECT_LT(model["fixed_effects"]["estimates"][1].get<double>(), 0) << "the course improves";

  // A new client rates PHQ-9 at intake and four sessions later through the server.
  testing::ServerProcess server({testing::RapportBinary().string(), "serve", "--db", db_url_});
  ASSERT_TRUE(server.started()) << server.output();
  const auto submit = [&](int session, int total) {
    const Json body = {{"responses", {{{"instrument", "phq-9"}, {"answers", PhqAnswers(total)}}}}};
    return testing::Http(server.port(), "POST", "/api/v1/checkins/" + Token(session), body.dump(),
                         "application/json")
        .status;
  };
  ASSERT_EQ(submit(1, 15), 201);
  ASSERT_EQ(submit(3, 13), 201);
  EXPECT_TRUE(Alerts("not-on-track").empty());
  // 20 at session 5 (t = 4): +5 from the intake, short of a reliable deterioration (6), but
  // far above where the organisation's clients with an intake of 15 are by then.
  ASSERT_EQ(submit(5, 20), 201);
  const auto alerts = Alerts("not-on-track");
  ASSERT_EQ(alerts.size(), 1u);
  const Json& alert = alerts[0];
  EXPECT_EQ(alert["client"], "new-client");
  EXPECT_EQ(alert["severity"], "warning");
  EXPECT_EQ(alert["session"], 5);
  const Json& evidence = alert["evidence"];
  EXPECT_EQ(evidence["method"], "expected-treatment-response");
  EXPECT_EQ(evidence["intake"], 15.0);
  EXPECT_EQ(evidence["latest"], 20.0);
  EXPECT_EQ(evidence["sessions_since_intake"], 4.0);
  EXPECT_GT(20.0, evidence["boundary"].get<double>());
  EXPECT_LT(evidence["expected"].get<double>(), evidence["boundary"].get<double>());
  EXPECT_EQ(evidence["percentile"], 90.0);
  EXPECT_EQ(evidence["band"].size(), 5u);
  EXPECT_EQ(evidence["model"]["kind"], "etr");
  EXPECT_EQ(evidence["model"]["clients"], 60);
  EXPECT_EQ(evidence["model"]["fitted_at"], model["provenance"]["fitted_at"]);
  EXPECT_EQ(evidence["model"]["data_to"], model["provenance"]["data_to"]);
  EXPECT_FALSE(alert["guidance"].empty());
}

}  // namespace
}  // namespace rapport
