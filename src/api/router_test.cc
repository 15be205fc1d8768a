#include "api/router.h"

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

}  // namespace
}  // namespace rapport::api
