// `rapport fit` and `rapport simulate` through the real binary, checked against SCIENCE.md §11
// and against R (lme4 1.1-31, psych 2.2.9 from Debian) run on the same files in the test.
// Tolerances: SCIENCE.md §10.2.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

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

Json FitLmm(const std::filesystem::path& data, const std::string& formula,
            std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"fit", "lmm", "--data", data.string(), "--formula", formula};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = Rapport(args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.exit_code == 0 ? Json::parse(result.out) : Json::object();
}

// Runs an R script; its output lines "name value" become a map. Rscript comes from the
// r-base-core and r-cran-lme4/psych Debian packages that scripts/setup.sh installs.
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

TEST(CliFit, ScienceDataMatchesLme4Golden) {
  testing::TempDir dir;
  const auto data = dir.path() / "science.csv";
  ASSERT_EQ(Rapport({"simulate", "--science", "--out", data.string()}).exit_code, 0);
  const Json fit = FitLmm(data, "y ~ t + (1 | therapist) + (t | client)");
  // SCIENCE.md §11.5, REML.
  EXPECT_LE(fit["reml_criterion"].get<double>(), 943.023734762 + 1e-6);
  EXPECT_REL(fit["reml_criterion"].get<double>(), 943.023734762, 1e-9);
  EXPECT_REL(fit["fixed_effects"][0]["estimate"].get<double>(), 28.56160523213, 1e-5);
  EXPECT_REL(fit["fixed_effects"][1]["estimate"].get<double>(), -1.45241255538, 1e-5);
  EXPECT_EQ(fit["random_effects"][0]["factor"], "client");
  EXPECT_REL(fit["random_effects"][1]["covariance"][0][0].get<double>(), 2.574642553358, 2e-3);
  EXPECT_REL(fit["residual_variance"].get<double>(), 5.637829887695, 2e-3);
  EXPECT_EQ(fit["groups"]["client"], 30);
  EXPECT_EQ(fit["groups"]["therapist"], 6);

  // The fixed form of the command: columns y, t, client, therapist; y ~ 1 + t.
  {
    std::ifstream in(data);
    std::string header;
    std::getline(in, header);
    ASSERT_EQ(header, "y,t,client,therapist,alliance");
  }
  const auto& fixed_path = data;
  const auto fixed = Rapport({"fit", "lmm", "--input", fixed_path.string(), "--levels", "3"});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  const Json summary = Json::parse(fixed.out);
  EXPECT_REL(summary["criterion"].get<double>(), 943.023734762, 1e-9);
  EXPECT_TRUE(summary["reml"].get<bool>());
  EXPECT_REL(summary["fixef"]["t"].get<double>(), -1.45241255538, 1e-5);
  EXPECT_REL(summary["se"]["(Intercept)"].get<double>(), 1.052680084794, 2e-3);
  EXPECT_REL(summary["varcomp"]["client"]["var_intercept"].get<double>(), 17.502620618193, 2e-3);
  EXPECT_REL(summary["varcomp"]["client"]["cov"].get<double>(), 1.294825345116, 2e-3);
  EXPECT_REL(summary["varcomp"]["therapist"]["var_intercept"].get<double>(), 2.574642553358, 2e-3);
  EXPECT_REL(summary["varcomp"]["residual"].get<double>(), 5.637829887695, 2e-3);
  EXPECT_EQ(summary["n_obs"], 180);
  EXPECT_EQ(summary["n_client"], 30);
  EXPECT_EQ(summary["theta"].size(), 4u);
  const auto ml = Json::parse(
      Rapport({"fit", "lmm", "--input", fixed_path.string(), "--levels", "3", "--ml"}).out);
  EXPECT_LE(ml["criterion"].get<double>(), 943.148475907 + 1e-6);
  EXPECT_REL(ml["criterion"].get<double>(), 943.148475907, 1e-6);
  const auto two = Json::parse(
      Rapport({"fit", "lmm", "--input", fixed_path.string(), "--random", "intercept"}).out);
  EXPECT_TRUE(two["varcomp"]["therapist"].is_null());
  EXPECT_TRUE(two["varcomp"]["client"]["var_t"].is_null());
  EXPECT_EQ(Rapport({"fit", "lmm", "--input", fixed_path.string(), "--levels", "4"}).exit_code, 2);

  // SCIENCE.md §11.6: the ETR model on ln(session + 1) needs the column; §11.7 likewise.
  // (Fitted through the library in src/stats tests.)
}

TEST(CliFit, SleepstudyAndPastesMatchLme4Golden) {
  testing::TempDir dir;
  const auto sleep = dir.path() / "sleepstudy.csv";
  const auto pastes = dir.path() / "pastes.csv";
  RunR(dir,
       "suppressMessages(library(lme4))\n"
       "write.csv(sleepstudy, '" +
           sleep.string() +
           "', row.names = FALSE)\n"
           "write.csv(Pastes, '" +
           pastes.string() + "', row.names = FALSE)\n");
  // SCIENCE.md §11.3.
  Json fit = FitLmm(sleep, "Reaction ~ Days + (Days | Subject)", {"--ranef"});
  EXPECT_REL(fit["reml_criterion"].get<double>(), 1743.62827196, 1e-9);
  EXPECT_REL(fit["fixed_effects"][0]["estimate"].get<double>(), 251.40510485, 1e-5);
  EXPECT_REL(fit["fixed_effects"][1]["std_error"].get<double>(), 1.545789644, 2e-3);
  EXPECT_REL(fit["random_effects"][0]["covariance"][0][0].get<double>(), 612.10015802477, 2e-3);
  EXPECT_REL(fit["random_effects"][0]["covariance"][1][1].get<double>(), 35.07171445094, 2e-3);
  EXPECT_REL(fit["random_effects"][0]["correlation"][0][1].get<double>(), 0.0655512382381, 2e-2);
  EXPECT_REL(fit["residual_variance"].get<double>(), 654.94000825996, 2e-3);
  const Json& s308 = fit["conditional_modes"][0]["levels"]["308"];
  EXPECT_REL(s308["mode"][0].get<double>(), 2.25855095, 1e-4);
  EXPECT_REL(s308["mode"][1].get<double>(), 9.198975766, 1e-4);
  EXPECT_REL(s308["cond_sd"][0].get<double>(), 12.070856951, 1e-4);
  EXPECT_REL(s308["cond_sd"][1].get<double>(), 2.304839021, 1e-4);
  fit = FitLmm(sleep, "Reaction ~ Days + (Days | Subject)", {"--ml"});
  EXPECT_LE(fit["deviance"].get<double>(), 1751.93934449 + 1e-6);
  EXPECT_REL(fit["deviance"].get<double>(), 1751.93934449, 1e-9);
  EXPECT_REL(fit["aic"].get<double>(), 1763.93934449, 1e-9);
  EXPECT_REL(fit["bic"].get<double>(), 1783.09708559, 1e-9);
  fit = FitLmm(sleep, "Reaction ~ Days + (1 | Subject)");
  EXPECT_REL(fit["reml_criterion"].get<double>(), 1786.46508539, 1e-9);
  EXPECT_REL(fit["theta"][0].get<double>(), 1.19788153283, 2e-3);
  fit = FitLmm(sleep, "Reaction ~ Days + (Days || Subject)");
  EXPECT_REL(fit["reml_criterion"].get<double>(), 1743.66929358, 1e-9);
  EXPECT_REL(fit["random_effects"][0]["covariance"][1][1].get<double>(), 35.8583796394, 2e-3);
  // SCIENCE.md §11.4: nested random intercepts.
  fit = FitLmm(pastes, "strength ~ 1 + (1 | batch/cask)");
  EXPECT_REL(fit["reml_criterion"].get<double>(), 246.990745853, 1e-9);
  EXPECT_REL(fit["fixed_effects"][0]["estimate"].get<double>(), 60.0533333333, 1e-5);
  EXPECT_REL(fit["fixed_effects"][0]["std_error"].get<double>(), 0.676870215074, 2e-3);
  EXPECT_EQ(fit["random_effects"][0]["factor"], "batch:cask");
  EXPECT_REL(fit["random_effects"][0]["covariance"][0][0].get<double>(), 8.433665931295, 2e-3);
  EXPECT_REL(fit["random_effects"][1]["covariance"][0][0].get<double>(), 1.657310911834, 2e-3);
  fit = FitLmm(pastes, "strength ~ 1 + (1 | batch/cask)", {"--ml"});
  EXPECT_REL(fit["deviance"].get<double>(), 247.994465863, 1e-9);
}

// Fresh data each run of the generator: lme4 and rapport fit the same file here and now.
TEST(CliFit, SimulatedThreeLevelMatchesLme4Live) {
  testing::TempDir dir;
  const auto data = dir.path() / "cohort.csv";
  ASSERT_EQ(Rapport({"simulate", "--seed", "20240611", "--clients", "400", "--therapists", "20",
                     "--out", data.string()})
                .exit_code,
            0);
  for (const bool ml : {false, true}) {
    const std::string formula = "y ~ t + (1 | therapist) + (t | client)";
    const Json fit =
        FitLmm(data, formula, ml ? std::vector<std::string>{"--ml"} : std::vector<std::string>{});
    auto r = RunR(dir,
                  "suppressMessages(library(lme4))\n"
                  "d <- read.csv('" +
                      data.string() +
                      "')\n"
                      "m <- lmer(" +
                      formula + ", d, REML = " + (ml ? "FALSE" : "TRUE") +
                      ")\n"
                      "f <- function(n, v) cat(n, sprintf('%.15g', v), '\\n')\n"
                      "f('criterion', if (isREML(m)) REMLcrit(m) else deviance(m))\n"
                      "f('b0', fixef(m)[1]); f('b1', fixef(m)[2])\n"
                      "f('se1', sqrt(diag(as.matrix(vcov(m))))[2])\n"
                      "v <- VarCorr(m)\n"
                      "f('client_int', v$client[1, 1]); f('client_slope', v$client[2, 2])\n"
                      "f('client_cov', v$client[1, 2]); f('therapist', v$therapist[1, 1])\n"
                      "f('sigma2', sigma(m)^2)\n");
    ASSERT_EQ(r.size(), 9u);
    const std::string criterion = ml ? "deviance" : "reml_criterion";
    EXPECT_LE(fit[criterion].get<double>(), r["criterion"] * (1 + 1e-6)) << ml;
    EXPECT_REL(fit[criterion].get<double>(), r["criterion"], 1e-6) << ml;
    EXPECT_REL(fit["fixed_effects"][0]["estimate"].get<double>(), r["b0"], 1e-5);
    EXPECT_REL(fit["fixed_effects"][1]["estimate"].get<double>(), r["b1"], 1e-5);
    EXPECT_REL(fit["fixed_effects"][1]["std_error"].get<double>(), r["se1"], 2e-3);
    const Json& client = fit["random_effects"][0]["covariance"];
    EXPECT_REL(client[0][0].get<double>(), r["client_int"], 2e-3);
    EXPECT_REL(client[1][1].get<double>(), r["client_slope"], 2e-3);
    EXPECT_REL(client[0][1].get<double>(), r["client_cov"], 2e-2);
    EXPECT_REL(fit["random_effects"][1]["covariance"][0][0].get<double>(), r["therapist"], 2e-3);
    EXPECT_REL(fit["residual_variance"].get<double>(), r["sigma2"], 2e-3);
  }
}

// `rapport simulate` writes the issue's columns; `fit lmm --input` on them equals a live lme4 fit
// of y ~ 1 + t for each --levels/--random form, key by key.
TEST(CliFit, FixedFormOnSimulatedDataMatchesLme4Live) {
  testing::TempDir dir;
  const auto data = dir.path() / "cohort.csv";
  ASSERT_EQ(Rapport({"simulate", "--seed", "7", "--clients", "300", "--therapists", "15", "--out",
                     data.string()})
                .exit_code,
            0);
  {
    std::ifstream in(data);
    std::string header;
    std::getline(in, header);
    EXPECT_EQ(header, "y,t,client,therapist");
  }
  struct Form {
    std::vector<std::string> args;
    std::string formula;
    bool ml;
  };
  const std::vector<Form> forms = {
      {{}, "y ~ 1 + t + (t | client)", false},
      {{"--random", "intercept", "--ml"}, "y ~ 1 + t + (1 | client)", true},
      {{"--levels", "3", "--random", "intercept"},
       "y ~ 1 + t + (1 | therapist) + (1 | client)",
       false},
      {{"--levels", "3", "--random", "slope", "--ml"},
       "y ~ 1 + t + (1 | therapist) + (t | client)",
       true}};
  for (const Form& form : forms) {
    std::vector<std::string> args = {"fit", "lmm", "--input", data.string()};
    args.insert(args.end(), form.args.begin(), form.args.end());
    const auto result = Rapport(args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const Json fit = Json::parse(result.out);
    auto r = RunR(dir,
                  "suppressMessages(library(lme4))\n"
                  "d <- read.csv('" +
                      data.string() + "')\nm <- lmer(" + form.formula +
                      ", d, REML = " + (form.ml ? "FALSE" : "TRUE") +
                      ")\n"
                      "f <- function(n, v) cat(n, sprintf('%.15g', v), '\\n')\n"
                      "f('criterion', if (isREML(m)) REMLcrit(m) else deviance(m))\n"
                      "f('b0', fixef(m)[1]); f('b1', fixef(m)[2])\n"
                      "se <- sqrt(diag(as.matrix(vcov(m)))); f('se0', se[1]); f('se1', se[2])\n"
                      "v <- VarCorr(m); c <- v$client\n"
                      "f('var_intercept', c[1, 1])\n"
                      "if (ncol(c) > 1) { f('var_t', c[2, 2]); f('cov', c[1, 2]) }\n"
                      "if (!is.null(v$therapist)) f('therapist', v$therapist[1, 1])\n"
                      "f('sigma2', sigma(m)^2); f('n_client', ngrps(m)[['client']])\n");
    const std::string where = form.formula + (form.ml ? " ML" : " REML");
    ASSERT_GE(r.size(), 8u) << where;
    EXPECT_EQ(fit["reml"].get<bool>(), !form.ml) << where;
    EXPECT_LE(fit["criterion"].get<double>(), r["criterion"] * (1 + 1e-6)) << where;
    EXPECT_REL(fit["criterion"].get<double>(), r["criterion"], 1e-6) << where;
    EXPECT_REL(fit["fixef"]["(Intercept)"].get<double>(), r["b0"], 1e-5) << where;
    EXPECT_REL(fit["fixef"]["t"].get<double>(), r["b1"], 1e-5) << where;
    EXPECT_REL(fit["se"]["(Intercept)"].get<double>(), r["se0"], 2e-3) << where;
    EXPECT_REL(fit["se"]["t"].get<double>(), r["se1"], 2e-3) << where;
    const Json& client = fit["varcomp"]["client"];
    EXPECT_REL(client["var_intercept"].get<double>(), r["var_intercept"], 2e-3) << where;
    if (r.count("var_t") != 0) {
      EXPECT_REL(client["var_t"].get<double>(), r["var_t"], 2e-3) << where;
      EXPECT_REL(client["cov"].get<double>(), r["cov"], 2e-2) << where;
      EXPECT_EQ(fit["theta"].size(), r.count("therapist") != 0 ? 4u : 3u) << where;
    } else {
      EXPECT_TRUE(client["var_t"].is_null()) << where;
      EXPECT_TRUE(client["cov"].is_null()) << where;
    }
    if (r.count("therapist") != 0) {
      EXPECT_REL(fit["varcomp"]["therapist"]["var_intercept"].get<double>(), r["therapist"], 2e-3)
          << where;
    } else {
      EXPECT_TRUE(fit["varcomp"]["therapist"].is_null()) << where;
    }
    EXPECT_REL(fit["varcomp"]["residual"].get<double>(), r["sigma2"], 2e-3) << where;
    EXPECT_EQ(fit["n_client"].get<double>(), r["n_client"]) << where;
    EXPECT_TRUE(fit["converged"].get<bool>()) << where;
    EXPECT_GT(fit["iterations"].get<int>(), 0) << where;
    EXPECT_GE(fit["fit_seconds"].get<double>(), 0) << where;
  }
}

// SCIENCE.md §11.8: psych::omega on the Thurstone and Harman74 correlation matrices (exported by
// R in the test), and omega and alpha on raw answers (bfi, 25 items with missing answers)
// against a live psych run.
TEST(CliFit, ReliabilitySummaryMatchesPsychOmega) {
  testing::TempDir dir;
  const auto thurstone = dir.path() / "thurstone.csv";
  const auto harman = dir.path() / "harman74.csv";
  const auto bfi = dir.path() / "bfi25.csv";
  auto r = RunR(dir,
                "suppressMessages(library(psych))\n"
                "write.csv(Thurstone, '" +
                    thurstone.string() + "', row.names = FALSE)\nwrite.csv(Harman74.cor$cov, '" +
                    harman.string() +
                    "', row.names = FALSE)\n"
                    "b <- bfi[, 1:25]\nwrite.csv(b, '" +
                    bfi.string() +
                    "', row.names = FALSE, na = '')\n"
                    "o <- omega(b, nfactors = 3, plot = FALSE)\n"
                    "f <- function(n, v) cat(n, sprintf('%.15g', v), '\\n')\n"
                    "f('omega_h', o$omega_h); f('omega_t', o$omega.tot)\n"
                    "f('alpha', alpha(b, check.keys = FALSE, warnings = FALSE)$total$raw_alpha)\n");
  ASSERT_EQ(r.size(), 3u);
  auto result = Rapport({"fit", "reliability", "--input", thurstone.string(), "--correlation"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  Json out = Json::parse(result.out);
  EXPECT_NEAR(out["omega_hierarchical"].get<double>(), 0.7360703183, 1e-3);
  EXPECT_NEAR(out["omega_total"].get<double>(), 0.9308254149, 1e-3);
  EXPECT_NEAR(out["alpha"].get<double>(), 0.8914575356, 1e-9);
  EXPECT_TRUE(out["n"].is_null());
  result = Rapport(
      {"fit", "reliability", "--input", harman.string(), "--correlation", "--factors", "4"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  out = Json::parse(result.out);
  EXPECT_NEAR(out["omega_hierarchical"].get<double>(), 0.6449540163, 1e-3);
  EXPECT_NEAR(out["omega_total"].get<double>(), 0.9341490711, 1e-3);
  EXPECT_NEAR(out["alpha"].get<double>(), 0.9118768869, 1e-9);
  result = Rapport({"fit", "reliability", "--input", bfi.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  out = Json::parse(result.out);
  EXPECT_NEAR(out["omega_hierarchical"].get<double>(), r["omega_h"], 1e-3);
  EXPECT_NEAR(out["omega_total"].get<double>(), r["omega_t"], 1e-3);
  EXPECT_NEAR(out["alpha"].get<double>(), r["alpha"], 1e-9);
  EXPECT_EQ(out["n"], 2800);
  EXPECT_EQ(out.size(), 4u);
}

TEST(CliFit, ReliabilityMatchesPsych) {
  testing::TempDir dir;
  const auto attitude = dir.path() / "attitude.csv";
  const auto bfi = dir.path() / "bfi.csv";
  RunR(dir,
       "suppressMessages(library(psych))\n"
       "write.csv(datasets::attitude, '" +
           attitude.string() +
           "', row.names = FALSE)\n"
           "a <- bfi[, c('A1','A2','A3','A4','A5')]; a$A1 <- 7 - a$A1\n"
           "write.csv(a, '" +
           bfi.string() + "', row.names = FALSE, na = '')\n");
  auto result = Rapport({"fit", "reliability", "--data", attitude.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  Json out = Json::parse(result.out);
  // SCIENCE.md §11.8.
  EXPECT_NEAR(out["alpha"]["raw"].get<double>(), 0.8431427696, 1e-9);
  EXPECT_NEAR(out["alpha"]["standardized"].get<double>(), 0.839083803, 1e-9);
  EXPECT_NEAR(out["alpha"]["average_r"].get<double>(), 0.4269066426, 1e-9);
  result = Rapport({"fit", "reliability", "--data", bfi.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  out = Json::parse(result.out);
  EXPECT_NEAR(out["alpha"]["raw"].get<double>(), 0.7030184461, 1e-9);
  EXPECT_NEAR(out["alpha"]["standardized"].get<double>(), 0.7130285787, 1e-9);
  EXPECT_NEAR(out["alpha"]["average_r"].get<double>(), 0.3319676571, 1e-9);
}

TEST(CliFit, BadInputExitsTwoNamingTheProblem) {
  testing::TempDir dir;
  const auto data = dir.path() / "scores.csv";
  std::ofstream(data) << "client,session,y\n1,0,3\n1,1,x\n2,0,4\n";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"fit", "lmm", "--data", data.string(), "--formula", "y ~ session + (1 | client)"},
            "scores.csv line 3, column 'y': 'x' is not a number"},
           {{"fit", "lmm", "--data", data.string(), "--formula", "y ~ session"},
            "no random-effects term"},
           {{"fit", "lmm", "--data", data.string(), "--formula", "y ~ visit + (1 | client)"},
            "missing column 'visit'"},
           {{"fit", "lmm", "--data", (dir.path() / "absent.csv").string(), "--formula",
             "y ~ 1 + (1 | client)"},
            "absent.csv"},
           {{"fit", "reliability", "--data", data.string(), "--items", "session,y"},
            "scores.csv line 3, column 'y'"},
           {{"simulate", "--clients", "10", "--therapists", "20"}, "therapists"}}) {
    const auto result = Rapport(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.message;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
  }
  const auto fixed = dir.path() / "fixed.csv";
  std::ofstream(fixed) << "y,t,client,therapist\n3,0,a,T1\n2,1,a,T1\n4,0,b,T2\nx,1,b,T2\n";
  const auto crossed = dir.path() / "crossed.csv";
  std::ofstream(crossed)
      << "y,t,client,therapist\n3,0,a,T1\n2,1,a,T2\n4,0,b,T2\n5,1,b,T2\n6,0,c,T1\n";
  const auto no_t = dir.path() / "no_t.csv";
  std::ofstream(no_t) << "y,session,client\n3,0,a\n2,1,a\n";
  const auto items = dir.path() / "items.csv";
  std::ofstream(items) << "q1,q2,q3\n1,2,3\n2,3,4\n3,x,5\n";
  for (const Case& c : std::vector<Case>{
           {{"fit", "lmm", "--input", fixed.string()}, "fixed.csv line 5, column 'y'"},
           {{"fit", "lmm", "--input", crossed.string(), "--levels", "3"},
            "client 'a' appears under therapist 'T1' and 'T2'"},
           {{"fit", "lmm", "--input", no_t.string()}, "missing column 't'"},
           {{"fit", "lmm", "--input", fixed.string(), "--random", "quadratic"}, "quadratic"},
           {{"fit", "reliability", "--input", items.string()}, "items.csv line 4, column 'q2'"}}) {
    const auto result = Rapport(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.message;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
  }
  EXPECT_EQ(Rapport({"fit"}).exit_code, 2);
  EXPECT_EQ(Rapport({"fit", "lmm", "--data", data.string()}).exit_code, 2);
}

}  // namespace
}  // namespace rapport
