// libFuzzer target for reading requests off a connection (request_parser.h), the server's own
// code path. Arbitrary bytes must yield a request that keeps the parser's guarantees or a
// 400/413/431 refusal naming what is wrong; never a crash, a hang or undefined behaviour.
// The same bytes fed in pieces (as a socket delivers them) must give the same outcome.
//
// The first byte picks the set-up: bit 0 trusts a proxy, bit 1 marks the connection TLS,
// bit 2 selects small limits (so that the fuzzer reaches them), bits 3-7 where to split.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/request_parser.h"

namespace {

using rapport::api::ConnectionInfo;
using rapport::api::ParsedRequest;
using rapport::api::Request;
using rapport::api::RequestError;
using rapport::api::RequestLimits;
using rapport::api::RequestParser;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

bool IsTokenChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
}

void CheckRequest(const Request& request, const RequestLimits& limits,
                  const ConnectionInfo& connection) {
  Check(!request.method.empty(), "method is empty");
  for (const char c : request.method) Check(IsTokenChar(c), "method is not a token");
  Check(request.path.starts_with('/'), "path does not start with '/'");
  Check(request.path.find('?') == std::string::npos, "path holds the query");
  Check(request.headers.size() <= limits.max_header_count, "too many headers");
  for (const auto& [name, value] : request.headers) {
    Check(!name.empty(), "empty header name");
    for (const char c : name) {
      Check(IsTokenChar(c) && !(c >= 'A' && c <= 'Z'), "header name not a lower-case token");
    }
  }
  Check(request.body.size() <= limits.max_body_bytes, "body over the limit");
  if (!connection.trust_proxy) {
    Check(request.remote_address == connection.remote_address, "untrusted remote address used");
    Check(request.secure == connection.tls, "secure without TLS or a trusted proxy");
  }
  if (connection.tls) Check(request.secure, "TLS request not secure");
  Check(request.params.empty(), "path parameters before routing");
}

void CheckError(const RequestError& error) {
  Check(error.http_status == 400 || error.http_status == 413 || error.http_status == 431,
        "refusal status not 400, 413 or 431");
  Check(!error.status.ok() && !error.status.message().empty(), "refusal without a message");
  Check(!error.status.field().empty(), "refusal names no field");
  const rapport::api::Response problem = rapport::api::ProblemResponse(error);
  Check(problem.status == error.http_status, "problem status differs");
  Check(problem.content_type == "application/problem+json", "problem is not problem+json");
  const nlohmann::json body = nlohmann::json::parse(problem.body, nullptr, false);
  Check(body.is_object() && body.contains("detail"), "problem without detail");
}

bool SameRequest(const Request& a, const Request& b) {
  return a.method == b.method && a.path == b.path && a.query == b.query && a.headers == b.headers &&
         a.body == b.body && a.remote_address == b.remote_address && a.secure == b.secure;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t setup = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  RequestLimits limits;
  if ((setup & 4) != 0) {
    limits.max_body_bytes = 64;
    limits.max_header_bytes = 256;
    limits.max_header_count = 4;
    limits.max_header_field_bytes = 48;
  }
  const ConnectionInfo connection{"192.0.2.1", (setup & 2) != 0, (setup & 1) != 0};

  // All at once, as a client that sends everything and closes.
  const ParsedRequest whole = rapport::api::ParseRequest(bytes, limits, connection);
  if (whole.request) {
    CheckRequest(*whole.request, limits, connection);
  } else {
    CheckError(whole.error);
  }

  // In pieces of a size the set-up picks, then every further pipelined request.
  const size_t piece = 1 + (setup >> 3) * 7;
  RequestParser parser(limits, connection);
  size_t offset = 0;
  bool first = true;
  for (int requests = 0; requests < 64; ++requests) {
    RequestParser::State state = parser.Parse();
    while (state == RequestParser::State::kNeedMore && offset < bytes.size()) {
      const size_t n = std::min(piece, bytes.size() - offset);
      parser.Append(bytes.substr(offset, n));
      offset += n;
      state = parser.Parse();
    }
    if (state == RequestParser::State::kNeedMore) state = parser.Finish();
    if (state == RequestParser::State::kNeedMore) {
      // Only a connection that sent nothing has no first request.
      Check(!first || bytes.empty(), "no outcome for the first request");
      break;
    }
    if (state == RequestParser::State::kRefused) {
      CheckError(parser.error());
      if (first) {
        Check(!whole.request, "refused in pieces, accepted whole");
        // A request both malformed and over the header limit may be refused for either,
        // depending on how much of it had arrived; otherwise the refusal is the same.
        const int pieces_status = parser.error().http_status;
        Check(pieces_status == whole.error.http_status || pieces_status == 431 ||
                  whole.error.http_status == 431,
              "another refusal in pieces than whole");
      }
      break;
    }
    const Request request = parser.TakeRequest();
    CheckRequest(request, limits, connection);
    if (first) {
      Check(whole.request && SameRequest(request, *whole.request),
            "another request in pieces than whole");
    }
    first = false;
  }
  return 0;
}
