// Alerts in the store: evaluating the clinical signals of src/alliance so that their alerts are
// committed with the response that raised them (visible at once), staff transitions and
// repair notes, the organisation's settings, the guidance library files, and the JSON shown
// for an alert. Sits between src/storage and src/api (DESIGN.md §7).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "alliance/alerts.h"
#include "alliance/guidance.h"
#include "alliance/settings.h"
#include "alliance/signals.h"
#include "base/random.h"
#include "base/status.h"
#include "domain/alert.h"
#include "instruments/catalog.h"
#include "stats/etr.h"
#include "stats/logistic.h"
#include "storage/store.h"

namespace rapport::alerts {

// Re-evaluates every signal of the episode that `session_id` belongs to, with the
// organisation's settings, and writes the resulting alert changes (ReconcileAlerts) through
// `txn`. Call it in the transaction that stored the new responses. Settings that fail to parse
// are logged and the defaults used, so a risk item is never missed. Errors: the store's.
Status EvaluateAfterResponse(storage::WriteTransaction& txn, const instruments::Catalog& catalog,
                             std::string_view org_id, std::string_view session_id, Timestamp now,
                             Random& random);

// Evaluating away from the writer (optimistic concurrency). A submission reads the inputs of
// its episode's signals from a snapshot (ReadSignalInputs) and evaluates them with its new
// responses added in memory (PrepareEvaluation). Inside its write transaction, before storing
// the responses, IsCurrent checks by a few primary-key reads that everything the evaluation
// read is still as it was; ApplyEvaluation then writes the prepared alert changes, or evaluates
// again inside the transaction when something changed meanwhile (e.g. another submission to
// the same episode committed first). Either way the alerts committed with the responses are
// those EvaluateAfterResponse would have written in that transaction.

// What the signals of an organisation's episodes read beside the episodes' own records, as
// stored and as parsed: its settings and the fitted models consulted. The same for every
// episode of the organisation whose clients rated the same outcome measures, so shared.
struct OrgSignalInputs {
  std::string settings_document;   // as stored
  alliance::OrgSettings settings;  // the defaults when the stored ones do not parse (logged)
  // The fitted models consulted, as stored (nullopt: none stored): the "etr" model of each of
  // `etr_instrument_ids`, then the "dropout" model.
  std::vector<std::string> etr_instrument_ids;
  std::vector<std::optional<storage::FittedModel>> stored_models;
  std::map<std::string, stats::EtrModel, std::less<>> etr_models;  // the valid ones
  std::optional<stats::DropoutModel> dropout_model;
};

// What the signals of one episode read, from one snapshot.
struct SignalInputs {
  std::string org_id;
  domain::Session session;  // the session the new responses belong to
  // The episode's revision (storage::ReadTransaction::GetEpisodeRevision) in the snapshot the
  // history and alerts were read from.
  int64_t episode_revision = 0;
  alliance::EpisodeHistory history;
  std::vector<domain::Alert> alerts;  // the episode's, any status, as ListAlerts orders them
  std::shared_ptr<const OrgSignalInputs> org;  // never null once read
};

// Reads the inputs for the episode of `session_id`, including the models that `upcoming`
// (responses about to be stored, not yet in the store) will need. Errors: the store's.
Result<SignalInputs> ReadSignalInputs(storage::ReadTransaction& txn,
                                      const instruments::Catalog& catalog, std::string_view org_id,
                                      std::string_view session_id,
                                      std::span<const domain::Response> upcoming = {});

// Alert changes computed outside the write, with what they were computed from.
struct PreparedEvaluation {
  // The inputs read, with the new responses added to the history as the store will list
  // them. Their revision and alerts are those read: the write moves both.
  SignalInputs inputs;
  std::vector<alliance::AlertChange> changes;  // updates first, then new alerts
};

// The alert changes EvaluateAfterResponse would make once `responses` are stored on top of
// `inputs`: they join the history where the store would list them (last within their
// session, in the given order). REQUIRES: every response belongs to `inputs.session` and
// none is stored yet.
PreparedEvaluation PrepareEvaluation(SignalInputs inputs, const instruments::Catalog& catalog,
                                     std::span<const domain::Response> responses, Timestamp now,
                                     Random& random);

// True when everything `prepared` was computed from is unchanged in `txn`: the episode's
// revision (its sessions, responses and alerts), the organisation's settings document and the
// fitted models consulted. Call it in the write transaction before
// storing the new responses. Errors: the store's.
Result<bool> IsCurrent(storage::ReadTransaction& txn, const PreparedEvaluation& prepared);

// After the responses are stored in `txn`: writes `prepared.changes` when `current` (as
// IsCurrent said before they were stored), else runs EvaluateAfterResponse for the session.
// Errors: the store's.
Status ApplyEvaluation(storage::WriteTransaction& txn, const instruments::Catalog& catalog,
                       const PreparedEvaluation& prepared, bool current, Timestamp now,
                       Random& random);

// The episode's alerts as the store lists them (ListAlerts: most severe first, then newest
// first, then latest stored first) once `changes` are written on top of `before`, which must be
// the episode's alerts as the store listed them and `changes` those Reconcile made from them
// (updates by id, then new alerts in the order they are stored). nullopt when what is in
// memory does not settle the order (an update moved an alert to another severity, where it
// meets one created in the same millisecond that was listed elsewhere: the store orders the two
// by when each was stored), and when an update names no alert of `before`.
std::optional<std::vector<domain::Alert>> AlertsAfter(
    std::span<const domain::Alert> before, std::span<const alliance::AlertChange> changes);

// The organisation's settings; a stored document that does not parse is an error naming the
// field (kInvalidArgument).
Result<alliance::OrgSettings> LoadOrgSettings(storage::ReadTransaction& txn,
                                              std::string_view org_id);
// Validates `json_text` with ParseOrgSettings and stores it. Errors: kInvalidArgument naming
// the field; kNotFound for an unknown organisation.
Status SaveOrgSettings(storage::WriteTransaction& txn, std::string_view org_id,
                       std::string_view json_text, Timestamp now);

// Staff transitions on a stored alert (alliance::Acknowledge / Resolve).
Status AcknowledgeAlert(storage::WriteTransaction& txn, std::string_view org_id,
                        std::string_view alert_id, const std::string& user_id, Timestamp now);
Status ResolveAlert(storage::WriteTransaction& txn, std::string_view org_id,
                    std::string_view alert_id, const std::string& user_id, Timestamp now);
// Records what was done about an alert. Errors: InvalidArgument for an empty text or author;
// kNotFound for an unknown alert.
Result<domain::RepairNote> AddRepairNote(storage::WriteTransaction& txn, std::string_view org_id,
                                         std::string_view alert_id, const std::string& user_id,
                                         const std::string& text, bool discussed_with_client,
                                         Timestamp now, Random& random);

// Loads every data/guidance/*.json entry (one entry per file, id = file name) and checks ids
// are unique. Errors: kInvalidArgument listing every problem, each naming file and field.
Result<std::vector<alliance::GuidanceEntry>> LoadGuidanceDirectory(
    const std::filesystem::path& dir);
// DefaultDataDir()/guidance.
std::filesystem::path DefaultGuidanceDir();

// An alert as shown to staff: its fields, evidence, repair notes, and the guidance for its
// kind (and, for ruptures, the dimension that dropped most) from `library`.
nlohmann::json AlertToJson(const domain::Alert& alert, const std::vector<domain::RepairNote>& notes,
                           const std::vector<alliance::GuidanceEntry>& library);

}  // namespace rapport::alerts
