// One storage conformance suite, parameterised over the backends (STYLE.md rule 11).
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "base/id.h"
#include "storage/postgres/db.h"
#include "storage/postgres/test_cluster.h"
#include "storage/store.h"
#include "testing/testing.h"

namespace rapport::storage {
namespace {

using namespace std::chrono_literals;

struct Backend {
  std::string name;
  // Returns the URL of a fresh, empty database (inside `dir` when it is a file).
  std::function<Result<std::string>(const std::filesystem::path& dir)> make_url;
  // Removes the database after the test, when it does not live in `dir`.
  std::function<Status(const std::string& url)> drop = nullptr;
};

// Names the backend in test listings (gtest prints parameters' bytes otherwise).
void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  StoreConformance() {
    auto url = GetParam().make_url(dir_.path());
    if (!url.ok()) {
      setup_error_ =
          "no database for the " + GetParam().name + " backend: " + url.status().ToString();
      return;
    }
    url_ = std::move(url).value();
    auto store = OpenStore(url_);
    if (store.ok()) {
      store_ = std::move(store).value();
    } else {
      setup_error_ = store.status().ToString();
    }
  }

  ~StoreConformance() override {
    store_.reset();
    if (!url_.empty() && GetParam().drop) EXPECT_OK(GetParam().drop(url_));
  }

  // A backend without a database fails every test, by name (never a silent skip).
  void SetUp() override { ASSERT_NE(store_, nullptr) << setup_error_; }

  // A minimal organisation → client → episode → session world; returns the session.
  domain::Session MakeWorld(const std::string& org_id) {
    const Timestamp now = clock_.Now();
    domain::Session session;
    EXPECT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({org_id, "Org " + org_id, now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic-" + org_id, org_id, "Main"}));
      domain::User clinician{"user-" + org_id,
                             org_id,
                             "clinic-" + org_id,
                             org_id + "@example.org",
                             "Dr " + org_id,
                             domain::Role::kClinician,
                             "hash",
                             false,
                             now};
      RAPPORT_RETURN_IF_ERROR(txn.PutUser(clinician));
      RAPPORT_RETURN_IF_ERROR(
          txn.PutClient({"client-" + org_id, org_id, "C-001", "en", true, now}));
      domain::Episode episode;
      episode.id = "episode-" + org_id;
      episode.org_id = org_id;
      episode.clinic_id = "clinic-" + org_id;
      episode.client_ids = {"client-" + org_id};
      episode.clinician_ids = {clinician.id};
      episode.started_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      session.id = "session-" + org_id;
      session.org_id = org_id;
      session.episode_id = episode.id;
      session.number = 1;
      session.scheduled_at = now;
      session.attendance = domain::Attendance::kAttended;
      session.participants = {{"client-" + org_id, domain::ParticipantRole::kClient},
                              {clinician.id, domain::ParticipantRole::kClinician}};
      return txn.PutSession(session);
    }));
    return session;
  }

  domain::Checkin MakeCheckin(const domain::Session& session, const std::string& token) {
    domain::Checkin checkin;
    checkin.id = NewId(DefaultRandom());
    checkin.org_id = session.org_id;
    checkin.session_id = session.id;
    checkin.respondent_id = "client-" + session.org_id;
    checkin.instrument_ids = {"rapport-alliance-client", "phq-9"};
    checkin.token_digest = Sha256Hex(token);
    checkin.language = "en";
    checkin.created_at = clock_.Now();
    checkin.expires_at = clock_.Now() + std::chrono::hours(72);
    return checkin;
  }

  static domain::Response MakeResponse(const domain::Checkin& checkin, const std::string& id) {
    domain::Response response;
    response.id = id;
    response.org_id = checkin.org_id;
    response.checkin_id = checkin.id;
    response.session_id = checkin.session_id;
    response.respondent_id = checkin.respondent_id;
    response.instrument_id = "phq-9";
    response.answers = {{"1", 2.0}, {"2", std::nullopt}, {"9", 1.0}};
    response.score = {"phq-9",    "1",     13.5, {{"sub", 1.25}, {"empty", std::nullopt}},
                      "moderate", {"risk"}};
    response.submitted_at = FromUnixMillis(1'790'000'000'000);
    return response;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::string url_;
  std::string setup_error_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformance, FreshDatabaseIsAtTheLatestSchema) {
  const auto version = store_->SchemaVersion();
  ASSERT_OK(version);
  EXPECT_GE(*version, 1);
}

TEST_P(StoreConformance, RoundTripsTheDomain) {
  const domain::Session session = MakeWorld("org-a");
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Organization org, txn.GetOrganization("org-a"));
    EXPECT_EQ(org.name, "Org org-a");
    RAPPORT_ASSIGN_OR_RETURN(const domain::User user, txn.GetUserByEmail("org-a@example.org"));
    EXPECT_EQ(user.role, domain::Role::kClinician);
    RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                             txn.GetEpisode("org-a", "episode-org-a"));
    EXPECT_EQ(episode.client_ids, std::vector<std::string>{"client-org-a"});
    EXPECT_EQ(episode.clinician_ids, std::vector<std::string>{"user-org-a"});
    EXPECT_FALSE(episode.ended_at.has_value());
    RAPPORT_ASSIGN_OR_RETURN(const domain::Session stored, txn.GetSession("org-a", session.id));
    EXPECT_EQ(stored.number, 1);
    EXPECT_EQ(stored.attendance, domain::Attendance::kAttended);
    EXPECT_EQ(stored.participants.size(), 2u);
    EXPECT_EQ(stored.participants[1].role, domain::ParticipantRole::kClinician);
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, EveryQueryIsScopedByOrganisation) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    EXPECT_EQ(txn.GetClient("org-b", "client-org-a").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(txn.GetSession("org-a", "session-org-b").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(txn.GetEpisode("org-b", "episode-org-a").status().code(), StatusCode::kNotFound);
    RAPPORT_ASSIGN_OR_RETURN(const auto clients, txn.ListClients("org-a"));
    EXPECT_EQ(clients.size(), 1u);
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, DuplicateIdsAndEmailsConflict) {
  MakeWorld("org-a");
  const Status status = store_->Write([&](WriteTransaction& txn) {
    return txn.PutClient({"client-org-a", "org-a", "C-002", "en", false, clock_.Now()});
  });
  EXPECT_EQ(status.code(), StatusCode::kConflict);
  const Status email = store_->Write([&](WriteTransaction& txn) {
    return txn.PutUser({"other", "org-a", "", "org-a@example.org", "X", domain::Role::kAdmin, "h",
                        false, clock_.Now()});
  });
  EXPECT_EQ(email.code(), StatusCode::kConflict);
}

TEST_P(StoreConformance, CheckinsAreFoundByTokenDigestAndSubmittedOnce) {
  const domain::Session session = MakeWorld("org-a");
  const domain::Checkin checkin = MakeCheckin(session, "secret-token");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutCheckin(checkin); }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Checkin found,
                             txn.GetCheckinByTokenDigest(Sha256Hex("secret-token")));
    EXPECT_EQ(found.id, checkin.id);
    EXPECT_EQ(found.instrument_ids, checkin.instrument_ids);
    EXPECT_EQ(found.expires_at, checkin.expires_at);
    EXPECT_FALSE(found.submitted_at.has_value());
    EXPECT_EQ(txn.GetCheckinByTokenDigest(Sha256Hex("other")).status().code(),
              StatusCode::kNotFound);
    return Status::Ok();
  }));
  const auto mark = [&] {
    return store_->Write([&](WriteTransaction& txn) {
      return txn.MarkCheckinSubmitted("org-a", checkin.id, clock_.Now(), "digest");
    });
  };
  ASSERT_OK(mark());
  EXPECT_EQ(mark().code(), StatusCode::kConflict);
}

TEST_P(StoreConformance, ResponsesKeepItemAnswersAndScores) {
  const domain::Session session = MakeWorld("org-a");
  const domain::Checkin checkin = MakeCheckin(session, "t");
  const domain::Response response = MakeResponse(checkin, "response-1");
  // Another respondent's check-in on the same session (a couple's partner, say): its response
  // is not the first one's.
  const domain::Checkin partner = MakeCheckin(session, "t-partner");
  const domain::Response partners = MakeResponse(partner, "response-2");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
    RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(partner));
    RAPPORT_RETURN_IF_ERROR(txn.PutResponse(partners));
    return txn.PutResponse(response);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto stored, txn.ListResponsesForCheckin("org-a", checkin.id));
    EXPECT_EQ(stored.size(), 1u);
    if (stored.empty()) return Status::Ok();
    EXPECT_EQ(stored[0].answers, response.answers);
    EXPECT_EQ(stored[0].score, response.score);
    EXPECT_EQ(stored[0].submitted_at, response.submitted_at);
    EXPECT_EQ(stored[0].id, "response-1");
    RAPPORT_ASSIGN_OR_RETURN(const auto partner_stored,
                             txn.ListResponsesForCheckin("org-a", partner.id));
    EXPECT_EQ(partner_stored.size(), 1u);
    if (!partner_stored.empty()) {
      EXPECT_EQ(partner_stored[0].id, "response-2");
    }
    RAPPORT_ASSIGN_OR_RETURN(const auto by_episode,
                             txn.ListResponsesForEpisode("org-a", session.episode_id));
    EXPECT_EQ(by_episode.size(), 2u);
    RAPPORT_ASSIGN_OR_RETURN(const auto none, txn.ListResponsesForCheckin("org-b", checkin.id));
    EXPECT_TRUE(none.empty());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, ResponsesOfAnEpisodeInSessionThenSubmissionOrder) {
  const domain::Session first = MakeWorld("org-a");
  MakeWorld("org-b");
  domain::Session second = first;
  second.id = "session-2";
  second.number = 2;
  const domain::Checkin early = MakeCheckin(first, "early");
  const domain::Checkin late = MakeCheckin(second, "late");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutSession(second));
    RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(early));
    RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(late));
    // Stored out of order: the later session first, and within a session a later submission
    // before an earlier one and two at the same time.
    domain::Response r = MakeResponse(late, "z-late");
    RAPPORT_RETURN_IF_ERROR(txn.PutResponse(r));
    r = MakeResponse(early, "y-second");
    r.submitted_at += 1min;
    RAPPORT_RETURN_IF_ERROR(txn.PutResponse(r));
    RAPPORT_RETURN_IF_ERROR(txn.PutResponse(MakeResponse(early, "x-first")));
    return txn.PutResponse(MakeResponse(early, "a-also-first"));
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto responses,
                             txn.ListResponsesForEpisode("org-a", "episode-org-a"));
    std::vector<std::string> listed;
    for (const domain::Response& response : responses) listed.push_back(response.id);
    EXPECT_EQ(listed, (std::vector<std::string>{"x-first", "a-also-first", "y-second", "z-late"}));
    RAPPORT_ASSIGN_OR_RETURN(const auto other,
                             txn.ListResponsesForEpisode("org-b", "episode-org-a"));
    EXPECT_TRUE(other.empty());
    RAPPORT_ASSIGN_OR_RETURN(const auto none,
                             txn.ListResponsesForEpisode("org-b", "episode-org-b"));
    EXPECT_TRUE(none.empty());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, AFailingTransactionRollsBackAloneInABatch) {
  const domain::Session session = MakeWorld("org-a");
  const domain::Checkin checkin = MakeCheckin(session, "t");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutCheckin(checkin); }));
  constexpr int kWriters = 32;
  std::vector<std::thread> threads;
  std::atomic<int> ok_count{0};
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      const Status status = store_->Write([&](WriteTransaction& txn) -> Status {
        RAPPORT_RETURN_IF_ERROR(txn.PutResponse(MakeResponse(checkin, "r" + std::to_string(i))));
        // Every fourth writer fails after writing: its row must not survive.
        if (i % 4 == 0) return InvalidArgument("deliberate failure");
        return Status::Ok();
      });
      if (status.ok()) ++ok_count;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok_count.load(), kWriters - kWriters / 4);
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const int64_t count, txn.CountResponses("org-a"));
    EXPECT_EQ(count, ok_count.load());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, AcknowledgedWritesSurviveReopening) {
  MakeWorld("org-a");
  store_->Close();
  EXPECT_EQ(store_->Write([](WriteTransaction&) { return Status::Ok(); }).code(),
            StatusCode::kUnavailable);
  store_.reset();
  auto reopened = OpenStore(url_, /*migrate=*/false);
  ASSERT_OK(reopened);
  ASSERT_OK((*reopened)->Read([&](ReadTransaction& txn) -> Status {
    return txn.GetClient("org-a", "client-org-a").status();
  }));
}

TEST_P(StoreConformance, ExceptionsInsideWorkBecomeInternalErrors) {
  const Status status =
      store_->Write([](WriteTransaction&) -> Status { throw std::runtime_error("boom"); });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_OK(store_->Write([](WriteTransaction&) { return Status::Ok(); }));
}

TEST_P(StoreConformance, AsynchronousWritesReportEachOutcomeOnceDurable) {
  MakeWorld("org-a");
  constexpr int kWrites = 40;
  std::mutex mutex;
  std::condition_variable reported_cv;
  int reported = 0;
  std::vector<std::optional<Status>> outcomes(kWrites);
  const auto client_id = [](int i) { return "async-" + std::to_string(i); };
  const auto refused = [](int i) { return i % 7 == 3; };
  for (int i = 0; i < kWrites; ++i) {
    store_->WriteAsync(
        [&, i](WriteTransaction& txn) -> Status {
          RAPPORT_RETURN_IF_ERROR(
              txn.PutClient({client_id(i), "org-a", "A-" + std::to_string(i), "en", true, {}}));
          if (refused(i)) return InvalidArgument("refused after writing");
          return Status::Ok();
        },
        [&, i](Status status) {
          std::lock_guard lock(mutex);
          outcomes[i] = std::move(status);
          ++reported;
          reported_cv.notify_all();
        });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(
        reported_cv.wait_for(lock, std::chrono::seconds(60), [&] { return reported == kWrites; }));
  }
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(outcomes[i].has_value()) << i;
    EXPECT_EQ(outcomes[i]->code(), refused(i) ? StatusCode::kInvalidArgument : StatusCode::kOk)
        << i;
  }
  // What was acknowledged is stored, and a refused write is rolled back alone, also after the
  // database is opened again.
  store_->Close();
  bool closed_reported = false;
  store_->WriteAsync([](WriteTransaction&) { return Status::Ok(); },
                     [&](Status status) {
                       EXPECT_EQ(status.code(), StatusCode::kUnavailable);
                       closed_reported = true;
                     });
  EXPECT_TRUE(closed_reported) << "a closed store reports at once, on the caller's thread";
  store_.reset();
  auto reopened = OpenStore(url_, /*migrate=*/false);
  ASSERT_OK(reopened);
  ASSERT_OK((*reopened)->Read([&](ReadTransaction& txn) -> Status {
    for (int i = 0; i < kWrites; ++i) {
      EXPECT_EQ(txn.GetClient("org-a", client_id(i)).status().code(),
                refused(i) ? StatusCode::kNotFound : StatusCode::kOk)
          << i;
    }
    return Status::Ok();
  }));
}

domain::Alert MakeAlert(const domain::Session& session, const std::string& id,
                        const std::string& key, Timestamp now) {
  domain::Alert alert;
  alert.id = id;
  alert.org_id = session.org_id;
  alert.episode_id = session.episode_id;
  alert.client_id = "client-" + session.org_id;
  alert.kind = "rupture";
  alert.dedupe_key = key;
  alert.severity = domain::AlertSeverity::kWarning;
  alert.session_number = 4;
  alert.last_session_number = 4;
  alert.evidence_json = R"({"drop":5,"level":38})";
  alert.created_at = alert.updated_at = now;
  return alert;
}

TEST_P(StoreConformance, AlertsRoundTripThroughTheirLifecycle) {
  const domain::Session session = MakeWorld("org-a");
  const Timestamp now = clock_.Now();
  domain::Alert alert = MakeAlert(session, "alert-1", "rupture/c/s4", now);
  domain::Alert urgent = MakeAlert(session, "alert-2", "risk-item/c/phq-9", now);
  urgent.kind = "risk-item";
  urgent.severity = domain::AlertSeverity::kUrgent;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutAlert(alert));
    return txn.PutAlert(urgent);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Alert read, txn.GetAlert("org-a", "alert-1"));
    EXPECT_EQ(read, alert);
    RAPPORT_ASSIGN_OR_RETURN(const auto all, txn.ListAlerts("org-a", {}));
    EXPECT_EQ(all.size(), 2u);
    if (all.size() == 2u) {
      EXPECT_EQ(all[0].id, "alert-2") << "urgent alerts come first";
    }
    return Status::Ok();
  }));
  // Carried on to a later session, still open: everything but its status and keys changes.
  alert.client_id = "client-moved";
  alert.kind = "rupture-carried";
  alert.severity = domain::AlertSeverity::kUrgent;
  alert.session_number += 1;
  alert.last_session_number += 2;
  alert.occurrences += 1;
  alert.evidence_json = R"({"session":6})";
  alert.created_at = now - 1min;
  alert.updated_at = now + 30s;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.UpdateAlert(alert); }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Alert read, txn.GetAlert("org-a", "alert-1"));
    EXPECT_EQ(read, alert);
    return Status::Ok();
  }));
  alert.status = domain::AlertStatus::kAcknowledged;
  alert.acknowledged_by = "user-org-a";
  alert.acknowledged_at = now + 1min;
  alert.status = domain::AlertStatus::kResolved;
  alert.resolved_by = "user-org-a";
  alert.resolved_at = now + 2min;
  alert.resolution = "staff";
  alert.updated_at = now + 2min;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.UpdateAlert(alert); }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Alert read, txn.GetAlert("org-a", "alert-1"));
    EXPECT_EQ(read, alert);
    AlertQuery active;
    active.active_only = true;
    RAPPORT_ASSIGN_OR_RETURN(const auto open, txn.ListAlerts("org-a", active));
    EXPECT_EQ(open.size(), 1u);
    AlertQuery resolved;
    resolved.status = domain::AlertStatus::kResolved;
    resolved.episode_id = session.episode_id;
    RAPPORT_ASSIGN_OR_RETURN(const auto closed, txn.ListAlerts("org-a", resolved));
    EXPECT_EQ(closed.size(), 1u);
    EXPECT_EQ(txn.GetAlert("org-a", "nope").status().code(), StatusCode::kNotFound);
    return Status::Ok();
  }));
  domain::Alert missing = alert;
  missing.id = "nope";
  EXPECT_EQ(store_->Write([&](WriteTransaction& txn) { return txn.UpdateAlert(missing); }).code(),
            StatusCode::kNotFound);
}

TEST_P(StoreConformance, AtMostOneActiveAlertPerKey) {
  const domain::Session session = MakeWorld("org-a");
  const Timestamp now = clock_.Now();
  domain::Alert first = MakeAlert(session, "alert-1", "low-alliance/c/x", now);
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutAlert(first); }));
  const domain::Alert duplicate = MakeAlert(session, "alert-2", "low-alliance/c/x", now);
  EXPECT_EQ(store_->Write([&](WriteTransaction& txn) { return txn.PutAlert(duplicate); }).code(),
            StatusCode::kConflict);
  first.status = domain::AlertStatus::kResolved;
  first.resolved_by = "rapport";
  first.resolved_at = now;
  first.resolution = "condition-cleared";
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.UpdateAlert(first); }));
  EXPECT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutAlert(duplicate); }));
}

// The revision moves with every change to what an episode's signals read — its sessions,
// their participants, its responses, its alerts — and with nothing else.
TEST_P(StoreConformance, AnEpisodesRevisionMovesWithItsSessionsResponsesAndAlerts) {
  domain::Session session = MakeWorld("org-a");
  MakeWorld("org-b");
  const auto revision = [&](const std::string& org_id, const std::string& episode_id) {
    int64_t out = -1;
    EXPECT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(out, txn.GetEpisodeRevision(org_id, episode_id));
      return Status::Ok();
    }));
    return out;
  };
  // Whether `change` moved episode-org-a's revision; episode-org-b's must never move.
  const auto moves = [&](const std::string& what,
                         const std::function<Status(WriteTransaction&)>& change) {
    SCOPED_TRACE(what);
    const int64_t before = revision("org-a", "episode-org-a");
    const int64_t other = revision("org-b", "episode-org-b");
    EXPECT_OK(store_->Write(change));
    EXPECT_EQ(revision("org-b", "episode-org-b"), other);
    return revision("org-a", "episode-org-a") != before;
  };
  const domain::Checkin checkin = MakeCheckin(session, "t");
  EXPECT_FALSE(moves("a check-in", [&](WriteTransaction& txn) { return txn.PutCheckin(checkin); }));
  EXPECT_TRUE(moves("a response", [&](WriteTransaction& txn) {
    return txn.PutResponse(MakeResponse(checkin, "response-1"));
  }));
  EXPECT_FALSE(moves("the check-in answered", [&](WriteTransaction& txn) {
    return txn.MarkCheckinSubmitted("org-a", checkin.id, clock_.Now(), "digest");
  }));
  domain::Session second = session;
  second.id = "session-2";
  second.number = 2;
  second.participants.clear();
  EXPECT_TRUE(moves("a session", [&](WriteTransaction& txn) { return txn.PutSession(second); }));
  session.attendance = domain::Attendance::kNoShow;
  EXPECT_TRUE(
      moves("attendance", [&](WriteTransaction& txn) { return txn.UpdateSession(session); }));
  second.participants = {{"client-org-a", domain::ParticipantRole::kClient}};
  EXPECT_TRUE(
      moves("participants", [&](WriteTransaction& txn) { return txn.UpdateSession(second); }));
  domain::Alert alert = MakeAlert(session, "alert-1", "rupture/c/s1", clock_.Now());
  EXPECT_TRUE(moves("an alert", [&](WriteTransaction& txn) { return txn.PutAlert(alert); }));
  alert.status = domain::AlertStatus::kAcknowledged;
  alert.acknowledged_by = "user-org-a";
  alert.acknowledged_at = clock_.Now();
  EXPECT_TRUE(
      moves("an acknowledgement", [&](WriteTransaction& txn) { return txn.UpdateAlert(alert); }));
  alert.occurrences += 1;
  alert.last_session_number = 2;
  alert.evidence_json = R"({"drop": 2})";
  EXPECT_TRUE(
      moves("an alert carried on", [&](WriteTransaction& txn) { return txn.UpdateAlert(alert); }));
  alert.severity = domain::AlertSeverity::kUrgent;
  EXPECT_TRUE(
      moves("another severity", [&](WriteTransaction& txn) { return txn.UpdateAlert(alert); }));
  // An alert moved to another episode moves the revisions of both.
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(domain::Episode episode, txn.GetEpisode("org-a", "episode-org-a"));
    episode.id = "episode-2-org-a";
    return txn.PutEpisode(episode);
  }));
  const int64_t second_before = revision("org-a", "episode-2-org-a");
  alert.episode_id = "episode-2-org-a";
  EXPECT_TRUE(
      moves("an alert moved", [&](WriteTransaction& txn) { return txn.UpdateAlert(alert); }));
  EXPECT_NE(revision("org-a", "episode-2-org-a"), second_before);
  // And one left in its episode moves no other.
  const int64_t first_before = revision("org-a", "episode-org-a");
  alert.occurrences += 1;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.UpdateAlert(alert); }));
  EXPECT_EQ(revision("org-a", "episode-org-a"), first_before);
  EXPECT_FALSE(moves("settings", [&](WriteTransaction& txn) {
    return txn.PutOrgSettings("org-a", "{}", clock_.Now());
  }));
  // A change rolled back leaves the revision as it was.
  const int64_t before = revision("org-a", "episode-org-a");
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) -> Status {
                  RAPPORT_RETURN_IF_ERROR(txn.PutResponse(MakeResponse(checkin, "response-2")));
                  return InvalidArgument("roll back");
                })
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(revision("org-a", "episode-org-a"), before);
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) {
    EXPECT_EQ(txn.GetEpisodeRevision("org-b", "episode-org-a").status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(txn.GetEpisodeRevision("org-a", "nope").status().code(), StatusCode::kNotFound);
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, RepairNotesBelongToAnAlertOfTheOrganisation) {
  const domain::Session session = MakeWorld("org-a");
  MakeWorld("org-b");
  const Timestamp now = clock_.Now();
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) {
    return txn.PutAlert(MakeAlert(session, "alert-1", "rupture/c/s4", now));
  }));
  const domain::RepairNote note{
      "note-1", "org-a", "alert-1", "user-org-a", "Raised the strain; we agreed to slow down.",
      true,     now};
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutRepairNote(note); }));
  domain::RepairNote elsewhere = note;
  elsewhere.id = "note-2";
  elsewhere.org_id = "org-b";
  EXPECT_EQ(
      store_->Write([&](WriteTransaction& txn) { return txn.PutRepairNote(elsewhere); }).code(),
      StatusCode::kNotFound);
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto notes, txn.ListRepairNotes("org-a", "alert-1"));
    EXPECT_EQ(notes, std::vector<domain::RepairNote>{note});
    RAPPORT_ASSIGN_OR_RETURN(const auto other, txn.ListRepairNotes("org-b", "alert-1"));
    EXPECT_TRUE(other.empty());
    RAPPORT_ASSIGN_OR_RETURN(const auto alerts, txn.ListAlerts("org-b", {}));
    EXPECT_TRUE(alerts.empty()) << "alerts are scoped by organisation";
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, OrganisationSettingsDefaultToAnEmptyDocument) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const std::string document, txn.GetOrgSettings("org-a"));
    EXPECT_EQ(document, "{}");
    return Status::Ok();
  }));
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) {
    return txn.PutOrgSettings("org-a", R"({"safety_text":"a"})", clock_.Now());
  }));
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) {
    return txn.PutOrgSettings("org-a", R"({"safety_text":"b"})", clock_.Now());
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const std::string a, txn.GetOrgSettings("org-a"));
    EXPECT_EQ(a, R"({"safety_text":"b"})");
    RAPPORT_ASSIGN_OR_RETURN(const std::string b, txn.GetOrgSettings("org-b"));
    EXPECT_EQ(b, "{}");
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, SessionsOfAnEpisodeInOrder) {
  const domain::Session first = MakeWorld("org-a");
  domain::Session later = first;
  later.id = "session-3";
  later.number = 3;
  later.attendance = domain::Attendance::kNoShow;
  domain::Session second = first;
  second.id = "session-2";
  second.number = 2;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutSession(later));
    return txn.PutSession(second);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto sessions,
                             txn.ListSessionsForEpisode("org-a", first.episode_id));
    EXPECT_EQ(sessions.size(), 3u);
    if (sessions.size() == 3u) {
      EXPECT_EQ(sessions[0].id, first.id);
      EXPECT_EQ(sessions[1].id, "session-2");
      EXPECT_EQ(sessions[2].attendance, domain::Attendance::kNoShow);
    }
    RAPPORT_ASSIGN_OR_RETURN(const auto none,
                             txn.ListSessionsForEpisode("org-b", first.episode_id));
    EXPECT_TRUE(none.empty());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, ObservationsOfOneInstrumentWithTheirContext) {
  const domain::Session first = MakeWorld("org-a");
  const domain::Session elsewhere = MakeWorld("org-b");
  const Timestamp start = first.scheduled_at;
  domain::Session second = first;
  second.id = "session-2";
  second.number = 2;
  second.scheduled_at = start + std::chrono::hours(24 * 7);
  second.participants.clear();
  domain::Session third = second;
  third.id = "session-3";
  third.number = 3;
  third.scheduled_at = start + std::chrono::hours(24 * 14);
  const domain::Checkin checkin = MakeCheckin(first, "t");
  domain::Response intake = MakeResponse(checkin, "response-1");
  domain::Response later = MakeResponse(checkin, "response-2");
  later.session_id = second.id;
  later.answers = {{"1", 3.0}, {"2", 1.0}};
  later.score.total = std::nullopt;  // too many items missing: still listed
  later.submitted_at = intake.submitted_at + std::chrono::hours(1);
  domain::Response corrected = later;  // a second submission for session 2, earlier
  corrected.id = "response-0";
  corrected.submitted_at = intake.submitted_at - std::chrono::hours(1);
  corrected.score.total = 9.0;
  domain::Response clinician = MakeResponse(checkin, "response-3");
  clinician.session_id = second.id;
  clinician.respondent_id = "user-org-a";
  clinician.perspective = domain::Perspective::kClinician;
  clinician.target = domain::Target::kClinician;
  domain::Response other_instrument = MakeResponse(checkin, "response-4");
  other_instrument.instrument_id = "gad-7";
  other_instrument.score.instrument_id = "gad-7";
  domain::Response outside = MakeResponse(checkin, "response-5");
  outside.session_id = third.id;
  domain::Response other_org = MakeResponse(MakeCheckin(elsewhere, "u"), "response-6");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutSession(second));
    RAPPORT_RETURN_IF_ERROR(txn.PutSession(third));
    RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
    for (const domain::Response* response :
         {&later, &intake, &clinician, &corrected, &other_instrument, &outside, &other_org}) {
      RAPPORT_RETURN_IF_ERROR(txn.PutResponse(*response));
    }
    return Status::Ok();
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    // Sessions 1 and 2 lie in [start, start + 14 days); session 3 starts the excluded end.
    RAPPORT_ASSIGN_OR_RETURN(
        const auto observations,
        txn.ListObservations("org-a", "phq-9", start, start + std::chrono::hours(24 * 14)));
    std::vector<std::string> ids;
    for (const InstrumentObservation& o : observations) ids.push_back(o.response_id);
    // By episode, session number, submission time, then response id.
    EXPECT_EQ(ids,
              (std::vector<std::string>{"response-1", "response-0", "response-3", "response-2"}));
    if (observations.size() != 4u) return Status::Ok();
    const InstrumentObservation& a = observations[0];
    EXPECT_EQ(a.episode_id, first.episode_id);
    EXPECT_EQ(a.session_id, first.id);
    EXPECT_EQ(a.session_number, 1);
    EXPECT_EQ(a.session_at, start);
    EXPECT_EQ(a.respondent_id, "client-org-a");
    EXPECT_EQ(a.client_id, "client-org-a");
    EXPECT_EQ(a.perspective, domain::Perspective::kClient);
    EXPECT_FALSE(a.target.has_value());
    EXPECT_EQ(a.instrument_version, "1");
    EXPECT_EQ(a.total, 13.5);
    EXPECT_EQ(a.answers, intake.answers);
    EXPECT_EQ(a.submitted_at, intake.submitted_at);
    EXPECT_EQ(observations[1].total, 9.0);
    EXPECT_EQ(observations[1].session_number, 2);
    EXPECT_EQ(observations[1].session_at, second.scheduled_at);
    const InstrumentObservation& rated_by_clinician = observations[2];
    EXPECT_EQ(rated_by_clinician.perspective, domain::Perspective::kClinician);
    EXPECT_EQ(rated_by_clinician.target, domain::Target::kClinician);
    EXPECT_EQ(rated_by_clinician.respondent_id, "user-org-a");
    EXPECT_EQ(rated_by_clinician.client_id, "") << "not a client of the episode";
    EXPECT_FALSE(observations[3].total.has_value());
    EXPECT_EQ(observations[3].answers, later.answers);
    // The window's start is inclusive and its end exclusive.
    RAPPORT_ASSIGN_OR_RETURN(
        const auto late,
        txn.ListObservations("org-a", "phq-9", third.scheduled_at, third.scheduled_at + 1ms));
    EXPECT_EQ(late.size(), 1u);
    RAPPORT_ASSIGN_OR_RETURN(const auto none, txn.ListObservations("org-a", "phq-9", start, start));
    EXPECT_TRUE(none.empty());
    RAPPORT_ASSIGN_OR_RETURN(const auto gad,
                             txn.ListObservations("org-a", "gad-7", start, third.scheduled_at));
    EXPECT_EQ(gad.size(), 1u);
    // Tenant isolation: each organisation sees only its own responses.
    RAPPORT_ASSIGN_OR_RETURN(
        const auto b, txn.ListObservations("org-b", "phq-9", start, third.scheduled_at + 1ms));
    EXPECT_EQ(b.size(), 1u);
    if (!b.empty()) {
      EXPECT_EQ(b[0].response_id, "response-6");
    }
    RAPPORT_ASSIGN_OR_RETURN(const auto unknown, txn.ListObservations("org-c", "phq-9", start,
                                                                      third.scheduled_at + 1ms));
    EXPECT_TRUE(unknown.empty());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, FittedModelsKeepTheLatestPerKindAndInstrument) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  const Timestamp now = clock_.Now();
  FittedModel etr{"org-a", "etr",
                  "phq-9", R"({"kind":"etr","format":1})",
                  now,     now - std::chrono::hours(24 * 365),
                  now,     120,
                  1034,    5120.25};
  FittedModel dropout{"org-a", "dropout",    "",           R"({"kind":"dropout"})",
                      now,     std::nullopt, std::nullopt, 80,
                      80,      97.5};
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutFittedModel(etr));
    return txn.PutFittedModel(dropout);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const FittedModel read, txn.GetFittedModel("org-a", "etr", "phq-9"));
    EXPECT_EQ(read, etr);
    RAPPORT_ASSIGN_OR_RETURN(const FittedModel other, txn.GetFittedModel("org-a", "dropout", ""));
    EXPECT_EQ(other, dropout);
    EXPECT_EQ(txn.GetFittedModel("org-a", "etr", "gad-7").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(txn.GetFittedModel("org-a", "dropout", "phq-9").status().code(),
              StatusCode::kNotFound);
    // Tenant isolation.
    EXPECT_EQ(txn.GetFittedModel("org-b", "etr", "phq-9").status().code(), StatusCode::kNotFound);
    return Status::Ok();
  }));
  // A refit replaces the model.
  etr.document = R"({"kind":"etr","format":1,"refit":true})";
  etr.fitted_at = now + 1h;
  etr.data_from = std::nullopt;
  etr.clients = 140;
  etr.observations = 1200;
  etr.criterion = 6001.5;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutFittedModel(etr); }));
  FittedModel b = etr;
  b.org_id = "org-b";
  b.clients = 7;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutFittedModel(b); }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const FittedModel read, txn.GetFittedModel("org-a", "etr", "phq-9"));
    EXPECT_EQ(read, etr);
    RAPPORT_ASSIGN_OR_RETURN(const FittedModel read_b, txn.GetFittedModel("org-b", "etr", "phq-9"));
    EXPECT_EQ(read_b.clients, 7);
    return Status::Ok();
  }));
  FittedModel unknown = etr;
  unknown.org_id = "org-c";
  EXPECT_EQ(
      store_->Write([&](WriteTransaction& txn) { return txn.PutFittedModel(unknown); }).code(),
      StatusCode::kNotFound);
  FittedModel no_kind = etr;
  no_kind.kind.clear();
  EXPECT_EQ(
      store_->Write([&](WriteTransaction& txn) { return txn.PutFittedModel(no_kind); }).code(),
      StatusCode::kInvalidArgument);
}

TEST_P(StoreConformance, TextPacksArePerOrganisationReplacedAndRemoved) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  const Timestamp now = clock_.Now();
  // Invented wording of an invented instrument: the store does not interpret the document.
  StoredTextPack de{"org-a", "invented-scale", "de", R"({"title":"Erfunden"})", "admin-a", now};
  StoredTextPack en{"org-a", "invented-scale", "en", R"({"title":"Invented"})", "admin-a", now};
  StoredTextPack other{"org-a", "another-scale", "en", R"({"title":"Another"})", "admin-a", now};
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutTextPack(en));
    RAPPORT_RETURN_IF_ERROR(txn.PutTextPack(de));
    return txn.PutTextPack(other);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto packs, txn.ListTextPacks("org-a"));
    EXPECT_EQ(packs, (std::vector<StoredTextPack>{other, de, en}));  // by instrument, language
    RAPPORT_ASSIGN_OR_RETURN(const auto none, txn.ListTextPacks("org-b"));
    EXPECT_TRUE(none.empty());  // tenant isolation
    RAPPORT_ASSIGN_OR_RETURN(const auto unknown, txn.ListTextPacks("org-c"));
    EXPECT_TRUE(unknown.empty());
    return Status::Ok();
  }));
  // A new upload replaces the pack for that instrument and language; another organisation's
  // pack for the same ones is its own.
  de.document = R"({"title":"Neu erfunden"})";
  de.uploaded_by = "admin-a2";
  de.uploaded_at = now + 1h;
  StoredTextPack de_b = de;
  de_b.org_id = "org-b";
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutTextPack(de));
    return txn.PutTextPack(de_b);
  }));
  // Removing is per organisation, and a second removal finds nothing.
  ASSERT_OK(store_->Write(
      [&](WriteTransaction& txn) { return txn.DeleteTextPack("org-a", "invented-scale", "en"); }));
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) {
                  return txn.DeleteTextPack("org-a", "invented-scale", "en");
                })
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) {
                  return txn.DeleteTextPack("org-c", "invented-scale", "de");
                })
                .code(),
            StatusCode::kNotFound);
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto packs, txn.ListTextPacks("org-a"));
    EXPECT_EQ(packs, (std::vector<StoredTextPack>{other, de}));
    RAPPORT_ASSIGN_OR_RETURN(const auto packs_b, txn.ListTextPacks("org-b"));
    EXPECT_EQ(packs_b, std::vector<StoredTextPack>{de_b});
    return Status::Ok();
  }));
  // A second server on the same database sees the packs.
  auto second = OpenStore(url_, /*migrate=*/false);
  ASSERT_OK(second);
  ASSERT_OK((*second)->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto packs, txn.ListTextPacks("org-a"));
    EXPECT_EQ(packs.size(), 2u);
    return Status::Ok();
  }));
  StoredTextPack unknown = en;
  unknown.org_id = "org-c";
  EXPECT_EQ(store_->Write([&](WriteTransaction& txn) { return txn.PutTextPack(unknown); }).code(),
            StatusCode::kNotFound);
  StoredTextPack no_language = en;
  no_language.language.clear();
  EXPECT_EQ(
      store_->Write([&](WriteTransaction& txn) { return txn.PutTextPack(no_language); }).code(),
      StatusCode::kInvalidArgument);
  StoredTextPack no_instrument = en;
  no_instrument.instrument_id.clear();
  EXPECT_EQ(
      store_->Write([&](WriteTransaction& txn) { return txn.PutTextPack(no_instrument); }).code(),
      StatusCode::kInvalidArgument);
}

TEST_P(StoreConformance, UsersKeepTheirSignInStateAndUpdate) {
  MakeWorld("org-a");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(domain::User user, txn.GetUser("org-a", "user-org-a"));
    EXPECT_FALSE(user.totp_enabled);
    EXPECT_EQ(user.failed_logins, 0);
    EXPECT_FALSE(user.locked_until.has_value());
    user.totp_secret = "3132333435";
    user.totp_enabled = true;
    user.failed_logins = 3;
    user.locked_until = FromUnixMillis(1'800'000'000'000);
    user.display_name = "Dr A";
    return txn.UpdateUser(user);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::User user, txn.GetUser("org-a", "user-org-a"));
    EXPECT_EQ(user.totp_secret, "3132333435");
    EXPECT_TRUE(user.totp_enabled);
    EXPECT_EQ(user.failed_logins, 3);
    EXPECT_EQ(user.locked_until, FromUnixMillis(1'800'000'000'000));
    EXPECT_EQ(user.display_name, "Dr A");
    EXPECT_EQ(txn.GetUser("org-b", "user-org-a").status().code(), StatusCode::kNotFound);
    return Status::Ok();
  }));
  const Status missing = store_->Write([&](WriteTransaction& txn) {
    domain::User ghost;
    ghost.org_id = "org-a";
    ghost.id = "nobody";
    return txn.UpdateUser(ghost);
  });
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
}

TEST_P(StoreConformance, AuthSessionsAreFoundByDigestTouchedAndDeleted) {
  MakeWorld("org-a");
  const Timestamp now = clock_.Now();
  const domain::AuthSession one{"digest-1",  "org-a", "user-org-a", "csrf-1",
                                "127.0.0.1", now,     now,          now + 8h};
  domain::AuthSession two = one;
  two.token_digest = "digest-2";
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutAuthSession(one));
    return txn.PutAuthSession(two);
  }));
  ASSERT_OK(store_->Write(
      [&](WriteTransaction& txn) { return txn.TouchAuthSession("digest-1", now + 5min); }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::AuthSession stored, txn.GetAuthSession("digest-1"));
    EXPECT_EQ(stored.user_id, "user-org-a");
    EXPECT_EQ(stored.csrf_token, "csrf-1");
    EXPECT_EQ(stored.last_seen_at, now + 5min);
    EXPECT_EQ(stored.expires_at, now + 8h);
    EXPECT_EQ(txn.GetAuthSession("digest-3").status().code(), StatusCode::kNotFound);
    return Status::Ok();
  }));
  ASSERT_OK(
      store_->Write([&](WriteTransaction& txn) { return txn.DeleteAuthSession("digest-1"); }));
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    EXPECT_EQ(txn.GetAuthSession("digest-1").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(txn.TouchAuthSession("digest-1", now).code(), StatusCode::kNotFound);
    RAPPORT_ASSIGN_OR_RETURN(const int removed,
                             txn.DeleteAuthSessionsOfUser("org-a", "user-org-a"));
    EXPECT_EQ(removed, 1);
    EXPECT_EQ(txn.GetAuthSession("digest-2").status().code(), StatusCode::kNotFound);
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, ApiTokensAreHashedScopedAndRevocable) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  domain::ApiToken token{"token-1",    "org-a",        "user-org-a",
                         "EHR bridge", "token-digest", {"read", "checkins"},
                         clock_.Now(), std::nullopt,   std::nullopt};
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) { return txn.PutApiToken(token); }));
  const Status duplicate = store_->Write([&](WriteTransaction& txn) {
    domain::ApiToken again = token;
    again.id = "token-2";
    return txn.PutApiToken(again);
  });
  EXPECT_EQ(duplicate.code(), StatusCode::kConflict);
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) {
                  return txn.RevokeApiToken("org-b", "user-org-a", "token-1", clock_.Now());
                })
                .code(),
            StatusCode::kNotFound);
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) {
    return txn.RevokeApiToken("org-a", "user-org-a", "token-1", clock_.Now() + 1h);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::ApiToken stored,
                             txn.GetApiTokenByDigest("token-digest"));
    EXPECT_EQ(stored.scopes, (std::vector<std::string>{"read", "checkins"}));
    EXPECT_EQ(stored.revoked_at, clock_.Now() + 1h);
    RAPPORT_ASSIGN_OR_RETURN(const auto listed, txn.ListApiTokens("org-a", "user-org-a"));
    EXPECT_EQ(listed.size(), 1u);
    RAPPORT_ASSIGN_OR_RETURN(const auto other, txn.ListApiTokens("org-b", "user-org-a"));
    EXPECT_TRUE(other.empty());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, RecoveryCodesAreUsedOnce) {
  MakeWorld("org-a");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) {
    return txn.PutRecoveryCodes("org-a", "user-org-a", {"c1", "c2", "c3"});
  }));
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) {
    return txn.UseRecoveryCode("org-a", "user-org-a", "c2", clock_.Now());
  }));
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) {
                  return txn.UseRecoveryCode("org-a", "user-org-a", "c2", clock_.Now());
                })
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) {
                  return txn.UseRecoveryCode("org-a", "user-org-a", "c9", clock_.Now());
                })
                .code(),
            StatusCode::kNotFound);
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const int left, txn.CountRecoveryCodes("org-a", "user-org-a"));
    EXPECT_EQ(left, 2);
    return Status::Ok();
  }));
  // New codes replace the old ones.
  ASSERT_OK(store_->Write(
      [&](WriteTransaction& txn) { return txn.PutRecoveryCodes("org-a", "user-org-a", {"d1"}); }));
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) {
                  return txn.UseRecoveryCode("org-a", "user-org-a", "c1", clock_.Now());
                })
                .code(),
            StatusCode::kNotFound);
}

TEST_P(StoreConformance, RateCountersCountWithinAWindowAndRestart) {
  const Timestamp window = FromUnixMillis(1'800'000'000'000);
  const auto count = [&](const std::string& key, Timestamp start) {
    int64_t value = -1;
    EXPECT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(value, txn.CountRateEvent(key, start));
      return Status::Ok();
    }));
    return value;
  };
  EXPECT_EQ(count("login:1.2.3.4", window), 1);
  EXPECT_EQ(count("login:1.2.3.4", window), 2);
  EXPECT_EQ(count("login:5.6.7.8", window), 1);
  EXPECT_EQ(count("login:1.2.3.4", window + 1min), 1);
  EXPECT_EQ(count("login:1.2.3.4", window + 1min), 2);
  // A late event from an earlier window counts in the current one.
  EXPECT_EQ(count("login:1.2.3.4", window), 3);
}

TEST_P(StoreConformance, RateCountersCountEveryConcurrentEvent) {
  const Timestamp window = FromUnixMillis(1'800'000'000'000);
  std::vector<std::thread> threads;
  for (int thread = 0; thread < 8; ++thread) {
    threads.emplace_back([&] {
      for (int event = 0; event < 10; ++event) {
        EXPECT_OK(store_->Write(
            [&](WriteTransaction& txn) { return txn.CountRateEvent("shared", window).status(); }));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const int64_t count, txn.CountRateEvent("shared", window));
    EXPECT_EQ(count, 81);
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, ClinicsAreListedPerOrganisationByName) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic-2", "org-a", "Annex"}));
    return txn.PutClinic({"clinic-3", "org-b", "Beach"});
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto clinics, txn.ListClinics("org-a"));
    EXPECT_EQ(clinics.size(), 2u);
    if (clinics.size() == 2) {
      EXPECT_EQ(clinics[0].name, "Annex");
      EXPECT_EQ(clinics[0].org_id, "org-a");
      EXPECT_EQ(clinics[1].id, "clinic-org-a");
    }
    RAPPORT_ASSIGN_OR_RETURN(const auto none, txn.ListClinics("org-c"));
    EXPECT_TRUE(none.empty());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, EpisodesAreListedByClinicianClinicAndClient) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic-2", "org-a", "North"}));
    RAPPORT_RETURN_IF_ERROR(
        txn.PutClient({"client-2", "org-a", "C-002", "en", false, clock_.Now()}));
    domain::Episode episode;
    episode.id = "episode-2";
    episode.org_id = "org-a";
    episode.clinic_id = "clinic-2";
    episode.client_ids = {"client-2"};
    episode.started_at = clock_.Now() + 1h;
    episode.ended_at = clock_.Now() + 2h;
    episode.end_reason = domain::EndReason::kCompleted;
    RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
    return txn.PutGoal({"goal-1", "org-a", "episode-2", "client-2", "Sleep better", clock_.Now()});
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    const auto ids = [&](const EpisodeQuery& query) {
      std::vector<std::string> out;
      auto episodes = txn.ListEpisodes("org-a", query);
      EXPECT_TRUE(episodes.ok()) << episodes.status().ToString();
      if (episodes.ok()) {
        for (const auto& episode : *episodes) out.push_back(episode.id);
      }
      return out;
    };
    EXPECT_EQ(ids({}), (std::vector<std::string>{"episode-2", "episode-org-a"}));
    EXPECT_EQ(ids({.clinician_id = "user-org-a"}), std::vector<std::string>{"episode-org-a"});
    EXPECT_EQ(ids({.clinic_id = "clinic-2"}), std::vector<std::string>{"episode-2"});
    EXPECT_EQ(ids({.client_id = "client-2"}), std::vector<std::string>{"episode-2"});
    EXPECT_EQ(ids({.active_only = true}), std::vector<std::string>{"episode-org-a"});
    RAPPORT_ASSIGN_OR_RETURN(const auto goals, txn.ListGoals("org-a", "episode-2"));
    EXPECT_EQ(goals.size(), 1u);
    EXPECT_EQ(goals[0].description, "Sleep better");
    RAPPORT_ASSIGN_OR_RETURN(const auto none, txn.ListGoals("org-b", "episode-2"));
    EXPECT_TRUE(none.empty());
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, SessionsAndEpisodesUpdate) {
  domain::Session session = MakeWorld("org-a");
  session.attendance = domain::Attendance::kNoShow;
  session.participants = {{"client-org-a", domain::ParticipantRole::kClient}};
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(txn.UpdateSession(session));
    RAPPORT_ASSIGN_OR_RETURN(domain::Episode episode, txn.GetEpisode("org-a", "episode-org-a"));
    episode.ended_at = clock_.Now();
    episode.end_reason = domain::EndReason::kDroppedOut;
    return txn.UpdateEpisodeEnd(episode);
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Session stored, txn.GetSession("org-a", session.id));
    EXPECT_EQ(stored.attendance, domain::Attendance::kNoShow);
    EXPECT_EQ(stored.participants.size(), 1u);
    RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                             txn.GetEpisode("org-a", "episode-org-a"));
    EXPECT_EQ(episode.end_reason, domain::EndReason::kDroppedOut);
    return Status::Ok();
  }));
  session.org_id = "org-b";
  EXPECT_EQ(store_->Write([&](WriteTransaction& txn) { return txn.UpdateSession(session); }).code(),
            StatusCode::kNotFound);
}

// An audit event as a caller would build it; the store fills in seq and the hashes.
domain::AuditEvent AuditOf(const std::string& org_id, const std::string& actor,
                           const std::string& resource, Timestamp at) {
  domain::AuditEvent event;
  event.org_id = org_id;
  event.at = at;
  event.actor = actor;
  event.action = "read";
  event.resource = resource;
  event.address = "192.0.2.10";
  return event;
}

// Reads an organisation's whole chain in pages of `page` and verifies it against its head.
AuditVerification VerifyStored(Store& store, const std::string& org_id, int64_t page,
                               std::vector<domain::AuditEvent>* events = nullptr) {
  AuditVerification result;
  EXPECT_OK(store.Read([&](ReadTransaction& txn) -> Status {
    AuditChainVerifier verifier(org_id);
    int64_t after = 0;
    while (true) {
      RAPPORT_ASSIGN_OR_RETURN(const auto batch, txn.ListAudit(org_id, after, page));
      if (batch.empty()) break;
      for (const domain::AuditEvent& event : batch) {
        verifier.Add(event);
        if (events != nullptr) events->push_back(event);
      }
      after = batch.back().seq;
    }
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, txn.GetAuditHead(org_id));
    result = verifier.Finish(head);
    return Status::Ok();
  }));
  return result;
}

TEST_P(StoreConformance, AuditEventsAreChainedInAppendOrder) {
  MakeWorld("org-a");
  std::vector<domain::AuditEvent> appended;
  const Timestamp at = FromUnixMillis(1'790'000'000'123);
  for (int write = 0; write < 2; ++write) {
    ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
      for (int k = 0; k < 3; ++k) {
        domain::AuditEvent event =
            AuditOf("org-a", "user-org-a", "client/client-org-a", at + std::chrono::seconds(k));
        event.seq = 99;  // ignored: the store assigns it
        event.hash = "forged";
        event.detail = "{\"k\":" + std::to_string(k) + "}";
        RAPPORT_ASSIGN_OR_RETURN(domain::AuditEvent stored, txn.AppendAudit(event));
        appended.push_back(std::move(stored));
      }
      return Status::Ok();
    }));
  }
  ASSERT_EQ(appended.size(), 6u);
  for (size_t index = 0; index < appended.size(); ++index) {
    const domain::AuditEvent& event = appended[index];
    EXPECT_EQ(event.seq, static_cast<int64_t>(index) + 1);
    EXPECT_EQ(event.prev_hash, index == 0 ? "" : appended[index - 1].hash);
    EXPECT_EQ(event.hash, AuditHash(event));
    EXPECT_EQ(event.at, at + std::chrono::seconds(index % 3));
    EXPECT_EQ(event.actor, "user-org-a");
    EXPECT_EQ(event.address, "192.0.2.10");
  }
  std::vector<domain::AuditEvent> listed;
  const AuditVerification result = VerifyStored(*store_, "org-a", 4, &listed);
  EXPECT_TRUE(result.ok()) << result.problem->message;
  EXPECT_EQ(result.events, 6);
  EXPECT_EQ(result.head_seq, 6);
  EXPECT_EQ(result.head_hash, appended.back().hash);
  EXPECT_EQ(listed, appended);
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto page, txn.ListAudit("org-a", 2, 2));
    EXPECT_EQ(page.size(), 2u);
    if (page.size() == 2) {
      EXPECT_EQ(page[0].seq, 3);
      EXPECT_EQ(page[1].seq, 4);
    }
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, txn.GetAuditHead("org-a"));
    EXPECT_EQ(head, (AuditHead{"org-a", 6, appended.back().hash}));
    EXPECT_EQ(txn.ListAudit("org-a", 0, 0).status().code(), StatusCode::kInvalidArgument);
    return Status::Ok();
  }));

  // The chain continues where it ended after the store is reopened.
  store_.reset();
  auto reopened = OpenStore(url_, /*migrate=*/false);
  ASSERT_OK(reopened);
  store_ = std::move(reopened).value();
  domain::AuditEvent seventh;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(seventh, txn.AppendAudit(AuditOf("org-a", "system", "org", at)));
    return Status::Ok();
  }));
  EXPECT_EQ(seventh.seq, 7);
  EXPECT_EQ(seventh.prev_hash, appended.back().hash);
  EXPECT_TRUE(VerifyStored(*store_, "org-a", 100).ok());
}

TEST_P(StoreConformance, AuditEventsOfAFailingTransactionAreRolledBack) {
  MakeWorld("org-a");
  const Timestamp at = clock_.Now();
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) {
    return txn.AppendAudit(AuditOf("org-a", "u", "a", at)).status();
  }));
  EXPECT_EQ(store_
                ->Write([&](WriteTransaction& txn) -> Status {
                  RAPPORT_RETURN_IF_ERROR(txn.AppendAudit(AuditOf("org-a", "u", "b", at)).status());
                  return InvalidArgument("deliberate failure");
                })
                .code(),
            StatusCode::kInvalidArgument);
  domain::AuditEvent second;
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(second, txn.AppendAudit(AuditOf("org-a", "u", "c", at)));
    return Status::Ok();
  }));
  EXPECT_EQ(second.seq, 2);
  EXPECT_EQ(second.resource, "c");
  const AuditVerification result = VerifyStored(*store_, "org-a", 10);
  EXPECT_TRUE(result.ok()) << result.problem->message;
  EXPECT_EQ(result.events, 2);
}

TEST_P(StoreConformance, ConcurrentAuditAppendsAllChain) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  constexpr int kThreads = 8;
  constexpr int kWritesPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> committed_a{0};
  std::atomic<int> committed_b{0};
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&, thread] {
      for (int write = 0; write < kWritesPerThread; ++write) {
        const std::string org = thread % 2 == 0 ? "org-a" : "org-b";
        const std::string resource =
            "client/" + std::to_string(thread) + "-" + std::to_string(write);
        const bool fail = write % 5 == 4;  // some transactions fail after appending
        const Status status = store_->Write([&](WriteTransaction& txn) -> Status {
          RAPPORT_RETURN_IF_ERROR(
              txn.AppendAudit(AuditOf(org, "user", resource, clock_.Now())).status());
          if (write % 3 == 0) {
            RAPPORT_RETURN_IF_ERROR(
                txn.AppendAudit(AuditOf(org, "user", resource + "/again", clock_.Now())).status());
          }
          if (fail) return InvalidArgument("deliberate failure");
          return Status::Ok();
        });
        EXPECT_EQ(status.ok(), !fail) << status.ToString();
        if (status.ok()) (org == "org-a" ? committed_a : committed_b) += write % 3 == 0 ? 2 : 1;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& [org, committed] : {std::pair{std::string("org-a"), committed_a.load()},
                                       std::pair{std::string("org-b"), committed_b.load()}}) {
    std::vector<domain::AuditEvent> events;
    const AuditVerification result = VerifyStored(*store_, org, 64, &events);
    EXPECT_TRUE(result.ok()) << org << ": " << result.problem->message;
    EXPECT_EQ(result.events, committed) << org;
    // The two events of one transaction are adjacent: no other caller's append came between.
    for (size_t index = 0; index + 1 < events.size(); ++index) {
      if (events[index + 1].resource.ends_with("/again")) {
        EXPECT_EQ(events[index + 1].resource, events[index].resource + "/again");
      }
    }
  }
}

// Several servers on one database (DESIGN.md §7): two stores opened on the same URL stand for
// two processes, each with its own writer. Their appends to one organisation's chain never
// take the same seq, and every rate event is counted once.
TEST_P(StoreConformance, TwoStoresOnOneDatabaseShareTheAuditChainAndCounters) {
  MakeWorld("org-a");
  auto second = OpenStore(url_, /*migrate=*/false);
  ASSERT_OK(second);
  const Timestamp window = FromUnixMillis(1'800'000'000'000);
  constexpr int kThreadsPerStore = 4;
  constexpr int kWritesPerThread = 20;
  std::vector<std::thread> threads;
  for (Store* store : {store_.get(), second->get()}) {
    for (int thread = 0; thread < kThreadsPerStore; ++thread) {
      threads.emplace_back([&, store, thread] {
        for (int write = 0; write < kWritesPerThread; ++write) {
          EXPECT_OK(store->Write([&](WriteTransaction& txn) -> Status {
            RAPPORT_RETURN_IF_ERROR(
                txn.AppendAudit(
                       AuditOf("org-a", "user", "client/" + std::to_string(thread), clock_.Now()))
                    .status());
            return txn.CountRateEvent("shared", window).status();
          }));
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  constexpr int kWrites = 2 * kThreadsPerStore * kWritesPerThread;
  for (Store* store : {store_.get(), second->get()}) {
    const AuditVerification result = VerifyStored(*store, "org-a", 50);
    EXPECT_TRUE(result.ok()) << result.problem->message;
    EXPECT_EQ(result.events, kWrites);
  }
  ASSERT_OK((*second)->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const int64_t count, txn.CountRateEvent("shared", window));
    EXPECT_EQ(count, kWrites + 1);
    return Status::Ok();
  }));
}

TEST_P(StoreConformance, AuditChainsAreSeparatePerOrganisation) {
  MakeWorld("org-a");
  MakeWorld("org-b");
  const Timestamp at = clock_.Now();
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    for (int k = 0; k < 3; ++k) {
      RAPPORT_RETURN_IF_ERROR(txn.AppendAudit(AuditOf("org-a", "user-org-a", "a", at)).status());
      RAPPORT_RETURN_IF_ERROR(txn.AppendAudit(AuditOf("org-b", "user-org-b", "b", at)).status());
    }
    return txn.AppendAudit(AuditOf("org-b", "user-org-b", "b", at)).status();
  }));
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto a, txn.ListAudit("org-a", 0, 100));
    RAPPORT_ASSIGN_OR_RETURN(const auto b, txn.ListAudit("org-b", 0, 100));
    EXPECT_EQ(a.size(), 3u);
    EXPECT_EQ(b.size(), 4u);
    for (const auto& event : a) {
      EXPECT_EQ(event.org_id, "org-a");
      EXPECT_EQ(event.resource, "a");
    }
    for (const auto& event : b) {
      EXPECT_EQ(event.org_id, "org-b");
      EXPECT_EQ(event.resource, "b");
    }
    if (!a.empty() && !b.empty()) {
      EXPECT_EQ(a.front().seq, 1);
      EXPECT_EQ(b.front().seq, 1);
    }
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head_a, txn.GetAuditHead("org-a"));
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head_b, txn.GetAuditHead("org-b"));
    EXPECT_EQ(head_a.seq, 3);
    EXPECT_EQ(head_b.seq, 4);
    RAPPORT_ASSIGN_OR_RETURN(const auto none, txn.ListAudit("org-c", 0, 100));
    EXPECT_TRUE(none.empty());
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head_c, txn.GetAuditHead("org-c"));
    EXPECT_EQ(head_c, (AuditHead{"org-c", 0, ""}));
    return Status::Ok();
  }));
  EXPECT_TRUE(VerifyStored(*store_, "org-a", 2).ok());
  EXPECT_TRUE(VerifyStored(*store_, "org-b", 2).ok());
}

TEST_P(StoreConformance, AuditAppendsAreValidated) {
  MakeWorld("org-a");
  const Timestamp at = clock_.Now();
  const auto append = [&](const domain::AuditEvent& event) {
    return store_->Write([&](WriteTransaction& txn) { return txn.AppendAudit(event).status(); });
  };
  EXPECT_EQ(append(AuditOf("org-z", "u", "r", at)).code(), StatusCode::kNotFound);
  EXPECT_EQ(append(AuditOf("", "u", "r", at)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(append(AuditOf("org-a", "", "r", at)).code(), StatusCode::kInvalidArgument);
  domain::AuditEvent no_action = AuditOf("org-a", "u", "r", at);
  no_action.action.clear();
  EXPECT_EQ(append(no_action).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(store_->Read([&](ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, txn.GetAuditHead("org-a"));
    EXPECT_EQ(head.seq, 0);
    return Status::Ok();
  }));
}

// Every table's rows of one organisation (tables.h), as ScanOrganizationRows gives them.
Result<std::map<std::string, std::vector<Row>>> OrganizationRows(Store& store,
                                                                 const std::string& org_id) {
  std::map<std::string, std::vector<Row>> out;
  RAPPORT_RETURN_IF_ERROR(store.Read([&](ReadTransaction& txn) -> Status {
    for (const TableSpec& table : OrganizationTables()) {
      std::vector<Row>& rows = out[std::string(table.name)];
      RAPPORT_RETURN_IF_ERROR(txn.ScanOrganizationRows(table, org_id, [&](const Row& row) {
        rows.push_back(row);
        return Status::Ok();
      }));
    }
    return Status::Ok();
  }));
  return out;
}

TEST_P(StoreConformance, AnOrganisationsRowsCopyUnchangedToAnotherDatabase) {
  // An organisation with something in every table, and a second one that must not come along.
  const domain::Session session = MakeWorld("org-a");
  MakeWorld("org-b");
  const Timestamp now = clock_.Now();
  const domain::Checkin checkin = MakeCheckin(session, "copy-token");
  // Ids out of key order: responses, alerts and notes are listed in the order they were made.
  domain::Response later = MakeResponse(checkin, "response-z");
  domain::Response earlier = MakeResponse(checkin, "response-a");
  earlier.submitted_at = later.submitted_at;
  domain::Alert alert = MakeAlert(session, "alert-z", "rupture/c/s4", now);
  domain::Alert second = MakeAlert(session, "alert-a", "low-alliance/c/s4", now);
  ASSERT_OK(store_->Write([&](WriteTransaction& txn) -> Status {
    RAPPORT_RETURN_IF_ERROR(
        txn.PutCollateral({"collateral-a", "org-a", "client-org-a", "partner"}));
    RAPPORT_RETURN_IF_ERROR(txn.PutGoal(
        {"goal-a", "org-a", session.episode_id, "client-org-a", "Sleep through the night", now}));
    RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(checkin));
    RAPPORT_RETURN_IF_ERROR(txn.PutResponse(later));
    RAPPORT_RETURN_IF_ERROR(txn.PutResponse(earlier));
    RAPPORT_RETURN_IF_ERROR(txn.MarkCheckinSubmitted("org-a", checkin.id, now, "digest"));
    RAPPORT_RETURN_IF_ERROR(txn.PutAlert(alert));
    RAPPORT_RETURN_IF_ERROR(txn.PutAlert(second));
    RAPPORT_RETURN_IF_ERROR(txn.PutRepairNote(
        {"note-z", "org-a", "alert-z", "user-org-a", "Talked it through", true, now}));
    RAPPORT_RETURN_IF_ERROR(
        txn.PutRepairNote({"note-a", "org-a", "alert-z", "user-org-a", "Followed up", false, now}));
    RAPPORT_RETURN_IF_ERROR(txn.PutOrgSettings("org-a", R"({"safety_text":"Call us"})", now));
    RAPPORT_RETURN_IF_ERROR(
        txn.PutTextPack({"org-a", "rapport-progress", "cy", R"({"instrument":"rapport-progress"})",
                         "user-org-a", now}));
    RAPPORT_RETURN_IF_ERROR(txn.PutFittedModel({"org-a", "etr", "phq-9", R"({"kind":"etr"})", now,
                                                std::nullopt, now, 40, 400, 0.1 + 0.2}));
    RAPPORT_RETURN_IF_ERROR(txn.PutApiToken({"token-a",
                                             "org-a",
                                             "user-org-a",
                                             "EHR",
                                             Sha256Hex("secret"),
                                             {"read"},
                                             now,
                                             std::nullopt,
                                             now}));
    RAPPORT_RETURN_IF_ERROR(
        txn.PutRecoveryCodes("org-a", "user-org-a", {Sha256Hex("r1"), Sha256Hex("r2")}));
    RAPPORT_RETURN_IF_ERROR(txn.UseRecoveryCode("org-a", "user-org-a", Sha256Hex("r2"), now));
    for (int k = 0; k < 3; ++k) {
      RAPPORT_RETURN_IF_ERROR(
          txn.AppendAudit(AuditOf("org-a", "user-org-a", "client/client-org-a", now)).status());
    }
    return txn.AppendAudit(AuditOf("org-b", "user-org-b", "client/client-org-b", now)).status();
  }));
  auto source_result = OrganizationRows(*store_, "org-a");
  ASSERT_TRUE(source_result.ok()) << source_result.status().ToString();
  const auto source = std::move(source_result).value();
  for (const TableSpec& table : OrganizationTables()) {
    EXPECT_FALSE(source.at(std::string(table.name)).empty()) << table.name << " has no row";
  }
  // Insertion order where the store lists rows in it; key order elsewhere.
  EXPECT_EQ(std::get<std::string>(source.at("responses")[0][1]), "response-z");
  EXPECT_EQ(std::get<std::string>(source.at("alerts")[0][1]), "alert-z");
  EXPECT_EQ(std::get<std::string>(source.at("clinics")[0][1]), "clinic-org-a");

  // Copied table by table into a new database of the same backend.
  testing::TempDir other_dir;
  auto other_url_result = GetParam().make_url(other_dir.path());
  ASSERT_TRUE(other_url_result.ok()) << other_url_result.status().ToString();
  const std::string other_url = std::move(other_url_result).value();
  {
    auto other_result = OpenStore(other_url);
    ASSERT_TRUE(other_result.ok()) << other_result.status().ToString();
    auto other = std::move(other_result).value();
    ASSERT_OK(other->Write([&](WriteTransaction& txn) -> Status {
      for (const TableSpec& table : OrganizationTables()) {
        for (const Row& row : source.at(std::string(table.name))) {
          RAPPORT_RETURN_IF_ERROR(txn.InsertOrganizationRow(table, row));
        }
      }
      return Status::Ok();
    }));
    auto copied_result = OrganizationRows(*other, "org-a");
    ASSERT_TRUE(copied_result.ok()) << copied_result.status().ToString();
    const auto copied = std::move(copied_result).value();
    EXPECT_EQ(copied, source);
    auto nothing_result = OrganizationRows(*other, "org-b");
    ASSERT_TRUE(nothing_result.ok()) << nothing_result.status().ToString();
    const auto nothing = std::move(nothing_result).value();
    for (const auto& [table, rows] : nothing) EXPECT_TRUE(rows.empty()) << table;
    // The copy reads as the original through the domain too, and its chain goes on.
    ASSERT_OK(other->Write([&](WriteTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto responses,
                               txn.ListResponsesForEpisode("org-a", session.episode_id));
      EXPECT_EQ(responses.size(), 2u);
      if (responses.size() == 2u) {
        EXPECT_EQ(responses[0].id, "response-z");
      }
      RAPPORT_ASSIGN_OR_RETURN(const auto by_digest,
                               txn.GetCheckinByTokenDigest(Sha256Hex("copy-token")));
      EXPECT_TRUE(by_digest.submitted_at.has_value());
      RAPPORT_ASSIGN_OR_RETURN(const int unused, txn.CountRecoveryCodes("org-a", "user-org-a"));
      EXPECT_EQ(unused, 1);
      RAPPORT_ASSIGN_OR_RETURN(const auto appended,
                               txn.AppendAudit(AuditOf("org-a", "console", "organization", now)));
      EXPECT_EQ(appended.seq, 4);
      RAPPORT_ASSIGN_OR_RETURN(const AuditVerification chain, VerifyStoredAuditChain(txn, "org-a"));
      EXPECT_TRUE(chain.ok()) << chain.problem->message;
      EXPECT_EQ(chain.events, 4);
      return Status::Ok();
    }));
    // A row copied twice, or into the wrong table, is refused.
    const TableSpec& clients = *FindOrganizationTable("clients");
    EXPECT_EQ(other
                  ->Write([&](WriteTransaction& txn) {
                    return txn.InsertOrganizationRow(clients, source.at("clients")[0]);
                  })
                  .code(),
              StatusCode::kConflict);
    EXPECT_EQ(other
                  ->Write([&](WriteTransaction& txn) {
                    return txn.InsertOrganizationRow(clients, source.at("goals")[0]);
                  })
                  .code(),
              StatusCode::kInvalidArgument);
    other->Close();
  }
  if (GetParam().drop) EXPECT_OK(GetParam().drop(other_url));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, StoreConformance,
    ::testing::Values(Backend{"sqlite",
                              [](const std::filesystem::path& dir) -> Result<std::string> {
                                return "sqlite:" + (dir / "rapport.db").string();
                              }},
                      // A new database in the test cluster (postgres/test_cluster.h).
                      Backend{"postgresql",
                              [](const std::filesystem::path&) {
                                return postgres::CreateTestDatabase();
                              },
                              postgres::DropTestDatabase}),
    [](const ::testing::TestParamInfo<Backend>& param_info) { return param_info.param.name; });

TEST(OpenStore, RejectsUnknownUrls) {
  EXPECT_EQ(OpenStore("mysql://x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:").status().code(), StatusCode::kInvalidArgument);
  const Status unsupported = OpenStore("mysql://x").status();
  EXPECT_NE(unsupported.message().find("postgresql://"), std::string::npos)
      << unsupported.message();
}

TEST(OpenStore, PoolSizeBoundsAServersReadConnectionsOnPostgresql) {
  for (const std::string bad : {"0", "x", "1001", ""}) {
    const Status status =
        OpenStore("postgresql://rapport@127.0.0.1:1/none?pool_size=" + bad + "&connect_timeout=2")
            .status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("pool_size"), std::string::npos) << status.message();
  }
  auto url = postgres::CreateTestDatabase();
  ASSERT_OK(url);
  const char separator = url->find('?') == std::string::npos ? '?' : '&';
  {
    auto store = OpenStore(*url + separator + "pool_size=2");
    ASSERT_OK(store);
    auto watcher = postgres::Connection::Open(*url);
    ASSERT_OK(watcher);
    // Eight reads at once, each holding its connection for a while: two run, the rest wait.
    std::mutex watching;  // one libpq connection: one query at a time
    int most = 0;
    std::vector<std::thread> readers;
    for (int i = 0; i < 8; ++i) {
      readers.emplace_back([&] {
        EXPECT_OK((*store)->Read([&](ReadTransaction&) -> Status {
          {
            const std::lock_guard lock(watching);
            auto rows = watcher->Query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                "pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'");
            if (rows.ok()) most = std::max(most, static_cast<int>(rows->Int(0, 0)));
          }
          std::this_thread::sleep_for(50ms);
          return Status::Ok();
        }));
      });
      if (i == 0) std::this_thread::sleep_for(10ms);
    }
    for (std::thread& reader : readers) reader.join();
    EXPECT_GE(most, 1);
    EXPECT_LE(most, 2) << "open read transactions with pool_size=2";
  }
  EXPECT_OK(postgres::DropTestDatabase(*url));
}

// What a PostgreSQL restart or failover does to a running server: every connection it holds is
// closed by the server. The next reads and writes reconnect without an error.
TEST(OpenStore, PostgresqlConnectionsClosedByTheServerAreOpenedAgain) {
  auto url = postgres::CreateTestDatabase();
  ASSERT_OK(url);
  {
    auto store = OpenStore(*url);
    ASSERT_OK(store);
    const Timestamp now = FromUnixMillis(1'790'000'000'000);
    ASSERT_OK((*store)->Write([&](WriteTransaction& txn) {
      return txn.PutOrganization({"org-a", "Org A", now});
    }));
    // Several idle read connections.
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i) {
      readers.emplace_back([&] {
        EXPECT_OK((*store)->Read([](ReadTransaction&) -> Status {
          std::this_thread::sleep_for(20ms);
          return Status::Ok();
        }));
      });
    }
    for (std::thread& reader : readers) reader.join();

    auto admin = postgres::Connection::Open(*url);
    ASSERT_OK(admin);
    const std::string others =
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    auto terminated = admin->Query("SELECT count(pg_terminate_backend(pid)) " + others);
    ASSERT_OK(terminated);
    EXPECT_GE(terminated->Int(0, 0), 2) << "the writer and at least one reader";
    for (int wait = 0; wait < 100; ++wait) {
      auto left = admin->Query("SELECT count(*) " + others);
      ASSERT_OK(left);
      if (left->Int(0, 0) == 0) break;
      std::this_thread::sleep_for(20ms);
    }

    EXPECT_OK((*store)->Write([&](WriteTransaction& txn) {
      return txn.PutClinic({"clinic-a", "org-a", "Main"});
    }));
    for (int i = 0; i < 6; ++i) {
      EXPECT_OK((*store)->Read([](ReadTransaction& txn) -> Status {
        RAPPORT_ASSIGN_OR_RETURN(const auto clinics, txn.ListClinics("org-a"));
        EXPECT_EQ(clinics.size(), 1u);
        return Status::Ok();
      }));
    }
  }
  EXPECT_OK(postgres::DropTestDatabase(*url));
}

TEST(OpenStore, AnUnreachablePostgresqlServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  EXPECT_EQ(OpenStore("postgresql://rapport@127.0.0.1:1/none?connect_timeout=2").status().code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rapport::storage
