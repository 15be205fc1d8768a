// Transport-independent HTTP request and response values. Handlers are plain functions from
// a Request to a Response (STYLE.md rule 9) and can be tested without a socket; only
// server.cc knows about Beast.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rapport::api {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // percent-encoded path without the query
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  // The client's address: the peer's, or the one a trusted reverse proxy reports.
  std::string remote_address;
  // Arrived over TLS, directly or through a trusted reverse proxy (X-Forwarded-Proto: https):
  // cookies are then marked Secure and responses carry Strict-Transport-Security.
  bool secure = false;
  // Path parameters filled in by the router ("token" for /c/{token}).
  std::map<std::string, std::string> params;

  // The header's value, or empty.
  std::string Header(std::string_view name) const;
  std::string Param(std::string_view name) const;
  // The value of the cookie `name` from the Cookie header, or empty.
  std::string Cookie(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// application/problem+json (RFC 9457) for a non-ok Status: {"type", "title", "status",
// "detail", "field"?}. Never carries stack traces or SQL.
Response ProblemResponse(const Status& status);
Response ProblemResponse(int http_status, std::string_view detail, std::string_view field = {});
Response JsonResponse(int http_status, std::string body);
Response HtmlResponse(int http_status, std::string body);

// The security headers of every response, errors included: a Content-Security-Policy without
// inline script or style and with frame-ancestors 'none', nosniff, no referrer, no framing,
// a same-origin opener and resource policy, no powerful browser features; and
// Strict-Transport-Security when `secure` (the request came over TLS, see Request::secure).
std::vector<std::pair<std::string, std::string>> SecurityHeaders(bool secure);

// Decodes %XX and '+' (form encoding). Errors on malformed escapes.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// Parses application/x-www-form-urlencoded text (or a query string) into ordered pairs.
Result<std::vector<std::pair<std::string, std::string>>> ParseFormEncoded(std::string_view text);

// Escapes text for HTML element content and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace rapport::api
