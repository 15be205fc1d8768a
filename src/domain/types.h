// The domain model of DESIGN.md §3 as plain values. No I/O, no behaviour beyond naming.
//
// Every stored type carries `org_id`: all rows belong to exactly one Organization and every
// query is scoped by it. Ids are opaque random strings (base/id.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace rapport::domain {

enum class Role { kAdmin, kSupervisor, kClinician, kResearcher };
enum class Modality { kIndividual, kCouple, kFamily, kGroup };
enum class EndReason { kCompleted, kDroppedOut, kReferred, kOther };
enum class Attendance { kScheduled, kAttended, kNoShow, kCancelled };
// The role a person plays in one session.
enum class ParticipantRole {
  kClient,
  kPartner,
  kFamilyMember,
  kGroupMember,
  kCollateral,
  kClinician
};
// Whose view a response gives.
enum class Perspective { kClient, kClinician, kCollateral, kObserver };
// In couples, families and groups: whom an alliance rating is about (SCIENCE.md §7).
enum class Target { kClinician, kMembers, kGroup };

struct Organization {
  std::string id;
  std::string name;
  Timestamp created_at;
};

struct Clinic {
  std::string id;
  std::string org_id;
  std::string name;
};

struct User {
  std::string id;
  std::string org_id;
  std::string clinic_id;  // empty: organisation-wide
  std::string email;
  std::string display_name;
  Role role = Role::kClinician;
  std::string password_hash;  // Argon2id encoded string
  bool disabled = false;
  Timestamp created_at;
  // Multi-factor sign-in (RFC 6238 TOTP): the shared secret (raw bytes, base32 when shown) is
  // set at enrolment; `totp_enabled` once the user proved they hold it.
  std::string totp_secret;
  bool totp_enabled = false;
  // Lockout after repeated failed sign-ins (see api/auth.h).
  int failed_logins = 0;
  std::optional<Timestamp> locked_until;
};

// A signed-in staff member's browser session (DESIGN.md §9). Only the SHA-256 digest of the
// cookie's secret is stored; the CSRF token is returned at sign-in and must accompany every
// state-changing request of the session.
struct AuthSession {
  std::string token_digest;
  std::string org_id;
  std::string user_id;
  std::string csrf_token;
  std::string address;  // where the sign-in came from
  Timestamp created_at;
  Timestamp last_seen_at;  // for the idle timeout
  Timestamp expires_at;    // absolute expiry
};

// A revocable credential for an integration, acting as its user within `scopes`
// ("read", "write", "checkins", "export"). Only the SHA-256 digest of the secret is stored.
struct ApiToken {
  std::string id;
  std::string org_id;
  std::string user_id;
  std::string name;
  std::string token_digest;
  std::vector<std::string> scopes;
  Timestamp created_at;
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> revoked_at;
};

struct Client {
  std::string id;
  std::string org_id;
  std::string code;      // pseudonymous code shown to staff
  std::string language;  // BCP 47, e.g. "en"
  bool consent_research = false;
  Timestamp created_at;
};

// A significant other who rates their view of progress and support for treatment.
struct Collateral {
  std::string id;
  std::string org_id;
  std::string client_id;
  std::string relationship;  // "partner", "parent", ...
};

struct Episode {
  std::string id;
  std::string org_id;
  std::string clinic_id;
  Modality modality = Modality::kIndividual;
  std::vector<std::string> client_ids;
  std::vector<std::string> clinician_ids;
  Timestamp started_at;
  std::optional<Timestamp> ended_at;
  std::optional<EndReason> end_reason;
};

struct Goal {
  std::string id;
  std::string org_id;
  std::string episode_id;
  std::string client_id;
  std::string description;
  Timestamp created_at;
};

struct Participant {
  std::string person_id;  // a Client, User or Collateral id
  ParticipantRole role = ParticipantRole::kClient;
  friend bool operator==(const Participant&, const Participant&) = default;
};

struct Session {
  std::string id;
  std::string org_id;
  std::string episode_id;
  int number = 0;  // 1-based within the episode
  Timestamp scheduled_at;
  Attendance attendance = Attendance::kScheduled;
  std::vector<Participant> participants;
  friend bool operator==(const Session&, const Session&) = default;
};

// A single-use, expiring invitation for one respondent to answer instruments for one session.
// The token itself is never stored, only its SHA-256 digest.
struct Checkin {
  std::string id;
  std::string org_id;
  std::string session_id;
  std::string respondent_id;
  Perspective perspective = Perspective::kClient;
  std::vector<std::string> instrument_ids;
  std::string token_digest;
  std::string language;  // the respondent's preferred language; may be changed at the start
  Timestamp created_at;
  Timestamp expires_at;
  std::optional<Timestamp> submitted_at;
  std::string submission_digest;  // digest of the canonical submitted answers
};

// One item answer. A missing answer has no value.
struct ItemAnswer {
  std::string item_id;
  std::optional<double> value;
  friend bool operator==(const ItemAnswer&, const ItemAnswer&) = default;
};

// Derived scores of one response, stored with the scoring version that produced them.
struct Score {
  std::string instrument_id;
  std::string instrument_version;
  std::optional<double> total;  // empty when too many items are missing
  std::map<std::string, std::optional<double>> subscales;
  std::string band;  // empty when the instrument has no bands or the total is missing
  std::vector<std::string> flags;
  friend bool operator==(const Score&, const Score&) = default;
};

struct Response {
  std::string id;
  std::string org_id;
  std::string checkin_id;  // empty when entered by staff or imported
  std::string session_id;
  std::string respondent_id;
  Perspective perspective = Perspective::kClient;
  std::optional<Target> target;
  std::string instrument_id;
  std::vector<ItemAnswer> answers;
  Score score;
  Timestamp submitted_at;
  friend bool operator==(const Response&, const Response&) = default;
};

// One entry of an organisation's audit log (DESIGN.md §3): who did what to which record, when
// and from where. Append-only and hash-chained per organisation (storage/audit_chain.h): each
// event's hash covers its fields and the previous event's hash, so a changed, inserted or
// deleted event is detectable.
struct AuditEvent {
  std::string org_id;
  int64_t seq = 0;  // 1-based position in the organisation's chain; assigned by the store
  Timestamp at;
  std::string actor;      // a user id, "token:<id>", "checkin:<id>" or "system"
  std::string action;     // "read", "create", "update", "delete", "login", "login-failed", ...
  std::string resource;   // what was touched, e.g. "client/ID" or "episode/ID/dashboard"
  std::string address;    // where from: the remote address, or "local" for the console
  std::string detail;     // optional short text or JSON
  std::string prev_hash;  // hex SHA-256 of the previous event; empty for seq 1
  std::string hash;       // hex SHA-256 of this event's canonical encoding (AuditHash)
  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

// Names used in storage, JSON and URLs ("admin", "couple", "no-show", ...), and their parsers.
std::string_view Name(Role v);
std::string_view Name(Modality v);
std::string_view Name(EndReason v);
std::string_view Name(Attendance v);
std::string_view Name(ParticipantRole v);
std::string_view Name(Perspective v);
std::string_view Name(Target v);

Result<Role> ParseRole(std::string_view text);
Result<Modality> ParseModality(std::string_view text);
Result<EndReason> ParseEndReason(std::string_view text);
Result<Attendance> ParseAttendance(std::string_view text);
Result<ParticipantRole> ParseParticipantRole(std::string_view text);
Result<Perspective> ParsePerspective(std::string_view text);
Result<Target> ParseTarget(std::string_view text);

}  // namespace rapport::domain
