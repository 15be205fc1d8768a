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
  World(const std::filesystem::path& path, const instruments::Catalog& catalog, const Clock& clock)
      : catalog_(catalog) {
    auto store = storage::OpenStore("sqlite:" + path.string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    service_ = std::make_unique<CheckinService>(*store_, catalog, clock, DefaultRandom());
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

}  // namespace
}  // namespace rapport::api
