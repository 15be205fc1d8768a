// Alerts in the store: evaluating the clinical signals of src/alliance inside the write
// transaction that stores a response (so they are visible at once), staff transitions and
// repair notes, the organisation's settings, the guidance library files, and the JSON shown
// for an alert. Sits between src/storage and src/api (DESIGN.md §7).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "alliance/guidance.h"
#include "alliance/settings.h"
#include "base/random.h"
#include "base/status.h"
#include "domain/alert.h"
#include "instruments/catalog.h"
#include "storage/store.h"

namespace rapport::alerts {

// Re-evaluates every signal of the episode that `session_id` belongs to, with the
// organisation's settings, and writes the resulting alert changes (ReconcileAlerts) through
// `txn`. Call it in the transaction that stored the new responses. Settings that fail to parse
// are logged and the defaults used, so a risk item is never missed. Errors: the store's.
Status EvaluateAfterResponse(storage::WriteTransaction& txn, const instruments::Catalog& catalog,
                             std::string_view org_id, std::string_view session_id, Timestamp now,
                             Random& random);

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
