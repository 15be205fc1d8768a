// Running the real `rapport` binary from integration tests: one-shot commands and a server
// child process on a loopback port, plus a minimal blocking HTTP/1.1 client.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `args` (args[0] is the program) to completion.
CommandResult RunCommand(const std::vector<std::string>& args);

// A `rapport serve`/`rapport demo` child. The constructor starts it with `--port 0` appended
// and waits until it prints the URL it serves on.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args);
  ~ServerProcess();  // SIGKILLs the child if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return port_ != 0; }
  int port() const { return port_; }
  const std::string& output() const { return output_; }
  // Sends `signal` and waits up to `timeout` for the exit; returns the exit status, -1 on timeout.
  int StopWith(int signal, std::chrono::seconds timeout);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string output_;
};

struct HttpResult {
  int status = 0;                              // 0: no response (connection refused or reset)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One request on a fresh connection to 127.0.0.1:port ("Connection: close").
HttpResult Http(int port, const std::string& method, const std::string& target,
                const std::string& body = {}, const std::string& content_type = {},
                const std::vector<std::pair<std::string, std::string>>& extra_headers = {});

// Parses the first HTTP/1.1 response in `bytes`; status 0 when there is none.
HttpResult ParseHttpResponse(const std::string& bytes);

// Sends `request` exactly as given on a fresh connection and reads until the server closes it
// (at most 30 s).
HttpResult RawHttp(int port, std::string_view request);

// A raw TCP connection to 127.0.0.1:port, for tests of the transport itself (slow clients,
// keep-alive, limits).
class Connection {
 public:
  explicit Connection(int port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends all of `bytes`; false when the server has closed or reset the connection.
  bool Send(std::string_view bytes);

  struct Received {
    std::string bytes;
    bool closed = false;  // the server closed (or reset) the connection
  };
  // Reads until the server closes the connection or `timeout` passes.
  Received ReadUntilClosed(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

}  // namespace rapport::testing
