#include "api/router.h"

#include <algorithm>
#include <exception>
#include <future>
#include <map>

#include "base/log.h"

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

void Router::AddAsync(RouteSpec spec, AsyncHandler handler, bool blocks) {
  Route route;
  route.spec = std::move(spec);
  route.async_handler = std::move(handler);
  route.async_blocks = blocks;
  routes_.push_back(std::move(route));
}

const Router::Route* Router::Find(Request& request, Response& unmatched) const {
  if (request.path.empty() || request.path.front() != '/') {
    unmatched_->fetch_add(1, std::memory_order_relaxed);
    unmatched = ProblemResponse(400, "request target must be an absolute path");
    return nullptr;
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
    return &route;
  }
  unmatched_->fetch_add(1, std::memory_order_relaxed);
  if (path_known) {
    unmatched = ProblemResponse(405, "method " + request.method + " is not allowed here");
    unmatched.headers.emplace_back("Allow", allowed);
  } else {
    unmatched = ProblemResponse(404, "no such resource: " + request.path);
  }
  return nullptr;
}

void Router::Count(const Route& route, const Request& request, const Response& response) {
  const size_t status_class = static_cast<size_t>(std::clamp(response.status / 100, 1, 5));
  (*route.counts)[status_class].fetch_add(1, std::memory_order_relaxed);
  if (response.status >= 500) {
    log::Error("request failed",
               {{"method", request.method}, {"path", request.path}, {"status", response.status}});
  }
}

namespace {

Response Failed(const Request& request, const std::exception& e) {
  log::Error("handler threw", {{"path", request.path}, {"error", e.what()}});
  return ProblemResponse(500, "an internal error occurred; it has been logged");
}

}  // namespace

Response Router::Run(const Route& route, Request& request) {
  Response response;
  try {
    response = route.handler(request);
  } catch (const std::exception& e) {
    response = Failed(request, e);
  }
  Count(route, request, response);
  return response;
}

// One asynchronous request until it is answered: answers it once, counted, whichever thread
// gets there first.
class Router::Exchange {
 public:
  Exchange(const Route& route, const Request& request, Respond respond)
      : route_(route), respond_(std::move(respond)) {
    request_.method = request.method;
    request_.path = request.path;
  }

  void Answer(Response response) {
    if (answered_.exchange(true)) return;
    Count(route_, request_, response);
    respond_(std::move(response));
  }
  void Fail(const std::exception& e) { Answer(Failed(request_, e)); }

 private:
  const Route& route_;
  Request request_;  // its method and path, for the log
  Respond respond_;
  std::atomic<bool> answered_{false};
};

void Router::RunAsync(const Route& route, Request& request, const Post& post, Respond respond) {
  auto exchange = std::make_shared<Exchange>(route, request, std::move(respond));
  const Post guarded = [exchange, post](std::function<void()> work) {
    post([exchange, work = std::move(work)] {
      try {
        work();
      } catch (const std::exception& e) {
        exchange->Fail(e);
      }
    });
  };
  try {
    route.async_handler(request, guarded,
                        [exchange](Response response) { exchange->Answer(std::move(response)); });
  } catch (const std::exception& e) {
    exchange->Fail(e);
  }
}

Response Router::Handle(Request& request) const {
  Response unmatched;
  const Route* route = Find(request, unmatched);
  if (route == nullptr) return unmatched;
  if (route->handler) return Run(*route, request);
  std::promise<Response> answered;
  std::future<Response> answer = answered.get_future();
  RunAsync(
      *route, request, [](const std::function<void()>& work) { work(); },
      [&answered](Response response) { answered.set_value(std::move(response)); });
  return answer.get();
}

void Router::Dispatch(Request request, const Post& blocking, const Post& post,
                      Respond respond) const {
  Response unmatched;
  const Route* route = nullptr;
  try {
    route = Find(request, unmatched);
  } catch (const std::exception& e) {
    return respond(Failed(request, e));
  }
  if (route == nullptr) return respond(std::move(unmatched));
  if (route->async_handler && !route->async_blocks) {
    return RunAsync(*route, request, post, std::move(respond));
  }
  if (route->async_handler) {
    blocking([route, request = std::move(request), post, respond = std::move(respond)]() mutable {
      RunAsync(*route, request, post, std::move(respond));
    });
    return;
  }
  blocking([route, request = std::move(request), respond = std::move(respond)]() mutable {
    respond(Run(*route, request));
  });
}

}  // namespace rapport::api
