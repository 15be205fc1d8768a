#include "domain/alert.h"

#include <string>

namespace rapport::domain {

std::string_view Name(AlertStatus v) {
  switch (v) {
    case AlertStatus::kOpen: return "open";
    case AlertStatus::kAcknowledged: return "acknowledged";
    case AlertStatus::kResolved: return "resolved";
  }
  return "open";
}

std::string_view Name(AlertSeverity v) {
  switch (v) {
    case AlertSeverity::kUrgent: return "urgent";
    case AlertSeverity::kWarning: return "warning";
    case AlertSeverity::kPrompt: return "prompt";
  }
  return "warning";
}

Result<AlertStatus> ParseAlertStatus(std::string_view text) {
  for (AlertStatus v : {AlertStatus::kOpen, AlertStatus::kAcknowledged, AlertStatus::kResolved}) {
    if (Name(v) == text) return v;
  }
  return InvalidArgument(
      "alert status must be open, acknowledged or resolved, not '" + std::string(text) + "'",
      "status");
}

Result<AlertSeverity> ParseAlertSeverity(std::string_view text) {
  for (AlertSeverity v :
       {AlertSeverity::kUrgent, AlertSeverity::kWarning, AlertSeverity::kPrompt}) {
    if (Name(v) == text) return v;
  }
  return InvalidArgument(
      "alert severity must be urgent, warning or prompt, not '" + std::string(text) + "'",
      "severity");
}

}  // namespace rapport::domain
