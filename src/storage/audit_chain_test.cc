#include "storage/audit_chain.h"

#include <algorithm>
#include <vector>

#include "testing/testing.h"

namespace rapport::storage {
namespace {

using domain::AuditEvent;

// A chain of `n` events in organisation "org-1", linked as a store would link them.
std::vector<AuditEvent> Chain(int n) {
  std::vector<AuditEvent> events;
  for (int number = 1; number <= n; ++number) {
    AuditEvent event;
    event.org_id = "org-1";
    event.seq = number;
    event.at = FromUnixMillis(1'790'000'000'000 + number);
    event.actor = "user-" + std::to_string(number % 3);
    event.action = number % 2 == 0 ? "read" : "update";
    event.resource = "client/c" + std::to_string(number);
    event.address = "192.0.2.1";
    event.prev_hash = events.empty() ? "" : events.back().hash;
    event.hash = AuditHash(event);
    events.push_back(std::move(event));
  }
  return events;
}

AuditHead HeadOf(const std::vector<AuditEvent>& events) {
  if (events.empty()) return {"org-1", 0, ""};
  return {"org-1", events.back().seq, events.back().hash};
}

// Values from an independent implementation (Python's hashlib over the encoding written out
// by hand), so the documented format, not just this code, is what is tested.
TEST(AuditHash, MatchesTheDocumentedEncoding) {
  AuditEvent first;
  first.org_id = "o";
  first.seq = 1;
  first.at = FromUnixMillis(0);
  first.actor = "system";
  first.action = "create";
  first.resource = "client/c1";
  first.address = "local";
  EXPECT_EQ(AuditCanonicalEncoding(first),
            "16:rapport-audit-v1,1:o,1:1,1:0,6:system,6:create,9:client/c1,5:local,0:,0:,");
  EXPECT_EQ(AuditHash(first), "ca76003aa9cf43deecf80ac2f7f353ff174caf5c6e92c42b07a7c750ef950afe");

  AuditEvent second;
  second.org_id = "o";
  second.seq = 2;
  second.at = FromUnixMillis(-5);
  second.actor = "user-1";
  second.action = "read";
  second.resource = "episode/e1/dashboard";
  second.address = "203.0.113.7";
  second.detail = "{\"n\":\"\xc3\xa9\"}";
  second.prev_hash = AuditHash(first);
  second.hash = "ignored";
  EXPECT_EQ(AuditHash(second), "6c46724427f33c64cc2a6c33e165d756a21f103d32859c0599d2a49e95bcf5b0");
}

TEST(AuditHash, FieldBoundariesCannotBeMoved) {
  AuditEvent a = Chain(1)[0];
  AuditEvent b = a;
  a.actor = "ab";
  a.action = "c";
  b.actor = "a";
  b.action = "bc";
  EXPECT_NE(AuditHash(a), AuditHash(b));
}

TEST(VerifyAuditChain, ASoundChainVerifies) {
  const auto events = Chain(5);
  const AuditVerification result = VerifyAuditChain("org-1", events, HeadOf(events));
  EXPECT_TRUE(result.ok()) << result.problem->message;
  EXPECT_EQ(result.events, 5);
  EXPECT_EQ(result.head_seq, 5);
  EXPECT_EQ(result.head_hash, events.back().hash);
}

TEST(VerifyAuditChain, AnEmptyChainWithAnEmptyHeadVerifies) {
  const AuditVerification result = VerifyAuditChain("org-1", {}, {"org-1", 0, ""});
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.events, 0);
}

TEST(VerifyAuditChain, NamesAChangedEvent) {
  auto events = Chain(5);
  events[2].resource = "client/someone-else";
  const AuditVerification result = VerifyAuditChain("org-1", events, HeadOf(events));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kChanged);
  EXPECT_EQ(result.problem->first_seq, 3);
  EXPECT_EQ(result.problem->message, "event 3 changed: its hash does not match its contents");
  EXPECT_EQ(result.events, 2);
}

TEST(VerifyAuditChain, NamesDeletedEvents) {
  auto events = Chain(6);
  events.erase(events.begin() + 2, events.begin() + 4);
  const AuditVerification result = VerifyAuditChain("org-1", events, HeadOf(events));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kDeleted);
  EXPECT_EQ(result.problem->first_seq, 3);
  EXPECT_EQ(result.problem->last_seq, 4);
  EXPECT_EQ(result.problem->message, "events 3..4 deleted: the chain goes from event 2 to event 5");

  auto no_first = Chain(3);
  no_first.erase(no_first.begin());
  const AuditVerification first = VerifyAuditChain("org-1", no_first, HeadOf(no_first));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.problem->kind, AuditProblemKind::kDeleted);
  EXPECT_EQ(first.problem->message, "event 1 deleted: the chain goes from its start to event 2");
}

TEST(VerifyAuditChain, NamesARepeatedSequenceNumberAsInserted) {
  auto events = Chain(4);
  AuditEvent forged = events[1];
  forged.action = "read";
  forged.hash = AuditHash(forged);
  events.insert(events.begin() + 2, forged);
  const AuditVerification result = VerifyAuditChain("org-1", events, HeadOf(events));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kInserted);
  EXPECT_EQ(result.problem->first_seq, 2);
}

TEST(VerifyAuditChain, ARewrittenEventBreaksTheNextLink) {
  auto events = Chain(5);
  events[1].actor = "someone-else";
  events[1].hash = AuditHash(events[1]);  // rewritten by someone who knows the algorithm
  const AuditVerification result = VerifyAuditChain("org-1", events, HeadOf(events));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kBrokenLink);
  EXPECT_EQ(result.problem->first_seq, 2);
  EXPECT_EQ(result.problem->last_seq, 3);
  EXPECT_NE(result.problem->message.find("event 3 does not follow event 2"), std::string::npos);
}

TEST(VerifyAuditChain, TheFirstEventMustStartTheChain) {
  auto events = Chain(2);
  events[0].prev_hash = events[1].hash;
  events[0].hash = AuditHash(events[0]);
  const AuditVerification result = VerifyAuditChain("org-1", events, HeadOf(events));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kBrokenLink);
  EXPECT_EQ(result.problem->first_seq, 1);
}

TEST(VerifyAuditChain, TheHeadCatchesDeletionsFromTheEnd) {
  auto events = Chain(5);
  const AuditHead head = HeadOf(events);
  events.resize(3);
  const AuditVerification result = VerifyAuditChain("org-1", events, head);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kDeleted);
  EXPECT_EQ(result.problem->first_seq, 4);
  EXPECT_EQ(result.problem->last_seq, 5);
  EXPECT_EQ(result.problem->message,
            "events 4..5 deleted: the chain ends at 3 but the head records 5");

  const AuditVerification emptied = VerifyAuditChain("org-1", {}, head);
  ASSERT_FALSE(emptied.ok());
  EXPECT_EQ(emptied.problem->message,
            "events 1..5 deleted: the chain is empty but the head records 5");
}

TEST(VerifyAuditChain, TheHeadCatchesEventsAppendedBehindItsBack) {
  auto events = Chain(4);
  const AuditHead head = HeadOf(events);
  const auto longer = Chain(6);
  const AuditVerification result = VerifyAuditChain("org-1", longer, head);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kInserted);
  EXPECT_EQ(result.problem->first_seq, 5);
  EXPECT_EQ(result.problem->last_seq, 6);
}

TEST(VerifyAuditChain, TheHeadCatchesARewrittenLastEvent) {
  auto events = Chain(4);
  const AuditHead head = HeadOf(events);
  events.back().detail = "rewritten";
  events.back().hash = AuditHash(events.back());
  const AuditVerification result = VerifyAuditChain("org-1", events, head);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kChanged);
  EXPECT_EQ(result.problem->first_seq, 4);
}

TEST(VerifyAuditChain, AnEventOfAnotherOrganisationIsInserted) {
  auto events = Chain(3);
  events[2].org_id = "org-2";
  events[2].hash = AuditHash(events[2]);
  const AuditVerification result = VerifyAuditChain("org-1", events, HeadOf(events));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kInserted);
  EXPECT_EQ(result.problem->first_seq, 3);
}

TEST(AuditChainVerifier, ARecordedHashCatchesAConsistentRewrite) {
  const auto original = Chain(6);
  // Someone rewrites event 3 and re-links everything after it, head included.
  auto rewritten = original;
  rewritten[2].actor = "someone-else";
  for (size_t index = 2; index < rewritten.size(); ++index) {
    if (index > 2) rewritten[index].prev_hash = rewritten[index - 1].hash;
    rewritten[index].hash = AuditHash(rewritten[index]);
  }
  EXPECT_TRUE(VerifyAuditChain("org-1", rewritten, HeadOf(rewritten)).ok());

  AuditChainVerifier before("org-1");
  before.ExpectHash(2, original[1].hash);  // recorded before the rewritten event: still sound
  for (const auto& event : rewritten) before.Add(event);
  EXPECT_TRUE(before.Finish(HeadOf(rewritten)).ok());

  AuditChainVerifier after("org-1");
  after.ExpectHash(4, original[3].hash);
  for (const auto& event : rewritten) after.Add(event);
  const AuditVerification result = after.Finish(HeadOf(rewritten));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.problem->kind, AuditProblemKind::kChanged);
  EXPECT_EQ(result.problem->first_seq, 4);

  AuditChainVerifier truncated("org-1");
  truncated.ExpectHash(6, original[5].hash);
  const auto shorter = Chain(4);
  for (const auto& event : shorter) truncated.Add(event);
  const AuditVerification missing = truncated.Finish(HeadOf(shorter));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.problem->kind, AuditProblemKind::kDeleted);
  EXPECT_EQ(missing.problem->message,
            "events 5..6 deleted: event 6 was recorded but the chain ends at 4");
}

TEST(AuditChainVerifier, PiecesGiveTheSameAnswerAsTheWhole) {
  auto events = Chain(7);
  events[5].action = "delete";
  AuditChainVerifier verifier("org-1");
  for (size_t start = 0; start < events.size(); start += 3) {
    for (size_t index = start; index < std::min(events.size(), start + 3); ++index) {
      verifier.Add(events[index]);
    }
  }
  const AuditVerification pieces = verifier.Finish(HeadOf(events));
  const AuditVerification whole = VerifyAuditChain("org-1", events, HeadOf(events));
  ASSERT_FALSE(pieces.ok());
  EXPECT_EQ(pieces.problem->message, whole.problem->message);
  EXPECT_EQ(pieces.events, 5);
}

}  // namespace
}  // namespace rapport::storage
