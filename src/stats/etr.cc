#include "stats/etr.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stats/mixed_model.h"
#include "stats/normal.h"

namespace rapport::stats {
namespace {

using Json = nlohmann::json;

constexpr int kFormat = 1;

std::string Number(double value) {
  Json number = value;
  return number.dump();
}

Status CheckSession(const EtrModel& model, double session, std::string_view what) {
  if (!std::isfinite(session) || session < model.IntakeSession()) {
    std::string message(what);
    message.append(" ").append(Number(session)).append(" is before the intake (session ");
    message.append(Number(model.IntakeSession())).append(")");
    return InvalidArgument(message, "session");
  }
  return Status::Ok();
}

Status CheckCovariate(const EtrModel& model, const std::optional<double>& covariate) {
  if (model.has_covariate() && !covariate) {
    return InvalidArgument("the model needs the client's " + model.covariate, model.covariate);
  }
  if (!model.has_covariate() && covariate) {
    return InvalidArgument("the model has no covariate", "covariate");
  }
  if (covariate && !std::isfinite(*covariate)) {
    return InvalidArgument("the " + model.covariate + " is not a finite number", model.covariate);
  }
  return Status::Ok();
}

// The fixed-effects row x_t = (1, f(t) [, x, x f(t)]).
Eigen::VectorXd FixedRow(const EtrModel& model, double session,
                         const std::optional<double>& covariate) {
  const double f = model.TimeTerm(session);
  Eigen::VectorXd row(model.has_covariate() ? 4 : 2);
  row[0] = 1;
  row[1] = f;
  if (model.has_covariate()) {
    row[2] = *covariate;
    row[3] = *covariate * f;
  }
  return row;
}

// The random-effects row z_t = (1, f(t)).
Eigen::Vector2d RandomRow(const EtrModel& model, double session) {
  return {1.0, model.TimeTerm(session)};
}

}  // namespace

double EtrModel::TimeTerm(double session) const {
  // SCIENCE.md §4.3: ln(t + 1) for 0-based sessions, ln(t) for 1-based ones (Finch et al. 2001).
  return origin == SessionOrigin::kZeroBased ? std::log1p(session) : std::log(session);
}

std::vector<std::string> EtrModel::FixedNames() const {
  std::vector<std::string> names = {"(Intercept)", "f(t)"};
  if (has_covariate()) {
    names.push_back(covariate);
    std::string interaction = covariate;
    interaction.append(":f(t)");
    names.push_back(interaction);
  }
  return names;
}

Result<EtrModel> FitEtr(std::span<const EtrRow> rows, const EtrFitOptions& options) {
  EtrModel model;
  model.origin = options.origin;
  model.covariate = options.covariate;
  model.provenance = options.provenance;
  const bool with_covariate = model.has_covariate();

  // Levels in order of first appearance; a covariate must be constant within a client.
  std::map<std::string, int32_t, std::less<>> index;
  std::vector<std::string> level_names;
  std::vector<double> client_covariate;
  std::vector<int32_t> level;
  level.reserve(rows.size());
  for (size_t row = 0; row < rows.size(); ++row) {
    const EtrRow& r = rows[row];
    const std::string where = "row " + std::to_string(row + 1);
    if (r.client.empty()) return InvalidArgument(where + ": the client is empty", "client");
    if (!std::isfinite(r.score)) {
      return InvalidArgument(where + ": the score is not a finite number", "y");
    }
    RAPPORT_RETURN_IF_ERROR(CheckSession(model, r.session, where + ": session"));
    if (with_covariate && !std::isfinite(r.covariate)) {
      return InvalidArgument(where + ": the " + model.covariate + " is not a finite number", "x");
    }
    auto [it, inserted] = index.try_emplace(r.client, static_cast<int32_t>(level_names.size()));
    if (inserted) {
      level_names.push_back(r.client);
      client_covariate.push_back(r.covariate);
    } else if (with_covariate && client_covariate[static_cast<size_t>(it->second)] != r.covariate) {
      return InvalidArgument(
          where + ": client '" + r.client + "' has two values of " + model.covariate + " (" +
              Number(client_covariate[static_cast<size_t>(it->second)]) + " and " +
              Number(r.covariate) + "); it is a property of the client, one value each",
          "x");
    }
    level.push_back(it->second);
  }
  const auto clients = static_cast<int64_t>(level_names.size());
  if (clients < kEtrMinimumClients) {
    return InvalidArgument("the expected-treatment-response model needs at least " +
                               std::to_string(kEtrMinimumClients) + " clients; the data have " +
                               std::to_string(clients),
                           "client");
  }

  const auto n = static_cast<Eigen::Index>(rows.size());
  MixedModelData data;
  data.y.resize(n);
  data.x.resize(n, with_covariate ? 4 : 2);
  for (Eigen::Index row = 0; row < n; ++row) {
    const EtrRow& r = rows[static_cast<size_t>(row)];
    data.y[row] = r.score;
    const std::optional<double> x =
        with_covariate ? std::optional<double>(r.covariate) : std::nullopt;
    data.x.row(row) = FixedRow(model, r.session, x).transpose();
  }
  data.fixed_names = model.FixedNames();
  data.inner.factor = "client";
  data.inner.names = {"(Intercept)", "f(t)"};
  data.inner.level_names = std::move(level_names);
  data.inner.level = std::move(level);
  data.inner.design = data.x.leftCols(2);
  data.inner.covariance = CovarianceStructure::kUnstructured;

  FitOptions fit_options;
  fit_options.criterion = Criterion::kReml;
  fit_options.random_effects = false;
  RAPPORT_ASSIGN_OR_RETURN(const MixedModelFit fit, FitMixedModel(data, fit_options));
  model.beta = fit.beta;
  model.beta_se = fit.beta_se();
  // σ² T Tᵀ, symmetric up to rounding; made exactly so for the stored form.
  const Eigen::MatrixXd& covariance = fit.components.front().covariance;
  model.g = 0.5 * (covariance + covariance.transpose());
  model.sigma2 = fit.sigma2;
  model.provenance.clients = clients;
  model.provenance.observations = fit.observations;
  model.provenance.reml_criterion = fit.objective;
  model.provenance.converged = fit.converged;
  model.provenance.singular = fit.singular;
  return model;
}

double EtrPrediction::sd() const { return std::sqrt(variance); }

double EtrPrediction::Percentile(double percent) const {
  return mean + NormalQuantile(percent / 100) * sd();
}

Result<EtrPrediction> Predict(const EtrModel& model, double session,
                              std::optional<double> covariate) {
  return PredictGivenScores(model, session, {}, covariate);
}

Result<EtrPrediction> PredictGivenScores(const EtrModel& model, double session,
                                         std::span<const ObservedScore> observed,
                                         std::optional<double> covariate) {
  RAPPORT_RETURN_IF_ERROR(CheckSession(model, session, "session"));
  RAPPORT_RETURN_IF_ERROR(CheckCovariate(model, covariate));
  for (const ObservedScore& score : observed) {
    RAPPORT_RETURN_IF_ERROR(CheckSession(model, score.session, "observed session"));
    if (!std::isfinite(score.score)) {
      return InvalidArgument("an observed score is not a finite number", "score");
    }
  }
  // Unconditional (SCIENCE.md §4.3): μ_t = x_tᵀβ, V_t = z_tᵀ G z_t + σ².
  const Eigen::Vector2d z = RandomRow(model, session);
  EtrPrediction prediction;
  prediction.session = session;
  prediction.mean = FixedRow(model, session, covariate).dot(model.beta);
  prediction.variance = z.dot(model.g * z) + model.sigma2;
  if (observed.empty()) return prediction;

  // Conditioning on the observed scores (empirical Bayes, SCIENCE.md §4.3): with
  // V_obs = Z G Zᵀ + σ² I and C = Z G z_t,
  //   μ = μ_t + Cᵀ V_obs⁻¹ (y_obs − μ_obs),   V = V_t − Cᵀ V_obs⁻¹ C.
  // The observed occasions are other occasions than the predicted one: no σ² in C.
  const auto k = static_cast<Eigen::Index>(observed.size());
  Eigen::MatrixXd z_obs(k, 2);
  Eigen::VectorXd residual(k);
  for (Eigen::Index row = 0; row < k; ++row) {
    const ObservedScore& score = observed[static_cast<size_t>(row)];
    z_obs.row(row) = RandomRow(model, score.session).transpose();
    residual[row] = score.score - FixedRow(model, score.session, covariate).dot(model.beta);
  }
  Eigen::MatrixXd v_obs = z_obs * model.g * z_obs.transpose();
  v_obs.diagonal().array() += model.sigma2;
  const Eigen::VectorXd c = z_obs * (model.g * z);
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(v_obs);
  const Eigen::VectorXd weights = ldlt.solve(c);
  prediction.mean += weights.dot(residual);
  prediction.variance -= c.dot(weights);
  return prediction;
}

Result<EtrPrediction> PredictGivenIntake(const EtrModel& model, double session, double intake_score,
                                         std::optional<double> covariate) {
  const ObservedScore intake{model.IntakeSession(), intake_score};
  return PredictGivenScores(model, session, std::span<const ObservedScore>(&intake, 1), covariate);
}

double PredictiveCovariance(const EtrModel& model, double session_s, double session_t) {
  return RandomRow(model, session_s).dot(model.g * RandomRow(model, session_t));
}

std::vector<EtrBand> PercentileBands(const EtrPrediction& prediction,
                                     std::span<const double> percentiles) {
  std::vector<EtrBand> bands;
  bands.reserve(percentiles.size());
  for (const double percent : percentiles)
    bands.push_back({percent, prediction.Percentile(percent)});
  return bands;
}

Result<NotOnTrackResult> TestNotOnTrack(const EtrPrediction& prediction, double score,
                                        ScoreDirection direction, double percentile) {
  if (!(percentile > 50 && percentile < 100)) {
    return InvalidArgument("the not-on-track percentile must lie between 50 and 100 (exclusive)",
                           "percentile");
  }
  if (!std::isfinite(score)) return InvalidArgument("the score is not a finite number", "score");
  NotOnTrackResult result;
  result.percentile = percentile;
  // One-sided boundary on the bad side (SCIENCE.md §4.3): the upper percentile for
  // higher-is-worse scores, its mirror for higher-is-better ones.
  if (direction == ScoreDirection::kHigherIsWorse) {
    result.boundary = prediction.Percentile(percentile);
    result.not_on_track = score > result.boundary;
  } else {
    result.boundary = prediction.Percentile(100 - percentile);
    result.not_on_track = score < result.boundary;
  }
  return result;
}

// Serialisation.

namespace {

Json Vector(const Eigen::VectorXd& vector) {
  Json values = Json::array();
  for (Eigen::Index index = 0; index < vector.size(); ++index) values.push_back(vector[index]);
  return values;
}

Json OptionalTime(const std::optional<Timestamp>& time) {
  return time ? Json(FormatTimestamp(*time)) : Json(nullptr);
}

Status Bad(std::string_view field, std::string_view message) {
  std::string text = "etr model: ";
  text.append(field).append(": ").append(message);
  return InvalidArgument(text, std::string(field));
}

Status CheckKeys(const Json& object, std::string_view path,
                 std::initializer_list<std::string_view> known) {
  if (!object.is_object()) return Bad(path.empty() ? "(document)" : path, "must be an object");
  for (const auto& [key, unused] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string field(path);
      if (!field.empty()) field.append(".");
      field.append(key);
      return Bad(field, "is not a known field");
    }
  }
  for (const std::string_view key : known) {
    if (!object.contains(key)) {
      std::string field(path);
      if (!field.empty()) field.append(".");
      field.append(key);
      return Bad(field, "is missing");
    }
  }
  return Status::Ok();
}

Result<double> FiniteNumber(const Json& value, std::string_view field) {
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    return Bad(field, "must be a finite number");
  }
  return value.get<double>();
}

Result<Eigen::VectorXd> NumberArray(const Json& value, std::string_view field, size_t size) {
  if (!value.is_array() || value.size() != size) {
    return Bad(field, "must be an array of " + std::to_string(size) + " numbers");
  }
  Eigen::VectorXd out(static_cast<Eigen::Index>(size));
  for (size_t index = 0; index < size; ++index) {
    std::string element(field);
    element.append("[").append(std::to_string(index)).append("]");
    RAPPORT_ASSIGN_OR_RETURN(out[static_cast<Eigen::Index>(index)],
                             FiniteNumber(value[index], element));
  }
  return out;
}

Result<std::optional<Timestamp>> OptionalTimestamp(const Json& value, std::string_view field) {
  if (value.is_null()) return std::optional<Timestamp>();
  if (!value.is_string()) return Bad(field, "must be an RFC 3339 time or null");
  auto parsed = ParseTimestamp(value.get<std::string>());
  if (!parsed.ok()) return Bad(field, "must be an RFC 3339 time or null");
  return std::optional<Timestamp>(*parsed);
}

Result<int64_t> Count(const Json& value, std::string_view field) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0) {
    return Bad(field, "must be a whole number, at least 0");
  }
  return value.get<int64_t>();
}

Result<bool> Boolean(const Json& value, std::string_view field) {
  if (!value.is_boolean()) return Bad(field, "must be true or false");
  return value.get<bool>();
}

}  // namespace

Json EtrModelToJson(const EtrModel& model) {
  const bool zero_based = model.origin == SessionOrigin::kZeroBased;
  Json covariance = Json::array();
  for (int row = 0; row < 2; ++row) covariance.push_back({model.g(row, 0), model.g(row, 1)});
  const EtrProvenance& p = model.provenance;
  return Json{{"kind", "etr"},
              {"format", kFormat},
              {"time",
               {{"sessions", zero_based ? "0-based" : "1-based"},
                {"f", zero_based ? "ln(t + 1)" : "ln(t)"}}},
              {"covariate", model.has_covariate() ? Json(model.covariate) : Json(nullptr)},
              {"fixed_effects",
               {{"names", model.FixedNames()},
                {"estimates", Vector(model.beta)},
                {"std_errors", Vector(model.beta_se)}}},
              {"random_effects",
               {{"factor", "client"},
                {"names", Json::array({"(Intercept)", "f(t)"})},
                {"covariance", covariance}}},
              {"residual_variance", model.sigma2},
              {"provenance",
               {{"instrument", p.instrument_id},
                {"data_from", OptionalTime(p.data_from)},
                {"data_to", OptionalTime(p.data_to)},
                {"clients", p.clients},
                {"observations", p.observations},
                {"fitted_at", FormatTimestamp(p.fitted_at)},
                {"reml_criterion", p.reml_criterion},
                {"converged", p.converged},
                {"singular", p.singular}}}};
}

Result<EtrModel> EtrModelFromJson(const Json& document) {
  RAPPORT_RETURN_IF_ERROR(CheckKeys(document, "",
                                    {"kind", "format", "time", "covariate", "fixed_effects",
                                     "random_effects", "residual_variance", "provenance"}));
  if (document["kind"] != "etr") return Bad("kind", "must be \"etr\"");
  if (document["format"] != kFormat) {
    return Bad("format", "must be " + std::to_string(kFormat) + " (this version of Rapport)");
  }
  EtrModel model;

  const Json& time = document["time"];
  RAPPORT_RETURN_IF_ERROR(CheckKeys(time, "time", {"sessions", "f"}));
  if (time["sessions"] == "0-based" && time["f"] == "ln(t + 1)") {
    model.origin = SessionOrigin::kZeroBased;
  } else if (time["sessions"] == "1-based" && time["f"] == "ln(t)") {
    model.origin = SessionOrigin::kOneBased;
  } else {
    return Bad("time",
               "must be {\"sessions\": \"0-based\", \"f\": \"ln(t + 1)\"} or "
               "{\"sessions\": \"1-based\", \"f\": \"ln(t)\"}");
  }

  const Json& covariate = document["covariate"];
  if (covariate.is_string() && !covariate.get<std::string>().empty()) {
    model.covariate = covariate.get<std::string>();
  } else if (!covariate.is_null()) {
    return Bad("covariate", "must be null or the covariate's name");
  }

  const Json& fixed = document["fixed_effects"];
  RAPPORT_RETURN_IF_ERROR(CheckKeys(fixed, "fixed_effects", {"names", "estimates", "std_errors"}));
  const std::vector<std::string> names = model.FixedNames();
  if (fixed["names"] != Json(names)) {
    return Bad("fixed_effects.names", "must be " + Json(names).dump());
  }
  RAPPORT_ASSIGN_OR_RETURN(
      model.beta, NumberArray(fixed["estimates"], "fixed_effects.estimates", names.size()));
  RAPPORT_ASSIGN_OR_RETURN(
      model.beta_se, NumberArray(fixed["std_errors"], "fixed_effects.std_errors", names.size()));
  if ((model.beta_se.array() < 0).any()) {
    return Bad("fixed_effects.std_errors", "must not be negative");
  }

  const Json& random = document["random_effects"];
  RAPPORT_RETURN_IF_ERROR(CheckKeys(random, "random_effects", {"factor", "names", "covariance"}));
  if (random["factor"] != "client") return Bad("random_effects.factor", "must be \"client\"");
  if (random["names"] != Json::array({"(Intercept)", "f(t)"})) {
    return Bad("random_effects.names", "must be [\"(Intercept)\",\"f(t)\"]");
  }
  const Json& covariance = random["covariance"];
  constexpr std::string_view kCovariance = "random_effects.covariance";
  if (!covariance.is_array() || covariance.size() != 2) {
    return Bad(kCovariance, "must be a 2×2 matrix (two rows of two numbers)");
  }
  for (int row = 0; row < 2; ++row) {
    std::string field(kCovariance);
    field.append("[").append(std::to_string(row)).append("]");
    RAPPORT_ASSIGN_OR_RETURN(const Eigen::VectorXd values,
                             NumberArray(covariance[static_cast<size_t>(row)], field, 2));
    model.g.row(row) = values.transpose();
  }
  // A covariance matrix: symmetric with non-negative variances and determinant (up to rounding).
  const double scale = std::max(model.g(0, 0) * model.g(1, 1), 1e-300);
  if (model.g(0, 1) != model.g(1, 0) || model.g(0, 0) < 0 || model.g(1, 1) < 0 ||
      model.g.determinant() < -1e-9 * scale) {
    return Bad(kCovariance, "must be a symmetric positive semi-definite 2×2 matrix");
  }

  RAPPORT_ASSIGN_OR_RETURN(model.sigma2,
                           FiniteNumber(document["residual_variance"], "residual_variance"));
  if (model.sigma2 <= 0) return Bad("residual_variance", "must be positive");

  const Json& provenance = document["provenance"];
  RAPPORT_RETURN_IF_ERROR(
      CheckKeys(provenance, "provenance",
                {"instrument", "data_from", "data_to", "clients", "observations", "fitted_at",
                 "reml_criterion", "converged", "singular"}));
  EtrProvenance& p = model.provenance;
  if (!provenance["instrument"].is_string()) {
    return Bad("provenance.instrument", "must be text (empty when unknown)");
  }
  p.instrument_id = provenance["instrument"].get<std::string>();
  RAPPORT_ASSIGN_OR_RETURN(p.data_from,
                           OptionalTimestamp(provenance["data_from"], "provenance.data_from"));
  RAPPORT_ASSIGN_OR_RETURN(p.data_to,
                           OptionalTimestamp(provenance["data_to"], "provenance.data_to"));
  RAPPORT_ASSIGN_OR_RETURN(p.clients, Count(provenance["clients"], "provenance.clients"));
  RAPPORT_ASSIGN_OR_RETURN(p.observations,
                           Count(provenance["observations"], "provenance.observations"));
  RAPPORT_ASSIGN_OR_RETURN(const std::optional<Timestamp> fitted_at,
                           OptionalTimestamp(provenance["fitted_at"], "provenance.fitted_at"));
  if (!fitted_at) return Bad("provenance.fitted_at", "must be an RFC 3339 time");
  p.fitted_at = *fitted_at;
  RAPPORT_ASSIGN_OR_RETURN(p.reml_criterion,
                           FiniteNumber(provenance["reml_criterion"], "provenance.reml_criterion"));
  RAPPORT_ASSIGN_OR_RETURN(p.converged, Boolean(provenance["converged"], "provenance.converged"));
  RAPPORT_ASSIGN_OR_RETURN(p.singular, Boolean(provenance["singular"], "provenance.singular"));
  return model;
}

}  // namespace rapport::stats
