#include "api/staff_api.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "alerts/models.h"
#include "alliance/change.h"
#include "api/accounts.h"
#include "api/app.h"
#include "api/qr.h"
#include "base/id.h"
#include "base/log.h"
#include "base/password.h"
#include "instruments/scoring.h"
#include "instruments/textpack.h"
#include "stats/therapist_effects.h"

namespace rapport::api {
namespace {

using Json = nlohmann::json;
using domain::Role;

constexpr size_t kMaxText = 2000;  // free text: goals, repair notes
constexpr size_t kMaxName = 200;   // names, codes, e-mail addresses

const std::vector<Role> kClinical = {Role::kClinician, Role::kSupervisor};
const std::vector<Role> kAdmins = {Role::kAdmin};

Response JsonOk(int status, const Json& body) {
  return JsonResponse(status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// The request body as a JSON object. Errors name "body" or "content-type".
Result<Json> ParseBody(const Request& request, int max_depth, size_t max_string_bytes = 64 * 1024) {
  if (!request.Header("content-type").starts_with("application/json")) {
    return Status(StatusCode::kInvalidArgument, "request body must be application/json",
                  "content-type");
  }
  RAPPORT_RETURN_IF_ERROR(CheckJsonLimits(request.body, max_depth, max_string_bytes));
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgument("request body is not valid JSON", "body");
  if (!body.is_object()) return InvalidArgument("request body must be a JSON object", "body");
  return body;
}

// A string member: absent → `fallback` (or an error when required); wrong type or too long →
// an error naming it.
Result<std::string> StringField(const Json& body, const char* name, bool required,
                                size_t max_size = kMaxName, std::string fallback = {}) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string(name) + " is required", name);
    return fallback;
  }
  if (!it->is_string()) return InvalidArgument(std::string(name) + " must be a string", name);
  std::string value = it->get<std::string>();
  if (required && value.empty()) {
    return InvalidArgument(std::string(name) + " must not be empty", name);
  }
  if (value.size() > max_size) {
    return InvalidArgument(
        std::string(name) + " is longer than " + std::to_string(max_size) + " characters", name);
  }
  return value;
}

Result<std::vector<std::string>> StringListField(const Json& body, const char* name,
                                                 bool required) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string(name) + " is required", name);
    return std::vector<std::string>{};
  }
  if (!it->is_array()) return InvalidArgument(std::string(name) + " must be an array", name);
  std::vector<std::string> out;
  for (const Json& entry : *it) {
    if (!entry.is_string() || entry.get<std::string>().empty() ||
        entry.get<std::string>().size() > kMaxName) {
      return InvalidArgument(std::string(name) + " must hold non-empty strings", name);
    }
    out.push_back(entry.get<std::string>());
  }
  if (out.size() > 100) return InvalidArgument(std::string(name) + " is too long", name);
  return out;
}

Result<std::optional<bool>> BoolField(const Json& body, const char* name) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return InvalidArgument(std::string(name) + " must be true or false", name);
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<Timestamp>> TimeField(const Json& body, const char* name) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<Timestamp>();
  if (!it->is_string()) {
    return InvalidArgument(std::string(name) + " must be an RFC 3339 time", name);
  }
  auto parsed = ParseTimestamp(it->get<std::string>());
  if (!parsed.ok()) {
    return InvalidArgument(std::string(name) + ": " + parsed.status().message(), name);
  }
  return std::optional<Timestamp>(*parsed);
}

// Parses an enum member with its domain parser, naming the field on error.
template <typename E>
Result<std::optional<E>> EnumField(const Json& body, const char* name,
                                   Result<E> (*parse)(std::string_view)) {
  RAPPORT_ASSIGN_OR_RETURN(const std::string text, StringField(body, name, false));
  if (text.empty()) return std::optional<E>();
  auto value = parse(text);
  if (!value.ok()) return InvalidArgument(value.status().message(), name);
  return std::optional<E>(*value);
}

// Every member of `body` must be one of `known`, so a misspelt field is not silently ignored.
Status OnlyFields(const Json& body, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return InvalidArgument("unknown field '" + key + "'", key);
    }
  }
  return Status::Ok();
}

Json ClientJson(const domain::Client& client) {
  return {{"id", client.id},
          {"code", client.code},
          {"language", client.language},
          {"consent_research", client.consent_research},
          {"created_at", FormatTimestamp(client.created_at)}};
}

Json EpisodeJson(const domain::Episode& episode) {
  Json out = {{"id", episode.id},
              {"clinic_id", episode.clinic_id},
              {"modality", domain::Name(episode.modality)},
              {"client_ids", episode.client_ids},
              {"clinician_ids", episode.clinician_ids},
              {"started_at", FormatTimestamp(episode.started_at)},
              {"ended_at", nullptr},
              {"end_reason", nullptr}};
  if (episode.ended_at) out["ended_at"] = FormatTimestamp(*episode.ended_at);
  if (episode.end_reason) out["end_reason"] = domain::Name(*episode.end_reason);
  return out;
}

Json SessionJson(const domain::Session& session) {
  Json participants = Json::array();
  for (const domain::Participant& participant : session.participants) {
    participants.push_back(
        {{"person_id", participant.person_id}, {"role", domain::Name(participant.role)}});
  }
  return {{"id", session.id},
          {"episode_id", session.episode_id},
          {"number", session.number},
          {"scheduled_at", FormatTimestamp(session.scheduled_at)},
          {"attendance", domain::Name(session.attendance)},
          {"participants", participants}};
}

Json GoalJson(const domain::Goal& goal) {
  return {{"id", goal.id},
          {"episode_id", goal.episode_id},
          {"client_id", goal.client_id},
          {"description", goal.description},
          {"created_at", FormatTimestamp(goal.created_at)}};
}

Json ResponseJson(const domain::Response& response) {
  Json answers = Json::array();
  for (const domain::ItemAnswer& answer : response.answers) {
    answers.push_back(
        {{"item", answer.item_id}, {"value", answer.value ? Json(*answer.value) : Json(nullptr)}});
  }
  Json out = {{"id", response.id},
              {"session_id", response.session_id},
              {"respondent_id", response.respondent_id},
              {"perspective", domain::Name(response.perspective)},
              {"instrument", response.instrument_id},
              {"answers", answers},
              {"score", instruments::ScoreToJson(response.score)},
              {"submitted_at", FormatTimestamp(response.submitted_at)}};
  if (response.target) out["target"] = domain::Name(*response.target);
  return out;
}

Json TokenJson(const domain::ApiToken& token) {
  Json out = {{"id", token.id},         {"name", token.name},
              {"scopes", token.scopes}, {"created_at", FormatTimestamp(token.created_at)},
              {"expires_at", nullptr},  {"revoked_at", nullptr}};
  if (token.expires_at) out["expires_at"] = FormatTimestamp(*token.expires_at);
  if (token.revoked_at) out["revoked_at"] = FormatTimestamp(*token.revoked_at);
  return out;
}

std::string RoleList(const std::vector<Role>& roles) {
  std::string out;
  for (const Role role : roles) {
    if (!out.empty()) out += " or ";
    out += domain::Name(role);
  }
  return out;
}

// A text pack as the API lists it: what it words, where it came from, who uploaded it and
// whether it still fits the installed instrument (`problems` when it does not, e.g. after the
// instrument's definition changed; a pack that does not fit is not used).
Json StoredTextPackJson(const storage::StoredTextPack& stored, const instruments::Catalog& catalog,
                        const std::map<std::string, std::string>& names) {
  Json out = {{"instrument", stored.instrument_id},
              {"language", stored.language},
              {"instrument_version", nullptr},
              {"title", nullptr},
              {"source", nullptr},
              {"licence", nullptr},
              {"uploaded_by", stored.uploaded_by},
              {"uploaded_by_name", nullptr},
              {"uploaded_at", FormatTimestamp(stored.uploaded_at)},
              {"fits", false},
              {"problems", Json::array()}};
  if (const auto name = names.find(stored.uploaded_by); name != names.end()) {
    out["uploaded_by_name"] = name->second;
  }
  std::vector<instruments::Problem> problems;
  auto pack = instruments::ParseTextPack(stored.document, "", &problems);
  if (pack.ok()) {
    out["instrument_version"] = pack->instrument_version;
    out["title"] = pack->title;
    out["source"] = pack->source;
    out["licence"] = pack->licence;
    if (const instruments::Definition* definition = catalog.Find(stored.instrument_id)) {
      problems = instruments::CheckTextPack(*pack, *definition);
    } else {
      problems.push_back({"", "", "textpack.instrument",
                          "no instrument '" + stored.instrument_id + "' is installed"});
    }
  }
  for (const instruments::Problem& problem : problems) {
    out["problems"].push_back({{"item", problem.item.empty() ? Json(nullptr) : Json(problem.item)},
                               {"field", problem.field},
                               {"message", problem.message}});
  }
  out["fits"] = problems.empty();
  return out;
}

// 422 problem+json listing every problem of an uploaded text pack, each naming its item (when
// about one) and field; `field` and `detail` name the first.
Response TextPackProblems(const std::vector<instruments::Problem>& problems) {
  Json list = Json::array();
  std::string detail = "the text pack does not fit the instrument (" +
                       std::to_string(problems.size()) +
                       (problems.size() == 1 ? " problem)" : " problems)");
  for (const instruments::Problem& problem : problems) {
    list.push_back({{"item", problem.item.empty() ? Json(nullptr) : Json(problem.item)},
                    {"field", problem.field},
                    {"message", problem.message}});
    detail.append(problems.size() == 1 ? ": " : "; ");
    if (!problem.item.empty()) detail.append("item ").append(problem.item).append(": ");
    detail.append(problem.field).append(": ").append(problem.message);
  }
  Json body = {{"type", "about:blank"},
               {"title", "Unprocessable Content"},
               {"status", 422},
               {"detail", detail},
               {"field", problems.empty() ? std::string("body") : problems.front().field},
               {"problems", list}};
  return Response{422,
                  "application/problem+json",
                  {},
                  body.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

}  // namespace

// What needs a clinician's attention first (issue: the caseload): a risk answer, then an open
// rupture, not on track, dropout risk, a perspective gap; every other kind after those.
constexpr std::string_view kAttentionOrder[] = {"risk-item", "rupture", "not-on-track",
                                                "dropout-risk", "perspective-gap"};

int AttentionRank(std::string_view kind) {
  const auto* found = std::find(std::begin(kAttentionOrder), std::end(kAttentionOrder), kind);
  return static_cast<int>(found - std::begin(kAttentionOrder));  // the end for other kinds
}

// Each goal of an episode with how its client rated it, session by session (DESIGN.md §3,
// Goals): the n-th goal a client agreed (oldest first) is rated by the n-th item of an instrument
// of kind "goals", as the check-in form shows it. `ratings` is empty for a goal not rated yet;
// `range` is the item's scale once there is a rating.
Json GoalsWithRatings(const std::vector<domain::Goal>& goals,
                      const std::vector<domain::Response>& responses,
                      const std::map<std::string, int>& number_of,
                      const instruments::Catalog& catalog) {
  Json out = Json::array();
  std::map<std::string, size_t> agreed;  // goals seen so far per client
  for (const domain::Goal& goal : goals) {
    Json entry = GoalJson(goal);
    const size_t slot = agreed[goal.client_id]++;
    Json ratings = Json::array();
    Json range = nullptr;
    for (const domain::Response& response : responses) {
      if (response.respondent_id != goal.client_id) continue;
      const instruments::Definition* definition = catalog.Find(response.instrument_id);
      if (definition == nullptr || definition->kind != "goals" ||
          slot >= definition->items.size()) {
        continue;
      }
      const instruments::Item& item = definition->items[slot];
      for (const domain::ItemAnswer& answer : response.answers) {
        if (answer.item_id != item.id || !answer.value) continue;
        const auto number = number_of.find(response.session_id);
        ratings.push_back(
            {{"session", number != number_of.end() ? Json(number->second) : Json(nullptr)},
             {"value", *answer.value},
             {"instrument", response.instrument_id}});
        range = Json::array({item.min, item.max});
      }
    }
    entry["ratings"] = std::move(ratings);
    entry["range"] = std::move(range);
    out.push_back(std::move(entry));
  }
  return out;
}

// A therapist's estimate in words about the clients' outcomes, whichever way the measure
// runs: on PHQ-9 an effect below average is better outcomes (SCIENCE.md §8).
std::string OutcomeReading(const stats::TherapistEffect& effect, bool higher_is_better) {
  if (!effect.shown) return "not shown";
  if (effect.lower > 0) {
    return higher_is_better ? "better outcomes than average" : "worse outcomes than average";
  }
  if (effect.upper < 0) {
    return higher_is_better ? "worse outcomes than average" : "better outcomes than average";
  }
  return "indistinguishable from average";
}

// A score's subscales (e.g. the alliance's bond, goals and tasks), null where not scored.
Json SubscalesJson(const domain::Score& score) {
  Json out = Json::object();
  for (const auto& [id, value] : score.subscales) out[id] = value ? Json(*value) : Json(nullptr);
  return out;
}

// The range a sum or a mean of `definition`'s items can take.
std::pair<double, double> ItemsRange(const instruments::Definition& definition,
                                     instruments::Aggregation method) {
  double low = 0, high = 0;
  for (const instruments::Item& item : definition.items) {
    double item_low = item.min, item_high = item.max;
    if (!item.options.empty()) {
      item_low = item.options.front().value;
      item_high = item.options.back().value;  // options are ordered by value
    }
    if (method == instruments::Aggregation::kSum) {
      low += item_low;
      high += item_high;
    } else if (&item == &definition.items.front()) {
      low = item_low;
      high = item_high;
    } else {
      low = std::min(low, item_low);
      high = std::max(high, item_high);
    }
  }
  return {low, high};
}

// The range of `definition`'s subscales when every one is a mean of items (the items' range);
// null otherwise, and when it has none.
Json SubscaleRange(const instruments::Definition& definition) {
  if (definition.subscales.empty()) return nullptr;
  for (const instruments::Subscale& subscale : definition.subscales) {
    if (subscale.method != instruments::Aggregation::kMean) return nullptr;
  }
  return ItemsRange(definition, instruments::Aggregation::kMean);
}

// How far past the latest rating the expected course is drawn, in sessions.
constexpr int kExpectedCourseAhead = 4;

// The expected course of a client's outcome ratings (SCIENCE.md §4.3; docs/signals.md): the
// 10th to 90th percentiles of the organisation's expected treatment response for a client with
// this intake score, conditioned as the not-on-track signal does (alliance/signals.cc), from
// the intake to kExpectedCourseAhead sessions past the latest rating. `points` are the series'
// points in session order. Null when there is no rated intake; `applies` is false while the
// model rests on fewer clients than the signals require (the band is then not used by them).
Json ExpectedCourse(const stats::EtrModel& model, const Json& points, int min_clients) {
  std::optional<std::pair<int, double>> intake;
  int last_session = 0;
  for (const Json& point : points) {
    if (!point["session"].is_number() || !point["total"].is_number()) continue;
    const int session = point["session"].get<int>();
    if (!intake) intake.emplace(session, point["total"].get<double>());
    last_session = std::max(last_session, session);
  }
  if (!intake) return nullptr;
  Json out = {{"applies", model.provenance.clients >= min_clients},
              {"model_clients", model.provenance.clients},
              {"fitted_at", FormatTimestamp(model.provenance.fitted_at)},
              {"intake_session", intake->first},
              {"sessions", Json::array()}};
  for (int session = intake->first; session <= last_session + kExpectedCourseAhead; ++session) {
    const double t = model.IntakeSession() + (session - intake->first);
    const auto prediction = model.has_covariate()
                                ? stats::Predict(model, t, intake->second)
                                : stats::PredictGivenIntake(model, t, intake->second);
    if (!prediction.ok()) return nullptr;
    Json row = {{"session", session}};
    for (const stats::EtrBand& band : stats::PercentileBands(*prediction)) {
      row[std::string("p").append(std::to_string(static_cast<int>(band.percentile)))] = band.value;
    }
    out["sessions"].push_back(std::move(row));
  }
  return out;
}

struct StaffApi::Impl {
  storage::Store& store;
  const instruments::Catalog& catalog;
  const Clock& clock;
  Random& random;
  AuthService& auth;
  StaffApiOptions options;

  using StaffHandler = std::function<Result<Response>(Request&, const Principal&)>;

  // The guard of staff-api.h, then the handler; a failed Status becomes problem+json.
  Handler Guard(const RouteSpec& spec, StaffHandler handler) {
    return [this, spec, handler = std::move(handler)](Request& request) -> Response {
      auto principal = auth.Authenticate(request);
      if (!principal.ok()) return ProblemResponse(principal.status());
      if (principal->mfa_enrolment_required && !spec.before_mfa) {
        return ProblemResponse(403,
                               "your role must use multi-factor sign-in: enrol first (POST "
                               "/api/v1/auth/totp/enrol, then /api/v1/auth/totp/activate)");
      }
      if (!spec.roles.empty() && std::find(spec.roles.begin(), spec.roles.end(),
                                           principal->user.role) == spec.roles.end()) {
        return ProblemResponse(403, "this needs the role " + RoleList(spec.roles));
      }
      const bool reads = request.method == "GET" || request.method == "HEAD";
      if (!principal->HasScope(reads ? kScopeRead : kScopeWrite)) {
        return ProblemResponse(403, std::string("the API token lacks the '") +
                                        std::string(reads ? kScopeRead : kScopeWrite) + "' scope");
      }
      if (Status csrf = AuthService::CheckCsrf(*principal, request); !csrf.ok()) {
        return ProblemResponse(csrf);
      }
      auto response = handler(request, *principal);
      // A create that names what it made (Location) is recorded under that address.
      std::string resource = request.path;
      if (response.ok()) {
        for (const auto& [name, value] : response->headers) {
          if (name == "Location") resource = value;
        }
      }
      Audit(request, *principal,
            response.ok() ? response->status : HttpStatus(response.status().code()), resource);
      if (!response.ok()) {
        if (response.status().code() == StatusCode::kInternal) {
          log::Error("request failed",
                     {{"route", spec.pattern}, {"error", response.status().ToString()}});
        }
        return ProblemResponse(response.status());
      }
      return std::move(response).value();
    };
  }

  // Records the call in the organisation's hash-chained audit log (DESIGN.md §3): who, what
  // (the method and path, so the record touched), when, from where, and the outcome. Reads
  // are recorded as well as writes. A failure to record is logged, not hidden.
  void Audit(const Request& request, const Principal& principal, int status,
             const std::string& resource) {
    domain::AuditEvent event;
    event.org_id = principal.user.org_id;
    event.at = clock.Now();
    event.actor = principal.api_token ? "token:" + principal.api_token->id : principal.user.id;
    event.action = request.method == "LOGIN"    ? "login"
                   : request.method == "GET"    ? "read"
                   : request.method == "POST"   ? "create"
                   : request.method == "DELETE" ? "delete"
                                                : "update";
    event.resource = resource;
    event.address = request.remote_address;
    event.detail = std::to_string(status);
    const Status recorded = store.Write(
        [&](storage::WriteTransaction& txn) { return txn.AppendAudit(event).status(); });
    if (!recorded.ok()) {
      log::Error("audit event not recorded",
                 {{"resource", event.resource}, {"error", recorded.ToString()}});
    }
  }

  void Add(Router& router, RouteSpec spec, StaffHandler handler) {
    spec.access = Access::kStaff;
    Handler guarded = Guard(spec, std::move(handler));
    router.Add(std::move(spec), std::move(guarded));
  }

  // Caseload (DESIGN.md §9).

  static bool CanSeeEpisode(const Principal& principal, const domain::Episode& episode) {
    const domain::User& user = principal.user;
    if (episode.org_id != user.org_id) return false;
    switch (user.role) {
      case Role::kClinician:
        return std::find(episode.clinician_ids.begin(), episode.clinician_ids.end(), user.id) !=
               episode.clinician_ids.end();
      case Role::kSupervisor: return user.clinic_id.empty() || user.clinic_id == episode.clinic_id;
      case Role::kAdmin:
      case Role::kResearcher: return false;
    }
    return false;
  }

  static storage::EpisodeQuery CaseloadQuery(const Principal& principal) {
    storage::EpisodeQuery query;
    if (principal.user.role == Role::kClinician) query.clinician_id = principal.user.id;
    if (principal.user.role == Role::kSupervisor) query.clinic_id = principal.user.clinic_id;
    return query;
  }

  // The episode when the principal may see it; kNotFound otherwise (never 403: whether a
  // record exists outside one's caseload is itself confidential).
  static Result<domain::Episode> VisibleEpisode(storage::ReadTransaction& txn,
                                                const Principal& principal,
                                                std::string_view episode_id) {
    auto episode = txn.GetEpisode(principal.user.org_id, episode_id);
    if (!episode.ok() || !CanSeeEpisode(principal, *episode)) return NotFound("episode not found");
    return episode;
  }

  static Result<domain::Session> VisibleSession(storage::ReadTransaction& txn,
                                                const Principal& principal,
                                                std::string_view session_id,
                                                domain::Episode* episode_out = nullptr) {
    auto session = txn.GetSession(principal.user.org_id, session_id);
    if (!session.ok()) return NotFound("session not found");
    auto episode = VisibleEpisode(txn, principal, session->episode_id);
    if (!episode.ok()) return NotFound("session not found");
    if (episode_out != nullptr) *episode_out = std::move(episode).value();
    return session;
  }

  static Result<domain::Alert> VisibleAlert(storage::ReadTransaction& txn,
                                            const Principal& principal, std::string_view alert_id) {
    auto alert = txn.GetAlert(principal.user.org_id, alert_id);
    if (!alert.ok() || !VisibleEpisode(txn, principal, alert->episode_id).ok()) {
      return NotFound("alert not found");
    }
    return alert;
  }

  // What alerts of one request share, looked up once: the pseudonymous codes clinicians know
  // clients by, and the guidance library with the organisation's overrides (its own entries,
  // the shipped ones it hides; alliance/settings.h).
  class AlertContext {
   public:
    AlertContext(storage::ReadTransaction& txn, const std::vector<alliance::GuidanceEntry>& shipped)
        : txn_(txn), shipped_(shipped) {}
    const std::string& CodeOf(const std::string& org_id, const std::string& client_id) {
      const auto found = codes_.find(client_id);
      if (found != codes_.end()) return found->second;
      auto client = txn_.GetClient(org_id, client_id);
      return codes_[client_id] = client.ok() ? client->code : std::string();
    }
    Result<const std::vector<alliance::GuidanceEntry>*> GuidanceOf(const std::string& org_id) {
      if (!guidance_) {
        RAPPORT_ASSIGN_OR_RETURN(const alliance::OrgSettings settings,
                                 alerts::LoadOrgSettings(txn_, org_id));
        guidance_ = alliance::MergeGuidance(shipped_, settings.guidance_entries,
                                            settings.guidance_disabled);
      }
      return &*guidance_;
    }

   private:
    storage::ReadTransaction& txn_;
    const std::vector<alliance::GuidanceEntry>& shipped_;
    std::map<std::string, std::string> codes_;
    std::optional<std::vector<alliance::GuidanceEntry>> guidance_;  // of one organisation
  };

  // An alert as the API shows it: with its repair notes, the guidance for its kind (the
  // organisation's library), and who it is about by code: `client_code` (null when the alert
  // is about the whole episode, e.g. a split alliance) and `episode_clients` (every client of
  // the episode, id and code), so a list of alerts names and links the client without another
  // request.
  Result<Json> AlertJson(storage::ReadTransaction& txn, const domain::Alert& alert,
                         AlertContext* context = nullptr) const {
    RAPPORT_ASSIGN_OR_RETURN(const auto notes, txn.ListRepairNotes(alert.org_id, alert.id));
    std::optional<AlertContext> local;
    if (context == nullptr) context = &local.emplace(txn, options.guidance);
    RAPPORT_ASSIGN_OR_RETURN(const auto* guidance, context->GuidanceOf(alert.org_id));
    Json out = alerts::AlertToJson(alert, notes, *guidance);
    out["client_code"] = alert.client_id.empty()
                             ? Json(nullptr)
                             : Json(context->CodeOf(alert.org_id, alert.client_id));
    Json clients = Json::array();
    if (auto episode = txn.GetEpisode(alert.org_id, alert.episode_id); episode.ok()) {
      for (const std::string& id : episode->client_ids) {
        clients.push_back({{"id", id}, {"code", context->CodeOf(alert.org_id, id)}});
      }
    }
    out["episode_clients"] = std::move(clients);
    return out;
  }

  // The client when one of its episodes is visible; supervisors without a clinic also see
  // clients who have no episode yet.
  static Result<std::vector<domain::Episode>> ClientEpisodes(storage::ReadTransaction& txn,
                                                             const Principal& principal,
                                                             std::string_view client_id) {
    auto client = txn.GetClient(principal.user.org_id, client_id);
    if (!client.ok()) return NotFound("client not found");
    storage::EpisodeQuery query;
    query.client_id = std::string(client_id);
    RAPPORT_ASSIGN_OR_RETURN(auto episodes, txn.ListEpisodes(principal.user.org_id, query));
    std::vector<domain::Episode> visible;
    for (domain::Episode& episode : episodes) {
      if (CanSeeEpisode(principal, episode)) visible.push_back(std::move(episode));
    }
    const bool org_supervisor =
        principal.user.role == Role::kSupervisor && principal.user.clinic_id.empty();
    if (visible.empty() && !(org_supervisor && episodes.empty())) {
      return NotFound("client not found");
    }
    return visible;
  }

  std::string BaseUrl(const Request& request) const {
    if (!options.public_url.empty()) return options.public_url;
    const std::string host = request.Header("host");
    return std::string(request.secure ? "https://" : "http://") +
           (host.empty() ? "localhost" : host);
  }

  // Routes.

  void AddAuthRoutes(Router& router);
  void AddClinicalRoutes(Router& router);
  void AddAdminRoutes(Router& router);

  Response Login(Request& request);
};

void StaffApi::Impl::AddAuthRoutes(Router& router) {
  RouteSpec login{"POST", "/api/v1/auth/login"};
  login.tag = "auth";
  login.summary =
      "Sign in with e-mail, password and (when enrolled) a TOTP or recovery code; sets the "
      "session cookie and returns the CSRF token";
  login.example_body = R"({"email": "{email}", "password": "{password}"})";
  router.Add(login, [this](Request& request) { return Login(request); });

  RouteSpec logout{"POST", "/api/v1/auth/logout"};
  logout.tag = "auth";
  logout.summary = "Sign out this session";
  logout.before_mfa = true;
  logout.success_status = 204;
  Add(router, logout, [this](Request& request, const Principal& principal) -> Result<Response> {
    RAPPORT_RETURN_IF_ERROR(auth.Logout(principal));
    Response response{204, "text/plain; charset=utf-8", {}, ""};
    response.headers.emplace_back("Set-Cookie", AuthService::ClearedSessionCookie(request.secure));
    return response;
  });

  RouteSpec logout_all{"POST", "/api/v1/auth/logout-all"};
  logout_all.tag = "auth";
  logout_all.summary = "Sign out every session of the signed-in user";
  logout_all.before_mfa = true;
  Add(router, logout_all, [this](Request& request, const Principal& principal) -> Result<Response> {
    RAPPORT_ASSIGN_OR_RETURN(const int ended, auth.LogoutEverywhere(principal));
    Response response = JsonOk(200, {{"sessions_ended", ended}});
    response.headers.emplace_back("Set-Cookie", AuthService::ClearedSessionCookie(request.secure));
    return response;
  });

  RouteSpec me{"GET", "/api/v1/me"};
  me.tag = "auth";
  me.summary = "The signed-in user and their organisation";
  me.before_mfa = true;
  Add(router, me, [this](Request&, const Principal& principal) -> Result<Response> {
    Json out = {{"user", AccountJson(principal.user)},
                {"mfa_enrolment_required", principal.mfa_enrolment_required},
                {"via", principal.api_token ? "api-token" : "session"}};
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Organization org,
                               txn.GetOrganization(principal.user.org_id));
      out["organization"] = {{"id", org.id}, {"name", org.name}};
      RAPPORT_ASSIGN_OR_RETURN(const int codes,
                               txn.CountRecoveryCodes(principal.user.org_id, principal.user.id));
      out["recovery_codes_left"] = codes;
      return Status::Ok();
    }));
    if (principal.api_token) {
      out["scopes"] = principal.api_token->scopes;
    } else {
      // The session's CSRF token again, for a page that was reloaded: other sites cannot read
      // this response (no CORS), so it tells an attacker nothing.
      out["csrf_token"] = principal.csrf_token;
    }
    return JsonOk(200, out);
  });

  RouteSpec enrol{"POST", "/api/v1/auth/totp/enrol"};
  enrol.tag = "auth";
  enrol.summary = "Start multi-factor enrolment: a new TOTP secret with its otpauth URI and QR";
  enrol.before_mfa = true;
  Add(router, enrol, [this](Request&, const Principal& principal) -> Result<Response> {
    if (principal.api_token) {
      return Status(StatusCode::kPermissionDenied, "sign in as the user to enrol");
    }
    RAPPORT_ASSIGN_OR_RETURN(const TotpEnrolment enrolment, auth.EnrolTotp(principal));
    RAPPORT_ASSIGN_OR_RETURN(const std::string qr,
                             QrSvg(enrolment.otpauth_uri, "Authenticator enrolment code"));
    return JsonOk(200, {{"secret", enrolment.secret_base32},
                        {"otpauth_uri", enrolment.otpauth_uri},
                        {"qr_svg", qr}});
  });

  RouteSpec activate{"POST", "/api/v1/auth/totp/activate"};
  activate.tag = "auth";
  activate.summary = "Finish enrolment with a code from the app; returns recovery codes once";
  activate.before_mfa = true;
  activate.example_body = R"({"code": "123456"})";
  Add(router, activate, [this](Request& request, const Principal& principal) -> Result<Response> {
    if (principal.api_token) {
      return Status(StatusCode::kPermissionDenied, "sign in as the user to enrol");
    }
    RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
    RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"code"}));
    RAPPORT_ASSIGN_OR_RETURN(const std::string code, StringField(body, "code", true, 16));
    RAPPORT_ASSIGN_OR_RETURN(const auto codes, auth.ActivateTotp(principal, code));
    return JsonOk(200, {{"recovery_codes", codes}});
  });

  RouteSpec recovery{"POST", "/api/v1/auth/recovery-codes"};
  recovery.tag = "auth";
  recovery.summary = "Replace the recovery codes (needs a current TOTP code)";
  recovery.example_body = R"({"code": "123456"})";
  Add(router, recovery, [this](Request& request, const Principal& principal) -> Result<Response> {
    if (principal.api_token) {
      return Status(StatusCode::kPermissionDenied, "sign in as the user to do this");
    }
    RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
    RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"code"}));
    RAPPORT_ASSIGN_OR_RETURN(const std::string code, StringField(body, "code", true, 16));
    RAPPORT_ASSIGN_OR_RETURN(const auto codes, auth.RegenerateRecoveryCodes(principal, code));
    return JsonOk(200, {{"recovery_codes", codes}});
  });

  RouteSpec tokens{"GET", "/api/v1/tokens"};
  tokens.tag = "auth";
  tokens.summary = "The signed-in user's API tokens (never their secrets)";
  Add(router, tokens, [this](Request&, const Principal& principal) -> Result<Response> {
    Json out = Json::array();
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto listed,
                               txn.ListApiTokens(principal.user.org_id, principal.user.id));
      for (const auto& token : listed) out.push_back(TokenJson(token));
      return Status::Ok();
    }));
    return JsonOk(200, {{"tokens", out}});
  });

  RouteSpec create_token{"POST", "/api/v1/tokens"};
  create_token.tag = "auth";
  create_token.summary = "Create an API token for an integration; its secret is shown once";
  create_token.example_body = R"({"name": "EHR bridge", "scopes": ["read"]})";
  create_token.success_status = 201;
  Add(router, create_token,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"name", "scopes", "expires_at"}));
        RAPPORT_ASSIGN_OR_RETURN(const std::string name, StringField(body, "name", true, 100));
        RAPPORT_ASSIGN_OR_RETURN(const auto scopes, StringListField(body, "scopes", true));
        RAPPORT_ASSIGN_OR_RETURN(const auto expires, TimeField(body, "expires_at"));
        RAPPORT_ASSIGN_OR_RETURN(const NewApiToken created,
                                 auth.CreateApiToken(principal, name, scopes, expires));
        Json out = TokenJson(created.token);
        out["token"] = created.secret;
        return JsonOk(201, out);
      });

  RouteSpec revoke{"DELETE", "/api/v1/tokens/{id}"};
  revoke.tag = "auth";
  revoke.summary = "Revoke one of the signed-in user's API tokens";
  revoke.success_status = 204;
  Add(router, revoke, [this](Request& request, const Principal& principal) -> Result<Response> {
    RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) {
      return txn.RevokeApiToken(principal.user.org_id, principal.user.id, request.Param("id"),
                                clock.Now());
    }));
    return Response{204, "text/plain; charset=utf-8", {}, ""};
  });
}

Response StaffApi::Impl::Login(Request& request) {
  auto body = ParseBody(request, options.max_json_depth);
  if (!body.ok()) return ProblemResponse(body.status());
  if (Status only = OnlyFields(*body, {"email", "password", "totp"}); !only.ok()) {
    return ProblemResponse(only);
  }
  LoginRequest login;
  auto email = StringField(*body, "email", true);
  if (!email.ok()) return ProblemResponse(email.status());
  auto password = StringField(*body, "password", true, 1024);
  if (!password.ok()) return ProblemResponse(password.status());
  auto totp = StringField(*body, "totp", false, 32);
  if (!totp.ok()) return ProblemResponse(totp.status());
  login.email = std::move(email).value();
  login.password = std::move(password).value();
  login.totp = std::move(totp).value();
  login.address = request.remote_address;
  login.previous_session = request.Cookie(kSessionCookie);
  auto outcome = auth.Login(login);
  if (outcome.ok()) {
    Principal principal;
    principal.user = outcome->user;
    Request audited = request;
    audited.method = "LOGIN";
    Audit(audited, principal, 200, request.path);
  }
  if (!outcome.ok()) {
    Response response = ProblemResponse(outcome.status());
    if (outcome.status().code() == StatusCode::kResourceExhausted) {
      response.headers.emplace_back("Retry-After", "60");
    }
    return response;
  }
  Response response = JsonOk(200, {{"csrf_token", outcome->session.csrf_token},
                                   {"user", AccountJson(outcome->user)},
                                   {"mfa_enrolment_required", outcome->mfa_enrolment_required},
                                   {"expires_at", FormatTimestamp(outcome->session.expires_at)}});
  response.headers.emplace_back("Set-Cookie",
                                auth.SessionCookie(outcome->session_secret, request.secure));
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

void StaffApi::Impl::AddClinicalRoutes(Router& router) {
  RouteSpec list_clients{"GET", "/api/v1/clients", Access::kStaff, kClinical};
  list_clients.tag = "clients";
  list_clients.summary = "Clients in the caller's caseload";
  Add(router, list_clients, [this](Request&, const Principal& principal) -> Result<Response> {
    Json out = Json::array();
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      std::set<std::string> ids;
      RAPPORT_ASSIGN_OR_RETURN(const auto episodes,
                               txn.ListEpisodes(principal.user.org_id, CaseloadQuery(principal)));
      for (const auto& episode : episodes)
        ids.insert(episode.client_ids.begin(), episode.client_ids.end());
      RAPPORT_ASSIGN_OR_RETURN(const auto clients, txn.ListClients(principal.user.org_id));
      const bool org_supervisor =
          principal.user.role == Role::kSupervisor && principal.user.clinic_id.empty();
      for (const auto& client : clients) {
        if (org_supervisor || ids.contains(client.id)) out.push_back(ClientJson(client));
      }
      return Status::Ok();
    }));
    return JsonOk(200, {{"clients", out}});
  });

  RouteSpec create_client{"POST", "/api/v1/clients", Access::kStaff, kClinical};
  create_client.tag = "clients";
  create_client.summary = "Register a client under a pseudonymous code";
  create_client.example_body = R"({"code": "{unique}", "language": "en"})";
  create_client.success_status = 201;
  Add(router, create_client,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"code", "language", "consent_research"}));
        domain::Client client;
        client.id = NewId(random);
        client.org_id = principal.user.org_id;
        RAPPORT_ASSIGN_OR_RETURN(client.code, StringField(body, "code", true, 64));
        RAPPORT_ASSIGN_OR_RETURN(client.language, StringField(body, "language", false, 35, "en"));
        RAPPORT_ASSIGN_OR_RETURN(const auto consent, BoolField(body, "consent_research"));
        client.consent_research = consent.value_or(false);
        client.created_at = clock.Now();
        const Status stored =
            store.Write([&](storage::WriteTransaction& txn) { return txn.PutClient(client); });
        if (stored.code() == StatusCode::kConflict) {
          return Status(StatusCode::kConflict, "a client with this code exists", "code");
        }
        RAPPORT_RETURN_IF_ERROR(stored);
        return JsonOk(201, ClientJson(client));
      });

  RouteSpec get_client{"GET", "/api/v1/clients/{id}", Access::kStaff, kClinical, true};
  get_client.tag = "clients";
  get_client.summary = "One client with the episodes the caller may see";
  Add(router, get_client, [this](Request& request, const Principal& principal) -> Result<Response> {
    Json out;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto episodes,
                               ClientEpisodes(txn, principal, request.Param("id")));
      RAPPORT_ASSIGN_OR_RETURN(const domain::Client client,
                               txn.GetClient(principal.user.org_id, request.Param("id")));
      out = ClientJson(client);
      out["episodes"] = Json::array();
      for (const auto& episode : episodes) out["episodes"].push_back(EpisodeJson(episode));
      return Status::Ok();
    }));
    return JsonOk(200, out);
  });

  RouteSpec list_episodes{"GET", "/api/v1/episodes", Access::kStaff, kClinical};
  list_episodes.tag = "episodes";
  list_episodes.summary = "Episodes in the caller's caseload (?active=true for ongoing ones)";
  Add(router, list_episodes,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        storage::EpisodeQuery query = CaseloadQuery(principal);
        query.active_only = request.query.contains("active") && request.query["active"] == "true";
        Json out = Json::array();
        RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(const auto episodes,
                                   txn.ListEpisodes(principal.user.org_id, query));
          for (const auto& episode : episodes) out.push_back(EpisodeJson(episode));
          return Status::Ok();
        }));
        return JsonOk(200, {{"episodes", out}});
      });

  RouteSpec create_episode{"POST", "/api/v1/episodes", Access::kStaff, kClinical};
  create_episode.tag = "episodes";
  create_episode.summary =
      "Open an episode of care for one or more clients with one or more clinicians";
  create_episode.example_body =
      R"({"client_ids": ["{client_id}"], "clinician_ids": ["{clinician_id}"], "modality": "individual"})";
  create_episode.success_status = 201;
  Add(router, create_episode,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(
            body, {"client_ids", "clinician_ids", "modality", "clinic_id", "started_at"}));
        domain::Episode episode;
        episode.id = NewId(random);
        episode.org_id = principal.user.org_id;
        RAPPORT_ASSIGN_OR_RETURN(episode.client_ids, StringListField(body, "client_ids", true));
        if (episode.client_ids.empty()) {
          return InvalidArgument("an episode needs at least one client", "client_ids");
        }
        RAPPORT_ASSIGN_OR_RETURN(episode.clinician_ids,
                                 StringListField(body, "clinician_ids", false));
        if (episode.clinician_ids.empty() && principal.user.role == Role::kClinician) {
          episode.clinician_ids = {principal.user.id};
        }
        if (episode.clinician_ids.empty()) {
          return InvalidArgument("an episode needs at least one clinician", "clinician_ids");
        }
        RAPPORT_ASSIGN_OR_RETURN(const auto modality,
                                 EnumField(body, "modality", domain::ParseModality));
        episode.modality =
            modality.value_or(episode.client_ids.size() > 1 ? domain::Modality::kCouple
                                                            : domain::Modality::kIndividual);
        RAPPORT_ASSIGN_OR_RETURN(episode.clinic_id, StringField(body, "clinic_id", false, kMaxName,
                                                                principal.user.clinic_id));
        RAPPORT_ASSIGN_OR_RETURN(const auto started, TimeField(body, "started_at"));
        episode.started_at = started.value_or(clock.Now());
        if (!CanSeeEpisode(principal, episode)) {
          return InvalidArgument(
              principal.user.role == Role::kClinician
                  ? "include yourself among the clinicians of an episode you open"
                  : "the episode must belong to your clinic",
              principal.user.role == Role::kClinician ? "clinician_ids" : "clinic_id");
        }
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
          for (size_t i = 0; i < episode.client_ids.size(); ++i) {
            if (!txn.GetClient(episode.org_id, episode.client_ids[i]).ok()) {
              return InvalidArgument("no client " + episode.client_ids[i],
                                     "client_ids[" + std::to_string(i) + "]");
            }
          }
          for (size_t i = 0; i < episode.clinician_ids.size(); ++i) {
            auto user = txn.GetUser(episode.org_id, episode.clinician_ids[i]);
            if (!user.ok() || user->disabled ||
                (user->role != Role::kClinician && user->role != Role::kSupervisor)) {
              return InvalidArgument("no clinician " + episode.clinician_ids[i],
                                     "clinician_ids[" + std::to_string(i) + "]");
            }
          }
          return txn.PutEpisode(episode);
        }));
        return JsonOk(201, EpisodeJson(episode));
      });

  RouteSpec get_episode{"GET", "/api/v1/episodes/{id}", Access::kStaff, kClinical, true};
  get_episode.tag = "episodes";
  get_episode.summary = "One episode with its sessions and goals";
  Add(router, get_episode,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        Json out;
        RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                                   VisibleEpisode(txn, principal, request.Param("id")));
          out = EpisodeJson(episode);
          RAPPORT_ASSIGN_OR_RETURN(const auto sessions,
                                   txn.ListSessionsForEpisode(episode.org_id, episode.id));
          out["sessions"] = Json::array();
          for (const auto& session : sessions) out["sessions"].push_back(SessionJson(session));
          RAPPORT_ASSIGN_OR_RETURN(const auto goals, txn.ListGoals(episode.org_id, episode.id));
          out["goals"] = Json::array();
          for (const auto& goal : goals) out["goals"].push_back(GoalJson(goal));
          return Status::Ok();
        }));
        return JsonOk(200, out);
      });

  RouteSpec end_episode{"PATCH", "/api/v1/episodes/{id}", Access::kStaff, kClinical, true};
  end_episode.tag = "episodes";
  end_episode.summary = "End (or reopen) an episode: {ended_at, end_reason}";
  end_episode.example_body = R"({"end_reason": "completed"})";
  Add(router, end_episode,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"ended_at", "end_reason"}));
        RAPPORT_ASSIGN_OR_RETURN(const auto reason,
                                 EnumField(body, "end_reason", domain::ParseEndReason));
        RAPPORT_ASSIGN_OR_RETURN(const auto ended, TimeField(body, "ended_at"));
        domain::Episode episode;
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(episode, VisibleEpisode(txn, principal, request.Param("id")));
          episode.end_reason = reason;
          episode.ended_at =
              reason ? std::optional<Timestamp>(ended.value_or(clock.Now())) : std::nullopt;
          return txn.UpdateEpisodeEnd(episode);
        }));
        return JsonOk(200, EpisodeJson(episode));
      });

  RouteSpec create_session{"POST", "/api/v1/episodes/{id}/sessions", Access::kStaff, kClinical,
                           true};
  create_session.tag = "sessions";
  create_session.summary = "Schedule the episode's next session";
  create_session.example_body = R"({"attendance": "attended"})";
  create_session.success_status = 201;
  Add(router, create_session,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"scheduled_at", "attendance"}));
        RAPPORT_ASSIGN_OR_RETURN(const auto scheduled, TimeField(body, "scheduled_at"));
        RAPPORT_ASSIGN_OR_RETURN(const auto attendance,
                                 EnumField(body, "attendance", domain::ParseAttendance));
        domain::Session session;
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                                   VisibleEpisode(txn, principal, request.Param("id")));
          if (episode.ended_at) return Conflict("the episode has ended");
          RAPPORT_ASSIGN_OR_RETURN(const auto sessions,
                                   txn.ListSessionsForEpisode(episode.org_id, episode.id));
          session.id = NewId(random);
          session.org_id = episode.org_id;
          session.episode_id = episode.id;
          session.number = sessions.empty() ? 1 : sessions.back().number + 1;
          session.scheduled_at = scheduled.value_or(clock.Now());
          session.attendance = attendance.value_or(domain::Attendance::kScheduled);
          for (const std::string& client : episode.client_ids) {
            session.participants.push_back({client, domain::ParticipantRole::kClient});
          }
          for (const std::string& clinician : episode.clinician_ids) {
            session.participants.push_back({clinician, domain::ParticipantRole::kClinician});
          }
          return txn.PutSession(session);
        }));
        return JsonOk(201, SessionJson(session));
      });

  RouteSpec update_session{"PATCH", "/api/v1/sessions/{id}", Access::kStaff, kClinical, true};
  update_session.tag = "sessions";
  update_session.summary = "Record attendance (attended, no-show, cancelled) or reschedule";
  update_session.example_body = R"({"attendance": "no-show"})";
  Add(router, update_session,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"scheduled_at", "attendance"}));
        RAPPORT_ASSIGN_OR_RETURN(const auto scheduled, TimeField(body, "scheduled_at"));
        RAPPORT_ASSIGN_OR_RETURN(const auto attendance,
                                 EnumField(body, "attendance", domain::ParseAttendance));
        domain::Session session;
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(session, VisibleSession(txn, principal, request.Param("id")));
          if (scheduled) session.scheduled_at = *scheduled;
          if (attendance) session.attendance = *attendance;
          return txn.UpdateSession(session);
        }));
        return JsonOk(200, SessionJson(session));
      });

  RouteSpec create_checkin{"POST", "/api/v1/sessions/{id}/checkins", Access::kStaff, kClinical,
                           true};
  create_checkin.tag = "checkins";
  create_checkin.summary =
      "Invite one respondent to answer instruments for a session: a single-use link (and its "
      "QR code as SVG) for a phone or the clinic's kiosk";
  create_checkin.example_body =
      R"({"respondent_id": "{client_id}", "instruments": ["rapport-alliance-client"]})";
  create_checkin.success_status = 201;
  Add(router, create_checkin,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(
            body, {"respondent_id", "perspective", "instruments", "language", "expires_at"}));
        domain::Checkin checkin;
        RAPPORT_ASSIGN_OR_RETURN(checkin.respondent_id, StringField(body, "respondent_id", true));
        RAPPORT_ASSIGN_OR_RETURN(const auto perspective,
                                 EnumField(body, "perspective", domain::ParsePerspective));
        checkin.perspective = perspective.value_or(domain::Perspective::kClient);
        RAPPORT_ASSIGN_OR_RETURN(checkin.instrument_ids,
                                 StringListField(body, "instruments", true));
        if (checkin.instrument_ids.empty()) {
          return InvalidArgument("name at least one instrument", "instruments");
        }
        for (size_t i = 0; i < checkin.instrument_ids.size(); ++i) {
          if (catalog.Find(checkin.instrument_ids[i]) == nullptr) {
            return InvalidArgument("no instrument '" + checkin.instrument_ids[i] + "'",
                                   "instruments[" + std::to_string(i) + "]");
          }
        }
        RAPPORT_ASSIGN_OR_RETURN(checkin.language, StringField(body, "language", false, 35));
        RAPPORT_ASSIGN_OR_RETURN(const auto expires, TimeField(body, "expires_at"));
        const Timestamp now = clock.Now();
        if (expires && *expires <= now) {
          return InvalidArgument("expires_at must be in the future", "expires_at");
        }
        const std::string token = NewToken(random);
        checkin.id = NewId(random);
        checkin.org_id = principal.user.org_id;
        checkin.session_id = request.Param("id");
        checkin.token_digest = Sha256Hex(token);
        checkin.created_at = now;
        checkin.expires_at = expires.value_or(now + options.checkin_lifetime);
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
          domain::Episode episode;
          RAPPORT_ASSIGN_OR_RETURN(const domain::Session session,
                                   VisibleSession(txn, principal, checkin.session_id, &episode));
          (void)session;
          // The respondent must belong to the episode: one of its clients, a collateral of one
          // (by id), or one of its clinicians for a clinician's rating.
          const auto& people = checkin.perspective == domain::Perspective::kClinician
                                   ? episode.clinician_ids
                                   : episode.client_ids;
          const bool member =
              std::find(people.begin(), people.end(), checkin.respondent_id) != people.end();
          if (!member && checkin.perspective != domain::Perspective::kCollateral) {
            return InvalidArgument(
                "the respondent is not one of this episode's " +
                    std::string(checkin.perspective == domain::Perspective::kClinician
                                    ? "clinicians"
                                    : "clients"),
                "respondent_id");
          }
          if (checkin.language.empty()) {
            auto client = txn.GetClient(checkin.org_id, checkin.respondent_id);
            checkin.language = client.ok() ? client->language : "en";
          }
          return txn.PutCheckin(checkin);
        }));
        const std::string url = BaseUrl(request) + "/c/" + token;
        RAPPORT_ASSIGN_OR_RETURN(const std::string qr, QrSvg(url, "Check-in link"));
        return JsonOk(201, {{"id", checkin.id},
                            {"token", token},
                            {"url", url},
                            {"expires_at", FormatTimestamp(checkin.expires_at)},
                            {"instruments", checkin.instrument_ids},
                            {"qr_svg", qr}});
      });

  RouteSpec responses{"GET", "/api/v1/episodes/{id}/responses", Access::kStaff, kClinical, true};
  responses.tag = "episodes";
  responses.summary = "Every response of the episode with its item answers and scores";
  Add(router, responses, [this](Request& request, const Principal& principal) -> Result<Response> {
    Json out = Json::array();
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                               VisibleEpisode(txn, principal, request.Param("id")));
      RAPPORT_ASSIGN_OR_RETURN(const auto stored,
                               txn.ListResponsesForEpisode(episode.org_id, episode.id));
      for (const auto& response : stored) out.push_back(ResponseJson(response));
      return Status::Ok();
    }));
    return JsonOk(200, {{"responses", out}});
  });

  RouteSpec dashboard{"GET", "/api/v1/episodes/{id}/dashboard", Access::kStaff, kClinical, true};
  dashboard.tag = "episodes";
  dashboard.summary =
      "The client dashboard: each instrument's trajectory by respondent (a client's outcome "
      "ratings with the expected course), active alerts with their evidence and guidance, every "
      "rupture with how it ended, sessions and goals";
  Add(router, dashboard, [this](Request& request, const Principal& principal) -> Result<Response> {
    Json out;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                               VisibleEpisode(txn, principal, request.Param("id")));
      out["episode"] = EpisodeJson(episode);
      out["clients"] = Json::array();
      for (const std::string& client_id : episode.client_ids) {
        RAPPORT_ASSIGN_OR_RETURN(const domain::Client client,
                                 txn.GetClient(episode.org_id, client_id));
        out["clients"].push_back(ClientJson(client));
      }
      RAPPORT_ASSIGN_OR_RETURN(const auto sessions,
                               txn.ListSessionsForEpisode(episode.org_id, episode.id));
      std::map<std::string, int> number_of;
      out["sessions"] = Json::array();
      for (const auto& session : sessions) {
        number_of[session.id] = session.number;
        out["sessions"].push_back(SessionJson(session));
      }
      RAPPORT_ASSIGN_OR_RETURN(const auto stored,
                               txn.ListResponsesForEpisode(episode.org_id, episode.id));
      // One series per (instrument, respondent, perspective), in session order.
      std::map<std::tuple<std::string, std::string, std::string>, Json> series;
      for (const auto& response : stored) {
        const auto key = std::make_tuple(response.instrument_id, response.respondent_id,
                                         std::string(domain::Name(response.perspective)));
        Json& entry = series[key];
        if (entry.is_null()) {
          const instruments::Definition* definition = catalog.Find(response.instrument_id);
          entry = {{"instrument", response.instrument_id},
                   {"range", definition != nullptr
                                 ? Json(ItemsRange(*definition, definition->total_method))
                                 : Json(nullptr)},
                   {"subscale_range",
                    definition != nullptr ? SubscaleRange(*definition) : Json(nullptr)},
                   {"title", definition != nullptr ? definition->title : response.instrument_id},
                   {"kind", definition != nullptr ? definition->kind : ""},
                   {"respondent_id", response.respondent_id},
                   {"perspective", domain::Name(response.perspective)},
                   {"points", Json::array()}};
        }
        entry["points"].push_back(
            {{"session", number_of.contains(response.session_id)
                             ? Json(number_of[response.session_id])
                             : Json(nullptr)},
             {"total", response.score.total ? Json(*response.score.total) : Json(nullptr)},
             {"subscales", SubscalesJson(response.score)},
             {"band", response.score.band},
             {"flags", response.score.flags},
             {"submitted_at", FormatTimestamp(response.submitted_at)}});
      }
      // Client ratings of an outcome measure against the organisation's expected course.
      std::vector<std::string> instrument_ids;
      for (const auto& [key, entry] : series) instrument_ids.push_back(std::get<0>(key));
      RAPPORT_ASSIGN_OR_RETURN(const auto models,
                               alerts::LoadEtrModels(txn, episode.org_id, instrument_ids));
      RAPPORT_ASSIGN_OR_RETURN(const alliance::OrgSettings settings,
                               alerts::LoadOrgSettings(txn, episode.org_id));
      out["series"] = Json::array();
      for (auto& [key, entry] : series) {
        const auto model = models.find(std::get<0>(key));
        const bool client = std::find(episode.client_ids.begin(), episode.client_ids.end(),
                                      std::get<1>(key)) != episode.client_ids.end();
        if (model != models.end() && client && std::get<2>(key) == "client") {
          entry["expected"] =
              ExpectedCourse(model->second, entry["points"], settings.signals.etr_min_clients);
        }
        out["series"].push_back(std::move(entry));
      }
      storage::AlertQuery query;
      query.episode_id = episode.id;
      RAPPORT_ASSIGN_OR_RETURN(const auto alerts, txn.ListAlerts(episode.org_id, query));
      out["alerts"] = Json::array();
      // Every rupture of the episode, with how it ended: the markers of the alliance chart.
      out["ruptures"] = Json::array();
      AlertContext context(txn, options.guidance);
      for (const auto& alert : alerts) {
        if (alert.kind == "rupture") {
          out["ruptures"].push_back(
              {{"session", alert.session_number},
               {"last_session", alert.last_session_number},
               {"status", domain::Name(alert.status)},
               {"resolution", alert.resolution.empty() ? Json(nullptr) : Json(alert.resolution)}});
        }
        if (alert.status == domain::AlertStatus::kResolved) continue;
        RAPPORT_ASSIGN_OR_RETURN(Json entry, AlertJson(txn, alert, &context));
        out["alerts"].push_back(std::move(entry));
      }
      RAPPORT_ASSIGN_OR_RETURN(const auto goals, txn.ListGoals(episode.org_id, episode.id));
      out["goals"] = GoalsWithRatings(goals, stored, number_of, catalog);
      return Status::Ok();
    }));
    return JsonOk(200, out);
  });

  RouteSpec list_goals{"GET", "/api/v1/episodes/{id}/goals", Access::kStaff, kClinical, true};
  list_goals.tag = "episodes";
  list_goals.summary = "The goals agreed in the episode";
  Add(router, list_goals, [this](Request& request, const Principal& principal) -> Result<Response> {
    Json out = Json::array();
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                               VisibleEpisode(txn, principal, request.Param("id")));
      RAPPORT_ASSIGN_OR_RETURN(const auto goals, txn.ListGoals(episode.org_id, episode.id));
      for (const auto& goal : goals) out.push_back(GoalJson(goal));
      return Status::Ok();
    }));
    return JsonOk(200, {{"goals", out}});
  });

  RouteSpec add_goal{"POST", "/api/v1/episodes/{id}/goals", Access::kStaff, kClinical, true};
  add_goal.tag = "episodes";
  add_goal.summary = "Record a goal agreed with a client";
  add_goal.example_body =
      R"({"client_id": "{client_id}", "description": "Sleep through the night"})";
  add_goal.success_status = 201;
  Add(router, add_goal, [this](Request& request, const Principal& principal) -> Result<Response> {
    RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
    RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"client_id", "description"}));
    domain::Goal goal;
    RAPPORT_ASSIGN_OR_RETURN(goal.client_id, StringField(body, "client_id", true));
    RAPPORT_ASSIGN_OR_RETURN(goal.description, StringField(body, "description", true, kMaxText));
    RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Episode episode,
                               VisibleEpisode(txn, principal, request.Param("id")));
      if (std::find(episode.client_ids.begin(), episode.client_ids.end(), goal.client_id) ==
          episode.client_ids.end()) {
        return InvalidArgument("the client is not in this episode", "client_id");
      }
      goal.id = NewId(random);
      goal.org_id = episode.org_id;
      goal.episode_id = episode.id;
      goal.created_at = clock.Now();
      return txn.PutGoal(goal);
    }));
    return JsonOk(201, GoalJson(goal));
  });

  RouteSpec list_alerts{"GET", "/api/v1/alerts", Access::kStaff, kClinical};
  list_alerts.tag = "alerts";
  list_alerts.summary =
      "Alerts in the caller's caseload, most urgent first (?status=open|acknowledged|resolved, "
      "?episode=ID; active ones by default); each names its episode, its client by id and by "
      "pseudonymous code (client_code; null when about the whole episode) and the episode's "
      "clients (episode_clients: id and code)";
  Add(router, list_alerts,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        storage::AlertQuery query;
        if (const auto it = request.query.find("status"); it != request.query.end()) {
          auto status = domain::ParseAlertStatus(it->second);
          if (!status.ok()) return InvalidArgument(status.status().message(), "status");
          query.status = *status;
        } else {
          query.active_only = true;
        }
        if (const auto it = request.query.find("episode"); it != request.query.end()) {
          query.episode_id = it->second;
        }
        Json out = Json::array();
        RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(const auto episodes, txn.ListEpisodes(principal.user.org_id,
                                                                         CaseloadQuery(principal)));
          std::set<std::string> visible;
          for (const auto& episode : episodes) {
            if (CanSeeEpisode(principal, episode)) visible.insert(episode.id);
          }
          RAPPORT_ASSIGN_OR_RETURN(const auto alerts, txn.ListAlerts(principal.user.org_id, query));
          AlertContext context(txn, options.guidance);
          for (const auto& alert : alerts) {
            if (!visible.contains(alert.episode_id)) continue;
            RAPPORT_ASSIGN_OR_RETURN(Json entry, AlertJson(txn, alert, &context));
            out.push_back(std::move(entry));
          }
          return Status::Ok();
        }));
        return JsonOk(200, {{"alerts", out}});
      });

  RouteSpec get_alert{"GET", "/api/v1/alerts/{id}", Access::kStaff, kClinical, true};
  get_alert.tag = "alerts";
  get_alert.summary =
      "One alert with its evidence, repair notes and guidance, and its client's code "
      "(client_code, episode_clients)";
  Add(router, get_alert, [this](Request& request, const Principal& principal) -> Result<Response> {
    Json out;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Alert alert,
                               VisibleAlert(txn, principal, request.Param("id")));
      RAPPORT_ASSIGN_OR_RETURN(out, AlertJson(txn, alert));
      return Status::Ok();
    }));
    return JsonOk(200, out);
  });

  const auto transition = [this](const char* verb) {
    return [this, verb = std::string(verb)](Request& request,
                                            const Principal& principal) -> Result<Response> {
      Json out;
      RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
        RAPPORT_ASSIGN_OR_RETURN(const domain::Alert alert,
                                 VisibleAlert(txn, principal, request.Param("id")));
        const Timestamp now = clock.Now();
        RAPPORT_RETURN_IF_ERROR(
            verb == "acknowledge"
                ? alerts::AcknowledgeAlert(txn, alert.org_id, alert.id, principal.user.id, now)
                : alerts::ResolveAlert(txn, alert.org_id, alert.id, principal.user.id, now));
        RAPPORT_ASSIGN_OR_RETURN(const domain::Alert updated, txn.GetAlert(alert.org_id, alert.id));
        RAPPORT_ASSIGN_OR_RETURN(out, AlertJson(txn, updated));
        return Status::Ok();
      }));
      return JsonOk(200, out);
    };
  };
  RouteSpec acknowledge{"POST", "/api/v1/alerts/{id}/acknowledge", Access::kStaff, kClinical, true};
  acknowledge.tag = "alerts";
  acknowledge.summary = "Acknowledge an alert (seen, being dealt with)";
  Add(router, acknowledge, transition("acknowledge"));
  RouteSpec resolve{"POST", "/api/v1/alerts/{id}/resolve", Access::kStaff, kClinical, true};
  resolve.tag = "alerts";
  resolve.summary = "Resolve an alert";
  Add(router, resolve, transition("resolve"));

  RouteSpec note{"POST", "/api/v1/alerts/{id}/repair-notes", Access::kStaff, kClinical, true};
  note.tag = "alerts";
  note.summary = "Record what was done about an alert and whether it was discussed";
  note.example_body = R"({"text": "Talked about the last session", "discussed_with_client": true})";
  note.success_status = 201;
  Add(router, note, [this](Request& request, const Principal& principal) -> Result<Response> {
    RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
    RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"text", "discussed_with_client"}));
    RAPPORT_ASSIGN_OR_RETURN(const std::string text, StringField(body, "text", true, kMaxText));
    RAPPORT_ASSIGN_OR_RETURN(const auto discussed, BoolField(body, "discussed_with_client"));
    domain::RepairNote stored;
    RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Alert alert,
                               VisibleAlert(txn, principal, request.Param("id")));
      RAPPORT_ASSIGN_OR_RETURN(
          stored, alerts::AddRepairNote(txn, alert.org_id, alert.id, principal.user.id, text,
                                        discussed.value_or(false), clock.Now(), random));
      return Status::Ok();
    }));
    return JsonOk(201, {{"id", stored.id},
                        {"alert_id", stored.alert_id},
                        {"author_id", stored.author_id},
                        {"text", stored.text},
                        {"discussed_with_client", stored.discussed_with_client},
                        {"created_at", FormatTimestamp(stored.created_at)}});
  });

  RouteSpec caseload{"GET", "/api/v1/caseload", Access::kStaff, kClinical};
  caseload.tag = "episodes";
  caseload.summary =
      "Ongoing episodes in the caller's caseload with their active alerts, what needs attention "
      "first: a risk answer, an open rupture, not on track, dropout risk, a perspective gap, "
      "other alerts, then the rest";
  Add(router, caseload, [this](Request&, const Principal& principal) -> Result<Response> {
    Json rows = Json::array();
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      storage::EpisodeQuery query = CaseloadQuery(principal);
      query.active_only = true;
      RAPPORT_ASSIGN_OR_RETURN(const auto episodes, txn.ListEpisodes(principal.user.org_id, query));
      std::vector<std::pair<std::tuple<int, int, std::string>, Json>> sorted;
      for (const auto& episode : episodes) {
        storage::AlertQuery alert_query;
        alert_query.episode_id = episode.id;
        alert_query.active_only = true;
        RAPPORT_ASSIGN_OR_RETURN(const auto alerts, txn.ListAlerts(episode.org_id, alert_query));
        int first = static_cast<int>(std::size(kAttentionOrder));
        Json kinds = Json::array();
        for (const auto& alert : alerts) {
          first = std::min(first, AttentionRank(alert.kind));
          kinds.push_back({{"id", alert.id},
                           {"kind", alert.kind},
                           {"severity", domain::Name(alert.severity)},
                           {"status", domain::Name(alert.status)}});
        }
        Json clients = Json::array();
        for (const std::string& id : episode.client_ids) {
          auto client = txn.GetClient(episode.org_id, id);
          clients.push_back({{"id", id}, {"code", client.ok() ? client->code : ""}});
        }
        Json row = EpisodeJson(episode);
        row["clients"] = clients;
        row["alerts"] = kinds;
        sorted.push_back({{first, -static_cast<int>(alerts.size()), episode.id}, row});
      }
      std::sort(sorted.begin(), sorted.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& [key, row] : sorted) rows.push_back(std::move(row));
      return Status::Ok();
    }));
    return JsonOk(200, {{"episodes", rows}});
  });

  RouteSpec outcomes{"GET", "/api/v1/reports/outcomes", Access::kStaff, {Role::kSupervisor}};
  outcomes.tag = "reports";
  outcomes.summary =
      "NHS Talking Therapies outcomes of the supervisor's team (SCIENCE.md §2.5): ended episodes "
      "with first and last client PHQ-9 and GAD-7 on two or more sessions; recovery, reliable "
      "improvement, reliable recovery and reliable deterioration with their denominators";
  Add(router, outcomes, [this](Request&, const Principal& principal) -> Result<Response> {
    const instruments::Definition* phq9 = catalog.Find("phq-9");
    const instruments::Definition* gad7 = catalog.Find("gad-7");
    if (phq9 == nullptr || gad7 == nullptr) {
      return Status(StatusCode::kUnavailable, "PHQ-9 and GAD-7 must be installed");
    }
    RAPPORT_ASSIGN_OR_RETURN(const alliance::NhsTtMeasure depression,
                             alliance::NhsTtMeasureFrom(*phq9));
    RAPPORT_ASSIGN_OR_RETURN(const alliance::NhsTtMeasure anxiety,
                             alliance::NhsTtMeasureFrom(*gad7));
    // First and last client rating of each ended episode, by session number, per measure.
    using Ends =
        std::pair<const storage::InstrumentObservation*, const storage::InstrumentObservation*>;
    std::map<std::string, std::pair<Ends, Ends>> paired;
    int64_t ended = 0;
    std::vector<storage::InstrumentObservation> observed[2];
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto episodes,
                               txn.ListEpisodes(principal.user.org_id, CaseloadQuery(principal)));
      std::set<std::string> finished;
      for (const auto& episode : episodes) {
        if (CanSeeEpisode(principal, episode) && episode.ended_at) finished.insert(episode.id);
      }
      ended = static_cast<int64_t>(finished.size());
      for (int m = 0; m < 2; ++m) {
        RAPPORT_ASSIGN_OR_RETURN(
            observed[m], txn.ListObservations(principal.user.org_id, m == 0 ? "phq-9" : "gad-7",
                                              Timestamp{}, Timestamp::max()));
        for (const auto& observation : observed[m]) {
          if (observation.client_id.empty() || !observation.total ||
              !finished.contains(observation.episode_id)) {
            continue;
          }
          Ends& ends =
              m == 0 ? paired[observation.episode_id].first : paired[observation.episode_id].second;
          if (ends.first == nullptr || observation.session_number < ends.first->session_number) {
            ends.first = &observation;
          }
          if (ends.second == nullptr || observation.session_number >= ends.second->session_number) {
            ends.second = &observation;
          }
        }
      }
      return Status::Ok();
    }));
    int64_t finished = 0, caseness = 0, recovered = 0, improved = 0, reliably_recovered = 0,
            deteriorated = 0;
    const auto spans = [](const Ends& ends) {
      return ends.first != nullptr && ends.first->session_number != ends.second->session_number;
    };
    for (const auto& [episode_id, measures] : paired) {
      if (!spans(measures.first) || !spans(measures.second)) continue;
      ++finished;
      const alliance::NhsTtResult result = alliance::ClassifyNhsTt(
          depression, *measures.first.first->total, *measures.first.second->total, anxiety,
          *measures.second.first->total, *measures.second.second->total);
      caseness += result.caseness;
      recovered += result.recovered;
      improved += result.reliable_improvement;
      reliably_recovered += result.reliable_recovery;
      deteriorated += result.reliable_deterioration;
    }
    const auto rate = [](int64_t count, int64_t of) {
      return of == 0 ? Json(nullptr) : Json(static_cast<double>(count) / static_cast<double>(of));
    };
    return JsonOk(200, {{"rules", "NHS Talking Therapies (PHQ-9 and GAD-7; SCIENCE.md 2.5)"},
                        {"ended_episodes", ended},
                        {"finished_treatment", finished},
                        {"at_caseness", caseness},
                        {"recovered", recovered},
                        {"recovery_rate", rate(recovered, caseness)},
                        {"reliable_improvement", improved},
                        {"reliable_improvement_rate", rate(improved, finished)},
                        {"reliable_recovery", reliably_recovered},
                        {"reliable_recovery_rate", rate(reliably_recovered, caseness)},
                        {"reliable_deterioration", deteriorated},
                        {"reliable_deterioration_rate", rate(deteriorated, finished)}});
  });

  RouteSpec therapists{"GET", "/api/v1/reports/therapists", Access::kStaff, {Role::kSupervisor}};
  therapists.tag = "reports";
  therapists.summary =
      "Therapist effects on an instrument over the supervisor's team (?instrument=ID, default "
      "phq-9): each client episode's latest client rating adjusted for its first, shrunken "
      "estimates with 95% intervals in caterpillar order, shown only above the minimum caseload "
      "and reliability (SCIENCE.md §8); never a ranking";
  Add(router, therapists, [this](Request& request, const Principal& principal) -> Result<Response> {
    const auto given = request.query.find("instrument");
    const std::string instrument_id = given == request.query.end() ? "phq-9" : given->second;
    const instruments::Definition* definition = catalog.Find(instrument_id);
    if (definition == nullptr) {
      return InvalidArgument("unknown instrument '" + instrument_id + "'", "instrument");
    }
    stats::TherapistData data;
    std::vector<double> intake;
    std::vector<double> latest;
    std::map<std::string, std::string> names;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto episodes,
                               txn.ListEpisodes(principal.user.org_id, CaseloadQuery(principal)));
      std::map<std::string, const domain::Episode*> visible;
      for (const auto& episode : episodes) {
        if (CanSeeEpisode(principal, episode) && !episode.clinician_ids.empty()) {
          visible[episode.id] = &episode;
        }
      }
      RAPPORT_ASSIGN_OR_RETURN(const auto observations,
                               txn.ListObservations(principal.user.org_id, instrument_id,
                                                    Timestamp{}, Timestamp::max()));
      // The first and latest client rating of each (episode, client), by session number.
      std::map<
          std::pair<std::string, std::string>,
          std::pair<const storage::InstrumentObservation*, const storage::InstrumentObservation*>>
          course;
      for (const auto& observation : observations) {
        if (observation.client_id.empty() || !observation.total ||
            !visible.contains(observation.episode_id)) {
          continue;
        }
        auto& [first, last] = course[{observation.episode_id, observation.client_id}];
        if (first == nullptr || observation.session_number < first->session_number) {
          first = &observation;
        }
        if (last == nullptr || observation.session_number >= last->session_number) {
          last = &observation;
        }
      }
      for (const auto& [key, ends] : course) {
        if (ends.first->session_number == ends.second->session_number) continue;
        data.therapist.push_back(visible.at(key.first)->clinician_ids.front());
        intake.push_back(*ends.first->total);
        latest.push_back(*ends.second->total);
      }
      RAPPORT_ASSIGN_OR_RETURN(const auto users, txn.ListUsers(principal.user.org_id));
      for (const auto& user : users) names[user.id] = user.display_name;
      return Status::Ok();
    }));
    const bool higher_is_better = definition->direction == instruments::Direction::kHigherIsBetter;
    Json out = {{"instrument", definition->id},
                {"title", definition->title},
                {"higher_is_better", higher_is_better},
                {"cases", data.therapist.size()},
                {"design", "latest client rating ~ 1 + first rating + (1 | therapist)"}};
    const auto size = static_cast<Eigen::Index>(latest.size());
    data.y = Eigen::Map<const Eigen::VectorXd>(latest.data(), size);
    data.intake = Eigen::Map<const Eigen::VectorXd>(intake.data(), size);
    const stats::TherapistEffectsOptions options_used;
    auto estimated = stats::EstimateTherapistEffects(data, options_used);
    if (!estimated.ok()) {
      out["available"] = false;
      out["reason"] = estimated.status().message();
      return JsonOk(200, out);
    }
    out["available"] = true;
    out["icc"] = estimated->icc;
    out["therapist_variance"] = estimated->therapist_variance;
    out["residual_variance"] = estimated->residual_variance;
    out["min_cases"] = options_used.min_cases;
    out["min_reliability"] = options_used.min_reliability;
    out["notes"] = estimated->notes;
    out["effects"] = Json::array();
    for (const stats::TherapistEffect& effect : estimated->effects) {
      Json row = {{"therapist_id", effect.therapist},
                  {"name", names.contains(effect.therapist) ? names[effect.therapist] : ""},
                  {"cases", effect.cases},
                  {"shown", effect.shown},
                  {"classification", effect.classification},
                  {"reading", OutcomeReading(effect, higher_is_better)}};
      if (effect.shown) {
        row["effect"] = effect.effect;
        row["lower"] = effect.lower;
        row["upper"] = effect.upper;
        row["reliability"] = effect.reliability;
      }
      out["effects"].push_back(std::move(row));
    }
    return JsonOk(200, out);
  });
}

void StaffApi::Impl::AddAdminRoutes(Router& router) {
  RouteSpec instruments_list{"GET", "/api/v1/instruments"};
  instruments_list.tag = "configuration";
  instruments_list.summary = "The installed instruments (definitions without site wording)";
  Add(router, instruments_list, [this](Request&, const Principal&) -> Result<Response> {
    Json out = Json::array();
    for (const instruments::Definition* definition : catalog.All()) {
      out.push_back({{"id", definition->id},
                     {"version", definition->version},
                     {"title", definition->title},
                     {"kind", definition->kind},
                     {"perspective", definition->perspective},
                     {"items", definition->items.size()},
                     {"languages", definition->languages},
                     {"worded", definition->HasWording()}});
    }
    return JsonOk(200, {{"instruments", out}});
  });

  RouteSpec guidance{"GET", "/api/v1/guidance"};
  guidance.tag = "configuration";
  guidance.summary =
      "The shipped guidance library (id, title, text, signals, dimensions, sources), each entry "
      "marked hidden when the organisation's settings hide it and replaced when they replace "
      "it, and the signal kinds entries can be mapped to; the organisation's own entries are in "
      "its settings (guidance.entries, guidance.disabled)";
  Add(router, guidance, [this](Request&, const Principal& principal) -> Result<Response> {
    alliance::OrgSettings settings;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(settings, alerts::LoadOrgSettings(txn, principal.user.org_id));
      return Status::Ok();
    }));
    Json shipped = Json::array();
    for (const alliance::GuidanceEntry& entry : options.guidance) {
      Json row = alliance::GuidanceToJson(entry);
      row["signals"] = entry.signals;
      row["dimensions"] = entry.dimensions;
      row["hidden"] = settings.guidance_disabled.contains(entry.id);
      row["replaced"] =
          std::any_of(settings.guidance_entries.begin(), settings.guidance_entries.end(),
                      [&](const alliance::GuidanceEntry& own) { return own.id == entry.id; });
      shipped.push_back(std::move(row));
    }
    return JsonOk(200, {{"shipped", shipped}, {"signals", alliance::SignalKinds()}});
  });

  RouteSpec list_packs{"GET", "/api/v1/textpacks"};
  list_packs.tag = "configuration";
  list_packs.summary =
      "Text packs: the organisation's uploaded ones (instrument, language, source, licence, "
      "uploaded by and at, whether they still fit the instrument) and the site's, each marked "
      "when the organisation's pack replaces it";
  Add(router, list_packs, [this](Request&, const Principal& principal) -> Result<Response> {
    std::vector<storage::StoredTextPack> stored;
    std::map<std::string, std::string> names;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(stored, txn.ListTextPacks(principal.user.org_id));
      RAPPORT_ASSIGN_OR_RETURN(const auto users, txn.ListUsers(principal.user.org_id));
      for (const domain::User& user : users) names[user.id] = user.display_name;
      return Status::Ok();
    }));
    Json own = Json::array();
    std::set<std::pair<std::string, std::string>> replaced;
    for (const storage::StoredTextPack& pack : stored) {
      own.push_back(StoredTextPackJson(pack, catalog, names));
      if (own.back()["fits"].get<bool>()) replaced.insert({pack.instrument_id, pack.language});
    }
    Json site = Json::array();
    for (const instruments::Definition* definition : catalog.All()) {
      for (const std::string& language : catalog.Languages(definition->id)) {
        const instruments::TextPack* pack = catalog.FindTextPack(definition->id, language);
        if (pack == nullptr) continue;
        site.push_back({{"instrument", definition->id},
                        {"language", language},
                        {"title", pack->title},
                        {"source", pack->source},
                        {"licence", pack->licence},
                        {"replaced", replaced.contains({definition->id, language})}});
      }
    }
    return JsonOk(200, {{"textpacks", own}, {"site", site}});
  });

  RouteSpec upload_pack{"POST", "/api/v1/textpacks", Access::kStaff, kAdmins};
  upload_pack.tag = "configuration";
  upload_pack.summary =
      "Upload a text pack (docs/instruments.md) for the organisation: validated against the "
      "installed instrument, 422 listing every problem by item and field; replaces the "
      "organisation's pack for that instrument and language and is used by its check-in pages "
      "before the site's";
  upload_pack.example_body =
      R"({"textpack": {"instrument": "rapport-progress", "instrument_version": "1", "language": "en", "source": "Our clinic's own wording", "licence": "Written by the clinic"}, "title": "How have things been lately?", "items": {"self": {"text": "How have you felt in yourself lately?", "min_label": "Very badly", "max_label": "Very well"}, "relationships": {"text": "How have things gone with the people close to you?", "min_label": "Very badly", "max_label": "Very well"}, "daily-life": {"text": "How have work, study or daily tasks gone?", "min_label": "Very badly", "max_label": "Very well"}, "overall": {"text": "Overall, how have things gone?", "min_label": "Very badly", "max_label": "Very well"}}})";
  upload_pack.success_status = 201;
  upload_pack.errors = {
      {422,
       "the pack does not fit the instrument (or none is installed): 'problems' lists every "
       "problem as {item, field, message}; 'field' names the first"}};
  Add(router, upload_pack,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_RETURN_IF_ERROR(ParseBody(request, options.max_json_depth, 256 * 1024).status());
        // Every problem at once: what does not parse, and what does not fit the instrument.
        std::vector<instruments::Problem> problems;
        instruments::TextPack read;
        auto pack = instruments::ParseTextPack(request.body, "", &problems, &read);
        const instruments::Definition* definition = catalog.Find(read.instrument_id);
        if (definition == nullptr && !read.instrument_id.empty()) {
          problems.push_back({"", "", "textpack.instrument",
                              "no instrument '" + read.instrument_id + "' is installed"});
        }
        if (definition != nullptr) {
          for (instruments::Problem& problem : instruments::CheckTextPack(read, *definition)) {
            // One problem per field: what the parser said about it is the more precise.
            const bool said = std::any_of(problems.begin(), problems.end(),
                                          [&](const auto& p) { return p.field == problem.field; });
            if (!said) problems.push_back(std::move(problem));
          }
        }
        if (!problems.empty() || !pack.ok()) return TextPackProblems(problems);
        pack->source_file.clear();
        storage::StoredTextPack stored{principal.user.org_id, pack->instrument_id,
                                       pack->language,        instruments::TextPackToJson(*pack),
                                       principal.user.id,     clock.Now()};
        RAPPORT_RETURN_IF_ERROR(
            store.Write([&](storage::WriteTransaction& txn) { return txn.PutTextPack(stored); }));
        Response response =
            JsonOk(201, StoredTextPackJson(stored, catalog,
                                           {{principal.user.id, principal.user.display_name}}));
        response.headers.emplace_back("Location", std::string("/api/v1/textpacks/")
                                                      .append(stored.instrument_id)
                                                      .append("/")
                                                      .append(stored.language));
        return response;
      });

  RouteSpec delete_pack{"DELETE", "/api/v1/textpacks/{instrument}/{language}", Access::kStaff,
                        kAdmins};
  delete_pack.tag = "configuration";
  delete_pack.summary =
      "Remove the organisation's text pack for an instrument and language (the site's wording, "
      "if any, applies again)";
  delete_pack.success_status = 204;
  delete_pack.errors = {{404, "the organisation has no pack for that instrument and language"}};
  Add(router, delete_pack,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) {
          return txn.DeleteTextPack(principal.user.org_id, request.Param("instrument"),
                                    request.Param("language"));
        }));
        return Response{204, "text/plain; charset=utf-8", {}, ""};
      });

  RouteSpec list_users{"GET", "/api/v1/users", Access::kStaff, kAdmins};
  list_users.tag = "users";
  list_users.summary = "The organisation's staff accounts";
  Add(router, list_users, [this](Request&, const Principal& principal) -> Result<Response> {
    Json out = Json::array();
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto users, txn.ListUsers(principal.user.org_id));
      for (const auto& user : users) out.push_back(AccountJson(user));
      return Status::Ok();
    }));
    return JsonOk(200, {{"users", out}});
  });

  RouteSpec create_user{"POST", "/api/v1/users", Access::kStaff, kAdmins};
  create_user.tag = "users";
  create_user.summary = "Create a staff account (password of at least 12 characters)";
  create_user.example_body =
      R"({"email": "{unique}@example.org", "display_name": "New Clinician", "role": "clinician", "password": "a long enough password"})";
  create_user.success_status = 201;
  Add(router, create_user,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(
            OnlyFields(body, {"email", "display_name", "role", "password", "clinic_id"}));
        domain::User user;
        user.id = NewId(random);
        user.org_id = principal.user.org_id;
        RAPPORT_ASSIGN_OR_RETURN(const std::string email, StringField(body, "email", true));
        RAPPORT_ASSIGN_OR_RETURN(user.email, NormaliseEmail(email));
        RAPPORT_ASSIGN_OR_RETURN(user.display_name, StringField(body, "display_name", true));
        RAPPORT_ASSIGN_OR_RETURN(const auto role, EnumField(body, "role", domain::ParseRole));
        if (!role) return InvalidArgument("role is required", "role");
        user.role = *role;
        RAPPORT_ASSIGN_OR_RETURN(user.clinic_id, StringField(body, "clinic_id", false));
        RAPPORT_ASSIGN_OR_RETURN(const std::string password,
                                 StringField(body, "password", true, kMaxPasswordLength));
        RAPPORT_RETURN_IF_ERROR(CheckPassword(password));
        RAPPORT_ASSIGN_OR_RETURN(user.password_hash, HashPassword(password));
        user.created_at = clock.Now();
        RAPPORT_RETURN_IF_ERROR(
            store.Write([&](storage::WriteTransaction& txn) { return CreateAccount(txn, user); }));
        return JsonOk(201, AccountJson(user));
      });

  RouteSpec update_user{"PATCH", "/api/v1/users/{id}", Access::kStaff, kAdmins};
  update_user.tag = "users";
  update_user.summary =
      "Change a staff account: display_name, role, clinic_id, disabled, password, unlock, "
      "reset_mfa (disabling or a new password signs the user out everywhere)";
  update_user.example_body = R"({"display_name": "Renamed"})";
  Add(router, update_user,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"display_name", "role", "clinic_id", "disabled",
                                                  "password", "unlock", "reset_mfa"}));
        RAPPORT_ASSIGN_OR_RETURN(const std::string name, StringField(body, "display_name", false));
        RAPPORT_ASSIGN_OR_RETURN(const auto role, EnumField(body, "role", domain::ParseRole));
        RAPPORT_ASSIGN_OR_RETURN(const auto disabled, BoolField(body, "disabled"));
        RAPPORT_ASSIGN_OR_RETURN(const auto unlock, BoolField(body, "unlock"));
        RAPPORT_ASSIGN_OR_RETURN(const auto reset_mfa, BoolField(body, "reset_mfa"));
        RAPPORT_ASSIGN_OR_RETURN(const std::string password,
                                 StringField(body, "password", false, kMaxPasswordLength));
        AccountChange change;
        if (!name.empty()) change.display_name = name;
        change.role = role;
        if (body.contains("clinic_id")) {
          RAPPORT_ASSIGN_OR_RETURN(change.clinic_id, StringField(body, "clinic_id", false));
        }
        change.disabled = disabled;
        change.unlock = unlock.value_or(false);
        change.reset_mfa = reset_mfa.value_or(false);
        if (!password.empty()) {
          RAPPORT_RETURN_IF_ERROR(CheckPassword(password));
          RAPPORT_ASSIGN_OR_RETURN(change.password_hash, HashPassword(password));
        }
        const std::string& id = request.Param("id");
        if (id == principal.user.id &&
            ((disabled && *disabled) || (role && *role != Role::kAdmin))) {
          return InvalidArgument("administrators cannot disable or demote themselves",
                                 disabled ? "disabled" : "role");
        }
        domain::User user;
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(user, ChangeAccount(txn, principal.user.org_id, id, change));
          return Status::Ok();
        }));
        return JsonOk(200, AccountJson(user));
      });

  RouteSpec organization{"GET", "/api/v1/organization"};
  organization.tag = "configuration";
  organization.summary = "The caller's organisation and its clinics";
  Add(router, organization, [this](Request&, const Principal& principal) -> Result<Response> {
    Json out;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Organization org,
                               txn.GetOrganization(principal.user.org_id));
      RAPPORT_ASSIGN_OR_RETURN(const auto clinics, txn.ListClinics(org.id));
      out = {{"id", org.id},
             {"name", org.name},
             {"created_at", FormatTimestamp(org.created_at)},
             {"clinics", Json::array()}};
      for (const domain::Clinic& clinic : clinics) {
        out["clinics"].push_back({{"id", clinic.id}, {"name", clinic.name}});
      }
      return Status::Ok();
    }));
    return JsonOk(200, out);
  });

  RouteSpec add_clinic{"POST", "/api/v1/clinics", Access::kStaff, kAdmins};
  add_clinic.tag = "configuration";
  add_clinic.summary = "Add a clinic (a site or team; a supervisor's team is their clinic)";
  add_clinic.example_body = R"({"name": "Clinic {unique}"})";
  add_clinic.success_status = 201;
  Add(router, add_clinic, [this](Request& request, const Principal& principal) -> Result<Response> {
    RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
    RAPPORT_RETURN_IF_ERROR(OnlyFields(body, {"name"}));
    domain::Clinic clinic;
    clinic.id = NewId(random);
    clinic.org_id = principal.user.org_id;
    RAPPORT_ASSIGN_OR_RETURN(clinic.name, StringField(body, "name", true, kMaxName));
    RAPPORT_RETURN_IF_ERROR(
        store.Write([&](storage::WriteTransaction& txn) { return txn.PutClinic(clinic); }));
    return JsonOk(201, {{"id", clinic.id}, {"name", clinic.name}});
  });

  RouteSpec get_settings{"GET", "/api/v1/settings", Access::kStaff, kAdmins};
  get_settings.tag = "configuration";
  get_settings.summary = "The organisation's settings document (docs/signals.md)";
  Add(router, get_settings, [this](Request&, const Principal& principal) -> Result<Response> {
    std::string document;
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(document, txn.GetOrgSettings(principal.user.org_id));
      return Status::Ok();
    }));
    return JsonResponse(200, document);
  });

  RouteSpec put_settings{"PUT", "/api/v1/settings", Access::kStaff, kAdmins};
  put_settings.tag = "configuration";
  put_settings.summary = "Replace the organisation's settings (validated; errors name the field)";
  put_settings.example_body = R"({})";
  Add(router, put_settings,
      [this](Request& request, const Principal& principal) -> Result<Response> {
        RAPPORT_ASSIGN_OR_RETURN(const Json body, ParseBody(request, options.max_json_depth));
        const std::string text = body.dump();
        RAPPORT_RETURN_IF_ERROR(store.Write([&](storage::WriteTransaction& txn) {
          return alerts::SaveOrgSettings(txn, principal.user.org_id, text, clock.Now());
        }));
        return JsonResponse(200, text);
      });

  RouteSpec audit_log{"GET", "/api/v1/audit", Access::kStaff, kAdmins};
  audit_log.tag = "configuration";
  audit_log.summary =
      "The organisation's audit log, oldest first (?after=SEQ&limit=N, at most 1000), with "
      "each event's hash chain fields";
  Add(router, audit_log, [this](Request& request, const Principal& principal) -> Result<Response> {
    int64_t after = 0;
    int64_t limit = 100;
    for (auto [name, target] : {std::pair{"after", &after}, std::pair{"limit", &limit}}) {
      const auto it = request.query.find(name);
      if (it == request.query.end()) continue;
      char* end = nullptr;
      *target = std::strtoll(it->second.c_str(), &end, 10);
      if (it->second.empty() || *end != '\0' || *target < 0) {
        return InvalidArgument(std::string(name) + " must be a whole number", name);
      }
    }
    limit = std::clamp<int64_t>(limit, 1, 1000);
    Json out = Json::array();
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto events,
                               txn.ListAudit(principal.user.org_id, after, limit));
      for (const auto& event : events) {
        out.push_back({{"seq", event.seq},
                       {"at", FormatTimestamp(event.at)},
                       {"actor", event.actor},
                       {"action", event.action},
                       {"resource", event.resource},
                       {"address", event.address},
                       {"detail", event.detail},
                       {"prev_hash", event.prev_hash},
                       {"hash", event.hash}});
      }
      return Status::Ok();
    }));
    return JsonOk(200, {{"events", out}});
  });

  RouteSpec export_rows{"GET", "/api/v1/export/responses", Access::kStaff, {Role::kResearcher}};
  export_rows.tag = "research";
  export_rows.summary =
      "De-identified tidy export: one row per scored response of clients who consented to "
      "research, with pseudonymous ids, session numbers and days since the episode began";
  Add(router, export_rows, [this](Request&, const Principal& principal) -> Result<Response> {
    Json rows = Json::array();
    const std::string& org = principal.user.org_id;
    // Pseudonyms are keyed by the organisation so that they do not match across exports of
    // different organisations and reveal no stored id.
    const auto pseudonym = [&](const std::string& id) {
      return Sha256Hex("rapport-export:" + org + ":" + id).substr(0, 16);
    };
    RAPPORT_RETURN_IF_ERROR(store.Read([&](storage::ReadTransaction& txn) -> Status {
      RAPPORT_ASSIGN_OR_RETURN(const auto clients, txn.ListClients(org));
      std::set<std::string> consented;
      for (const auto& client : clients) {
        if (client.consent_research) consented.insert(client.id);
      }
      RAPPORT_ASSIGN_OR_RETURN(const auto episodes, txn.ListEpisodes(org, {}));
      for (const auto& episode : episodes) {
        RAPPORT_ASSIGN_OR_RETURN(const auto sessions, txn.ListSessionsForEpisode(org, episode.id));
        std::map<std::string, const domain::Session*> by_id;
        for (const auto& session : sessions) by_id[session.id] = &session;
        RAPPORT_ASSIGN_OR_RETURN(const auto responses,
                                 txn.ListResponsesForEpisode(org, episode.id));
        for (const auto& response : responses) {
          const bool client_rating = response.perspective == domain::Perspective::kClient;
          if (client_rating && !consented.contains(response.respondent_id)) continue;
          if (!client_rating) {
            const bool all_consented =
                std::all_of(episode.client_ids.begin(), episode.client_ids.end(),
                            [&](const std::string& id) { return consented.contains(id); });
            if (!all_consented) continue;
          }
          const auto session = by_id.find(response.session_id);
          if (session == by_id.end()) continue;
          const auto days = std::chrono::duration_cast<std::chrono::hours>(
                                session->second->scheduled_at - episode.started_at)
                                .count() /
                            24;
          rows.push_back(
              {{"episode", pseudonym(episode.id)},
               {"respondent", pseudonym(response.respondent_id)},
               {"perspective", domain::Name(response.perspective)},
               {"modality", domain::Name(episode.modality)},
               {"session", session->second->number},
               {"day", days},
               {"instrument", response.instrument_id},
               {"instrument_version", response.score.instrument_version},
               {"total", response.score.total ? Json(*response.score.total) : Json(nullptr)},
               {"band", response.score.band}});
        }
      }
      return Status::Ok();
    }));
    return JsonOk(200, {{"rows", rows}});
  });
}

StaffApi::StaffApi(storage::Store& store, const instruments::Catalog& catalog, const Clock& clock,
                   Random& random, AuthService& auth, StaffApiOptions options)
    : impl_(std::make_unique<Impl>(Impl{store, catalog, clock, random, auth, std::move(options)})) {
}

StaffApi::~StaffApi() = default;

void StaffApi::AddRoutes(Router& router) {
  impl_->AddAuthRoutes(router);
  impl_->AddClinicalRoutes(router);
  impl_->AddAdminRoutes(router);
}

}  // namespace rapport::api
