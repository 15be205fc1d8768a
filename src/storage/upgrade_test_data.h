// What both backends' upgrade tests (sqlite/ and postgres/migrations_test.cc) write into a
// database at schema version 2, in SQL both accept, and what a store migrated from it to the
// latest version must read back.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "storage/store.h"
#include "testing/testing.h"

namespace rapport::storage::upgrade_test {

// One response with its answers stored out of position order and two scoring versions.
inline constexpr std::string_view kVersionTwoRows =
    "INSERT INTO organizations VALUES ('org', 'Org', 0);"
    "INSERT INTO episodes VALUES ('org', 'e', 'c', 'individual', 0, NULL, NULL);"
    "INSERT INTO sessions VALUES ('org', 's', 'e', 1, 1000, 'attended');"
    "INSERT INTO responses VALUES ('org', 'r', '', 's', 'client', 'client', NULL, 'phq-9', 2000);"
    "INSERT INTO answers VALUES ('org', 'r', 1, 'b', NULL);"
    "INSERT INTO answers VALUES ('org', 'r', 0, 'a', 2.5);"
    "INSERT INTO scores VALUES ('org', 'r', 'phq-9', '0', 9, 'mild', '{}', '[]');"
    "INSERT INTO scores VALUES ('org', 'r', 'phq-9', '1', 12, 'moderate', '{\"s\":null}', "
    "'[\"risk\"]');";

inline Status ExpectVersionTwoRowsMigrated(ReadTransaction& txn) {
  RAPPORT_ASSIGN_OR_RETURN(
      const auto observations,
      txn.ListObservations("org", "phq-9", FromUnixMillis(0), FromUnixMillis(10'000)));
  EXPECT_EQ(observations.size(), 1u);
  if (!observations.empty()) {
    EXPECT_EQ(observations[0].total, 12.0);
  }
  // Answers in their positions' order and the latest scoring version, in the response's row
  // since migration 9.
  RAPPORT_ASSIGN_OR_RETURN(const auto responses, txn.ListResponsesForEpisode("org", "e"));
  EXPECT_EQ(responses.size(), 1u);
  if (!responses.empty()) {
    const std::vector<domain::ItemAnswer> answers = {{"a", 2.5}, {"b", std::nullopt}};
    EXPECT_EQ(responses[0].answers, answers);
    const domain::Score score = {"phq-9", "1", 12.0, {{"s", std::nullopt}}, "moderate", {"risk"}};
    EXPECT_EQ(responses[0].score, score);
  }
  EXPECT_EQ(txn.GetFittedModel("org", "etr", "phq-9").status().code(), StatusCode::kNotFound);
  RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, txn.GetAuditHead("org"));
  EXPECT_EQ(head.seq, 0);
  return Status::Ok();
}

}  // namespace rapport::storage::upgrade_test
