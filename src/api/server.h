// The HTTP server: Boost.Beast on Asio (DESIGN.md §7). Asynchronous I/O on a few threads;
// handlers run on a separate pool so that a handler waiting for a durable commit never stalls
// the I/O. Bounded request sizes and timeouts on every connection; security headers on every
// response; graceful shutdown that finishes requests in flight.
//
// Beast stays inside server.cc: this header is cheap to include.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/router.h"
#include "base/status.h"

namespace rapport::api {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port
  int io_threads = 2;
  int handler_threads = 64;
  size_t max_body_bytes = 256 * 1024;     // larger bodies → 413
  size_t max_header_bytes = 16 * 1024;    // larger headers → 431
  std::chrono::seconds read_timeout{30};  // a request must arrive within this (slow clients)
  std::chrono::seconds idle_timeout{75};  // keep-alive connections idle longer are closed
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
  // Serves until Shutdown() is called or SIGTERM/SIGINT arrives (when `handle_signals`);
  // then stops accepting, finishes requests in flight, closes idle connections and returns.
  void Run(bool handle_signals);
  // Thread safe; may be called from any thread or a signal-handling context of Asio.
  void Shutdown();

  struct Impl;  // defined in server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapport::api
