// The OpenAPI 3 document of the JSON API, generated from the route table (api/router.h) so it
// cannot drift from what the server routes: every /api/ route with its method, parameters,
// summary, tag, security, roles and example request body. Served at /api/v1/openapi.json.
#pragma once

#include <string>

#include "api/router.h"

namespace rapport::api {

// The document as JSON text.
std::string OpenApiDocument(const Router& router, const std::string& version);

}  // namespace rapport::api
