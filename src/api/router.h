// Routing: a table of routes, each a (method, path pattern) with its handler and what the
// rest of the server needs to know about it (who may call it, what it takes and returns). The
// table is data: the permission matrix test and the OpenAPI document are generated from it.
// Patterns are literal segments and {name} parameters, e.g. "/c/{token}". Unknown paths → 404,
// known path with another method → 405, both as problem+json.
//
// Most handlers are functions of a request, run where they may block (the server's handler
// pool). A route whose work mostly waits on something else (a check-in's durable write) has an
// asynchronous handler instead: it runs on the thread that read the request and answers later,
// so no thread is held while it waits.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/http.h"
#include "domain/types.h"

namespace rapport::api {

using Handler = std::function<Response(Request&)>;
// Runs a function soon on another thread (or, in Router::Handle, at once).
using Post = std::function<void(std::function<void()>)>;
// Gives a request its answer. Called once, from any thread.
using Respond = std::function<void(Response)>;
// An asynchronous handler. It must not block for long: it keeps what it needs of the request
// (which lives until it returns) and answers through `respond`, now or later from another
// thread, where it continues through `post` (whose functions may throw: the request is then
// answered 500, as when a handler throws).
using AsyncHandler = std::function<void(Request&, const Post& post, Respond respond)>;

// How a route authenticates its caller.
enum class Access {
  kPublic,   // anyone (health, pages, sign-in)
  kCheckin,  // a respondent holding a check-in token in the path
  kStaff,    // a signed-in user (session cookie + CSRF token) or an API token
};

// What a route is, apart from its handler.
struct RouteSpec {
  std::string method;
  std::string pattern;
  Access access = Access::kPublic;
  // kStaff: the roles that may call it. Empty: every role.
  std::vector<domain::Role> roles;
  // kStaff: it reads or writes one episode's clinical records (the {id} of an episode,
  // session, client or alert), so a clinician must be one of its clinicians and a supervisor
  // must supervise its clinic; others get 404.
  bool caseload = false;
  // kStaff: an administrator who must still enrol in multi-factor sign-in may call it.
  bool before_mfa = false;
  std::string tag;      // OpenAPI group, e.g. "clients"
  std::string summary;  // one line for the OpenAPI document
  // An example JSON request body ({placeholders} name ids of the calling test's world);
  // empty when the route takes no body.
  std::string example_body;
  int success_status = 200;
  // Error answers particular to this route, beyond those every route of its access has
  // (e.g. {422, "the document does not fit; 'problems' lists every problem"}).
  std::vector<std::pair<int, std::string>> errors;
};

class Router {
 public:
  struct Route {
    RouteSpec spec;
    Handler handler;  // one of these two
    AsyncHandler async_handler;
    // An asynchronous handler that may block before it returns (it reads a database over the
    // network): Dispatch runs it through `blocking` rather than inline.
    bool async_blocks = false;
    // Requests answered, by status class (index 1..5 for 1xx..5xx).
    std::shared_ptr<std::array<std::atomic<uint64_t>, 6>> counts =
        std::make_shared<std::array<std::atomic<uint64_t>, 6>>();
  };

  void Add(RouteSpec spec, Handler handler);
  // `blocks`: see Route::async_blocks.
  void AddAsync(RouteSpec spec, AsyncHandler handler, bool blocks = false);
  // A public route.
  void Add(std::string method, std::string pattern, Handler handler);
  // Matches, fills request.params and runs the handler, waiting for an asynchronous one's
  // answer. Thread safe after setup.
  Response Handle(Request& request) const;
  // Matches and answers through `respond`: a handler through `blocking` (which runs it where
  // it may block), an asynchronous handler at once on this thread (or through `blocking` when
  // it blocks), continuing through `post`.
  // Thread safe after setup.
  void Dispatch(Request request, const Post& blocking, const Post& post, Respond respond) const;
  const std::vector<Route>& routes() const { return routes_; }
  // Requests that matched no route (404/405/400).
  uint64_t unmatched() const { return unmatched_->load(std::memory_order_relaxed); }

 private:
  class Exchange;
  // The route for `request`, with its params filled in; or null with the answer (404, 405,
  // 400) in `unmatched`.
  const Route* Find(Request& request, Response& unmatched) const;
  // Counts the answer by status class and logs a server error.
  static void Count(const Route& route, const Request& request, const Response& response);
  // Runs a handler, turning an exception into a logged 500.
  static Response Run(const Route& route, Request& request);
  static void RunAsync(const Route& route, Request& request, const Post& post, Respond respond);

  std::vector<Route> routes_;
  std::shared_ptr<std::atomic<uint64_t>> unmatched_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace rapport::api
