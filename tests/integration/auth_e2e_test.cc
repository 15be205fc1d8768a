// Staff sign-in, multi-factor codes, lockout, CSRF, session and token reuse, and the clinical
// workflow (client, episode, session, check-in link, answers, dashboard) through the real
// `rapport demo` binary on a loopback port, with its two demo organisations. The one-time
// codes are computed here from the secret in demo-accounts.json as an authenticator app would
// (RFC 6238 with OpenSSL's HMAC), independently of the server's own implementation.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;
using testing::Http;
using testing::HttpResult;
using Headers = std::vector<std::pair<std::string, std::string>>;

std::string Base32Decode(std::string_view text) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) continue;
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// The six-digit TOTP code of a base32 secret at `step` 30-second steps from now.
std::string TotpCode(const std::string& secret_base32, int step = 0) {
  const std::string key = Base32Decode(secret_base32);
  const int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  uint64_t counter = static_cast<uint64_t>(seconds / 30 + step);
  std::array<unsigned char, 8> message{};
  for (int i = 7; i >= 0; --i, counter >>= 8) message[static_cast<size_t>(i)] = counter & 0xFF;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), message.data(), message.size(), digest,
       &length);
  const int offset = digest[length - 1] & 0x0F;
  const uint32_t binary = (static_cast<uint32_t>(digest[offset] & 0x7F) << 24) |
                          (static_cast<uint32_t>(digest[offset + 1]) << 16) |
                          (static_cast<uint32_t>(digest[offset + 2]) << 8) |
                          static_cast<uint32_t>(digest[offset + 3]);
  std::string code = std::to_string(binary % 1000000);
  return std::string(6 - code.size(), '0') + code;
}

// A signed-in browser: the session cookie and the CSRF token the sign-in returned.
struct Session {
  std::string cookie;  // "rapport_session=..."
  std::string csrf;
  Json user;
};

std::string SetCookieValue(const HttpResult& result) {
  const auto it = result.headers.find("set-cookie");
  if (it == result.headers.end()) return {};
  return it->second.substr(0, it->second.find(';'));
}

class AuthEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.emplace(std::vector<std::string>{testing::RapportBinary().string(), "demo",
                                             "--data-dir", dir_.path().string()});
    ASSERT_TRUE(server_->started()) << server_->output();
    accounts_ = Json::parse(testing::ReadFileText(dir_.path() / "demo-accounts.json"));
  }

  int port() const { return server_->port(); }

  // The demo account of `role` in organisation `org` (0 or 1).
  const Json& Account(int org, const std::string& role) const {
    std::vector<std::string> orgs;
    for (const Json& account : accounts_["accounts"]) {
      const std::string name = account["org"];
      if (std::find(orgs.begin(), orgs.end(), name) == orgs.end()) orgs.push_back(name);
      if (orgs.size() == static_cast<size_t>(org + 1) && name == orgs.back() &&
          account["role"] == role) {
        return account;
      }
    }
    ADD_FAILURE() << "no " << role << " in organisation " << org;
    return accounts_;
  }

  HttpResult Login(const std::string& email, const std::string& password,
                   const std::string& totp = {}, const Headers& headers = {}) {
    Json body = {{"email", email}, {"password", password}};
    if (!totp.empty()) body["totp"] = totp;
    return Http(port(), "POST", "/api/v1/auth/login", body.dump(), "application/json", headers);
  }

  Session SignIn(const Json& account, const std::string& totp = {}) {
    const HttpResult result = Login(account["email"], account["password"], totp);
    EXPECT_EQ(result.status, 200) << result.body;
    const Json body = Json::parse(result.body, nullptr, false);
    if (!body.is_object()) return {};
    return {SetCookieValue(result), body.value("csrf_token", ""), body.value("user", Json())};
  }

  // A request as the signed-in browser: the cookie, and the CSRF token unless `csrf` is false.
  HttpResult As(const Session& session, const std::string& method, const std::string& target,
                const std::string& body = {}, bool csrf = true) {
    Headers headers = {{"Cookie", session.cookie}};
    if (csrf) headers.emplace_back("X-CSRF-Token", session.csrf);
    return Http(port(), method, target, body, body.empty() ? "" : "application/json", headers);
  }

  HttpResult WithToken(const std::string& token, const std::string& method,
                       const std::string& target, const std::string& body = {}) {
    return Http(port(), method, target, body, body.empty() ? "" : "application/json",
                {{"Authorization", "Bearer " + token}});
  }

  static Json BodyOf(const HttpResult& result) {
    return Json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  }

  testing::TempDir dir_;
  std::optional<testing::ServerProcess> server_;
  Json accounts_;
};

TEST_F(AuthEndToEnd, TheDemoListsTwoOrganisationsWithEveryRole) {
  std::map<std::string, std::set<std::string>> roles;
  for (const Json& account : accounts_["accounts"]) roles[account["org"]].insert(account["role"]);
  ASSERT_EQ(roles.size(), 2u) << accounts_.dump(2);
  for (const auto& [org, present] : roles) {
    for (const char* role : {"admin", "supervisor", "clinician", "researcher"}) {
      EXPECT_TRUE(present.contains(role)) << org << " has no " << role;
    }
  }
  for (int org = 0; org < 2; ++org) {
    const Json& admin = Account(org, "admin");
    EXPECT_FALSE(admin.value("totp_secret", "").empty());
    EXPECT_EQ(admin["recovery_codes"].size(), 10u);
  }
}

TEST_F(AuthEndToEnd, SignInSetsAStrictHttpOnlyCookieAndWritesNeedTheCsrfToken) {
  const Json& clinician = Account(0, "clinician");
  const HttpResult login = Login(clinician["email"], clinician["password"]);
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.headers.at("set-cookie");
  EXPECT_EQ(set_cookie.rfind("rapport_session=", 0), 0u) << set_cookie;
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain HTTP, no proxy";
  const Json body = BodyOf(login);
  EXPECT_EQ(body["user"]["email"], clinician["email"]);
  EXPECT_FALSE(body["user"].contains("password_hash"));
  const Session session{SetCookieValue(login), body["csrf_token"], body["user"]};

  const HttpResult me = As(session, "GET", "/api/v1/me", {}, /*csrf=*/false);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(BodyOf(me)["user"]["email"], clinician["email"]);

  const std::string client = R"({"code": "E2E-1", "language": "en"})";
  const HttpResult without = As(session, "POST", "/api/v1/clients", client, /*csrf=*/false);
  EXPECT_EQ(without.status, 403) << without.body;
  EXPECT_EQ(BodyOf(without).value("field", ""), "x-csrf-token");
  const HttpResult forged = Http(port(), "POST", "/api/v1/clients", client, "application/json",
                                 {{"Cookie", session.cookie}, {"X-CSRF-Token", "forged"}});
  EXPECT_EQ(forged.status, 403) << forged.body;
  const HttpResult created = As(session, "POST", "/api/v1/clients", client);
  EXPECT_EQ(created.status, 201) << created.body;

  // Nothing without a session; a made-up cookie is no session.
  EXPECT_EQ(Http(port(), "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(
      Http(port(), "GET", "/api/v1/me", {}, {}, {{"Cookie", "rapport_session=made-up"}}).status,
      401);
}

TEST_F(AuthEndToEnd, BehindATrustedProxyTheCookieIsSecure) {
  server_.reset();
  server_.emplace(std::vector<std::string>{testing::RapportBinary().string(), "demo", "--data-dir",
                                           dir_.path().string(), "--trust-proxy"});
  ASSERT_TRUE(server_->started()) << server_->output();
  const Json& clinician = Account(0, "clinician");
  const HttpResult login =
      Login(clinician["email"], clinician["password"], {}, {{"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_NE(login.headers.at("set-cookie").find("Secure"), std::string::npos);
  EXPECT_TRUE(login.headers.contains("strict-transport-security"));
}

TEST_F(AuthEndToEnd, AdministratorsNeedAOneTimeCodeThatWorksOnceAndRecoveryCodesWorkOnce) {
  const Json& admin = Account(0, "admin");
  const HttpResult no_code = Login(admin["email"], admin["password"]);
  EXPECT_EQ(no_code.status, 401) << no_code.body;
  EXPECT_EQ(BodyOf(no_code).value("field", ""), "totp");
  EXPECT_FALSE(no_code.headers.contains("set-cookie"));

  // A code from the far past is no code.
  EXPECT_EQ(Login(admin["email"], admin["password"], TotpCode(admin["totp_secret"], -40)).status,
            401);
  const std::string code = TotpCode(admin["totp_secret"]);
  const HttpResult signed_in = Login(admin["email"], admin["password"], code);
  ASSERT_EQ(signed_in.status, 200) << signed_in.body;
  const HttpResult replay = Login(admin["email"], admin["password"], code);
  EXPECT_EQ(replay.status, 401) << "a code is accepted once: " << replay.body;

  const std::string recovery = admin["recovery_codes"][0];
  const HttpResult recovered = Login(admin["email"], admin["password"], recovery);
  ASSERT_EQ(recovered.status, 200) << recovered.body;
  EXPECT_EQ(Login(admin["email"], admin["password"], recovery).status, 401);

  // The other organisation's administrator's code does not open this account.
  EXPECT_EQ(
      Login(admin["email"], admin["password"], TotpCode(Account(1, "admin")["totp_secret"], 1))
          .status,
      401);
}

TEST_F(AuthEndToEnd, FiveWrongPasswordsLockTheAccountButNotOthers) {
  const Json& clinician = Account(0, "clinician");
  for (int attempt = 0; attempt < 5; ++attempt) {
    EXPECT_EQ(Login(clinician["email"], "wrong " + std::to_string(attempt)).status, 401);
  }
  const HttpResult locked = Login(clinician["email"], clinician["password"]);
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_NE(BodyOf(locked).value("detail", "").find("locked"), std::string::npos) << locked.body;
  EXPECT_FALSE(locked.headers.contains("set-cookie"));
  // Another account, from the same address, signs in.
  const Json& supervisor = Account(0, "supervisor");
  EXPECT_EQ(Login(supervisor["email"], supervisor["password"]).status, 200);
  // An unknown address gets the same answer as a wrong password, not "no such account".
  const HttpResult unknown = Login("nobody@riverside.example", "whatever");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(BodyOf(unknown)["detail"],
            BodyOf(Login(supervisor["email"], "not the password"))["detail"]);
}

TEST_F(AuthEndToEnd, SessionsEndAtLogoutRotateAtSignInAndLogoutEverywhereEndsAll) {
  const Json& clinician = Account(1, "clinician");
  const Session first = SignIn(clinician);
  const Session second = SignIn(clinician);
  ASSERT_NE(first.cookie, second.cookie);
  EXPECT_EQ(As(first, "GET", "/api/v1/me").status, 200);

  // Signing in again with a cookie replaces that session.
  const HttpResult rotated =
      Login(clinician["email"], clinician["password"], {}, {{"Cookie", first.cookie}});
  ASSERT_EQ(rotated.status, 200);
  EXPECT_EQ(As(first, "GET", "/api/v1/me").status, 401) << "the old session still works";
  const Session third{SetCookieValue(rotated), BodyOf(rotated)["csrf_token"], {}};

  // Logout ends that session only; its cookie is refused afterwards.
  EXPECT_EQ(As(third, "POST", "/api/v1/auth/logout").status, 204);
  EXPECT_EQ(As(third, "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(As(second, "GET", "/api/v1/me").status, 200);

  const Session fourth = SignIn(clinician);
  const HttpResult everywhere = As(fourth, "POST", "/api/v1/auth/logout-all");
  EXPECT_EQ(everywhere.status, 200) << everywhere.body;
  EXPECT_EQ(As(second, "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(As(fourth, "GET", "/api/v1/me").status, 401);
}

TEST_F(AuthEndToEnd, ApiTokensAreScopedRevocableAndShownOnce) {
  const Session session = SignIn(Account(0, "clinician"));
  const HttpResult created =
      As(session, "POST", "/api/v1/tokens", R"({"name": "reporting", "scopes": ["read"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string token = BodyOf(created)["token"];
  const std::string id = BodyOf(created)["id"];

  EXPECT_EQ(WithToken(token, "GET", "/api/v1/clients").status, 200);
  const HttpResult write =
      WithToken(token, "POST", "/api/v1/clients", R"({"code": "T-1", "language": "en"})");
  EXPECT_EQ(write.status, 403) << "a read token wrote: " << write.body;
  // Tokens cannot make tokens.
  EXPECT_EQ(
      WithToken(token, "POST", "/api/v1/tokens", R"({"name": "x", "scopes": ["read"]})").status,
      403);
  // The secret is not shown again.
  const HttpResult listed = As(session, "GET", "/api/v1/tokens");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(token), std::string::npos);

  EXPECT_EQ(As(session, "DELETE", "/api/v1/tokens/" + id).status, 204);
  EXPECT_EQ(WithToken(token, "GET", "/api/v1/clients").status, 401) << "a revoked token works";
  EXPECT_EQ(WithToken("not-a-token", "GET", "/api/v1/clients").status, 401);
}

TEST_F(AuthEndToEnd, AClinicalWorkflowAndTheCheckinLinkReachOnlyItsOwnSession) {
  const Session clinician = SignIn(Account(0, "clinician"));
  const HttpResult client =
      As(clinician, "POST", "/api/v1/clients", R"({"code": "FLOW-1", "language": "en"})");
  ASSERT_EQ(client.status, 201) << client.body;
  const std::string client_id = BodyOf(client)["id"];
  const HttpResult episode = As(clinician, "POST", "/api/v1/episodes",
                                Json{{"client_ids", {client_id}},
                                     {"clinician_ids", {clinician.user["id"]}},
                                     {"modality", "individual"}}
                                    .dump());
  ASSERT_EQ(episode.status, 201) << episode.body;
  const std::string episode_id = BodyOf(episode)["id"];
  const HttpResult session = As(clinician, "POST", "/api/v1/episodes/" + episode_id + "/sessions",
                                R"({"attendance": "attended"})");
  ASSERT_EQ(session.status, 201) << session.body;
  const std::string session_id = BodyOf(session)["id"];
  const HttpResult checkin =
      As(clinician, "POST", "/api/v1/sessions/" + session_id + "/checkins",
         Json{{"respondent_id", client_id}, {"instruments", {"rapport-alliance-client"}}}.dump());
  ASSERT_EQ(checkin.status, 201) << checkin.body;
  const Json link = BodyOf(checkin);
  const std::string token = link["token"];
  EXPECT_NE(link["url"].get<std::string>().find("/c/" + token), std::string::npos);
  EXPECT_TRUE(link.contains("expires_at"));
  EXPECT_NE(link.value("qr_svg", "").find("<svg"), std::string::npos);

  // The other organisation sees none of it; a clinician of the same one without the client in
  // their caseload neither.
  const Session stranger = SignIn(Account(1, "clinician"));
  EXPECT_EQ(As(stranger, "GET", "/api/v1/clients/" + client_id).status, 404);
  EXPECT_EQ(As(stranger, "GET", "/api/v1/episodes/" + episode_id + "/dashboard").status, 404);

  // The check-in token is no staff credential.
  EXPECT_EQ(WithToken(token, "GET", "/api/v1/clients").status, 401);
  EXPECT_EQ(Http(port(), "GET", "/api/v1/clients/" + client_id, {}, {},
                 {{"Cookie", "rapport_session=" + token}})
                .status,
            401);

  const std::string answers =
      Json{{"responses",
            {{{"instrument", "rapport-alliance-client"}, {"answers", std::vector<int>(7, 2)}}}}}
          .dump();
  const HttpResult submitted =
      Http(port(), "POST", "/api/v1/checkins/" + token, answers, "application/json");
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  // Reusing the link: the same answers again are acknowledged, not stored twice; other answers
  // are refused.
  const HttpResult again =
      Http(port(), "POST", "/api/v1/checkins/" + token, answers, "application/json");
  EXPECT_EQ(again.status, 200) << again.body;
  const std::string other =
      Json{{"responses",
            {{{"instrument", "rapport-alliance-client"}, {"answers", std::vector<int>(7, 4)}}}}}
          .dump();
  EXPECT_EQ(Http(port(), "POST", "/api/v1/checkins/" + token, other, "application/json").status,
            409);

  // The answers reach the clinician's dashboard.
  const HttpResult dashboard =
      As(clinician, "GET", "/api/v1/episodes/" + episode_id + "/dashboard", {}, false);
  ASSERT_EQ(dashboard.status, 200) << dashboard.body;
  EXPECT_NE(dashboard.body.find("rapport-alliance-client"), std::string::npos) << dashboard.body;
}

}  // namespace
}  // namespace rapport
