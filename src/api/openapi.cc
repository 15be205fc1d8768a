#include "api/openapi.h"

#include <nlohmann/json.hpp>

namespace rapport::api {
namespace {

using Json = nlohmann::json;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Json Problem(const char* description) {
  return {
      {"description", description},
      {"content",
       {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
}

}  // namespace

std::string OpenApiDocument(const Router& router, const std::string& version) {
  Json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "Rapport API"},
                 {"version", version},
                 {"description",
                  "Measurement-based care of the therapeutic relationship. Errors are "
                  "application/problem+json (RFC 9457) with a 'field' naming the offending "
                  "input. Sign in with POST /api/v1/auth/login; send the returned csrf_token as "
                  "X-CSRF-Token on every state-changing request of the session; integrations "
                  "use 'Authorization: Bearer <API token>' instead."}};
  doc["components"]["securitySchemes"] = {
      {"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "rapport_session"}}},
      {"token", {{"type", "http"}, {"scheme", "bearer"}}}};
  doc["components"]["schemas"]["Problem"] = {{"type", "object"},
                                             {"required", {"title", "status", "detail"}},
                                             {"properties",
                                              {{"type", {{"type", "string"}}},
                                               {"title", {{"type", "string"}}},
                                               {"status", {{"type", "integer"}}},
                                               {"detail", {{"type", "string"}}},
                                               {"field", {{"type", "string"}}}}}};
  doc["paths"] = Json::object();
  for (const Router::Route& route : router.routes()) {
    const RouteSpec& spec = route.spec;
    if (!spec.pattern.starts_with("/api/") && spec.pattern != "/healthz" &&
        spec.pattern != "/readyz" && spec.pattern != "/metrics") {
      continue;
    }
    Json operation;
    operation["summary"] = spec.summary.empty() ? spec.method + " " + spec.pattern : spec.summary;
    operation["tags"] = Json::array({spec.tag.empty() ? "system" : spec.tag});
    std::string id = Lower(spec.method);
    for (const char c : spec.pattern) {
      id.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    }
    operation["operationId"] = id;
    // Path parameters.
    Json parameters = Json::array();
    for (size_t open = spec.pattern.find('{'); open != std::string::npos;
         open = spec.pattern.find('{', open + 1)) {
      const size_t close = spec.pattern.find('}', open);
      parameters.push_back({{"name", spec.pattern.substr(open + 1, close - open - 1)},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}}}});
    }
    if (!parameters.empty()) operation["parameters"] = parameters;
    if (!spec.example_body.empty() || spec.access == Access::kCheckin) {
      Json media = {{"schema", {{"type", "object"}}}};
      if (!spec.example_body.empty()) {
        const Json example = Json::parse(spec.example_body, nullptr, false);
        if (!example.is_discarded()) media["example"] = example;
      }
      operation["requestBody"] = {{"required", true}, {"content", {{"application/json", media}}}};
    }
    Json responses;
    responses[std::to_string(spec.success_status)] = {{"description", "success"}};
    responses["400"] = Problem("bad input; 'field' names it");
    if (spec.access == Access::kStaff) {
      operation["security"] =
          Json::array({{{"session", Json::array()}}, {{"token", Json::array()}}});
      responses["401"] = Problem("not signed in, or the session or token has ended");
      responses["403"] = Problem("the role, token scope or CSRF token does not allow it");
      if (spec.caseload) responses["404"] = Problem("not found, or not in the caller's caseload");
      Json roles = Json::array();
      for (const domain::Role role : spec.roles) roles.push_back(domain::Name(role));
      operation["x-rapport-roles"] = roles.empty() ? Json::array({"any"}) : roles;
      operation["x-rapport-caseload"] = spec.caseload;
    } else if (spec.access == Access::kCheckin) {
      responses["404"] = Problem("unknown check-in token");
      responses["410"] = Problem("the check-in link has expired");
      responses["409"] = Problem("the check-in was already answered differently");
    }
    for (const auto& [status, description] : spec.errors) {
      responses[std::to_string(status)] = Problem(description.c_str());
    }
    operation["responses"] = responses;
    std::string path = spec.pattern;
    doc["paths"][path][Lower(spec.method)] = operation;
  }
  return doc.dump(2);
}

}  // namespace rapport::api
