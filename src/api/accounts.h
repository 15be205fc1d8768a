// Staff accounts: the rules shared by the API (/api/v1/users) and the `rapport org` and
// `rapport user` commands, so an account made or changed either way is checked the same way.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/random.h"
#include "base/status.h"
#include "domain/types.h"
#include "storage/store.h"

namespace rapport::api {

inline constexpr size_t kMinPasswordLength = 12;
inline constexpr size_t kMaxPasswordLength = 1024;

// A random password to hand to a new user (or after a reset): four groups of five URL-safe
// characters, about 119 bits.
std::string NewPassword(Random& random);

// An account as the API and the console show it: never its password hash, TOTP secret or
// lockout counters, only whether multi-factor sign-in is on and whether it is locked.
nlohmann::json AccountJson(const domain::User& user);

// Lower-cased; kInvalidArgument (field "email") unless it looks like an address.
Result<std::string> NormaliseEmail(std::string_view email);

// kInvalidArgument (field "password") when shorter than kMinPasswordLength or longer than
// kMaxPasswordLength.
Status CheckPassword(std::string_view password);

// Stores a new account. kConflict (field "email") when the address has an account already;
// kInvalidArgument (field "clinic_id") when the clinic is not the organisation's.
// REQUIRES: the email is normalised and the password hash made (outside the write: hashing
// is deliberately slow).
Status CreateAccount(storage::WriteTransaction& txn, const domain::User& user);

// A change to an account; absent members stay as they are.
struct AccountChange {
  std::optional<std::string> display_name;
  std::optional<domain::Role> role;
  std::optional<std::string> clinic_id;  // empty: organisation-wide
  std::optional<bool> disabled;
  std::string password_hash;  // a new password, hashed; empty: unchanged
  bool unlock = false;        // clear a lockout and the failure count
  bool reset_mfa = false;     // forget the TOTP secret and recovery codes (enrol again)
};

// Applies `change` to the stored account `user_id` of `org_id` and returns it. Disabling,
// a new password or an MFA reset also ends every session of the user.
// Errors: kNotFound; kInvalidArgument (field "clinic_id") for another organisation's clinic.
Result<domain::User> ChangeAccount(storage::WriteTransaction& txn, std::string_view org_id,
                                   std::string_view user_id, const AccountChange& change);

}  // namespace rapport::api
