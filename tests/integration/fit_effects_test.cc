// `rapport fit therapists` and `rapport fit within-between` through the real binary, against
// SCIENCE.md §11.7 and against lme4 (from Debian) run on the same file in the test.
// Tolerances: SCIENCE.md §10.2.
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "instruments/catalog.h"
#include "sim/cohort.h"
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

Json RunJson(std::vector<std::string> args) {
  const auto result = Rapport(std::move(args));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.exit_code == 0 ? Json::parse(result.out) : Json::object();
}

// "name value" lines of an Rscript's output.
std::map<std::string, double> RunR(const testing::TempDir& dir, const std::string& script) {
  const std::filesystem::path file = dir.path() / "script.R";
  std::ofstream(file) << script;
  const auto result = testing::RunCommand({"/usr/bin/env", "Rscript", "--vanilla", file.string()});
  EXPECT_EQ(result.exit_code, 0) << "Rscript failed (run scripts/setup.sh): " << result.err;
  std::map<std::string, double> values;
  std::istringstream lines(result.out);
  std::string name;
  double value = 0;
  while (lines >> name >> value) values[name] = value;
  return values;
}

TEST(CliFitEffects, WithinBetweenReproducesScienceExample) {
  testing::TempDir dir;
  const auto data = dir.path() / "science.csv";
  ASSERT_EQ(Rapport({"simulate", "--science", "--out", data.string()}).exit_code, 0);
  const Json fit = RunJson({"fit", "within-between", "--input", data.string()});
  // SCIENCE.md §11.7.
  EXPECT_REL(fit["within"]["estimate"].get<double>(), -0.0628380849507, 1e-5);
  EXPECT_REL(fit["between"]["estimate"].get<double>(), -1.7768512882507, 1e-5);
  EXPECT_REL(fit["t"]["estimate"].get<double>(), -1.4180762401475, 1e-5);
  EXPECT_REL(fit["intercept"].get<double>(), 37.7796947326854, 1e-5);
  EXPECT_REL(fit["var_client"].get<double>(), 26.51290234229, 2e-3);
  EXPECT_REL(fit["residual"].get<double>(), 7.67778110318, 2e-3);
  EXPECT_REL(fit["reml_criterion"].get<double>(), 964.56886642, 1e-9);
  EXPECT_EQ(fit["n_client"], 30);
  EXPECT_FALSE(fit["detrended"].get<bool>());
  const Json detrended = RunJson({"fit", "within-between", "--input", data.string(), "--detrend"});
  EXPECT_TRUE(detrended["detrended"].get<bool>());
}

// Sessions in clients in therapists, freshly simulated: the shrunken therapist effects and
// their conditional SDs equal lme4's ranef(condVar = TRUE) on the same file.
TEST(CliFitEffects, TherapistEffectsMatchLme4Live) {
  testing::TempDir dir;
  const auto data = dir.path() / "cohort.csv";
  ASSERT_EQ(Rapport({"simulate", "--seed", "11", "--clients", "600", "--therapists", "30", "--out",
                     data.string()})
                .exit_code,
            0);
  const Json fit = RunJson({"fit", "therapists", "--input", data.string()});
  EXPECT_EQ(fit["design"], "sessions in clients in therapists");
  EXPECT_EQ(fit["therapists"], 30);
  const auto r = RunR(dir,
                      "suppressMessages(library(lme4))\n"
                      "d <- read.csv('" +
                          data.string() +
                          "')\n"
                          "m <- lmer(y ~ 1 + t + (1 | therapist) + (t | client), d)\n"
                          "re <- ranef(m, condVar = TRUE)$therapist\n"
                          "sd <- sqrt(as.numeric(attr(re, 'postVar')))\n"
                          "for (i in seq_len(nrow(re))) {\n"
                          "  cat(paste0('effect_', rownames(re)[i]), sprintf('%.15g', re[i, 1]), "
                          "'\\n')\n"
                          "  cat(paste0('sd_', rownames(re)[i]), sprintf('%.15g', sd[i]), '\\n')\n"
                          "}\n"
                          "v <- as.data.frame(VarCorr(m))\n"
                          "tau2 <- v$vcov[v$grp == 'therapist']\n"
                          "c0 <- v$vcov[v$grp == 'client' & v$var1 == '(Intercept)' & "
                          "is.na(v$var2)]\n"
                          "cat('icc', sprintf('%.15g', tau2 / (tau2 + c0 + sigma(m)^2)), '\\n')\n");
  ASSERT_EQ(r.size(), 61u);
  EXPECT_REL(fit["icc"].get<double>(), r.at("icc"), 2e-3);
  double previous = -1e300;
  for (const Json& therapist : fit["caterpillar"]) {
    const std::string id = therapist["therapist"];
    EXPECT_NEAR(therapist["effect"].get<double>(), r.at("effect_" + id),
                1e-3 * std::max(1.0, std::abs(r.at("effect_" + id))))
        << id;
    EXPECT_REL(therapist["cond_sd"].get<double>(), r.at("sd_" + id), 1e-3) << id;
    EXPECT_EQ(therapist["cases"], 20) << id;
    EXPECT_GE(therapist["effect"].get<double>(), previous);  // caterpillar order
    previous = therapist["effect"].get<double>();
    const bool shown = therapist["shown"].get<bool>();
    EXPECT_EQ(shown, therapist["reliability"].get<double>() >= 0.7) << id;
    if (!shown) {
      EXPECT_EQ(therapist["classification"], "not shown");
    }
  }
}

// Cases in therapists with an intake covariate (the design of SCIENCE.md §8 item 1, unequal
// caseloads): variance components, ICC, shrunken effects and conditional SDs equal lme4's
// lmer(y ~ intake + (1 | therapist)) with ranef(condVar = TRUE); reliability is the one-way
// τ²/(τ² + σ²/n_j), since condVar is conditional on the fixed effects.
TEST(CliFitEffects, TherapistEffectsWithIntakeMatchLme4Live) {
  testing::TempDir dir;
  const auto data = dir.path() / "cases.csv";
  {
    std::ofstream out(data);
    out << "therapist,intake,y\n";
    uint64_t state = 2024;
    const auto uniform = [&state] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return (static_cast<double>(state >> 11) + 0.5) / 9007199254740992.0;
    };
    const auto normal = [&] {
      return std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
    };
    const int caseloads[] = {6, 12, 25, 40};
    for (int therapist = 0; therapist < 36; ++therapist) {
      const double u = 2 * normal();
      for (int k = 0; k < caseloads[therapist % 4]; ++k) {
        const double intake = 18 + 5 * normal();
        out << "T" << therapist << "," << intake << "," << 4 + 0.5 * intake + u + 6 * normal()
            << "\n";
      }
    }
  }
  const Json fit = RunJson({"fit", "therapists", "--input", data.string()});
  EXPECT_EQ(fit["design"], "cases in therapists");
  EXPECT_TRUE(fit["case_mix_adjusted"].get<bool>());
  EXPECT_EQ(fit["therapists"], 36);
  const auto r = RunR(dir,
                      "suppressMessages(library(lme4))\n"
                      "d <- read.csv('" +
                          data.string() +
                          "')\n"
                          "m <- lmer(y ~ intake + (1 | therapist), d)\n"
                          "re <- ranef(m, condVar = TRUE)$therapist\n"
                          "sd <- sqrt(as.numeric(attr(re, 'postVar')))\n"
                          "for (i in seq_len(nrow(re))) {\n"
                          "  cat(paste0('effect_', rownames(re)[i]), sprintf('%.15g', re[i, 1]), "
                          "'\\n')\n"
                          "  cat(paste0('sd_', rownames(re)[i]), sprintf('%.15g', sd[i]), '\\n')\n"
                          "}\n"
                          "v <- as.data.frame(VarCorr(m))\n"
                          "cat('tau2', sprintf('%.15g', v$vcov[1]), '\\n')\n"
                          "cat('sigma2', sprintf('%.15g', sigma(m)^2), '\\n')\n"
                          "cat('criterion', sprintf('%.15g', REMLcrit(m)), '\\n')\n");
  ASSERT_EQ(r.size(), 75u);
  const double tau2 = r.at("tau2");
  const double sigma2 = r.at("sigma2");
  EXPECT_REL(fit["variance"]["therapist"].get<double>(), tau2, 2e-3);
  EXPECT_REL(fit["variance"]["residual"].get<double>(), sigma2, 2e-3);
  EXPECT_LE(fit["reml_criterion"].get<double>(), r.at("criterion") + 1e-6);
  EXPECT_REL(fit["icc"].get<double>(), tau2 / (tau2 + sigma2), 2e-3);
  EXPECT_EQ(fit["icc_denominator"], "therapist + residual (case) variance");
  int shown = 0;
  for (const Json& therapist : fit["caterpillar"]) {
    const std::string id = therapist["therapist"];
    SCOPED_TRACE(id);
    EXPECT_REL(therapist["effect"].get<double>(), r.at("effect_" + id), 1e-3);
    EXPECT_REL(therapist["cond_sd"].get<double>(), r.at("sd_" + id), 1e-3);
    const double n = therapist["cases"].get<double>();
    EXPECT_REL(therapist["reliability"].get<double>(), tau2 / (tau2 + sigma2 / n), 2e-3);
    const bool shown_here = therapist["shown"].get<bool>();
    EXPECT_EQ(shown_here, n >= 20 && therapist["reliability"].get<double>() >= 0.7);
    const double lower = therapist["lower"].get<double>();
    const double upper = therapist["upper"].get<double>();
    EXPECT_NEAR(upper - lower, 2 * 1.959963984540054 * therapist["cond_sd"].get<double>(), 1e-9);
    if (shown_here) {
      ++shown;
      EXPECT_EQ(therapist["classification"], lower > 0   ? "above average"
                                             : upper < 0 ? "below average"
                                                         : "indistinguishable from average");
    }
  }
  EXPECT_GT(shown, 0);
  EXPECT_EQ(fit["shown"], shown);
  for (const Json& note : fit["notes"]) {  // 36 therapists: no warning about the ICC
    EXPECT_EQ(note.get<std::string>().find("fewer than 30 therapists"), std::string::npos);
  }
}

// The within/between decomposition against lme4 on the §11.7 file, standard errors included,
// and detrended: the within part is each client's residual from lm(alliance ~ t).
TEST(CliFitEffects, WithinBetweenStandardErrorsAndDetrendingMatchLme4Live) {
  testing::TempDir dir;
  const auto data = dir.path() / "science.csv";
  ASSERT_EQ(Rapport({"simulate", "--science", "--out", data.string()}).exit_code, 0);
  const auto r =
      RunR(dir,
           "suppressMessages(library(lme4))\n"
           "d <- read.csv('" +
               data.string() +
               "')\n"
               "d$a_b <- ave(d$alliance, d$client)\n"
               "d$centred <- d$alliance - d$a_b\n"
               "d$detrended <- unsplit(lapply(split(d, d$client), function(s) "
               "residuals(lm(alliance ~ t, s))), d$client)\n"
               "for (w in c('centred', 'detrended')) {\n"
               "  d$a_w <- d[[w]]\n"
               "  m <- lmer(y ~ t + a_w + a_b + (1 | client), d)\n"
               "  b <- fixef(m); v <- vcov(m)\n"
               "  f <- function(k, x) cat(paste0(w, '_', k), sprintf('%.15g', x), '\\n')\n"
               "  f('t', b[2]); f('within', b[3]); f('between', b[4])\n"
               "  f('t_se', sqrt(v[2, 2])); f('within_se', sqrt(v[3, 3])); "
               "f('between_se', sqrt(v[4, 4]))\n"
               "  f('contextual_se', sqrt(v[3, 3] + v[4, 4] - 2 * v[3, 4]))\n"
               "  f('criterion', REMLcrit(m))\n"
               "}\n");
  ASSERT_EQ(r.size(), 16u);
  for (const std::string form : {"centred", "detrended"}) {
    SCOPED_TRACE(form);
    std::vector<std::string> args = {"fit", "within-between", "--input", data.string()};
    if (form == "detrended") args.push_back("--detrend");
    const Json fit = RunJson(args);
    EXPECT_EQ(fit["detrended"].get<bool>(), form == "detrended");
    for (const std::string effect : {"t", "within", "between"}) {
      EXPECT_REL(fit[effect]["estimate"].get<double>(), r.at(form + "_" + effect), 1e-5) << effect;
      EXPECT_REL(fit[effect]["se"].get<double>(), r.at(form + "_" + effect + "_se"), 2e-3)
          << effect;
    }
    EXPECT_NEAR(fit["contextual"]["estimate"].get<double>(),
                r.at(form + "_between") - r.at(form + "_within"), 1e-5);
    EXPECT_REL(fit["contextual"]["se"].get<double>(), r.at(form + "_contextual_se"), 2e-3);
    EXPECT_LE(fit["reml_criterion"].get<double>(), r.at(form + "_criterion") + 1e-6);
  }
}

// The dropout model's coefficients and standard errors equal R's glm(binomial) on the same file
// (standardised features, as the model stores them), run to a tight convergence so that its
// vcov, taken at the last iteration's weights, is at the optimum too; AUC and calibration come
// from held-out folds.
TEST(CliFitEffects, DropoutModelMatchesGlmLive) {
  testing::TempDir dir;
  const auto data = dir.path() / "episodes.csv";
  {
    std::ofstream out(data);
    out << "client,first_alliance,missed,dropped_out\n";
    uint64_t state = 12345;
    const auto uniform = [&state] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<double>(state >> 11) / 9007199254740992.0;
    };
    for (int i = 0; i < 300; ++i) {
      const double alliance = 10 + 20 * uniform();
      const int missed = static_cast<int>(3 * uniform());
      const double risk = 1 / (1 + std::exp(-(-1.0 - 0.15 * (alliance - 20) + 0.5 * missed)));
      out << "c" << i << "," << alliance << "," << missed << "," << (uniform() < risk ? 1 : 0)
          << "\n";
    }
  }
  const Json model = RunJson(
      {"fit", "dropout", "--input", data.string(), "--outcome", "dropped_out", "--folds", "5"});
  ASSERT_TRUE(model.contains("coefficients")) << model.dump();
  EXPECT_EQ(model["features"], Json({"first_alliance", "missed"}));
  const auto r =
      RunR(dir, "d <- read.csv('" + data.string() +
                    "')\n"
                    "m <- glm(dropped_out ~ scale(first_alliance) + scale(missed), "
                    "family = binomial, data = d,\n"
                    "         control = glm.control(epsilon = 1e-14, maxit = 100))\n"
                    "b <- coef(m); s <- sqrt(diag(vcov(m)))\n"
                    "for (i in 1:3) { cat(paste0('b', i), sprintf('%.15g', b[i]), '\\n'); "
                    "cat(paste0('s', i), sprintf('%.15g', s[i]), '\\n') }\n"
                    "cat('deviance', sprintf('%.15g', deviance(m)), '\\n')\n");
  ASSERT_EQ(r.size(), 7u);
  EXPECT_REL(model["coefficients"]["(Intercept)"].get<double>(), r.at("b1"), 1e-6);
  EXPECT_REL(model["coefficients"]["first_alliance"].get<double>(), r.at("b2"), 1e-6);
  EXPECT_REL(model["coefficients"]["missed"].get<double>(), r.at("b3"), 1e-6);
  EXPECT_REL(model["se"]["(Intercept)"].get<double>(), r.at("s1"), 1e-5);
  EXPECT_REL(model["se"]["first_alliance"].get<double>(), r.at("s2"), 1e-5);
  EXPECT_REL(model["se"]["missed"].get<double>(), r.at("s3"), 1e-5);
  EXPECT_REL(model["deviance"].get<double>(), r.at("deviance"), 1e-8);
  EXPECT_GT(model["auc"].get<double>(), 0.6);
  EXPECT_EQ(model["calibration"].size(), 10u);
  EXPECT_EQ(model["cases"], 300);
  const Json quintiles = RunJson(
      {"fit", "dropout", "--input", data.string(), "--outcome", "dropped_out", "--bins", "5"});
  ASSERT_EQ(quintiles["calibration"].size(), 5u);
  EXPECT_EQ(quintiles["calibration"][0]["n"], 60);
  EXPECT_EQ(quintiles["auc"], model["auc"]);

  // Quasi-complete separation: everyone who missed a session dropped out. glm "converges" with
  // a standard error in the hundreds; rapport refuses and names the feature.
  const auto separated = dir.path() / "separated.csv";
  {
    std::ofstream out(separated);
    out << "first_alliance,missed,dropped_out\n";
    for (int i = 0; i < 120; ++i) {
      const bool missed = i % 8 == 0;
      out << 10 + (i * 37 % 20) << "," << (missed ? 1 : 0) << "," << (missed || i % 3 == 0 ? 1 : 0)
          << "\n";
    }
  }
  const auto glm = RunR(dir, "d <- read.csv('" + separated.string() +
                                 "')\n"
                                 "m <- glm(dropped_out ~ scale(first_alliance) + scale(missed), "
                                 "family = binomial, data = d)\n"
                                 "cat('converged', as.numeric(m$converged), '\\n')\n"
                                 "cat('se', sqrt(diag(vcov(m)))[3], '\\n')\n");
  EXPECT_EQ(glm.at("converged"), 1);
  EXPECT_GT(glm.at("se"), 100);
  const auto refused =
      Rapport({"fit", "dropout", "--input", separated.string(), "--outcome", "dropped_out"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("separated by 'missed'"), std::string::npos) << refused.err;

  std::ofstream(dir.path() / "bad.csv") << "a,dropped_out\n1,0\n2,3\n";
  const auto bad = Rapport(
      {"fit", "dropout", "--input", (dir.path() / "bad.csv").string(), "--outcome", "dropped_out"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("line 3"), std::string::npos) << bad.err;
}

// Reliability per instrument on an organisation's own answers: the report from the database
// equals the CSV form (checked against psych elsewhere) on each client's first response.
TEST(CliFitEffects, ReliabilityOnTheOrganisationsOwnData) {
  testing::TempDir dir;
  const std::string db = "sqlite:" + (dir.path() / "r.db").string();
  auto catalog =
      instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
  ASSERT_OK(catalog);
  const Timestamp now = DefaultClock().Now();
  sim::CohortOptions options;
  options.seed = 77;
  options.org_id = "org-1";
  options.clinic_id = "clinic-1";
  for (int k = 0; k < 8; ++k) options.clinician_ids.push_back("clinician-" + std::to_string(k));
  options.end = now - std::chrono::hours(24);
  auto cohort = sim::GenerateCohort(options, *catalog);
  ASSERT_OK(cohort);
  {
    auto store = storage::OpenStore(db, /*migrate=*/true);
    ASSERT_OK(store);
    ASSERT_OK((*store)->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org-1", "Clinic", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic-1", "org-1", "Main"}));
      for (const std::string& id : options.clinician_ids) {
        RAPPORT_RETURN_IF_ERROR(txn.PutUser({id, "org-1", "clinic-1", id + "@example.org", id,
                                             domain::Role::kClinician, "hash", false, now}));
      }
      for (const auto& client : cohort->clients) RAPPORT_RETURN_IF_ERROR(txn.PutClient(client));
      for (const auto& e : cohort->episodes) RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(e));
      for (const auto& s : cohort->sessions) RAPPORT_RETURN_IF_ERROR(txn.PutSession(s));
      for (const auto& r : cohort->responses) RAPPORT_RETURN_IF_ERROR(txn.PutResponse(r));
      return Status::Ok();
    }));
    (*store)->Close();
  }
  // Each client's first (lowest session number) alliance rating, as a CSV of items.
  const instruments::Definition* alliance = catalog->Find("rapport-alliance-client");
  ASSERT_NE(alliance, nullptr);
  std::map<std::string, int> number_of;
  for (const auto& session : cohort->sessions) number_of[session.id] = session.number;
  std::map<std::string, std::pair<int, const domain::Response*>> first;
  for (const auto& response : cohort->responses) {
    if (response.instrument_id != alliance->id) continue;
    const int number = number_of[response.session_id];
    auto [at, inserted] = first.try_emplace(response.respondent_id, number, &response);
    if (!inserted && number < at->second.first) at->second = {number, &response};
  }
  const auto csv = dir.path() / "first.csv";
  {
    std::ofstream out(csv);
    for (size_t i = 0; i < alliance->items.size(); ++i) {
      out << (i ? "," : "") << alliance->items[i].id;
    }
    out << "\n";
    for (const auto& [client, entry] : first) {
      for (size_t i = 0; i < alliance->items.size(); ++i) {
        const instruments::Item& item = alliance->items[i];
        out << (i ? "," : "");
        for (const domain::ItemAnswer& answer : entry.second->answers) {
          if (answer.item_id == item.id && answer.value) {
            out << (item.reverse ? item.min + item.max - *answer.value : *answer.value);
          }
        }
      }
      out << "\n";
    }
  }
  const Json report = RunJson({"fit", "reliability", "--db", db, "--org", "org-1"});
  const Json from_csv = RunJson({"fit", "reliability", "--input", csv.string()});
  Json entry;
  for (const Json& instrument : report["instruments"]) {
    if (instrument["instrument"] == alliance->id) entry = instrument;
  }
  ASSERT_TRUE(entry.is_object()) << report.dump();
  EXPECT_EQ(entry["respondents"], first.size());
  EXPECT_NEAR(entry["alpha"].get<double>(), from_csv["alpha"].get<double>(), 1e-12);
  EXPECT_EQ(from_csv["n"], first.size());
  // One instrument only, and an organisation that does not exist.
  const Json one =
      RunJson({"fit", "reliability", "--db", db, "--org", "org-1", "--instrument", "phq-9"});
  ASSERT_EQ(one["instruments"].size(), 1u);
  EXPECT_GT(one["instruments"][0]["alpha"].get<double>(), 0.5);
  const auto missing = Rapport({"fit", "reliability", "--db", db, "--org", "org-9"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("unknown organisation 'org-9'"), std::string::npos) << missing.err;
}

TEST(CliFitEffects, BadInputExitsTwoNamingTheProblem) {
  testing::TempDir dir;
  const auto half = dir.path() / "half.csv";
  std::ofstream(half) << "y,therapist,client\n1,a,x\n2,b,y\n";
  auto result = Rapport({"fit", "therapists", "--input", half.string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("'client' and 't'"), std::string::npos) << result.err;
  const auto bad = dir.path() / "bad.csv";
  std::ofstream(bad) << "y,t,client,alliance\n1,0,a,4\n2,1,a,x\n";
  result = Rapport({"fit", "within-between", "--input", bad.string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("line 3, column 'alliance'"), std::string::npos) << result.err;
  result = Rapport({"fit", "within-between", "--input", half.string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("missing column 't'"), std::string::npos) << result.err;
  // The dropout model on a database's history: the organisation must exist.
  const std::string db = "sqlite:" + (dir.path() / "r.db").string();
  ASSERT_EQ(Rapport({"migrate", "--db", db}).exit_code, 0);
  result = Rapport({"fit", "dropout", "--db", db, "--org", "nobody"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown organisation 'nobody'"), std::string::npos) << result.err;
  result = Rapport({"fit", "dropout", "--db", db});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--org"), std::string::npos) << result.err;
  result = Rapport({"fit", "dropout"});
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace rapport
