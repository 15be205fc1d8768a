#include "alliance/alerts.h"

#include "testing/testing.h"

namespace rapport::alliance {
namespace {

using domain::Alert;
using domain::AlertStatus;

Signal MakeSignal(const std::string& key, int session, bool active = true) {
  Signal signal;
  signal.kind = "low-alliance";
  signal.key = key;
  signal.client_id = "c";
  signal.session_number = signal.last_session_number = session;
  signal.active = active;
  if (!active) signal.resolution = "repaired";
  signal.evidence = {{"session", session}};
  return signal;
}

class Reconcile : public ::testing::Test {
 protected:
  std::vector<AlertChange> Run(const std::vector<Signal>& signals) {
    auto changes = ReconcileAlerts(stored_, signals, "org", "ep", clock_.Now(),
                                   [&] { return "a" + std::to_string(next_id_++); });
    for (const AlertChange& change : changes) {
      if (change.is_new) {
        stored_.push_back(change.alert);
      } else {
        for (Alert& a : stored_) {
          if (a.id == change.alert.id) a = change.alert;
        }
      }
    }
    clock_.Advance(std::chrono::minutes(1));
    return changes;
  }
  testing::FakeClock clock_;
  std::vector<Alert> stored_;
  int next_id_ = 1;
};

TEST_F(Reconcile, DuplicatesMergeIntoOneAlert) {
  ASSERT_EQ(Run({MakeSignal("k", 1)}).size(), 1u);
  const auto changes = Run({MakeSignal("k", 2)});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].is_new);
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_EQ(stored_[0].session_number, 1);
  EXPECT_EQ(stored_[0].last_session_number, 2);
  EXPECT_TRUE(Run({MakeSignal("k", 2)}).empty()) << "nothing new, nothing written";
}

TEST_F(Reconcile, ARepeatedKeyInOneEvaluationMakesOneAlert) {
  const auto changes = Run({MakeSignal("k", 1), MakeSignal("k", 1)});
  EXPECT_EQ(changes.size(), 1u);
  EXPECT_EQ(stored_.size(), 1u);
}

TEST_F(Reconcile, ResolvesAutomaticallyWhenTheConditionClears) {
  Run({MakeSignal("k", 1)});
  Run({});
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_EQ(stored_[0].status, AlertStatus::kResolved);
  EXPECT_EQ(stored_[0].resolution, "condition-cleared");
  EXPECT_EQ(stored_[0].resolved_by, "rapport");
}

TEST_F(Reconcile, ARepairResolvesTheRuptureAlert) {
  Run({MakeSignal("rupture", 2)});
  Run({MakeSignal("rupture", 3, /*active=*/false)});
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_EQ(stored_[0].status, AlertStatus::kResolved);
  EXPECT_EQ(stored_[0].resolution, "repaired");
  EXPECT_TRUE(Run({MakeSignal("rupture", 3, false)}).empty());
}

TEST_F(Reconcile, StaffResolutionIsNotUndoneButNewEvidenceRaisesAgain) {
  Run({MakeSignal("k", 1)});
  ASSERT_OK(Resolve(stored_[0], "user-1", clock_.Now()));
  EXPECT_TRUE(Run({MakeSignal("k", 1)}).empty());
  const auto changes = Run({MakeSignal("k", 2)});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].is_new);
}

TEST(AlertLifecycle, OpenAcknowledgedResolvedWithWhoAndWhen) {
  testing::FakeClock clock;
  Alert alert;
  EXPECT_EQ(Acknowledge(alert, "", clock.Now()).field(), "by");
  ASSERT_OK(Acknowledge(alert, "user-1", clock.Now()));
  EXPECT_EQ(alert.status, AlertStatus::kAcknowledged);
  EXPECT_EQ(alert.acknowledged_by, "user-1");
  EXPECT_EQ(Acknowledge(alert, "user-1", clock.Now()).code(), StatusCode::kConflict);
  ASSERT_OK(Resolve(alert, "user-2", clock.Now()));
  EXPECT_EQ(alert.resolved_by, "user-2");
  EXPECT_EQ(alert.resolution, "staff");
  EXPECT_EQ(Resolve(alert, "user-2", clock.Now()).code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace rapport::alliance
