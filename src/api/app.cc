#include "api/app.h"

#include <nlohmann/json.hpp>

#include "api/pages.h"
#include "base/log.h"
#include "instruments/scoring.h"

namespace rapport::api {
namespace {

using Json = nlohmann::json;

// Kind HTML for a failed check-in lookup or submission.
Response CheckinErrorPage(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return HtmlResponse(404, RenderMessagePage("Link not recognised",
                                                 "This check-in link is not valid. Please check "
                                                 "that it was copied completely, or ask your "
                                                 "clinic for a new one."));
    case StatusCode::kGone:
      return HtmlResponse(410, RenderMessagePage("This link has expired",
                                                 "Check-in links only work for a short time. "
                                                 "Nothing is wrong; your clinic can give you a "
                                                 "new one."));
    case StatusCode::kConflict:
      return HtmlResponse(409, RenderMessagePage("Already answered",
                                                 "This check-in has already been answered, so "
                                                 "these answers were not saved. Thank you."));
    default:
      log::Error("check-in failed", {{"error", status.ToString()}});
      return HtmlResponse(HttpStatus(status.code()),
                          RenderMessagePage("Something went wrong",
                                            "Your answers could not be saved just now. Please "
                                            "try again in a moment."));
  }
}

Json ResultJson(const domain::Checkin& checkin, const std::vector<domain::Response>& responses) {
  Json out;
  out["checkin"] = checkin.id;
  out["responses"] = Json::array();
  for (const domain::Response& response : responses) {
    out["responses"].push_back({{"id", response.id},
                                {"instrument", response.instrument_id},
                                {"submitted_at", FormatTimestamp(response.submitted_at)},
                                {"score", instruments::ScoreToJson(response.score)}});
  }
  return out;
}

}  // namespace

bool JsonDepthWithin(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

App::App(storage::Store& store, const instruments::Catalog& catalog, const Clock& clock,
         Random& random, AppOptions options)
    : store_(store), checkins_(store, catalog, clock, random), options_(std::move(options)) {
  router_.Add("GET", "/healthz", [this](Request& r) { return Health(r); });
  router_.Add("GET", "/", [this](Request& r) { return Start(r); });
  router_.Add("GET", "/assets/rapport.css", [](Request&) {
    Response response{200, "text/css; charset=utf-8", {}, Stylesheet()};
    return response;
  });
  router_.Add("GET", "/assets/favicon.svg", [](Request&) {
    Response response{200, "image/svg+xml", {}, FaviconSvg()};
    return response;
  });
  router_.Add("GET", "/c/{token}", [this](Request& r) { return ShowCheckin(r); });
  router_.Add("POST", "/c/{token}", [this](Request& r) { return SubmitCheckinForm(r); });
  router_.Add("POST", "/api/v1/checkins/{token}",
              [this](Request& r) { return SubmitCheckinJson(r); });
}

Response App::Health(const Request&) const { return JsonResponse(200, R"({"status":"ok"})"); }

Response App::Start(const Request&) const {
  return HtmlResponse(200, RenderStartPage(options_.demo_checkin_links));
}

Response App::ShowCheckin(const Request& request) const {
  auto context = checkins_.Open(request.Param("token"));
  if (!context.ok()) return CheckinErrorPage(context.status());
  if (context->checkin.submitted_at) {
    return HtmlResponse(200, RenderCheckinResult(*context, context->responses, false));
  }
  for (const instruments::Definition* definition : context->instruments) {
    if (!definition->HasWording()) {
      return HtmlResponse(
          503, RenderMessagePage("This check-in cannot be shown yet",
                                 "Your clinic has not installed the wording of one of its "
                                 "questionnaires. Please let them know."));
    }
  }
  return HtmlResponse(200, RenderCheckinForm(*context, request.path, {}, "", ""));
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
  auto context = checkins_.Open(token);
  if (!context.ok()) return CheckinErrorPage(context.status());
  auto pairs = ParseFormEncoded(request.body);
  if (!pairs.ok())
    return HtmlResponse(400,
                        RenderMessagePage("Something went wrong", "The form could not be read."));
  std::map<std::string, std::string> values;
  for (auto& [key, value] : *pairs) values[key] = value;

  // Re-shows the form with the answers kept and the problem named.
  const auto form_error = [&](const std::string& message, const std::string& field) {
    return HtmlResponse(400, RenderCheckinForm(*context, request.path, values, message, field));
  };

  std::vector<Submission> submissions;
  for (const instruments::Definition* definition : context->instruments) {
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
        return form_error("An answer to question '" + item.text + "' could not be read.",
                          definition->id + ".item " + item.id);
      }
      submission.answers.push_back({item.id, value});
    }
    submissions.push_back(std::move(submission));
  }
  auto outcome = checkins_.Submit(token, submissions);
  if (!outcome.ok()) {
    if (outcome.status().code() == StatusCode::kInvalidArgument) {
      // Name the question in the respondent's words, not the item id.
      std::string message = outcome.status().message();
      for (const instruments::Definition* definition : context->instruments) {
        for (const instruments::Item& item : definition->items) {
          if (outcome.status().field() == definition->id + ".item " + item.id) {
            message = "Please answer the question '" + item.text + "'.";
          }
        }
      }
      return form_error(message, outcome.status().field());
    }
    return CheckinErrorPage(outcome.status());
  }
  return HtmlResponse(outcome->created ? 201 : 200,
                      RenderCheckinResult(*context, outcome->responses, outcome->created));
}

Response App::SubmitCheckinJson(const Request& request) {
  if (!request.Header("content-type").starts_with("application/json")) {
    return ProblemResponse(415, "request body must be application/json", "content-type");
  }
  if (!JsonDepthWithin(request.body, options_.max_json_depth)) {
    return ProblemResponse(
        400, "JSON nests deeper than " + std::to_string(options_.max_json_depth) + " levels",
        "body");
  }
  const Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return ProblemResponse(400, "request body is not valid JSON", "body");
  if (!body.is_object() || !body.contains("responses") || !body["responses"].is_array()) {
    return ProblemResponse(
        400, "expected {\"responses\": [{\"instrument\": ID, \"answers\": ...}]}", "responses");
  }
  const std::string token = request.Param("token");
  auto context = checkins_.Open(token);
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
  auto outcome = checkins_.Submit(token, submissions);
  if (!outcome.ok()) return ProblemResponse(outcome.status());
  return JsonResponse(outcome->created ? 201 : 200,
                      ResultJson(context->checkin, outcome->responses).dump());
}

}  // namespace rapport::api
