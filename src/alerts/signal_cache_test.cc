#include "alerts/signal_cache.h"

#include "testing/testing.h"

namespace rapport::alerts {
namespace {

Timestamp At(int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

std::shared_ptr<const OrgSignalInputs> Org(const std::string& settings = "{}") {
  auto org = std::make_shared<OrgSignalInputs>();
  org->settings_document = settings;
  org->etr_instrument_ids = {"phq-9"};
  org->stored_models = {storage::FittedModel{}, std::nullopt};
  return org;
}

// An episode of `sessions` sessions, each with a client's two responses of nine answers, and
// an alert per three sessions: every field set, none to its default.
SignalInputs Episode(const std::string& episode, int64_t revision, int sessions = 1,
                     std::shared_ptr<const OrgSignalInputs> org = Org()) {
  SignalInputs inputs;
  inputs.org_id = "org-" + std::string(18, 'o');
  inputs.session.episode_id = episode;
  inputs.episode_revision = revision;
  inputs.org = std::move(org);
  const std::string client = "client-" + std::string(15, 'c');
  for (int n = 1; n <= sessions; ++n) {
    domain::Session session;
    session.id = "session-" + std::to_string(n) + std::string(12, 's');
    session.org_id = inputs.org_id;
    session.episode_id = episode;
    session.number = n;
    session.scheduled_at = At(1'700'000'000'000 + n * 604'800'000LL);
    session.attendance = n % 2 == 0 ? domain::Attendance::kAttended : domain::Attendance::kNoShow;
    session.participants = {
        {client, domain::ParticipantRole::kPartner},
        {"clinician-" + std::string(12, 'k'), domain::ParticipantRole::kClinician}};
    inputs.history.sessions.push_back(session);
    for (const char* instrument : {"rapport-alliance-client", "phq-9"}) {
      domain::Response response;
      response.id = "response-" + std::to_string(n) + instrument;
      response.org_id = inputs.org_id;
      response.checkin_id = "checkin-" + std::to_string(n) + std::string(12, 'h');
      response.session_id = session.id;
      response.respondent_id = client;
      response.perspective = domain::Perspective::kCollateral;
      response.target = n % 2 == 0 ? std::optional(domain::Target::kMembers) : std::nullopt;
      response.instrument_id = instrument;
      for (int item = 1; item <= 9; ++item) {
        response.answers.push_back(
            {"item-" + std::to_string(item),
             item == 4 ? std::nullopt : std::optional<double>(item * 0.5 + n)});
      }
      response.score.instrument_id = instrument;
      response.score.instrument_version = "1.2.0";
      response.score.total = n == 3 ? std::nullopt : std::optional<double>(-2.75 * n);
      response.score.subscales = {{"bond", 3.5}, {"goals", std::nullopt}, {"tasks", 1e-300}};
      response.score.band = "moderate";
      response.score.flags = {"item-9-urgent", "low-alliance"};
      response.submitted_at = At(1'700'000'000'123 + n * 604'800'000LL);
      inputs.history.responses.push_back(std::move(response));
    }
    if (n % 3 != 0) continue;
    domain::Alert alert;
    alert.id = "alert-" + std::to_string(n) + std::string(16, 'a');
    alert.org_id = inputs.org_id;
    alert.episode_id = episode;
    alert.client_id = client;
    alert.kind = "rupture";
    alert.dedupe_key = "rupture:" + client + ":" + std::to_string(n);
    alert.severity = domain::AlertSeverity::kPrompt;
    alert.status = domain::AlertStatus::kAcknowledged;
    alert.session_number = n - 1;
    alert.last_session_number = n;
    alert.occurrences = 3;
    alert.evidence_json = R"({"rule":"a drop of 2 or more","drop":2.5,"note":"\"quoted\"\u00e9"})";
    alert.created_at = At(-5);  // before the epoch: negative times survive too
    alert.updated_at = At(1'700'000'999'000);
    alert.acknowledged_by = "supervisor-" + std::string(11, 'u');
    alert.acknowledged_at = At(1'700'001'000'000);
    alert.resolved_by = "rapport";
    alert.resolved_at = At(1'700'002'000'000);
    alert.resolution = "repaired";
    inputs.alerts.push_back(std::move(alert));
  }
  return inputs;
}

void ExpectSameEpisode(const SignalInputs& a, const SignalInputs& b) {
  EXPECT_EQ(a.org_id, b.org_id);
  EXPECT_EQ(a.history.sessions, b.history.sessions);
  EXPECT_EQ(a.history.responses, b.history.responses);
  EXPECT_EQ(a.alerts, b.alerts);
}

TEST(SignalCacheEncoding, RoundTripsEveryField) {
  const SignalInputs inputs = Episode("episode", 4, 12);
  const std::string encoded = EncodeEpisode(inputs);
  const std::optional<SignalInputs> decoded = DecodeEpisode(encoded, inputs.org);
  ASSERT_TRUE(decoded);
  ExpectSameEpisode(*decoded, inputs);
  EXPECT_EQ(decoded->org, inputs.org);
  // The session asked about is the caller's, not the entry's.
  EXPECT_EQ(decoded->session, domain::Session{});

  const SignalInputs empty = Episode("episode", 1, 0);
  const std::optional<SignalInputs> decoded_empty = DecodeEpisode(EncodeEpisode(empty), nullptr);
  ASSERT_TRUE(decoded_empty);
  ExpectSameEpisode(*decoded_empty, empty);
}

TEST(SignalCacheEncoding, IsCompact) {
  // Twelve sessions with 24 responses of nine answers and four alerts: about 230 bytes a
  // response, where the objects take well over a kilobyte.
  const SignalInputs inputs = Episode("episode", 4, 12);
  EXPECT_LT(EncodeEpisode(inputs).size(), size_t{24 * 230 + 12 * 60 + 4 * 250});
  // With the entry's bookkeeping and its sessions in the index by session (56 bytes each).
  EXPECT_LT(SignalCache::EntryBytes(inputs), size_t{(8 << 10) + 12 * 56});
}

TEST(SignalCacheEncoding, RefusesWhatIsNotAnEncoding) {
  const SignalInputs inputs = Episode("episode", 4, 3);
  const std::string encoded = EncodeEpisode(inputs);
  for (size_t size = 0; size < encoded.size(); ++size) {
    SCOPED_TRACE("the first " + std::to_string(size) + " bytes");
    EXPECT_FALSE(DecodeEpisode(encoded.substr(0, size), inputs.org));
  }
  EXPECT_FALSE(DecodeEpisode(encoded + '\0', inputs.org));
  // Any byte changed decodes to something or nothing, never past the text (ASan watches).
  for (size_t at = 0; at < encoded.size(); ++at) {
    for (const unsigned char to : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string changed = encoded;
      changed[at] = static_cast<char>(to);
      (void)DecodeEpisode(changed, inputs.org);
    }
  }
  EXPECT_FALSE(DecodeEpisode("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", inputs.org));
}

TEST(SignalCache, FindsAnEpisodeOnlyAtTheRevisionKept) {
  SignalCache cache(1 << 20);
  const SignalInputs inputs = Episode("episode", 7, 2);
  cache.Put(inputs);
  const std::optional<SignalInputs> found = cache.Find(inputs.org_id, "episode", 7);
  ASSERT_TRUE(found);
  ExpectSameEpisode(*found, inputs);
  EXPECT_EQ(found->episode_revision, 7);
  EXPECT_EQ(found->org, inputs.org);
  EXPECT_FALSE(cache.Find(inputs.org_id, "episode", 6));
  EXPECT_FALSE(cache.Find(inputs.org_id, "episode", 8));
  EXPECT_FALSE(cache.Find("other-org", "episode", 7));
  EXPECT_FALSE(cache.Find(inputs.org_id, "other-episode", 7));
  const SignalCache::Counters counters = cache.counters();
  EXPECT_EQ(counters.hits, 1u);
  EXPECT_EQ(counters.misses, 4u);
  EXPECT_EQ(counters.entries, 1u);
}

TEST(SignalCache, KeepsTheLaterRevisionWhicheverArrivesLast) {
  SignalCache cache(1 << 20);
  const auto org = Org();
  cache.Put(Episode("episode", 9, 3, org));
  cache.Put(Episode("episode", 8, 2, org));  // a slower submission's, from before
  const std::string org_id = Episode("", 0, 0).org_id;
  ASSERT_TRUE(cache.Find(org_id, "episode", 9));
  EXPECT_EQ(cache.Find(org_id, "episode", 9)->history.sessions.size(), 3u);
  EXPECT_FALSE(cache.Find(org_id, "episode", 8));
  cache.Put(Episode("episode", 10, 4, org));
  EXPECT_TRUE(cache.Find(org_id, "episode", 10));
  EXPECT_EQ(cache.counters().entries, 1u);
  EXPECT_EQ(cache.counters().bytes,
            SignalCache::EntryBytes(Episode("episode", 10, 4)) + ApproximateBytes(*org));
}

TEST(SignalCache, SharesTheOrganisationsPartBetweenEntries) {
  SignalCache cache(1 << 20);
  // Equal parts, read separately, are kept once.
  cache.Put(Episode("a", 1, 1, Org()));
  cache.Put(Episode("b", 1, 1, Org()));
  const std::string org_id = Episode("", 0, 0).org_id;
  const auto a = cache.Find(org_id, "a", 1);
  const auto b = cache.Find(org_id, "b", 1);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->org, b->org);
  EXPECT_EQ(cache.counters().bytes, SignalCache::EntryBytes(Episode("a", 1, 1)) +
                                        SignalCache::EntryBytes(Episode("b", 1, 1)) +
                                        ApproximateBytes(*a->org));
  // New settings: later entries share the new part; an older entry keeps the part it was
  // read with (its submission's write checks it, IsCurrent).
  const auto changed = Org(R"({"safety_text": "Ring the duty line."})");
  cache.Put(Episode("c", 1, 1, changed));
  EXPECT_EQ(cache.Find(org_id, "c", 1)->org, changed);
  EXPECT_EQ(cache.Find(org_id, "a", 1)->org, a->org);
  cache.Put(Episode("d", 1, 1, Org(R"({"safety_text": "Ring the duty line."})")));
  EXPECT_EQ(cache.Find(org_id, "d", 1)->org, changed);
}

TEST(SignalCache, StaysWithinItsBytes) {
  const auto org = Org();
  // Names of one length, so that every entry takes the same bytes.
  const size_t entry = SignalCache::EntryBytes(Episode("episode-100", 1, 12));
  const size_t capacity = 10 * entry + ApproximateBytes(*org);
  SignalCache cache(capacity);
  for (int i = 100; i < 200; ++i) cache.Put(Episode("episode-" + std::to_string(i), 1, 12, org));
  const SignalCache::Counters counters = cache.counters();
  EXPECT_EQ(counters.entries, 10u);
  EXPECT_LE(counters.bytes, capacity);
  // The newest entry is always kept; the others that stayed are a random few.
  const std::string org_id = Episode("", 0, 0).org_id;
  EXPECT_TRUE(cache.Find(org_id, "episode-199", 1));
  int kept = 0;
  for (int i = 100; i < 200; ++i) {
    kept += cache.Find(org_id, "episode-" + std::to_string(i), 1).has_value();
  }
  EXPECT_EQ(kept, 10);
}

// A session's episode is known while an entry holds the session; through evictions, which move
// entries about, it names the episode that holds it, and nothing once that is evicted.
TEST(SignalCache, KnowsTheEpisodeOfEachSessionItHolds) {
  const auto org = Org();
  const auto episode = [&](int i) {
    SignalInputs inputs = Episode("episode-" + std::to_string(i), 1, 3, org);
    for (domain::Session& session : inputs.history.sessions) {
      session.id = inputs.session.episode_id + "/" + session.id;
    }
    return inputs;
  };
  SignalCache cache(10 * SignalCache::EntryBytes(episode(100)) + ApproximateBytes(*org));
  const std::string org_id = episode(100).org_id;
  for (int i = 100; i < 200; ++i) {
    cache.Put(episode(i));
    for (int j = 100; j <= i; ++j) {
      const SignalInputs earlier = episode(j);
      const std::string& id = earlier.session.episode_id;
      const bool kept = cache.Find(org_id, id, 1).has_value();
      for (const domain::Session& session : earlier.history.sessions) {
        EXPECT_EQ(cache.EpisodeOfSession(org_id, session.id),
                  kept ? std::optional(id) : std::nullopt)
            << "after episode " << i << ", " << session.id;
      }
    }
  }
  EXPECT_LT(cache.counters().entries, 100u);
  EXPECT_FALSE(cache.EpisodeOfSession("other-org", episode(199).history.sessions[0].id));
  EXPECT_FALSE(cache.EpisodeOfSession(org_id, "no-such-session"));
}

TEST(SignalCache, KeepsNothingLargerThanItself) {
  SignalCache none(0);
  const SignalInputs inputs = Episode("episode", 1);
  none.Put(inputs);
  EXPECT_FALSE(none.Find(inputs.org_id, "episode", 1));
  EXPECT_EQ(none.counters().entries, 0u);

  const auto org = Org();
  SignalCache small(SignalCache::EntryBytes(Episode("a", 1, 1)) + ApproximateBytes(*org) + 1);
  small.Put(Episode("a", 1, 1, org));
  small.Put(Episode("b", 1, 50, org));  // too big: not kept, and evicts nothing
  EXPECT_TRUE(small.Find(inputs.org_id, "a", 1));
  EXPECT_FALSE(small.Find(inputs.org_id, "b", 1));
}

}  // namespace
}  // namespace rapport::alerts
