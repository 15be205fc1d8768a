// The audit chain (DESIGN.md §3, §9): how an organisation's audit events are hashed and linked,
// and how a chain read back from any backend is verified. Nothing here depends on a backend's
// encoding, so a chain exported from one store and imported into another still verifies.
//
// Each organisation has its own chain. Event `seq` (1, 2, 3, ...) carries the hash of event
// `seq - 1` in `prev_hash` (empty for event 1) and its own `hash` = AuditHash(event). The
// store keeps an AuditHead per organisation (the last seq and hash), updated in the same
// transaction as every append, so deleting events from the end is detectable too.
//
// Canonical encoding, version 1 (what AuditHash hashes; an auditor can recompute it with any
// SHA-256 tool). Ten fields, each written as a netstring — its length in bytes as a decimal
// number without leading zeros, ":", the bytes, "," — concatenated with nothing between them:
//
//   1. the tag "rapport-audit-v1"
//   2. org_id
//   3. seq, in decimal
//   4. at, as milliseconds since the Unix epoch (UTC) in decimal, "-" first when negative
//   5. actor   6. action   7. resource   8. address   9. detail
//   10. prev_hash (64 lowercase hex digits; empty for event 1)
//
// Text fields are their UTF-8 bytes exactly as stored (no normalisation). The hash is the
// SHA-256 of those bytes written as 64 lowercase hex digits. For example the event {org_id "o",
// seq 1, at 0, actor "system", action "create", resource "client/c1", address "local", detail
// "", prev_hash ""} is encoded as
//   16:rapport-audit-v1,1:o,1:1,1:0,6:system,6:create,9:client/c1,5:local,0:,0:,
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/types.h"

namespace rapport::storage {

// The end of an organisation's chain as the store records it.
struct AuditHead {
  std::string org_id;
  int64_t seq = 0;   // the last event's seq; 0 when the organisation has no events
  std::string hash;  // the last event's hash; empty when it has none
  friend bool operator==(const AuditHead&, const AuditHead&) = default;
};

// The canonical encoding of `event` described above. Ignores `event.hash`.
std::string AuditCanonicalEncoding(const domain::AuditEvent& event);

// Lowercase hex SHA-256 of AuditCanonicalEncoding(event).
std::string AuditHash(const domain::AuditEvent& event);

enum class AuditProblemKind {
  kChanged,     // an event's hash does not match its contents, or the head's hash
  kInserted,    // an event that cannot belong: a repeated or backward seq, past the head, or
                // of another organisation
  kDeleted,     // events missing: a gap in seq, or the chain ends before the head
  kBrokenLink,  // an event's prev_hash is not the previous event's hash: the previous event was
                // rewritten with a new hash, or this one was inserted in its place
};

std::string_view Name(AuditProblemKind kind);  // "changed", "inserted", "deleted", "broken-link"

// The first problem found in a chain.
struct AuditProblem {
  AuditProblemKind kind = AuditProblemKind::kChanged;
  int64_t first_seq = 0;  // the events concerned, first_seq..last_seq
  int64_t last_seq = 0;
  std::string message;  // e.g. "event 5 changed: its hash does not match its contents"
};

struct AuditVerification {
  std::string org_id;
  int64_t events = 0;     // events checked and found sound (all of them when ok)
  int64_t head_seq = 0;   // when ok: the last event's seq and hash (the head)
  std::string head_hash;  //
  std::optional<AuditProblem> problem;
  bool ok() const { return !problem.has_value(); }
};

// Verifies one organisation's chain fed in seq order, in as many pieces as convenient (e.g.
// pages of ReadTransaction::ListAudit). Stops at the first problem. Not thread safe.
class AuditChainVerifier {
 public:
  explicit AuditChainVerifier(std::string org_id);

  // Checks the next event. Returns false once a problem has been found (this event or an
  // earlier one); later events are then ignored.
  bool Add(const domain::AuditEvent& event);

  // Also requires event `seq` to have `hash`: a head recorded outside the database earlier (an
  // anchor). A history rewritten consistently, head included, fails here (kChanged naming
  // `seq`, or kDeleted when the chain no longer reaches it). Call before the first Add.
  void ExpectHash(int64_t seq, std::string hash);

  // Compares the end of the chain with the store's head and returns the report.
  AuditVerification Finish(const AuditHead& head);

 private:
  void Report(AuditProblemKind kind, int64_t first_seq, int64_t last_seq, std::string message);

  AuditVerification result_;
  int64_t last_seq_ = 0;
  std::string last_hash_;
  std::optional<AuditHead> anchor_;
};

// The whole chain at once: `events` in the order the store lists them (seq order).
AuditVerification VerifyAuditChain(std::string_view org_id,
                                   std::span<const domain::AuditEvent> events,
                                   const AuditHead& head);

}  // namespace rapport::storage
