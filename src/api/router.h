// Routing: a table of (method, path pattern, handler). Patterns are literal segments and
// {name} parameters, e.g. "/c/{token}". Unknown paths → 404, known path with another method →
// 405, both as problem+json.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http.h"

namespace rapport::api {

using Handler = std::function<Response(Request&)>;

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
    Handler handler;
  };

  void Add(std::string method, std::string pattern, Handler handler);
  // Matches, fills request.params and runs the handler. Thread safe after setup.
  Response Handle(Request& request) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace rapport::api
