// The application: every route of the server, wired to its handler. Handlers are plain
// functions of a Request; tests call app.router().Handle(request) without a socket.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/checkin_service.h"
#include "api/pages.h"
#include "api/router.h"
#include "api/ui_text.h"

namespace rapport::api {

struct AppOptions {
  // Shown on the start page (the demo's open check-ins).
  std::vector<std::string> demo_checkin_links;
  // Deepest JSON nesting accepted in request bodies.
  int max_json_depth = 32;
  // Text of the respondent's pages; null: loaded from the data folder's ui/ (see UiText).
  std::shared_ptr<const UiText> ui_text;
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

  // The respondent's page language and the check-in's instruments worded for it.
  struct Localised {
    PageLanguage page;
    std::vector<InstrumentView> views;
    bool worded = true;  // false: an instrument has no wording in any language
  };
  Localised Localise(const CheckinContext& context, const Request& request,
                     const std::string& chosen) const;
  // A page language for pages shown before the check-in is known (errors).
  std::string RequestLanguage(const Request& request, const std::string& chosen) const;

  storage::Store& store_;
  const instruments::Catalog& catalog_;
  CheckinService checkins_;
  AppOptions options_;
  Router router_;
};

// True when `text` nests arrays and objects no deeper than `max_depth` (strings are skipped).
bool JsonDepthWithin(std::string_view text, int max_depth);

}  // namespace rapport::api
