// Alerts and repair notes (DESIGN.md §3): what the clinical signals of src/alliance leave for
// staff to act on. Plain values; no behaviour beyond naming.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace rapport::domain {

// Lifecycle: open → acknowledged → resolved (by a person, or automatically when the condition
// clears or a rupture is repaired).
enum class AlertStatus { kOpen, kAcknowledged, kResolved };
// urgent: act today (risk items); warning: discuss at the next session; prompt: a gentle
// check-in is worth it.
enum class AlertSeverity { kUrgent, kWarning, kPrompt };

struct Alert {
  std::string id;
  std::string org_id;
  std::string episode_id;
  std::string client_id;   // the respondent the signal is about
  std::string kind;        // a signal kind of src/alliance: "rupture", "risk-item", ...
  std::string dedupe_key;  // signals with the same key merge into one alert
  AlertSeverity severity = AlertSeverity::kWarning;
  AlertStatus status = AlertStatus::kOpen;
  int session_number = 0;       // the session whose rating raised it (first seen)
  int last_session_number = 0;  // the latest session whose rating confirmed it
  int occurrences = 1;          // how many evaluations merged into this alert
  std::string evidence_json;    // numbers and rule, as a JSON object
  Timestamp created_at;
  Timestamp updated_at;
  std::string acknowledged_by;  // a user id; empty when not acknowledged
  std::optional<Timestamp> acknowledged_at;
  std::string resolved_by;  // a user id, or "rapport" for automatic resolution
  std::optional<Timestamp> resolved_at;
  // Why it was resolved: "repaired", "condition-cleared" or "staff"; empty while active.
  std::string resolution;
  friend bool operator==(const Alert&, const Alert&) = default;
};

// What a clinician did about an alert and whether it was discussed with the client.
struct RepairNote {
  std::string id;
  std::string org_id;
  std::string alert_id;
  std::string author_id;
  std::string text;
  bool discussed_with_client = false;
  Timestamp created_at;
  friend bool operator==(const RepairNote&, const RepairNote&) = default;
};

std::string_view Name(AlertStatus v);
std::string_view Name(AlertSeverity v);
Result<AlertStatus> ParseAlertStatus(std::string_view text);
Result<AlertSeverity> ParseAlertSeverity(std::string_view text);

}  // namespace rapport::domain
