// The permission matrix, generated from the route table: every staff route × every role (with
// clinician 1, whose caseload holds the episode, and clinician 2, whose does not) × the
// caller's own organisation and the other one, each asserting allow or deny (DESIGN.md §9).
// A new route is covered the moment it is added; one that the matrix cannot exercise fails.
#include <set>

#include "api/test_world.h"

namespace rapport::api {
namespace {

using testing_world::Json;
using testing_world::Org;

class PermissionMatrix : public testing_world::World {
 protected:
  PermissionMatrix() {
    for (const auto& [name, org] : orgs_) Restore(org);
  }

  // The text pack each organisation has (org-a's in English, org-b's in Spanish, so that a
  // path naming org-b's is one org-a does not have).
  static storage::StoredTextPack SeededTextPack(const Org& org) {
    return {org.id,
            "rapport-progress",
            org.id == "org-a" ? "en" : "es",
            kProgressPack,
            "seed",
            FromUnixMillis(1'790'000'000'000)};
  }

  // Invented wording of Rapport's own progress check-in (in any language: the store does not
  // mind).
  static constexpr const char* kProgressPack =
      R"({"textpack": {"instrument": "rapport-progress", "language": "en", "source": "test",
          "licence": "test"}, "title": "Progress", "items": {
          "self": {"text": "One", "min_label": "Low", "max_label": "High"},
          "relationships": {"text": "Two", "min_label": "Low", "max_label": "High"},
          "daily-life": {"text": "Three", "min_label": "Low", "max_label": "High"},
          "overall": {"text": "Four", "min_label": "Low", "max_label": "High"}}})";

  // The path of `pattern` with its {id} taken from `target`'s world.
  static std::string Path(const std::string& pattern, const Org& target, const Org& caller,
                          const std::string& person) {
    std::string id;
    if (pattern.starts_with("/api/v1/clients/")) id = target.client_id;
    if (pattern.starts_with("/api/v1/episodes/")) id = target.episode_id;
    if (pattern.starts_with("/api/v1/sessions/")) id = target.session_id;
    if (pattern.starts_with("/api/v1/alerts/")) id = target.alert_id;
    if (pattern.starts_with("/api/v1/users/")) id = target.users.at("clinician2").id;
    if (pattern.starts_with("/api/v1/tokens/")) {
      // One's own token, or (other organisation) a token of the same role there.
      id = (&target == &caller ? caller : target).token_ids.at(person);
    }
    if (pattern.starts_with("/api/v1/textpacks/")) {
      const storage::StoredTextPack pack = SeededTextPack(target);
      return "/api/v1/textpacks/" + pack.instrument_id + "/" + pack.language;
    }
    std::string path = pattern;
    const size_t open = path.find('{');
    if (open != std::string::npos) {
      EXPECT_FALSE(id.empty()) << "the matrix has no id for " << pattern;
      path.replace(open, path.find('}', open) - open + 1, id);
    }
    return path;
  }

  // The example body of `spec` for `caller` (clinicians open episodes for themselves).
  std::string Body(const RouteSpec& spec, const Org& org, const domain::User* caller = nullptr) {
    std::string body = spec.example_body;
    const std::map<std::string, std::string> values = {
        {"{client_id}", org.client_id},
        {"{clinician_id}", caller != nullptr && caller->role == domain::Role::kClinician
                               ? caller->id
                               : org.users.at("clinician1").id},
        {"{unique}", "u" + std::to_string(++unique_)},
        {"{email}", org.users.at("clinician1").email},
        {"{password}", testing_world::kPassword}};
    for (const auto& [placeholder, value] : values) {
      for (size_t at = body.find(placeholder); at != std::string::npos;
           at = body.find(placeholder)) {
        body.replace(at, placeholder.size(), value);
      }
    }
    return body;
  }

  // Puts the fixture back after a request that changed what later ones rely on.
  void Restore(const Org& org) {
    EXPECT_OK(store_->Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_RETURN_IF_ERROR(txn.PutTextPack(SeededTextPack(org)));
      RAPPORT_ASSIGN_OR_RETURN(domain::Episode episode, txn.GetEpisode(org.id, org.episode_id));
      episode.ended_at.reset();
      episode.end_reason.reset();
      RAPPORT_RETURN_IF_ERROR(txn.UpdateEpisodeEnd(episode));
      RAPPORT_ASSIGN_OR_RETURN(domain::Alert alert, txn.GetAlert(org.id, org.alert_id));
      alert.status = domain::AlertStatus::kOpen;
      alert.acknowledged_by.clear();
      alert.acknowledged_at.reset();
      alert.resolved_by.clear();
      alert.resolved_at.reset();
      alert.resolution.clear();
      return txn.UpdateAlert(alert);
    }));
  }

  int unique_ = 0;
};

bool Allows(const RouteSpec& spec, domain::Role role) {
  return spec.roles.empty() ||
         std::find(spec.roles.begin(), spec.roles.end(), role) != spec.roles.end();
}

// Every id of `org`'s clinical world, none of which may appear in a response to someone who
// may not see it.
std::vector<std::string> ClinicalIds(const Org& org) {
  return {org.client_id, org.episode_id, org.session_id, org.alert_id, "C-" + org.id.substr(4)};
}

TEST_F(PermissionMatrix, EveryRoleOnEveryRouteInBothOrganisations) {
  // Routes whose example cannot succeed in a generic world (they need a code from an
  // authenticator app, or an enrolment that this world's users do not have pending): for
  // them an allowed caller must get past the guard (not 401, 403 or 404), nothing more.
  const std::set<std::string> needs_device = {
      "/api/v1/auth/totp/activate", "/api/v1/auth/recovery-codes", "/api/v1/auth/totp/enrol"};
  int checked = 0;
  std::set<std::string> staff_routes;
  const Org& a = orgs_.at("a");
  const Org& b = orgs_.at("b");
  for (const Router::Route& route : app_->router().routes()) {
    const RouteSpec& spec = route.spec;
    if (spec.access != Access::kStaff) continue;
    staff_routes.insert(spec.method + " " + spec.pattern);
    const bool has_id = spec.pattern.find('{') != std::string::npos;
    for (const char* person : testing_world::kPeople) {
      const domain::User& user = a.users.at(person);
      for (const Org* target : {&a, &b}) {
        const bool own = target == &a;
        if (!own && !has_id) continue;  // listing routes: checked for leaks below
        const auto [cookie, csrf] = SignIn(user);
        Call call{spec.method, Path(spec.pattern, *target, a, person), Body(spec, a, &user), cookie,
                  csrf};
        const Response response = Send(call);
        const std::string where = spec.method + " " + call.path + " as " + person + " of org-a (" +
                                  (own ? "own" : "other") + " organisation)";
        ++checked;
        const bool role_ok = Allows(spec, user.role);
        const bool in_caseload = !spec.caseload || std::string(person) == "clinician1" ||
                                 std::string(person) == "supervisor";
        if (!role_ok) {
          EXPECT_EQ(response.status, 403) << where << ": " << response.body;
        } else if (!own) {
          EXPECT_EQ(response.status, 404) << where << ": " << response.body;
        } else if (!in_caseload) {
          EXPECT_EQ(response.status, 404) << where << ": " << response.body;
        } else if (needs_device.contains(spec.pattern)) {
          EXPECT_TRUE(response.status != 401 && response.status != 403 && response.status != 404)
              << where << ": " << response.status << " " << response.body;
        } else {
          EXPECT_LT(response.status, 300) << where << ": " << response.body;
          EXPECT_EQ(response.status, spec.success_status) << where << ": " << response.body;
        }
        // A denial carries no data: none of the target's clinical ids.
        if (response.status >= 400) {
          for (const std::string& id : ClinicalIds(*target)) {
            EXPECT_EQ(response.body.find(id), std::string::npos)
                << where << " leaks " << id << ": " << response.body;
          }
        }
        // The other organisation's records never appear, allowed or not. (The audit log
        // records the paths callers asked for, which in this test name org-b's ids.)
        for (const std::string& id : ClinicalIds(b)) {
          if (own && spec.pattern != "/api/v1/audit") {
            EXPECT_EQ(response.body.find(id), std::string::npos)
                << where << " shows org-b's " << id;
          }
        }
        Restore(a);
      }
    }
  }
  // The matrix covers the routes integrations rely on (the issue's list) and many more.
  for (const char* required :
       {"GET /api/v1/me", "GET /api/v1/clients", "POST /api/v1/clients", "GET /api/v1/clients/{id}",
        "POST /api/v1/episodes", "POST /api/v1/episodes/{id}/sessions",
        "POST /api/v1/sessions/{id}/checkins", "GET /api/v1/episodes/{id}/dashboard",
        "GET /api/v1/alerts", "POST /api/v1/auth/logout"}) {
    EXPECT_TRUE(staff_routes.contains(required)) << required;
  }
  EXPECT_GT(checked, 200);
}

TEST_F(PermissionMatrix, AnonymousCallersGet401OnEveryStaffRoute) {
  const Org& a = orgs_.at("a");
  for (const Router::Route& route : app_->router().routes()) {
    const RouteSpec& spec = route.spec;
    if (spec.access != Access::kStaff) continue;
    const Response response =
        Send({spec.method, Path(spec.pattern, a, a, "clinician1"), Body(spec, a)});
    EXPECT_EQ(response.status, 401) << spec.method << " " << spec.pattern;
    EXPECT_EQ(response.content_type, "application/problem+json");
  }
}

TEST_F(PermissionMatrix, ReadOnlyTokensCannotWriteAndNeedNoCsrf) {
  const Org& a = orgs_.at("a");
  const domain::User& clinician = a.users.at("clinician1");
  const std::string read_only = "readonly-token-for-clinician1";
  ASSERT_OK(store_->Write([&](storage::WriteTransaction& txn) {
    return txn.PutApiToken({"token-ro",
                            a.id,
                            clinician.id,
                            "ro",
                            Sha256Hex(read_only),
                            {"read"},
                            clock_.Now(),
                            std::nullopt,
                            std::nullopt});
  }));
  for (const Router::Route& route : app_->router().routes()) {
    const RouteSpec& spec = route.spec;
    if (spec.access != Access::kStaff || !Allows(spec, clinician.role)) continue;
    Call call{spec.method, Path(spec.pattern, a, a, "clinician1"), Body(spec, a)};
    call.bearer = read_only;
    const Response response = Send(call);
    const std::string where = spec.method + " " + spec.pattern;
    if (spec.method == "GET") {
      EXPECT_EQ(response.status, 200) << where << ": " << response.body;
    } else {
      EXPECT_EQ(response.status, 403) << where << ": " << response.body;
      EXPECT_NE(response.body.find("'write' scope"), std::string::npos) << where;
    }
  }
  // A read-write token writes without a CSRF token (no cookie, so no cross-site risk).
  Call create{"POST", "/api/v1/clients", R"({"code": "via-token"})"};
  create.bearer = World::TokenSecret(clinician);
  EXPECT_EQ(Send(create).status, 201);
}

}  // namespace
}  // namespace rapport::api
