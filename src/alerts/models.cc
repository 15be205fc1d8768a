#include "alerts/models.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "alliance/dropout.h"
#include "base/log.h"

namespace rapport::alerts {

EtrData EtrRowsFromObservations(std::span<const storage::InstrumentObservation> observations,
                                const EtrWindow& window) {
  // One series per client and episode; within it one rating per session. Observations come
  // ordered by episode, session and submission time, but nothing here relies on that beyond
  // "a later submission for the same session replaces an earlier one" by submission time.
  struct Rating {
    int session = 0;
    Timestamp session_at;
    Timestamp submitted_at;
    double score = 0;
  };
  std::map<std::string, std::map<int, Rating>> series;
  for (const storage::InstrumentObservation& o : observations) {
    if (o.client_id.empty() || o.perspective != domain::Perspective::kClient || !o.total) {
      continue;
    }
    if (o.session_at >= window.to) continue;
    std::string key = o.episode_id;
    key.append("/").append(o.client_id);
    auto& ratings = series[key];
    const auto [it, inserted] = ratings.try_emplace(
        o.session_number, Rating{o.session_number, o.session_at, o.submitted_at, *o.total});
    if (!inserted && o.submitted_at >= it->second.submitted_at) {
      it->second = Rating{o.session_number, o.session_at, o.submitted_at, *o.total};
    }
  }
  EtrData data;
  for (const auto& [key, ratings] : series) {
    const Rating& intake = ratings.begin()->second;
    if (window.from && intake.session_at < *window.from) continue;
    bool used = false;
    for (const auto& [number, rating] : ratings) {
      const double t = static_cast<double>(number - intake.session);
      if (window.intake_covariate && t == 0) continue;
      data.rows.push_back({key, t, rating.score, window.intake_covariate ? intake.score : 0});
      used = true;
    }
    if (!used) continue;
    ++data.clients;
    if (!data.first_intake || intake.session_at < *data.first_intake) {
      data.first_intake = intake.session_at;
    }
  }
  return data;
}

Result<stats::EtrModel> FitEtrOnHistory(storage::ReadTransaction& txn,
                                        const EtrFitRequest& request) {
  const instruments::Definition& instrument = *request.instrument;
  RAPPORT_RETURN_IF_ERROR(txn.GetOrganization(request.org_id).status());
  if (instrument.kind != "outcome") {
    return InvalidArgument("instrument '" + instrument.id + "' is of kind '" + instrument.kind +
                               "'; expected treatment response is modelled for outcome "
                               "measures",
                           "instrument");
  }
  int64_t min_clients = 0;
  std::string min_source;
  if (request.min_clients) {
    min_clients = *request.min_clients;
    min_source = "as requested";
  } else {
    RAPPORT_ASSIGN_OR_RETURN(const alliance::OrgSettings settings,
                             LoadOrgSettings(txn, request.org_id));
    min_clients = settings.signals.etr_min_clients;
    min_source = "the organisation's signals.not_on_track.etr_min_clients";
  }
  min_clients = std::max(min_clients, stats::kEtrMinimumClients);

  // Every rating up to the end of the window: a series is kept or dropped by its intake.
  RAPPORT_ASSIGN_OR_RETURN(
      const std::vector<storage::InstrumentObservation> observations,
      txn.ListObservations(request.org_id, instrument.id, FromUnixMillis(0), request.window.to));
  const EtrData data = EtrRowsFromObservations(observations, request.window);
  if (data.clients < min_clients) {
    std::string message =
        "organisation '" + request.org_id + "' has " + std::to_string(data.clients) + " client" +
        (data.clients == 1 ? "" : "s") + " with client-rated '" + instrument.id + "' scores";
    if (request.window.intake_covariate) message.append(" after the intake");
    message.append(" in the window (one per client and episode); the model needs at least ")
        .append(std::to_string(min_clients))
        .append(" (")
        .append(min_source)
        .append(")");
    return InvalidArgument(message, "min_clients");
  }

  stats::EtrFitOptions options;
  options.origin = stats::SessionOrigin::kZeroBased;
  if (request.window.intake_covariate) options.covariate = "intake";
  options.provenance.instrument_id = instrument.id;
  options.provenance.data_from = request.window.from ? request.window.from : data.first_intake;
  options.provenance.data_to = request.window.to;
  options.provenance.fitted_at = request.now;
  return stats::FitEtr(data.rows, options);
}

Status StoreEtrModel(storage::WriteTransaction& txn, std::string_view org_id,
                     const stats::EtrModel& model) {
  const stats::EtrProvenance& p = model.provenance;
  storage::FittedModel stored;
  stored.org_id = std::string(org_id);
  stored.kind = std::string(kEtrModelKind);
  stored.instrument_id = p.instrument_id;
  stored.document = stats::EtrModelToJson(model).dump();
  stored.fitted_at = p.fitted_at;
  stored.data_from = p.data_from;
  stored.data_to = p.data_to;
  stored.clients = p.clients;
  stored.observations = p.observations;
  stored.criterion = p.reml_criterion;
  return txn.PutFittedModel(stored);
}

std::optional<stats::EtrModel> EtrModelFromStored(const storage::FittedModel& stored) {
  const nlohmann::json document = nlohmann::json::parse(stored.document, nullptr, false);
  auto model = document.is_discarded()
                   ? Result<stats::EtrModel>(InvalidArgument("etr model: not valid JSON"))
                   : stats::EtrModelFromJson(document);
  if (!model.ok()) {
    log::Error("a stored expected-treatment-response model is invalid; using the rational rule",
               {{"org", stored.org_id},
                {"instrument", stored.instrument_id},
                {"error", model.status().message()}});
    return std::nullopt;
  }
  return std::move(model).value();
}

Result<std::map<std::string, stats::EtrModel, std::less<>>> LoadEtrModels(
    storage::ReadTransaction& txn, std::string_view org_id,
    std::span<const std::string> instrument_ids) {
  std::map<std::string, stats::EtrModel, std::less<>> out;
  for (const std::string& id : instrument_ids) {
    if (out.contains(id)) continue;
    auto stored = txn.GetFittedModel(org_id, kEtrModelKind, id);
    if (!stored.ok()) {
      if (stored.status().code() == StatusCode::kNotFound) continue;
      return stored.status();
    }
    if (auto model = EtrModelFromStored(*stored)) out.emplace(id, std::move(*model));
  }
  return out;
}

Result<DropoutData> DropoutDataFromHistory(storage::ReadTransaction& txn,
                                           const instruments::Catalog& catalog,
                                           std::string_view org_id, Timestamp to,
                                           int early_sessions) {
  // Episodes with client alliance ratings, from every alliance measure of the catalogue.
  std::set<std::string> episode_ids;
  for (const instruments::Definition* definition : catalog.All()) {
    if (definition->kind != "alliance") continue;
    RAPPORT_ASSIGN_OR_RETURN(const std::vector<storage::InstrumentObservation> observations,
                             txn.ListObservations(org_id, definition->id, FromUnixMillis(0), to));
    for (const storage::InstrumentObservation& o : observations) episode_ids.insert(o.episode_id);
  }
  DropoutData data;
  std::vector<std::vector<double>> rows;
  std::vector<double> outcomes;
  const auto find = [&](std::string_view id) { return catalog.Find(id); };
  for (const std::string& episode_id : episode_ids) {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode, txn.GetEpisode(org_id, episode_id));
    if (!episode.ended_at || *episode.ended_at >= to || !episode.end_reason ||
        episode.client_ids.empty()) {
      continue;
    }
    const domain::EndReason reason = *episode.end_reason;
    if (reason != domain::EndReason::kDroppedOut && reason != domain::EndReason::kCompleted) {
      continue;
    }
    alliance::EpisodeHistory history;
    RAPPORT_ASSIGN_OR_RETURN(history.sessions, txn.ListSessionsForEpisode(org_id, episode_id));
    RAPPORT_ASSIGN_OR_RETURN(history.responses, txn.ListResponsesForEpisode(org_id, episode_id));
    rows.push_back(
        alliance::DropoutFeatures(history, find, episode.client_ids.front(), early_sessions));
    outcomes.push_back(reason == domain::EndReason::kDroppedOut ? 1 : 0);
    data.episode_ids.push_back(episode_id);
  }
  const auto n = static_cast<Eigen::Index>(rows.size());
  const auto k = static_cast<Eigen::Index>(alliance::DropoutFeatureNames().size());
  data.x.resize(n, k);
  data.dropped_out.resize(n);
  for (Eigen::Index r = 0; r < n; ++r) {
    for (Eigen::Index c = 0; c < k; ++c) {
      data.x(r, c) = rows[static_cast<size_t>(r)][static_cast<size_t>(c)];
    }
    data.dropped_out[r] = outcomes[static_cast<size_t>(r)];
  }
  return data;
}

Result<stats::DropoutModel> FitDropoutOnHistory(storage::ReadTransaction& txn,
                                                const instruments::Catalog& catalog,
                                                std::string_view org_id, Timestamp to,
                                                Timestamp now, int folds) {
  RAPPORT_RETURN_IF_ERROR(txn.GetOrganization(org_id).status());
  RAPPORT_ASSIGN_OR_RETURN(const alliance::OrgSettings settings, LoadOrgSettings(txn, org_id));
  const int early = settings.signals.dropout_early_sessions;
  RAPPORT_ASSIGN_OR_RETURN(const DropoutData data,
                           DropoutDataFromHistory(txn, catalog, org_id, to, early));
  const auto cases = data.dropped_out.size();
  if (cases < settings.signals.dropout_model_min_cases) {
    return InvalidArgument("organisation '" + std::string(org_id) + "' has " +
                               std::to_string(cases) +
                               " ended episodes (completed or dropped out) with client alliance "
                               "ratings; the dropout model needs at least " +
                               std::to_string(settings.signals.dropout_model_min_cases) +
                               " (signals.dropout.model_min_cases)",
                           "min_cases");
  }
  // Features no episode has (e.g. no outcome measure in use, no clinician ratings) or that are
  // the same for every episode (e.g. nobody missed a session) are left out: they cannot
  // predict anything.
  std::vector<std::string> names;
  std::vector<Eigen::Index> keep;
  for (Eigen::Index c = 0; c < data.x.cols(); ++c) {
    int known = 0;
    double low = std::numeric_limits<double>::infinity();
    double high = -low;
    for (Eigen::Index r = 0; r < data.x.rows(); ++r) {
      if (std::isnan(data.x(r, c))) continue;
      ++known;
      low = std::min(low, data.x(r, c));
      high = std::max(high, data.x(r, c));
    }
    if (known >= 2 && high > low) {
      names.push_back(alliance::DropoutFeatureNames()[static_cast<size_t>(c)]);
      keep.push_back(c);
    }
  }
  Eigen::MatrixXd x(data.x.rows(), static_cast<Eigen::Index>(keep.size()));
  for (size_t c = 0; c < keep.size(); ++c)
    x.col(static_cast<Eigen::Index>(c)) = data.x.col(keep[c]);
  RAPPORT_ASSIGN_OR_RETURN(stats::DropoutModel model,
                           stats::FitDropoutModel(names, x, data.dropped_out, folds));
  model.fitted_at = FormatTimestamp(now);
  return model;
}

Status StoreDropoutModel(storage::WriteTransaction& txn, std::string_view org_id,
                         const stats::DropoutModel& model, Timestamp now) {
  storage::FittedModel stored;
  stored.org_id = std::string(org_id);
  stored.kind = std::string(kDropoutModelKind);
  stored.document = model.ToJson().dump();
  stored.fitted_at = now;
  stored.clients = model.cases;
  stored.observations = model.cases;
  stored.criterion = model.fit.deviance;
  return txn.PutFittedModel(stored);
}

std::optional<stats::DropoutModel> DropoutModelFromStored(const storage::FittedModel& stored) {
  const nlohmann::json document = nlohmann::json::parse(stored.document, nullptr, false);
  auto model = document.is_discarded()
                   ? Result<stats::DropoutModel>(InvalidArgument("dropout model: not valid JSON"))
                   : stats::DropoutModel::FromJson(document);
  if (!model.ok()) {
    log::Error("the stored dropout model is invalid; using the rule",
               {{"org", stored.org_id}, {"error", model.status().message()}});
    return std::nullopt;
  }
  return std::move(model).value();
}

Result<std::optional<stats::DropoutModel>> LoadDropoutModel(storage::ReadTransaction& txn,
                                                            std::string_view org_id) {
  auto stored = txn.GetFittedModel(org_id, kDropoutModelKind, "");
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) {
      return std::optional<stats::DropoutModel>();
    }
    return stored.status();
  }
  return DropoutModelFromStored(*stored);
}

}  // namespace rapport::alerts
