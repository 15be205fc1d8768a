// Sign-in, MFA, lockout, rate limits, sessions, CSRF and API tokens through the router, on a
// real SQLite store, with a fake clock.
#include "api/auth.h"

#include "api/test_world.h"
#include "storage/audit_chain.h"

namespace rapport::api {
namespace {

using testing_world::Json;

class AuthTest : public testing_world::World {
 protected:
  // Signs in through the API; returns the response.
  Response Login(const std::string& email, const std::string& password,
                 const std::string& totp = {}, const std::string& address = "10.0.0.1") {
    Json body = {{"email", email}, {"password", password}};
    if (!totp.empty()) body["totp"] = totp;
    return Send({"POST", "/api/v1/auth/login", body.dump(), {}, {}, {}, address});
  }

  // The session secret from a Set-Cookie header.
  static std::string CookieOf(const Response& response) {
    for (const auto& [name, value] : response.headers) {
      if (name != "Set-Cookie") continue;
      const size_t eq = value.find('=');
      return value.substr(eq + 1, value.find(';') - eq - 1);
    }
    return {};
  }

  static std::string HeaderOf(const Response& response, const std::string& wanted) {
    for (const auto& [name, value] : response.headers) {
      if (name == wanted) return value;
    }
    return {};
  }

  const domain::User& User(const std::string& person) { return orgs_.at("a").users.at(person); }
};

TEST_F(AuthTest, SignInSetsAStrictHttpOnlyCookieAndReturnsTheCsrfToken) {
  const Response response = Login("Clinician1@A.example", testing_world::kPassword);
  ASSERT_EQ(response.status, 200) << response.body;
  const std::string cookie = HeaderOf(response, "Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);  // plain HTTP in this test
  const Json body = Body(response);
  EXPECT_EQ(body["user"]["id"], User("clinician1").id);
  EXPECT_EQ(body["user"].count("password_hash"), 0u);
  const std::string csrf = body["csrf_token"];
  EXPECT_GE(csrf.size(), 40u);

  const std::string secret = CookieOf(response);
  const Response me = Send({"GET", "/api/v1/me", "", secret});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(Body(me)["user"]["email"], "clinician1@a.example");
  // Only the digest is stored.
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    EXPECT_EQ(txn.GetAuthSession(secret).status().code(), StatusCode::kNotFound);
    return txn.GetAuthSession(Sha256Hex(secret)).status();
  }));
  // Writes need the CSRF token.
  const Response without = Send({"POST", "/api/v1/clients", R"({"code": "X-1"})", secret});
  EXPECT_EQ(without.status, 403);
  EXPECT_EQ(Body(without)["field"], "x-csrf-token");
  const Response wrong = Send({"POST", "/api/v1/clients", R"({"code": "X-1"})", secret, "nope"});
  EXPECT_EQ(wrong.status, 403);
  const Response with = Send({"POST", "/api/v1/clients", R"({"code": "X-1"})", secret, csrf});
  EXPECT_EQ(with.status, 201) << with.body;
}

TEST_F(AuthTest, WrongPasswordsAndUnknownAccountsGetTheSameAnswer) {
  const Response wrong = Login("clinician1@a.example", "not the password");
  const Response unknown = Login("nobody@a.example", "not the password");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(Body(wrong)["detail"], Body(unknown)["detail"]);
  EXPECT_TRUE(CookieOf(wrong).empty());
}

TEST_F(AuthTest, RepeatedFailuresLockTheAccountForAWhile) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    EXPECT_EQ(Login("clinician1@a.example", "guess " + std::to_string(attempt)).status, 401);
  }
  // Locked: even the right password is refused, with the reason.
  clock_.Advance(std::chrono::minutes(6));  // a new rate-limit window
  const Response locked = Login("clinician1@a.example", testing_world::kPassword);
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_NE(Body(locked)["detail"].get<std::string>().find("locked"), std::string::npos);
  clock_.Advance(std::chrono::minutes(10));
  EXPECT_EQ(Login("clinician1@a.example", testing_world::kPassword).status, 200);
}

TEST_F(AuthTest, AnAdministratorCanUnlockAnAccount) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    Login("clinician2@a.example", "guess " + std::to_string(attempt));
  }
  clock_.Advance(std::chrono::minutes(6));
  EXPECT_EQ(Login("clinician2@a.example", testing_world::kPassword).status, 429);
  const auto [cookie, csrf] = SignIn(User("admin"));
  const Response unlock = Send(
      {"PATCH", "/api/v1/users/" + User("clinician2").id, R"({"unlock": true})", cookie, csrf});
  ASSERT_EQ(unlock.status, 200) << unlock.body;
  EXPECT_EQ(Login("clinician2@a.example", testing_world::kPassword).status, 200);
}

TEST_F(AuthTest, AttemptsFromOneAddressAreRateLimited) {
  int limited = 0;
  for (int attempt = 0; attempt < 40; ++attempt) {
    const Response response =
        Login("nobody" + std::to_string(attempt) + "@a.example", "x", {}, "192.0.2.7");
    if (response.status == 429) {
      ++limited;
      EXPECT_EQ(HeaderOf(response, "Retry-After"), "60");
    }
  }
  EXPECT_EQ(limited, 10);  // 30 allowed per window
  // Another address is not affected.
  EXPECT_EQ(Login("nobody@a.example", "x", {}, "192.0.2.8").status, 401);
}

TEST_F(AuthTest, EnrolledUsersNeedACodeAndACodeWorksOnce) {
  const Response no_code = Login("admin@a.example", testing_world::kPassword);
  EXPECT_EQ(no_code.status, 401);
  EXPECT_EQ(Body(no_code)["field"], "totp");
  const std::string code = Totp(testing_world::kTotpSecret, clock_.Now());
  const Response wrong =
      Login("admin@a.example", testing_world::kPassword, code == "000000" ? "111111" : "000000");
  EXPECT_EQ(wrong.status, 401);
  const Response ok = Login("admin@a.example", testing_world::kPassword, code);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_FALSE(Body(ok)["mfa_enrolment_required"].get<bool>());
  // The same code again is a replay.
  const Response replay = Login("admin@a.example", testing_world::kPassword, code);
  EXPECT_EQ(replay.status, 401);
  EXPECT_NE(Body(replay)["detail"].get<std::string>().find("used already"), std::string::npos);
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_EQ(Login("admin@a.example", testing_world::kPassword,
                  Totp(testing_world::kTotpSecret, clock_.Now()))
                .status,
            200);
}

TEST_F(AuthTest, AdministratorsMustEnrolBeforeAnythingElseAndGetRecoveryCodes) {
  // A new administrator without MFA.
  const auto [admin_cookie, admin_csrf] = SignIn(User("admin"));
  const Response created = Send(
      {"POST", "/api/v1/users",
       R"({"email": "new-admin@a.example", "display_name": "New", "role": "admin", "password": "a long enough password"})",
       admin_cookie, admin_csrf});
  ASSERT_EQ(created.status, 201) << created.body;
  const Response login = Login("new-admin@a.example", "a long enough password");
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_TRUE(Body(login)["mfa_enrolment_required"].get<bool>());
  const std::string cookie = CookieOf(login);
  const std::string csrf = Body(login)["csrf_token"];
  EXPECT_EQ(Send({"GET", "/api/v1/users", "", cookie}).status, 403);
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", cookie}).status, 200);

  const Response enrol = Send({"POST", "/api/v1/auth/totp/enrol", "", cookie, csrf});
  ASSERT_EQ(enrol.status, 200) << enrol.body;
  const std::string secret = *Base32Decode(Body(enrol)["secret"].get<std::string>());
  EXPECT_TRUE(Body(enrol)["otpauth_uri"].get<std::string>().starts_with("otpauth://totp/"));
  EXPECT_TRUE(Body(enrol)["qr_svg"].get<std::string>().starts_with("<svg"));
  const Response bad =
      Send({"POST", "/api/v1/auth/totp/activate", R"({"code": "12"})", cookie, csrf});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["field"], "code");
  const Response activated =
      Send({"POST", "/api/v1/auth/totp/activate", Json{{"code", Totp(secret, clock_.Now())}}.dump(),
            cookie, csrf});
  ASSERT_EQ(activated.status, 200) << activated.body;
  const auto codes = Body(activated)["recovery_codes"].get<std::vector<std::string>>();
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(Send({"GET", "/api/v1/users", "", cookie}).status, 200);

  // A recovery code signs in once, in place of a TOTP code.
  clock_.Advance(std::chrono::minutes(1));
  EXPECT_EQ(Login("new-admin@a.example", "a long enough password", codes[3]).status, 200);
  EXPECT_EQ(Login("new-admin@a.example", "a long enough password", codes[3]).status, 401);
}

TEST_F(AuthTest, SessionsEndWhenIdleAtTheirLifetimeAndOnSignOut) {
  const Response login = Login("clinician1@a.example", testing_world::kPassword);
  const std::string cookie = CookieOf(login);
  const std::string csrf = Body(login)["csrf_token"];
  clock_.Advance(std::chrono::minutes(29));
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", cookie}).status, 200);  // activity
  clock_.Advance(std::chrono::minutes(29));
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", cookie}).status, 200);
  clock_.Advance(std::chrono::minutes(31));
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", cookie}).status, 401);  // idle

  // Absolute lifetime, however active.
  const Response again = Login("clinician1@a.example", testing_world::kPassword);
  const std::string second = CookieOf(again);
  for (int hour = 0; hour < 12; ++hour) {
    for (int step = 0; step < 3; ++step) {
      clock_.Advance(std::chrono::minutes(20));
      Send({"GET", "/api/v1/me", "", second});
    }
  }
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", second}).status, 401);

  // Sign-out ends the session; the old cookie is useless afterwards (no reuse).
  const Response third_login = Login("clinician1@a.example", testing_world::kPassword);
  const std::string third = CookieOf(third_login);
  const std::string third_csrf = Body(third_login)["csrf_token"];
  EXPECT_EQ(Send({"POST", "/api/v1/auth/logout", "", third, third_csrf}).status, 204);
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", third}).status, 401);
  (void)csrf;
}

TEST_F(AuthTest, SignInRotatesTheSessionAndSignOutEverywhereEndsAll) {
  const Response first = Login("clinician1@a.example", testing_world::kPassword);
  const std::string one = CookieOf(first);
  // Signing in again from the same browser replaces its session.
  Json body = {{"email", "clinician1@a.example"}, {"password", testing_world::kPassword}};
  const Response rotated = Send({"POST", "/api/v1/auth/login", body.dump(), one});
  ASSERT_EQ(rotated.status, 200);
  const std::string two = CookieOf(rotated);
  EXPECT_NE(one, two);
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", one}).status, 401);
  const Response elsewhere = Login("clinician1@a.example", testing_world::kPassword);
  const std::string three = CookieOf(elsewhere);
  const Response all = Send(
      {"POST", "/api/v1/auth/logout-all", "", two, Body(rotated)["csrf_token"].get<std::string>()});
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Body(all)["sessions_ended"], 2);
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", three}).status, 401);
}

TEST_F(AuthTest, DisablingAUserEndsTheirSessionsAndTokens) {
  const auto [cookie, csrf] = SignIn(User("clinician2"));
  const auto [admin_cookie, admin_csrf] = SignIn(User("admin"));
  ASSERT_EQ(Send({"PATCH", "/api/v1/users/" + User("clinician2").id, R"({"disabled": true})",
                  admin_cookie, admin_csrf})
                .status,
            200);
  EXPECT_EQ(Send({"GET", "/api/v1/me", "", cookie}).status, 401);
  Call with_token{"GET", "/api/v1/me"};
  with_token.bearer = TokenSecret(User("clinician2"));
  EXPECT_EQ(Send(with_token).status, 401);
  EXPECT_EQ(Login("clinician2@a.example", testing_world::kPassword).status, 401);
}

TEST_F(AuthTest, ApiTokensAreShownOnceScopedAndRevocable) {
  const auto [cookie, csrf] = SignIn(User("clinician1"));
  const Response created = Send(
      {"POST", "/api/v1/tokens", R"({"name": "EHR bridge", "scopes": ["read"]})", cookie, csrf});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string secret = Body(created)["token"];
  const std::string id = Body(created)["id"];
  const Response listed = Send({"GET", "/api/v1/tokens", "", cookie});
  EXPECT_EQ(listed.body.find(secret), std::string::npos);

  Call read{"GET", "/api/v1/clients"};
  read.bearer = secret;
  EXPECT_EQ(Send(read).status, 200);
  Call write{"POST", "/api/v1/clients", R"({"code": "T-1"})"};
  write.bearer = secret;
  EXPECT_EQ(Send(write).status, 403);
  Call mint{"POST", "/api/v1/tokens", R"({"name": "x", "scopes": ["read"]})"};
  mint.bearer = World::TokenSecret(User("clinician1"));
  EXPECT_EQ(Send(mint).status, 403);

  const Response bad_scope =
      Send({"POST", "/api/v1/tokens", R"({"name": "x", "scopes": ["admin"]})", cookie, csrf});
  EXPECT_EQ(bad_scope.status, 400);
  EXPECT_EQ(Body(bad_scope)["field"], "scopes");

  EXPECT_EQ(Send({"DELETE", "/api/v1/tokens/" + id, "", cookie, csrf}).status, 204);
  EXPECT_EQ(Send(read).status, 401);
  Call malformed{"GET", "/api/v1/me"};
  malformed.bearer = "not a token";
  EXPECT_EQ(Send(malformed).status, 401);
}

TEST_F(AuthTest, BadBodiesNameTheField) {
  const Response unknown = Send({"POST", "/api/v1/auth/login", R"({"email": "a", "pass": "b"})"});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(Body(unknown)["field"], "pass");
  const Response missing = Send({"POST", "/api/v1/auth/login", R"({"email": "a"})"});
  EXPECT_EQ(Body(missing)["field"], "password");
  const Response not_json = Send({"POST", "/api/v1/auth/login", "{"});
  EXPECT_EQ(Body(not_json)["field"], "body");
  const auto [cookie, csrf] = SignIn(User("clinician1"));
  const Response long_code =
      Send({"POST", "/api/v1/clients", Json{{"code", std::string(500, 'x')}}.dump(), cookie, csrf});
  EXPECT_EQ(long_code.status, 400);
  EXPECT_EQ(Body(long_code)["field"], "code");
  const Response bad_enum =
      Send({"POST", "/api/v1/episodes", R"({"client_ids": ["client-a"], "modality": "solo"})",
            cookie, csrf});
  EXPECT_EQ(bad_enum.status, 400);
  EXPECT_EQ(Body(bad_enum)["field"], "modality");
}

TEST_F(AuthTest, EveryStaffCallAndSignInIsAuditedInAChainThatVerifies) {
  ASSERT_EQ(Login("clinician1@a.example", testing_world::kPassword, {}, "203.0.113.9").status, 200);
  const auto [cookie, csrf] = SignIn(User("clinician1"));
  const std::string episode = "/api/v1/episodes/" + orgs_.at("a").episode_id + "/dashboard";
  ASSERT_EQ(Send({"GET", episode, "", cookie}).status, 200);
  // Denied reads are recorded too.
  ASSERT_EQ(Send({"GET", "/api/v1/episodes/" + orgs_.at("b").episode_id, "", cookie}).status, 404);
  const auto [admin_cookie, admin_csrf] = SignIn(User("admin"));
  const Response listed = Send({"GET", "/api/v1/audit?limit=10", "", admin_cookie});
  ASSERT_EQ(listed.status, 200) << listed.body;
  const Json events = Body(listed)["events"];
  ASSERT_EQ(events.size(), 3u) << listed.body;
  EXPECT_EQ(events[0]["action"], "login");
  EXPECT_EQ(events[0]["address"], "203.0.113.9");
  EXPECT_EQ(events[1]["action"], "read");
  EXPECT_EQ(events[1]["resource"], episode);
  EXPECT_EQ(events[1]["actor"], User("clinician1").id);
  EXPECT_EQ(events[2]["detail"], "404");
  ASSERT_OK(store_->Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const auto stored, txn.ListAudit(orgs_.at("a").id, 0, 1000));
    RAPPORT_ASSIGN_OR_RETURN(const auto head, txn.GetAuditHead(orgs_.at("a").id));
    const auto verified = storage::VerifyAuditChain(orgs_.at("a").id, stored, head);
    EXPECT_TRUE(verified.ok()) << verified.problem->message;
    EXPECT_EQ(verified.events, 4);  // and the admin's own read
    RAPPORT_ASSIGN_OR_RETURN(const auto other, txn.ListAudit(orgs_.at("b").id, 0, 1000));
    EXPECT_TRUE(other.empty());
    return Status::Ok();
  }));
  (void)admin_csrf;
  (void)csrf;
}

}  // namespace
}  // namespace rapport::api
