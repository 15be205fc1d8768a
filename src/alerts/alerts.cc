#include "alerts/alerts.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "alerts/models.h"
#include "alerts/signal_cache.h"
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

namespace {

// Whether a response calls for its instrument's expected-treatment-response model: client
// ratings on an outcome measure (docs/signals.md, not on track).
bool NeedsEtrModel(const instruments::Catalog& catalog, const domain::Response& response) {
  const instruments::Definition* definition = catalog.Find(response.instrument_id);
  return definition != nullptr && definition->kind == "outcome" &&
         response.perspective == domain::Perspective::kClient;
}

std::vector<alliance::AlertChange> Reconcile(const SignalInputs& inputs,
                                             const instruments::Catalog& catalog, Timestamp now,
                                             Random& random) {
  const OrgSignalInputs& org = *inputs.org;
  const std::vector<alliance::Signal> signals = alliance::EvaluateEpisode(
      inputs.history, [&](std::string_view id) { return catalog.Find(id); }, org.settings,
      [&](std::string_view id) -> const stats::EtrModel* {
        const auto it = org.etr_models.find(id);
        return it == org.etr_models.end() ? nullptr : &it->second;
      },
      org.dropout_model ? &*org.dropout_model : nullptr);
  auto changes =
      alliance::ReconcileAlerts(inputs.alerts, signals, inputs.org_id, inputs.session.episode_id,
                                now, [&] { return NewId(random); });
  // Resolutions first, so a new alert never meets the active alert it replaces.
  std::stable_partition(changes.begin(), changes.end(),
                        [](const alliance::AlertChange& change) { return !change.is_new; });
  return changes;
}

// The "etr" models of `etr_instrument_ids`, then the "dropout" model, as stored; nullopt for
// each that is not stored.
Result<std::vector<std::optional<storage::FittedModel>>> ReadStoredModels(
    storage::ReadTransaction& txn, std::string_view org_id,
    std::span<const std::string> etr_instrument_ids) {
  std::vector<std::optional<storage::FittedModel>> out;
  const auto read = [&](std::string_view kind, std::string_view instrument_id) -> Status {
    auto stored = txn.GetFittedModel(org_id, kind, instrument_id);
    if (stored.ok()) {
      out.emplace_back(std::move(stored).value());
    } else if (stored.status().code() == StatusCode::kNotFound) {
      out.emplace_back();
    } else {
      return stored.status();
    }
    return Status::Ok();
  };
  for (const std::string& id : etr_instrument_ids) {
    RAPPORT_RETURN_IF_ERROR(read(kEtrModelKind, id));
  }
  RAPPORT_RETURN_IF_ERROR(read(kDropoutModelKind, ""));
  return out;
}

Status WriteChanges(storage::WriteTransaction& txn,
                    const std::vector<alliance::AlertChange>& changes) {
  for (const alliance::AlertChange& change : changes) {
    RAPPORT_RETURN_IF_ERROR(change.is_new ? txn.PutAlert(change.alert)
                                          : txn.UpdateAlert(change.alert));
  }
  return Status::Ok();
}

}  // namespace

namespace {

// The session the new responses belong to, and its episode's revision: what decides whether a
// cached entry can stand for the rest.
Result<SignalInputs> ReadSessionAndRevision(storage::ReadTransaction& txn, std::string_view org_id,
                                            std::string_view session_id) {
  SignalInputs inputs;
  inputs.org_id = std::string(org_id);
  RAPPORT_ASSIGN_OR_RETURN(inputs.session, txn.GetSession(org_id, session_id));
  RAPPORT_ASSIGN_OR_RETURN(inputs.episode_revision,
                           txn.GetEpisodeRevision(org_id, inputs.session.episode_id));
  return inputs;
}

// The rest of ReadSignalInputs, after ReadSessionAndRevision.
Status ReadEpisodeInputs(storage::ReadTransaction& txn, const instruments::Catalog& catalog,
                         std::span<const domain::Response> upcoming, SignalInputs& inputs) {
  const std::string& org_id = inputs.org_id;
  const std::string& episode_id = inputs.session.episode_id;
  RAPPORT_ASSIGN_OR_RETURN(inputs.history.sessions, txn.ListSessionsForEpisode(org_id, episode_id));
  RAPPORT_ASSIGN_OR_RETURN(inputs.history.responses,
                           txn.ListResponsesForEpisode(org_id, episode_id));
  auto org = std::make_shared<OrgSignalInputs>();
  RAPPORT_ASSIGN_OR_RETURN(org->settings_document, txn.GetOrgSettings(org_id));
  if (auto parsed = alliance::ParseOrgSettingsText(org->settings_document); parsed.ok()) {
    org->settings = std::move(parsed).value();
  } else {
    log::Error("organisation settings are invalid; using the defaults",
               {{"org", org_id}, {"error", parsed.status().message()}});
  }
  // The organisation's expected-treatment-response models of the outcome measures this
  // episode's clients rated (docs/signals.md, not on track), and its dropout model.
  std::vector<std::string>& etr_ids = org->etr_instrument_ids;
  for (const auto& responses :
       {std::span<const domain::Response>(inputs.history.responses), upcoming}) {
    for (const domain::Response& response : responses) {
      if (NeedsEtrModel(catalog, response) &&
          std::find(etr_ids.begin(), etr_ids.end(), response.instrument_id) == etr_ids.end()) {
        etr_ids.push_back(response.instrument_id);
      }
    }
  }
  RAPPORT_ASSIGN_OR_RETURN(org->stored_models, ReadStoredModels(txn, org_id, etr_ids));
  for (size_t i = 0; i < etr_ids.size(); ++i) {
    if (!org->stored_models[i]) continue;
    if (auto model = EtrModelFromStored(*org->stored_models[i])) {
      org->etr_models.emplace(etr_ids[i], std::move(*model));
    }
  }
  if (const auto& dropout = org->stored_models.back()) {
    org->dropout_model = DropoutModelFromStored(*dropout);
  }
  inputs.org = std::move(org);
  storage::AlertQuery query;
  query.episode_id = episode_id;
  RAPPORT_ASSIGN_OR_RETURN(inputs.alerts, txn.ListAlerts(org_id, query));
  return Status::Ok();
}

// Whether `inputs` consulted every model that `upcoming` will need.
bool CoversModels(const SignalInputs& inputs, const instruments::Catalog& catalog,
                  std::span<const domain::Response> upcoming) {
  return std::all_of(upcoming.begin(), upcoming.end(), [&](const domain::Response& response) {
    return !NeedsEtrModel(catalog, response) ||
           std::find(inputs.org->etr_instrument_ids.begin(), inputs.org->etr_instrument_ids.end(),
                     response.instrument_id) != inputs.org->etr_instrument_ids.end();
  });
}

}  // namespace

Result<SignalInputs> ReadSignalInputs(storage::ReadTransaction& txn,
                                      const instruments::Catalog& catalog, std::string_view org_id,
                                      std::string_view session_id,
                                      std::span<const domain::Response> upcoming) {
  RAPPORT_ASSIGN_OR_RETURN(SignalInputs inputs, ReadSessionAndRevision(txn, org_id, session_id));
  RAPPORT_RETURN_IF_ERROR(ReadEpisodeInputs(txn, catalog, upcoming, inputs));
  return inputs;
}

Result<SignalInputs> ReadSignalInputs(storage::ReadTransaction& txn,
                                      const instruments::Catalog& catalog, std::string_view org_id,
                                      std::string_view session_id,
                                      std::span<const domain::Response> upcoming,
                                      const SignalCache& cache) {
  // When the cache holds the session's episode, its revision is all there is to read: the
  // session itself is in the entry, as the store has it at that revision.
  if (const std::optional<std::string> episode_id = cache.EpisodeOfSession(org_id, session_id)) {
    RAPPORT_ASSIGN_OR_RETURN(const int64_t revision, txn.GetEpisodeRevision(org_id, *episode_id));
    std::optional<SignalInputs> kept = cache.Find(org_id, *episode_id, revision);
    if (kept && CoversModels(*kept, catalog, upcoming)) {
      const std::vector<domain::Session>& sessions = kept->history.sessions;
      const auto session =
          std::find_if(sessions.begin(), sessions.end(),
                       [&](const domain::Session& s) { return s.id == session_id; });
      if (session != sessions.end()) {
        kept->session = *session;
        return std::move(*kept);
      }
    }
    // Not kept at this revision (Find counted the miss): read from the store, the revision
    // again with the session, whose episode the hint may not be (two sessions can share a
    // hash).
    RAPPORT_ASSIGN_OR_RETURN(SignalInputs inputs, ReadSessionAndRevision(txn, org_id, session_id));
    RAPPORT_RETURN_IF_ERROR(ReadEpisodeInputs(txn, catalog, upcoming, inputs));
    return inputs;
  }
  RAPPORT_ASSIGN_OR_RETURN(SignalInputs inputs, ReadSessionAndRevision(txn, org_id, session_id));
  std::optional<SignalInputs> kept =
      cache.Find(org_id, inputs.session.episode_id, inputs.episode_revision);
  if (kept && CoversModels(*kept, catalog, upcoming)) {
    kept->session = std::move(inputs.session);
    return std::move(*kept);
  }
  // Not kept here: the submission keeps the inputs as its write leaves them, a later revision.
  RAPPORT_RETURN_IF_ERROR(ReadEpisodeInputs(txn, catalog, upcoming, inputs));
  return inputs;
}

Status EvaluateAfterResponse(storage::WriteTransaction& txn, const instruments::Catalog& catalog,
                             std::string_view org_id, std::string_view session_id, Timestamp now,
                             Random& random) {
  RAPPORT_ASSIGN_OR_RETURN(const SignalInputs inputs,
                           ReadSignalInputs(txn, catalog, org_id, session_id));
  return WriteChanges(txn, Reconcile(inputs, catalog, now, random));
}

PreparedEvaluation PrepareEvaluation(SignalInputs inputs, const instruments::Catalog& catalog,
                                     std::span<const domain::Response> responses, Timestamp now,
                                     Random& random) {
  PreparedEvaluation prepared;
  std::vector<domain::Response>& history = inputs.history.responses;
  // The store lists an episode's responses by session number, then submission time, then
  // insertion: a new one goes after every stored response that does not come later.
  std::map<std::string, int, std::less<>> numbers;
  for (const domain::Session& session : inputs.history.sessions) {
    numbers.emplace(session.id, session.number);
  }
  const auto key = [&](const domain::Response& response) {
    const auto it = numbers.find(response.session_id);
    return std::pair(it == numbers.end() ? 0 : it->second, response.submitted_at);
  };
  for (const domain::Response& response : responses) {
    const auto at =
        std::upper_bound(history.begin(), history.end(), key(response),
                         [&](const auto& k, const domain::Response& r) { return k < key(r); });
    history.insert(at, response);
  }
  prepared.changes = Reconcile(inputs, catalog, now, random);
  prepared.inputs = std::move(inputs);
  return prepared;
}

Result<bool> IsCurrent(storage::ReadTransaction& txn, const PreparedEvaluation& prepared) {
  const SignalInputs& inputs = prepared.inputs;
  // Most likely to differ first: another submission to the episode adds responses, which
  // moves its revision (as do changes to its sessions and alerts).
  RAPPORT_ASSIGN_OR_RETURN(const int64_t revision,
                           txn.GetEpisodeRevision(inputs.org_id, inputs.session.episode_id));
  if (revision != inputs.episode_revision) return false;
  RAPPORT_ASSIGN_OR_RETURN(const std::string settings, txn.GetOrgSettings(inputs.org_id));
  if (settings != inputs.org->settings_document) return false;
  RAPPORT_ASSIGN_OR_RETURN(const auto models,
                           ReadStoredModels(txn, inputs.org_id, inputs.org->etr_instrument_ids));
  return models == inputs.org->stored_models;
}

Status ApplyEvaluation(storage::WriteTransaction& txn, const instruments::Catalog& catalog,
                       const PreparedEvaluation& prepared, bool current, Timestamp now,
                       Random& random) {
  if (current) return WriteChanges(txn, prepared.changes);
  return EvaluateAfterResponse(txn, catalog, prepared.inputs.org_id, prepared.inputs.session.id,
                               now, random);
}

std::optional<std::vector<domain::Alert>> AlertsAfter(
    std::span<const domain::Alert> before, std::span<const alliance::AlertChange> changes) {
  // The store's order, but for the last tie-break (which was stored later).
  using Key = std::pair<int, int64_t>;
  const auto key_of = [](const domain::Alert& alert) {
    return Key(static_cast<int>(alert.severity), -ToUnixMillis(alert.created_at));
  };
  // Each alert with the key it was listed under (none: new), in the order that a stable sort
  // by key turns into the store's: the new ones, stored after every alert of `before`, latest
  // first; then `before` as listed.
  struct Entry {
    domain::Alert alert;
    std::optional<Key> listed;
  };
  std::vector<Entry> entries;
  entries.reserve(before.size() + changes.size());
  for (auto change = changes.rbegin(); change != changes.rend(); ++change) {
    if (change->is_new) entries.push_back({change->alert, std::nullopt});
  }
  const size_t first_listed = entries.size();
  for (const domain::Alert& alert : before) entries.push_back({alert, key_of(alert)});
  for (const alliance::AlertChange& change : changes) {
    if (change.is_new) continue;
    const auto it =
        std::find_if(entries.begin() + static_cast<ptrdiff_t>(first_listed), entries.end(),
                     [&](const Entry& e) { return e.alert.id == change.alert.id; });
    if (it == entries.end()) return std::nullopt;
    it->alert = change.alert;
  }
  const auto key = [&](const Entry& e) { return key_of(e.alert); };
  std::stable_sort(entries.begin(), entries.end(),
                   [&](const Entry& a, const Entry& b) { return key(a) < key(b); });
  // Two listed alerts that now tie kept the order they were listed in, which is the store's
  // (latest stored first) only when they were listed under the same key.
  for (size_t i = 0; i < entries.size(); ++i) {
    for (size_t j = i + 1; j < entries.size() && key(entries[j]) == key(entries[i]); ++j) {
      if (entries[i].listed && entries[j].listed && *entries[i].listed != *entries[j].listed) {
        return std::nullopt;
      }
    }
  }
  std::vector<domain::Alert> out;
  out.reserve(entries.size());
  for (Entry& entry : entries) out.push_back(std::move(entry.alert));
  return out;
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
