// The alert lifecycle (DESIGN.md §3, §5): merging signals into alerts, automatic resolution
// when a condition clears or a rupture is repaired, and staff transitions. Pure; no I/O.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "alliance/signals.h"
#include "base/clock.h"
#include "domain/alert.h"

namespace rapport::alliance {

struct AlertChange {
  domain::Alert alert;
  bool is_new = false;  // insert when true, else update the stored alert with the same id
};

// Reconciles the episode's stored alerts (`existing`, any status) with the signals of a fresh
// evaluation:
//  - a signal whose key has an active (open or acknowledged) alert updates it (evidence,
//    severity, latest session, occurrences) — duplicates merge;
//  - an inactive signal (a repaired rupture) resolves that alert with its resolution; with no
//    alert yet, it is recorded as an already-resolved alert so the episode's history shows it;
//  - an active signal with no active alert creates one, unless an alert with the same key was
//    resolved after the latest session that raises it (no re-raising of what staff closed);
//  - an active alert whose key no signal produces is resolved as "condition-cleared".
// Signals repeating an earlier signal's key are ignored. Only alerts that change are returned.
// `new_id` makes ids for new alerts.
std::vector<AlertChange> ReconcileAlerts(std::span<const domain::Alert> existing,
                                         std::span<const Signal> signals, const std::string& org_id,
                                         const std::string& episode_id, Timestamp now,
                                         const std::function<std::string()>& new_id);

// Staff transitions. Errors: kConflict when the alert is already resolved (or, for
// Acknowledge, already acknowledged); InvalidArgument when `user_id` is empty.
Status Acknowledge(domain::Alert& alert, const std::string& user_id, Timestamp now);
Status Resolve(domain::Alert& alert, const std::string& user_id, Timestamp now);

}  // namespace rapport::alliance
