#include "storage/postgres/postgres_store.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "storage/group_commit.h"
#include "storage/postgres/db.h"
#include "storage/postgres/migrations.h"
#include "storage/response_columns.h"

namespace rapport::storage::postgres {
namespace {

using Json = nlohmann::json;
using domain::Checkin;
using domain::Response;

std::optional<int64_t> OptionalMillis(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return ToUnixMillis(*t);
}

std::optional<Timestamp> OptionalTime(const Rows& rows, int row, int column) {
  if (rows.IsNull(row, column)) return std::nullopt;
  return FromUnixMillis(rows.Int(row, column));
}

// kNotFound naming `what` when `rows` is empty.
Status One(const Rows& rows, std::string_view what) {
  if (rows.empty()) return NotFound(std::string(what) + " not found");
  return Status::Ok();
}

template <typename E>
Result<E> ParseEnum(Result<E> (*parse)(std::string_view), const std::string& text) {
  auto parsed = parse(text);
  if (!parsed.ok()) return Internal("stored value is invalid: " + parsed.status().message());
  return parsed;
}

// The key of an organisation's audit-chain lock: pg_advisory_xact_lock(kAuditLockClass,
// hashtext(org_id)). Two organisations may share a key; they then only wait for each other.
constexpr int kAuditLockClass = 0x41554454;  // "AUDT"

// Both transaction kinds over one connection. Read transactions run READ ONLY, so PostgreSQL
// itself refuses writes there.
class PostgresTransaction final : public WriteTransaction {
 public:
  explicit PostgresTransaction(Connection& db) : db_(db) {}

  Result<domain::Organization> GetOrganization(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows, db_.Query("SELECT id, name, created_at FROM organizations WHERE id = $1",
                                   Params().Add(org_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "organization"));
    return domain::Organization{rows.Text(0, 0), rows.Text(0, 1), FromUnixMillis(rows.Int(0, 2))};
  }

  Result<std::vector<domain::Organization>> ListOrganizations() override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows, db_.Query("SELECT id, name, created_at FROM organizations ORDER BY name"));
    std::vector<domain::Organization> out;
    for (int row = 0; row < rows.size(); ++row) {
      out.push_back({rows.Text(row, 0), rows.Text(row, 1), FromUnixMillis(rows.Int(row, 2))});
    }
    return out;
  }

  Result<std::vector<domain::Clinic>> ListClinics(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT org_id, id, name FROM clinics WHERE org_id = $1 ORDER BY name, id",
                  Params().Add(org_id)));
    std::vector<domain::Clinic> out;
    for (int row = 0; row < rows.size(); ++row) {
      out.push_back({rows.Text(row, 1), rows.Text(row, 0), rows.Text(row, 2)});
    }
    return out;
  }

  static constexpr std::string_view kUserColumns =
      "SELECT org_id, id, clinic_id, email, display_name, role, password_hash, disabled, "
      "created_at, totp_secret, totp_enabled, failed_logins, locked_until FROM users ";

  static Result<domain::User> ReadUser(const Rows& rows, int row) {
    domain::User user;
    user.org_id = rows.Text(row, 0);
    user.id = rows.Text(row, 1);
    user.clinic_id = rows.Text(row, 2);
    user.email = rows.Text(row, 3);
    user.display_name = rows.Text(row, 4);
    RAPPORT_ASSIGN_OR_RETURN(user.role, ParseEnum(domain::ParseRole, rows.Text(row, 5)));
    user.password_hash = rows.Text(row, 6);
    user.disabled = rows.Bool(row, 7);
    user.created_at = FromUnixMillis(rows.Int(row, 8));
    user.totp_secret = rows.Text(row, 9);
    user.totp_enabled = rows.Bool(row, 10);
    user.failed_logins = static_cast<int>(rows.Int(row, 11));
    user.locked_until = OptionalTime(rows, row, 12);
    return user;
  }

  Result<domain::User> GetUser(std::string_view org_id, std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kUserColumns).append("WHERE org_id = $1 AND id = $2"),
                  Params().Add(org_id).Add(user_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "user"));
    return ReadUser(rows, 0);
  }

  Result<domain::User> GetUserByEmail(std::string_view email) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kUserColumns).append("WHERE email = $1"), Params().Add(email)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "user"));
    return ReadUser(rows, 0);
  }

  Result<std::vector<domain::User>> ListUsers(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kUserColumns).append("WHERE org_id = $1 ORDER BY email"),
                  Params().Add(org_id)));
    std::vector<domain::User> out;
    for (int row = 0; row < rows.size(); ++row) {
      RAPPORT_ASSIGN_OR_RETURN(domain::User user, ReadUser(rows, row));
      out.push_back(std::move(user));
    }
    return out;
  }

  static constexpr std::string_view kClientColumns =
      "SELECT org_id, id, code, language, consent_research, created_at FROM clients ";

  static domain::Client ReadClient(const Rows& rows, int row) {
    return {rows.Text(row, 1), rows.Text(row, 0), rows.Text(row, 2),
            rows.Text(row, 3), rows.Bool(row, 4), FromUnixMillis(rows.Int(row, 5))};
  }

  Result<domain::Client> GetClient(std::string_view org_id, std::string_view client_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kClientColumns).append("WHERE org_id = $1 AND id = $2"),
                  Params().Add(org_id).Add(client_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "client"));
    return ReadClient(rows, 0);
  }

  Result<std::vector<domain::Client>> ListClients(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kClientColumns).append("WHERE org_id = $1 ORDER BY code"),
                  Params().Add(org_id)));
    std::vector<domain::Client> out;
    for (int row = 0; row < rows.size(); ++row) out.push_back(ReadClient(rows, row));
    return out;
  }

  // `sql` selects one column of member ids for org_id = $1 and episode_id = $2.
  Result<std::vector<std::string>> EpisodeMembers(std::string_view sql, std::string_view org_id,
                                                  std::string_view episode_id) {
    RAPPORT_ASSIGN_OR_RETURN(const Rows rows, db_.Query(sql, Params().Add(org_id).Add(episode_id)));
    std::vector<std::string> out;
    for (int row = 0; row < rows.size(); ++row) out.push_back(rows.Text(row, 0));
    return out;
  }

  Result<domain::Episode> GetEpisode(std::string_view org_id,
                                     std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT clinic_id, modality, started_at, ended_at, end_reason FROM episodes "
                  "WHERE org_id = $1 AND id = $2",
                  Params().Add(org_id).Add(episode_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "episode"));
    domain::Episode episode;
    episode.id = std::string(episode_id);
    episode.org_id = std::string(org_id);
    episode.clinic_id = rows.Text(0, 0);
    RAPPORT_ASSIGN_OR_RETURN(episode.modality, ParseEnum(domain::ParseModality, rows.Text(0, 1)));
    episode.started_at = FromUnixMillis(rows.Int(0, 2));
    episode.ended_at = OptionalTime(rows, 0, 3);
    if (!rows.IsNull(0, 4)) {
      RAPPORT_ASSIGN_OR_RETURN(episode.end_reason,
                               ParseEnum(domain::ParseEndReason, rows.Text(0, 4)));
    }
    RAPPORT_ASSIGN_OR_RETURN(
        episode.client_ids,
        EpisodeMembers("SELECT client_id FROM episode_clients WHERE org_id = $1 AND episode_id = "
                       "$2 ORDER BY position",
                       org_id, episode_id));
    RAPPORT_ASSIGN_OR_RETURN(
        episode.clinician_ids,
        EpisodeMembers("SELECT user_id FROM episode_clinicians WHERE org_id = $1 AND episode_id = "
                       "$2 ORDER BY position",
                       org_id, episode_id));
    return episode;
  }

  Result<domain::Session> GetSession(std::string_view org_id,
                                     std::string_view session_id) override {
    RAPPORT_ASSIGN_OR_RETURN(const Rows rows,
                             db_.Query("SELECT episode_id, number, scheduled_at, attendance FROM "
                                       "sessions WHERE org_id = $1 AND id = $2",
                                       Params().Add(org_id).Add(session_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "session"));
    domain::Session session;
    session.id = std::string(session_id);
    session.org_id = std::string(org_id);
    session.episode_id = rows.Text(0, 0);
    session.number = static_cast<int>(rows.Int(0, 1));
    session.scheduled_at = FromUnixMillis(rows.Int(0, 2));
    RAPPORT_ASSIGN_OR_RETURN(session.attendance,
                             ParseEnum(domain::ParseAttendance, rows.Text(0, 3)));
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows people,
        db_.Query("SELECT person_id, role FROM session_participants WHERE org_id = $1 AND "
                  "session_id = $2 ORDER BY insert_order",
                  Params().Add(org_id).Add(session_id)));
    for (int row = 0; row < people.size(); ++row) {
      domain::Participant participant;
      participant.person_id = people.Text(row, 0);
      RAPPORT_ASSIGN_OR_RETURN(participant.role,
                               ParseEnum(domain::ParseParticipantRole, people.Text(row, 1)));
      session.participants.push_back(std::move(participant));
    }
    return session;
  }

  Result<Checkin> GetCheckinByTokenDigest(std::string_view token_digest) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT org_id, id, session_id, respondent_id, perspective, instruments, "
                  "language, created_at, expires_at, submitted_at, submission_digest FROM "
                  "checkins WHERE token_digest = $1",
                  Params().Add(token_digest)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "check-in"));
    Checkin checkin;
    checkin.org_id = rows.Text(0, 0);
    checkin.id = rows.Text(0, 1);
    checkin.session_id = rows.Text(0, 2);
    checkin.respondent_id = rows.Text(0, 3);
    RAPPORT_ASSIGN_OR_RETURN(checkin.perspective,
                             ParseEnum(domain::ParsePerspective, rows.Text(0, 4)));
    const Json instruments = Json::parse(rows.Text(0, 5), nullptr, false);
    if (!instruments.is_array()) return Internal("stored check-in instruments are invalid");
    for (const Json& id : instruments) {
      if (id.is_string()) checkin.instrument_ids.push_back(id.get<std::string>());
    }
    checkin.token_digest = std::string(token_digest);
    checkin.language = rows.Text(0, 6);
    checkin.created_at = FromUnixMillis(rows.Int(0, 7));
    checkin.expires_at = FromUnixMillis(rows.Int(0, 8));
    checkin.submitted_at = OptionalTime(rows, 0, 9);
    checkin.submission_digest = rows.Text(0, 10);
    return checkin;
  }

  // The columns of kResponseColumns.
  static Result<Response> ReadResponseColumns(const Rows& rows, int row) {
    Response response;
    response.org_id = rows.Text(row, 0);
    response.id = rows.Text(row, 1);
    response.checkin_id = rows.Text(row, 2);
    response.session_id = rows.Text(row, 3);
    response.respondent_id = rows.Text(row, 4);
    RAPPORT_ASSIGN_OR_RETURN(response.perspective,
                             ParseEnum(domain::ParsePerspective, rows.Text(row, 5)));
    if (!rows.IsNull(row, 6)) {
      RAPPORT_ASSIGN_OR_RETURN(response.target, ParseEnum(domain::ParseTarget, rows.Text(row, 6)));
    }
    response.instrument_id = rows.Text(row, 7);
    response.submitted_at = FromUnixMillis(rows.Int(row, 8));
    RAPPORT_ASSIGN_OR_RETURN(response.answers, ParseAnswersText(rows.Text(row, 9)));
    // A score is of its response's instrument (instruments::Score).
    response.score.instrument_id = response.instrument_id;
    response.score.instrument_version = rows.Text(row, 10);
    response.score.total = rows.OptionalDouble(row, 11);
    response.score.band = rows.Text(row, 12);
    RAPPORT_RETURN_IF_ERROR(
        ParseScoreTexts(rows.Text(row, 13), rows.Text(row, 14), response.score));
    return response;
  }

  static Result<std::vector<Response>> ReadResponses(const Rows& rows) {
    std::vector<Response> out;
    for (int row = 0; row < rows.size(); ++row) {
      RAPPORT_ASSIGN_OR_RETURN(Response response, ReadResponseColumns(rows, row));
      out.push_back(std::move(response));
    }
    return out;
  }

  static constexpr std::string_view kResponseColumns =
      "SELECT r.org_id, r.id, r.checkin_id, r.session_id, r.respondent_id, r.perspective, "
      "r.target, r.instrument_id, r.submitted_at, r.answers, r.scoring_version, r.total, "
      "r.band, r.subscales, r.flags FROM ";

  Result<std::vector<Response>> ListResponsesForCheckin(std::string_view org_id,
                                                        std::string_view checkin_id) override {
    // Through the check-in's session (the responses' key begins with it): there is no index by
    // check-in.
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kResponseColumns)
                      .append("responses r WHERE r.org_id = $1 AND r.session_id = (SELECT "
                              "session_id FROM checkins WHERE org_id = $1 AND id = $2) AND "
                              "r.checkin_id = $2 ORDER BY r.submitted_at, r.insert_order"),
                  Params().Add(org_id).Add(checkin_id)));
    return ReadResponses(rows);
  }

  Result<int64_t> GetEpisodeRevision(std::string_view org_id,
                                     std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows, db_.Query("SELECT revision FROM episodes WHERE org_id = $1 AND id = $2",
                                   Params().Add(org_id).Add(episode_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "episode"));
    return rows.Int(0, 0);
  }

  Result<std::vector<Response>> ListResponsesForEpisode(std::string_view org_id,
                                                        std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kResponseColumns)
                      .append("sessions s JOIN responses r ON r.org_id = s.org_id AND "
                              "r.session_id = s.id WHERE s.org_id = $1 AND s.episode_id = $2 "
                              "ORDER BY s.number, r.submitted_at, r.insert_order"),
                  Params().Add(org_id).Add(episode_id)));
    return ReadResponses(rows);
  }

  Result<int64_t> CountResponses(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT COUNT(*) FROM responses WHERE org_id = $1", Params().Add(org_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "count"));
    return rows.Int(0, 0);
  }

  Result<std::vector<domain::Session>> ListSessionsForEpisode(
      std::string_view org_id, std::string_view episode_id) override {
    const Params params = Params().Add(org_id).Add(episode_id);
    RAPPORT_ASSIGN_OR_RETURN(const Rows rows,
                             db_.Query("SELECT id, number, scheduled_at, attendance FROM sessions "
                                       "WHERE org_id = $1 AND episode_id = $2 ORDER BY number",
                                       params));
    std::vector<domain::Session> out;
    std::unordered_map<std::string, size_t> index;
    for (int row = 0; row < rows.size(); ++row) {
      domain::Session session;
      session.id = rows.Text(row, 0);
      session.org_id = std::string(org_id);
      session.episode_id = std::string(episode_id);
      session.number = static_cast<int>(rows.Int(row, 1));
      session.scheduled_at = FromUnixMillis(rows.Int(row, 2));
      RAPPORT_ASSIGN_OR_RETURN(session.attendance,
                               ParseEnum(domain::ParseAttendance, rows.Text(row, 3)));
      index.emplace(session.id, out.size());
      out.push_back(std::move(session));
    }
    if (out.empty()) return out;
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows people,
        db_.Query("SELECT p.session_id, p.person_id, p.role FROM sessions s "
                  "JOIN session_participants p ON p.org_id = s.org_id AND p.session_id = s.id "
                  "WHERE s.org_id = $1 AND s.episode_id = $2 ORDER BY p.insert_order",
                  params));
    for (int row = 0; row < people.size(); ++row) {
      const auto it = index.find(people.Text(row, 0));
      if (it == index.end()) continue;
      domain::Participant participant;
      participant.person_id = people.Text(row, 1);
      RAPPORT_ASSIGN_OR_RETURN(participant.role,
                               ParseEnum(domain::ParseParticipantRole, people.Text(row, 2)));
      out[it->second].participants.push_back(std::move(participant));
    }
    return out;
  }

  static constexpr std::string_view kAlertColumns =
      "SELECT org_id, id, episode_id, client_id, kind, dedupe_key, severity, status, "
      "session_number, last_session_number, occurrences, evidence, created_at, updated_at, "
      "acknowledged_by, acknowledged_at, resolved_by, resolved_at, resolution FROM alerts ";

  static Result<domain::Alert> ReadAlert(const Rows& rows, int row) {
    domain::Alert alert;
    alert.org_id = rows.Text(row, 0);
    alert.id = rows.Text(row, 1);
    alert.episode_id = rows.Text(row, 2);
    alert.client_id = rows.Text(row, 3);
    alert.kind = rows.Text(row, 4);
    alert.dedupe_key = rows.Text(row, 5);
    RAPPORT_ASSIGN_OR_RETURN(alert.severity,
                             ParseEnum(domain::ParseAlertSeverity, rows.Text(row, 6)));
    RAPPORT_ASSIGN_OR_RETURN(alert.status, ParseEnum(domain::ParseAlertStatus, rows.Text(row, 7)));
    alert.session_number = static_cast<int>(rows.Int(row, 8));
    alert.last_session_number = static_cast<int>(rows.Int(row, 9));
    alert.occurrences = static_cast<int>(rows.Int(row, 10));
    alert.evidence_json = rows.Text(row, 11);
    alert.created_at = FromUnixMillis(rows.Int(row, 12));
    alert.updated_at = FromUnixMillis(rows.Int(row, 13));
    alert.acknowledged_by = rows.Text(row, 14);
    alert.acknowledged_at = OptionalTime(rows, row, 15);
    alert.resolved_by = rows.Text(row, 16);
    alert.resolved_at = OptionalTime(rows, row, 17);
    alert.resolution = rows.Text(row, 18);
    return alert;
  }

  // As in SQLite, the statement names only the filters that are set, so each combination can
  // use its index; the parameters are numbered densely (PostgreSQL needs every one used).
  Result<std::vector<domain::Alert>> ListAlerts(std::string_view org_id,
                                                const AlertQuery& query) override {
    const std::string_view status = query.status ? domain::Name(*query.status) : "";
    std::string sql = std::string(kAlertColumns).append("WHERE org_id = $1");
    Params params;
    params.Add(org_id);
    const auto filter = [&](std::string_view column, std::string_view value) {
      params.Add(value);
      sql.append(" AND ").append(column).append(" = $").append(std::to_string(params.size()));
    };
    if (!query.episode_id.empty()) filter("episode_id", query.episode_id);
    if (!query.client_id.empty()) filter("client_id", query.client_id);
    if (!status.empty()) filter("status", status);
    if (query.active_only) sql += " AND status <> 'resolved'";
    sql +=
        " ORDER BY CASE severity WHEN 'urgent' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
        "created_at DESC, insert_order DESC";
    RAPPORT_ASSIGN_OR_RETURN(const Rows rows, db_.Query(sql, params));
    std::vector<domain::Alert> out;
    for (int row = 0; row < rows.size(); ++row) {
      RAPPORT_ASSIGN_OR_RETURN(domain::Alert alert, ReadAlert(rows, row));
      out.push_back(std::move(alert));
    }
    return out;
  }

  Result<domain::Alert> GetAlert(std::string_view org_id, std::string_view alert_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kAlertColumns).append("WHERE org_id = $1 AND id = $2"),
                  Params().Add(org_id).Add(alert_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "alert"));
    return ReadAlert(rows, 0);
  }

  Result<std::vector<domain::RepairNote>> ListRepairNotes(std::string_view org_id,
                                                          std::string_view alert_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT id, author_id, text, discussed_with_client, created_at FROM "
                  "repair_notes WHERE org_id = $1 AND alert_id = $2 ORDER BY created_at, "
                  "insert_order",
                  Params().Add(org_id).Add(alert_id)));
    std::vector<domain::RepairNote> out;
    for (int row = 0; row < rows.size(); ++row) {
      out.push_back({rows.Text(row, 0), std::string(org_id), std::string(alert_id),
                     rows.Text(row, 1), rows.Text(row, 2), rows.Bool(row, 3),
                     FromUnixMillis(rows.Int(row, 4))});
    }
    return out;
  }

  Result<std::string> GetOrgSettings(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT document FROM org_settings WHERE org_id = $1", Params().Add(org_id)));
    return rows.empty() ? std::string("{}") : rows.Text(0, 0);
  }

  Result<std::vector<InstrumentObservation>> ListObservations(std::string_view org_id,
                                                              std::string_view instrument_id,
                                                              Timestamp from,
                                                              Timestamp to) override {
    // In the order the contract promises.
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(
            "SELECT r.id, s.episode_id, r.session_id, s.number, s.scheduled_at, "
            "r.respondent_id, r.perspective, r.target, COALESCE(ec.client_id, ''), "
            "r.scoring_version, r.total, r.submitted_at, r.answers "
            "FROM responses r "
            "JOIN sessions s ON s.org_id = r.org_id AND s.id = r.session_id "
            "LEFT JOIN episode_clients ec ON ec.org_id = r.org_id AND "
            "ec.episode_id = s.episode_id AND ec.client_id = r.respondent_id "
            "WHERE r.org_id = $1 AND r.instrument_id = $2 AND s.scheduled_at >= $3 AND "
            "s.scheduled_at < $4 "
            "ORDER BY s.episode_id, s.number, r.submitted_at, r.id",
            Params().Add(org_id).Add(instrument_id).Add(ToUnixMillis(from)).Add(ToUnixMillis(to))));
    std::vector<InstrumentObservation> out;
    for (int row = 0; row < rows.size(); ++row) {
      InstrumentObservation observation;
      observation.response_id = rows.Text(row, 0);
      observation.episode_id = rows.Text(row, 1);
      observation.session_id = rows.Text(row, 2);
      observation.session_number = static_cast<int>(rows.Int(row, 3));
      observation.session_at = FromUnixMillis(rows.Int(row, 4));
      observation.respondent_id = rows.Text(row, 5);
      RAPPORT_ASSIGN_OR_RETURN(observation.perspective,
                               ParseEnum(domain::ParsePerspective, rows.Text(row, 6)));
      if (!rows.IsNull(row, 7)) {
        RAPPORT_ASSIGN_OR_RETURN(observation.target,
                                 ParseEnum(domain::ParseTarget, rows.Text(row, 7)));
      }
      observation.client_id = rows.Text(row, 8);
      observation.instrument_version = rows.Text(row, 9);
      observation.total = rows.OptionalDouble(row, 10);
      observation.submitted_at = FromUnixMillis(rows.Int(row, 11));
      RAPPORT_ASSIGN_OR_RETURN(observation.answers, ParseAnswersText(rows.Text(row, 12)));
      out.push_back(std::move(observation));
    }
    return out;
  }

  Result<FittedModel> GetFittedModel(std::string_view org_id, std::string_view kind,
                                     std::string_view instrument_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT document, fitted_at, data_from, data_to, clients, observations, "
                  "criterion FROM fitted_models WHERE org_id = $1 AND kind = $2 AND "
                  "instrument_id = $3",
                  Params().Add(org_id).Add(kind).Add(instrument_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "fitted model"));
    FittedModel model;
    model.org_id = std::string(org_id);
    model.kind = std::string(kind);
    model.instrument_id = std::string(instrument_id);
    model.document = rows.Text(0, 0);
    model.fitted_at = FromUnixMillis(rows.Int(0, 1));
    model.data_from = OptionalTime(rows, 0, 2);
    model.data_to = OptionalTime(rows, 0, 3);
    model.clients = rows.Int(0, 4);
    model.observations = rows.Int(0, 5);
    model.criterion = rows.Double(0, 6);
    return model;
  }

  Result<std::vector<StoredTextPack>> ListTextPacks(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT instrument_id, language, document, uploaded_by, uploaded_at FROM "
                  "text_packs WHERE org_id = $1 ORDER BY instrument_id, language",
                  Params().Add(org_id)));
    std::vector<StoredTextPack> out;
    for (int row = 0; row < rows.size(); ++row) {
      out.push_back({std::string(org_id), rows.Text(row, 0), rows.Text(row, 1), rows.Text(row, 2),
                     rows.Text(row, 3), FromUnixMillis(rows.Int(row, 4))});
    }
    return out;
  }

  Result<std::vector<domain::AuditEvent>> ListAudit(std::string_view org_id, int64_t after_seq,
                                                    int64_t limit) override {
    if (limit < 1) return InvalidArgument("the audit page size must be at least 1", "limit");
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT seq, at, actor, action, resource, address, detail, prev_hash, hash "
                  "FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                  Params().Add(org_id).Add(after_seq).Add(limit)));
    std::vector<domain::AuditEvent> out;
    for (int row = 0; row < rows.size(); ++row) {
      out.push_back({std::string(org_id), rows.Int(row, 0), FromUnixMillis(rows.Int(row, 1)),
                     rows.Text(row, 2), rows.Text(row, 3), rows.Text(row, 4), rows.Text(row, 5),
                     rows.Text(row, 6), rows.Text(row, 7), rows.Text(row, 8)});
    }
    return out;
  }

  Result<AuditHead> GetAuditHead(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT seq, hash FROM audit_heads WHERE org_id = $1", Params().Add(org_id)));
    if (rows.empty()) return AuditHead{std::string(org_id), 0, ""};
    return AuditHead{std::string(org_id), rows.Int(0, 0), rows.Text(0, 1)};
  }

  // Writes.

  // Runs a write statement; kNotFound naming `what` unless it changed exactly one row.
  Status ChangeOne(std::string_view sql, const Params& params, std::string_view what) {
    RAPPORT_ASSIGN_OR_RETURN(const Rows rows, db_.Query(sql, params));
    if (rows.Affected() != 1) return NotFound(std::string(what) + " not found");
    return Status::Ok();
  }

  Status Run(std::string_view sql, const Params& params) { return db_.Query(sql, params).status(); }

  Status PutOrganization(const domain::Organization& v) override {
    return Run("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)",
               Params().Add(v.id).Add(v.name).Add(ToUnixMillis(v.created_at)));
  }

  Status PutClinic(const domain::Clinic& v) override {
    return Run("INSERT INTO clinics (org_id, id, name) VALUES ($1, $2, $3)",
               Params().Add(v.org_id).Add(v.id).Add(v.name));
  }

  // $1..$12: org_id, id, clinic_id, email, display_name, role, password_hash, disabled,
  // totp_secret, totp_enabled, failed_logins, locked_until.
  static Params UserParams(const domain::User& v) {
    Params params;
    params.Add(v.org_id)
        .Add(v.id)
        .Add(v.clinic_id)
        .Add(v.email)
        .Add(v.display_name)
        .Add(domain::Name(v.role))
        .Add(v.password_hash)
        .Add(v.disabled)
        .Add(v.totp_secret)
        .Add(v.totp_enabled)
        .Add(v.failed_logins)
        .Add(OptionalMillis(v.locked_until));
    return params;
  }

  Status PutUser(const domain::User& v) override {
    Params params = UserParams(v);
    params.Add(ToUnixMillis(v.created_at));
    return Run(
        "INSERT INTO users (org_id, id, clinic_id, email, display_name, role, password_hash, "
        "disabled, totp_secret, totp_enabled, failed_logins, locked_until, created_at) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        params);
  }

  Status UpdateUser(const domain::User& v) override {
    return ChangeOne(
        "UPDATE users SET clinic_id = $3, email = $4, display_name = $5, role = $6, "
        "password_hash = $7, disabled = $8, totp_secret = $9, totp_enabled = $10, "
        "failed_logins = $11, locked_until = $12 WHERE org_id = $1 AND id = $2",
        UserParams(v), "user");
  }

  Status PutClient(const domain::Client& v) override {
    return Run(
        "INSERT INTO clients (org_id, id, code, language, consent_research, created_at) VALUES "
        "($1, $2, $3, $4, $5, $6)",
        Params()
            .Add(v.org_id)
            .Add(v.id)
            .Add(v.code)
            .Add(v.language)
            .Add(v.consent_research)
            .Add(ToUnixMillis(v.created_at)));
  }

  Status PutCollateral(const domain::Collateral& v) override {
    return Run(
        "INSERT INTO collaterals (org_id, id, client_id, relationship) VALUES ($1, $2, $3, $4)",
        Params().Add(v.org_id).Add(v.id).Add(v.client_id).Add(v.relationship));
  }

  Status PutEpisode(const domain::Episode& v) override {
    Params params;
    params.Add(v.org_id).Add(v.id).Add(v.clinic_id).Add(domain::Name(v.modality));
    params.Add(ToUnixMillis(v.started_at)).Add(OptionalMillis(v.ended_at));
    if (v.end_reason) {
      params.Add(domain::Name(*v.end_reason));
    } else {
      params.AddNull();
    }
    RAPPORT_RETURN_IF_ERROR(
        Run("INSERT INTO episodes (org_id, id, clinic_id, modality, started_at, ended_at, "
            "end_reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            params));
    for (size_t i = 0; i < v.client_ids.size(); ++i) {
      RAPPORT_RETURN_IF_ERROR(
          Run("INSERT INTO episode_clients (org_id, episode_id, client_id, position) VALUES ($1, "
              "$2, $3, $4)",
              Params().Add(v.org_id).Add(v.id).Add(v.client_ids[i]).Add(static_cast<int64_t>(i))));
    }
    for (size_t i = 0; i < v.clinician_ids.size(); ++i) {
      RAPPORT_RETURN_IF_ERROR(Run(
          "INSERT INTO episode_clinicians (org_id, episode_id, user_id, position) VALUES ($1, $2, "
          "$3, $4)",
          Params().Add(v.org_id).Add(v.id).Add(v.clinician_ids[i]).Add(static_cast<int64_t>(i))));
    }
    return Status::Ok();
  }

  Status PutGoal(const domain::Goal& v) override {
    return Run(
        "INSERT INTO goals (org_id, id, episode_id, client_id, description, created_at) VALUES "
        "($1, $2, $3, $4, $5, $6)",
        Params()
            .Add(v.org_id)
            .Add(v.id)
            .Add(v.episode_id)
            .Add(v.client_id)
            .Add(v.description)
            .Add(ToUnixMillis(v.created_at)));
  }

  Status PutParticipants(const domain::Session& v) {
    for (const domain::Participant& participant : v.participants) {
      RAPPORT_RETURN_IF_ERROR(
          Run("INSERT INTO session_participants (org_id, session_id, person_id, role) VALUES "
              "($1, $2, $3, $4)",
              Params()
                  .Add(v.org_id)
                  .Add(v.id)
                  .Add(participant.person_id)
                  .Add(domain::Name(participant.role))));
    }
    return Status::Ok();
  }

  Status PutSession(const domain::Session& v) override {
    RAPPORT_RETURN_IF_ERROR(
        Run("INSERT INTO sessions (org_id, id, episode_id, number, scheduled_at, attendance) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            Params()
                .Add(v.org_id)
                .Add(v.id)
                .Add(v.episode_id)
                .Add(v.number)
                .Add(ToUnixMillis(v.scheduled_at))
                .Add(domain::Name(v.attendance))));
    return PutParticipants(v);
  }

  Status PutCheckin(const Checkin& v) override {
    return Run(
        "INSERT INTO checkins (org_id, id, session_id, respondent_id, perspective, instruments, "
        "token_digest, language, created_at, expires_at, submitted_at, submission_digest) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        Params()
            .Add(v.org_id)
            .Add(v.id)
            .Add(v.session_id)
            .Add(v.respondent_id)
            .Add(domain::Name(v.perspective))
            .Add(Json(v.instrument_ids).dump())
            .Add(v.token_digest)
            .Add(v.language)
            .Add(ToUnixMillis(v.created_at))
            .Add(ToUnixMillis(v.expires_at))
            .Add(OptionalMillis(v.submitted_at))
            .Add(v.submission_digest));
  }

  Status PutResponse(const Response& v) override {
    Params params;
    params.Add(v.org_id)
        .Add(v.id)
        .Add(v.checkin_id)
        .Add(v.session_id)
        .Add(v.respondent_id)
        .Add(domain::Name(v.perspective));
    if (v.target) {
      params.Add(domain::Name(*v.target));
    } else {
      params.AddNull();
    }
    params.Add(v.instrument_id)
        .Add(ToUnixMillis(v.submitted_at))
        .Add(AnswersText(v.answers))
        .Add(v.score.instrument_version)
        .Add(v.score.total)
        .Add(v.score.band)
        .Add(SubscalesText(v.score))
        .Add(FlagsText(v.score));
    return Run(
        "INSERT INTO responses (org_id, id, checkin_id, session_id, respondent_id, perspective, "
        "target, instrument_id, submitted_at, answers, scoring_version, total, band, subscales, "
        "flags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        params);
  }

  Status MarkCheckinSubmitted(std::string_view org_id, std::string_view checkin_id,
                              Timestamp submitted_at, std::string_view digest) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(
            "UPDATE checkins SET submitted_at = $1, submission_digest = $2 WHERE org_id = "
            "$3 AND id = $4 AND submitted_at IS NULL",
            Params().Add(ToUnixMillis(submitted_at)).Add(digest).Add(org_id).Add(checkin_id)));
    if (rows.Affected() != 1) return Conflict("check-in was already submitted");
    return Status::Ok();
  }

  static Params AlertParams(const domain::Alert& v) {
    Params params;
    params.Add(v.org_id)
        .Add(v.id)
        .Add(v.episode_id)
        .Add(v.client_id)
        .Add(v.kind)
        .Add(v.dedupe_key)
        .Add(domain::Name(v.severity))
        .Add(domain::Name(v.status))
        .Add(v.session_number)
        .Add(v.last_session_number)
        .Add(v.occurrences)
        .Add(v.evidence_json)
        .Add(ToUnixMillis(v.created_at))
        .Add(ToUnixMillis(v.updated_at))
        .Add(v.acknowledged_by)
        .Add(OptionalMillis(v.acknowledged_at))
        .Add(v.resolved_by)
        .Add(OptionalMillis(v.resolved_at))
        .Add(v.resolution);
    return params;
  }

  Status PutAlert(const domain::Alert& v) override {
    return Run(
        "INSERT INTO alerts (org_id, id, episode_id, client_id, kind, dedupe_key, severity, "
        "status, session_number, last_session_number, occurrences, evidence, created_at, "
        "updated_at, acknowledged_by, acknowledged_at, resolved_by, resolved_at, resolution) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "$18, $19)",
        AlertParams(v));
  }

  Status UpdateAlert(const domain::Alert& v) override {
    return ChangeOne(
        "UPDATE alerts SET episode_id = $3, client_id = $4, kind = $5, dedupe_key = $6, "
        "severity = $7, status = $8, session_number = $9, last_session_number = $10, "
        "occurrences = $11, evidence = $12, created_at = $13, updated_at = $14, "
        "acknowledged_by = $15, acknowledged_at = $16, resolved_by = $17, resolved_at = $18, "
        "resolution = $19 WHERE org_id = $1 AND id = $2",
        AlertParams(v), "alert");
  }

  Status PutRepairNote(const domain::RepairNote& v) override {
    RAPPORT_RETURN_IF_ERROR(GetAlert(v.org_id, v.alert_id).status());
    return Run(
        "INSERT INTO repair_notes (org_id, id, alert_id, author_id, text, discussed_with_client, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Params()
            .Add(v.org_id)
            .Add(v.id)
            .Add(v.alert_id)
            .Add(v.author_id)
            .Add(v.text)
            .Add(v.discussed_with_client)
            .Add(ToUnixMillis(v.created_at)));
  }

  Status PutOrgSettings(std::string_view org_id, std::string_view json_text,
                        Timestamp updated_at) override {
    return Run(
        "INSERT INTO org_settings (org_id, document, updated_at) VALUES ($1, $2, $3) ON CONFLICT "
        "(org_id) DO UPDATE SET document = EXCLUDED.document, updated_at = EXCLUDED.updated_at",
        Params().Add(org_id).Add(json_text).Add(ToUnixMillis(updated_at)));
  }

  Status PutTextPack(const StoredTextPack& v) override {
    if (v.instrument_id.empty()) {
      return InvalidArgument("a text pack needs an instrument", "instrument_id");
    }
    if (v.language.empty()) return InvalidArgument("a text pack needs a language", "language");
    RAPPORT_RETURN_IF_ERROR(GetOrganization(v.org_id).status());
    return Run(
        "INSERT INTO text_packs (org_id, instrument_id, language, document, uploaded_by, "
        "uploaded_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, instrument_id, "
        "language) DO UPDATE SET document = EXCLUDED.document, uploaded_by = "
        "EXCLUDED.uploaded_by, uploaded_at = EXCLUDED.uploaded_at",
        Params()
            .Add(v.org_id)
            .Add(v.instrument_id)
            .Add(v.language)
            .Add(v.document)
            .Add(v.uploaded_by)
            .Add(ToUnixMillis(v.uploaded_at)));
  }

  Status DeleteTextPack(std::string_view org_id, std::string_view instrument_id,
                        std::string_view language) override {
    return ChangeOne(
        "DELETE FROM text_packs WHERE org_id = $1 AND instrument_id = $2 AND language = $3",
        Params().Add(org_id).Add(instrument_id).Add(language), "text pack");
  }

  Status PutFittedModel(const FittedModel& v) override {
    if (v.kind.empty()) return InvalidArgument("a fitted model needs a kind", "kind");
    RAPPORT_RETURN_IF_ERROR(GetOrganization(v.org_id).status());
    return Run(
        "INSERT INTO fitted_models (org_id, kind, instrument_id, document, fitted_at, data_from, "
        "data_to, clients, observations, criterion) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10) ON CONFLICT (org_id, kind, instrument_id) DO UPDATE SET document = "
        "EXCLUDED.document, fitted_at = EXCLUDED.fitted_at, data_from = EXCLUDED.data_from, "
        "data_to = EXCLUDED.data_to, clients = EXCLUDED.clients, observations = "
        "EXCLUDED.observations, criterion = EXCLUDED.criterion",
        Params()
            .Add(v.org_id)
            .Add(v.kind)
            .Add(v.instrument_id)
            .Add(v.document)
            .Add(ToUnixMillis(v.fitted_at))
            .Add(OptionalMillis(v.data_from))
            .Add(OptionalMillis(v.data_to))
            .Add(v.clients)
            .Add(v.observations)
            .Add(v.criterion));
  }

  Result<std::vector<domain::Episode>> ListEpisodes(std::string_view org_id,
                                                    const EpisodeQuery& query) override {
    std::string sql = "SELECT e.id FROM episodes e WHERE e.org_id = $1";
    Params params;
    params.Add(org_id);
    const auto next = [&](std::string_view value) {
      params.Add(value);
      return std::string("$").append(std::to_string(params.size()));
    };
    if (!query.clinician_id.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM episode_clinicians c WHERE c.org_id = e.org_id AND ";
      sql.append("c.episode_id = e.id AND c.user_id = ")
          .append(next(query.clinician_id))
          .append(")");
    }
    if (!query.clinic_id.empty()) sql.append(" AND e.clinic_id = ").append(next(query.clinic_id));
    if (!query.client_id.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM episode_clients c WHERE c.org_id = e.org_id AND ";
      sql.append("c.episode_id = e.id AND c.client_id = ")
          .append(next(query.client_id))
          .append(")");
    }
    if (query.active_only) sql += " AND e.ended_at IS NULL";
    sql += " ORDER BY e.started_at DESC, e.id";
    RAPPORT_ASSIGN_OR_RETURN(const Rows rows, db_.Query(sql, params));
    std::vector<domain::Episode> out;
    out.reserve(static_cast<size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row) {
      RAPPORT_ASSIGN_OR_RETURN(domain::Episode episode, GetEpisode(org_id, rows.Text(row, 0)));
      out.push_back(std::move(episode));
    }
    return out;
  }

  Result<std::vector<domain::Goal>> ListGoals(std::string_view org_id,
                                              std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT id, client_id, description, created_at FROM goals WHERE org_id = $1 "
                  "AND episode_id = $2 ORDER BY created_at, id",
                  Params().Add(org_id).Add(episode_id)));
    std::vector<domain::Goal> out;
    for (int row = 0; row < rows.size(); ++row) {
      out.push_back({rows.Text(row, 0), std::string(org_id), std::string(episode_id),
                     rows.Text(row, 1), rows.Text(row, 2), FromUnixMillis(rows.Int(row, 3))});
    }
    return out;
  }

  Status UpdateSession(const domain::Session& v) override {
    RAPPORT_RETURN_IF_ERROR(ChangeOne(
        "UPDATE sessions SET attendance = $1, scheduled_at = $2 WHERE org_id = $3 AND id = $4",
        Params()
            .Add(domain::Name(v.attendance))
            .Add(ToUnixMillis(v.scheduled_at))
            .Add(v.org_id)
            .Add(v.id),
        "session"));
    RAPPORT_RETURN_IF_ERROR(
        Run("DELETE FROM session_participants WHERE org_id = $1 AND session_id = $2",
            Params().Add(v.org_id).Add(v.id)));
    return PutParticipants(v);
  }

  Status UpdateEpisodeEnd(const domain::Episode& v) override {
    Params params;
    params.Add(OptionalMillis(v.ended_at));
    if (v.end_reason) {
      params.Add(domain::Name(*v.end_reason));
    } else {
      params.AddNull();
    }
    params.Add(v.org_id).Add(v.id);
    return ChangeOne(
        "UPDATE episodes SET ended_at = $1, end_reason = $2 WHERE org_id = $3 AND id = $4", params,
        "episode");
  }

  // Authentication state.

  Result<domain::AuthSession> GetAuthSession(std::string_view token_digest) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT org_id, user_id, csrf_token, address, created_at, last_seen_at, "
                  "expires_at FROM auth_sessions WHERE token_digest = $1",
                  Params().Add(token_digest)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "session"));
    return domain::AuthSession{std::string(token_digest),
                               rows.Text(0, 0),
                               rows.Text(0, 1),
                               rows.Text(0, 2),
                               rows.Text(0, 3),
                               FromUnixMillis(rows.Int(0, 4)),
                               FromUnixMillis(rows.Int(0, 5)),
                               FromUnixMillis(rows.Int(0, 6))};
  }

  Status PutAuthSession(const domain::AuthSession& v) override {
    return Run(
        "INSERT INTO auth_sessions (token_digest, org_id, user_id, csrf_token, address, "
        "created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        Params()
            .Add(v.token_digest)
            .Add(v.org_id)
            .Add(v.user_id)
            .Add(v.csrf_token)
            .Add(v.address)
            .Add(ToUnixMillis(v.created_at))
            .Add(ToUnixMillis(v.last_seen_at))
            .Add(ToUnixMillis(v.expires_at)));
  }

  Status TouchAuthSession(std::string_view token_digest, Timestamp last_seen_at) override {
    return ChangeOne("UPDATE auth_sessions SET last_seen_at = $1 WHERE token_digest = $2",
                     Params().Add(ToUnixMillis(last_seen_at)).Add(token_digest), "session");
  }

  Status DeleteAuthSession(std::string_view token_digest) override {
    return Run("DELETE FROM auth_sessions WHERE token_digest = $1", Params().Add(token_digest));
  }

  Result<int> DeleteAuthSessionsOfUser(std::string_view org_id, std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows, db_.Query("DELETE FROM auth_sessions WHERE org_id = $1 AND user_id = $2",
                                   Params().Add(org_id).Add(user_id)));
    return static_cast<int>(rows.Affected());
  }

  static constexpr std::string_view kApiTokenColumns =
      "SELECT org_id, id, user_id, name, token_digest, scopes, created_at, expires_at, "
      "revoked_at FROM api_tokens ";

  static Result<domain::ApiToken> ReadApiToken(const Rows& rows, int row) {
    domain::ApiToken token;
    token.org_id = rows.Text(row, 0);
    token.id = rows.Text(row, 1);
    token.user_id = rows.Text(row, 2);
    token.name = rows.Text(row, 3);
    token.token_digest = rows.Text(row, 4);
    const Json scopes = Json::parse(rows.Text(row, 5), nullptr, false);
    if (!scopes.is_array()) return Internal("stored API token scopes are invalid");
    for (const Json& scope : scopes) {
      if (scope.is_string()) token.scopes.push_back(scope.get<std::string>());
    }
    token.created_at = FromUnixMillis(rows.Int(row, 6));
    token.expires_at = OptionalTime(rows, row, 7);
    token.revoked_at = OptionalTime(rows, row, 8);
    return token;
  }

  Result<domain::ApiToken> GetApiTokenByDigest(std::string_view token_digest) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows, db_.Query(std::string(kApiTokenColumns).append("WHERE token_digest = $1"),
                                   Params().Add(token_digest)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "API token"));
    return ReadApiToken(rows, 0);
  }

  Result<std::vector<domain::ApiToken>> ListApiTokens(std::string_view org_id,
                                                      std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query(std::string(kApiTokenColumns)
                      .append("WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id"),
                  Params().Add(org_id).Add(user_id)));
    std::vector<domain::ApiToken> out;
    for (int row = 0; row < rows.size(); ++row) {
      RAPPORT_ASSIGN_OR_RETURN(domain::ApiToken token, ReadApiToken(rows, row));
      out.push_back(std::move(token));
    }
    return out;
  }

  Status PutApiToken(const domain::ApiToken& v) override {
    return Run(
        "INSERT INTO api_tokens (org_id, id, user_id, name, token_digest, scopes, created_at, "
        "expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        Params()
            .Add(v.org_id)
            .Add(v.id)
            .Add(v.user_id)
            .Add(v.name)
            .Add(v.token_digest)
            .Add(Json(v.scopes).dump())
            .Add(ToUnixMillis(v.created_at))
            .Add(OptionalMillis(v.expires_at))
            .Add(OptionalMillis(v.revoked_at)));
  }

  Status RevokeApiToken(std::string_view org_id, std::string_view user_id,
                        std::string_view token_id, Timestamp at) override {
    return ChangeOne(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE org_id = $2 AND "
        "user_id = $3 AND id = $4",
        Params().Add(ToUnixMillis(at)).Add(org_id).Add(user_id).Add(token_id), "API token");
  }

  Result<int> CountRecoveryCodes(std::string_view org_id, std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("SELECT COUNT(*) FROM recovery_codes WHERE org_id = $1 AND user_id = $2 AND "
                  "used_at IS NULL",
                  Params().Add(org_id).Add(user_id)));
    RAPPORT_RETURN_IF_ERROR(One(rows, "count"));
    return static_cast<int>(rows.Int(0, 0));
  }

  Status PutRecoveryCodes(std::string_view org_id, std::string_view user_id,
                          const std::vector<std::string>& code_digests) override {
    RAPPORT_RETURN_IF_ERROR(Run("DELETE FROM recovery_codes WHERE org_id = $1 AND user_id = $2",
                                Params().Add(org_id).Add(user_id)));
    for (const std::string& digest : code_digests) {
      RAPPORT_RETURN_IF_ERROR(
          Run("INSERT INTO recovery_codes (org_id, user_id, code_digest) VALUES ($1, $2, $3)",
              Params().Add(org_id).Add(user_id).Add(digest)));
    }
    return Status::Ok();
  }

  Status UseRecoveryCode(std::string_view org_id, std::string_view user_id,
                         std::string_view code_digest, Timestamp at) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("UPDATE recovery_codes SET used_at = $1 WHERE org_id = $2 AND user_id = $3 AND "
                  "code_digest = $4 AND used_at IS NULL",
                  Params().Add(ToUnixMillis(at)).Add(org_id).Add(user_id).Add(code_digest)));
    if (rows.Affected() != 1) return NotFound("recovery code not found or used");
    return Status::Ok();
  }

  // One statement, atomic between servers: concurrent callers on the same key serialise on
  // its row and each sees its own count.
  Result<int64_t> CountRateEvent(std::string_view key, Timestamp window_start) override {
    RAPPORT_ASSIGN_OR_RETURN(
        const Rows rows,
        db_.Query("INSERT INTO rate_counters AS c (key, window_start, count) VALUES ($1, $2, 1) "
                  "ON CONFLICT (key) DO UPDATE SET count = CASE WHEN c.window_start < "
                  "EXCLUDED.window_start THEN 1 ELSE c.count + 1 END, window_start = "
                  "GREATEST(c.window_start, EXCLUDED.window_start) RETURNING count",
                  Params().Add(key).Add(ToUnixMillis(window_start))));
    RAPPORT_RETURN_IF_ERROR(One(rows, "rate counter"));
    return rows.Int(0, 0);
  }

  Result<domain::AuditEvent> AppendAudit(domain::AuditEvent event) override {
    if (event.org_id.empty())
      return InvalidArgument("an audit event needs an organisation", "org_id");
    if (event.actor.empty()) return InvalidArgument("an audit event needs an actor", "actor");
    if (event.action.empty()) return InvalidArgument("an audit event needs an action", "action");
    // Other servers append to the same chain: the organisation's lock, held until this batch
    // commits, makes them wait, and the head is read after it (READ COMMITTED: each statement
    // sees what was committed before it), so seq never repeats. Appends earlier in the same
    // batch (other callers' savepoints) hold the lock already and are seen too.
    RAPPORT_RETURN_IF_ERROR(Run("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                                Params().Add(kAuditLockClass).Add(event.org_id)));
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, GetAuditHead(event.org_id));
    if (head.seq == 0) RAPPORT_RETURN_IF_ERROR(GetOrganization(event.org_id).status());
    event.seq = head.seq + 1;
    event.prev_hash = head.hash;
    event.hash = AuditHash(event);
    RAPPORT_RETURN_IF_ERROR(
        Run("INSERT INTO audit_events (org_id, seq, at, actor, action, resource, address, "
            "detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            Params()
                .Add(event.org_id)
                .Add(event.seq)
                .Add(ToUnixMillis(event.at))
                .Add(event.actor)
                .Add(event.action)
                .Add(event.resource)
                .Add(event.address)
                .Add(event.detail)
                .Add(event.prev_hash)
                .Add(event.hash)));
    RAPPORT_RETURN_IF_ERROR(
        Run("INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, $2, $3) ON CONFLICT "
            "(org_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
            Params().Add(event.org_id).Add(event.seq).Add(event.hash)));
    return event;
  }

  Status ScanOrganizationRows(const TableSpec& table, std::string_view org_id,
                              const std::function<Status(const Row&)>& each) override {
    RAPPORT_RETURN_IF_ERROR(CheckOrganizationTable(table));
    // COLLATE "C" compares text byte by byte, as SQLite does, so both backends give one order.
    const std::string sql = ScanSql(table, "$1", "insert_order", " COLLATE \"C\"");
    RAPPORT_ASSIGN_OR_RETURN(const Rows rows, db_.Query(sql, Params().Add(org_id)));
    // One result row seen as ReadValue reads a row: by column alone.
    struct RowReader {
      const Rows& rows;
      int r;
      bool IsNull(int column) const { return rows.IsNull(r, column); }
      std::string Text(int column) const { return rows.Text(r, column); }
      int64_t Int(int column) const { return rows.Int(r, column); }
      double Double(int column) const { return rows.Double(r, column); }
      bool Bool(int column) const { return rows.Bool(r, column); }
    };
    Row row(table.columns.size());
    for (int r = 0; r < rows.size(); ++r) {
      const RowReader reader{rows, r};
      for (size_t i = 0; i < row.size(); ++i) {
        row[i] = ReadValue(reader, static_cast<int>(i), table.columns[i].type);
      }
      RAPPORT_RETURN_IF_ERROR(each(row));
    }
    return Status::Ok();
  }

  Status InsertOrganizationRow(const TableSpec& table, const Row& row) override {
    RAPPORT_RETURN_IF_ERROR(CheckRow(table, row));
    if (table.name == "audit_events" || table.name == "audit_heads") {
      // Serialised with AppendAudit on other servers, as an append is.
      const auto* org = std::get_if<std::string>(&row[table.ColumnIndex(table.org_column)]);
      if (org != nullptr) {
        RAPPORT_RETURN_IF_ERROR(Run("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                                    Params().Add(kAuditLockClass).Add(*org)));
      }
    }
    std::string sql = std::string("INSERT INTO ")
                          .append(table.name)
                          .append(" (")
                          .append(ColumnList(table))
                          .append(") VALUES (");
    Params params;
    for (size_t i = 0; i < row.size(); ++i) {
      sql.append(i == 0 ? "$" : ", $").append(std::to_string(i + 1));
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              params.AddNull();
            } else {
              params.Add(value);
            }
          },
          row[i]);
    }
    sql.append(")");
    return Run(sql, params);
  }

 private:
  Connection& db_;
};

class PostgresStore final : public Store {
 public:
  PostgresStore(Options options, Connection writer)
      : options_(std::move(options)), writer_(std::move(writer)) {
    commit_.emplace(batch_, options_.max_batch);
  }

  ~PostgresStore() override { Close(); }

  Status Read(const std::function<Status(ReadTransaction&)>& work) override {
    // A connection the server has closed since its last use (a restart, a failover, an idle
    // timeout) shows at BEGIN, before any work ran: it is dropped and the read begins again on
    // another, so idle connections lost together cost no request an error.
    for (size_t attempt = 0;; ++attempt) {
      RAPPORT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> db, AcquireReader());
      Status status = db->Execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      if (!status.ok() && !db->Healthy() && attempt < options_.max_readers) {
        ReleaseReader(std::move(db));
        continue;
      }
      if (status.ok()) {
        PostgresTransaction txn(*db);
        status = RunCatching([&] { return work(txn); });
        (void)db->Execute("ROLLBACK");  // read only: nothing to commit
      }
      ReleaseReader(std::move(db));
      return status;
    }
  }

  bool ReadsAreLocal() const override { return false; }

  Status Write(const std::function<Status(WriteTransaction&)>& work) override {
    return commit_->Write(work);
  }

  void WriteAsync(std::function<Status(WriteTransaction&)> work,
                  std::function<void(Status)> done) override {
    commit_->WriteAsync(std::move(work), std::move(done));
  }

  void Close() override {
    if (commit_) commit_->Stop();
  }

  Result<int> SchemaVersion() override {
    RAPPORT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> db, AcquireReader());
    Result<int> version = CurrentVersion(*db);
    ReleaseReader(std::move(db));
    return version;
  }

 private:
  // An idle connection, a new one while fewer than max_readers are open, or else waits.
  Result<std::unique_ptr<Connection>> AcquireReader() {
    {
      std::unique_lock lock(readers_mutex_);
      readers_free_.wait(lock,
                         [&] { return !idle_.empty() || open_readers_ < options_.max_readers; });
      if (!idle_.empty()) {
        auto db = std::move(idle_.back());
        idle_.pop_back();
        return db;
      }
      ++open_readers_;
    }
    auto db = Connection::Open(options_.url);
    if (!db.ok()) {
      {
        std::lock_guard lock(readers_mutex_);
        --open_readers_;
      }
      readers_free_.notify_one();
      return db.status();
    }
    return std::make_unique<Connection>(std::move(db).value());
  }

  // Keeps a healthy connection for the next reader; closes a lost one.
  void ReleaseReader(std::unique_ptr<Connection> db) {
    {
      std::lock_guard lock(readers_mutex_);
      if (db->Healthy()) {
        idle_.push_back(std::move(db));
      } else {
        --open_readers_;
      }
    }
    readers_free_.notify_one();
  }

  // The writer connection's statements for a batch; a lost connection is opened again before a
  // batch begins.
  class Batch final : public BatchStatements {
   public:
    explicit Batch(Connection& writer) : writer_(writer), txn_(writer) {}
    Status Begin() override {
      if (!writer_.Healthy()) RAPPORT_RETURN_IF_ERROR(writer_.Reset());
      const Status status = writer_.Execute("BEGIN");
      if (status.ok() || writer_.Healthy()) return status;
      // Lost since the last batch and noticed only now; nothing of this batch ran yet.
      RAPPORT_RETURN_IF_ERROR(writer_.Reset());
      return writer_.Execute("BEGIN");
    }
    Status Savepoint() override { return writer_.Execute("SAVEPOINT work"); }
    Status ReleaseSavepoint() override { return writer_.Execute("RELEASE SAVEPOINT work"); }
    void RollbackToSavepoint() override {
      (void)writer_.Execute("ROLLBACK TO SAVEPOINT work");
      (void)writer_.Execute("RELEASE SAVEPOINT work");
    }
    Status Commit() override { return writer_.Execute("COMMIT"); }
    void Rollback() override { (void)writer_.Execute("ROLLBACK"); }
    WriteTransaction& Transaction() override { return txn_; }

   private:
    Connection& writer_;
    PostgresTransaction txn_;
  };

  const Options options_;
  Connection writer_;
  Batch batch_{writer_};
  std::optional<GroupCommit> commit_;  // started last in the constructor
  std::mutex readers_mutex_;
  std::condition_variable readers_free_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_readers_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const Options& options) {
  if (options.url.empty()) return InvalidArgument("PostgreSQL URL is empty", "db");
  RAPPORT_ASSIGN_OR_RETURN(Connection writer, Connection::Open(options.url));
  if (options.migrate) {
    RAPPORT_RETURN_IF_ERROR(Migrate(writer));
  } else {
    RAPPORT_ASSIGN_OR_RETURN(const int version, CurrentVersion(writer));
    const int latest = Migrations().back().version;
    if (version != latest) {
      return Unavailable("database schema is at version " + std::to_string(version) +
                         " but this Rapport needs " + std::to_string(latest) +
                         "; run `rapport migrate`");
    }
  }
  return std::unique_ptr<Store>(std::make_unique<PostgresStore>(options, std::move(writer)));
}

}  // namespace rapport::storage::postgres
