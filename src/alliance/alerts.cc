#include "alliance/alerts.h"

#include <algorithm>

namespace rapport::alliance {
namespace {

using domain::Alert;
using domain::AlertStatus;

bool Active(const Alert& alert) { return alert.status != AlertStatus::kResolved; }

void ResolveAutomatically(Alert& alert, const std::string& resolution, Timestamp now) {
  alert.status = AlertStatus::kResolved;
  alert.resolved_by = "rapport";
  alert.resolved_at = now;
  alert.resolution = resolution;
  alert.updated_at = now;
}

}  // namespace

std::vector<AlertChange> ReconcileAlerts(std::span<const Alert> existing,
                                         std::span<const Signal> signals, const std::string& org_id,
                                         const std::string& episode_id, Timestamp now,
                                         const std::function<std::string()>& new_id) {
  std::vector<AlertChange> out;
  std::vector<std::string> seen;
  for (const Signal& signal : signals) {
    // One alert per key: a repeated key within one evaluation adds nothing.
    if (std::find(seen.begin(), seen.end(), signal.key) != seen.end()) continue;
    seen.push_back(signal.key);
    const std::string evidence = signal.evidence.dump();
    const auto active = std::find_if(existing.begin(), existing.end(), [&](const Alert& a) {
      return a.dedupe_key == signal.key && Active(a);
    });
    if (active != existing.end()) {
      Alert alert = *active;
      if (signal.active) {
        // Duplicates merge into the alert already raised.
        alert.severity = signal.severity;
        alert.evidence_json = evidence;
        alert.last_session_number = signal.last_session_number;
        alert.occurrences = signal.occurrences;
      } else {
        alert.evidence_json = evidence;
        alert.last_session_number = signal.last_session_number;
        ResolveAutomatically(alert, signal.resolution, now);
      }
      if (!(alert == *active)) {
        alert.updated_at = now;
        out.push_back({std::move(alert), false});
      }
      continue;
    }
    // No active alert: was this condition raised before?
    const Alert* latest = nullptr;
    for (const Alert& a : existing) {
      if (a.dedupe_key == signal.key &&
          (latest == nullptr || a.last_session_number > latest->last_session_number)) {
        latest = &a;
      }
    }
    if (latest != nullptr &&
        (!signal.active || signal.last_session_number <= latest->last_session_number)) {
      continue;  // already handled; nothing new since
    }
    Alert alert;
    alert.id = new_id();
    alert.org_id = org_id;
    alert.episode_id = episode_id;
    alert.client_id = signal.client_id;
    alert.kind = signal.kind;
    alert.dedupe_key = signal.key;
    alert.severity = signal.severity;
    alert.session_number = signal.session_number;
    alert.last_session_number = signal.last_session_number;
    alert.occurrences = signal.occurrences;
    alert.evidence_json = evidence;
    alert.created_at = alert.updated_at = now;
    if (!signal.active) ResolveAutomatically(alert, signal.resolution, now);
    out.push_back({std::move(alert), true});
  }
  for (const Alert& alert : existing) {
    if (!Active(alert) || std::find(seen.begin(), seen.end(), alert.dedupe_key) != seen.end()) {
      continue;
    }
    Alert cleared = alert;
    ResolveAutomatically(cleared, "condition-cleared", now);
    out.push_back({std::move(cleared), false});
  }
  return out;
}

Status Acknowledge(domain::Alert& alert, const std::string& user_id, Timestamp now) {
  if (user_id.empty()) return InvalidArgument("who acknowledges the alert is required", "by");
  if (alert.status == AlertStatus::kResolved) return Conflict("the alert is already resolved");
  if (alert.status == AlertStatus::kAcknowledged) {
    return Conflict("the alert is already acknowledged");
  }
  alert.status = AlertStatus::kAcknowledged;
  alert.acknowledged_by = user_id;
  alert.acknowledged_at = now;
  alert.updated_at = now;
  return Status::Ok();
}

Status Resolve(domain::Alert& alert, const std::string& user_id, Timestamp now) {
  if (user_id.empty()) return InvalidArgument("who resolves the alert is required", "by");
  if (alert.status == AlertStatus::kResolved) return Conflict("the alert is already resolved");
  alert.status = AlertStatus::kResolved;
  alert.resolved_by = user_id;
  alert.resolved_at = now;
  alert.resolution = "staff";
  alert.updated_at = now;
  return Status::Ok();
}

}  // namespace rapport::alliance
