// Password hashing with Argon2id (libsodium crypto_pwhash_str; DESIGN.md §9).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace rapport {

// An encoded Argon2id hash ("$argon2id$v=19$m=...") with a random salt. Errors: out of
// memory → kResourceExhausted.
Result<std::string> HashPassword(std::string_view password);
// True when `password` matches `encoded_hash`. Constant time in the password.
bool VerifyPassword(std::string_view password, const std::string& encoded_hash);

}  // namespace rapport
