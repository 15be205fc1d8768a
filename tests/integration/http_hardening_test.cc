// The transport's limits, timeouts and security headers through the real `rapport demo` and
// `rapport serve` binaries on a loopback port (docs/operations.md).
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/demo.h"
#include "support/process.h"
#include "testing/testing.h"

namespace rapport {
namespace {

using Json = nlohmann::json;
using testing::Http;
using testing::HttpResult;

constexpr const char* kSecurityHeaders[] = {
    "content-security-policy", "x-content-type-options",     "x-frame-options",
    "referrer-policy",         "cross-origin-opener-policy", "permissions-policy"};

void ExpectSecurityHeaders(const HttpResult& result) {
  for (const char* name : kSecurityHeaders) {
    EXPECT_TRUE(result.headers.contains(name)) << name << " missing on a " << result.status;
  }
  const std::string csp = result.headers.contains("content-security-policy")
                              ? result.headers.at("content-security-policy")
                              : "";
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(result.headers.count("x-content-type-options") == 1
                ? result.headers.at("x-content-type-options")
                : "",
            "nosniff");
}

// A 4xx problem+json whose "field" is `field`, with no internals in it.
void ExpectProblem(const HttpResult& result, int status, const std::string& field) {
  EXPECT_EQ(result.status, status) << result.body;
  EXPECT_EQ(result.headers.count("content-type") == 1 ? result.headers.at("content-type") : "",
            "application/problem+json");
  const Json problem = Json::parse(result.body, nullptr, false);
  ASSERT_TRUE(problem.is_object()) << result.body;
  EXPECT_TRUE(problem.contains("detail") && problem["detail"].is_string()) << result.body;
  EXPECT_EQ(problem.value("field", ""), field) << result.body;
  EXPECT_EQ(problem.value("status", 0), status);
  ExpectSecurityHeaders(result);
  // Never internals: no SQL, no stack traces, no source locations.
  for (const char* leak : {"sqlite", "SQL", "SELECT", "INSERT", "what()", "std::", "stack",
                           ".cc:", "exception", "#0 "}) {
    EXPECT_EQ(result.body.find(leak), std::string::npos) << leak << " in " << result.body;
  }
}

std::string FirstToken(const std::filesystem::path& accounts_file) {
  return testing::CheckinToken(
      Json::parse(testing::ReadFileText(accounts_file))["checkin_links"][0]);
}

class Hardening : public ::testing::Test {
 protected:
  std::vector<std::string> Demo(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {testing::RapportBinary().string(), "demo", "--data-dir",
                                     dir_.path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  testing::TempDir dir_;
};

TEST_F(Hardening, EveryLimitAnswersProblemJsonNamingThePart) {
  testing::ServerProcess server(Demo());
  ASSERT_TRUE(server.started()) << server.output();
  const int port = server.port();
  const std::string path = "/api/v1/checkins/" + FirstToken(dir_.path() / "demo-accounts.json");

  // 413: a body over max_body_bytes (256 KiB), refused from its Content-Length.
  ExpectProblem(Http(port, "POST", path, std::string(300 * 1024, 'x'), "application/json"), 413,
                "body");
  // 431: headers over max_header_bytes, more fields than max_header_count, one field over
  // max_header_field_bytes.
  ExpectProblem(Http(port, "GET", "/healthz", {}, {}, {{"X-Big", std::string(20 * 1024, 'a')}}),
                431, "headers");
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 80; ++i) many.emplace_back(std::string("X-H").append(std::to_string(i)), "1");
  ExpectProblem(Http(port, "GET", "/healthz", {}, {}, many), 431, "headers");
  ExpectProblem(Http(port, "GET", "/healthz", {}, {}, {{"X-Long", std::string(9000, 'a')}}), 431,
                "x-long");
  // 400 naming the body: JSON nested deeper than max_json_depth, a string over
  // max_json_string_bytes.
  ExpectProblem(
      Http(port, "POST", path, std::string(100, '[') + std::string(100, ']'), "application/json"),
      400, "body");
  std::string long_string = R"({"responses":[{"instrument":")";
  long_string.append(70 * 1024, 'i').append(R"("}]})");
  ExpectProblem(Http(port, "POST", path, long_string, "application/json"), 400, "body");
  ExpectProblem(Http(port, "POST", path, "{\"responses\": [", "application/json"), 400, "body");
  // 415: not JSON.
  ExpectProblem(Http(port, "POST", path, "responses=1", "application/x-www-form-urlencoded"), 415,
                "content-type");
  // 400 for malformed requests, naming the part.
  ExpectProblem(Http(port, "GET", "/healthz?a=%zz"), 400, "query");
  ExpectProblem(testing::RawHttp(port, "GET /healthz HTTP/1.1\r\n\r\n"), 400, "host");
  ExpectProblem(testing::RawHttp(port,
                                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                400, "transfer-encoding");
  ExpectProblem(testing::RawHttp(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Field: 1\r\n\r\n"),
                400, "headers");
  ExpectProblem(
      Http(port, "POST", "/api/v1/checkins/not-a-token", "{\"responses\":[]}", "application/json"),
      404, "");

  // The server is still healthy after all of that.
  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(server.StopWith(SIGTERM, std::chrono::seconds(20)), 0);
}

TEST_F(Hardening, SecurityHeadersOnEveryResponseAndNoHstsWithoutTls) {
  testing::ServerProcess server(Demo());
  ASSERT_TRUE(server.started()) << server.output();
  const HttpResult ok = Http(server.port(), "GET", "/healthz");
  EXPECT_EQ(ok.status, 200);
  ExpectSecurityHeaders(ok);
  const HttpResult page = Http(server.port(), "GET", "/");
  EXPECT_EQ(page.status, 200);
  ExpectSecurityHeaders(page);
  const HttpResult missing = Http(server.port(), "GET", "/no/such/page");
  EXPECT_EQ(missing.status, 404);
  ExpectSecurityHeaders(missing);
  EXPECT_FALSE(ok.headers.contains("strict-transport-security"));
  // X-Forwarded-Proto is ignored unless the proxy is trusted.
  const HttpResult claimed =
      Http(server.port(), "GET", "/healthz", {}, {}, {{"X-Forwarded-Proto", "https"}});
  EXPECT_EQ(claimed.status, 200);
  EXPECT_FALSE(claimed.headers.contains("strict-transport-security"));
}

TEST_F(Hardening, BehindATrustedProxyHttpsRequestsGetHsts) {
  {
    // Create the demo database, then serve it as production would behind nginx.
    testing::ServerProcess demo(Demo());
    ASSERT_TRUE(demo.started()) << demo.output();
    EXPECT_EQ(Http(demo.port(), "GET", "/healthz").status, 200);
  }
  testing::ServerProcess server({testing::RapportBinary().string(), "serve", "--db",
                                 "sqlite:" + (dir_.path() / "rapport.db").string(),
                                 "--trust-proxy"});
  ASSERT_TRUE(server.started()) << server.output();
  const HttpResult https =
      Http(server.port(), "GET", "/healthz", {}, {},
           {{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-Proto", "https"}});
  EXPECT_EQ(https.status, 200);
  ExpectSecurityHeaders(https);
  ASSERT_TRUE(https.headers.contains("strict-transport-security"));
  EXPECT_NE(https.headers.at("strict-transport-security").find("max-age="), std::string::npos);
  // Errors carry it too.
  const HttpResult missing =
      Http(server.port(), "GET", "/nope", {}, {}, {{"X-Forwarded-Proto", "https"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.headers.contains("strict-transport-security"));
  const HttpResult plain =
      Http(server.port(), "GET", "/healthz", {}, {}, {{"X-Forwarded-Proto", "http"}});
  EXPECT_EQ(plain.status, 200);
  EXPECT_FALSE(plain.headers.contains("strict-transport-security"));
  EXPECT_FALSE(
      Http(server.port(), "GET", "/healthz").headers.contains("strict-transport-security"));
}

TEST_F(Hardening, SlowClientsAreCutOffAndIdleConnectionsClosed) {
  testing::ServerProcess server(Demo({"--read-timeout", "1", "--idle-timeout", "2"}));
  ASSERT_TRUE(server.started()) << server.output();

  // A request trickling in a byte every 200 ms never completes within the 1 s read timeout:
  // the server closes the connection without answering it.
  {
    testing::Connection slow(server.port());
    ASSERT_TRUE(slow.connected());
    const std::string request =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(60, 'p') +
        "\r\n\r\n";
    const auto start = std::chrono::steady_clock::now();
    size_t sent = 0;
    while (sent < request.size() && slow.Send(request.substr(sent, 1))) {
      ++sent;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const testing::Connection::Received rest = slow.ReadUntilClosed(std::chrono::seconds(10));
    EXPECT_TRUE(rest.closed);
    EXPECT_LT(sent, request.size()) << "the whole slow request was accepted";
    EXPECT_EQ(rest.bytes.find("200 OK"), std::string::npos) << rest.bytes;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  }

  // A client that connects and says nothing is disconnected too.
  {
    testing::Connection silent(server.port());
    ASSERT_TRUE(silent.connected());
    const testing::Connection::Received received = silent.ReadUntilClosed(std::chrono::seconds(10));
    EXPECT_TRUE(received.closed);
    EXPECT_TRUE(received.bytes.empty()) << received.bytes;
  }

  // A keep-alive connection is answered, kept open, and closed once idle for 2 s.
  {
    testing::Connection idle(server.port());
    ASSERT_TRUE(idle.connected());
    ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const auto start = std::chrono::steady_clock::now();
    const testing::Connection::Received received = idle.ReadUntilClosed(std::chrono::seconds(10));
    const auto open_for = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(testing::ParseHttpResponse(received.bytes).status, 200) << received.bytes;
    EXPECT_TRUE(received.closed);
    EXPECT_GE(open_for, std::chrono::milliseconds(1500)) << "closed before the idle timeout";
  }

  // A well-behaved client is still served.
  EXPECT_EQ(Http(server.port(), "GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace rapport
