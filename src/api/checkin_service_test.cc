// Submitting check-ins through the service on a real SQLite store: many submissions to one
// episode at once must leave the alerts that submitting them one after the other would.
#include "api/checkin_service.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <tuple>

#include "base/id.h"
#include "testing/testing.h"

namespace rapport::api {
namespace {

constexpr int kSessions = 24;

// One organisation, one client's episode with kSessions sessions and a check-in on each.
class World {
 public:
  World(const std::filesystem::path& path, const instruments::Catalog& catalog, const Clock& clock,
        size_t signal_cache_bytes = CheckinService::kDefaultSignalCacheBytes)
      : catalog_(catalog) {
    auto store = storage::OpenStore("sqlite:" + path.string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    service_ = std::make_unique<CheckinService>(*store_, catalog, clock, DefaultRandom(),
                                                signal_cache_bytes);
    const Timestamp now = clock.Now();
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({"org", "Org", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({"client", "org", "C-1", "en", false, now}));
      domain::Episode episode{"episode",  "org", "", domain::Modality::kIndividual,
                              {"client"}, {},    now};
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      for (int number = 1; number <= kSessions; ++number) {
        domain::Session session;
        session.id = "session-" + std::to_string(number);
        session.org_id = "org";
        session.episode_id = "episode";
        session.number = number;
        session.scheduled_at = now - std::chrono::hours(24 * 7 * (kSessions - number));
        session.attendance = domain::Attendance::kAttended;
        session.participants = {{"client", domain::ParticipantRole::kClient}};
        RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
        domain::Checkin checkin;
        checkin.id = "checkin-" + std::to_string(number);
        checkin.org_id = "org";
        checkin.session_id = session.id;
        checkin.respondent_id = "client";
        checkin.instrument_ids = {"rapport-alliance-client", "phq-9"};
        checkin.token_digest = Sha256Hex(Token(number));
        checkin.language = "en";
        checkin.created_at = now;
        checkin.expires_at = now + std::chrono::hours(1);
        RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
      }
      return Status::Ok();
    }));
  }

  // A token per session, the same in every world.
  static std::string Token(int number) {
    return "token-" + std::string(40, 'a') + "-" + std::to_string(number);
  }

  // Answers that rise and fall, so that ruptures, repairs, low alliance and risk come and go.
  std::vector<Submission> Answers(int number) const {
    const double alliance = (number % 5 == 3 || number % 5 == 4) ? 1 : 4;
    const double mood = number % 7 == 0 ? 2 : number % 3;
    std::vector<Submission> out;
    for (const char* id : {"rapport-alliance-client", "phq-9"}) {
      const instruments::Definition* definition = catalog_.Find(id);
      EXPECT_NE(definition, nullptr) << id;
      if (definition == nullptr) continue;
      Submission submission{id, {}};
      for (const instruments::Item& item : definition->items) {
        const bool last = &item == &definition->items.back();
        const double value = out.empty() ? alliance : last ? (number % 6 == 0 ? 1 : 0) : mood;
        submission.answers.push_back({item.id, value});
      }
      out.push_back(std::move(submission));
    }
    return out;
  }

  // Odd sessions open with the signals' inputs (as the HTTP handlers do), even ones without
  // (Submit reads them): both must store the same alerts.
  Status Submit(int number) {
    RAPPORT_ASSIGN_OR_RETURN(
        const CheckinContext context,
        number % 2 == 1 ? service_->OpenToSubmit(Token(number)) : service_->Open(Token(number)));
    return service_->Submit(context, Answers(number), "192.0.2.1").status();
  }

  // The alerts without their random ids, in a fixed order.
  std::vector<domain::Alert> Alerts() {
    std::vector<domain::Alert> out;
    EXPECT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(out, txn.ListAlerts("org", {}));
      return Status::Ok();
    }));
    for (domain::Alert& alert : out) alert.id.clear();
    std::sort(out.begin(), out.end(), [](const domain::Alert& a, const domain::Alert& b) {
      return std::tie(a.dedupe_key, a.session_number, a.status) <
             std::tie(b.dedupe_key, b.session_number, b.status);
    });
    return out;
  }

  // The sessions whose check-ins were stored, in commit order: each submission's audit event
  // is appended in its own transaction, so the audit chain orders them.
  std::vector<int> CommitOrder() {
    std::vector<int> out;
    EXPECT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto events, txn.ListAudit("org", 0, 10 * kSessions));
      for (const domain::AuditEvent& event : events) {
        if (event.action != "create") continue;
        out.push_back(std::stoi(event.actor.substr(event.actor.rfind('-') + 1)));
      }
      return Status::Ok();
    }));
    return out;
  }

  storage::Store& store() { return *store_; }
  CheckinService& service() { return *service_; }

 private:
  const instruments::Catalog& catalog_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<CheckinService> service_;
};

class CheckinServiceTest : public ::testing::Test {
 protected:
  CheckinServiceTest() {
    auto catalog =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(catalog).value();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  instruments::Catalog catalog_;
};

TEST_F(CheckinServiceTest, ConcurrentSubmissionsToOneEpisodeEqualSubmittingThemSerially) {
  World concurrent(dir_.path() / "concurrent.db", catalog_, clock_);
  // Every session's check-in at once from several threads, so that submissions to the
  // episode share group commits and overtake each other's snapshots.
  constexpr int kThreads = 8;
  std::atomic<int> next{1};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int number = next++; number <= kSessions; number = next++) {
        if (!concurrent.Submit(number).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);
  const std::vector<int> order = concurrent.CommitOrder();
  ASSERT_EQ(order.size(), static_cast<size_t>(kSessions));

  World serial(dir_.path() / "serial.db", catalog_, clock_);
  for (const int number : order) ASSERT_OK(serial.Submit(number));
  const auto expected = serial.Alerts();
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(concurrent.Alerts(), expected);
}

// The episode's inputs kept between submissions (alerts/signal_cache.h) change how they are
// read, never the alerts: a course of therapy with staff acknowledging alerts and the
// organisation changing its settings on the way stores the same alerts as reading every
// history from the store, and each submission after the first finds its episode in memory.
TEST_F(CheckinServiceTest, KeepingEpisodesInMemoryLeavesTheSameAlerts) {
  World cached(dir_.path() / "cached.db", catalog_, clock_);
  World uncached(dir_.path() / "uncached.db", catalog_, clock_, /*signal_cache_bytes=*/0);
  // Staff acknowledge the open alerts of the world (a change to the episode the cache holds).
  const auto acknowledge = [&](World& world) {
    ASSERT_OK(world.store().Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListAlerts("org", {}));
      for (const domain::Alert& alert : all) {
        if (alert.status != domain::AlertStatus::kOpen) continue;
        RAPPORT_RETURN_IF_ERROR(
            alerts::AcknowledgeAlert(txn, "org", alert.id, "clinician", clock_.Now()));
      }
      return Status::Ok();
    }));
  };
  // New settings (a change outside the episode, which an entry may be older than).
  const auto change_settings = [&](World& world) {
    ASSERT_OK(world.store().Write([&](storage::WriteTransaction& txn) {
      return alerts::SaveOrgSettings(txn, "org", R"({"safety_text": "Ring the duty line."})",
                                     clock_.Now());
    }));
  };
  // What is kept for the next submission is what the store holds once it is stored.
  uint64_t own_lookups = 0;
  const auto expect_kept_as_stored = [&](int number) {
    ASSERT_OK(cached.store().Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const int64_t revision, txn.GetEpisodeRevision("org", "episode"));
      ++own_lookups;
      const auto kept = cached.service().signal_cache().Find("org", "episode", revision);
      if (!kept) {
        // Only after the settings changed under the entry: the write evaluated again.
        EXPECT_EQ(number, 16);
        return Status::Ok();
      }
      RAPPORT_ASSIGN_OR_RETURN(const alerts::SignalInputs stored,
                               alerts::ReadSignalInputs(txn, catalog_, "org", "session-1"));
      EXPECT_EQ(kept->history.sessions, stored.history.sessions);
      EXPECT_EQ(kept->history.responses, stored.history.responses);
      EXPECT_EQ(kept->alerts, stored.alerts);
      EXPECT_EQ(kept->org->settings_document, stored.org->settings_document);
      EXPECT_EQ(kept->org->stored_models, stored.org->stored_models);
      // The next submission's session, found through the entry, is the store's.
      const std::string next = "session-" + std::to_string(std::min(number + 1, kSessions));
      RAPPORT_ASSIGN_OR_RETURN(const alerts::SignalInputs through_cache,
                               alerts::ReadSignalInputs(txn, catalog_, "org", next, {},
                                                        cached.service().signal_cache()));
      ++own_lookups;
      RAPPORT_ASSIGN_OR_RETURN(const domain::Session session, txn.GetSession("org", next));
      EXPECT_EQ(through_cache.session, session);
      EXPECT_FALSE(session.participants.empty());
      return Status::Ok();
    }));
  };
  for (int number = 1; number <= kSessions; ++number) {
    SCOPED_TRACE("session " + std::to_string(number));
    for (World* world : {&cached, &uncached}) {
      ASSERT_OK(world->Submit(number));
      if (world == &cached) expect_kept_as_stored(number);
      if (number == 9) acknowledge(*world);
      if (number == 15) change_settings(*world);
    }
    ASSERT_EQ(cached.Alerts(), uncached.Alerts());
  }
  EXPECT_FALSE(uncached.Alerts().empty());
  const alerts::SignalCache::Counters counters = cached.service().signal_cache().counters();
  EXPECT_EQ(counters.entries, 1u);
  // The service's lookups (the test's own found all but one): by the odd sessions'
  // OpenToSubmit and the even sessions' Submit alike. Missed at the first session, after the
  // acknowledgement (the episode's revision moved) and after the settings changed: the entry
  // was found, the write saw the new settings and evaluated again without keeping what it
  // read, so the next session read from the store.
  EXPECT_EQ(counters.hits + counters.misses - own_lookups, static_cast<uint64_t>(kSessions));
  EXPECT_EQ(counters.misses - 1, 3u);
  EXPECT_EQ(uncached.service().signal_cache().counters().hits, 0u);
}

}  // namespace
}  // namespace rapport::api
