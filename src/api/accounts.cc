#include "api/accounts.h"

#include <algorithm>
#include <cctype>

#include "base/clock.h"
#include "base/id.h"

namespace rapport::api {
namespace {

Status CheckClinic(storage::ReadTransaction& txn, std::string_view org_id,
                   std::string_view clinic_id) {
  if (clinic_id.empty()) return Status::Ok();
  RAPPORT_ASSIGN_OR_RETURN(const auto clinics, txn.ListClinics(org_id));
  const bool known = std::any_of(clinics.begin(), clinics.end(), [&](const domain::Clinic& clinic) {
    return clinic.id == clinic_id;
  });
  if (!known) return InvalidArgument("no such clinic in this organisation", "clinic_id");
  return Status::Ok();
}

}  // namespace

std::string NewPassword(Random& random) {
  const std::string raw = NewToken(random);
  return raw.substr(0, 5) + "-" + raw.substr(5, 5) + "-" + raw.substr(10, 5) + "-" +
         raw.substr(15, 5);
}

nlohmann::json AccountJson(const domain::User& user) {
  return {{"id", user.id},
          {"org_id", user.org_id},
          {"clinic_id", user.clinic_id},
          {"email", user.email},
          {"display_name", user.display_name},
          {"role", domain::Name(user.role)},
          {"disabled", user.disabled},
          {"mfa_enabled", user.totp_enabled},
          {"locked", user.locked_until.has_value()},
          {"created_at", FormatTimestamp(user.created_at)}};
}

Result<std::string> NormaliseEmail(std::string_view email) {
  std::string out(email);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t at = out.find('@');
  if (out.size() > 254 || at == std::string::npos || at == 0 || at + 1 == out.size() ||
      out.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("email must be an e-mail address", "email");
  }
  return out;
}

Status CheckPassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return InvalidArgument(
        "password must have at least " + std::to_string(kMinPasswordLength) + " characters",
        "password");
  }
  if (password.size() > kMaxPasswordLength) {
    return InvalidArgument(
        "password must have at most " + std::to_string(kMaxPasswordLength) + " characters",
        "password");
  }
  return Status::Ok();
}

Status CreateAccount(storage::WriteTransaction& txn, const domain::User& user) {
  RAPPORT_RETURN_IF_ERROR(CheckClinic(txn, user.org_id, user.clinic_id));
  const Status stored = txn.PutUser(user);
  if (stored.code() == StatusCode::kConflict) {
    return Status(StatusCode::kConflict, "this e-mail address has an account", "email");
  }
  return stored;
}

Result<domain::User> ChangeAccount(storage::WriteTransaction& txn, std::string_view org_id,
                                   std::string_view user_id, const AccountChange& change) {
  RAPPORT_ASSIGN_OR_RETURN(domain::User user, txn.GetUser(org_id, user_id));
  if (change.display_name) user.display_name = *change.display_name;
  if (change.role) user.role = *change.role;
  if (change.clinic_id) {
    RAPPORT_RETURN_IF_ERROR(CheckClinic(txn, org_id, *change.clinic_id));
    user.clinic_id = *change.clinic_id;
  }
  if (change.disabled) user.disabled = *change.disabled;
  if (change.unlock) {
    user.locked_until.reset();
    user.failed_logins = 0;
  }
  if (change.reset_mfa) {
    user.totp_enabled = false;
    user.totp_secret.clear();
    RAPPORT_RETURN_IF_ERROR(txn.PutRecoveryCodes(user.org_id, user.id, {}));
  }
  if (!change.password_hash.empty()) user.password_hash = change.password_hash;
  RAPPORT_RETURN_IF_ERROR(txn.UpdateUser(user));
  if (user.disabled || !change.password_hash.empty() || change.reset_mfa) {
    RAPPORT_RETURN_IF_ERROR(txn.DeleteAuthSessionsOfUser(user.org_id, user.id).status());
  }
  return user;
}

}  // namespace rapport::api
