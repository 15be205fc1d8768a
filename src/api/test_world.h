// Test support for the staff API: an App on a real SQLite store in a temp folder with two
// organisations, each with every role, one episode in clinician 1's caseload, a session, an
// alert and an API token per user; and signed-in sessions made directly in the store (so a
// test needs no password hashing per request).
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/app.h"
#include "api/auth.h"
#include "api/totp.h"
#include "base/id.h"
#include "base/password.h"
#include "instruments/catalog.h"
#include "testing/testing.h"

namespace rapport::api::testing_world {

using Json = nlohmann::json;

// The people of one organisation, by a short name: "admin", "supervisor", "clinician1"
// (the episode's clinician), "clinician2" (another caseload), "researcher".
inline const char* const kPeople[] = {"admin", "supervisor", "clinician1", "clinician2",
                                      "researcher"};

// The raw TOTP secret every enrolled administrator shares in these tests.
inline const std::string kTotpSecret = "12345678901234567890";
inline const std::string kPassword = "correct horse battery staple";

struct Org {
  std::string id;
  std::string clinic_id;
  std::map<std::string, domain::User> users;  // by short name
  std::string client_id;
  std::string episode_id;
  std::string session_id;
  std::string alert_id;
  std::map<std::string, std::string> token_ids;  // API token id by short name
};

class World : public ::testing::Test {
 protected:
  World() : random_(11) {
    auto catalog =
        instruments::Catalog::Load(instruments::Catalog::SourcesFor(testing::SourceDir() / "data"));
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    catalog_ = std::move(catalog).value();
    auto store = storage::OpenStore("sqlite:" + (dir_.path() / "api.db").string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto hash = HashPassword(kPassword);
    EXPECT_TRUE(hash.ok());
    password_hash_ = *hash;
    orgs_["a"] = MakeOrg("a");
    orgs_["b"] = MakeOrg("b");
    app_ = std::make_unique<App>(*store_, catalog_, clock_, random_, AppOptions{});
  }

  Org MakeOrg(const std::string& name) {
    Org org;
    org.id = "org-" + name;
    org.clinic_id = "clinic-" + name;
    const Timestamp now = clock_.Now();
    const std::pair<const char*, domain::Role> roles[] = {
        {"admin", domain::Role::kAdmin},
        {"supervisor", domain::Role::kSupervisor},
        {"clinician1", domain::Role::kClinician},
        {"clinician2", domain::Role::kClinician},
        {"researcher", domain::Role::kResearcher}};
    for (const auto& [person, role] : roles) {
      domain::User user;
      user.id = std::string(person) + "-" + name;
      user.org_id = org.id;
      user.clinic_id = org.clinic_id;
      user.email = std::string(person) + "@" + name + ".example";
      user.display_name = std::string(person) + " " + name;
      user.role = role;
      user.password_hash = password_hash_;
      user.created_at = now;
      if (role == domain::Role::kAdmin) {
        user.totp_secret = StoredTotpSecret(kTotpSecret);
        user.totp_enabled = true;
      }
      org.users[person] = user;
    }
    org.client_id = "client-" + name;
    org.episode_id = "episode-" + name;
    org.session_id = "session-" + name;
    org.alert_id = "alert-" + name;
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({org.id, "Org " + name, now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({org.clinic_id, org.id, "Clinic " + name}));
      for (const auto& [person, user] : org.users) RAPPORT_RETURN_IF_ERROR(txn.PutUser(user));
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({org.client_id, org.id, "C-" + name, "en", true, now}));
      domain::Episode episode;
      episode.id = org.episode_id;
      episode.org_id = org.id;
      episode.clinic_id = org.clinic_id;
      episode.client_ids = {org.client_id};
      episode.clinician_ids = {org.users["clinician1"].id};
      episode.started_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      domain::Session session;
      session.id = org.session_id;
      session.org_id = org.id;
      session.episode_id = episode.id;
      session.number = 1;
      session.scheduled_at = now;
      session.attendance = domain::Attendance::kAttended;
      RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
      domain::Alert alert;
      alert.id = org.alert_id;
      alert.org_id = org.id;
      alert.episode_id = episode.id;
      alert.client_id = org.client_id;
      alert.kind = "low-alliance";
      alert.dedupe_key = "low-alliance:" + name;
      alert.session_number = 1;
      alert.last_session_number = 1;
      alert.evidence_json = "{}";
      alert.created_at = now;
      alert.updated_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutAlert(alert));
      for (const auto& [person, user] : org.users) {
        domain::ApiToken token{
            "token-" + user.id, org.id, user.id,      "test",      Sha256Hex(TokenSecret(user)),
            {"read", "write"},  now,    std::nullopt, std::nullopt};
        org.token_ids[person] = token.id;
        RAPPORT_RETURN_IF_ERROR(txn.PutApiToken(token));
      }
      return Status::Ok();
    }));
    return org;
  }

  // The secret of the user's read-write API token.
  static std::string TokenSecret(const domain::User& user) {
    return "apitoken-" + user.id + "-secret";
  }

  // A signed-in session for `user`, stored directly; returns {cookie secret, csrf token}.
  std::pair<std::string, std::string> SignIn(const domain::User& user) {
    const std::string secret = "session-" + user.id + "-" + std::to_string(++sessions_);
    const std::string csrf = "csrf-" + user.id;
    const Timestamp now = clock_.Now();
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) {
      return txn.PutAuthSession({Sha256Hex(secret), user.org_id, user.id, csrf, "127.0.0.1", now,
                                 now, now + std::chrono::hours(8)});
    }));
    return {secret, csrf};
  }

  struct Call {
    std::string method;
    std::string path;
    std::string body;
    std::string cookie;  // session secret
    std::string csrf;
    std::string bearer;
    std::string address = "127.0.0.1";
  };

  Response Send(const Call& call) {
    Request request;
    request.method = call.method;
    request.path = call.path;
    const size_t question = call.path.find('?');
    if (question != std::string::npos) {
      request.path = call.path.substr(0, question);
      auto pairs = ParseFormEncoded(call.path.substr(question + 1));
      if (pairs.ok()) {
        for (auto& [key, value] : *pairs) request.query[key] = value;
      }
    }
    request.body = call.body;
    request.remote_address = call.address;
    if (!call.body.empty()) request.headers["content-type"] = "application/json";
    if (!call.cookie.empty()) {
      request.headers["cookie"] = std::string(kSessionCookie) + "=" + call.cookie;
    }
    if (!call.csrf.empty()) request.headers["x-csrf-token"] = call.csrf;
    if (!call.bearer.empty()) request.headers["authorization"] = "Bearer " + call.bearer;
    request.headers["host"] = "rapport.test";
    return app_->router().Handle(request);
  }

  static Json Body(const Response& response) {
    return Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  SeededRandom random_;
  instruments::Catalog catalog_;
  std::unique_ptr<storage::Store> store_;
  std::string password_hash_;
  std::map<std::string, Org> orgs_;
  std::unique_ptr<App> app_;
  int sessions_ = 0;
};

}  // namespace rapport::api::testing_world
