#include "api/router.h"

#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "testing/testing.h"

namespace rapport::api {
namespace {

Router MakeRouter() {
  Router router;
  router.Add("GET", "/c/{token}", [](Request& r) {
    return Response{200, "text/plain", {}, r.Param("token")};
  });
  router.Add("POST", "/c/{token}", [](Request&) {
    return Response{201, "text/plain", {}, "posted"};
  });
  return router;
}

Response Send(const Router& router, std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  return router.Handle(request);
}

TEST(Router, MatchesParametersAndDecodesThem) {
  const Router router = MakeRouter();
  EXPECT_EQ(Send(router, "GET", "/c/abc%2Ddef").body, "abc-def");
  EXPECT_EQ(Send(router, "HEAD", "/c/abc").status, 200);
  EXPECT_EQ(Send(router, "POST", "/c/abc").status, 201);
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405) {
  const Router router = MakeRouter();
  EXPECT_EQ(Send(router, "GET", "/nope").status, 404);
  EXPECT_EQ(Send(router, "GET", "/c/").status, 404);
  EXPECT_EQ(Send(router, "GET", "/c/a/b").status, 404);
  const Response wrong = Send(router, "DELETE", "/c/abc");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.content_type, "application/problem+json");
  EXPECT_EQ(Send(router, "GET", "relative").status, 400);
}

RouteSpec Spec(std::string method, std::string pattern) {
  RouteSpec spec;
  spec.method = std::move(method);
  spec.pattern = std::move(pattern);
  return spec;
}

// Runs each function on a thread of its own, as the server's pools would on theirs.
class Threads {
 public:
  ~Threads() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (std::thread& thread : threads) thread.join();
  }
  Post post() {
    return [this](std::function<void()> work) {
      std::lock_guard lock(mutex_);
      threads_.emplace_back(std::move(work));
    };
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

// An asynchronous route whose answer comes from another thread, as a durable write's does.
Router MakeAsyncRouter(Threads& elsewhere) {
  Router router;
  router.AddAsync(Spec("POST", "/a/{id}"),
                  [&elsewhere](Request& r, const Post& post, Respond respond) {
                    const std::string id = r.Param("id");
                    if (id == "refused") return respond(ProblemResponse(400, "refused at once"));
                    if (id == "throws") throw std::runtime_error("thrown at once");
                    // Somewhere else finishes the work, then continues through `post`.
                    elsewhere.post()([id, post, respond] {
                      post([id, respond] {
                        if (id == "throws-later") throw std::runtime_error("thrown later");
                        respond(Response{201, "text/plain", {}, "stored " + id});
                        respond(Response{200, "text/plain", {}, "a second answer is ignored"});
                      });
                    });
                  });
  return router;
}

uint64_t Answered(const Router& router, int status_class) {
  return (*router.routes().front().counts)[static_cast<size_t>(status_class)].load();
}

TEST(Router, HandleWaitsForAnAsynchronousHandlersAnswer) {
  Threads elsewhere;
  const Router router = MakeAsyncRouter(elsewhere);
  const Response stored = Send(router, "POST", "/a/x1");
  EXPECT_EQ(stored.status, 201);
  EXPECT_EQ(stored.body, "stored x1");
  EXPECT_EQ(Send(router, "POST", "/a/refused").status, 400);
  EXPECT_EQ(Send(router, "GET", "/a/x1").status, 405);
  // Counted once each, by the first answer.
  EXPECT_EQ(Answered(router, 2), 1u);
  EXPECT_EQ(Answered(router, 4), 1u);
}

TEST(Router, AnAsynchronousHandlerThatThrowsIsAnswered500) {
  Threads elsewhere;
  const Router router = MakeAsyncRouter(elsewhere);
  for (const char* path : {"/a/throws", "/a/throws-later"}) {
    const Response failed = Send(router, "POST", path);
    EXPECT_EQ(failed.status, 500) << path;
    EXPECT_EQ(failed.content_type, "application/problem+json") << path;
    EXPECT_EQ(failed.body.find("thrown"), std::string::npos) << "no internals: " << failed.body;
  }
  EXPECT_EQ(Answered(router, 5), 2u);
}

TEST(Router, DispatchRunsHandlersThroughTheBlockingPoolAndAsynchronousOnesInline) {
  Threads elsewhere;
  Router router = MakeAsyncRouter(elsewhere);
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id async_ran_on;
  router.AddAsync(Spec("GET", "/where"), [&](Request&, const Post&, Respond respond) {
    async_ran_on = std::this_thread::get_id();
    respond(Response{200, "text/plain", {}, "inline"});
  });
  std::thread::id async_blocking_ran_on;
  router.AddAsync(
      Spec("GET", "/remote"),
      [&](Request&, const Post&, Respond respond) {
        async_blocking_ran_on = std::this_thread::get_id();
        respond(Response{200, "text/plain", {}, "read over the network"});
      },
      /*blocks=*/true);
  std::thread::id blocking_ran_on;
  router.Add("GET", "/blocking", [&](Request&) {
    blocking_ran_on = std::this_thread::get_id();
    return Response{200, "text/plain", {}, "pooled"};
  });

  Threads blocking_pool;
  Threads io;
  const auto dispatch = [&](std::string method, std::string path) {
    Request request;
    request.method = std::move(method);
    request.path = std::move(path);
    auto answered = std::make_shared<std::promise<Response>>();
    std::future<Response> answer = answered->get_future();
    router.Dispatch(std::move(request), blocking_pool.post(), io.post(),
                    [answered](Response response) { answered->set_value(std::move(response)); });
    EXPECT_EQ(answer.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return answer.get();
  };
  EXPECT_EQ(dispatch("GET", "/where").body, "inline");
  EXPECT_EQ(async_ran_on, caller);
  EXPECT_EQ(dispatch("GET", "/remote").body, "read over the network");
  EXPECT_NE(async_blocking_ran_on, caller);
  EXPECT_EQ(dispatch("GET", "/blocking").body, "pooled");
  EXPECT_NE(blocking_ran_on, caller);
  EXPECT_EQ(dispatch("POST", "/a/x2").body, "stored x2");
  EXPECT_EQ(dispatch("POST", "/a/throws-later").status, 500);
  EXPECT_EQ(dispatch("GET", "/nowhere").status, 404);
}

}  // namespace
}  // namespace rapport::api
