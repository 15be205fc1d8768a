#include "api/request_parser.h"

// Boost 1.74 with g++ 12 needs <utility> before the Asio headers that Beast pulls in.
#include <utility>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

namespace rapport::api {

namespace http = boost::beast::http;

struct RequestParser::Impl {
  http::request_parser<http::string_body> parser;
  // The parser asked for more bytes of a chunk header (see kShortestLastChunk).
  bool chunk_header_pending = false;
};

namespace {

constexpr size_t kMaxFieldNameInMessage = 64;
// Beast 1.74's chunk parser, once it has seen the last chunk ("0\r\n") and asked for the rest
// (trailers and the final CRLF), asserts on being called again with fewer than 5 bytes from
// that chunk's start (a client sending "0\r\n" and then one byte trips it in debug builds).
// Every complete last chunk is at least "0\r\n\r\n", so waiting for 5 bytes loses nothing.
constexpr size_t kShortestLastChunk = 5;

std::string_view View(boost::beast::string_view text) { return {text.data(), text.size()}; }

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The last entry of a comma-separated list: the one the nearest (trusted) proxy added.
std::string_view LastListEntry(std::string_view list) {
  const size_t comma = list.rfind(',');
  return Trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
}

// An IPv4 or IPv6 literal as a proxy writes it; anything else is ignored.
bool LooksLikeAddress(std::string_view text) {
  if (text.size() < 2 || text.size() > 45) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':';
  });
}

RequestError Refusal(int http_status, std::string message, std::string field) {
  return RequestError{http_status, InvalidArgument(std::move(message), std::move(field)), false};
}

// The request the client's bytes ended in the middle of.
RequestError Incomplete() {
  return Refusal(400, "the request ended before it was complete", "request");
}

// Beast's parse errors, each naming the part of the request that is wrong.
RequestError FromBeastError(const boost::system::error_code& ec, const RequestLimits& limits) {
  if (ec == http::error::body_limit) {
    return Refusal(
        413, "request body is larger than " + std::to_string(limits.max_body_bytes) + " bytes",
        "body");
  }
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return Refusal(431,
                   "request line and headers are larger than " +
                       std::to_string(limits.max_header_bytes) + " bytes",
                   "headers");
  }
  if (ec == http::error::bad_method) return Refusal(400, "malformed request method", "method");
  if (ec == http::error::bad_target) return Refusal(400, "malformed request target", "target");
  if (ec == http::error::bad_version) return Refusal(400, "malformed HTTP version", "version");
  if (ec == http::error::bad_content_length) {
    return Refusal(400, "malformed or repeated Content-Length", "content-length");
  }
  if (ec == http::error::bad_transfer_encoding) {
    return Refusal(400, "Transfer-Encoding conflicts with Content-Length or is repeated",
                   "transfer-encoding");
  }
  if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension) {
    return Refusal(400, "malformed chunked body", "body");
  }
  if (ec == http::error::bad_field || ec == http::error::bad_value ||
      ec == http::error::bad_obs_fold) {
    return Refusal(400, "malformed header field", "headers");
  }
  return Refusal(400, "malformed HTTP request", "request");
}

bool Secure(const ConnectionInfo& connection, std::string_view forwarded_proto) {
  if (connection.tls) return true;
  return connection.trust_proxy && Lower(LastListEntry(forwarded_proto)) == "https";
}

// The path of an origin-form ("/a?b") or absolute-form ("http://host/a?b") target, with the
// query split off; empty when the target is of neither form.
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  if (!target.starts_with('/')) {
    const size_t separator = target.find("://");
    if (separator == std::string_view::npos) return {};
    const std::string scheme = Lower(target.substr(0, separator));
    if (scheme != "http" && scheme != "https") return {};
    target.remove_prefix(separator + 3);
    const size_t path_start = target.find_first_of("/?");
    target =
        path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
    if (target.starts_with('?')) {
      return {std::string_view("/"), target.substr(1)};
    }
  }
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

}  // namespace

Response ProblemResponse(const RequestError& error) {
  return ProblemResponse(error.http_status, error.status.message(), error.status.field());
}

RequestParser::RequestParser(RequestLimits limits, ConnectionInfo connection)
    : limits_(limits), connection_(std::move(connection)) {}

RequestParser::~RequestParser() = default;

void RequestParser::Append(std::string_view bytes) {
  if (refused_) return;
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

bool RequestParser::started() const {
  return consumed_ < buffer_.size() || (impl_ != nullptr && impl_->parser.got_some());
}

RequestParser::State RequestParser::Refuse(RequestError error) {
  refused_ = true;
  error_ = std::move(error);
  return State::kRefused;
}

RequestParser::State RequestParser::Parse() {
  if (refused_) return State::kRefused;
  if (ready_) return State::kComplete;
  if (impl_ == nullptr) {
    impl_ = std::make_unique<Impl>();
    impl_->parser.eager(true);
    impl_->parser.header_limit(static_cast<uint32_t>(
        std::min<size_t>(limits_.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    impl_->parser.body_limit(static_cast<uint64_t>(limits_.max_body_bytes));
  }
  auto& parser = impl_->parser;
  while (!parser.is_done()) {
    const size_t available = buffer_.size() - consumed_;
    if (available == 0) return State::kNeedMore;
    if (impl_->chunk_header_pending && available < kShortestLastChunk) return State::kNeedMore;
    // Beast checks its header limit only while the header is incomplete in what it is given:
    // a longer header that arrived at once would pass. Offering it no more than the limit
    // until the header is done refuses it however the bytes arrive (found by the fuzzer).
    const size_t offered =
        parser.is_header_done() ? available : std::min(available, limits_.max_header_bytes);
    boost::system::error_code ec;
    const size_t used =
        parser.put(boost::asio::const_buffer(buffer_.data() + consumed_, offered), ec);
    consumed_ += used;
    impl_->chunk_header_pending =
        ec == http::error::need_more && parser.is_header_done() && parser.chunked();
    if (ec == http::error::need_more && !parser.is_header_done() &&
        available >= limits_.max_header_bytes) {
      ec = http::error::header_limit;
    }
    if (ec == http::error::need_more) {
      // The header ended inside the bytes offered: parse on into those held back.
      if (offered < available && parser.is_header_done()) continue;
      return State::kNeedMore;
    }
    if (ec) {
      RequestError error = FromBeastError(ec, limits_);
      if (parser.is_header_done()) {
        error.secure = Secure(connection_, View(parser.get()["X-Forwarded-Proto"]));
      }
      return Refuse(std::move(error));
    }
  }

  http::request<http::string_body>& in = parser.get();
  Request request;
  request.remote_address = connection_.remote_address;
  request.method = std::string(in.method_string());
  request.secure = Secure(connection_, View(in["X-Forwarded-Proto"]));
  const auto refuse = [&](int http_status, std::string message, std::string field) {
    RequestError error = Refusal(http_status, std::move(message), std::move(field));
    error.secure = request.secure;
    return Refuse(std::move(error));
  };
  if (in.version() != 10 && in.version() != 11) {
    return refuse(400, "only HTTP/1.0 and HTTP/1.1 are served", "version");
  }

  const auto [path, query] = SplitTarget(View(in.target()));
  if (!path.starts_with('/')) {
    return refuse(400, "the request target must be a path such as /healthz", "target");
  }
  request.path = std::string(path);
  if (!query.empty()) {
    auto pairs = ParseFormEncoded(query);
    if (!pairs.ok()) return refuse(400, "query: " + pairs.status().message(), "query");
    for (auto& [key, value] : *pairs) request.query[std::move(key)] = std::move(value);
  }

  size_t count = 0;
  size_t hosts = 0;
  for (const auto& field : in) {
    std::string name = Lower(View(field.name_string()));
    const std::string_view value = View(field.value());
    if (++count > limits_.max_header_count) {
      return refuse(431, "more than " + std::to_string(limits_.max_header_count) + " header fields",
                    "headers");
    }
    if (name.size() + value.size() > limits_.max_header_field_bytes) {
      std::string shown = name.substr(0, kMaxFieldNameInMessage);
      return refuse(431,
                    "header field '" + shown + "' is larger than " +
                        std::to_string(limits_.max_header_field_bytes) + " bytes",
                    shown);
    }
    if (name == "host") ++hosts;
    auto [it, inserted] = request.headers.try_emplace(std::move(name), value);
    if (!inserted) {
      it->second.append(it->first == "cookie" ? "; " : ", ");
      it->second.append(value);
    }
  }
  if (hosts > 1 || (hosts == 0 && in.version() == 11)) {
    return refuse(400, "an HTTP/1.1 request needs exactly one Host header", "host");
  }
  if (request.headers.contains("transfer-encoding")) {
    if (request.headers.contains("content-length")) {
      return refuse(400, "Content-Length and Transfer-Encoding together are refused",
                    "transfer-encoding");
    }
    if (Lower(Trim(request.Header("transfer-encoding"))) != "chunked") {
      return refuse(400, "only the chunked transfer coding is accepted", "transfer-encoding");
    }
  }

  if (connection_.trust_proxy) {
    const std::string forwarded_for = request.Header("x-forwarded-for");
    const std::string_view client = LastListEntry(forwarded_for);
    if (LooksLikeAddress(client)) request.remote_address = std::string(client);
  }
  request.body = std::move(in.body());
  keep_alive_ = parser.keep_alive();
  ready_ = std::move(request);
  return State::kComplete;
}

RequestParser::State RequestParser::Finish() {
  if (refused_) return State::kRefused;
  if (ready_) return State::kComplete;
  if (!started()) return State::kNeedMore;
  return Refuse(Incomplete());
}

Request RequestParser::TakeRequest() {
  Request request = std::move(*ready_);
  ready_.reset();
  impl_.reset();
  return request;
}

ParsedRequest ParseRequest(std::string_view bytes, const RequestLimits& limits,
                           const ConnectionInfo& connection) {
  RequestParser parser(limits, connection);
  parser.Append(bytes);
  ParsedRequest out;
  RequestParser::State state = parser.Parse();
  if (state == RequestParser::State::kNeedMore) state = parser.Finish();
  if (state == RequestParser::State::kComplete) {
    out.request = parser.TakeRequest();
  } else if (state == RequestParser::State::kRefused) {
    out.error = parser.error();
  } else {
    out.error = Incomplete();
  }
  return out;
}

}  // namespace rapport::api
