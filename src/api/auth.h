// Staff authentication (DESIGN.md §9; docs/security.md): sign-in with an Argon2id password and,
// when enrolled or required, a TOTP code or a recovery code; lockout and rate limits; browser
// sessions as HttpOnly cookies with a CSRF token; scoped, revocable API tokens. Every piece of
// state lives in the Store, so several servers on one database act as one.
//
// Secrets (session cookies, API tokens, recovery codes) are 256-bit random values shown once;
// only their SHA-256 digests are stored.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "base/clock.h"
#include "base/random.h"
#include "base/status.h"
#include "domain/types.h"
#include "storage/store.h"

namespace rapport::api {

struct AuthOptions {
  std::chrono::minutes session_lifetime{12 * 60};  // absolute, from sign-in
  std::chrono::minutes idle_timeout{30};           // since the last request
  // Consecutive failed sign-ins that lock an account, and for how long.
  int lockout_failures = 5;
  std::chrono::minutes lockout_duration{15};
  // Sign-in attempts allowed per window from one address and for one e-mail address.
  int login_attempts_per_address = 30;
  int login_attempts_per_account = 10;
  std::chrono::minutes login_window{5};
  // Roles that must enrol in multi-factor sign-in before doing anything else.
  std::vector<domain::Role> mfa_required_roles = {domain::Role::kAdmin};
  std::string issuer = "Rapport";  // shown by authenticator apps
  int recovery_codes = 10;
};

// The name of the session cookie.
inline constexpr std::string_view kSessionCookie = "rapport_session";

// API token scopes.
inline constexpr std::string_view kScopeRead = "read";
inline constexpr std::string_view kScopeWrite = "write";
bool IsKnownScope(std::string_view scope);

// A new TOTP shared secret: 160 random bits (RFC 4226 §4, R6), as raw bytes.
std::string NewTotpSecret(Random& random);
// How a TOTP secret is kept on domain::User (hex), and back to raw bytes.
std::string StoredTotpSecret(std::string_view raw);
std::string RawTotpSecret(std::string_view stored);

// Single-use recovery codes as shown to the user ("abcde-23456": ten characters from an
// alphabet without look-alikes) and the SHA-256 digests of their normal form, to be stored.
struct RecoveryCodes {
  std::vector<std::string> codes;
  std::vector<std::string> digests;
};
RecoveryCodes NewRecoveryCodes(Random& random, int count);

// Who is calling, once authenticated.
struct Principal {
  domain::User user;
  // Browser sessions: the session's digest and CSRF token. Empty for API tokens.
  std::string session_digest;
  std::string csrf_token;
  // API tokens: the token (its scopes bound what it may do).
  std::optional<domain::ApiToken> api_token;
  // The user's role must enrol in multi-factor sign-in and has not yet.
  bool mfa_enrolment_required = false;

  bool HasScope(std::string_view scope) const;
};

struct LoginRequest {
  std::string email;
  std::string password;
  std::string totp;  // a 6-digit code or a recovery code; empty when not given
  std::string address;
  // The session cookie the browser presented, if any: replaced (rotation at sign-in).
  std::string previous_session;
};

struct LoginOutcome {
  std::string session_secret;  // the cookie's value
  domain::AuthSession session;
  domain::User user;
  bool mfa_enrolment_required = false;
  bool used_recovery_code = false;
};

struct TotpEnrolment {
  std::string secret_base32;
  std::string otpauth_uri;
};

struct NewApiToken {
  std::string secret;  // shown once
  domain::ApiToken token;
};

// Thread safety: safe to use from many threads at once.
class AuthService {
 public:
  // REQUIRES: every argument outlives the service.
  AuthService(storage::Store& store, const Clock& clock, Random& random, AuthOptions options);

  // Errors (all problem+json at the edge):
  //  kUnauthenticated "e-mail or password is wrong" (never says which), or with field "totp"
  //  when a code is needed or wrong;
  //  kResourceExhausted when the address or account exceeded its attempts or the account is
  //  locked (the message says until when).
  Result<LoginOutcome> Login(const LoginRequest& request);

  // The principal of a request: `Authorization: Bearer <token>` or the session cookie.
  // kUnauthenticated when there is neither, or it is unknown, expired, idle too long, revoked,
  // or its user is disabled.
  Result<Principal> Authenticate(const Request& request);

  // kPermissionDenied unless a cookie-authenticated state-changing request carries the
  // session's CSRF token in X-CSRF-Token. API-token requests need none.
  static Status CheckCsrf(const Principal& principal, const Request& request);

  Status Logout(const Principal& principal);
  // Ends every session of the principal's user; returns how many.
  Result<int> LogoutEverywhere(const Principal& principal);

  // Starts (or restarts) enrolment: a new secret, not yet active. kConflict when already
  // active (reset by an administrator first).
  Result<TotpEnrolment> EnrolTotp(const Principal& principal);
  // Activates the pending secret when `code` is valid; returns fresh recovery codes.
  // kInvalidArgument (field "code") when the code is wrong; kConflict when nothing is pending.
  Result<std::vector<std::string>> ActivateTotp(const Principal& principal, std::string_view code);
  // Replaces the recovery codes; needs a current TOTP code. Returns the new codes.
  Result<std::vector<std::string>> RegenerateRecoveryCodes(const Principal& principal,
                                                           std::string_view code);

  // Creates an API token for the principal's user. kInvalidArgument naming "scopes" or
  // "name" for bad values. Tokens cannot create tokens (kPermissionDenied).
  Result<NewApiToken> CreateApiToken(const Principal& principal, std::string_view name,
                                     const std::vector<std::string>& scopes,
                                     std::optional<Timestamp> expires_at);

  // Counts one event for `key`; kResourceExhausted when more than `limit` in `window`.
  Status CheckRate(std::string_view key, int limit, std::chrono::minutes window);

  const AuthOptions& options() const { return options_; }
  // The Set-Cookie value for a new session, and one that removes it.
  std::string SessionCookie(const std::string& secret, bool secure) const;
  static std::string ClearedSessionCookie(bool secure);

 private:
  Result<Principal> FromSession(std::string_view secret);
  Result<Principal> FromApiToken(std::string_view secret);
  bool MfaRequired(const domain::User& user) const;
  // Stores fresh recovery codes once `code` matches the user's TOTP secret: activating a
  // pending secret (`activate`) or replacing the codes of an active one.
  Result<std::vector<std::string>> ReplaceRecoveryCodes(const Principal& principal,
                                                        std::string_view code, bool activate);

  storage::Store& store_;
  const Clock& clock_;
  Random& random_;
  AuthOptions options_;
  // An Argon2id hash of a random password: verified against for unknown e-mail addresses so
  // that the time taken does not reveal which addresses exist.
  std::string decoy_hash_;
};

}  // namespace rapport::api
