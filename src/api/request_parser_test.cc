#include "api/request_parser.h"

#include <gtest/gtest.h>

namespace rapport::api {
namespace {

const ConnectionInfo kDirect{"198.51.100.7", false, false};
const ConnectionInfo kBehindProxy{"127.0.0.1", false, true};

ParsedRequest Parse(std::string_view bytes, RequestLimits limits = {},
                    const ConnectionInfo& connection = kDirect) {
  return ParseRequest(bytes, limits, connection);
}

TEST(RequestParser, ReadsMethodPathDecodedQueryHeadersAndBody) {
  const ParsedRequest parsed = Parse(
      "POST /c/abc?lang=es&q=a%20b+c HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
      "X-Two: 1\r\nx-two: 2\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(parsed.request.has_value()) << parsed.error.status.ToString();
  const Request& request = *parsed.request;
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/c/abc");
  EXPECT_EQ(request.query.at("lang"), "es");
  EXPECT_EQ(request.query.at("q"), "a b c");
  EXPECT_EQ(request.Header("content-type"), "text/plain");
  EXPECT_EQ(request.Header("x-two"), "1, 2");
  EXPECT_EQ(request.body, "hello");
  EXPECT_EQ(request.remote_address, "198.51.100.7");
  EXPECT_FALSE(request.secure);
}

TEST(RequestParser, ReducesAnAbsoluteTargetToItsPath) {
  const ParsedRequest parsed =
      Parse("GET http://example.org/healthz?a=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(parsed.request.has_value());
  EXPECT_EQ(parsed.request->path, "/healthz");
  EXPECT_EQ(parsed.request->query.at("a"), "1");
}

TEST(RequestParser, RefusesATargetThatIsOnlyASchemeName) {
  // "http" without "://" once read past the end of the target (found by the fuzzer).
  for (const char* target : {"http", "https", "HTTP:/x", "http:"}) {
    const ParsedRequest parsed =
        Parse(std::string("DELETE ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_FALSE(parsed.request.has_value()) << target;
    EXPECT_EQ(parsed.error.http_status, 400) << target;
    EXPECT_EQ(parsed.error.status.field(), "target") << target;
  }
}

TEST(RequestParser, ParsesOnIntoTheBodyWhenHeaderAndBodyArriveTogetherBeyondTheHeaderLimit) {
  // The parser offers Beast at most max_header_bytes until the header is done; when the header
  // ends inside that window and the window ends inside a chunk header, it must go on into the
  // bytes it already holds rather than wait for more that never come (found by the fuzzer).
  RequestLimits limits;
  limits.max_header_bytes = 256;
  std::string chunks;
  for (int i = 0; i < 12; ++i) chunks += "1\r\na\r\n";
  chunks += "0\r\n\r\n";
  for (size_t pad = 150; pad <= 191; ++pad) {  // header up to the limit
    const std::string bytes =
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Pad: " +
        std::string(pad, 'p') + "\r\n\r\n" + chunks;
    const ParsedRequest parsed = Parse(bytes, limits);
    ASSERT_TRUE(parsed.request.has_value()) << pad << ": " << parsed.error.status.ToString();
    EXPECT_EQ(parsed.request->body, std::string(12, 'a')) << pad;
  }
}

TEST(RequestParser, JoinsChunkedBodies) {
  const ParsedRequest parsed = Parse(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(parsed.request.has_value()) << parsed.error.status.ToString();
  EXPECT_EQ(parsed.request->body, "abcde");
}

void ExpectRefused(const ParsedRequest& parsed, int http_status, const std::string& field) {
  ASSERT_FALSE(parsed.request.has_value());
  EXPECT_EQ(parsed.error.http_status, http_status) << parsed.error.status.ToString();
  EXPECT_EQ(parsed.error.status.field(), field) << parsed.error.status.ToString();
  EXPECT_FALSE(parsed.error.status.message().empty());
}

TEST(RequestParser, RefusesBodiesOverTheLimitWith413) {
  RequestLimits limits;
  limits.max_body_bytes = 4;
  ExpectRefused(Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", limits), 413,
                "body");
  ExpectRefused(Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
                      limits),
                413, "body");
}

TEST(RequestParser, RefusesLargeOrManyHeadersWith431) {
  RequestLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_header_count = 4;
  limits.max_header_field_bytes = 100;
  ExpectRefused(
      Parse("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", limits),
      431, "headers");
  // Regression (found by http_request_fuzz): a header just over the limit that arrives at once.
  ExpectRefused(Parse("GET /" + std::string(1000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", limits),
                431, "headers");
  ExpectRefused(Parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", limits),
                431, "headers");
  ExpectRefused(
      Parse("GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(200, 'a') + "\r\n\r\n", limits),
      431, "x-long");
}

TEST(RequestParser, RefusesMalformedRequestsWith400NamingThePart) {
  ExpectRefused(Parse("GET / HTTP/1.1\r\n\r\n"), 400, "host");
  ExpectRefused(Parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "host");
  ExpectRefused(Parse("GET /?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "query");
  ExpectRefused(Parse("GET nowhere HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "target");
  ExpectRefused(Parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 400, "version");
  ExpectRefused(
      Parse(
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
      400, "transfer-encoding");
  ExpectRefused(Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"), 400,
                "transfer-encoding");
  ExpectRefused(Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort"), 400,
                "request");
  ExpectRefused(Parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400, "headers");
  ExpectRefused(Parse(""), 400, "request");
}

TEST(RequestParser, ReadsPipelinedRequestsDeliveredInPieces) {
  const std::string bytes =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  RequestParser parser({}, kDirect);
  std::vector<Request> requests;
  for (const char c : bytes) {
    parser.Append(std::string_view(&c, 1));
    if (parser.Parse() == RequestParser::State::kComplete) requests.push_back(parser.TakeRequest());
    if (requests.size() == 1) {
      EXPECT_TRUE(parser.keep_alive());
    }
  }
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].path, "/a");
  EXPECT_EQ(requests[1].path, "/b");
  EXPECT_EQ(requests[1].body, "ok");
  EXPECT_FALSE(parser.keep_alive());
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.Finish(), RequestParser::State::kNeedMore);
}

// Regression (found by http_request_fuzz): Beast 1.74 asserted when the last chunk arrived as
// "0\r\n" and then one more byte.
TEST(RequestParser, ReadsTheLastChunkArrivingByteByByte) {
  RequestParser parser({}, kDirect);
  parser.Append("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n");
  EXPECT_EQ(parser.Parse(), RequestParser::State::kNeedMore);
  for (const char c : std::string_view("X: 1\r\n\r\n")) {
    EXPECT_EQ(parser.Parse(), RequestParser::State::kNeedMore);
    parser.Append(std::string_view(&c, 1));
  }
  ASSERT_EQ(parser.Parse(), RequestParser::State::kComplete);
  EXPECT_EQ(parser.TakeRequest().body, "a");
}

TEST(RequestParser, TrustsForwardedHeadersOnlyFromATrustedProxy) {
  const std::string bytes =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.9.9.9, 203.0.113.5\r\n"
      "X-Forwarded-Proto: https\r\n\r\n";
  const ParsedRequest direct = Parse(bytes);
  ASSERT_TRUE(direct.request.has_value());
  EXPECT_EQ(direct.request->remote_address, "198.51.100.7");
  EXPECT_FALSE(direct.request->secure);

  const ParsedRequest proxied = Parse(bytes, {}, kBehindProxy);
  ASSERT_TRUE(proxied.request.has_value());
  EXPECT_EQ(proxied.request->remote_address, "203.0.113.5");
  EXPECT_TRUE(proxied.request->secure);

  const ParsedRequest plain = Parse(
      "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: <script>\r\nX-Forwarded-Proto: http\r\n\r\n",
      {}, kBehindProxy);
  ASSERT_TRUE(plain.request.has_value());
  EXPECT_EQ(plain.request->remote_address, "127.0.0.1");
  EXPECT_FALSE(plain.request->secure);

  const ParsedRequest tls = Parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", {}, {"::1", true, false});
  ASSERT_TRUE(tls.request.has_value());
  EXPECT_TRUE(tls.request->secure);
}

TEST(RequestParser, RefusalsAnswerAsProblemJson) {
  RequestLimits limits;
  limits.max_body_bytes = 1;
  const ParsedRequest parsed =
      Parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n", limits);
  const Response response = ProblemResponse(parsed.error);
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.content_type, "application/problem+json");
  EXPECT_NE(response.body.find("\"field\":\"body\""), std::string::npos) << response.body;
}

}  // namespace
}  // namespace rapport::api
