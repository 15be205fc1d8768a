#include "api/router.h"

#include <algorithm>
#include <map>

namespace rapport::api {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Matches `path` against `pattern`, filling `params` with decoded values.
bool Match(std::string_view pattern, std::string_view path,
           std::map<std::string, std::string>& params) {
  const auto want = Segments(pattern);
  const auto have = Segments(path);
  if (want.size() != have.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}') {
      auto decoded = PercentDecode(have[i], false);
      if (!decoded.ok() || decoded->empty()) return false;
      found[std::string(want[i].substr(1, want[i].size() - 2))] = std::move(decoded).value();
    } else if (want[i] != have[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

void Router::Add(RouteSpec spec, Handler handler) {
  Route route;
  route.spec = std::move(spec);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
  RouteSpec spec;
  spec.method = std::move(method);
  spec.pattern = std::move(pattern);
  Add(std::move(spec), std::move(handler));
}

Response Router::Handle(Request& request) const {
  if (request.path.empty() || request.path.front() != '/') {
    unmatched_->fetch_add(1, std::memory_order_relaxed);
    return ProblemResponse(400, "request target must be an absolute path");
  }
  bool path_known = false;
  std::string allowed;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!Match(route.spec.pattern, request.path, params)) continue;
    path_known = true;
    const bool method_matches = route.spec.method == request.method ||
                                (route.spec.method == "GET" && request.method == "HEAD");
    if (!method_matches) {
      if (!allowed.empty()) allowed += ", ";
      allowed += route.spec.method;
      continue;
    }
    request.params = std::move(params);
    Response response = route.handler(request);
    const size_t status_class = static_cast<size_t>(std::clamp(response.status / 100, 1, 5));
    (*route.counts)[status_class].fetch_add(1, std::memory_order_relaxed);
    return response;
  }
  unmatched_->fetch_add(1, std::memory_order_relaxed);
  if (path_known) {
    Response response = ProblemResponse(405, "method " + request.method + " is not allowed here");
    response.headers.emplace_back("Allow", allowed);
    return response;
  }
  return ProblemResponse(404, "no such resource: " + request.path);
}

}  // namespace rapport::api
