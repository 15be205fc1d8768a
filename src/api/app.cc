#include "api/app.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "api/openapi.h"
#include "api/pages.h"
#include "base/log.h"
#include "instruments/catalog.h"
#include "instruments/scoring.h"
#include "instruments/textpack.h"

namespace rapport::api {
namespace {

using Json = nlohmann::json;

// Kind HTML, in the respondent's language, for a failed check-in lookup or submission.
Response CheckinErrorPage(const Status& status, const UiText& ui, const std::string& lang) {
  const auto page = [&](int code, const char* key) {
    const std::string prefix = std::string("error.") + key;
    return HtmlResponse(code, RenderMessagePage(ui.Get(lang, prefix + ".title"),
                                                ui.Get(lang, prefix + ".message"), lang));
  };
  switch (status.code()) {
    case StatusCode::kNotFound: return page(404, "not_found");
    case StatusCode::kGone: return page(410, "gone");
    case StatusCode::kConflict: return page(409, "conflict");
    default:
      log::Error("check-in failed", {{"error", status.ToString()}});
      return page(HttpStatus(status.code()), "failed");
  }
}

// The languages of an Accept-Language header, most preferred first (q=0 ones dropped).
std::vector<std::string> AcceptedLanguages(const std::string& header) {
  std::vector<std::pair<double, std::string>> weighted;
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string entry = header.substr(start, end - start);
    start = end + 1;
    double q = 1;
    if (const size_t semi = entry.find(';'); semi != std::string::npos) {
      const size_t eq = entry.find("q=", semi);
      if (eq != std::string::npos) q = std::strtod(entry.c_str() + eq + 2, nullptr);
      entry.resize(semi);
    }
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    if (entry.empty() || entry == "*" || !(q > 0)) continue;
    weighted.emplace_back(q, entry);
  }
  std::stable_sort(weighted.begin(), weighted.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (const auto& [q, tag] : weighted) out.push_back(tag);
  return out;
}

// The first of `wanted` that is offered, matching "es-MX" to "es" when only that is offered.
std::string FirstOffered(const std::vector<std::string>& wanted,
                         const std::vector<std::string>& offered) {
  for (const std::string& tag : wanted) {
    for (const std::string& candidate : offered) {
      if (candidate == tag) return candidate;
    }
    const std::string primary = tag.substr(0, tag.find('-'));
    for (const std::string& candidate : offered) {
      if (candidate == primary) return candidate;
    }
  }
  return {};
}

// A submission's result for the respondent (docs/api.md): the scores, and the signals their
// session raised about them by kind, severity and status, without the evidence and guidance
// that are for staff.
Json ResultJson(const std::string& checkin_id, const SubmitOutcome& outcome) {
  Json out;
  out["checkin"] = checkin_id;
  out["responses"] = Json::array();
  for (const domain::Response& response : outcome.responses) {
    out["responses"].push_back({{"id", response.id},
                                {"instrument", response.instrument_id},
                                {"submitted_at", FormatTimestamp(response.submitted_at)},
                                {"score", instruments::ScoreToJson(response.score)}});
  }
  out["signals"] = Json::array();
  for (const domain::Alert& alert : outcome.signals) {
    out["signals"].push_back({{"kind", alert.kind},
                              {"severity", domain::Name(alert.severity)},
                              {"status", domain::Name(alert.status)},
                              {"since_session", alert.session_number}});
  }
  return out;
}

}  // namespace

Status CheckJsonLimits(std::string_view text, int max_depth, size_t max_string_bytes) {
  int depth = 0;
  bool in_string = false;
  size_t string_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      if (i - string_start > max_string_bytes) {
        return InvalidArgument(
            "a JSON string is longer than " + std::to_string(max_string_bytes) + " bytes", "body");
      }
    } else if (c == '"') {
      in_string = true;
      string_start = i + 1;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return InvalidArgument("JSON nests deeper than " + std::to_string(max_depth) + " levels",
                               "body");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::Ok();
}

bool JsonDepthWithin(std::string_view text, int max_depth) {
  return CheckJsonLimits(text, max_depth, text.size()).ok();
}

App::App(storage::Store& store, const instruments::Catalog& catalog, const Clock& clock,
         Random& random, AppOptions options)
    : store_(store),
      catalog_(catalog),
      checkins_(store, catalog, clock, random, options.signal_cache_bytes),
      options_(std::move(options)),
      auth_(store, clock, random, options_.auth) {
  if (options_.ui_text == nullptr) {
    auto loaded = UiText::LoadDirectory(instruments::DefaultDataDir() / "ui");
    if (!loaded.ok()) {
      log::Error("page text not loaded; pages show their keys",
                 {{"error", loaded.status().message()}});
    }
    options_.ui_text =
        std::make_shared<const UiText>(loaded.ok() ? std::move(loaded).value() : UiText());
  }
  router_.Add("GET", "/healthz", [this](Request& r) { return Health(r); });
  router_.Add("GET", "/readyz", [this](Request& r) { return Ready(r); });
  router_.Add("GET", "/metrics", [this](Request& r) { return Metrics(r); });
  router_.Add("GET", "/", [this](Request& r) { return Start(r); });
  router_.Add("GET", "/app", [](Request&) { return HtmlResponse(200, RenderStaffApp()); });
  router_.Add("GET", "/assets/rapport.css", [](Request&) {
    Response response{200, "text/css; charset=utf-8", {}, Stylesheet()};
    return response;
  });
  router_.Add("GET", "/assets/favicon.svg", [](Request&) {
    Response response{200, "image/svg+xml", {}, FaviconSvg()};
    return response;
  });
  LoadWebAssets();
  router_.Add("GET", "/assets/{name}", [this](Request& r) { return WebAsset(r); });
  router_.Add("GET", std::string(kKioskPath), [this](Request& r) {
    return HtmlResponse(200, RenderKioskPage(*options_.ui_text, RequestLanguage(r, "")));
  });
  router_.Add("GET", "/c/{token}", [this](Request& r) { return ShowCheckin(r); });
  router_.Add("POST", "/c/{token}", [this](Request& r) { return SubmitCheckinForm(r); });
  RouteSpec submit{"POST", "/api/v1/checkins/{token}", Access::kCheckin};
  submit.tag = "checkins";
  submit.summary =
      "Answer a check-in with its token: every instrument once, answers in item order or by "
      "item id; 201 with the scores and the signals the session raised about the respondent "
      "(kind, severity, status), 200 when the same answers were stored before";
  submit.example_body =
      R"({"responses": [{"instrument": "rapport-alliance-client", "answers": [4, 4, 3, 4]}]})";
  submit.success_status = 201;
  // Opening the check-in reads the store: on the I/O thread only when that is local.
  router_.AddAsync(
      submit,
      [this](Request& r, const Post& post, Respond respond) {
        SubmitCheckinJson(r, post, std::move(respond));
      },
      /*blocks=*/!store.ReadsAreLocal());

  StaffApiOptions staff;
  staff.public_url = options_.public_url;
  staff.max_json_depth = options_.max_json_depth;
  auto guidance = alerts::LoadGuidanceDirectory(alerts::DefaultGuidanceDir());
  if (guidance.ok()) {
    staff.guidance = std::move(guidance).value();
  } else {
    log::Error("guidance library not loaded; alerts show no guidance",
               {{"error", guidance.status().message()}});
  }
  staff_api_ = std::make_unique<StaffApi>(store, catalog, clock, random, auth_, std::move(staff));
  staff_api_->AddRoutes(router_);
  router_.Add("GET", "/api/v1/openapi.json",
              [this](Request&) { return JsonResponse(200, openapi_); });
  openapi_ = OpenApiDocument(router_, RAPPORT_VERSION);
}

void App::LoadWebAssets() {
  if (options_.web_dir.empty()) return;
  std::error_code error;
  std::filesystem::directory_iterator entries(options_.web_dir, error);
  if (error) {
    log::Info("no built browser code; pages work without script",
              {{"web_dir", options_.web_dir.string()}});
    return;
  }
  for (const std::filesystem::directory_entry& entry : entries) {
    const std::string extension = entry.path().extension().string();
    const char* type = extension == ".js"    ? "text/javascript; charset=utf-8"
                       : extension == ".css" ? "text/css; charset=utf-8"
                                             : nullptr;
    if (type == nullptr || !entry.is_regular_file(error)) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) continue;
    web_assets_[entry.path().filename().string()] = {type, bytes.str()};
  }
}

Response App::WebAsset(const Request& request) const {
  const auto found = web_assets_.find(request.Param("name"));
  if (found == web_assets_.end()) {
    return ProblemResponse(404, "no such resource: " + request.path);
  }
  Response response{200, found->second.first, {}, found->second.second};
  response.headers.emplace_back("Cache-Control", "public, max-age=300");
  return response;
}

std::filesystem::path DefaultWebDir() {
  if (const char* dir = std::getenv("RAPPORT_WEB_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  for (const std::filesystem::path& candidate : {std::filesystem::path(RAPPORT_BUILD_WEB_DIR),
                                                 std::filesystem::path(RAPPORT_INSTALL_WEB_DIR)}) {
    std::error_code ignored;
    if (std::filesystem::is_directory(candidate, ignored)) return candidate;
  }
  return {};
}

Response App::Health(const Request&) const { return JsonResponse(200, R"({"status":"ok"})"); }

Response App::Ready(const Request&) const {
  // Ready when the database answers a read at the schema this binary expects.
  const Status status =
      store_.Read([](storage::ReadTransaction& txn) { return txn.ListOrganizations().status(); });
  if (!status.ok()) {
    log::Error("not ready", {{"error", status.ToString()}});
    return ProblemResponse(503, "the database is not available");
  }
  return JsonResponse(200, R"({"status":"ready"})");
}

Response App::Metrics(const Request&) const {
  std::string out =
      "# HELP rapport_http_requests_total Requests answered, by route and status class.\n"
      "# TYPE rapport_http_requests_total counter\n";
  static constexpr const char* kClasses[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (const Router::Route& route : router_.routes()) {
    for (size_t status_class = 1; status_class <= 5; ++status_class) {
      const uint64_t count = (*route.counts)[status_class].load(std::memory_order_relaxed);
      if (count == 0) continue;
      out.append("rapport_http_requests_total{method=\"").append(route.spec.method);
      out.append("\",route=\"").append(route.spec.pattern).append("\",class=\"");
      out.append(kClasses[status_class]).append("\"} ").append(std::to_string(count));
      out.append("\n");
    }
  }
  out.append(
      "# HELP rapport_http_unmatched_total Requests that matched no route.\n"
      "# TYPE rapport_http_unmatched_total counter\n"
      "rapport_http_unmatched_total ");
  out.append(std::to_string(router_.unmatched())).append("\n");
  const alerts::SignalCache::Counters cache = checkins_.signal_cache().counters();
  out.append(
      "# HELP rapport_signal_cache_lookups_total Check-in submissions whose episode's signal "
      "inputs were (hit) or were not (miss) in memory at the revision read.\n"
      "# TYPE rapport_signal_cache_lookups_total counter\n");
  out.append("rapport_signal_cache_lookups_total{result=\"hit\"} ")
      .append(std::to_string(cache.hits))
      .append("\nrapport_signal_cache_lookups_total{result=\"miss\"} ")
      .append(std::to_string(cache.misses))
      .append("\n");
  out.append(
      "# HELP rapport_signal_cache_bytes Approximate memory of the episodes' signal inputs "
      "kept.\n"
      "# TYPE rapport_signal_cache_bytes gauge\n"
      "rapport_signal_cache_bytes ");
  out.append(std::to_string(cache.bytes)).append("\n");
  // Resident memory from /proc/self/statm (pages).
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  if (statm >> pages_total >> pages_resident) {
    out.append(
        "# HELP rapport_process_resident_memory_bytes Resident memory of the server.\n"
        "# TYPE rapport_process_resident_memory_bytes gauge\n"
        "rapport_process_resident_memory_bytes ");
    out.append(std::to_string(pages_resident * sysconf(_SC_PAGESIZE))).append("\n");
  }
  Response response{200, "text/plain; version=0.0.4; charset=utf-8", {}, std::move(out)};
  return response;
}

Response App::Start(const Request&) const {
  return HtmlResponse(200, RenderStartPage(options_.demo_checkin_links));
}

std::string App::RequestLanguage(const Request& request, const std::string& chosen) const {
  const UiText& ui = *options_.ui_text;
  std::vector<std::string> wanted;
  if (!chosen.empty()) wanted.push_back(chosen);
  for (std::string& tag : AcceptedLanguages(request.Header("accept-language")))
    wanted.push_back(std::move(tag));
  std::string lang = FirstOffered(wanted, ui.Languages());
  return lang.empty() ? "en" : lang;
}

std::shared_ptr<const instruments::Catalog> App::WordingFor(const std::string& org_id) const {
  // The site's catalogue, not owned (it outlives the App).
  const std::shared_ptr<const instruments::Catalog> site(std::shared_ptr<void>(), &catalog_);
  std::vector<storage::StoredTextPack> packs;
  const Status read = store_.Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(packs, txn.ListTextPacks(org_id));
    return Status::Ok();
  });
  if (!read.ok()) {
    log::Error("the organisation's text packs were not read; the site's wording is used",
               {{"org", org_id}, {"error", read.ToString()}});
    return site;
  }
  if (packs.empty()) return site;
  std::string signature;
  for (const storage::StoredTextPack& pack : packs) {
    signature.append(pack.instrument_id).append("\n").append(pack.language).append("\n");
    signature.append(std::to_string(ToUnixMillis(pack.uploaded_at))).append("\n");
    signature.append(std::to_string(std::hash<std::string>{}(pack.document))).append("\n");
  }
  {
    std::lock_guard<std::mutex> lock(wording_mutex_);
    const auto cached = wording_.find(org_id);
    if (cached != wording_.end() && cached->second.first == signature) return cached->second.second;
  }
  auto worded = std::make_shared<instruments::Catalog>(catalog_);
  for (const storage::StoredTextPack& stored : packs) {
    auto pack = instruments::ParseTextPack(stored.document, "text pack of " + org_id);
    const Status added = pack.ok() ? worded->AddTextPack(*pack) : pack.status();
    if (!added.ok()) {
      log::Error("an organisation's text pack does not fit its instrument and is not used",
                 {{"org", org_id},
                  {"instrument", stored.instrument_id},
                  {"language", stored.language},
                  {"error", added.message()}});
    }
  }
  std::shared_ptr<const instruments::Catalog> result = std::move(worded);
  std::lock_guard<std::mutex> lock(wording_mutex_);
  wording_[org_id] = {signature, result};
  return result;
}

App::Localised App::Localise(const CheckinContext& context, const Request& request,
                             const std::string& chosen) const {
  const UiText& ui = *options_.ui_text;
  const std::shared_ptr<const instruments::Catalog> catalog = WordingFor(context.checkin.org_id);
  // Offer each page language in which at least one of the check-in's instruments is worded.
  std::vector<std::string> offered;
  for (const std::string& tag : ui.Languages()) {
    for (const instruments::Definition* definition : context.instruments) {
      if (catalog->FindWorded(definition->id, tag) != nullptr) {
        offered.push_back(tag);
        break;
      }
    }
  }
  // The language asked for now, else the one the clinic recorded for the respondent, else the
  // browser's, else the first instrument's own.
  std::vector<std::string> wanted;
  if (!chosen.empty()) wanted.push_back(chosen);
  if (!context.checkin.language.empty()) wanted.push_back(context.checkin.language);
  for (std::string& tag : AcceptedLanguages(request.Header("accept-language")))
    wanted.push_back(std::move(tag));
  if (!context.instruments.empty()) wanted.push_back(context.instruments.front()->language);
  wanted.push_back("en");
  Localised out;
  out.catalog = catalog;
  out.page.ui = &ui;
  out.page.kiosk = request.query.contains("kiosk");
  out.page.language = FirstOffered(wanted, offered);
  if (out.page.language.empty()) out.page.language = FirstOffered(wanted, ui.Languages());
  if (out.page.language.empty()) out.page.language = "en";
  for (const std::string& tag : offered) {
    out.page.choices.push_back({tag, ui.Name(tag), tag == out.page.language});
  }
  for (const instruments::Definition* definition : context.instruments) {
    const instruments::Wording wording = catalog->Resolve(definition->id, out.page.language);
    if (wording.definition == nullptr) {
      out.worded = false;
      out.views.push_back({definition, false, {}});
    } else {
      out.views.push_back({wording.definition, wording.fell_back, {}});
    }
    if (definition->kind == "goals") out.views.back().goals = context.goals;
  }
  return out;
}

Response App::ShowCheckin(const Request& request) const {
  const auto lang_param = request.query.find("lang");
  const std::string chosen = lang_param == request.query.end() ? "" : lang_param->second;
  auto context = checkins_.Open(request.Param("token"));
  if (!context.ok()) {
    return CheckinErrorPage(context.status(), *options_.ui_text, RequestLanguage(request, chosen));
  }
  const Localised localised = Localise(*context, request, chosen);
  if (context->checkin.submitted_at) {
    return HtmlResponse(
        200, RenderCheckinResult(localised.page, localised.views, context->responses, false));
  }
  if (!localised.worded) {
    // A standard instrument without its site-supplied wording is never shown.
    const UiText& ui = *options_.ui_text;
    const std::string& lang = localised.page.language;
    return HtmlResponse(503, RenderMessagePage(ui.Get(lang, "error.no_wording.title"),
                                               ui.Get(lang, "error.no_wording.message"), lang));
  }
  return HtmlResponse(200,
                      RenderCheckinForm(localised.page, localised.views, request.path, {}, "", ""));
}

Response App::SubmitCheckinForm(const Request& request) {
  const std::string token = request.Param("token");
  const std::string content_type = request.Header("content-type");
  if (!content_type.starts_with("application/x-www-form-urlencoded")) {
    return ProblemResponse(415,
                           "the check-in form must be sent as "
                           "application/x-www-form-urlencoded",
                           "content-type");
  }
  const UiText& ui = *options_.ui_text;
  auto pairs = ParseFormEncoded(request.body);
  std::map<std::string, std::string> values;
  if (pairs.ok()) {
    for (auto& [key, value] : *pairs) values[key] = value;
  }
  const std::string chosen = values.contains("lang") ? values["lang"] : "";
  auto context = checkins_.OpenToSubmit(token);
  if (!context.ok()) {
    return CheckinErrorPage(context.status(), ui, RequestLanguage(request, chosen));
  }
  const Localised localised = Localise(*context, request, chosen);
  const std::string& lang = localised.page.language;
  if (!pairs.ok()) {
    return HtmlResponse(400, RenderMessagePage(ui.Get(lang, "error.failed.title"),
                                               ui.Get(lang, "error.unreadable.message"), lang));
  }

  // Re-shows the form with the answers kept and the problem named.
  const auto form_error = [&](const std::string& message, const std::string& field) {
    return HtmlResponse(400, RenderCheckinForm(localised.page, localised.views, request.path,
                                               values, message, field));
  };

  std::vector<Submission> submissions;
  for (const InstrumentView& view : localised.views) {
    const instruments::Definition* definition = view.definition;
    Submission submission{definition->id, {}};
    for (const instruments::Item& item : definition->items) {
      const auto it = values.find(FormFieldName(definition->id, item.id));
      if (it == values.end() || it->second.empty()) {
        submission.answers.push_back({item.id, std::nullopt});
        continue;
      }
      char* end = nullptr;
      const double value = std::strtod(it->second.c_str(), &end);
      if (end != it->second.c_str() + it->second.size()) {
        return form_error(ui.Format(lang, "form.unreadable", {{"question", item.text}}),
                          definition->id + ".item " + item.id);
      }
      submission.answers.push_back({item.id, value});
    }
    submissions.push_back(std::move(submission));
  }
  auto outcome = checkins_.Submit(std::move(*context), submissions, request.remote_address);
  if (!outcome.ok()) {
    if (outcome.status().code() == StatusCode::kInvalidArgument) {
      // Name the question in the respondent's words, not the item id.
      std::string message = outcome.status().message();
      for (const InstrumentView& view : localised.views) {
        for (const instruments::Item& item : view.definition->items) {
          if (outcome.status().field() == view.definition->id + ".item " + item.id) {
            message = ui.Format(lang, "form.required", {{"question", item.text}});
          }
        }
      }
      return form_error(message, outcome.status().field());
    }
    return CheckinErrorPage(outcome.status(), ui, lang);
  }
  return HtmlResponse(
      outcome->created ? 201 : 200,
      RenderCheckinResult(localised.page, localised.views, outcome->responses, outcome->created));
}

std::variant<Json, Response> App::ReadJsonBody(const Request& request) const {
  // "application/json", optionally with parameters ("; charset=utf-8"), in any case.
  std::string type = request.Header("content-type");
  type.resize(std::min(type.size(), type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (type != "application/json") {
    return ProblemResponse(415, "request body must be application/json", "content-type");
  }
  if (Status limits =
          CheckJsonLimits(request.body, options_.max_json_depth, options_.max_json_string_bytes);
      !limits.ok()) {
    return ProblemResponse(limits);
  }
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return ProblemResponse(400, "request body is not valid JSON", "body");
  return body;
}

void App::SubmitCheckinJson(const Request& request, const Post& post, Respond respond) {
  // Checked, scored and evaluated here; answered once the write is durable.
  auto checked = ReadCheckinSubmission(request);
  if (auto* problem = std::get_if<Response>(&checked)) return respond(std::move(*problem));
  auto& [context, submissions] = std::get<CheckedSubmission>(checked);
  const std::string checkin_id = context.checkin.id;
  checkins_.SubmitAsync(std::move(context), submissions, request.remote_address, post,
                        [checkin_id, respond](Result<SubmitOutcome> outcome) {
                          if (!outcome.ok()) return respond(ProblemResponse(outcome.status()));
                          respond(JsonResponse(outcome->created ? 201 : 200,
                                               ResultJson(checkin_id, *outcome).dump()));
                        });
}

std::variant<App::CheckedSubmission, Response> App::ReadCheckinSubmission(
    const Request& request) const {
  auto read = ReadJsonBody(request);
  if (auto* problem = std::get_if<Response>(&read)) return std::move(*problem);
  Json& body = std::get<Json>(read);
  if (!body.is_object() || !body.contains("responses") || !body["responses"].is_array()) {
    return ProblemResponse(
        400, "expected {\"responses\": [{\"instrument\": ID, \"answers\": ...}]}", "responses");
  }
  const std::string token = request.Param("token");
  auto context = checkins_.OpenToSubmit(token);
  if (!context.ok()) return ProblemResponse(context.status());

  std::vector<Submission> submissions;
  const Json& items = body["responses"];
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = "responses[" + std::to_string(i) + "]";
    const Json& entry = items[i];
    if (!entry.is_object() || !entry.contains("instrument") || !entry["instrument"].is_string()) {
      return ProblemResponse(400, "each response needs a string 'instrument'",
                             path + ".instrument");
    }
    Submission submission{entry["instrument"].get<std::string>(), {}};
    const instruments::Definition* definition = nullptr;
    for (const auto* candidate : context->instruments) {
      if (candidate->id == submission.instrument_id) definition = candidate;
    }
    if (definition == nullptr) {
      return ProblemResponse(
          400, "instrument '" + submission.instrument_id + "' is not part of this check-in",
          path + ".instrument");
    }
    const Json answers = entry.contains("answers") ? entry["answers"] : Json();
    if (answers.is_array()) {
      auto parsed = instruments::AnswersFromArray(*definition, answers);
      if (!parsed.ok()) {
        return ProblemResponse(400, submission.instrument_id + ": " + parsed.status().message(),
                               path + ".answers");
      }
      submission.answers = std::move(parsed).value();
    } else if (answers.is_object()) {
      for (const auto& [item_id, value] : answers.items()) {
        if (!value.is_number() && !value.is_null()) {
          return ProblemResponse(400, "answer to item " + item_id + " is not a number",
                                 path + ".answers." + item_id);
        }
        submission.answers.push_back(
            {item_id, value.is_null() ? std::nullopt : std::optional<double>(value.get<double>())});
      }
    } else {
      return ProblemResponse(400,
                             "'answers' must be an array in item order or an object by item id",
                             path + ".answers");
    }
    submissions.push_back(std::move(submission));
  }
  return CheckedSubmission{std::move(context).value(), std::move(submissions)};
}

}  // namespace rapport::api
