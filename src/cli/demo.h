// `rapport demo`: demo organisations with simulated history and open check-ins.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "instruments/catalog.h"
#include "storage/store.h"

namespace rapport::cli {

struct DemoAccount {
  std::string org;
  std::string role;
  std::string email;
  std::string password;
  // Administrators are enrolled in multi-factor sign-in: the TOTP secret in base32 (for an
  // authenticator app, or `oathtool --totp -b SECRET`) and their single-use recovery codes.
  std::string totp_secret;
  std::vector<std::string> recovery_codes;
};

struct DemoData {
  std::vector<DemoAccount> accounts;
  std::vector<std::string> checkin_tokens;
};

// Populates an empty store with two organisations, each with a clinic, staff accounts (an
// administrator enrolled in multi-factor sign-in, a supervisor, two clinicians and a
// researcher), a simulated cohort (seeded by `seed` and `seed + 1`), and an open check-in for
// the next session of every ongoing episode. For load and shutdown tests, `extra_checkins`
// more in the first organisation, each for a session of its own in episodes of 12 sessions of
// new clients; their links follow the cohorts', ordered session
// number first (every episode's first session, then every second one, ...). Written in
// transactions of at most 20,000 rows of a kind, so a million takes seconds, not one huge
// transaction. With `therapist_team`, a third organisation (seeded by `seed + 2`) whose five
// clinicians have 36 simulated clients each with planted therapist effects on PHQ-9, so that
// therapist effects can be estimated and shown (SCIENCE.md §8). REQUIRES: extra_checkins >= 0.
Result<DemoData> CreateDemo(storage::Store& store, const instruments::Catalog& catalog,
                            uint64_t seed, int extra_checkins = 0, bool therapist_team = false);

// Writes DIR/demo-accounts.json: {"url", "accounts": [...], "checkin_links": [...]}.
Status WriteDemoAccounts(const std::filesystem::path& file, const std::string& base_url,
                         const DemoData& data);
// Reads it back (tokens are recovered from the links).
Result<DemoData> ReadDemoAccounts(const std::filesystem::path& file);

}  // namespace rapport::cli
