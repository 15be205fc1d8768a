#include "alerts/alerts.h"

#include <fstream>
#include <set>
#include <sstream>

#include "alerts/models.h"
#include "alliance/alerts.h"
#include "alliance/signals.h"
#include "base/id.h"
#include "base/log.h"

namespace rapport::alerts {

using Json = nlohmann::json;

Result<alliance::OrgSettings> LoadOrgSettings(storage::ReadTransaction& txn,
                                              std::string_view org_id) {
  RAPPORT_ASSIGN_OR_RETURN(const std::string document, txn.GetOrgSettings(org_id));
  return alliance::ParseOrgSettingsText(document);
}

Status SaveOrgSettings(storage::WriteTransaction& txn, std::string_view org_id,
                       std::string_view json_text, Timestamp now) {
  RAPPORT_RETURN_IF_ERROR(txn.GetOrganization(org_id).status());
  const Json document = Json::parse(json_text, nullptr, false);
  if (document.is_discarded()) return InvalidArgument("settings: not valid JSON", "settings");
  RAPPORT_RETURN_IF_ERROR(alliance::ParseOrgSettings(document).status());
  return txn.PutOrgSettings(org_id, document.dump(), now);
}

Status EvaluateAfterResponse(storage::WriteTransaction& txn, const instruments::Catalog& catalog,
                             std::string_view org_id, std::string_view session_id, Timestamp now,
                             Random& random) {
  RAPPORT_ASSIGN_OR_RETURN(const domain::Session session, txn.GetSession(org_id, session_id));
  alliance::EpisodeHistory history;
  RAPPORT_ASSIGN_OR_RETURN(history.sessions,
                           txn.ListSessionsForEpisode(org_id, session.episode_id));
  RAPPORT_ASSIGN_OR_RETURN(history.responses,
                           txn.ListResponsesForEpisode(org_id, session.episode_id));
  alliance::OrgSettings settings;
  if (auto loaded = LoadOrgSettings(txn, org_id); loaded.ok()) {
    settings = std::move(loaded).value();
  } else {
    log::Error("organisation settings are invalid; using the defaults",
               {{"org", std::string(org_id)}, {"error", loaded.status().message()}});
  }
  // The organisation's expected-treatment-response models of the outcome measures this
  // episode's clients rated (docs/signals.md, not on track).
  std::vector<std::string> outcome_ids;
  for (const domain::Response& response : history.responses) {
    const instruments::Definition* definition = catalog.Find(response.instrument_id);
    if (definition != nullptr && definition->kind == "outcome" &&
        response.perspective == domain::Perspective::kClient) {
      outcome_ids.push_back(response.instrument_id);
    }
  }
  RAPPORT_ASSIGN_OR_RETURN(const auto etr_models, LoadEtrModels(txn, org_id, outcome_ids));
  RAPPORT_ASSIGN_OR_RETURN(const std::optional<stats::DropoutModel> dropout_model,
                           LoadDropoutModel(txn, org_id));
  const std::vector<alliance::Signal> signals = alliance::EvaluateEpisode(
      history, [&](std::string_view id) { return catalog.Find(id); }, settings,
      [&](std::string_view id) -> const stats::EtrModel* {
        const auto it = etr_models.find(id);
        return it == etr_models.end() ? nullptr : &it->second;
      },
      dropout_model ? &*dropout_model : nullptr);
  storage::AlertQuery query;
  query.episode_id = session.episode_id;
  RAPPORT_ASSIGN_OR_RETURN(const std::vector<domain::Alert> existing,
                           txn.ListAlerts(org_id, query));
  const auto changes =
      alliance::ReconcileAlerts(existing, signals, std::string(org_id), session.episode_id, now,
                                [&] { return NewId(random); });
  // Resolutions first, so a new alert never meets the active alert it replaces.
  for (const alliance::AlertChange& change : changes) {
    if (!change.is_new) RAPPORT_RETURN_IF_ERROR(txn.UpdateAlert(change.alert));
  }
  for (const alliance::AlertChange& change : changes) {
    if (change.is_new) RAPPORT_RETURN_IF_ERROR(txn.PutAlert(change.alert));
  }
  return Status::Ok();
}

Status AcknowledgeAlert(storage::WriteTransaction& txn, std::string_view org_id,
                        std::string_view alert_id, const std::string& user_id, Timestamp now) {
  RAPPORT_ASSIGN_OR_RETURN(domain::Alert alert, txn.GetAlert(org_id, alert_id));
  RAPPORT_RETURN_IF_ERROR(alliance::Acknowledge(alert, user_id, now));
  return txn.UpdateAlert(alert);
}

Status ResolveAlert(storage::WriteTransaction& txn, std::string_view org_id,
                    std::string_view alert_id, const std::string& user_id, Timestamp now) {
  RAPPORT_ASSIGN_OR_RETURN(domain::Alert alert, txn.GetAlert(org_id, alert_id));
  RAPPORT_RETURN_IF_ERROR(alliance::Resolve(alert, user_id, now));
  return txn.UpdateAlert(alert);
}

Result<domain::RepairNote> AddRepairNote(storage::WriteTransaction& txn, std::string_view org_id,
                                         std::string_view alert_id, const std::string& user_id,
                                         const std::string& text, bool discussed_with_client,
                                         Timestamp now, Random& random) {
  if (user_id.empty()) return InvalidArgument("who writes the note is required", "by");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("the note says what was done; it cannot be empty", "text");
  }
  domain::RepairNote note{NewId(random),
                          std::string(org_id),
                          std::string(alert_id),
                          user_id,
                          text,
                          discussed_with_client,
                          now};
  RAPPORT_RETURN_IF_ERROR(txn.PutRepairNote(note));
  return note;
}

Result<std::vector<alliance::GuidanceEntry>> LoadGuidanceDirectory(
    const std::filesystem::path& dir) {
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  if (error) {
    return InvalidArgument("cannot read guidance folder '" + dir.string() +
                           "': " + error.message());
  }
  std::sort(files.begin(), files.end());
  std::vector<alliance::GuidanceEntry> out;
  std::vector<std::string> problems;
  std::set<std::string> ids;
  for (const auto& path : files) {
    const std::string name = path.string();
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const Json value = Json::parse(text.str(), nullptr, false);
    if (value.is_discarded()) {
      problems.push_back(name + ": not valid JSON");
      continue;
    }
    auto entry = alliance::ParseGuidanceEntry(value, name);
    if (!entry.ok()) {
      problems.push_back(entry.status().message());
      continue;
    }
    if (entry->id != path.stem().string()) {
      problems.push_back(name + ": id: '" + entry->id + "' must equal the file name '" +
                         path.stem().string() + "'");
      continue;
    }
    if (!ids.insert(entry->id).second) problems.push_back(name + ": id: duplicate");
    out.push_back(std::move(entry).value());
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& p : problems) message += (message.empty() ? "" : "\n") + p;
    return InvalidArgument(message);
  }
  return out;
}

std::filesystem::path DefaultGuidanceDir() { return instruments::DefaultDataDir() / "guidance"; }

Json AlertToJson(const domain::Alert& alert, const std::vector<domain::RepairNote>& notes,
                 const std::vector<alliance::GuidanceEntry>& library) {
  const auto optional_time = [](const std::optional<Timestamp>& t) {
    return t ? Json(FormatTimestamp(*t)) : Json(nullptr);
  };
  Json evidence = Json::parse(alert.evidence_json, nullptr, false);
  if (evidence.is_discarded()) evidence = Json::object();
  const std::string dimension = evidence.contains("dimension") && evidence["dimension"].is_string()
                                    ? evidence["dimension"].get<std::string>()
                                    : std::string();
  Json guidance = Json::array();
  for (const alliance::GuidanceEntry* entry :
       alliance::SelectGuidance(library, alert.kind, dimension)) {
    guidance.push_back(alliance::GuidanceToJson(*entry));
  }
  Json repair_notes = Json::array();
  for (const domain::RepairNote& note : notes) {
    repair_notes.push_back({{"id", note.id},
                            {"by", note.author_id},
                            {"text", note.text},
                            {"discussed_with_client", note.discussed_with_client},
                            {"at", FormatTimestamp(note.created_at)}});
  }
  return Json{{"id", alert.id},
              {"episode", alert.episode_id},
              {"client", alert.client_id},
              {"kind", alert.kind},
              {"severity", domain::Name(alert.severity)},
              {"status", domain::Name(alert.status)},
              {"session", alert.session_number},
              {"last_session", alert.last_session_number},
              {"occurrences", alert.occurrences},
              {"evidence", evidence},
              {"guidance", guidance},
              {"created_at", FormatTimestamp(alert.created_at)},
              {"updated_at", FormatTimestamp(alert.updated_at)},
              {"acknowledged_by",
               alert.acknowledged_by.empty() ? Json(nullptr) : Json(alert.acknowledged_by)},
              {"acknowledged_at", optional_time(alert.acknowledged_at)},
              {"resolved_by", alert.resolved_by.empty() ? Json(nullptr) : Json(alert.resolved_by)},
              {"resolved_at", optional_time(alert.resolved_at)},
              {"resolution", alert.resolution.empty() ? Json(nullptr) : Json(alert.resolution)},
              {"repair_notes", repair_notes}};
}

}  // namespace rapport::alerts
