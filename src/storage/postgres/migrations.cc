#include "storage/postgres/migrations.h"

#include <array>
#include <string>

namespace rapport::storage::postgres {
namespace {

// The SQLite schema in PostgreSQL's types: times are BIGINT milliseconds since the Unix epoch
// (UTC), flags BOOLEAN, scores DOUBLE PRECISION. SQLite orders some lists by its implicit
// rowid (insertion order, for ties); here those tables carry it as an identity column,
// insert_order.
constexpr std::string_view kInitial = R"sql(
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE clinics (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (org_id, id)
);
CREATE TABLE users (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  id TEXT NOT NULL,
  clinic_id TEXT NOT NULL,
  email TEXT NOT NULL,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'clinician', 'researcher')),
  password_hash TEXT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE TABLE clients (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  id TEXT NOT NULL,
  code TEXT NOT NULL,
  language TEXT NOT NULL,
  consent_research BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, code)
);
CREATE TABLE collaterals (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  relationship TEXT NOT NULL,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, client_id) REFERENCES clients (org_id, id)
);
CREATE TABLE episodes (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  id TEXT NOT NULL,
  clinic_id TEXT NOT NULL,
  modality TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  ended_at BIGINT,
  end_reason TEXT,
  PRIMARY KEY (org_id, id)
);
CREATE TABLE episode_clients (
  org_id TEXT NOT NULL,
  episode_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (org_id, episode_id, client_id),
  FOREIGN KEY (org_id, episode_id) REFERENCES episodes (org_id, id),
  FOREIGN KEY (org_id, client_id) REFERENCES clients (org_id, id)
);
CREATE INDEX episode_clients_client ON episode_clients (org_id, client_id);
CREATE TABLE episode_clinicians (
  org_id TEXT NOT NULL,
  episode_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (org_id, episode_id, user_id),
  FOREIGN KEY (org_id, episode_id) REFERENCES episodes (org_id, id),
  FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX episode_clinicians_user ON episode_clinicians (org_id, user_id);
CREATE TABLE goals (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  episode_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, episode_id) REFERENCES episodes (org_id, id)
);
CREATE TABLE sessions (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  episode_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  scheduled_at BIGINT NOT NULL,
  attendance TEXT NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, episode_id, number),
  FOREIGN KEY (org_id, episode_id) REFERENCES episodes (org_id, id)
);
CREATE TABLE session_participants (
  org_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  person_id TEXT NOT NULL,
  role TEXT NOT NULL,
  insert_order BIGINT GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (org_id, session_id, person_id),
  FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id)
);
CREATE TABLE checkins (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  respondent_id TEXT NOT NULL,
  perspective TEXT NOT NULL,
  instruments TEXT NOT NULL,
  token_digest TEXT NOT NULL,
  language TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  submitted_at BIGINT,
  submission_digest TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id)
);
CREATE UNIQUE INDEX checkins_token ON checkins (token_digest);
CREATE TABLE responses (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  checkin_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  respondent_id TEXT NOT NULL,
  perspective TEXT NOT NULL,
  target TEXT,
  instrument_id TEXT NOT NULL,
  submitted_at BIGINT NOT NULL,
  insert_order BIGINT GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id)
);
CREATE INDEX responses_session ON responses (org_id, session_id);
CREATE INDEX responses_checkin ON responses (org_id, checkin_id);
CREATE TABLE answers (
  org_id TEXT NOT NULL,
  response_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  value DOUBLE PRECISION,
  PRIMARY KEY (org_id, response_id, item_id),
  FOREIGN KEY (org_id, response_id) REFERENCES responses (org_id, id)
);
CREATE TABLE scores (
  org_id TEXT NOT NULL,
  response_id TEXT NOT NULL,
  instrument_id TEXT NOT NULL,
  scoring_version TEXT NOT NULL,
  total DOUBLE PRECISION,
  band TEXT NOT NULL,
  subscales TEXT NOT NULL,
  flags TEXT NOT NULL,
  PRIMARY KEY (org_id, response_id, scoring_version),
  FOREIGN KEY (org_id, response_id) REFERENCES responses (org_id, id)
);
)sql";

constexpr std::string_view kAlerts = R"sql(
CREATE TABLE alerts (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  episode_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  dedupe_key TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('urgent', 'warning', 'prompt')),
  status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
  session_number INTEGER NOT NULL,
  last_session_number INTEGER NOT NULL,
  occurrences INTEGER NOT NULL,
  evidence TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  acknowledged_by TEXT NOT NULL DEFAULT '',
  acknowledged_at BIGINT,
  resolved_by TEXT NOT NULL DEFAULT '',
  resolved_at BIGINT,
  resolution TEXT NOT NULL DEFAULT '',
  insert_order BIGINT GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, episode_id) REFERENCES episodes (org_id, id)
);
CREATE INDEX alerts_episode ON alerts (org_id, episode_id);
CREATE INDEX alerts_status ON alerts (org_id, status);
CREATE UNIQUE INDEX alerts_active_key ON alerts (org_id, episode_id, dedupe_key)
  WHERE status <> 'resolved';
CREATE TABLE repair_notes (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  author_id TEXT NOT NULL,
  text TEXT NOT NULL,
  discussed_with_client BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL,
  insert_order BIGINT GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, alert_id) REFERENCES alerts (org_id, id)
);
CREATE INDEX repair_notes_alert ON repair_notes (org_id, alert_id);
CREATE TABLE org_settings (
  org_id TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id),
  document TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql";

constexpr std::string_view kFittedModels = R"sql(
CREATE INDEX responses_instrument ON responses (org_id, instrument_id);
CREATE TABLE fitted_models (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  kind TEXT NOT NULL CHECK (kind <> ''),
  instrument_id TEXT NOT NULL,
  document TEXT NOT NULL,
  fitted_at BIGINT NOT NULL,
  data_from BIGINT,
  data_to BIGINT,
  clients BIGINT NOT NULL,
  observations BIGINT NOT NULL,
  criterion DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (org_id, kind, instrument_id)
);
)sql";

constexpr std::string_view kAuth = R"sql(
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
CREATE TABLE auth_sessions (
  token_digest TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  address TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX auth_sessions_user ON auth_sessions (org_id, user_id);
CREATE TABLE api_tokens (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  token_digest TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE TABLE recovery_codes (
  org_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  code_digest TEXT NOT NULL,
  used_at BIGINT,
  PRIMARY KEY (org_id, user_id, code_digest),
  FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE TABLE rate_counters (
  key TEXT PRIMARY KEY,
  window_start BIGINT NOT NULL,
  count BIGINT NOT NULL
);
CREATE INDEX episodes_clinic ON episodes (org_id, clinic_id);
)sql";

// As in SQLite, triggers refuse updates and deletes of audit events from any code path (here
// TRUNCATE too, which PostgreSQL has and SQLite has not).
constexpr std::string_view kAudit = R"sql(
CREATE TABLE audit_events (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  seq BIGINT NOT NULL CHECK (seq >= 1),
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  address TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (org_id, seq)
);
CREATE TABLE audit_heads (
  org_id TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
)sql";

// Text packs uploaded by an organisation's administrators (docs/instruments.md): the
// wording of one instrument in one language, as the pack's JSON, used by that organisation's
// check-in pages before any pack in the site folder.
constexpr std::string_view kTextPacks = R"sql(
CREATE TABLE text_packs (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  instrument_id TEXT NOT NULL CHECK (instrument_id <> ''),
  language TEXT NOT NULL CHECK (language <> ''),
  document TEXT NOT NULL,
  uploaded_by TEXT NOT NULL,
  uploaded_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, instrument_id, language)
);
)sql";

// A revision per episode, moved by triggers as in SQLite's migration 7 (alerts/alerts.h): any
// change to an episode's sessions, their participants, its responses or its alerts. The row
// update also serialises concurrent writers of one episode, from one server or several.
constexpr std::string_view kEpisodeRevision = R"sql(
ALTER TABLE episodes ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION episode_revision_by_episode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id = OLD.episode_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id = NEW.episode_id;
  END IF;
  RETURN NULL;
END;
$$;
CREATE FUNCTION episode_revision_by_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE episodes e SET revision = e.revision + 1 FROM sessions s
      WHERE s.org_id = OLD.org_id AND s.id = OLD.session_id AND e.org_id = s.org_id
        AND e.id = s.episode_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE episodes e SET revision = e.revision + 1 FROM sessions s
      WHERE s.org_id = NEW.org_id AND s.id = NEW.session_id AND e.org_id = s.org_id
        AND e.id = s.episode_id;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER episode_revision_session AFTER INSERT OR UPDATE OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION episode_revision_by_episode();
CREATE TRIGGER episode_revision_alert AFTER INSERT OR UPDATE OR DELETE ON alerts
  FOR EACH ROW EXECUTE FUNCTION episode_revision_by_episode();
CREATE TRIGGER episode_revision_participant AFTER INSERT OR UPDATE OR DELETE
  ON session_participants FOR EACH ROW EXECUTE FUNCTION episode_revision_by_session();
CREATE TRIGGER episode_revision_response AFTER INSERT OR UPDATE OR DELETE ON responses
  FOR EACH ROW EXECUTE FUNCTION episode_revision_by_session();
)sql";

// Without the index of responses by check-in: a check-in's responses are found through its
// session (responses_session), among the few of that session. One fewer index page changed, at
// a random place, for every stored response (docs/benchmarks.md).
constexpr std::string_view kNoResponsesByCheckin = R"sql(
DROP INDEX responses_checkin;
)sql";

// Answers and score in their response's row (storage/response_columns.h), and responses keyed
// within their session (the key serves what responses_session did): a stored check-in then
// adds rows to the responses table and its key only. The score kept is the latest scoring
// version's.
constexpr std::string_view kResponsesWithAnswers = R"sql(
ALTER TABLE responses ADD COLUMN answers TEXT NOT NULL DEFAULT '[]',
  ADD COLUMN scoring_version TEXT NOT NULL DEFAULT '',
  ADD COLUMN total DOUBLE PRECISION,
  ADD COLUMN band TEXT NOT NULL DEFAULT '',
  ADD COLUMN subscales TEXT NOT NULL DEFAULT '{}',
  ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
UPDATE responses r SET answers = a.answers FROM (
  SELECT org_id, response_id,
         json_agg(json_build_array(item_id, value) ORDER BY position)::text AS answers
  FROM answers GROUP BY org_id, response_id) a
WHERE a.org_id = r.org_id AND a.response_id = r.id;
UPDATE responses r SET scoring_version = sc.scoring_version, total = sc.total, band = sc.band,
  subscales = sc.subscales, flags = sc.flags FROM (
  SELECT DISTINCT ON (org_id, response_id) * FROM scores
  ORDER BY org_id, response_id, scoring_version DESC) sc
WHERE sc.org_id = r.org_id AND sc.response_id = r.id;
ALTER TABLE responses ALTER COLUMN answers DROP DEFAULT,
  ALTER COLUMN scoring_version DROP DEFAULT,
  ALTER COLUMN band DROP DEFAULT,
  ALTER COLUMN subscales DROP DEFAULT,
  ALTER COLUMN flags DROP DEFAULT;
DROP TABLE answers;
DROP TABLE scores;
ALTER TABLE responses DROP CONSTRAINT responses_pkey;
ALTER TABLE responses ADD PRIMARY KEY (org_id, session_id, id);
DROP INDEX responses_session;
)sql";

// The counterpart of SQLite's migration 10: an update that leaves a row in its episode moves
// that episode's revision once, not twice (old and new).
constexpr std::string_view kRevisionTriggersWithoutOr = R"sql(
CREATE OR REPLACE FUNCTION episode_revision_by_episode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND
      (OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.episode_id IS DISTINCT FROM NEW.episode_id))
  THEN
    UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id = OLD.episode_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id = NEW.episode_id;
  END IF;
  RETURN NULL;
END;
$$;
)sql";

constexpr std::array<Migration, 10> kMigrations{{
    {1, "initial schema", kInitial},
    {2, "alerts, repair notes and organisation settings", kAlerts},
    {3, "fitted models and responses by instrument", kFittedModels},
    {4, "sessions, API tokens, recovery codes, lockout and rate limits", kAuth},
    {5, "audit log", kAudit},
    {6, "text packs of organisations", kTextPacks},
    {7, "a revision per episode", kEpisodeRevision},
    {8, "responses found by check-in through their session", kNoResponsesByCheckin},
    {9, "responses with their answers and score, keyed within their session",
     kResponsesWithAnswers},
    {10, "revision triggers without an OR", kRevisionTriggersWithoutOr},
}};

// Serialises migrations of one database between processes (pg_advisory_xact_lock's key; any
// fixed number: "RAPPORTM" in ASCII).
constexpr int64_t kMigrationLock = 0x5241'5050'4f52'544d;

Result<int> VersionInTransaction(Connection& db) {
  RAPPORT_ASSIGN_OR_RETURN(const Rows exists,
                           db.Query("SELECT to_regclass('schema_migrations') IS NOT NULL"));
  if (exists.empty() || !exists.Bool(0, 0)) return 0;
  RAPPORT_ASSIGN_OR_RETURN(const Rows rows,
                           db.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return rows.empty() ? 0 : static_cast<int>(rows.Int(0, 0));
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

Result<int> CurrentVersion(Connection& db) { return VersionInTransaction(db); }

Status Migrate(Connection& db) {
  for (const Migration& migration : Migrations()) {
    RAPPORT_RETURN_IF_ERROR(db.Execute("BEGIN"));
    Status status = [&]() -> Status {
      RAPPORT_RETURN_IF_ERROR(
          db.Query("SELECT pg_advisory_xact_lock($1)", Params().Add(kMigrationLock)).status());
      RAPPORT_RETURN_IF_ERROR(db.Execute(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT "
          "NOT NULL, applied_at BIGINT NOT NULL)"));
      RAPPORT_ASSIGN_OR_RETURN(const int current, VersionInTransaction(db));
      if (migration.version <= current) return Status::Ok();  // applied (maybe by another)
      RAPPORT_RETURN_IF_ERROR(db.Execute(migration.sql));
      return db
          .Query(
              "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, "
              "(extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
              Params().Add(migration.version).Add(migration.name))
          .status();
    }();
    if (!status.ok()) {
      (void)db.Execute("ROLLBACK");
      return status.WithContext("migration " + std::to_string(migration.version) + " (" +
                                std::string(migration.name) + ")");
    }
    RAPPORT_RETURN_IF_ERROR(db.Execute("COMMIT"));
  }
  return Status::Ok();
}

}  // namespace rapport::storage::postgres
