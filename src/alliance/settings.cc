#include "alliance/settings.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace rapport::alliance {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& field, const std::string& message) {
  return InvalidArgument("settings: " + field + ": " + message, field);
}

Status CheckKeys(const Json& object, const std::string& path,
                 std::initializer_list<std::string_view> known) {
  if (!object.is_object()) return Bad(path, "must be an object");
  for (const auto& [key, unused] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Bad(path.empty() ? key : path + "." + key, "is not a known setting");
    }
  }
  return Status::Ok();
}

Result<double> Number(const Json& value, const std::string& field, double min, double max) {
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    return Bad(field, "must be a number");
  }
  const double number = value.get<double>();
  if (number < min || number > max) {
    return Bad(field, "must lie between " + Json(min).dump() + " and " + Json(max).dump());
  }
  return number;
}

Result<int> Integer(const Json& value, const std::string& field, int min, int max) {
  if (!value.is_number_integer()) return Bad(field, "must be a whole number");
  const int64_t number = value.get<int64_t>();
  if (number < min || number > max) {
    return Bad(field, "must lie between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<int>(number);
}

Status ParseSignals(const Json& signals, SignalSettings& out) {
  RAPPORT_RETURN_IF_ERROR(CheckKeys(
      signals, "signals", {"rupture", "dropout", "not_on_track", "goal_stalled", "disabled"}));
  if (signals.contains("rupture")) {
    const Json& r = signals.at("rupture");
    RAPPORT_RETURN_IF_ERROR(CheckKeys(
        r, "signals.rupture", {"mode", "threshold", "intra_k", "window", "tolerance", "baseline"}));
    if (r.contains("mode")) {
      if (!r.at("mode").is_string()) return Bad("signals.rupture.mode", "must be text");
      auto mode = ParseThresholdMode(r.at("mode").get<std::string>());
      if (!mode.ok()) return Bad("signals.rupture.mode", mode.status().message());
      out.rupture_mode = *mode;
    }
    if (r.contains("threshold")) {
      const Json& t = r.at("threshold");
      if (!t.is_object()) {
        return Bad("signals.rupture.threshold", "must map instrument ids to points");
      }
      for (const auto& [instrument, points] : t.items()) {
        RAPPORT_ASSIGN_OR_RETURN(
            const double value,
            Number(points, "signals.rupture.threshold." + instrument, 1e-9, 1e9));
        out.rupture_threshold[instrument] = value;
      }
    }
    if (r.contains("intra_k")) {
      RAPPORT_ASSIGN_OR_RETURN(out.rupture_intra_k,
                               Number(r.at("intra_k"), "signals.rupture.intra_k", 0.1, 10));
    }
    if (r.contains("window")) {
      RAPPORT_ASSIGN_OR_RETURN(out.rupture_window,
                               Integer(r.at("window"), "signals.rupture.window", 1, 52));
    }
    if (r.contains("baseline")) {
      RAPPORT_ASSIGN_OR_RETURN(out.rupture_baseline,
                               Integer(r.at("baseline"), "signals.rupture.baseline", 1, 12));
    }
    if (r.contains("tolerance")) {
      RAPPORT_ASSIGN_OR_RETURN(out.rupture_tolerance,
                               Number(r.at("tolerance"), "signals.rupture.tolerance", 0, 1e9));
    }
  }
  if (signals.contains("dropout")) {
    const Json& d = signals.at("dropout");
    RAPPORT_RETURN_IF_ERROR(
        CheckKeys(d, "signals.dropout",
                  {"early_sessions", "min_factors", "model_min_cases", "model_threshold"}));
    if (d.contains("early_sessions")) {
      RAPPORT_ASSIGN_OR_RETURN(
          out.dropout_early_sessions,
          Integer(d.at("early_sessions"), "signals.dropout.early_sessions", 1, 52));
    }
    if (d.contains("min_factors")) {
      RAPPORT_ASSIGN_OR_RETURN(out.dropout_min_factors,
                               Integer(d.at("min_factors"), "signals.dropout.min_factors", 1, 4));
    }
    if (d.contains("model_min_cases")) {
      RAPPORT_ASSIGN_OR_RETURN(
          out.dropout_model_min_cases,
          Integer(d.at("model_min_cases"), "signals.dropout.model_min_cases", 20, 10'000'000));
    }
    if (d.contains("model_threshold")) {
      RAPPORT_ASSIGN_OR_RETURN(
          out.dropout_model_threshold,
          Number(d.at("model_threshold"), "signals.dropout.model_threshold", 0.01, 0.99));
    }
  }
  if (signals.contains("not_on_track")) {
    const Json& n = signals.at("not_on_track");
    RAPPORT_RETURN_IF_ERROR(
        CheckKeys(n, "signals.not_on_track", {"session", "etr_min_clients", "percentile"}));
    if (n.contains("session")) {
      RAPPORT_ASSIGN_OR_RETURN(out.not_on_track_session,
                               Integer(n.at("session"), "signals.not_on_track.session", 2, 200));
    }
    if (n.contains("etr_min_clients")) {
      // At least 3: the model's client covariance has three parameters (stats/etr.h).
      RAPPORT_ASSIGN_OR_RETURN(
          out.etr_min_clients,
          Integer(n.at("etr_min_clients"), "signals.not_on_track.etr_min_clients", 3, 10'000'000));
    }
    if (n.contains("percentile")) {
      RAPPORT_ASSIGN_OR_RETURN(
          out.not_on_track_percentile,
          Number(n.at("percentile"), "signals.not_on_track.percentile", 60, 99.9));
    }
  }
  if (signals.contains("goal_stalled")) {
    const Json& g = signals.at("goal_stalled");
    RAPPORT_RETURN_IF_ERROR(CheckKeys(g, "signals.goal_stalled", {"sessions"}));
    if (g.contains("sessions")) {
      RAPPORT_ASSIGN_OR_RETURN(out.goal_stalled_sessions,
                               Integer(g.at("sessions"), "signals.goal_stalled.sessions", 2, 52));
    }
  }
  if (signals.contains("disabled")) {
    const Json& list = signals.at("disabled");
    if (!list.is_array()) return Bad("signals.disabled", "must be an array of signal kinds");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string field = "signals.disabled[" + std::to_string(i) + "]";
      if (!list[i].is_string()) return Bad(field, "must be text");
      const std::string kind = list[i].get<std::string>();
      const auto& kinds = SignalKinds();
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
        return Bad(field, "unknown signal '" + kind + "'");
      }
      if (kind == "risk-item") return Bad(field, "risk-item alerts cannot be switched off");
      out.disabled.insert(kind);
    }
  }
  return Status::Ok();
}

}  // namespace

const char* const kDefaultSafetyText =
    "This organisation has not configured its safety procedure. Contact the client today and "
    "follow your clinic's risk assessment protocol; discuss with your supervisor.";

Result<OrgSettings> ParseOrgSettings(const Json& document) {
  OrgSettings out;
  RAPPORT_RETURN_IF_ERROR(CheckKeys(document, "", {"safety_text", "signals", "guidance"}));
  if (document.contains("safety_text")) {
    const Json& text = document.at("safety_text");
    if (!text.is_string() || text.get<std::string>().empty()) {
      return Bad("safety_text", "must be non-empty text");
    }
    out.safety_text = text.get<std::string>();
  }
  if (document.contains("signals")) {
    RAPPORT_RETURN_IF_ERROR(ParseSignals(document.at("signals"), out.signals));
  }
  if (document.contains("guidance")) {
    const Json& guidance = document.at("guidance");
    RAPPORT_RETURN_IF_ERROR(CheckKeys(guidance, "guidance", {"entries", "disabled"}));
    if (guidance.contains("entries")) {
      const Json& entries = guidance.at("entries");
      if (!entries.is_array()) return Bad("guidance.entries", "must be an array of entries");
      for (size_t i = 0; i < entries.size(); ++i) {
        auto entry =
            ParseGuidanceEntry(entries[i], "settings guidance.entries[" + std::to_string(i) + "]");
        if (!entry.ok()) return entry.status();
        out.guidance_entries.push_back(std::move(entry).value());
      }
    }
    if (guidance.contains("disabled")) {
      const Json& list = guidance.at("disabled");
      if (!list.is_array()) return Bad("guidance.disabled", "must be an array of entry ids");
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string()) {
          return Bad("guidance.disabled[" + std::to_string(i) + "]", "must be text");
        }
        out.guidance_disabled.insert(list[i].get<std::string>());
      }
    }
  }
  return out;
}

Result<OrgSettings> ParseOrgSettingsText(std::string_view json_text) {
  const Json document = Json::parse(json_text, nullptr, false);
  if (document.is_discarded()) return InvalidArgument("settings: not valid JSON", "settings");
  return ParseOrgSettings(document);
}

}  // namespace rapport::alliance
