#include "alerts/models.h"

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
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
    const nlohmann::json document = nlohmann::json::parse(stored->document, nullptr, false);
    auto model = document.is_discarded()
                     ? Result<stats::EtrModel>(InvalidArgument("etr model: not valid JSON"))
                     : stats::EtrModelFromJson(document);
    if (!model.ok()) {
      log::Error(
          "a stored expected-treatment-response model is invalid; using the rational rule",
          {{"org", std::string(org_id)}, {"instrument", id}, {"error", model.status().message()}});
      continue;
    }
    out.emplace(id, std::move(model).value());
  }
  return out;
}

}  // namespace rapport::alerts
