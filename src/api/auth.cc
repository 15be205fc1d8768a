#include "api/auth.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "api/totp.h"
#include "base/id.h"
#include "base/log.h"
#include "base/password.h"

namespace rapport::api {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The start of the fixed window of length `window` that contains `now`.
Timestamp WindowStart(Timestamp now, std::chrono::minutes window) {
  const int64_t length = duration_cast<milliseconds>(window).count();
  const int64_t millis = ToUnixMillis(now);
  return FromUnixMillis(millis - millis % length);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kHex[static_cast<unsigned char>(c) & 0xF]);
  }
  return out;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  const auto value = [](char c) {
    return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(value(hex[i]) * 16 + value(hex[i + 1])));
  }
  return out;
}

// Recovery codes are typed by people: ten characters from an alphabet without look-alikes,
// shown as two groups of five; compared without case, spaces or dashes.
std::string NormaliseRecoveryCode(std::string_view code) {
  std::string out;
  for (const char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool LooksLikeTotp(std::string_view code) {
  return code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) != 0;
         });
}

}  // namespace

std::string NewTotpSecret(Random& random) {
  std::array<std::byte, 20> secret{};
  random.Fill(secret);
  return std::string(reinterpret_cast<const char*>(secret.data()), secret.size());
}

std::string StoredTotpSecret(std::string_view raw) { return Hex(raw); }
std::string RawTotpSecret(std::string_view stored) { return Unhex(stored); }

RecoveryCodes NewRecoveryCodes(Random& random, int count) {
  static constexpr std::string_view kAlphabet = "abcdefghjkmnpqrstuvwxyz23456789";
  RecoveryCodes out;
  for (int n = 0; n < count; ++n) {
    std::string code;
    for (int i = 0; i < 10; ++i) {
      code.push_back(kAlphabet[static_cast<size_t>(
          random.UniformInt(0, static_cast<int64_t>(kAlphabet.size()) - 1))]);
    }
    out.digests.push_back(Sha256Hex(code));
    out.codes.push_back(code.substr(0, 5) + "-" + code.substr(5));
  }
  return out;
}

bool IsKnownScope(std::string_view scope) { return scope == kScopeRead || scope == kScopeWrite; }

bool Principal::HasScope(std::string_view scope) const {
  if (!api_token) return true;
  const auto& scopes = api_token->scopes;
  // Write implies read.
  if (scope == kScopeRead && std::find(scopes.begin(), scopes.end(), kScopeWrite) != scopes.end())
    return true;
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

AuthService::AuthService(storage::Store& store, const Clock& clock, Random& random,
                         AuthOptions options)
    : store_(store), clock_(clock), random_(random), options_(std::move(options)) {
  auto decoy = HashPassword(NewToken(random_));
  if (decoy.ok()) decoy_hash_ = std::move(decoy).value();
}

bool AuthService::MfaRequired(const domain::User& user) const {
  return std::find(options_.mfa_required_roles.begin(), options_.mfa_required_roles.end(),
                   user.role) != options_.mfa_required_roles.end();
}

Status AuthService::CheckRate(std::string_view key, int limit, std::chrono::minutes window) {
  int64_t count = 0;
  RAPPORT_RETURN_IF_ERROR(store_.Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(count, txn.CountRateEvent(key, WindowStart(clock_.Now(), window)));
    return Status::Ok();
  }));
  if (count > limit) {
    return Status(StatusCode::kResourceExhausted,
                  "too many attempts; try again in " + std::to_string(window.count()) + " minutes");
  }
  return Status::Ok();
}

Result<LoginOutcome> AuthService::Login(const LoginRequest& request) {
  const std::string email = Lower(request.email);
  RAPPORT_RETURN_IF_ERROR(CheckRate("login-address:" + request.address,
                                    options_.login_attempts_per_address, options_.login_window));
  RAPPORT_RETURN_IF_ERROR(CheckRate("login-account:" + email, options_.login_attempts_per_account,
                                    options_.login_window));
  const Status wrong(StatusCode::kUnauthenticated, "e-mail or password is wrong");

  std::optional<domain::User> found;
  RAPPORT_RETURN_IF_ERROR(store_.Read([&](storage::ReadTransaction& txn) -> Status {
    auto user = txn.GetUserByEmail(email);
    if (user.ok()) {
      found = std::move(user).value();
    } else if (user.status().code() != StatusCode::kNotFound) {
      return user.status();
    }
    return Status::Ok();
  }));
  if (!found) {
    (void)VerifyPassword(request.password, decoy_hash_);
    return wrong;
  }
  domain::User user = std::move(*found);
  const Timestamp now = clock_.Now();
  if (user.locked_until && *user.locked_until > now) {
    const auto minutes =
        std::chrono::duration_cast<std::chrono::minutes>(*user.locked_until - now).count() + 1;
    return Status(StatusCode::kResourceExhausted,
                  "this account is locked after repeated failed sign-ins; try again in " +
                      std::to_string(minutes) + " minutes or ask an administrator");
  }

  // Records a failure; locks the account once the failures reach the limit.
  const auto fail = [&](Status status) -> Status {
    RAPPORT_RETURN_IF_ERROR(store_.Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(domain::User current, txn.GetUser(user.org_id, user.id));
      current.failed_logins += 1;
      if (current.failed_logins >= options_.lockout_failures) {
        current.locked_until = now + options_.lockout_duration;
        current.failed_logins = 0;
        log::Info("account locked", {{"user", current.id}, {"address", request.address}});
      }
      return txn.UpdateUser(current);
    }));
    return status;
  };

  if (user.disabled || !VerifyPassword(request.password, user.password_hash)) {
    return fail(wrong);
  }

  LoginOutcome outcome;
  std::optional<int64_t> totp_step;
  std::string recovery_digest;
  if (user.totp_enabled) {
    if (request.totp.empty()) {
      return Status(StatusCode::kUnauthenticated,
                    "a code from your authenticator app (or a recovery code) is needed", "totp");
    }
    if (LooksLikeTotp(request.totp)) {
      totp_step = MatchTotp(RawTotpSecret(user.totp_secret), request.totp, now);
      if (!totp_step) {
        return fail(Status(StatusCode::kUnauthenticated, "the code is wrong or expired", "totp"));
      }
    } else {
      recovery_digest = Sha256Hex(NormaliseRecoveryCode(request.totp));
      outcome.used_recovery_code = true;
    }
  }

  outcome.session_secret = NewToken(random_);
  outcome.session = {Sha256Hex(outcome.session_secret),
                     user.org_id,
                     user.id,
                     NewToken(random_),
                     request.address,
                     now,
                     now,
                     now + options_.session_lifetime};
  Status written = store_.Write([&](storage::WriteTransaction& txn) -> Status {
    if (totp_step) {
      // A code is accepted once: a second sign-in with the same time step is a replay.
      RAPPORT_ASSIGN_OR_RETURN(const int64_t uses,
                               txn.CountRateEvent("totp-step:" + user.org_id + ":" + user.id,
                                                  FromUnixMillis(*totp_step * 30'000)));
      if (uses > 1) {
        return Status(StatusCode::kUnauthenticated, "this code was used already; wait for the next",
                      "totp");
      }
    }
    if (!recovery_digest.empty()) {
      const Status used = txn.UseRecoveryCode(user.org_id, user.id, recovery_digest, now);
      if (used.code() == StatusCode::kNotFound) {
        return Status(StatusCode::kUnauthenticated, "the recovery code is wrong or was used",
                      "totp");
      }
      RAPPORT_RETURN_IF_ERROR(used);
    }
    RAPPORT_ASSIGN_OR_RETURN(domain::User current, txn.GetUser(user.org_id, user.id));
    current.failed_logins = 0;
    current.locked_until.reset();
    RAPPORT_RETURN_IF_ERROR(txn.UpdateUser(current));
    if (!request.previous_session.empty()) {
      RAPPORT_RETURN_IF_ERROR(txn.DeleteAuthSession(Sha256Hex(request.previous_session)));
    }
    return txn.PutAuthSession(outcome.session);
  });
  if (written.code() == StatusCode::kUnauthenticated) return fail(written);
  RAPPORT_RETURN_IF_ERROR(written);
  outcome.user = std::move(user);
  outcome.mfa_enrolment_required = MfaRequired(outcome.user) && !outcome.user.totp_enabled;
  return outcome;
}

Result<Principal> AuthService::Authenticate(const Request& request) {
  const std::string authorization = request.Header("authorization");
  if (!authorization.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization.starts_with(kBearer)) {
      return Status(StatusCode::kUnauthenticated, "Authorization must be 'Bearer <token>'",
                    "authorization");
    }
    return FromApiToken(std::string_view(authorization).substr(kBearer.size()));
  }
  const std::string cookie = request.Cookie(kSessionCookie);
  if (cookie.empty()) {
    return Status(StatusCode::kUnauthenticated, "sign in first");
  }
  return FromSession(cookie);
}

Result<Principal> AuthService::FromSession(std::string_view secret) {
  const Status expired(StatusCode::kUnauthenticated, "the session has ended; sign in again");
  if (!IsWellFormedId(secret)) return expired;
  const std::string digest = Sha256Hex(secret);
  const Timestamp now = clock_.Now();
  Principal principal;
  domain::AuthSession session;
  Status read = store_.Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(session, txn.GetAuthSession(digest));
    RAPPORT_ASSIGN_OR_RETURN(principal.user, txn.GetUser(session.org_id, session.user_id));
    return Status::Ok();
  });
  if (read.code() == StatusCode::kNotFound) return expired;
  RAPPORT_RETURN_IF_ERROR(read);
  const bool timed_out =
      now >= session.expires_at || now - session.last_seen_at >= options_.idle_timeout;
  if (timed_out || principal.user.disabled) {
    RAPPORT_RETURN_IF_ERROR(store_.Write(
        [&](storage::WriteTransaction& txn) { return txn.DeleteAuthSession(digest); }));
    return expired;
  }
  // Activity is recorded at most once a minute: enough for an idle timeout of minutes.
  if (now - session.last_seen_at >= std::chrono::minutes(1)) {
    const Status touched = store_.Write(
        [&](storage::WriteTransaction& txn) { return txn.TouchAuthSession(digest, now); });
    if (touched.code() == StatusCode::kNotFound) return expired;  // signed out meanwhile
    RAPPORT_RETURN_IF_ERROR(touched);
  }
  principal.session_digest = digest;
  principal.csrf_token = session.csrf_token;
  principal.mfa_enrolment_required = MfaRequired(principal.user) && !principal.user.totp_enabled;
  return principal;
}

Result<Principal> AuthService::FromApiToken(std::string_view secret) {
  const Status refused(StatusCode::kUnauthenticated,
                       "the API token is unknown, expired or revoked");
  if (!IsWellFormedId(secret)) return refused;
  Principal principal;
  domain::ApiToken token;
  Status read = store_.Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(token, txn.GetApiTokenByDigest(Sha256Hex(secret)));
    RAPPORT_ASSIGN_OR_RETURN(principal.user, txn.GetUser(token.org_id, token.user_id));
    return Status::Ok();
  });
  if (read.code() == StatusCode::kNotFound) return refused;
  RAPPORT_RETURN_IF_ERROR(read);
  const Timestamp now = clock_.Now();
  if (token.revoked_at || (token.expires_at && now >= *token.expires_at) ||
      principal.user.disabled) {
    return refused;
  }
  principal.api_token = std::move(token);
  // A token is made by a user who signed in (with MFA when required); it acts within scopes.
  principal.mfa_enrolment_required = false;
  return principal;
}

Status AuthService::CheckCsrf(const Principal& principal, const Request& request) {
  if (principal.api_token) return Status::Ok();
  if (request.method == "GET" || request.method == "HEAD") return Status::Ok();
  const std::string sent = request.Header("x-csrf-token");
  const std::string& expected = principal.csrf_token;
  unsigned char difference = sent.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < std::min(sent.size(), expected.size()); ++i) {
    difference |= static_cast<unsigned char>(sent[i] ^ expected[i]);
  }
  if (sent.empty() || difference != 0) {
    return Status(StatusCode::kPermissionDenied,
                  "missing or wrong CSRF token: send the csrf_token from sign-in as X-CSRF-Token",
                  "x-csrf-token");
  }
  return Status::Ok();
}

Status AuthService::Logout(const Principal& principal) {
  if (principal.session_digest.empty()) return Status::Ok();
  return store_.Write([&](storage::WriteTransaction& txn) {
    return txn.DeleteAuthSession(principal.session_digest);
  });
}

Result<int> AuthService::LogoutEverywhere(const Principal& principal) {
  int removed = 0;
  RAPPORT_RETURN_IF_ERROR(store_.Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(
        removed, txn.DeleteAuthSessionsOfUser(principal.user.org_id, principal.user.id));
    return Status::Ok();
  }));
  return removed;
}

Result<TotpEnrolment> AuthService::EnrolTotp(const Principal& principal) {
  const std::string raw = NewTotpSecret(random_);
  RAPPORT_RETURN_IF_ERROR(store_.Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(domain::User user,
                             txn.GetUser(principal.user.org_id, principal.user.id));
    if (user.totp_enabled) {
      return Conflict(
          "multi-factor sign-in is already active; an administrator can reset it to enrol again");
    }
    user.totp_secret = StoredTotpSecret(raw);
    return txn.UpdateUser(user);
  }));
  return TotpEnrolment{Base32Encode(raw), OtpauthUri(options_.issuer, principal.user.email, raw)};
}

Result<std::vector<std::string>> AuthService::ReplaceRecoveryCodes(const Principal& principal,
                                                                   std::string_view code,
                                                                   bool activate) {
  RecoveryCodes fresh = NewRecoveryCodes(random_, options_.recovery_codes);
  RAPPORT_RETURN_IF_ERROR(store_.Write([&](storage::WriteTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(domain::User user,
                             txn.GetUser(principal.user.org_id, principal.user.id));
    if (activate && user.totp_enabled) return Conflict("multi-factor sign-in is already active");
    if (activate && user.totp_secret.empty()) {
      return Conflict("start enrolment first (POST auth/totp/enrol)");
    }
    if (!activate && !user.totp_enabled) return Conflict("multi-factor sign-in is not active");
    if (!MatchTotp(RawTotpSecret(user.totp_secret), code, clock_.Now())) {
      return InvalidArgument("the code does not match; check the device's clock", "code");
    }
    if (activate) {
      user.totp_enabled = true;
      RAPPORT_RETURN_IF_ERROR(txn.UpdateUser(user));
    }
    return txn.PutRecoveryCodes(user.org_id, user.id, fresh.digests);
  }));
  return std::move(fresh.codes);
}

Result<std::vector<std::string>> AuthService::ActivateTotp(const Principal& principal,
                                                           std::string_view code) {
  return ReplaceRecoveryCodes(principal, code, /*activate=*/true);
}

Result<std::vector<std::string>> AuthService::RegenerateRecoveryCodes(const Principal& principal,
                                                                      std::string_view code) {
  return ReplaceRecoveryCodes(principal, code, /*activate=*/false);
}

Result<NewApiToken> AuthService::CreateApiToken(const Principal& principal, std::string_view name,
                                                const std::vector<std::string>& scopes,
                                                std::optional<Timestamp> expires_at) {
  if (principal.api_token) {
    return Status(StatusCode::kPermissionDenied, "API tokens cannot create API tokens");
  }
  if (name.empty() || name.size() > 100) {
    return InvalidArgument("name must be 1 to 100 characters", "name");
  }
  if (scopes.empty()) return InvalidArgument("give at least one scope", "scopes");
  for (const std::string& scope : scopes) {
    if (!IsKnownScope(scope)) {
      return InvalidArgument("unknown scope '" + scope + "' (read, write)", "scopes");
    }
  }
  const Timestamp now = clock_.Now();
  if (expires_at && *expires_at <= now) {
    return InvalidArgument("expires_at must be in the future", "expires_at");
  }
  NewApiToken out;
  out.secret = NewToken(random_);
  out.token = {NewId(random_),
               principal.user.org_id,
               principal.user.id,
               std::string(name),
               Sha256Hex(out.secret),
               scopes,
               now,
               expires_at,
               std::nullopt};
  RAPPORT_RETURN_IF_ERROR(
      store_.Write([&](storage::WriteTransaction& txn) { return txn.PutApiToken(out.token); }));
  return out;
}

std::string AuthService::SessionCookie(const std::string& secret, bool secure) const {
  std::string cookie(kSessionCookie);
  cookie.append("=").append(secret).append("; Path=/; HttpOnly; SameSite=Strict; Max-Age=");
  cookie.append(std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(options_.session_lifetime).count()));
  if (secure) cookie.append("; Secure");
  return cookie;
}

std::string AuthService::ClearedSessionCookie(bool secure) {
  std::string cookie(kSessionCookie);
  cookie.append("=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  if (secure) cookie.append("; Secure");
  return cookie;
}

}  // namespace rapport::api
