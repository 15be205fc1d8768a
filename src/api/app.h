// The application: every route of the server, wired to its handler. Handlers are plain
// functions of a Request; tests call app.router().Handle(request) without a socket.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/auth.h"
#include "api/checkin_service.h"
#include "api/pages.h"
#include "api/router.h"
#include "api/staff_api.h"
#include "api/ui_text.h"

namespace rapport::api {

struct AppOptions {
  // Shown on the start page (the demo's open check-ins).
  std::vector<std::string> demo_checkin_links;
  // Deepest JSON nesting accepted in request bodies (deeper → 400 naming "body").
  int max_json_depth = 32;
  // Longest JSON string (key or value, as written with its escapes) accepted in request
  // bodies (longer → 400 naming "body").
  size_t max_json_string_bytes = 64 * 1024;
  // Text of the respondent's pages; null: loaded from the data folder's ui/ (see UiText).
  std::shared_ptr<const UiText> ui_text;
  // Built browser code (web/, bundled by esbuild) served under /assets/: every *.js and *.css
  // file directly in this folder, read once at start. Empty or missing: none (the pages work
  // without script).
  std::filesystem::path web_dir;
  // Sign-in, sessions and lockout (api/auth.h).
  AuthOptions auth;
  // The address respondents open; empty: the request's Host (see StaffApiOptions).
  std::string public_url;
  // Memory for episodes' signal inputs kept between check-in submissions
  // (alerts/signal_cache.h); 0 keeps none.
  size_t signal_cache_bytes = CheckinService::kDefaultSignalCacheBytes;
};

// RAPPORT_WEB_DIR when set, else the build tree's web/ folder, else the installed copy.
std::filesystem::path DefaultWebDir();

class App {
 public:
  // REQUIRES: every argument outlives the App.
  App(storage::Store& store, const instruments::Catalog& catalog, const Clock& clock,
      Random& random, AppOptions options);

  const Router& router() const { return router_; }

 private:
  void LoadWebAssets();
  Response WebAsset(const Request& request) const;
  Response Health(const Request& request) const;
  Response Ready(const Request& request) const;
  Response Metrics(const Request& request) const;
  Response Start(const Request& request) const;
  Response ShowCheckin(const Request& request) const;
  Response SubmitCheckinForm(const Request& request);
  // POST /api/v1/checkins/{token}, asynchronous (router.h): answered once the write is durable.
  void SubmitCheckinJson(const Request& request, const Post& post, Respond respond);
  // A JSON submission's check-in, opened to submit, and its answers as the request gives them;
  // or the problem to answer with.
  struct CheckedSubmission {
    CheckinContext context;
    std::vector<Submission> submissions;
  };
  std::variant<CheckedSubmission, Response> ReadCheckinSubmission(const Request& request) const;

  // The JSON body of a request to a JSON route, or the problem to answer with: 415 unless the
  // content type is application/json; 400 naming "body" for malformed JSON or JSON beyond the
  // limits of AppOptions. Every JSON handler reads its body through this.
  std::variant<nlohmann::json, Response> ReadJsonBody(const Request& request) const;

  // The respondent's page language and the check-in's instruments worded for it.
  struct Localised {
    PageLanguage page;
    std::vector<InstrumentView> views;
    bool worded = true;  // false: an instrument has no wording in any language
    // The wording the views point into (WordingFor), kept alive with them.
    std::shared_ptr<const instruments::Catalog> catalog;
  };
  // The wording an organisation's check-in pages use: the site's catalogue, with the
  // organisation's uploaded text packs over it (they take precedence over the site folder's).
  // Read from the database on each call, so several servers on one database agree at once; the
  // worded catalogue is rebuilt only when the packs changed. A pack that no longer fits its
  // instrument is skipped and logged.
  std::shared_ptr<const instruments::Catalog> WordingFor(const std::string& org_id) const;
  Localised Localise(const CheckinContext& context, const Request& request,
                     const std::string& chosen) const;
  // A page language for pages shown before the check-in is known (errors).
  std::string RequestLanguage(const Request& request, const std::string& chosen) const;

  storage::Store& store_;
  const instruments::Catalog& catalog_;
  // File name → (content type, bytes) of the built browser code.
  std::map<std::string, std::pair<std::string, std::string>> web_assets_;
  CheckinService checkins_;
  AppOptions options_;
  AuthService auth_;
  std::unique_ptr<StaffApi> staff_api_;
  // WordingFor's cache: organisation id → (what its packs were, the catalogue worded by them).
  mutable std::mutex wording_mutex_;
  mutable std::map<std::string, std::pair<std::string, std::shared_ptr<const instruments::Catalog>>>
      wording_;
  Router router_;
  std::string openapi_;
};

// True when `text` nests arrays and objects no deeper than `max_depth` (strings are skipped).
bool JsonDepthWithin(std::string_view text, int max_depth);
// Ok when `text` nests arrays and objects no deeper than `max_depth` and holds no string (key or
// value) longer than `max_string_bytes` as written; else kInvalidArgument naming "body". Checked
// before parsing, so that no limit-breaking document is ever built in memory.
Status CheckJsonLimits(std::string_view text, int max_depth, size_t max_string_bytes);

}  // namespace rapport::api
