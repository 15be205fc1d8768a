// Models fitted on an organisation's own history and stored with it (DESIGN.md §5): the
// expected treatment response of an outcome instrument (stats/etr.h; SCIENCE.md §4.3), which
// the not-on-track signal uses. Reading the history, fitting, storing (kind "etr" in the
// store's fitted models) and loading for the signals. Documented for users in
// docs/statistics.md.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "instruments/catalog.h"
#include "instruments/definition.h"
#include "stats/etr.h"
#include "stats/logistic.h"
#include "storage/store.h"

namespace rapport::alerts {

// The kind under which expected-treatment-response models are stored.
inline constexpr std::string_view kEtrModelKind = "etr";

// Which part of the history an ETR model is fitted on.
struct EtrWindow {
  // Client episodes whose intake (first rating) is at or after `from` (all when absent) and
  // before `to`; their ratings before `to` are used.
  std::optional<Timestamp> from;
  Timestamp to;
  // Fit y ~ f(t) + intake + intake:f(t) on the ratings after the intake instead of y ~ f(t)
  // on all ratings.
  bool intake_covariate = false;
};

struct EtrData {
  std::vector<stats::EtrRow> rows;
  int64_t clients = 0;                    // series (client episodes) with at least one row
  std::optional<Timestamp> first_intake;  // the earliest intake among them
};

// The model's rows from an instrument's observations (as ListObservations returns them):
//   - client ratings only: the respondent is a client of the episode and the total is scored;
//   - one series per client and episode (a client with two episodes counts twice), one rating
//     per session (the latest submission);
//   - sessions renumbered from the series' first rating: t = session number − the first rated
//     session's number, so t = 0 is the intake and missed or unrated sessions keep their gap;
//   - series whose intake's session time lies in the window; ratings after `to` are dropped;
//   - with `intake_covariate`: the rows after the intake, each carrying the intake score.
// Row client ids are "<episode id>/<client id>".
EtrData EtrRowsFromObservations(std::span<const storage::InstrumentObservation> observations,
                                const EtrWindow& window);

struct EtrFitRequest {
  std::string org_id;
  const instruments::Definition* instrument = nullptr;  // REQUIRES: not null
  EtrWindow window;
  // The fewest clients to fit on; absent: the organisation's
  // signals.not_on_track.etr_min_clients setting (the number the signals require).
  std::optional<int64_t> min_clients;
  Timestamp now;  // the fit date recorded in the model
};

// Reads the organisation's history of the instrument and fits the model (not stored).
// Errors: kNotFound for an unknown organisation; kInvalidArgument for an instrument that is not
// an outcome measure, for fewer clients than the minimum (the message says how many there are
// and how many are needed), for settings that do not parse, and for data the fit refuses.
Result<stats::EtrModel> FitEtrOnHistory(storage::ReadTransaction& txn,
                                        const EtrFitRequest& request);

// Stores the model as the organisation's latest "etr" model of its instrument
// (model.provenance.instrument_id). Errors: the store's (kNotFound for an unknown organisation).
Status StoreEtrModel(storage::WriteTransaction& txn, std::string_view org_id,
                     const stats::EtrModel& model);

// The model in a stored "etr" document, or nullopt when the document fails validation
// (logged, so the signals fall back to the rational rule).
std::optional<stats::EtrModel> EtrModelFromStored(const storage::FittedModel& stored);

// The stored ETR models of these instruments, by instrument id; instruments without one are
// absent. A stored document that fails validation is logged and skipped, so the signals fall
// back to the rational rule. Errors: the store's.
Result<std::map<std::string, stats::EtrModel, std::less<>>> LoadEtrModels(
    storage::ReadTransaction& txn, std::string_view org_id,
    std::span<const std::string> instrument_ids);

// The kind under which the dropout model is stored (one per organisation, no instrument).
inline constexpr std::string_view kDropoutModelKind = "dropout";

// One row per ended episode for the dropout model: the early-session features of
// alliance/dropout.h for the episode's first client, and 1 when it ended with "dropped out", 0
// when "completed" (referrals and other endings say nothing about dropout and are left out).
struct DropoutData {
  Eigen::MatrixXd x;
  Eigen::VectorXd dropped_out;
  std::vector<std::string> episode_ids;
};

// Collects the organisation's ended episodes that have client ratings on an alliance measure
// of `catalog` and ended before `to`. Errors: the store's.
Result<DropoutData> DropoutDataFromHistory(storage::ReadTransaction& txn,
                                           const instruments::Catalog& catalog,
                                           std::string_view org_id, Timestamp to,
                                           int early_sessions);

// Fits the dropout model on the organisation's history (not stored), with the early window of
// its settings. Errors: kNotFound for an unknown organisation; kInvalidArgument for too little
// history (the message says how much there is) and for data the fit refuses.
Result<stats::DropoutModel> FitDropoutOnHistory(storage::ReadTransaction& txn,
                                                const instruments::Catalog& catalog,
                                                std::string_view org_id, Timestamp to,
                                                Timestamp now, int folds = 5);

// Stores the model as the organisation's dropout model. Errors: the store's.
Status StoreDropoutModel(storage::WriteTransaction& txn, std::string_view org_id,
                         const stats::DropoutModel& model, Timestamp now);

// The model in a stored "dropout" document, or nullopt when it fails validation (logged).
std::optional<stats::DropoutModel> DropoutModelFromStored(const storage::FittedModel& stored);

// The stored dropout model, or nullopt when there is none or it fails validation (logged).
Result<std::optional<stats::DropoutModel>> LoadDropoutModel(storage::ReadTransaction& txn,
                                                            std::string_view org_id);

}  // namespace rapport::alerts
