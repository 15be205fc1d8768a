#include "api/http.h"

#include <nlohmann/json.hpp>

#include "testing/testing.h"

namespace rapport::api {
namespace {

TEST(Http, ProblemJsonNamesTheField) {
  const Response response = ProblemResponse(InvalidArgument("value 4 is out of range", "item 9"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/problem+json");
  const auto json = nlohmann::json::parse(response.body);
  EXPECT_EQ(json["status"], 400);
  EXPECT_EQ(json["field"], "item 9");
  EXPECT_EQ(json["detail"], "value 4 is out of range");
}

TEST(Http, InternalErrorsHideTheirDetails) {
  const Response response = ProblemResponse(Internal("SELECT * FROM secrets failed"));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body.find("SELECT"), std::string::npos);
}

TEST(Http, FormDecoding) {
  const auto pairs = ParseFormEncoded("a=1&b=two+words&c=%C3%A9&empty=&flag");
  ASSERT_OK(pairs);
  ASSERT_EQ(pairs->size(), 5u);
  EXPECT_EQ((*pairs)[1].second, "two words");
  EXPECT_EQ((*pairs)[2].second, "\xC3\xA9");
  EXPECT_EQ((*pairs)[4].first, "flag");
  EXPECT_FALSE(ParseFormEncoded("a=%zz").ok());
  EXPECT_FALSE(ParseFormEncoded("a=%4").ok());
  EXPECT_FALSE(ParseFormEncoded("a=%").ok());
}

TEST(Http, SecurityHeadersOnEveryResponseAndHstsOnlyWhenSecure) {
  const auto find = [](const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::string& name) -> std::string {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "(absent)";
  };
  const auto plain = SecurityHeaders(false);
  const std::string csp = find(plain, "Content-Security-Policy");
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(find(plain, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(find(plain, "X-Frame-Options"), "DENY");
  EXPECT_EQ(find(plain, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(find(plain, "Cross-Origin-Opener-Policy"), "same-origin");
  EXPECT_NE(find(plain, "Permissions-Policy"), "(absent)");
  EXPECT_EQ(find(plain, "Strict-Transport-Security"), "(absent)");
  EXPECT_NE(find(SecurityHeaders(true), "Strict-Transport-Security").find("max-age="),
            std::string::npos);
}

TEST(Http, HtmlEscape) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace rapport::api
