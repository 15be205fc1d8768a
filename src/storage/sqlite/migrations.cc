#include "storage/sqlite/migrations.h"

#include <array>
#include <string>

namespace rapport::storage::sqlite {
namespace {

// Every table's key starts with org_id so data can be partitioned by tenant (DESIGN.md §7).
// Times are milliseconds since the Unix epoch (UTC).
constexpr std::string_view kInitial = R"sql(
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
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
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE TABLE clients (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  id TEXT NOT NULL,
  code TEXT NOT NULL,
  language TEXT NOT NULL,
  consent_research INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
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
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
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
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, episode_id) REFERENCES episodes (org_id, id)
);
CREATE TABLE sessions (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  episode_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  scheduled_at INTEGER NOT NULL,
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
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  submitted_at INTEGER,
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
  submitted_at INTEGER NOT NULL,
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
  value REAL,
  PRIMARY KEY (org_id, response_id, item_id),
  FOREIGN KEY (org_id, response_id) REFERENCES responses (org_id, id)
) WITHOUT ROWID;
CREATE TABLE scores (
  org_id TEXT NOT NULL,
  response_id TEXT NOT NULL,
  instrument_id TEXT NOT NULL,
  scoring_version TEXT NOT NULL,
  total REAL,
  band TEXT NOT NULL,
  subscales TEXT NOT NULL,
  flags TEXT NOT NULL,
  PRIMARY KEY (org_id, response_id, scoring_version),
  FOREIGN KEY (org_id, response_id) REFERENCES responses (org_id, id)
) WITHOUT ROWID;
)sql";

// Alerts with their evidence and lifecycle, repair notes, and per-organisation settings
// (issue 4; docs/signals.md). At most one active alert per (episode, dedupe key).
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
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  acknowledged_by TEXT NOT NULL DEFAULT '',
  acknowledged_at INTEGER,
  resolved_by TEXT NOT NULL DEFAULT '',
  resolved_at INTEGER,
  resolution TEXT NOT NULL DEFAULT '',
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
  discussed_with_client INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, alert_id) REFERENCES alerts (org_id, id)
);
CREATE INDEX repair_notes_alert ON repair_notes (org_id, alert_id);
CREATE TABLE org_settings (
  org_id TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id),
  document TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql";

// Models fitted on an organisation's history (issue 5; docs/statistics.md): the latest per
// (organisation, kind, instrument), as JSON with provenance columns. The index serves
// ListObservations, which reads every response on one instrument.
constexpr std::string_view kFittedModels = R"sql(
CREATE INDEX responses_instrument ON responses (org_id, instrument_id);
CREATE TABLE fitted_models (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  kind TEXT NOT NULL CHECK (kind <> ''),
  instrument_id TEXT NOT NULL,
  document TEXT NOT NULL,
  fitted_at INTEGER NOT NULL,
  data_from INTEGER,
  data_to INTEGER,
  clients INTEGER NOT NULL,
  observations INTEGER NOT NULL,
  criterion REAL NOT NULL,
  PRIMARY KEY (org_id, kind, instrument_id)
);
)sql";

// Authentication state (issue 6; docs/security.md), kept in the database so several servers
// act as one: sessions and API tokens by the digest of their secret, recovery codes, lockout
// fields on users, and fixed-window counters for rate limits.
constexpr std::string_view kAuth = R"sql(
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until INTEGER;
CREATE TABLE auth_sessions (
  token_digest TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  address TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
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
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE TABLE recovery_codes (
  org_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  code_digest TEXT NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (org_id, user_id, code_digest),
  FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE TABLE rate_counters (
  key TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL
);
CREATE INDEX episodes_clinic ON episodes (org_id, clinic_id);
)sql";

// The audit log (DESIGN.md §3, §9; storage/audit_chain.h): each organisation's hash-chained
// events, and its head (the last seq and hash), moved in the same transaction as every append
// so that events deleted from the end are detectable. Events are append-only: the triggers
// refuse updates and deletes from any code path (they do not stop someone who can rewrite the
// file; verification does).
constexpr std::string_view kAudit = R"sql(
CREATE TABLE audit_events (
  org_id TEXT NOT NULL REFERENCES organizations(id),
  seq INTEGER NOT NULL CHECK (seq >= 1),
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  address TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (org_id, seq)
) WITHOUT ROWID;
CREATE TABLE audit_heads (
  org_id TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
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
  uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, instrument_id, language)
);
)sql";

// A revision per episode (alerts/alerts.h): a counter that triggers move whenever anything an
// episode's signals are evaluated from changes — its sessions and their participants, its
// responses (their answers and scores are written with them and never change), its alerts — so
// that a write can tell whether an evaluation made from an earlier snapshot still holds by
// reading one row. Only changes are meaningful, not the numbers.
constexpr std::string_view kEpisodeRevision = R"sql(
ALTER TABLE episodes ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER episode_revision_session_insert AFTER INSERT ON sessions BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id = NEW.episode_id;
END;
CREATE TRIGGER episode_revision_session_update AFTER UPDATE ON sessions BEGIN
  UPDATE episodes SET revision = revision + 1
    WHERE (org_id = OLD.org_id AND id = OLD.episode_id)
       OR (org_id = NEW.org_id AND id = NEW.episode_id);
END;
CREATE TRIGGER episode_revision_session_delete AFTER DELETE ON sessions BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id = OLD.episode_id;
END;
CREATE TRIGGER episode_revision_participant_insert AFTER INSERT ON session_participants BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = NEW.org_id AND id = NEW.session_id);
END;
CREATE TRIGGER episode_revision_participant_update AFTER UPDATE ON session_participants BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = OLD.org_id AND id = OLD.session_id);
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = NEW.org_id AND id = NEW.session_id);
END;
CREATE TRIGGER episode_revision_participant_delete AFTER DELETE ON session_participants BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = OLD.org_id AND id = OLD.session_id);
END;
CREATE TRIGGER episode_revision_response_insert AFTER INSERT ON responses BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = NEW.org_id AND id = NEW.session_id);
END;
CREATE TRIGGER episode_revision_response_update AFTER UPDATE ON responses BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = OLD.org_id AND id = OLD.session_id);
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = NEW.org_id AND id = NEW.session_id);
END;
CREATE TRIGGER episode_revision_response_delete AFTER DELETE ON responses BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = OLD.org_id AND id = OLD.session_id);
END;
CREATE TRIGGER episode_revision_alert_insert AFTER INSERT ON alerts BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id = NEW.episode_id;
END;
CREATE TRIGGER episode_revision_alert_update AFTER UPDATE ON alerts BEGIN
  UPDATE episodes SET revision = revision + 1
    WHERE (org_id = OLD.org_id AND id = OLD.episode_id)
       OR (org_id = NEW.org_id AND id = NEW.episode_id);
END;
CREATE TRIGGER episode_revision_alert_delete AFTER DELETE ON alerts BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id = OLD.episode_id;
END;
)sql";

// Without the index of responses by check-in: a check-in's responses are found through its
// session (responses_session), among the few of that session. One fewer index page changed, at
// a random place, for every stored response (docs/benchmarks.md).
constexpr std::string_view kNoResponsesByCheckin = R"sql(
DROP INDEX responses_checkin;
)sql";

// Answers and score in their response's row (storage/response_columns.h), and responses keyed
// within their session: a stored check-in then adds rows at the end of the responses table and
// one entry to its key (where its session's responses are), instead of entries at random places
// in two more tables and two indexes. Nothing finds a response by its id alone; the id stays
// unique within its session, and random (DESIGN.md §3). The score kept is the latest scoring
// version's. The table is rebuilt (SQLite cannot change a primary key) with its rowids, which
// order responses submitted at the same time as they were stored.
constexpr std::string_view kResponsesWithAnswers = R"sql(
CREATE TABLE responses_rebuilt (
  org_id TEXT NOT NULL,
  id TEXT NOT NULL,
  checkin_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  respondent_id TEXT NOT NULL,
  perspective TEXT NOT NULL,
  target TEXT,
  instrument_id TEXT NOT NULL,
  submitted_at INTEGER NOT NULL,
  answers TEXT NOT NULL,
  scoring_version TEXT NOT NULL,
  total REAL,
  band TEXT NOT NULL,
  subscales TEXT NOT NULL,
  flags TEXT NOT NULL,
  PRIMARY KEY (org_id, session_id, id),
  FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id)
);
INSERT INTO responses_rebuilt (rowid, org_id, id, checkin_id, session_id, respondent_id,
  perspective, target, instrument_id, submitted_at, answers, scoring_version, total, band,
  subscales, flags)
SELECT r.rowid, r.org_id, r.id, r.checkin_id, r.session_id, r.respondent_id, r.perspective,
  r.target, r.instrument_id, r.submitted_at,
  IFNULL((SELECT json_group_array(json_array(item_id, value)) FROM (
    SELECT a.item_id, a.value FROM answers a
    WHERE a.org_id = r.org_id AND a.response_id = r.id ORDER BY a.position)), '[]'),
  IFNULL(sc.scoring_version, ''), sc.total, IFNULL(sc.band, ''), IFNULL(sc.subscales, '{}'),
  IFNULL(sc.flags, '[]')
FROM responses r LEFT JOIN scores sc ON sc.org_id = r.org_id AND sc.response_id = r.id AND
  sc.scoring_version = (SELECT MAX(m.scoring_version) FROM scores m
                        WHERE m.org_id = r.org_id AND m.response_id = r.id)
ORDER BY r.rowid;
DROP TABLE answers;
DROP TABLE scores;
DROP TABLE responses;
ALTER TABLE responses_rebuilt RENAME TO responses;
CREATE INDEX responses_instrument ON responses (org_id, instrument_id);
CREATE TRIGGER episode_revision_response_insert AFTER INSERT ON responses BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = NEW.org_id AND id = NEW.session_id);
END;
CREATE TRIGGER episode_revision_response_update AFTER UPDATE ON responses BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = OLD.org_id AND id = OLD.session_id);
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = NEW.org_id AND id = NEW.session_id);
END;
CREATE TRIGGER episode_revision_response_delete AFTER DELETE ON responses BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id =
    (SELECT episode_id FROM sessions WHERE org_id = OLD.org_id AND id = OLD.session_id);
END;
)sql";

// The revision triggers on updates of sessions and alerts, without an OR: SQLite answered
// "WHERE (old episode) OR (new episode)" with a temporary table of row ids, built at every
// update of an alert, which nearly every stored check-in makes. The old episode's revision
// moves in a trigger of its own, only when an update moves the row to another episode.
constexpr std::string_view kRevisionTriggersWithoutOr = R"sql(
DROP TRIGGER episode_revision_session_update;
DROP TRIGGER episode_revision_alert_update;
CREATE TRIGGER episode_revision_session_update AFTER UPDATE ON sessions BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id = NEW.episode_id;
END;
CREATE TRIGGER episode_revision_session_move AFTER UPDATE OF org_id, episode_id ON sessions
WHEN OLD.org_id IS NOT NEW.org_id OR OLD.episode_id IS NOT NEW.episode_id BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id = OLD.episode_id;
END;
CREATE TRIGGER episode_revision_alert_update AFTER UPDATE ON alerts BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = NEW.org_id AND id = NEW.episode_id;
END;
CREATE TRIGGER episode_revision_alert_move AFTER UPDATE OF org_id, episode_id ON alerts
WHEN OLD.org_id IS NOT NEW.org_id OR OLD.episode_id IS NOT NEW.episode_id BEGIN
  UPDATE episodes SET revision = revision + 1 WHERE org_id = OLD.org_id AND id = OLD.episode_id;
END;
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

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

Result<int> CurrentVersion(Connection& db) {
  RAPPORT_RETURN_IF_ERROR(db.Execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at INTEGER NOT NULL)"));
  RAPPORT_ASSIGN_OR_RETURN(Statement stmt,
                           db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  RAPPORT_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  return row ? static_cast<int>(stmt.Int(0)) : 0;
}

Status Migrate(Connection& db) {
  RAPPORT_ASSIGN_OR_RETURN(const int current, CurrentVersion(db));
  for (const Migration& migration : Migrations()) {
    if (migration.version <= current) continue;
    RAPPORT_RETURN_IF_ERROR(db.Execute("BEGIN IMMEDIATE"));
    Status status = db.Execute(migration.sql);
    if (status.ok()) {
      auto insert = db.Prepare(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, "
          "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
      status = insert.ok() ? insert->Bind(1, migration.version).Bind(2, migration.name).Run()
                           : insert.status();
    }
    if (!status.ok()) {
      (void)db.Execute("ROLLBACK");
      return status.WithContext("migration " + std::to_string(migration.version) + " (" +
                                std::string(migration.name) + ")");
    }
    RAPPORT_RETURN_IF_ERROR(db.Execute("COMMIT"));
  }
  return Status::Ok();
}

}  // namespace rapport::storage::sqlite
