#include "storage/audit_chain.h"

#include <utility>

#include "base/id.h"

namespace rapport::storage {
namespace {

constexpr std::string_view kTag = "rapport-audit-v1";

// A netstring: "<length>:<bytes>,". The length prefix makes the concatenation unambiguous:
// no choice of field contents can make two different events encode alike.
void AppendField(std::string& out, std::string_view field) {
  out.append(std::to_string(field.size()));
  out.push_back(':');
  out.append(field);
  out.push_back(',');
}

std::string Seq(int64_t seq) { return std::to_string(seq); }

// "event 4" or "events 4..6".
std::string Events(int64_t first, int64_t last) {
  std::string out = first == last ? "event " : "events ";
  out.append(Seq(first));
  if (first != last) out.append("..").append(Seq(last));
  return out;
}

}  // namespace

std::string AuditCanonicalEncoding(const domain::AuditEvent& event) {
  std::string out;
  out.reserve(96 + event.org_id.size() + event.actor.size() + event.action.size() +
              event.resource.size() + event.address.size() + event.detail.size() +
              event.prev_hash.size());
  AppendField(out, kTag);
  AppendField(out, event.org_id);
  AppendField(out, std::to_string(event.seq));
  AppendField(out, std::to_string(ToUnixMillis(event.at)));
  AppendField(out, event.actor);
  AppendField(out, event.action);
  AppendField(out, event.resource);
  AppendField(out, event.address);
  AppendField(out, event.detail);
  AppendField(out, event.prev_hash);
  return out;
}

std::string AuditHash(const domain::AuditEvent& event) {
  return Sha256Hex(AuditCanonicalEncoding(event));
}

std::string_view Name(AuditProblemKind kind) {
  switch (kind) {
    case AuditProblemKind::kChanged: return "changed";
    case AuditProblemKind::kInserted: return "inserted";
    case AuditProblemKind::kDeleted: return "deleted";
    case AuditProblemKind::kBrokenLink: return "broken-link";
  }
  return "unknown";
}

AuditChainVerifier::AuditChainVerifier(std::string org_id) { result_.org_id = std::move(org_id); }

void AuditChainVerifier::Report(AuditProblemKind kind, int64_t first_seq, int64_t last_seq,
                                std::string message) {
  result_.problem = AuditProblem{kind, first_seq, last_seq, std::move(message)};
}

bool AuditChainVerifier::Add(const domain::AuditEvent& event) {
  if (!result_.ok()) return false;
  const int64_t expected = last_seq_ + 1;
  // The checks run in this order so that each tampering is named by its cause: a missing row
  // shows as a gap before the row after it is blamed for not linking to its predecessor.
  if (event.org_id != result_.org_id) {
    Report(
        AuditProblemKind::kInserted, event.seq, event.seq,
        "event " + Seq(event.seq) + " inserted: it belongs to organisation '" + event.org_id + "'");
    return false;
  }
  if (event.seq < expected) {
    Report(AuditProblemKind::kInserted, event.seq, event.seq,
           "event " + Seq(event.seq) + " inserted: it is listed after event " + Seq(last_seq_) +
               " but its sequence number is not greater");
    return false;
  }
  if (event.seq > expected) {
    Report(AuditProblemKind::kDeleted, expected, event.seq - 1,
           Events(expected, event.seq - 1) + " deleted: the chain goes from " +
               (last_seq_ == 0 ? std::string("its start") : "event " + Seq(last_seq_)) +
               " to event " + Seq(event.seq));
    return false;
  }
  if (AuditHash(event) != event.hash) {
    Report(AuditProblemKind::kChanged, event.seq, event.seq,
           "event " + Seq(event.seq) + " changed: its hash does not match its contents");
    return false;
  }
  if (event.prev_hash != last_hash_) {
    if (last_seq_ == 0) {
      Report(AuditProblemKind::kBrokenLink, event.seq, event.seq,
             "event 1 does not start the chain: its prev_hash is not empty (it was rewritten)");
    } else {
      Report(AuditProblemKind::kBrokenLink, last_seq_, event.seq,
             "event " + Seq(event.seq) + " does not follow event " + Seq(last_seq_) +
                 ": its prev_hash is not the hash of event " + Seq(last_seq_) + " (event " +
                 Seq(last_seq_) + " was rewritten, or event " + Seq(event.seq) +
                 " inserted in place of the original)");
    }
    return false;
  }
  if (anchor_ && anchor_->seq == event.seq && anchor_->hash != event.hash) {
    Report(AuditProblemKind::kChanged, event.seq, event.seq,
           "event " + Seq(event.seq) +
               " changed: its hash is not the one recorded for it (the chain was rewritten)");
    return false;
  }
  last_seq_ = event.seq;
  last_hash_ = event.hash;
  ++result_.events;
  return true;
}

void AuditChainVerifier::ExpectHash(int64_t seq, std::string hash) {
  anchor_ = AuditHead{result_.org_id, seq, std::move(hash)};
}

AuditVerification AuditChainVerifier::Finish(const AuditHead& head) {
  if (result_.ok() && anchor_ && anchor_->seq > last_seq_) {
    Report(AuditProblemKind::kDeleted, last_seq_ + 1, anchor_->seq,
           Events(last_seq_ + 1, anchor_->seq) + " deleted: event " + Seq(anchor_->seq) +
               " was recorded but the chain ends at " + Seq(last_seq_));
  }
  if (result_.ok()) {
    if (last_seq_ < head.seq) {
      Report(AuditProblemKind::kDeleted, last_seq_ + 1, head.seq,
             Events(last_seq_ + 1, head.seq) + " deleted: " +
                 (last_seq_ == 0 ? std::string("the chain is empty")
                                 : "the chain ends at " + Seq(last_seq_)) +
                 " but the head records " + Seq(head.seq));
    } else if (last_seq_ > head.seq) {
      Report(AuditProblemKind::kInserted, head.seq + 1, last_seq_,
             Events(head.seq + 1, last_seq_) + " inserted: the chain ends at " + Seq(last_seq_) +
                 " but the head records " + Seq(head.seq));
    } else if (last_hash_ != head.hash) {
      Report(AuditProblemKind::kChanged, last_seq_, last_seq_,
             "event " + Seq(last_seq_) +
                 " changed: its hash is not the one the head records (the event or the head was "
                 "rewritten)");
    }
  }
  if (result_.ok()) {
    result_.head_seq = last_seq_;
    result_.head_hash = last_hash_;
  }
  return result_;
}

AuditVerification VerifyAuditChain(std::string_view org_id,
                                   std::span<const domain::AuditEvent> events,
                                   const AuditHead& head) {
  AuditChainVerifier verifier{std::string(org_id)};
  for (const domain::AuditEvent& event : events) {
    if (!verifier.Add(event)) break;
  }
  return verifier.Finish(head);
}

}  // namespace rapport::storage
