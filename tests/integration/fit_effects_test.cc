// `rapport fit therapists` and `rapport fit within-between` through the real binary, against
// SCIENCE.md §11.7 and against lme4 (from Debian) run on the same file in the test.
// Tolerances: SCIENCE.md §10.2.
#include <cmath>
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
}

}  // namespace
}  // namespace rapport
