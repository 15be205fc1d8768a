// Expected treatment response: the worked example of SCIENCE.md §11.6 (lme4 1.1-31 on the
// deterministic data of §11.5), empirical-Bayes predictions against lme4's conditional modes,
// the intake-covariate model against lme4, the not-on-track rule and the stored JSON form.
// Tolerances: SCIENCE.md §10.2.
#include "stats/etr.h"

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "sim/three_level.h"
#include "testing/testing.h"

namespace rapport::stats {
namespace {

using Json = nlohmann::json;

#define EXPECT_REL(actual, expected, tolerance) \
  EXPECT_NEAR(actual, expected, (tolerance)*std::abs(expected))

// SCIENCE.md §10.2.
constexpr double kCriterion = 1e-9;  // relative to the golden value at the optimum
constexpr double kFixedEffects = 1e-5;
constexpr double kVariance = 2e-3;
// The predictive formulas evaluated at lme4's own estimates: exact up to the 12 digits
// SCIENCE.md §11.6 prints.
constexpr double kFormula = 1e-10;

// The 180 rows of SCIENCE.md §11.5: sessions 0-based, client ids "1".."30".
std::vector<EtrRow> ScienceRows() {
  std::vector<EtrRow> rows;
  for (const sim::SessionRow& row : sim::ScienceFixture()) {
    rows.push_back({std::to_string(row.client), static_cast<double>(row.session), row.y, 0});
  }
  return rows;
}

// lme4 1.1-31: lmer(y ~ lt + (lt | client)), lt = log(session + 1), REML, on those rows
// (SCIENCE.md §11.6, here with the 15 digits R prints).
EtrModel Lme4Model() {
  EtrModel model;
  model.beta = Eigen::Vector2d(29.2978546537717, -4.00010898206802);
  model.beta_se = Eigen::Vector2d(0.876742137845386, 0.487074183627935);
  model.g << 18.1482808296404, 3.03970482925285, 3.03970482925285, 3.77167965131148;
  model.sigma2 = 6.92703129366578;
  model.provenance.instrument_id = "science-fixture";
  model.provenance.clients = 30;
  model.provenance.observations = 180;
  model.provenance.fitted_at = FromUnixMillis(1'790'000'000'000);
  model.provenance.reml_criterion = 967.369155946552;
  model.provenance.converged = true;
  return model;
}

TEST(Etr, FitReproducesScienceWorkedExample) {
  EtrFitOptions options;
  options.provenance.instrument_id = "science-fixture";
  options.provenance.fitted_at = FromUnixMillis(1'790'000'000'000);
  const auto model = FitEtr(ScienceRows(), options);
  ASSERT_OK(model);
  // SCIENCE.md §11.6.
  EXPECT_LE(model->provenance.reml_criterion, 967.369155947 + 1e-6);
  EXPECT_REL(model->provenance.reml_criterion, 967.369155947, kCriterion);
  ASSERT_EQ(model->beta.size(), 2);
  EXPECT_REL(model->beta[0], 29.29785465377, kFixedEffects);
  EXPECT_REL(model->beta[1], -4.00010898207, kFixedEffects);
  EXPECT_REL(model->beta_se[0], 0.876742137845386, kVariance);  // lme4 vcov
  EXPECT_REL(model->beta_se[1], 0.487074183627935, kVariance);
  EXPECT_REL(model->g(0, 0), 18.14828082964, kVariance);
  EXPECT_REL(model->g(0, 1), 3.03970482925, kVariance);
  EXPECT_EQ(model->g(1, 0), model->g(0, 1)) << "exactly symmetric, as stored";
  EXPECT_REL(model->g(1, 1), 3.77167965131, kVariance);
  EXPECT_REL(model->sigma2, 6.92703129367, kVariance);
  EXPECT_EQ(model->provenance.clients, 30);
  EXPECT_EQ(model->provenance.observations, 180);
  EXPECT_TRUE(model->provenance.converged);
  EXPECT_FALSE(model->provenance.singular);
  EXPECT_EQ(model->provenance.instrument_id, "science-fixture");
  EXPECT_FALSE(model->has_covariate());
  EXPECT_OK(EtrModelFromJson(EtrModelToJson(*model)));

  // The predictive quantities of §11.6 from the fitted model: means depend on β (1e-5),
  // variances and covariances on G and σ² (2e-3).
  const auto intake = Predict(*model, 0);
  ASSERT_OK(intake);
  EXPECT_REL(intake->mean, 29.2978546538, kFixedEffects);
  EXPECT_REL(intake->sd(), 5.00752554894, kVariance);
  const auto session4 = Predict(*model, 4);
  ASSERT_OK(session4);
  EXPECT_REL(session4->mean, 22.8599276042, kFixedEffects);
  EXPECT_REL(session4->sd(), 6.68053067375, kVariance);
  EXPECT_REL(PredictiveCovariance(*model, 4, 0), 23.0404970244, kVariance);
  const auto given = PredictGivenIntake(*model, 4, 35);
  ASSERT_OK(given);
  // μ_{4|0} = μ_4 + (C/V_0)(35 − μ_0): the shift of 5.24 points carries the 2e-3 of the
  // variance ratio, the rest the 1e-5 of β.
  EXPECT_NEAR(given->mean, 28.0993544251, kFixedEffects * 28.1 + kVariance * 5.24);
  EXPECT_REL(given->sd(), 4.84341683977, kVariance);
  const auto upper = TestNotOnTrack(*given, 35, ScoreDirection::kHigherIsWorse);
  ASSERT_OK(upper);
  EXPECT_NEAR(upper->boundary, 34.3064428587,
              kFixedEffects * 28.1 + kVariance * (5.24 + 1.2816 * 4.84));
  const auto lower = TestNotOnTrack(*given, 20, ScoreDirection::kHigherIsBetter);
  ASSERT_OK(lower);
  EXPECT_NEAR(lower->boundary, 21.8922659915,
              kFixedEffects * 28.1 + kVariance * (5.24 + 1.2816 * 4.84));
}

TEST(Etr, PredictiveFormulasAtLme4EstimatesMatchScienceExactly) {
  const EtrModel model = Lme4Model();
  // SCIENCE.md §11.6.
  const auto intake = Predict(model, 0);
  ASSERT_OK(intake);
  EXPECT_REL(intake->mean, 29.2978546538, kFormula);
  EXPECT_REL(intake->sd(), 5.00752554894, kFormula);
  const auto session4 = Predict(model, 4);
  ASSERT_OK(session4);
  EXPECT_REL(session4->mean, 22.8599276042, kFormula);
  EXPECT_REL(session4->sd(), 6.68053067375, kFormula);
  EXPECT_REL(PredictiveCovariance(model, 4, 0), 23.0404970244, kFormula);
  EXPECT_REL(PredictiveCovariance(model, 0, 4), 23.0404970244, kFormula);
  const auto given = PredictGivenIntake(model, 4, 35);
  ASSERT_OK(given);
  EXPECT_REL(given->mean, 28.0993544251, kFormula);
  EXPECT_REL(given->sd(), 4.84341683977, kFormula);

  // The one-sided 90% boundaries, z = 1.28155156554.
  const auto worse = TestNotOnTrack(*given, 34.4, ScoreDirection::kHigherIsWorse, 90);
  ASSERT_OK(worse);
  EXPECT_REL(worse->boundary, 34.3064428587, kFormula);
  EXPECT_EQ(worse->percentile, 90);
  EXPECT_TRUE(worse->not_on_track);
  EXPECT_FALSE(TestNotOnTrack(*given, 34.3, ScoreDirection::kHigherIsWorse)->not_on_track);
  EXPECT_FALSE(TestNotOnTrack(*given, 10, ScoreDirection::kHigherIsWorse)->not_on_track);
  const auto better = TestNotOnTrack(*given, 21.8, ScoreDirection::kHigherIsBetter);
  ASSERT_OK(better);
  EXPECT_REL(better->boundary, 21.8922659915, kFormula);
  EXPECT_TRUE(better->not_on_track);
  EXPECT_FALSE(TestNotOnTrack(*given, 22, ScoreDirection::kHigherIsBetter)->not_on_track);
  EXPECT_FALSE(TestNotOnTrack(*given, 40, ScoreDirection::kHigherIsBetter)->not_on_track);
  // A stricter 80% boundary lies nearer the mean.
  const auto eighty = TestNotOnTrack(*given, 33, ScoreDirection::kHigherIsWorse, 80);
  ASSERT_OK(eighty);
  EXPECT_REL(eighty->boundary, given->mean + 0.841621233572914 * given->sd(), kFormula);
  EXPECT_TRUE(eighty->not_on_track);

  // Percentile bands 10/25/50/75/90: μ ± z_p √V (SCIENCE.md §4.3).
  const std::vector<EtrBand> bands = PercentileBands(*given);
  ASSERT_EQ(bands.size(), 5u);
  const double z[] = {-1.2815515655446, -0.674489750196082, 0, 0.674489750196082, 1.2815515655446};
  for (size_t index = 0; index < 5; ++index) {
    EXPECT_EQ(bands[index].percentile, kEtrBandPercentiles[index]);
    EXPECT_NEAR(bands[index].value, given->mean + z[index] * given->sd(), 1e-12);
  }
  EXPECT_REL(bands[0].value, 21.8922659915, kFormula);
  EXPECT_REL(bands[4].value, 34.3064428587, kFormula);
}

// Conditioning on every observed score is the empirical-Bayes prediction: for a client of the
// fitted data it equals z_tᵀ(β̂ + b̃_i) with lme4's conditional modes b̃_i, and its variance is
// z_tᵀ PV_i z_t + σ² with lme4's conditional variance PV_i (ranef(condVar = TRUE)).
TEST(Etr, EmpiricalBayesMatchesLme4ConditionalModes) {
  const EtrModel model = Lme4Model();
  struct Client {
    int64_t id;
    double b0, b1;
    double pv00, pv01, pv11;
  };
  // lme4 1.1-31 on SCIENCE.md §11.5: ranef(m, condVar = TRUE)$client and attr "postVar".
  const Client clients[] = {
      {1, 3.43734972536553, 1.95958126006544, 2.26997575362821, -1.11765534535324, 1.7586917719266},
      {7, -2.8412249515333, 0.269585083456365, 2.24811352500605, -1.19712986763094,
       1.46978253945857}};
  for (const Client& client : clients) {
    std::vector<ObservedScore> observed;
    for (const sim::SessionRow& row : sim::ScienceFixture()) {
      if (row.client == client.id) observed.push_back({static_cast<double>(row.session), row.y});
    }
    ASSERT_GE(observed.size(), 4u);
    for (const double session : {0.0, 3.0, 9.0}) {
      const auto eb = PredictGivenScores(model, session, observed);
      ASSERT_OK(eb);
      const double f = std::log1p(session);
      const double mean = model.beta[0] + client.b0 + (model.beta[1] + client.b1) * f;
      const double variance =
          client.pv00 + 2 * f * client.pv01 + f * f * client.pv11 + model.sigma2;
      EXPECT_REL(eb->mean, mean, 1e-9) << client.id << " session " << session;
      EXPECT_REL(eb->variance, variance, 1e-8) << client.id << " session " << session;
    }
  }
  // With the intake alone it is the Gaussian conditioning of §4.3; with nothing, unconditional.
  const ObservedScore intake{0, 35};
  const auto one = PredictGivenScores(model, 4, std::span<const ObservedScore>(&intake, 1));
  const auto direct = PredictGivenIntake(model, 4, 35);
  ASSERT_OK(one);
  ASSERT_OK(direct);
  EXPECT_DOUBLE_EQ(one->mean, direct->mean);
  EXPECT_DOUBLE_EQ(one->variance, direct->variance);
  const auto none = PredictGivenScores(model, 4, {});
  ASSERT_OK(none);
  EXPECT_DOUBLE_EQ(none->mean, Predict(model, 4)->mean);
  EXPECT_DOUBLE_EQ(none->variance, Predict(model, 4)->variance);
}

// The intake as a client-level covariate: lmer(y ~ lt * x + (lt | client)) on the rows after
// the intake, x = the client's session-0 score (lme4 1.1-31, R 4.2.2, on SCIENCE.md §11.5).
TEST(Etr, IntakeCovariateModelMatchesLme4) {
  std::map<std::string, double> intake;
  for (const EtrRow& row : ScienceRows()) {
    if (row.session == 0) intake[row.client] = row.score;
  }
  std::vector<EtrRow> rows;
  for (EtrRow row : ScienceRows()) {
    if (row.session == 0) continue;
    row.covariate = intake[row.client];
    rows.push_back(row);
  }
  EtrFitOptions options;
  options.covariate = "intake";
  const auto model = FitEtr(rows, options);
  ASSERT_OK(model);
  EXPECT_LE(model->provenance.reml_criterion, 774.706484941823 + 1e-6);
  EXPECT_REL(model->provenance.reml_criterion, 774.706484941823, kCriterion);
  EXPECT_EQ(model->FixedNames(),
            (std::vector<std::string>{"(Intercept)", "f(t)", "intake", "intake:f(t)"}));
  const double beta[] = {13.113061754444072, -11.292075040129896, 0.642811065192698,
                         0.207087573533336};
  const double se[] = {5.440668537553011, 4.322561692400228, 0.188816760678351, 0.150117232137128};
  for (int index = 0; index < 4; ++index) {
    EXPECT_REL(model->beta[index], beta[index], kFixedEffects) << index;
    EXPECT_REL(model->beta_se[index], se[index], kVariance) << index;
  }
  EXPECT_REL(model->g(0, 0), 11.34365827248726, kVariance);
  EXPECT_REL(model->g(0, 1), -5.16686070396717, kVariance);
  EXPECT_REL(model->g(1, 1), 7.76604907092249, kVariance);
  EXPECT_REL(model->sigma2, 5.8529058713607, kVariance);
  EXPECT_EQ(model->provenance.clients, 30);
  EXPECT_EQ(model->provenance.observations, 150);

  // The expected course depends on the intake: μ_t = β0 + β1 f + (β2 + β3 f) x.
  const auto at4 = Predict(*model, 4, 35.0);
  ASSERT_OK(at4);
  const double f = std::log(5.0);
  EXPECT_NEAR(at4->mean,
              model->beta[0] + model->beta[1] * f + (model->beta[2] + model->beta[3] * f) * 35,
              1e-12);
  EXPECT_EQ(Predict(*model, 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Predict(Lme4Model(), 4, 35.0).status().code(), StatusCode::kInvalidArgument);

  // A covariate that changes within a client is refused, naming the client.
  rows[1].covariate += 1;
  const auto bad = FitEtr(rows, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("client '1' has two values of intake"), std::string::npos)
      << bad.status().message();
}

TEST(Etr, OneBasedSessionsGiveTheSameModel) {
  std::vector<EtrRow> rows = ScienceRows();
  for (EtrRow& row : rows) row.session += 1;
  EtrFitOptions options;
  options.origin = SessionOrigin::kOneBased;
  const auto one_based = FitEtr(rows, options);
  const auto zero_based = FitEtr(ScienceRows(), {});
  ASSERT_OK(one_based);
  ASSERT_OK(zero_based);
  EXPECT_REL(one_based->provenance.reml_criterion, zero_based->provenance.reml_criterion, 1e-12);
  EXPECT_REL(one_based->beta[1], zero_based->beta[1], 1e-8);
  EXPECT_REL(one_based->g(1, 1), zero_based->g(1, 1), 1e-6);
  EXPECT_EQ(one_based->IntakeSession(), 1);
  // The intake is session 1 now; session 0 does not exist.
  EXPECT_NEAR(Predict(*one_based, 5)->mean, Predict(*zero_based, 4)->mean, 1e-8);
  EXPECT_EQ(Predict(*one_based, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(Etr, RefusesTooFewClientsAndBadRows) {
  std::vector<EtrRow> rows;
  for (const EtrRow& row : ScienceRows()) {
    if (row.client == "1" || row.client == "2") rows.push_back(row);
  }
  auto fit = FitEtr(rows, {});
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(fit.status().message().find("at least 3 clients; the data have 2"), std::string::npos)
      << fit.status().message();

  rows = ScienceRows();
  rows[4].session = -1;
  fit = FitEtr(rows, {});
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.status().message().find("row 5: session -1"), std::string::npos)
      << fit.status().message();

  rows = ScienceRows();
  rows[2].score = std::nan("");
  EXPECT_EQ(FitEtr(rows, {}).status().code(), StatusCode::kInvalidArgument);
  rows = ScienceRows();
  rows[0].client.clear();
  EXPECT_EQ(FitEtr(rows, {}).status().code(), StatusCode::kInvalidArgument);
  // Every row at the intake: f(t) is all zero.
  rows.clear();
  for (int client = 0; client < 5; ++client) rows.push_back({std::to_string(client), 0, 10, 0});
  EXPECT_EQ(FitEtr(rows, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Etr, PredictionErrors) {
  const EtrModel model = Lme4Model();
  EXPECT_EQ(Predict(model, -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Predict(model, std::nan("")).status().code(), StatusCode::kInvalidArgument);
  const ObservedScore bad{2, std::nan("")};
  EXPECT_EQ(PredictGivenScores(model, 3, std::span<const ObservedScore>(&bad, 1)).status().code(),
            StatusCode::kInvalidArgument);
  const auto prediction = Predict(model, 3);
  ASSERT_OK(prediction);
  for (const double percentile : {50.0, 100.0, 0.0, std::nan("")}) {
    EXPECT_EQ(
        TestNotOnTrack(*prediction, 20, ScoreDirection::kHigherIsWorse, percentile).status().code(),
        StatusCode::kInvalidArgument)
        << percentile;
  }
  EXPECT_EQ(
      TestNotOnTrack(*prediction, std::nan(""), ScoreDirection::kHigherIsWorse).status().code(),
      StatusCode::kInvalidArgument);
}

TEST(Etr, JsonRoundTripsExactly) {
  EtrModel model = Lme4Model();
  model.provenance.data_from = FromUnixMillis(1'700'000'000'000);
  model.provenance.data_to = FromUnixMillis(1'780'000'000'000);
  const Json json = EtrModelToJson(model);
  EXPECT_EQ(json["kind"], "etr");
  EXPECT_EQ(json["time"]["f"], "ln(t + 1)");
  EXPECT_TRUE(json["covariate"].is_null());
  EXPECT_EQ(json["provenance"]["clients"], 30);
  EXPECT_EQ(json["provenance"]["fitted_at"], FormatTimestamp(model.provenance.fitted_at));
  // Through text, as the store keeps it.
  const auto back = EtrModelFromJson(Json::parse(json.dump()));
  ASSERT_OK(back);
  EXPECT_EQ(back->beta, model.beta);
  EXPECT_EQ(back->beta_se, model.beta_se);
  EXPECT_EQ(back->g, model.g);
  EXPECT_EQ(back->sigma2, model.sigma2);
  EXPECT_EQ(back->origin, model.origin);
  EXPECT_EQ(back->covariate, "");
  EXPECT_EQ(back->provenance.instrument_id, "science-fixture");
  EXPECT_EQ(back->provenance.data_from, model.provenance.data_from);
  EXPECT_EQ(back->provenance.data_to, model.provenance.data_to);
  EXPECT_EQ(back->provenance.fitted_at, model.provenance.fitted_at);
  EXPECT_EQ(back->provenance.clients, 30);
  EXPECT_EQ(back->provenance.observations, 180);
  EXPECT_EQ(back->provenance.reml_criterion, model.provenance.reml_criterion);
  EXPECT_TRUE(back->provenance.converged);
  EXPECT_EQ(EtrModelToJson(*back), json);

  model.origin = SessionOrigin::kOneBased;
  model.covariate = "intake";
  model.beta = Eigen::Vector4d(1, 2, 3, 4);
  model.beta_se = Eigen::Vector4d(0.1, 0.2, 0.3, 0.4);
  model.provenance.data_from.reset();
  const auto covariate = EtrModelFromJson(EtrModelToJson(model));
  ASSERT_OK(covariate);
  EXPECT_EQ(covariate->covariate, "intake");
  EXPECT_EQ(covariate->origin, SessionOrigin::kOneBased);
  EXPECT_EQ(covariate->beta, model.beta);
  EXPECT_FALSE(covariate->provenance.data_from.has_value());
}

TEST(Etr, JsonValidationNamesTheField) {
  const Json good = EtrModelToJson(Lme4Model());
  const auto error_for = [&](const std::function<void(Json&)>& change) {
    Json json = good;
    change(json);
    const auto parsed = EtrModelFromJson(json);
    return parsed.ok() ? std::string("(accepted)") : parsed.status().message();
  };
  EXPECT_EQ(error_for([](Json& j) { j["kind"] = "dropout"; }), "etr model: kind: must be \"etr\"");
  EXPECT_EQ(error_for([](Json& j) { j.erase("provenance"); }), "etr model: provenance: is missing");
  EXPECT_EQ(error_for([](Json& j) { j["extra"] = 1; }), "etr model: extra: is not a known field");
  EXPECT_NE(error_for([](Json& j) { j["format"] = 2; }).find("format"), std::string::npos);
  EXPECT_NE(error_for([](Json& j) { j["time"]["f"] = "ln(t)"; }).find("etr model: time:"),
            std::string::npos);
  EXPECT_NE(error_for([](Json& j) { j["covariate"] = "intake"; }).find("fixed_effects.names"),
            std::string::npos);
  EXPECT_EQ(error_for([](Json& j) { j["fixed_effects"]["estimates"][1] = "x"; }),
            "etr model: fixed_effects.estimates[1]: must be a finite number");
  EXPECT_NE(error_for([](Json& j) {
              j["fixed_effects"]["estimates"] = {1};
            }).find("fixed_effects.estimates: must be an array of 2 numbers"),
            std::string::npos);
  EXPECT_NE(error_for([](Json& j) {
              j["random_effects"]["covariance"][0][1] = 100;
            }).find("random_effects.covariance: must be a symmetric positive semi-definite"),
            std::string::npos);
  EXPECT_NE(error_for([](Json& j) {
              j["random_effects"]["covariance"] = {{1, 10}, {10, 1}};
            }).find("positive semi-definite"),
            std::string::npos);
  EXPECT_EQ(error_for([](Json& j) { j["residual_variance"] = 0; }),
            "etr model: residual_variance: must be positive");
  EXPECT_NE(error_for([](Json& j) {
              j["provenance"]["fitted_at"] = "yesterday";
            }).find("provenance.fitted_at"),
            std::string::npos);
  EXPECT_NE(error_for([](Json& j) { j["provenance"]["clients"] = -3; }).find("provenance.clients"),
            std::string::npos);
  EXPECT_NE(
      error_for([](Json& j) { j["provenance"]["converged"] = "yes"; }).find("provenance.converged"),
      std::string::npos);
  EXPECT_EQ(error_for([](Json& j) { j = Json::array(); }),
            "etr model: (document): must be an object");
  const auto parsed = EtrModelFromJson(good);
  EXPECT_OK(parsed);
}

}  // namespace
}  // namespace rapport::stats
