// libFuzzer target for JSON request bodies: the real App on a real SQLite store (in a
// temporary folder) with the shipped instrument catalogue, fuzzed bodies sent to every route
// under /api/ that takes a body (POST, PUT, PATCH). Routes are taken from the router, so every
// JSON route added later is fuzzed without changing this file. Every answer must be below 500,
// and a 4xx must be application/problem+json with a "detail".
//
// Input: byte 0 picks the route, byte 1 how its {params} are filled and the content type, the
// rest is the body.
#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/app.h"
#include "base/clock.h"
#include "base/id.h"
#include "base/password.h"
#include "base/random.h"
#include "instruments/catalog.h"
#include "storage/store.h"

namespace {

namespace api = rapport::api;
namespace domain = rapport::domain;
using rapport::Status;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "json_body_fuzz: %s\n", what.c_str());
  std::abort();
}

constexpr const char* kOrg = "org-fuzz";
constexpr const char* kSession = "session-fuzz";
constexpr const char* kClient = "client-fuzz";
// The seeded clinician, for routes behind login (see AttachLoggedInSession).
constexpr const char* kUserEmail = "clinician@fuzz.invalid";
constexpr const char* kUserPassword = "fuzz-password-1";

// One organisation with a client, an episode, a session, a clinician, open check-ins (one
// per instrument set below, renewed once answered), an answered one and an expired one.
class World {
 public:
  World() : random_(20261122) {
    dir_ = std::filesystem::temp_directory_path() /
           ("rapport-json-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto catalog = rapport::instruments::Catalog::Load(
        rapport::instruments::Catalog::SourcesFor(rapport::instruments::DefaultDataDir()));
    if (!catalog.ok()) Fail("catalogue: " + catalog.status().ToString());
    catalog_ = std::move(catalog).value();
    auto store = rapport::storage::OpenStore("sqlite:" + (dir_ / "fuzz.db").string());
    if (!store.ok()) Fail("store: " + store.status().ToString());
    store_ = std::move(store).value();
    Seed();
    app_ = std::make_unique<api::App>(*store_, catalog_, clock_, random_, api::AppOptions{});
    for (const api::Router::Route& route : app_->router().routes()) {
      if ((route.spec.method == "POST" || route.spec.method == "PUT" ||
           route.spec.method == "PATCH" || route.spec.method == "DELETE") &&
          route.spec.pattern.starts_with("/api/")) {
        routes_.push_back(route.spec.pattern);
        methods_.push_back(route.spec.method);
      }
    }
    if (routes_.empty()) Fail("no JSON routes under /api/");
  }

  ~World() {
    app_.reset();
    store_->Close();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void Run(const uint8_t* data, size_t size) {
    if (size < 2) return;
    const size_t route = data[0] % routes_.size();
    const uint8_t fill = data[1];
    api::Request request;
    request.method = methods_[route];
    request.remote_address = "192.0.2.1";
    request.body.assign(reinterpret_cast<const char*>(data + 2), size - 2);
    request.headers["content-type"] = (fill & 0xc0) == 0xc0   ? "text/plain"
                                      : (fill & 0xc0) == 0x80 ? "application/json; charset=utf-8"
                                                              : "application/json";
    request.path = FillPattern(routes_[route], fill & 0x3f);
    AttachLoggedInSession(request);
    const api::Response response = app_->router().Handle(request);
    Check(request, response);
    if (response.status == 201 || response.status == 200) RenewAnswered();
  }

 private:
  // Routes behind login (the staff API): signs in as kUserEmail/kUserPassword once through
  // the login route and attaches the session cookie and the X-CSRF-Token header, so that
  // fuzzed bodies reach the handlers rather than the 401/403 checks.
  void AttachLoggedInSession(api::Request& request) {
    if (session_cookie_.empty()) {
      api::Request login;
      login.method = "POST";
      login.path = "/api/v1/auth/login";
      login.remote_address = "127.0.0.2";
      login.headers["content-type"] = "application/json";
      login.body = nlohmann::json{{"email", kUserEmail}, {"password", kUserPassword}}.dump();
      const api::Response response = app_->router().Handle(login);
      if (response.status != 200) Fail("fuzz sign-in failed: " + response.body);
      for (const auto& [name, value] : response.headers) {
        if (name == "Set-Cookie") session_cookie_ = value.substr(0, value.find(';'));
      }
      csrf_token_ = nlohmann::json::parse(response.body)["csrf_token"].get<std::string>();
    }
    if (request.path == "/api/v1/auth/logout" || request.path == "/api/v1/auth/logout-all") {
      return;  // would end the session every later input relies on
    }
    request.headers["cookie"] = session_cookie_;
    request.headers["x-csrf-token"] = csrf_token_;
  }

  std::string session_cookie_;
  std::string csrf_token_;

  // The pattern with each {name} replaced by a valid value of the seeded data or, for some
  // `choice`s, by an unknown, answered, expired or malformed one.
  std::string FillPattern(const std::string& pattern, uint8_t choice) {
    std::string path;
    size_t at = 0;
    while (at < pattern.size()) {
      const size_t open = pattern.find('{', at);
      if (open == std::string::npos) {
        path.append(pattern, at);
        break;
      }
      const size_t close = pattern.find('}', open);
      path.append(pattern, at, open - at);
      path.append(ParamValue(pattern.substr(open + 1, close - open - 1), choice));
      at = close + 1;
    }
    return path;
  }

  std::string ParamValue(const std::string& name, uint8_t choice) {
    const bool token = name == "token";
    switch (choice % 8) {
      case 5: return token ? answered_token_ : rapport::NewId(random_);  // answered; unknown
      case 6: return token ? expired_token_ : "not-an-id";
      case 7: return "%00%ff..%2F";
      default: break;
    }
    if (token) return open_tokens_[choice % open_tokens_.size()];
    const auto known = ids_.find(name);
    if (known != ids_.end()) return known->second;
    // A parameter this target does not know yet: an id of the right shape.
    return rapport::NewId(random_);
  }

  void Check(const api::Request& request, const api::Response& response) {
    const std::string where = request.method + " " + request.path;
    if (response.status >= 500) {
      Fail(where + " answered " + std::to_string(response.status) + ": " + response.body);
    }
    if (response.status < 400) return;
    if (response.content_type != "application/problem+json") {
      Fail(where + " answered " + std::to_string(response.status) + " as " + response.content_type);
    }
    const nlohmann::json problem = nlohmann::json::parse(response.body, nullptr, false);
    if (!problem.is_object() || !problem.contains("detail") || !problem["detail"].is_string()) {
      Fail(where + " answered a problem without a detail: " + response.body);
    }
  }

  domain::Checkin NewCheckin(std::vector<std::string> instrument_ids, const std::string& token,
                             std::chrono::hours valid_for) {
    const rapport::Timestamp now = clock_.Now();
    domain::Checkin checkin;
    checkin.id = rapport::NewId(random_);
    checkin.org_id = kOrg;
    checkin.session_id = kSession;
    checkin.respondent_id = kClient;
    checkin.perspective = domain::Perspective::kClient;
    checkin.instrument_ids = std::move(instrument_ids);
    checkin.token_digest = rapport::Sha256Hex(token);
    checkin.language = "en";
    checkin.created_at = now - std::chrono::hours(2);
    checkin.expires_at = checkin.created_at + valid_for;
    return checkin;
  }

  // The instrument sets of the open check-ins.
  static std::vector<std::vector<std::string>> InstrumentSets() {
    return {{"rapport-alliance-client"},
            {"rapport-progress", "rapport-alliance-client"},
            {"rapport-progress"},
            {"phq-9"}};
  }

  void Seed() {
    const rapport::Timestamp now = clock_.Now();
    auto hash = rapport::HashPassword(kUserPassword);
    if (!hash.ok()) Fail("password: " + hash.status().ToString());
    for (const auto& set : InstrumentSets()) {
      open_tokens_.push_back(rapport::NewToken(random_));
      open_sets_.push_back(set);
    }
    answered_token_ = rapport::NewToken(random_);
    expired_token_ = rapport::NewToken(random_);
    const Status status = store_->Write([&](rapport::storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutOrganization({kOrg, "Fuzz clinic", now}));
      RAPPORT_RETURN_IF_ERROR(txn.PutClinic({"clinic-fuzz", kOrg, "Fuzz"}));
      domain::User user;
      user.id = "user-fuzz";
      user.org_id = kOrg;
      user.email = kUserEmail;
      user.display_name = "Fuzz Clinician";
      user.password_hash = *hash;
      user.created_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutUser(user));
      RAPPORT_RETURN_IF_ERROR(txn.PutClient({kClient, kOrg, "C-1", "en", false, now}));
      domain::Episode episode{"episode-fuzz", kOrg, "", domain::Modality::kIndividual,
                              {kClient},      {},   now};
      RAPPORT_RETURN_IF_ERROR(txn.PutEpisode(episode));
      domain::Session session;
      session.id = kSession;
      session.org_id = kOrg;
      session.episode_id = "episode-fuzz";
      session.number = 1;
      session.scheduled_at = now;
      RAPPORT_RETURN_IF_ERROR(txn.PutSession(session));
      for (size_t i = 0; i < open_tokens_.size(); ++i) {
        RAPPORT_RETURN_IF_ERROR(
            txn.PutCheckin(NewCheckin(open_sets_[i], open_tokens_[i], std::chrono::hours(72))));
      }
      domain::Checkin answered =
          NewCheckin({"rapport-alliance-client"}, answered_token_, std::chrono::hours(72));
      answered.submitted_at = now - std::chrono::hours(1);
      RAPPORT_RETURN_IF_ERROR(txn.PutCheckin(answered));
      return txn.PutCheckin(
          NewCheckin({"rapport-alliance-client"}, expired_token_, std::chrono::hours(1)));
    });
    if (!status.ok()) Fail("seeding: " + status.ToString());
    ids_ = {{"org", kOrg},
            {"org_id", kOrg},
            {"client", kClient},
            {"client_id", kClient},
            {"episode", "episode-fuzz"},
            {"episode_id", "episode-fuzz"},
            {"session", kSession},
            {"session_id", kSession},
            {"user", "user-fuzz"},
            {"user_id", "user-fuzz"}};
  }

  // Replaces answered open check-ins with new ones, so that submissions keep reaching the
  // scoring code rather than only the "already answered" path.
  void RenewAnswered() {
    const Status status = store_->Write([&](rapport::storage::WriteTransaction& txn) -> Status {
      for (size_t i = 0; i < open_tokens_.size(); ++i) {
        auto found = txn.GetCheckinByTokenDigest(rapport::Sha256Hex(open_tokens_[i]));
        if (!found.ok() || !found->submitted_at) continue;
        open_tokens_[i] = rapport::NewToken(random_);
        RAPPORT_RETURN_IF_ERROR(
            txn.PutCheckin(NewCheckin(open_sets_[i], open_tokens_[i], std::chrono::hours(72))));
      }
      return Status::Ok();
    });
    if (!status.ok()) Fail("renewing check-ins: " + status.ToString());
  }

  std::filesystem::path dir_;
  rapport::SystemClock clock_;
  rapport::SeededRandom random_;
  rapport::instruments::Catalog catalog_;
  std::unique_ptr<rapport::storage::Store> store_;
  std::unique_ptr<api::App> app_;
  std::vector<std::string> routes_;
  std::vector<std::string> methods_;
  std::vector<std::string> open_tokens_;
  std::vector<std::vector<std::string>> open_sets_;
  std::string answered_token_;
  std::string expired_token_;
  std::map<std::string, std::string> ids_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();  // lives for the process; its folder is removed at exit
  static const bool cleanup = [] { return std::atexit([] { delete world; }) == 0; }();
  (void)cleanup;
  world->Run(data, size);
  return 0;
}
