// `rapport demo`: a demo organisation with simulated history and open check-ins.
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
};

struct DemoData {
  std::vector<DemoAccount> accounts;
  std::vector<std::string> checkin_tokens;
};

// Populates an empty store: organisation, clinic, staff accounts, a simulated cohort
// (seeded by `seed`), and an open check-in for the next session of every ongoing episode,
// plus `extra_checkins` more spread over those sessions (for load and shutdown tests).
Result<DemoData> CreateDemo(storage::Store& store, const instruments::Catalog& catalog,
                            uint64_t seed, int extra_checkins = 0);

// Writes DIR/demo-accounts.json: {"url", "accounts": [...], "checkin_links": [...]}.
Status WriteDemoAccounts(const std::filesystem::path& file, const std::string& base_url,
                         const DemoData& data);
// Reads it back (tokens are recovered from the links).
Result<DemoData> ReadDemoAccounts(const std::filesystem::path& file);

}  // namespace rapport::cli
