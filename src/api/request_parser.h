// Reading HTTP/1.1 requests from the bytes of a connection into the transport-independent
// Request (http.h), within the server's limits. The server feeds it what the socket delivers;
// the fuzz target (request_parser_fuzz.cc) feeds it arbitrary bytes. Beast's parser does the
// tokenising inside request_parser.cc; this header stays cheap to include.
//
// Every refusal carries the HTTP status to answer with (400, 413 or 431; never a 5xx) and a
// message naming the part of the request that is wrong.
//
// Thread safety: a RequestParser belongs to one connection; it is not shared between threads.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"

namespace rapport::api {

struct RequestLimits {
  size_t max_body_bytes = 256 * 1024;  // larger bodies → 413 (field "body")
  // The request line and all header fields together → 431 (field "headers").
  size_t max_header_bytes = 16 * 1024;
  size_t max_header_count = 64;              // more header fields → 431 (field "headers")
  size_t max_header_field_bytes = 8 * 1024;  // one longer name and value → 431 (its name)
};

// What the transport knows of the connection a request arrived on.
struct ConnectionInfo {
  std::string remote_address;  // the peer's address
  bool tls = false;            // the connection itself is TLS
  // The peer is a reverse proxy the operator trusts (docs/operations.md): the client's address
  // is the last entry of X-Forwarded-For, and X-Forwarded-Proto: https marks the request secure.
  bool trust_proxy = false;
};

// Why a request was refused before it reached a handler.
struct RequestError {
  int http_status = 400;  // 400, 413 or 431
  Status status;          // kInvalidArgument; message and field name what is wrong
  // The request was secure (see Request::secure), as far as its header was read.
  bool secure = false;
};

// The problem+json answer to a refused request.
Response ProblemResponse(const RequestError& error);

// Parses the requests of one connection, one after another (pipelined bytes stay buffered).
//
// Guarantees for every request it yields: the method is an HTTP token; `path` starts with '/'
// (absolute-form targets are reduced to their path) and holds no query; `query` is
// percent-decoded; header names are lower-case tokens, at most `max_header_count` of them,
// repeated fields joined by ", " (Cookie by "; "); `body` is at most `max_body_bytes` and
// already de-chunked; `remote_address` and `secure` follow ConnectionInfo. A request with both
// Content-Length and Transfer-Encoding, with a transfer coding other than chunked, with no or
// several Host fields (HTTP/1.1), or of an HTTP version other than 1.0 and 1.1 is refused.
class RequestParser {
 public:
  enum class State {
    kNeedMore,  // no whole request buffered yet
    kComplete,  // a request is ready: TakeRequest()
    kRefused,   // the request is refused: error(); answer it and close the connection
  };

  RequestParser(RequestLimits limits, ConnectionInfo connection);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Buffers bytes received on the connection.
  void Append(std::string_view bytes);
  // Parses what is buffered.
  State Parse();
  // The peer will send nothing more: a request begun but unfinished is refused (400);
  // kNeedMore when nothing was pending.
  State Finish();
  // True when some bytes of a request not yet complete are buffered.
  bool started() const;

  // The request Parse() completed; the parser moves on to the next one.
  // REQUIRES: the last Parse() returned kComplete.
  Request TakeRequest();
  // Whether the connection may stay open after answering the last taken request.
  bool keep_alive() const { return keep_alive_; }
  // REQUIRES: the last Parse() or Finish() returned kRefused.
  const RequestError& error() const { return error_; }

  struct Impl;  // Beast's parser, inside request_parser.cc

 private:
  State Refuse(RequestError error);

  RequestLimits limits_;
  ConnectionInfo connection_;
  std::string buffer_;   // received bytes not yet consumed
  size_t consumed_ = 0;  // of buffer_
  std::unique_ptr<Impl> impl_;
  std::optional<Request> ready_;
  bool keep_alive_ = false;
  RequestError error_;
  bool refused_ = false;
};

// Parses `bytes` as everything a client sent on a connection before closing its side: the
// first request, or why it is refused. Used by tests and the fuzz target.
struct ParsedRequest {
  std::optional<Request> request;  // set when a whole request was read
  RequestError error;              // otherwise
};
ParsedRequest ParseRequest(std::string_view bytes, const RequestLimits& limits,
                           const ConnectionInfo& connection);

}  // namespace rapport::api
