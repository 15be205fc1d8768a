// The application: every route of the server, wired to its handler. Handlers are plain
// functions of a Request; tests call app.router().Handle(request) without a socket.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/checkin_service.h"
#include "api/router.h"

namespace rapport::api {

struct AppOptions {
  // Shown on the start page (the demo's open check-ins).
  std::vector<std::string> demo_checkin_links;
  // Deepest JSON nesting accepted in request bodies.
  int max_json_depth = 32;
};

class App {
 public:
  // REQUIRES: every argument outlives the App.
  App(storage::Store& store, const instruments::Catalog& catalog, const Clock& clock,
      Random& random, AppOptions options);

  const Router& router() const { return router_; }

 private:
  Response Health(const Request& request) const;
  Response Start(const Request& request) const;
  Response ShowCheckin(const Request& request) const;
  Response SubmitCheckinForm(const Request& request);
  Response SubmitCheckinJson(const Request& request);

  storage::Store& store_;
  CheckinService checkins_;
  AppOptions options_;
  Router router_;
};

// True when `text` nests arrays and objects no deeper than `max_depth` (strings are skipped).
bool JsonDepthWithin(std::string_view text, int max_depth);

}  // namespace rapport::api
