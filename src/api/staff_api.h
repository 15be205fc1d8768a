// The JSON API for staff and integrations under /api/v1 (DESIGN.md §8; docs/api.md): sign-in
// and API tokens, clients, episodes, sessions, check-ins, goals, responses, dashboards, alerts
// and repair notes, users, settings and de-identified export. Every route is declared with its
// access rule (api/router.h RouteSpec); one guard applies them all in the same order:
//
//   authenticate (session cookie or Bearer token)  → 401
//   enrolment in multi-factor sign-in when required → 403
//   role (DESIGN.md §9)                              → 403
//   API token scope (read for GET, write otherwise)  → 403
//   CSRF token on cookie-authenticated writes        → 403
//
// and the handler then scopes every query by the caller's organisation (the Store takes the
// organisation id on every call) and, for clinical records, by caseload: clinicians see the
// episodes they are clinicians of, supervisors those of their clinic (or the organisation when
// they have none); anything else is 404 with no data. Administrators manage configuration and
// see no clinical records; researchers see only the de-identified export.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "alliance/guidance.h"
#include "api/auth.h"
#include "api/checkin_service.h"
#include "api/router.h"
#include "base/clock.h"
#include "base/random.h"
#include "instruments/catalog.h"
#include "storage/store.h"

namespace rapport::api {

struct StaffApiOptions {
  // The address respondents open ("https://rapport.example.org"); empty: taken from the
  // request's Host header.
  std::string public_url;
  int max_json_depth = 32;
  // How long a new check-in link stays valid unless the request says otherwise.
  std::chrono::hours checkin_lifetime{72};
  std::vector<alliance::GuidanceEntry> guidance;
};

class StaffApi {
 public:
  // REQUIRES: every argument outlives the StaffApi.
  StaffApi(storage::Store& store, const instruments::Catalog& catalog, const Clock& clock,
           Random& random, AuthService& auth, StaffApiOptions options);
  ~StaffApi();
  StaffApi(const StaffApi&) = delete;
  StaffApi& operator=(const StaffApi&) = delete;

  // Adds every route to `router`. Thread safe once added.
  void AddRoutes(Router& router);

  struct Impl;  // in staff_api.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapport::api
