// The Store: all persistent state behind one interface (DESIGN.md §7). Backends live in
// sqlite/ and postgres/; callers never see SQL.
//
// Work runs inside transactions. Reads see a consistent snapshot. Writes are serialised and
// batched (group commit): several callers' transactions may share one database commit, but each
// caller's work is atomic on its own (a failing one is rolled back alone) and Write() returns
// only after the commit that contains it is durable.
//
// Tenant isolation: every method except the check-in token lookup takes the organisation id
// and sees only that organisation's rows.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "domain/alert.h"
#include "domain/types.h"
#include "storage/audit_chain.h"
#include "storage/tables.h"

namespace rapport::storage {

// Which alerts ListAlerts returns; empty fields do not filter.
struct AlertQuery {
  std::string episode_id;
  std::string client_id;
  std::optional<domain::AlertStatus> status;
  bool active_only = false;  // open or acknowledged
};

// Which episodes ListEpisodes returns; empty fields do not filter.
struct EpisodeQuery {
  std::string clinician_id;  // episodes this user is one of the clinicians of
  std::string clinic_id;     // episodes of this clinic
  std::string client_id;     // episodes this client takes part in
  bool active_only = false;  // not ended
};

// One scored response on one instrument with the context that models fitted on an
// organisation's history need: expected treatment response (scores by client and session),
// reliability per instrument (item answers) and dropout models (episodes, sessions, times).
struct InstrumentObservation {
  std::string response_id;
  std::string episode_id;
  std::string session_id;
  int session_number = 0;  // 1-based within the episode
  Timestamp session_at;    // the session's scheduled time
  std::string respondent_id;
  domain::Perspective perspective = domain::Perspective::kClient;  // the respondent's role
  std::optional<domain::Target> target;
  // The respondent when they are one of the episode's clients; empty otherwise (a clinician,
  // collateral or observer rating).
  std::string client_id;
  std::string instrument_version;           // the scoring version of `total`
  std::optional<double> total;              // empty when too many items were missing
  std::vector<domain::ItemAnswer> answers;  // in the order stored (item order)
  Timestamp submitted_at;
  friend bool operator==(const InstrumentObservation&, const InstrumentObservation&) = default;
};

// A statistical model fitted on an organisation's history, stored as its JSON document with
// its provenance in columns. Only the latest model per (organisation, kind, instrument) is
// kept. The store does not interpret `document`; its kind's code does (e.g. "etr":
// stats/etr.h).
struct FittedModel {
  std::string org_id;
  std::string kind;           // free text, e.g. "etr" or "dropout"; never empty
  std::string instrument_id;  // the instrument it models; empty when it is not about one
  std::string document;       // the model as JSON text
  Timestamp fitted_at;
  std::optional<Timestamp> data_from;  // the window of the data it was fitted on, when known
  std::optional<Timestamp> data_to;
  int64_t clients = 0;       // clients in the data
  int64_t observations = 0;  // rows in the data
  double criterion = 0;      // the fit criterion at the optimum (e.g. REML criterion, deviance)
  friend bool operator==(const FittedModel&, const FittedModel&) = default;
};

// A text pack an organisation's administrator uploaded (instruments/textpack.h): the wording of
// one instrument in one language, kept as the pack's JSON text. The store does not interpret
// `document`; the API validates it against the instrument before storing it.
struct StoredTextPack {
  std::string org_id;
  std::string instrument_id;  // never empty
  std::string language;       // never empty
  std::string document;       // the pack as JSON text
  std::string uploaded_by;    // the user's id
  Timestamp uploaded_at;
  friend bool operator==(const StoredTextPack&, const StoredTextPack&) = default;
};

// Reads. Valid only inside the callback it was passed to.
class ReadTransaction {
 public:
  virtual ~ReadTransaction() = default;

  virtual Result<domain::Organization> GetOrganization(std::string_view org_id) = 0;
  virtual Result<std::vector<domain::Organization>> ListOrganizations() = 0;
  // The organisation's clinics, by name.
  virtual Result<std::vector<domain::Clinic>> ListClinics(std::string_view org_id) = 0;
  virtual Result<domain::User> GetUserByEmail(std::string_view email) = 0;
  virtual Result<domain::User> GetUser(std::string_view org_id, std::string_view user_id) = 0;
  virtual Result<std::vector<domain::User>> ListUsers(std::string_view org_id) = 0;
  virtual Result<domain::Client> GetClient(std::string_view org_id, std::string_view client_id) = 0;
  virtual Result<std::vector<domain::Client>> ListClients(std::string_view org_id) = 0;
  virtual Result<domain::Episode> GetEpisode(std::string_view org_id,
                                             std::string_view episode_id) = 0;
  virtual Result<domain::Session> GetSession(std::string_view org_id,
                                             std::string_view session_id) = 0;
  // The check-in whose token has this SHA-256 digest, in any organisation: the token is the
  // respondent's only credential. kNotFound when none.
  virtual Result<domain::Checkin> GetCheckinByTokenDigest(std::string_view token_digest) = 0;
  // Responses of one check-in, in submission order, with their answers and scores.
  virtual Result<std::vector<domain::Response>> ListResponsesForCheckin(
      std::string_view org_id, std::string_view checkin_id) = 0;
  // Responses of one episode's sessions, ordered by session number then submission time.
  virtual Result<std::vector<domain::Response>> ListResponsesForEpisode(
      std::string_view org_id, std::string_view episode_id) = 0;
  // The episode's revision: a number that changes whenever anything its signals are evaluated
  // from changes — its sessions and their participants, its responses, its alerts — in any
  // transaction and by any code path (the schema keeps it). Comparing it with one read earlier
  // tells by one lookup whether all of those are still as they were then. kNotFound when the
  // organisation has no such episode.
  virtual Result<int64_t> GetEpisodeRevision(std::string_view org_id,
                                             std::string_view episode_id) = 0;
  virtual Result<int64_t> CountResponses(std::string_view org_id) = 0;
  // Episodes of the organisation matching `query`, newest start first.
  virtual Result<std::vector<domain::Episode>> ListEpisodes(std::string_view org_id,
                                                            const EpisodeQuery& query) = 0;
  // Goals of one episode, oldest first.
  virtual Result<std::vector<domain::Goal>> ListGoals(std::string_view org_id,
                                                      std::string_view episode_id) = 0;
  // Sessions of one episode, ordered by number.
  virtual Result<std::vector<domain::Session>> ListSessionsForEpisode(
      std::string_view org_id, std::string_view episode_id) = 0;

  // Alerts (DESIGN.md §3), most urgent first, then newest first.
  virtual Result<std::vector<domain::Alert>> ListAlerts(std::string_view org_id,
                                                        const AlertQuery& query) = 0;
  virtual Result<domain::Alert> GetAlert(std::string_view org_id, std::string_view alert_id) = 0;
  // Repair notes of one alert, oldest first.
  virtual Result<std::vector<domain::RepairNote>> ListRepairNotes(std::string_view org_id,
                                                                  std::string_view alert_id) = 0;
  // The organisation's settings document (JSON text; "{}" when none was stored). What it may
  // hold is defined by src/alliance/settings.h; the store does not interpret it.
  virtual Result<std::string> GetOrgSettings(std::string_view org_id) = 0;

  // Every scored response on `instrument_id` in the organisation whose session is scheduled
  // at or after `from` and before `to`, with its latest score and its item answers; ordered
  // by episode id, session number, submission time, then response id. Empty when there are
  // none (also for an unknown organisation or instrument).
  virtual Result<std::vector<InstrumentObservation>> ListObservations(
      std::string_view org_id, std::string_view instrument_id, Timestamp from, Timestamp to) = 0;
  // Authentication state lives in the database so that several servers act as one
  // (DESIGN.md §7). Sessions and API tokens are found by their secret's digest in any
  // organisation, like check-ins; kNotFound when none.
  virtual Result<domain::AuthSession> GetAuthSession(std::string_view token_digest) = 0;
  virtual Result<domain::ApiToken> GetApiTokenByDigest(std::string_view token_digest) = 0;
  // The user's API tokens, revoked ones included, newest first.
  virtual Result<std::vector<domain::ApiToken>> ListApiTokens(std::string_view org_id,
                                                              std::string_view user_id) = 0;
  // How many of the user's recovery codes are still unused.
  virtual Result<int> CountRecoveryCodes(std::string_view org_id, std::string_view user_id) = 0;

  // The latest model of `kind` for the instrument (empty `instrument_id`: the one not about
  // an instrument). kNotFound when none is stored.
  virtual Result<FittedModel> GetFittedModel(std::string_view org_id, std::string_view kind,
                                             std::string_view instrument_id) = 0;

  // The organisation's text packs, ordered by instrument id then language. Empty when there are
  // none (also for an unknown organisation).
  virtual Result<std::vector<StoredTextPack>> ListTextPacks(std::string_view org_id) = 0;

  // The organisation's audit events with seq > `after_seq`, in seq order, at most `limit`
  // (pages: pass the last seq seen). Empty for an unknown organisation. Returned as stored,
  // unverified (audit_chain.h verifies them). kInvalidArgument when `limit` < 1.
  virtual Result<std::vector<domain::AuditEvent>> ListAudit(std::string_view org_id,
                                                            int64_t after_seq, int64_t limit) = 0;
  // The end of the organisation's audit chain as recorded by the appends: seq 0 and an empty
  // hash when none was recorded (also for an unknown organisation).
  virtual Result<AuditHead> GetAuditHead(std::string_view org_id) = 0;

  // Every row the organisation has in `table` (one of OrganizationTables(), tables.h) as
  // stored, in the table's copy order, passed to `row` one at a time; stops at the first
  // error `row` returns and returns it. For moving an organisation between databases
  // (transfer.h). kInvalidArgument for a table that is not one of OrganizationTables().
  virtual Status ScanOrganizationRows(const TableSpec& table, std::string_view org_id,
                                      const std::function<Status(const Row&)>& row) = 0;
};

// Reads and writes. Put* insert a new row; kConflict when the id (or a unique field such as a
// user's e-mail) is taken.
class WriteTransaction : public ReadTransaction {
 public:
  virtual Status PutOrganization(const domain::Organization& value) = 0;
  virtual Status PutClinic(const domain::Clinic& value) = 0;
  virtual Status PutUser(const domain::User& value) = 0;
  virtual Status PutClient(const domain::Client& value) = 0;
  virtual Status PutCollateral(const domain::Collateral& value) = 0;
  virtual Status PutEpisode(const domain::Episode& value) = 0;
  virtual Status PutGoal(const domain::Goal& value) = 0;
  virtual Status PutSession(const domain::Session& value) = 0;
  virtual Status PutCheckin(const domain::Checkin& value) = 0;
  // Stores the response with its item answers and score.
  virtual Status PutResponse(const domain::Response& value) = 0;
  // Records that a check-in was answered. kConflict when it already was.
  virtual Status MarkCheckinSubmitted(std::string_view org_id, std::string_view checkin_id,
                                      Timestamp submitted_at,
                                      std::string_view submission_digest) = 0;
  virtual Status PutAlert(const domain::Alert& value) = 0;
  // Replaces the stored alert with the same org_id and id; kNotFound when there is none.
  virtual Status UpdateAlert(const domain::Alert& value) = 0;
  // kNotFound when the alert does not exist in the organisation.
  virtual Status PutRepairNote(const domain::RepairNote& value) = 0;
  // Stores (inserts or replaces) the organisation's settings document.
  virtual Status PutOrgSettings(std::string_view org_id, std::string_view json_text,
                                Timestamp updated_at) = 0;
  // Replaces the stored user's mutable fields (everything but org_id, id and created_at);
  // kNotFound when there is none, kConflict when the new e-mail is taken.
  virtual Status UpdateUser(const domain::User& value) = 0;
  // Replaces a session's attendance and participants; kNotFound when there is none.
  virtual Status UpdateSession(const domain::Session& value) = 0;
  // Ends an episode (or reopens it when `ended_at` is empty); kNotFound when there is none.
  virtual Status UpdateEpisodeEnd(const domain::Episode& value) = 0;

  virtual Status PutAuthSession(const domain::AuthSession& value) = 0;
  // Records activity on a session (idle timeout); kNotFound when it is gone.
  virtual Status TouchAuthSession(std::string_view token_digest, Timestamp last_seen_at) = 0;
  // Removes one session; no error when it is already gone.
  virtual Status DeleteAuthSession(std::string_view token_digest) = 0;
  // Removes every session of the user ("sign out everywhere"); returns how many.
  virtual Result<int> DeleteAuthSessionsOfUser(std::string_view org_id,
                                               std::string_view user_id) = 0;
  virtual Status PutApiToken(const domain::ApiToken& value) = 0;
  // Marks the token revoked at `at`; kNotFound when the user has no such token.
  virtual Status RevokeApiToken(std::string_view org_id, std::string_view user_id,
                                std::string_view token_id, Timestamp at) = 0;
  // Replaces the user's recovery codes by these digests, all unused.
  virtual Status PutRecoveryCodes(std::string_view org_id, std::string_view user_id,
                                  const std::vector<std::string>& code_digests) = 0;
  // Uses one recovery code; kNotFound when it is unknown or was used before.
  virtual Status UseRecoveryCode(std::string_view org_id, std::string_view user_id,
                                 std::string_view code_digest, Timestamp at) = 0;
  // Counts one event against a fixed-window limit: `key` names what is counted (e.g. sign-in
  // attempts from one address), `window_start` the start of the current window. A stored
  // count from an earlier window restarts at one. Returns the count in this window.
  virtual Result<int64_t> CountRateEvent(std::string_view key, Timestamp window_start) = 0;

  // Stores the model, replacing any with the same org_id, kind and instrument_id.
  // kInvalidArgument for an empty kind; kNotFound for an unknown organisation.
  virtual Status PutFittedModel(const FittedModel& value) = 0;

  // Stores the pack, replacing any with the same org_id, instrument_id and language.
  // kInvalidArgument for an empty instrument_id or language; kNotFound for an unknown
  // organisation.
  virtual Status PutTextPack(const StoredTextPack& value) = 0;
  // Removes one pack; kNotFound when the organisation has none for that instrument and language.
  virtual Status DeleteTextPack(std::string_view org_id, std::string_view instrument_id,
                                std::string_view language) = 0;

  // Appends `event` to its organisation's audit chain (audit_chain.h) and returns it as
  // stored: seq is the head's seq + 1, prev_hash the head's hash, hash = AuditHash of the
  // result; `at` and the other fields are kept as given (any seq, prev_hash or hash passed in
  // is ignored). The head moves in the same transaction, so the event is committed or rolled
  // back with the caller's other writes and concurrent appends chain one after another.
  // kInvalidArgument when org_id, actor or action is empty; kNotFound for an unknown
  // organisation.
  virtual Result<domain::AuditEvent> AppendAudit(domain::AuditEvent event) = 0;

  // Inserts a row as ScanOrganizationRows gave it, unchanged: audit events keep their seq and
  // hashes, the audit head its place. kInvalidArgument when the row does not fit the table
  // (CheckRow), kConflict when its key or a unique value (an e-mail, a token digest) is taken
  // or a row it refers to is missing.
  virtual Status InsertOrganizationRow(const TableSpec& table, const Row& row) = 0;
};

// Thread safety: all methods may be called from any thread concurrently.
class Store {
 public:
  virtual ~Store() = default;

  // Runs `work` in a read-only snapshot and returns its status.
  virtual Status Read(const std::function<Status(ReadTransaction&)>& work) = 0;
  // Whether reads are served from files on this machine (SQLite) rather than by a server over
  // the network (PostgreSQL): a thread that must not wait long may read only then.
  virtual bool ReadsAreLocal() const = 0;

  // Runs `work` in a write transaction. When `work` returns ok, its changes are committed and
  // durable before Write returns ok. When `work` fails, its changes are rolled back and its
  // status returned. Errors from the database → kInternal or kUnavailable.
  virtual Status Write(const std::function<Status(WriteTransaction&)>& work) = 0;
  // As Write, without waiting: returns at once, and calls `done` with what Write would have
  // returned once that is known (on the store's writer thread, or on the caller's when the
  // store is closed). `done` must be brief and must not call the store: a caller with more to
  // do hands it to a thread of its own.
  virtual void WriteAsync(std::function<Status(WriteTransaction&)> work,
                          std::function<void(Status)> done) = 0;

  // Finishes queued writes and refuses new ones (kUnavailable). Idempotent.
  virtual void Close() = 0;

  // The schema version this database is at.
  virtual Result<int> SchemaVersion() = 0;
};

// Opens a store from a URL: "sqlite:PATH" (PATH created when absent) or a PostgreSQL
// connection URI, "postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DBNAME[?PARAM=VALUE...]" (or
// "postgres://"; the database must exist). Migrates to the latest
// schema when `migrate` is true; otherwise an out-of-date schema is kUnavailable.
// Errors: unknown scheme or malformed URL → kInvalidArgument naming the URL; an unreachable
// PostgreSQL server → kUnavailable.
// Re-reads the organisation's audit chain in `txn` and checks it (audit_chain.h), also
// against `anchor` when given: an event's seq and hash recorded elsewhere earlier.
Result<AuditVerification> VerifyStoredAuditChain(ReadTransaction& txn, std::string_view org_id,
                                                 const std::optional<AuditHead>& anchor = {});

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, bool migrate = true);

}  // namespace rapport::storage
