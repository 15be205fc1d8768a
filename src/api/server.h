// The HTTP server: Boost.Beast on Asio (DESIGN.md §7). Asynchronous I/O on a few threads;
// handlers run on a separate pool so that a handler waiting for a durable commit never stalls
// the I/O. Bounded request sizes and timeouts on every connection; security headers on every
// response; graceful shutdown that finishes requests in flight. Requests are read by
// RequestParser (request_parser.h), the code path the http_request fuzz target exercises.
//
// Beast stays inside server.cc: this header is cheap to include.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/request_parser.h"
#include "api/router.h"
#include "base/status.h"

namespace rapport::api {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port
  // Sockets, parsing, and asynchronous handlers (router.h), which must not block for long.
  int io_threads = 2;
  // Handlers, which may block (a database read or write, a password hash).
  int handler_threads = 64;
  // Body (413), header (431) size and header count limits.
  RequestLimits limits;
  // A new connection must start its request within this, and every request must arrive whole
  // within this of its first byte: slower clients are disconnected. Also bounds writing a
  // response.
  std::chrono::seconds read_timeout{30};
  // A keep-alive connection that sends nothing for this long is closed.
  std::chrono::seconds idle_timeout{75};
  // Behind a reverse proxy that terminates TLS (docs/operations.md): trust its
  // X-Forwarded-For and X-Forwarded-Proto. Only when nothing else can reach the port.
  bool trust_proxy = false;
};

class Server {
 public:
  // REQUIRES: `router` outlives the server.
  Server(ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Errors: address in use or invalid → kUnavailable / kInvalidArgument.
  Status Listen();
  // The bound port (after Listen).
  uint16_t port() const;
  // From now on SIGTERM and SIGINT shut the server down (as Shutdown() does) once it runs,
  // including a signal that arrives before Run(). Call before announcing the server.
  void HandleSignals();
  // Serves until Shutdown() is called (or a signal arrives, after HandleSignals()); then stops
  // accepting, finishes requests in flight, closes idle connections and returns.
  void Run();
  // Thread safe; may be called from any thread or a signal-handling context of Asio.
  void Shutdown();

  struct Impl;  // defined in server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapport::api
