#include "storage/sqlite/sqlite_store.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "storage/group_commit.h"
#include "storage/response_columns.h"
#include "storage/sqlite/db.h"
#include "storage/sqlite/migrations.h"

namespace rapport::storage::sqlite {
namespace {

using Json = nlohmann::json;
using domain::Checkin;
using domain::Response;

std::optional<int64_t> OptionalMillis(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return ToUnixMillis(*t);
}

// Runs `stmt` expecting exactly one row; kNotFound naming `what` when there is none.
Status StepOne(Statement& stmt, std::string_view what) {
  RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) return NotFound(std::string(what) + " not found");
  return Status::Ok();
}

template <typename E>
Result<E> ParseEnum(Result<E> (*parse)(std::string_view), const std::string& text) {
  auto parsed = parse(text);
  if (!parsed.ok()) return Internal("stored value is invalid: " + parsed.status().message());
  return parsed;
}

// Both transaction kinds over one connection. Writes are refused on read connections by
// SQLite itself (they are opened read-only).
class SqliteTransaction final : public WriteTransaction {
 public:
  explicit SqliteTransaction(Connection& db) : db_(db) {}

  Result<domain::Organization> GetOrganization(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT id, name, created_at FROM organizations WHERE id = ?"));
    stmt->Bind(1, org_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "organization"));
    return domain::Organization{stmt->Text(0), stmt->Text(1), FromUnixMillis(stmt->Int(2))};
  }

  Result<std::vector<domain::Organization>> ListOrganizations() override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT id, name, created_at FROM organizations ORDER BY name"));
    std::vector<domain::Organization> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back({stmt->Text(0), stmt->Text(1), FromUnixMillis(stmt->Int(2))});
    }
    return out;
  }

  Result<std::vector<domain::Clinic>> ListClinics(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT org_id, id, name FROM clinics WHERE org_id = ? ORDER BY name, id"));
    stmt->Bind(1, org_id);
    std::vector<domain::Clinic> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back({stmt->Text(1), stmt->Text(0), stmt->Text(2)});
    }
    return out;
  }

  static constexpr std::string_view kUserColumns =
      "SELECT org_id, id, clinic_id, email, display_name, role, password_hash, disabled, "
      "created_at, totp_secret, totp_enabled, failed_logins, locked_until FROM users ";

  Result<domain::User> ReadUser(Statement& stmt) {
    domain::User user;
    user.org_id = stmt.Text(0);
    user.id = stmt.Text(1);
    user.clinic_id = stmt.Text(2);
    user.email = stmt.Text(3);
    user.display_name = stmt.Text(4);
    RAPPORT_ASSIGN_OR_RETURN(user.role, ParseEnum(domain::ParseRole, stmt.Text(5)));
    user.password_hash = stmt.Text(6);
    user.disabled = stmt.Int(7) != 0;
    user.created_at = FromUnixMillis(stmt.Int(8));
    user.totp_secret = stmt.Text(9);
    user.totp_enabled = stmt.Int(10) != 0;
    user.failed_logins = static_cast<int>(stmt.Int(11));
    if (!stmt.IsNull(12)) user.locked_until = FromUnixMillis(stmt.Int(12));
    return user;
  }

  Result<domain::User> GetUser(std::string_view org_id, std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached(std::string(kUserColumns) + "WHERE org_id = ? AND id = ?"));
    stmt->Bind(1, org_id).Bind(2, user_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "user"));
    return ReadUser(*stmt);
  }

  Result<domain::User> GetUserByEmail(std::string_view email) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached(std::string(kUserColumns) + "WHERE email = ?"));
    stmt->Bind(1, email);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "user"));
    return ReadUser(*stmt);
  }

  Result<std::vector<domain::User>> ListUsers(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt, db_.Cached(std::string(kUserColumns) +
                                                          "WHERE org_id = ? ORDER BY email"));
    stmt->Bind(1, org_id);
    std::vector<domain::User> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      RAPPORT_ASSIGN_OR_RETURN(domain::User user, ReadUser(*stmt));
      out.push_back(std::move(user));
    }
    return out;
  }

  static constexpr std::string_view kClientColumns =
      "SELECT org_id, id, code, language, consent_research, created_at FROM clients ";

  static domain::Client ReadClient(Statement& stmt) {
    return {stmt.Text(1), stmt.Text(0),     stmt.Text(2),
            stmt.Text(3), stmt.Int(4) != 0, FromUnixMillis(stmt.Int(5))};
  }

  Result<domain::Client> GetClient(std::string_view org_id, std::string_view client_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt, db_.Cached(std::string(kClientColumns) + "WHERE org_id = ? AND id = ?"));
    stmt->Bind(1, org_id).Bind(2, client_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "client"));
    return ReadClient(*stmt);
  }

  Result<std::vector<domain::Client>> ListClients(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt, db_.Cached(std::string(kClientColumns) +
                                                          "WHERE org_id = ? ORDER BY code"));
    stmt->Bind(1, org_id);
    std::vector<domain::Client> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back(ReadClient(*stmt));
    }
    return out;
  }

  Result<std::vector<std::string>> EpisodeMembers(std::string_view table, std::string_view column,
                                                  std::string_view org_id,
                                                  std::string_view episode_id) {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT " + std::string(column) + " FROM " + std::string(table) +
                   " WHERE org_id = ? AND episode_id = ? ORDER BY position"));
    stmt->Bind(1, org_id).Bind(2, episode_id);
    std::vector<std::string> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back(stmt->Text(0));
    }
    return out;
  }

  Result<domain::Episode> GetEpisode(std::string_view org_id,
                                     std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt, db_.Cached("SELECT clinic_id, modality, started_at, ended_at, end_reason "
                                     "FROM episodes WHERE org_id = ? AND id = ?"));
    stmt->Bind(1, org_id).Bind(2, episode_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "episode"));
    domain::Episode episode;
    episode.id = std::string(episode_id);
    episode.org_id = std::string(org_id);
    episode.clinic_id = stmt->Text(0);
    RAPPORT_ASSIGN_OR_RETURN(episode.modality, ParseEnum(domain::ParseModality, stmt->Text(1)));
    episode.started_at = FromUnixMillis(stmt->Int(2));
    if (!stmt->IsNull(3)) episode.ended_at = FromUnixMillis(stmt->Int(3));
    if (!stmt->IsNull(4)) {
      RAPPORT_ASSIGN_OR_RETURN(episode.end_reason,
                               ParseEnum(domain::ParseEndReason, stmt->Text(4)));
    }
    RAPPORT_ASSIGN_OR_RETURN(episode.client_ids,
                             EpisodeMembers("episode_clients", "client_id", org_id, episode_id));
    RAPPORT_ASSIGN_OR_RETURN(episode.clinician_ids,
                             EpisodeMembers("episode_clinicians", "user_id", org_id, episode_id));
    return episode;
  }

  Result<domain::Session> GetSession(std::string_view org_id,
                                     std::string_view session_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("SELECT episode_id, number, scheduled_at, attendance FROM "
                                        "sessions WHERE org_id = ? AND id = ?"));
    stmt->Bind(1, org_id).Bind(2, session_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "session"));
    domain::Session session;
    session.id = std::string(session_id);
    session.org_id = std::string(org_id);
    session.episode_id = stmt->Text(0);
    session.number = static_cast<int>(stmt->Int(1));
    session.scheduled_at = FromUnixMillis(stmt->Int(2));
    RAPPORT_ASSIGN_OR_RETURN(session.attendance, ParseEnum(domain::ParseAttendance, stmt->Text(3)));
    RAPPORT_ASSIGN_OR_RETURN(Statement * people,
                             db_.Cached("SELECT person_id, role FROM session_participants WHERE "
                                        "org_id = ? AND session_id = ? ORDER BY rowid"));
    people->Bind(1, org_id).Bind(2, session_id);
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, people->Step());
      if (!row) break;
      domain::Participant participant;
      participant.person_id = people->Text(0);
      RAPPORT_ASSIGN_OR_RETURN(participant.role,
                               ParseEnum(domain::ParseParticipantRole, people->Text(1)));
      session.participants.push_back(std::move(participant));
    }
    return session;
  }

  Result<Checkin> GetCheckinByTokenDigest(std::string_view token_digest) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT org_id, id, session_id, respondent_id, perspective, instruments, "
                   "language, created_at, expires_at, submitted_at, submission_digest FROM "
                   "checkins WHERE token_digest = ?"));
    stmt->Bind(1, token_digest);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "check-in"));
    Checkin checkin;
    checkin.org_id = stmt->Text(0);
    checkin.id = stmt->Text(1);
    checkin.session_id = stmt->Text(2);
    checkin.respondent_id = stmt->Text(3);
    RAPPORT_ASSIGN_OR_RETURN(checkin.perspective,
                             ParseEnum(domain::ParsePerspective, stmt->Text(4)));
    const Json instruments = Json::parse(stmt->Text(5), nullptr, false);
    if (!instruments.is_array()) return Internal("stored check-in instruments are invalid");
    for (const Json& id : instruments) {
      if (id.is_string()) checkin.instrument_ids.push_back(id.get<std::string>());
    }
    checkin.token_digest = std::string(token_digest);
    checkin.language = stmt->Text(6);
    checkin.created_at = FromUnixMillis(stmt->Int(7));
    checkin.expires_at = FromUnixMillis(stmt->Int(8));
    if (!stmt->IsNull(9)) checkin.submitted_at = FromUnixMillis(stmt->Int(9));
    checkin.submission_digest = stmt->Text(10);
    return checkin;
  }

  // The columns of kResponseColumns.
  static Result<Response> ReadResponseColumns(Statement& stmt) {
    Response response;
    response.org_id = stmt.Text(0);
    response.id = stmt.Text(1);
    response.checkin_id = stmt.Text(2);
    response.session_id = stmt.Text(3);
    response.respondent_id = stmt.Text(4);
    RAPPORT_ASSIGN_OR_RETURN(response.perspective,
                             ParseEnum(domain::ParsePerspective, stmt.Text(5)));
    if (!stmt.IsNull(6)) {
      RAPPORT_ASSIGN_OR_RETURN(response.target, ParseEnum(domain::ParseTarget, stmt.Text(6)));
    }
    response.instrument_id = stmt.Text(7);
    response.submitted_at = FromUnixMillis(stmt.Int(8));
    RAPPORT_ASSIGN_OR_RETURN(response.answers, ParseAnswersText(stmt.Text(9)));
    // A score is of its response's instrument (instruments::Score).
    response.score.instrument_id = response.instrument_id;
    response.score.instrument_version = stmt.Text(10);
    response.score.total = stmt.OptionalDouble(11);
    response.score.band = stmt.Text(12);
    RAPPORT_RETURN_IF_ERROR(ParseScoreTexts(stmt.Text(13), stmt.Text(14), response.score));
    return response;
  }

  static Result<std::vector<Response>> ReadResponses(Statement& stmt) {
    std::vector<Response> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt.Step());
      if (!row) break;
      RAPPORT_ASSIGN_OR_RETURN(Response response, ReadResponseColumns(stmt));
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
        Statement * stmt,
        db_.Cached(std::string(kResponseColumns) +
                   "responses r WHERE r.org_id = ?1 AND r.session_id = (SELECT session_id FROM "
                   "checkins WHERE org_id = ?1 AND id = ?2) AND r.checkin_id = ?2 ORDER BY "
                   "r.submitted_at, r.rowid"));
    stmt->Bind(1, org_id).Bind(2, checkin_id);
    return ReadResponses(*stmt);
  }

  // Runs after every stored check-in (signals) that is not kept in memory. CROSS JOIN keeps
  // SQLite's loop order (sessions of the episode first): left to choose, it walked every
  // response of the organisation by its org_id prefix.
  Result<std::vector<Response>> ListResponsesForEpisode(std::string_view org_id,
                                                        std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached(std::string(kResponseColumns) +
                   "sessions s CROSS JOIN responses r ON r.org_id = s.org_id AND r.session_id = "
                   "s.id WHERE s.org_id = ? AND s.episode_id = ? ORDER BY s.number, "
                   "r.submitted_at, r.rowid"));
    stmt->Bind(1, org_id).Bind(2, episode_id);
    return ReadResponses(*stmt);
  }

  Result<int64_t> GetEpisodeRevision(std::string_view org_id,
                                     std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt, db_.Cached("SELECT revision FROM episodes WHERE org_id = ? AND id = ?"));
    stmt->Bind(1, org_id).Bind(2, episode_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "episode"));
    const int64_t revision = stmt->Int(0);
    stmt->Reset();
    return revision;
  }

  Result<int64_t> CountResponses(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("SELECT COUNT(*) FROM responses WHERE org_id = ?"));
    stmt->Bind(1, org_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "count"));
    return stmt->Int(0);
  }

  // Two queries (sessions, then all their participants), not two per session: this runs after
  // every stored check-in (signals).
  Result<std::vector<domain::Session>> ListSessionsForEpisode(
      std::string_view org_id, std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("SELECT id, number, scheduled_at, attendance FROM sessions "
                                        "WHERE org_id = ? AND episode_id = ? ORDER BY number"));
    stmt->Bind(1, org_id).Bind(2, episode_id);
    std::vector<domain::Session> out;
    std::unordered_map<std::string, size_t> index;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      domain::Session session;
      session.id = stmt->Text(0);
      session.org_id = std::string(org_id);
      session.episode_id = std::string(episode_id);
      session.number = static_cast<int>(stmt->Int(1));
      session.scheduled_at = FromUnixMillis(stmt->Int(2));
      RAPPORT_ASSIGN_OR_RETURN(session.attendance,
                               ParseEnum(domain::ParseAttendance, stmt->Text(3)));
      index.emplace(session.id, out.size());
      out.push_back(std::move(session));
    }
    if (out.empty()) return out;
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * people,
        db_.Cached("SELECT p.session_id, p.person_id, p.role FROM sessions s "
                   "CROSS JOIN session_participants p ON p.org_id = s.org_id AND "
                   "p.session_id = s.id WHERE s.org_id = ? AND s.episode_id = ? ORDER BY p.rowid"));
    people->Bind(1, org_id).Bind(2, episode_id);
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, people->Step());
      if (!row) break;
      const auto it = index.find(people->Text(0));
      if (it == index.end()) continue;
      domain::Participant participant;
      participant.person_id = people->Text(1);
      RAPPORT_ASSIGN_OR_RETURN(participant.role,
                               ParseEnum(domain::ParseParticipantRole, people->Text(2)));
      out[it->second].participants.push_back(std::move(participant));
    }
    return out;
  }

  static constexpr std::string_view kAlertColumns =
      "SELECT org_id, id, episode_id, client_id, kind, dedupe_key, severity, status, "
      "session_number, last_session_number, occurrences, evidence, created_at, updated_at, "
      "acknowledged_by, acknowledged_at, resolved_by, resolved_at, resolution FROM alerts ";

  static Result<domain::Alert> ReadAlert(Statement& stmt) {
    domain::Alert alert;
    alert.org_id = stmt.Text(0);
    alert.id = stmt.Text(1);
    alert.episode_id = stmt.Text(2);
    alert.client_id = stmt.Text(3);
    alert.kind = stmt.Text(4);
    alert.dedupe_key = stmt.Text(5);
    RAPPORT_ASSIGN_OR_RETURN(alert.severity, ParseEnum(domain::ParseAlertSeverity, stmt.Text(6)));
    RAPPORT_ASSIGN_OR_RETURN(alert.status, ParseEnum(domain::ParseAlertStatus, stmt.Text(7)));
    alert.session_number = static_cast<int>(stmt.Int(8));
    alert.last_session_number = static_cast<int>(stmt.Int(9));
    alert.occurrences = static_cast<int>(stmt.Int(10));
    alert.evidence_json = stmt.Text(11);
    alert.created_at = FromUnixMillis(stmt.Int(12));
    alert.updated_at = FromUnixMillis(stmt.Int(13));
    alert.acknowledged_by = stmt.Text(14);
    if (!stmt.IsNull(15)) alert.acknowledged_at = FromUnixMillis(stmt.Int(15));
    alert.resolved_by = stmt.Text(16);
    if (!stmt.IsNull(17)) alert.resolved_at = FromUnixMillis(stmt.Int(17));
    alert.resolution = stmt.Text(18);
    return alert;
  }

  // The statement names only the filters that are set: one with "(?2 = '' OR episode_id = ?2)"
  // cannot use the episode index and would scan every alert of the organisation — after each
  // stored check-in (signals), in an organisation whose alerts only ever grow.
  Result<std::vector<domain::Alert>> ListAlerts(std::string_view org_id,
                                                const AlertQuery& query) override {
    const std::string_view status = query.status ? domain::Name(*query.status) : "";
    std::string sql = std::string(kAlertColumns) + "WHERE org_id = ?1";
    if (!query.episode_id.empty()) sql += " AND episode_id = ?2";
    if (!query.client_id.empty()) sql += " AND client_id = ?3";
    if (!status.empty()) sql += " AND status = ?4";
    if (query.active_only) sql += " AND status <> 'resolved'";
    sql +=
        " ORDER BY CASE severity WHEN 'urgent' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
        "created_at DESC, rowid DESC";
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt, db_.Cached(sql));
    stmt->Bind(1, org_id);
    if (!query.episode_id.empty()) stmt->Bind(2, query.episode_id);
    if (!query.client_id.empty()) stmt->Bind(3, query.client_id);
    if (!status.empty()) stmt->Bind(4, status);
    std::vector<domain::Alert> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      RAPPORT_ASSIGN_OR_RETURN(domain::Alert alert, ReadAlert(*stmt));
      out.push_back(std::move(alert));
    }
    return out;
  }

  Result<domain::Alert> GetAlert(std::string_view org_id, std::string_view alert_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt, db_.Cached(std::string(kAlertColumns) + "WHERE org_id = ? AND id = ?"));
    stmt->Bind(1, org_id).Bind(2, alert_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "alert"));
    return ReadAlert(*stmt);
  }

  Result<std::vector<domain::RepairNote>> ListRepairNotes(std::string_view org_id,
                                                          std::string_view alert_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT id, author_id, text, discussed_with_client, created_at FROM "
                   "repair_notes WHERE org_id = ? AND alert_id = ? ORDER BY created_at, rowid"));
    stmt->Bind(1, org_id).Bind(2, alert_id);
    std::vector<domain::RepairNote> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back({stmt->Text(0), std::string(org_id), std::string(alert_id), stmt->Text(1),
                     stmt->Text(2), stmt->Int(3) != 0, FromUnixMillis(stmt->Int(4))});
    }
    return out;
  }

  Result<std::string> GetOrgSettings(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("SELECT document FROM org_settings WHERE org_id = ?"));
    stmt->Bind(1, org_id);
    RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
    return row ? stmt->Text(0) : std::string("{}");
  }

  Result<std::vector<InstrumentObservation>> ListObservations(std::string_view org_id,
                                                              std::string_view instrument_id,
                                                              Timestamp from,
                                                              Timestamp to) override {
    // In the order the contract promises.
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT r.id, s.episode_id, r.session_id, s.number, s.scheduled_at, "
                   "r.respondent_id, r.perspective, r.target, IFNULL(ec.client_id, ''), "
                   "r.scoring_version, r.total, r.submitted_at, r.answers "
                   "FROM responses r "
                   "JOIN sessions s ON s.org_id = r.org_id AND s.id = r.session_id "
                   "LEFT JOIN episode_clients ec ON ec.org_id = r.org_id AND "
                   "ec.episode_id = s.episode_id AND ec.client_id = r.respondent_id "
                   "WHERE r.org_id = ?1 AND r.instrument_id = ?2 AND s.scheduled_at >= ?3 AND "
                   "s.scheduled_at < ?4 "
                   "ORDER BY s.episode_id, s.number, r.submitted_at, r.id"));
    stmt->Bind(1, org_id)
        .Bind(2, instrument_id)
        .Bind(3, ToUnixMillis(from))
        .Bind(4, ToUnixMillis(to));
    std::vector<InstrumentObservation> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      InstrumentObservation observation;
      observation.response_id = stmt->Text(0);
      observation.episode_id = stmt->Text(1);
      observation.session_id = stmt->Text(2);
      observation.session_number = static_cast<int>(stmt->Int(3));
      observation.session_at = FromUnixMillis(stmt->Int(4));
      observation.respondent_id = stmt->Text(5);
      RAPPORT_ASSIGN_OR_RETURN(observation.perspective,
                               ParseEnum(domain::ParsePerspective, stmt->Text(6)));
      if (!stmt->IsNull(7)) {
        RAPPORT_ASSIGN_OR_RETURN(observation.target, ParseEnum(domain::ParseTarget, stmt->Text(7)));
      }
      observation.client_id = stmt->Text(8);
      observation.instrument_version = stmt->Text(9);
      observation.total = stmt->OptionalDouble(10);
      observation.submitted_at = FromUnixMillis(stmt->Int(11));
      RAPPORT_ASSIGN_OR_RETURN(observation.answers, ParseAnswersText(stmt->Text(12)));
      out.push_back(std::move(observation));
    }
    return out;
  }

  Result<FittedModel> GetFittedModel(std::string_view org_id, std::string_view kind,
                                     std::string_view instrument_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT document, fitted_at, data_from, data_to, clients, observations, "
                   "criterion FROM fitted_models WHERE org_id = ? AND kind = ? AND "
                   "instrument_id = ?"));
    stmt->Bind(1, org_id).Bind(2, kind).Bind(3, instrument_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "fitted model"));
    FittedModel model;
    model.org_id = std::string(org_id);
    model.kind = std::string(kind);
    model.instrument_id = std::string(instrument_id);
    model.document = stmt->Text(0);
    model.fitted_at = FromUnixMillis(stmt->Int(1));
    if (!stmt->IsNull(2)) model.data_from = FromUnixMillis(stmt->Int(2));
    if (!stmt->IsNull(3)) model.data_to = FromUnixMillis(stmt->Int(3));
    model.clients = stmt->Int(4);
    model.observations = stmt->Int(5);
    model.criterion = stmt->Double(6);
    return model;
  }

  Result<std::vector<StoredTextPack>> ListTextPacks(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT instrument_id, language, document, uploaded_by, uploaded_at FROM "
                   "text_packs WHERE org_id = ? ORDER BY instrument_id, language"));
    stmt->Bind(1, org_id);
    std::vector<StoredTextPack> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back({std::string(org_id), stmt->Text(0), stmt->Text(1), stmt->Text(2),
                     stmt->Text(3), FromUnixMillis(stmt->Int(4))});
    }
    return out;
  }

  Result<std::vector<domain::AuditEvent>> ListAudit(std::string_view org_id, int64_t after_seq,
                                                    int64_t limit) override {
    if (limit < 1) return InvalidArgument("the audit page size must be at least 1", "limit");
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT seq, at, actor, action, resource, address, detail, prev_hash, hash "
                   "FROM audit_events WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"));
    stmt->Bind(1, org_id).Bind(2, after_seq).Bind(3, limit);
    std::vector<domain::AuditEvent> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back({std::string(org_id), stmt->Int(0), FromUnixMillis(stmt->Int(1)), stmt->Text(2),
                     stmt->Text(3), stmt->Text(4), stmt->Text(5), stmt->Text(6), stmt->Text(7),
                     stmt->Text(8)});
    }
    return out;
  }

  Result<AuditHead> GetAuditHead(std::string_view org_id) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("SELECT seq, hash FROM audit_heads WHERE org_id = ?"));
    stmt->Bind(1, org_id);
    RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
    if (!row) return AuditHead{std::string(org_id), 0, ""};
    return AuditHead{std::string(org_id), stmt->Int(0), stmt->Text(1)};
  }

  // Writes.

  Status PutOrganization(const domain::Organization& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)"));
    return stmt->Bind(1, v.id).Bind(2, v.name).Bind(3, ToUnixMillis(v.created_at)).Run();
  }

  Status PutClinic(const domain::Clinic& v) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("INSERT INTO clinics (org_id, id, name) VALUES (?, ?, ?)"));
    return stmt->Bind(1, v.org_id).Bind(2, v.id).Bind(3, v.name).Run();
  }

  Status PutUser(const domain::User& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO users (org_id, id, clinic_id, email, display_name, role, "
                   "password_hash, disabled, created_at, totp_secret, totp_enabled, "
                   "failed_logins, locked_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                   "?10, ?11, ?12, ?13)"));
    return BindUser(*stmt, v).Run();
  }

  static Statement& BindUser(Statement& stmt, const domain::User& v) {
    stmt.Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.clinic_id)
        .Bind(4, v.email)
        .Bind(5, v.display_name)
        .Bind(6, domain::Name(v.role))
        .Bind(7, v.password_hash)
        .Bind(8, v.disabled)
        .Bind(9, ToUnixMillis(v.created_at))
        .Bind(10, v.totp_secret)
        .Bind(11, v.totp_enabled)
        .Bind(12, v.failed_logins);
    if (v.locked_until) {
      stmt.Bind(13, ToUnixMillis(*v.locked_until));
    } else {
      stmt.BindNull(13);
    }
    return stmt;
  }

  Status UpdateUser(const domain::User& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("UPDATE users SET clinic_id = ?3, email = ?4, display_name = ?5, role = ?6, "
                   "password_hash = ?7, disabled = ?8, totp_secret = ?10, totp_enabled = ?11, "
                   "failed_logins = ?12, locked_until = ?13 WHERE org_id = ?1 AND id = ?2"));
    RAPPORT_RETURN_IF_ERROR(BindUser(*stmt, v).Run());
    if (sqlite3_changes(db_.get()) != 1) return NotFound("user not found");
    return Status::Ok();
  }

  Status PutClient(const domain::Client& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO clients (org_id, id, code, language, consent_research, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?)"));
    return stmt->Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.code)
        .Bind(4, v.language)
        .Bind(5, v.consent_research)
        .Bind(6, ToUnixMillis(v.created_at))
        .Run();
  }

  Status PutCollateral(const domain::Collateral& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached(
            "INSERT INTO collaterals (org_id, id, client_id, relationship) VALUES (?, ?, ?, ?)"));
    return stmt->Bind(1, v.org_id).Bind(2, v.id).Bind(3, v.client_id).Bind(4, v.relationship).Run();
  }

  Status PutEpisode(const domain::Episode& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO episodes (org_id, id, clinic_id, modality, started_at, ended_at, "
                   "end_reason) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    stmt->Bind(1, v.org_id).Bind(2, v.id).Bind(3, v.clinic_id).Bind(4, domain::Name(v.modality));
    stmt->Bind(5, ToUnixMillis(v.started_at));
    if (v.ended_at) {
      stmt->Bind(6, ToUnixMillis(*v.ended_at));
    } else {
      stmt->BindNull(6);
    }
    if (v.end_reason) {
      stmt->Bind(7, domain::Name(*v.end_reason));
    } else {
      stmt->BindNull(7);
    }
    RAPPORT_RETURN_IF_ERROR(stmt->Run());
    for (size_t i = 0; i < v.client_ids.size(); ++i) {
      RAPPORT_ASSIGN_OR_RETURN(Statement * member,
                               db_.Cached("INSERT INTO episode_clients (org_id, episode_id, "
                                          "client_id, position) VALUES (?, ?, ?, ?)"));
      RAPPORT_RETURN_IF_ERROR(member->Bind(1, v.org_id)
                                  .Bind(2, v.id)
                                  .Bind(3, v.client_ids[i])
                                  .Bind(4, static_cast<int64_t>(i))
                                  .Run());
    }
    for (size_t i = 0; i < v.clinician_ids.size(); ++i) {
      RAPPORT_ASSIGN_OR_RETURN(Statement * member,
                               db_.Cached("INSERT INTO episode_clinicians (org_id, episode_id, "
                                          "user_id, position) VALUES (?, ?, ?, ?)"));
      RAPPORT_RETURN_IF_ERROR(member->Bind(1, v.org_id)
                                  .Bind(2, v.id)
                                  .Bind(3, v.clinician_ids[i])
                                  .Bind(4, static_cast<int64_t>(i))
                                  .Run());
    }
    return Status::Ok();
  }

  Status PutGoal(const domain::Goal& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO goals (org_id, id, episode_id, client_id, description, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?)"));
    return stmt->Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.episode_id)
        .Bind(4, v.client_id)
        .Bind(5, v.description)
        .Bind(6, ToUnixMillis(v.created_at))
        .Run();
  }

  Status PutSession(const domain::Session& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO sessions (org_id, id, episode_id, number, scheduled_at, "
                   "attendance) VALUES (?, ?, ?, ?, ?, ?)"));
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(1, v.org_id)
                                .Bind(2, v.id)
                                .Bind(3, v.episode_id)
                                .Bind(4, v.number)
                                .Bind(5, ToUnixMillis(v.scheduled_at))
                                .Bind(6, domain::Name(v.attendance))
                                .Run());
    for (const domain::Participant& participant : v.participants) {
      RAPPORT_ASSIGN_OR_RETURN(Statement * person,
                               db_.Cached("INSERT INTO session_participants (org_id, session_id, "
                                          "person_id, role) VALUES (?, ?, ?, ?)"));
      RAPPORT_RETURN_IF_ERROR(person->Bind(1, v.org_id)
                                  .Bind(2, v.id)
                                  .Bind(3, participant.person_id)
                                  .Bind(4, domain::Name(participant.role))
                                  .Run());
    }
    return Status::Ok();
  }

  Status PutCheckin(const Checkin& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO checkins (org_id, id, session_id, respondent_id, perspective, "
                   "instruments, token_digest, language, created_at, expires_at, submitted_at, "
                   "submission_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    stmt->Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.session_id)
        .Bind(4, v.respondent_id)
        .Bind(5, domain::Name(v.perspective))
        .Bind(6, Json(v.instrument_ids).dump())
        .Bind(7, v.token_digest)
        .Bind(8, v.language)
        .Bind(9, ToUnixMillis(v.created_at))
        .Bind(10, ToUnixMillis(v.expires_at));
    if (const auto submitted = OptionalMillis(v.submitted_at)) {
      stmt->Bind(11, *submitted);
    } else {
      stmt->BindNull(11);
    }
    return stmt->Bind(12, v.submission_digest).Run();
  }

  Status PutResponse(const Response& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO responses (org_id, id, checkin_id, session_id, respondent_id, "
                   "perspective, target, instrument_id, submitted_at, answers, scoring_version, "
                   "total, band, subscales, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "?, ?, ?)"));
    stmt->Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.checkin_id)
        .Bind(4, v.session_id)
        .Bind(5, v.respondent_id)
        .Bind(6, domain::Name(v.perspective));
    if (v.target) {
      stmt->Bind(7, domain::Name(*v.target));
    } else {
      stmt->BindNull(7);
    }
    return stmt->Bind(8, v.instrument_id)
        .Bind(9, ToUnixMillis(v.submitted_at))
        .Bind(10, AnswersText(v.answers))
        .Bind(11, v.score.instrument_version)
        .Bind(12, v.score.total)
        .Bind(13, v.score.band)
        .Bind(14, SubscalesText(v.score))
        .Bind(15, FlagsText(v.score))
        .Run();
  }

  Status MarkCheckinSubmitted(std::string_view org_id, std::string_view checkin_id,
                              Timestamp submitted_at, std::string_view digest) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("UPDATE checkins SET submitted_at = ?, submission_digest = ? WHERE org_id = ? "
                   "AND id = ? AND submitted_at IS NULL"));
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(1, ToUnixMillis(submitted_at))
                                .Bind(2, digest)
                                .Bind(3, org_id)
                                .Bind(4, checkin_id)
                                .Run());
    if (sqlite3_changes(db_.get()) != 1) return Conflict("check-in was already submitted");
    return Status::Ok();
  }

  Status BindAlert(Statement& stmt, const domain::Alert& v) {
    stmt.Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.episode_id)
        .Bind(4, v.client_id)
        .Bind(5, v.kind)
        .Bind(6, v.dedupe_key)
        .Bind(7, domain::Name(v.severity))
        .Bind(8, domain::Name(v.status))
        .Bind(9, v.session_number)
        .Bind(10, v.last_session_number)
        .Bind(11, v.occurrences)
        .Bind(12, v.evidence_json)
        .Bind(13, ToUnixMillis(v.created_at))
        .Bind(14, ToUnixMillis(v.updated_at))
        .Bind(15, v.acknowledged_by)
        .Bind(17, v.resolved_by)
        .Bind(19, v.resolution);
    if (const auto at = OptionalMillis(v.acknowledged_at)) {
      stmt.Bind(16, *at);
    } else {
      stmt.BindNull(16);
    }
    if (const auto at = OptionalMillis(v.resolved_at)) {
      stmt.Bind(18, *at);
    } else {
      stmt.BindNull(18);
    }
    return stmt.Run();
  }

  Status PutAlert(const domain::Alert& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO alerts (org_id, id, episode_id, client_id, kind, dedupe_key, "
                   "severity, status, session_number, last_session_number, occurrences, "
                   "evidence, created_at, updated_at, acknowledged_by, acknowledged_at, "
                   "resolved_by, resolved_at, resolution) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                   "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"));
    return BindAlert(*stmt, v);
  }

  Status UpdateAlert(const domain::Alert& v) override {
    // Most updates carry an alert on (another session, more occurrences, new evidence) and
    // leave the indexed columns as they were. SQLite rewrites an index whenever a column of it
    // is assigned, changed or not, so such an update sets only the other columns: one changed
    // page instead of four. Nor does it assign the severity, whose CHECK constraint SQLite
    // evaluates (building a temporary table for its IN list) whenever it is assigned. A change
    // of status, severity, episode or key takes the full statement.
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * same_keys,
        db_.Cached("UPDATE alerts SET client_id = ?4, kind = ?5, session_number = ?9, "
                   "last_session_number = ?10, occurrences = ?11, evidence = ?12, created_at = "
                   "?13, updated_at = ?14, acknowledged_by = ?15, acknowledged_at = ?16, "
                   "resolved_by = ?17, resolved_at = ?18, resolution = ?19 WHERE org_id = ?1 AND "
                   "id = ?2 AND episode_id = ?3 AND dedupe_key = ?6 AND severity = ?7 AND status "
                   "= ?8"));
    RAPPORT_RETURN_IF_ERROR(BindAlert(*same_keys, v));
    if (sqlite3_changes(db_.get()) == 1) return Status::Ok();
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("UPDATE alerts SET episode_id = ?3, client_id = ?4, kind = ?5, dedupe_key = "
                   "?6, severity = ?7, status = ?8, session_number = ?9, last_session_number = "
                   "?10, occurrences = ?11, evidence = ?12, created_at = ?13, updated_at = ?14, "
                   "acknowledged_by = ?15, acknowledged_at = ?16, resolved_by = ?17, "
                   "resolved_at = ?18, resolution = ?19 WHERE org_id = ?1 AND id = ?2"));
    RAPPORT_RETURN_IF_ERROR(BindAlert(*stmt, v));
    if (sqlite3_changes(db_.get()) != 1) return NotFound("alert not found");
    return Status::Ok();
  }

  Status PutRepairNote(const domain::RepairNote& v) override {
    RAPPORT_RETURN_IF_ERROR(GetAlert(v.org_id, v.alert_id).status());
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO repair_notes (org_id, id, alert_id, author_id, text, "
                   "discussed_with_client, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    return stmt->Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.alert_id)
        .Bind(4, v.author_id)
        .Bind(5, v.text)
        .Bind(6, v.discussed_with_client)
        .Bind(7, ToUnixMillis(v.created_at))
        .Run();
  }

  Status PutOrgSettings(std::string_view org_id, std::string_view json_text,
                        Timestamp updated_at) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO org_settings (org_id, document, updated_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (org_id) DO UPDATE SET document = excluded.document, "
                   "updated_at = excluded.updated_at"));
    return stmt->Bind(1, org_id).Bind(2, json_text).Bind(3, ToUnixMillis(updated_at)).Run();
  }

  Status PutTextPack(const StoredTextPack& v) override {
    if (v.instrument_id.empty()) {
      return InvalidArgument("a text pack needs an instrument", "instrument_id");
    }
    if (v.language.empty()) return InvalidArgument("a text pack needs a language", "language");
    RAPPORT_RETURN_IF_ERROR(GetOrganization(v.org_id).status());
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO text_packs (org_id, instrument_id, language, document, "
                   "uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, "
                   "instrument_id, language) DO UPDATE SET document = excluded.document, "
                   "uploaded_by = excluded.uploaded_by, uploaded_at = excluded.uploaded_at"));
    return stmt->Bind(1, v.org_id)
        .Bind(2, v.instrument_id)
        .Bind(3, v.language)
        .Bind(4, v.document)
        .Bind(5, v.uploaded_by)
        .Bind(6, ToUnixMillis(v.uploaded_at))
        .Run();
  }

  Status DeleteTextPack(std::string_view org_id, std::string_view instrument_id,
                        std::string_view language) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("DELETE FROM text_packs WHERE org_id = ? AND instrument_id = ? AND "
                   "language = ?"));
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(1, org_id).Bind(2, instrument_id).Bind(3, language).Run());
    if (sqlite3_changes(db_.get()) != 1) return NotFound("text pack not found");
    return Status::Ok();
  }

  Status PutFittedModel(const FittedModel& v) override {
    if (v.kind.empty()) return InvalidArgument("a fitted model needs a kind", "kind");
    RAPPORT_RETURN_IF_ERROR(GetOrganization(v.org_id).status());
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO fitted_models (org_id, kind, instrument_id, document, fitted_at, "
                   "data_from, data_to, clients, observations, criterion) VALUES (?, ?, ?, ?, ?, "
                   "?, ?, ?, ?, ?) ON CONFLICT (org_id, kind, instrument_id) DO UPDATE SET "
                   "document = excluded.document, fitted_at = excluded.fitted_at, data_from = "
                   "excluded.data_from, data_to = excluded.data_to, clients = excluded.clients, "
                   "observations = excluded.observations, criterion = excluded.criterion"));
    stmt->Bind(1, v.org_id)
        .Bind(2, v.kind)
        .Bind(3, v.instrument_id)
        .Bind(4, v.document)
        .Bind(5, ToUnixMillis(v.fitted_at));
    if (const auto from = OptionalMillis(v.data_from)) {
      stmt->Bind(6, *from);
    } else {
      stmt->BindNull(6);
    }
    if (const auto to = OptionalMillis(v.data_to)) {
      stmt->Bind(7, *to);
    } else {
      stmt->BindNull(7);
    }
    return stmt->Bind(8, v.clients).Bind(9, v.observations).Bind(10, v.criterion).Run();
  }

  Result<std::vector<domain::Episode>> ListEpisodes(std::string_view org_id,
                                                    const EpisodeQuery& query) override {
    // One statement per filter combination keeps each one prepared once.
    std::string sql = "SELECT e.id FROM episodes e WHERE e.org_id = ?1";
    if (!query.clinician_id.empty()) {
      sql +=
          " AND EXISTS (SELECT 1 FROM episode_clinicians c WHERE c.org_id = e.org_id AND "
          "c.episode_id = e.id AND c.user_id = ?2)";
    }
    if (!query.clinic_id.empty()) sql += " AND e.clinic_id = ?3";
    if (!query.client_id.empty()) {
      sql +=
          " AND EXISTS (SELECT 1 FROM episode_clients c WHERE c.org_id = e.org_id AND "
          "c.episode_id = e.id AND c.client_id = ?4)";
    }
    if (query.active_only) sql += " AND e.ended_at IS NULL";
    sql += " ORDER BY e.started_at DESC, e.id";
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt, db_.Cached(sql));
    stmt->Bind(1, org_id);
    if (!query.clinician_id.empty()) stmt->Bind(2, query.clinician_id);
    if (!query.clinic_id.empty()) stmt->Bind(3, query.clinic_id);
    if (!query.client_id.empty()) stmt->Bind(4, query.client_id);
    std::vector<std::string> ids;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      ids.push_back(stmt->Text(0));
    }
    std::vector<domain::Episode> out;
    out.reserve(ids.size());
    for (const std::string& id : ids) {
      RAPPORT_ASSIGN_OR_RETURN(domain::Episode episode, GetEpisode(org_id, id));
      out.push_back(std::move(episode));
    }
    return out;
  }

  Result<std::vector<domain::Goal>> ListGoals(std::string_view org_id,
                                              std::string_view episode_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT id, client_id, description, created_at FROM goals WHERE org_id = ? "
                   "AND episode_id = ? ORDER BY created_at, id"));
    stmt->Bind(1, org_id).Bind(2, episode_id);
    std::vector<domain::Goal> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      out.push_back({stmt->Text(0), std::string(org_id), std::string(episode_id), stmt->Text(1),
                     stmt->Text(2), FromUnixMillis(stmt->Int(3))});
    }
    return out;
  }

  Status UpdateSession(const domain::Session& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt, db_.Cached("UPDATE sessions SET attendance = ?, scheduled_at = ? WHERE "
                                     "org_id = ? AND id = ?"));
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(1, domain::Name(v.attendance))
                                .Bind(2, ToUnixMillis(v.scheduled_at))
                                .Bind(3, v.org_id)
                                .Bind(4, v.id)
                                .Run());
    if (sqlite3_changes(db_.get()) != 1) return NotFound("session not found");
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * clear,
        db_.Cached("DELETE FROM session_participants WHERE org_id = ? AND session_id = ?"));
    RAPPORT_RETURN_IF_ERROR(clear->Bind(1, v.org_id).Bind(2, v.id).Run());
    for (const domain::Participant& participant : v.participants) {
      RAPPORT_ASSIGN_OR_RETURN(Statement * person,
                               db_.Cached("INSERT INTO session_participants (org_id, session_id, "
                                          "person_id, role) VALUES (?, ?, ?, ?)"));
      RAPPORT_RETURN_IF_ERROR(person->Bind(1, v.org_id)
                                  .Bind(2, v.id)
                                  .Bind(3, participant.person_id)
                                  .Bind(4, domain::Name(participant.role))
                                  .Run());
    }
    return Status::Ok();
  }

  Status UpdateEpisodeEnd(const domain::Episode& v) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("UPDATE episodes SET ended_at = ?, end_reason = ? WHERE "
                                        "org_id = ? AND id = ?"));
    if (v.ended_at) {
      stmt->Bind(1, ToUnixMillis(*v.ended_at));
    } else {
      stmt->BindNull(1);
    }
    if (v.end_reason) {
      stmt->Bind(2, domain::Name(*v.end_reason));
    } else {
      stmt->BindNull(2);
    }
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(3, v.org_id).Bind(4, v.id).Run());
    if (sqlite3_changes(db_.get()) != 1) return NotFound("episode not found");
    return Status::Ok();
  }

  // Authentication state.

  Result<domain::AuthSession> GetAuthSession(std::string_view token_digest) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT org_id, user_id, csrf_token, address, created_at, last_seen_at, "
                   "expires_at FROM auth_sessions WHERE token_digest = ?"));
    stmt->Bind(1, token_digest);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "session"));
    return domain::AuthSession{std::string(token_digest),
                               stmt->Text(0),
                               stmt->Text(1),
                               stmt->Text(2),
                               stmt->Text(3),
                               FromUnixMillis(stmt->Int(4)),
                               FromUnixMillis(stmt->Int(5)),
                               FromUnixMillis(stmt->Int(6))};
  }

  Status PutAuthSession(const domain::AuthSession& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO auth_sessions (token_digest, org_id, user_id, csrf_token, "
                   "address, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                   "?)"));
    return stmt->Bind(1, v.token_digest)
        .Bind(2, v.org_id)
        .Bind(3, v.user_id)
        .Bind(4, v.csrf_token)
        .Bind(5, v.address)
        .Bind(6, ToUnixMillis(v.created_at))
        .Bind(7, ToUnixMillis(v.last_seen_at))
        .Bind(8, ToUnixMillis(v.expires_at))
        .Run();
  }

  Status TouchAuthSession(std::string_view token_digest, Timestamp last_seen_at) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("UPDATE auth_sessions SET last_seen_at = ? WHERE token_digest = ?"));
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(1, ToUnixMillis(last_seen_at)).Bind(2, token_digest).Run());
    if (sqlite3_changes(db_.get()) != 1) return NotFound("session not found");
    return Status::Ok();
  }

  Status DeleteAuthSession(std::string_view token_digest) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached("DELETE FROM auth_sessions WHERE token_digest = ?"));
    return stmt->Bind(1, token_digest).Run();
  }

  Result<int> DeleteAuthSessionsOfUser(std::string_view org_id, std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt, db_.Cached("DELETE FROM auth_sessions WHERE org_id = ? AND user_id = ?"));
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(1, org_id).Bind(2, user_id).Run());
    return sqlite3_changes(db_.get());
  }

  static constexpr std::string_view kApiTokenColumns =
      "SELECT org_id, id, user_id, name, token_digest, scopes, created_at, expires_at, "
      "revoked_at FROM api_tokens ";

  static Result<domain::ApiToken> ReadApiToken(Statement& stmt) {
    domain::ApiToken token;
    token.org_id = stmt.Text(0);
    token.id = stmt.Text(1);
    token.user_id = stmt.Text(2);
    token.name = stmt.Text(3);
    token.token_digest = stmt.Text(4);
    const Json scopes = Json::parse(stmt.Text(5), nullptr, false);
    if (!scopes.is_array()) return Internal("stored API token scopes are invalid");
    for (const Json& scope : scopes) {
      if (scope.is_string()) token.scopes.push_back(scope.get<std::string>());
    }
    token.created_at = FromUnixMillis(stmt.Int(6));
    if (!stmt.IsNull(7)) token.expires_at = FromUnixMillis(stmt.Int(7));
    if (!stmt.IsNull(8)) token.revoked_at = FromUnixMillis(stmt.Int(8));
    return token;
  }

  Result<domain::ApiToken> GetApiTokenByDigest(std::string_view token_digest) override {
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt,
                             db_.Cached(std::string(kApiTokenColumns) + "WHERE token_digest = ?"));
    stmt->Bind(1, token_digest);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "API token"));
    return ReadApiToken(*stmt);
  }

  Result<std::vector<domain::ApiToken>> ListApiTokens(std::string_view org_id,
                                                      std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached(std::string(kApiTokenColumns) +
                   "WHERE org_id = ? AND user_id = ? ORDER BY created_at DESC, id"));
    stmt->Bind(1, org_id).Bind(2, user_id);
    std::vector<domain::ApiToken> out;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt->Step());
      if (!row) break;
      RAPPORT_ASSIGN_OR_RETURN(domain::ApiToken token, ReadApiToken(*stmt));
      out.push_back(std::move(token));
    }
    return out;
  }

  Status PutApiToken(const domain::ApiToken& v) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO api_tokens (org_id, id, user_id, name, token_digest, scopes, "
                   "created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    stmt->Bind(1, v.org_id)
        .Bind(2, v.id)
        .Bind(3, v.user_id)
        .Bind(4, v.name)
        .Bind(5, v.token_digest)
        .Bind(6, Json(v.scopes).dump())
        .Bind(7, ToUnixMillis(v.created_at));
    if (const auto expires = OptionalMillis(v.expires_at)) {
      stmt->Bind(8, *expires);
    } else {
      stmt->BindNull(8);
    }
    if (const auto revoked = OptionalMillis(v.revoked_at)) {
      stmt->Bind(9, *revoked);
    } else {
      stmt->BindNull(9);
    }
    return stmt->Run();
  }

  Status RevokeApiToken(std::string_view org_id, std::string_view user_id,
                        std::string_view token_id, Timestamp at) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE org_id = ? "
                   "AND user_id = ? AND id = ?"));
    RAPPORT_RETURN_IF_ERROR(
        stmt->Bind(1, ToUnixMillis(at)).Bind(2, org_id).Bind(3, user_id).Bind(4, token_id).Run());
    if (sqlite3_changes(db_.get()) != 1) return NotFound("API token not found");
    return Status::Ok();
  }

  Result<int> CountRecoveryCodes(std::string_view org_id, std::string_view user_id) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("SELECT COUNT(*) FROM recovery_codes WHERE org_id = ? AND user_id = ? AND "
                   "used_at IS NULL"));
    stmt->Bind(1, org_id).Bind(2, user_id);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "count"));
    return static_cast<int>(stmt->Int(0));
  }

  Status PutRecoveryCodes(std::string_view org_id, std::string_view user_id,
                          const std::vector<std::string>& code_digests) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * clear,
        db_.Cached("DELETE FROM recovery_codes WHERE org_id = ? AND user_id = ?"));
    RAPPORT_RETURN_IF_ERROR(clear->Bind(1, org_id).Bind(2, user_id).Run());
    for (const std::string& digest : code_digests) {
      RAPPORT_ASSIGN_OR_RETURN(
          Statement * insert,
          db_.Cached("INSERT INTO recovery_codes (org_id, user_id, code_digest) VALUES (?, ?, ?)"));
      RAPPORT_RETURN_IF_ERROR(insert->Bind(1, org_id).Bind(2, user_id).Bind(3, digest).Run());
    }
    return Status::Ok();
  }

  Status UseRecoveryCode(std::string_view org_id, std::string_view user_id,
                         std::string_view code_digest, Timestamp at) override {
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("UPDATE recovery_codes SET used_at = ? WHERE org_id = ? AND user_id = ? AND "
                   "code_digest = ? AND used_at IS NULL"));
    RAPPORT_RETURN_IF_ERROR(stmt->Bind(1, ToUnixMillis(at))
                                .Bind(2, org_id)
                                .Bind(3, user_id)
                                .Bind(4, code_digest)
                                .Run());
    if (sqlite3_changes(db_.get()) != 1) return NotFound("recovery code not found or used");
    return Status::Ok();
  }

  Result<int64_t> CountRateEvent(std::string_view key, Timestamp window_start) override {
    const int64_t start = ToUnixMillis(window_start);
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * stmt,
        db_.Cached("INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1) "
                   "ON CONFLICT (key) DO UPDATE SET count = CASE WHEN window_start < ?2 THEN 1 "
                   "ELSE count + 1 END, window_start = MAX(window_start, ?2) RETURNING count"));
    stmt->Bind(1, key).Bind(2, start);
    RAPPORT_RETURN_IF_ERROR(StepOne(*stmt, "rate counter"));
    const int64_t count = stmt->Int(0);
    stmt->Reset();
    return count;
  }

  Result<domain::AuditEvent> AppendAudit(domain::AuditEvent event) override {
    if (event.org_id.empty())
      return InvalidArgument("an audit event needs an organisation", "org_id");
    if (event.actor.empty()) return InvalidArgument("an audit event needs an actor", "actor");
    if (event.action.empty()) return InvalidArgument("an audit event needs an action", "action");
    // The head is read on the writer connection inside this transaction, so appends earlier in
    // the same group commit (other callers' savepoints) are seen and chained onto.
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, GetAuditHead(event.org_id));
    if (head.seq == 0) RAPPORT_RETURN_IF_ERROR(GetOrganization(event.org_id).status());
    event.seq = head.seq + 1;
    event.prev_hash = head.hash;
    event.hash = AuditHash(event);
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * insert,
        db_.Cached("INSERT INTO audit_events (org_id, seq, at, actor, action, resource, address, "
                   "detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    RAPPORT_RETURN_IF_ERROR(insert->Bind(1, event.org_id)
                                .Bind(2, event.seq)
                                .Bind(3, ToUnixMillis(event.at))
                                .Bind(4, event.actor)
                                .Bind(5, event.action)
                                .Bind(6, event.resource)
                                .Bind(7, event.address)
                                .Bind(8, event.detail)
                                .Bind(9, event.prev_hash)
                                .Bind(10, event.hash)
                                .Run());
    RAPPORT_ASSIGN_OR_RETURN(
        Statement * move_head,
        db_.Cached("INSERT INTO audit_heads (org_id, seq, hash) VALUES (?, ?, ?) ON CONFLICT "
                   "(org_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"));
    RAPPORT_RETURN_IF_ERROR(
        move_head->Bind(1, event.org_id).Bind(2, event.seq).Bind(3, event.hash).Run());
    return event;
  }

  Status ScanOrganizationRows(const TableSpec& table, std::string_view org_id,
                              const std::function<Status(const Row&)>& each) override {
    RAPPORT_RETURN_IF_ERROR(CheckOrganizationTable(table));
    // Text compares byte by byte here (SQLite's BINARY collation).
    const std::string sql = ScanSql(table, "?", "rowid", "");
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt, db_.Cached(sql));
    stmt->Bind(1, org_id);
    Row row(table.columns.size());
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const bool more, stmt->Step());
      if (!more) break;
      for (size_t i = 0; i < row.size(); ++i) {
        row[i] = ReadValue(*stmt, static_cast<int>(i), table.columns[i].type);
      }
      const Status status = each(row);
      if (!status.ok()) {
        stmt->Reset();
        return status;
      }
    }
    return Status::Ok();
  }

  Status InsertOrganizationRow(const TableSpec& table, const Row& row) override {
    RAPPORT_RETURN_IF_ERROR(CheckRow(table, row));
    std::string sql = std::string("INSERT INTO ")
                          .append(table.name)
                          .append(" (")
                          .append(ColumnList(table))
                          .append(") VALUES (");
    for (size_t i = 0; i < row.size(); ++i) sql.append(i == 0 ? "?" : ", ?");
    sql.append(")");
    RAPPORT_ASSIGN_OR_RETURN(Statement * stmt, db_.Cached(sql));
    for (size_t i = 0; i < row.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              stmt->BindNull(index);
            } else {
              stmt->Bind(index, value);
            }
          },
          row[i]);
    }
    return stmt->Run();
  }

 private:
  Connection& db_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(Options options, Connection writer, Connection checkpointer)
      : options_(std::move(options)),
        writer_(std::move(writer)),
        checkpointer_(std::move(checkpointer)) {
    // Checkpoints run on a thread of their own, not in the writer's COMMIT: a checkpoint copies
    // the WAL into the database and syncs it, which would hold up every caller of the batch.
    // The hook replaces SQLite's automatic checkpoint on the writer's connection.
    sqlite3_wal_hook(writer_.get(), &SqliteStore::AfterCommit, this);
    // Only the writer changes the database, so its page cache stays valid from one transaction
    // to the next (a reader's is emptied by every commit): a large one saves re-reading the
    // index pages that check-ins, responses and the audit chain touch at random.
    if (const Status sized = writer_.Execute("PRAGMA cache_size=-65536"); !sized.ok()) {
      log::Error("writer cache not enlarged", {{"error", sized.ToString()}});
    }
    checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
    commit_.emplace(batch_, options_.max_batch);
  }

  ~SqliteStore() override { Close(); }

  Status Read(const std::function<Status(ReadTransaction&)>& work) override {
    RAPPORT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> db, AcquireReader());
    Status status = db->ExecuteCached("BEGIN");
    if (status.ok()) {
      SqliteTransaction txn(*db);
      status = RunCatching([&] { return work(txn); });
      db->ResetCached();
      (void)db->ExecuteCached("COMMIT");
    }
    ReleaseReader(std::move(db));
    return status;
  }

  bool ReadsAreLocal() const override { return true; }

  Status Write(const std::function<Status(WriteTransaction&)>& work) override {
    return commit_->Write(work);
  }

  void WriteAsync(std::function<Status(WriteTransaction&)> work,
                  std::function<void(Status)> done) override {
    commit_->WriteAsync(std::move(work), std::move(done));
  }

  void Close() override {
    if (commit_) commit_->Stop();
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_closing_ = true;
    }
    checkpoint_wake_.notify_one();
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  }

  Result<int> SchemaVersion() override {
    RAPPORT_ASSIGN_OR_RETURN(std::unique_ptr<Connection> db, AcquireReader());
    Result<int> version = CurrentVersionReadOnly(*db);
    ReleaseReader(std::move(db));
    return version;
  }

 private:
  static Result<int> CurrentVersionReadOnly(Connection& db) {
    RAPPORT_ASSIGN_OR_RETURN(Statement stmt,
                             db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    return row ? static_cast<int>(stmt.Int(0)) : 0;
  }

  Result<std::unique_ptr<Connection>> AcquireReader() {
    {
      std::lock_guard lock(readers_mutex_);
      if (!readers_.empty()) {
        auto db = std::move(readers_.back());
        readers_.pop_back();
        return db;
      }
    }
    RAPPORT_ASSIGN_OR_RETURN(Connection db, Connection::Open(options_.path, /*read_only=*/true));
    return std::make_unique<Connection>(std::move(db));
  }

  void ReleaseReader(std::unique_ptr<Connection> db) {
    std::lock_guard lock(readers_mutex_);
    if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(db));
  }

  // SQLite's WAL hook: runs on the writer thread after each commit with the WAL's size in pages.
  static int AfterCommit(void* self, sqlite3*, const char*, int pages) {
    auto* store = static_cast<SqliteStore*>(self);
    store->wal_pages_ = pages;
    if (pages >= kCheckpointPages) {
      {
        std::lock_guard lock(store->checkpoint_mutex_);
        store->checkpoint_wanted_ = true;
      }
      store->checkpoint_wake_.notify_one();
    }
    return SQLITE_OK;
  }

  // Passive checkpoints (they never block the writer or readers) whenever the WAL has grown past
  // kCheckpointPages; the writer starts the WAL over once a checkpoint has copied all of it.
  void CheckpointLoop() {
    while (true) {
      {
        std::unique_lock lock(checkpoint_mutex_);
        checkpoint_wake_.wait(lock, [&] { return checkpoint_wanted_ || checkpoint_closing_; });
        if (checkpoint_closing_) return;
        checkpoint_wanted_ = false;
      }
      std::lock_guard running(checkpoint_running_);
      const int rc = sqlite3_wal_checkpoint_v2(checkpointer_.get(), nullptr,
                                               SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log::Error("checkpoint failed",
                   {{"error", SqliteStatus(rc, checkpointer_.get(), "checkpoint").ToString()}});
      }
    }
  }

  // The WAL starts over only when the writer begins a transaction while a checkpoint has copied
  // all of it and no reader still reads from it. Under a steady load some reader always does:
  // the WAL grew without bound (about 1 GB in a minute of bench/ingest), every commit extending
  // the file, so that each fsync also had to journal the file's new size. So once the WAL
  // passes options_.wal_restart_pages (32 MiB by default), the writer thread, before its next
  // batch (the last batch's callers have their answers), runs a RESTART checkpoint: it copies
  // what the passive checkpoints have not yet copied and waits, at most kRestartWaitMs, until no
  // reader reads from the WAL; the next transaction then writes the WAL from its start again,
  // over blocks already allocated. When a long read holds an old snapshot (an export or a
  // backup, say), writing goes on and the writer tries again once the WAL has grown by another
  // quarter of wal_restart_pages. (A shorter wait with a step doubling after each failure was
  // tried: on a busy machine readers are descheduled while in the WAL, restarts then failed
  // again and again, and the WAL grew to thousands of pages.)
  void RestartWalWhenLong() {
    if (wal_pages_ < restart_at_pages_) return;
    int rc = SQLITE_OK;
    {
      std::lock_guard running(checkpoint_running_);
      sqlite3_busy_timeout(writer_.get(), kRestartWaitMs);
      rc = sqlite3_wal_checkpoint_v2(writer_.get(), nullptr, SQLITE_CHECKPOINT_RESTART, nullptr,
                                     nullptr);
      sqlite3_busy_timeout(writer_.get(), kBusyTimeoutMs);
    }
    if (rc == SQLITE_OK) {
      wal_pages_ = 0;
      restart_at_pages_ = options_.wal_restart_pages;
      return;
    }
    restart_at_pages_ = wal_pages_ + std::max(options_.wal_restart_pages / 4, 1);
    if (rc != SQLITE_BUSY) {
      log::Error("WAL restart failed",
                 {{"error", SqliteStatus(rc, writer_.get(), "checkpoint").ToString()}});
    }
  }

  // Idle read connections kept for reuse: as many as the server's handler threads, so that a
  // busy server does not open (and prepare every statement on) a new connection per read.
  static constexpr size_t kMaxIdleReaders = 64;
  // SQLite's default automatic checkpoint size.
  static constexpr int kCheckpointPages = 1000;
  // How long the writer's RESTART waits for readers to leave the WAL.
  static constexpr int kRestartWaitMs = 100;

  // The writer connection's statements for a batch, prepared once.
  class Batch final : public BatchStatements {
   public:
    Batch(SqliteStore& store, Connection& writer) : store_(store), writer_(writer), txn_(writer) {}
    Status Begin() override {
      store_.RestartWalWhenLong();
      return writer_.ExecuteCached("BEGIN IMMEDIATE");
    }
    Status Savepoint() override { return writer_.ExecuteCached("SAVEPOINT work"); }
    Status ReleaseSavepoint() override { return writer_.ExecuteCached("RELEASE work"); }
    void RollbackToSavepoint() override {
      (void)writer_.ExecuteCached("ROLLBACK TO work");
      (void)writer_.ExecuteCached("RELEASE work");
    }
    Status Commit() override {
      writer_.ResetCached();
      return writer_.ExecuteCached("COMMIT");
    }
    void Rollback() override { (void)writer_.ExecuteCached("ROLLBACK"); }
    WriteTransaction& Transaction() override { return txn_; }

   private:
    SqliteStore& store_;
    Connection& writer_;
    SqliteTransaction txn_;
  };

  const Options options_;
  Connection writer_;
  // The WAL's size after the last commit, and when to start it over (writer thread only).
  int wal_pages_ = 0;
  int restart_at_pages_ = options_.wal_restart_pages;
  Batch batch_{*this, writer_};
  std::optional<GroupCommit> commit_;  // started last in the constructor
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;
  Connection checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  // Held while a checkpoint runs: SQLite refuses a second one at once (SQLITE_BUSY) rather
  // than wait, so the writer's RESTART waits here for a passive one to finish.
  std::mutex checkpoint_running_;
  bool checkpoint_wanted_ = false;
  bool checkpoint_closing_ = false;
  std::thread checkpoint_thread_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const Options& options) {
  if (options.path.empty()) return InvalidArgument("SQLite path is empty", "db");
  RAPPORT_ASSIGN_OR_RETURN(Connection writer, Connection::Open(options.path, /*read_only=*/false));
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
  RAPPORT_ASSIGN_OR_RETURN(Connection checkpointer,
                           Connection::Open(options.path, /*read_only=*/false));
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(options, std::move(writer), std::move(checkpointer)));
}

}  // namespace rapport::storage::sqlite
