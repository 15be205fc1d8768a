#include "api/server.h"

// Boost 1.74 with g++ 12 needs <utility> before the Asio headers.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "base/log.h"

namespace rapport::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Bytes read from a socket at a time.
constexpr size_t kReadChunk = 16 * 1024;
// After refusing a request, its remaining bytes are read and dropped before closing, so that
// the client sees the answer rather than a connection reset: for at most kLingerTotal, and
// only while the client keeps sending within kLingerQuiet.
constexpr std::chrono::seconds kLingerTotal{2};
constexpr std::chrono::milliseconds kLingerQuiet{300};

}  // namespace

class Session;

struct Server::Impl {
  Impl(ServerOptions opts, const Router& r)
      : options(std::move(opts)),
        router(r),
        ioc(options.io_threads),
        handlers(static_cast<size_t>(options.handler_threads)),
        acceptor(net::make_strand(ioc)),
        signals(ioc) {}

  void Accept();
  void Register(const std::shared_ptr<Session>& session);
  void Shutdown();

  ServerOptions options;
  const Router& router;
  net::io_context ioc;
  net::thread_pool handlers;
  tcp::acceptor acceptor;
  net::signal_set signals;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::list<std::weak_ptr<Session>> sessions;
  uint16_t bound_port = 0;
};

// One connection. All members are touched only on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // Closes the connection once its current request, if any, has been answered.
  void Drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      if (!self->busy_) self->Close();
    });
  }

 private:
  // Reads the next request: from bytes already buffered (pipelining), else from the socket.
  void Read() {
    if (draining_) return Close();
    if (!parser_) {
      parser_.emplace(server_.options.limits,
                      ConnectionInfo{remote_, false, server_.options.trust_proxy});
    }
    // A request begun must arrive whole within the read timeout; between requests a
    // keep-alive connection may idle for the idle timeout.
    const bool waiting = !first_request_ && !parser_->started();
    stream_.expires_after(waiting ? server_.options.idle_timeout : server_.options.read_timeout);
    Continue();
  }

  void Continue() {
    switch (parser_->Parse()) {
      case RequestParser::State::kComplete: return Dispatch(parser_->TakeRequest());
      case RequestParser::State::kRefused: return Refuse();
      case RequestParser::State::kNeedMore: break;
    }
    stream_.async_read_some(net::buffer(read_buffer_),
                            beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t bytes) {
    if (draining_) return Close();
    if (ec == net::error::eof) {
      if (parser_->Finish() == RequestParser::State::kRefused) return Refuse();
      return Close();
    }
    // Timeouts (the stream closed the socket), resets and aborts: nothing more to say.
    if (ec) return Close();
    if (!parser_->started()) {
      // The first bytes of a request after an idle wait: the read timeout starts now.
      stream_.expires_after(server_.options.read_timeout);
    }
    first_request_ = false;
    parser_->Append(std::string_view(read_buffer_.data(), bytes));
    Continue();
  }

  // Answers a request the parser refused, then closes the connection.
  void Refuse() {
    const RequestError& error = parser_->error();
    secure_ = error.secure;
    head_ = false;
    keep_alive_ = false;
    WriteResponse(ProblemResponse(error), /*refused=*/true);
  }

  void Dispatch(Request request) {
    first_request_ = false;
    keep_alive_ = parser_->keep_alive();
    head_ = request.method == "HEAD";
    secure_ = request.secure;
    busy_ = true;
    // Handlers run on the handler pool, asynchronous ones here; either way the answer comes
    // back to this connection's strand. The work guard keeps the I/O loop alive until then,
    // while nothing of this connection is waiting on a socket.
    server_.router.Dispatch(
        std::move(request),
        /*blocking=*/
        [this](std::function<void()> work) { net::post(server_.handlers, std::move(work)); },
        /*post=*/[this](std::function<void()> work) { net::post(server_.ioc, std::move(work)); },
        /*respond=*/
        [self = shared_from_this(), work = net::make_work_guard(server_.ioc)](Response response) {
          net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
            self->WriteResponse(std::move(response), /*refused=*/false);
          });
        });
  }

  void WriteResponse(Response response, bool refused) {
    auto out = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    out->set(http::field::server, "Rapport");
    out->set(http::field::content_type, response.content_type);
    out->set(http::field::cache_control, "no-store");
    for (auto& [name, value] : SecurityHeaders(secure_)) out->set(name, value);
    for (auto& [name, value] : response.headers) out->set(name, value);
    out->keep_alive(keep_alive_ && !refused && !draining_ && !server_.stopping.load());
    if (head_) {
      out->content_length(response.body.size());
    } else {
      out->body() = std::move(response.body);
      out->prepare_payload();
    }
    stream_.expires_after(server_.options.read_timeout);
    http::async_write(stream_, *out,
                      [self = shared_from_this(), out, refused](beast::error_code ec, size_t) {
                        self->busy_ = false;
                        if (refused && !ec) return self->Linger();
                        if (ec || !out->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  // Stops sending, then reads and drops what the client still sends (the rest of a refused
  // body) until it closes or pauses, and closes.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger_until_ = std::chrono::steady_clock::now() + kLingerTotal;
    Discard();
  }

  void Discard() {
    if (std::chrono::steady_clock::now() >= linger_until_) return Close();
    stream_.expires_after(kLingerQuiet);
    stream_.async_read_some(net::buffer(read_buffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Discard();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  std::array<char, kReadChunk> read_buffer_;
  std::optional<RequestParser> parser_;
  std::string remote_;
  bool keep_alive_ = false;
  bool head_ = false;
  bool secure_ = false;
  std::chrono::steady_clock::time_point linger_until_;
  bool busy_ = false;
  bool draining_ = false;
  bool first_request_ = true;
};

void Server::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping.load() || !acceptor.is_open()) return;
    if (!ec) {
      auto session = std::make_shared<Session>(std::move(socket), *this);
      Register(session);
      session->Start();
    }
    Accept();
  });
}

void Server::Impl::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mutex);
  sessions.remove_if([](const std::weak_ptr<Session>& weak) { return weak.expired(); });
  sessions.push_back(session);
}

void Server::Impl::Shutdown() {
  if (stopping.exchange(true)) return;
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
  });
  net::post(ioc, [this] {
    beast::error_code ignored;
    signals.cancel(ignored);
  });
  std::lock_guard lock(sessions_mutex);
  for (const auto& weak : sessions) {
    if (auto session = weak.lock()) session->Drain();
  }
}

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() { impl_->handlers.join(); }

Status Server::Listen() {
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.address, ec);
  if (ec)
    return InvalidArgument("invalid listen address '" + impl_->options.address + "'", "address");
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec)
    return Unavailable("cannot open socket: " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    return Unavailable("cannot listen on " + impl_->options.address + ":" +
                       std::to_string(impl_->options.port) + ": " + ec.message());
  }
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    return Unavailable("cannot listen: " + ec.message());
  }
  impl_->bound_port = acceptor.local_endpoint().port();
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->bound_port; }

void Server::HandleSignals() {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([this](beast::error_code ec, int signal_number) {
    if (ec) return;
    log::Info("shutting down", {{"signal", signal_number}});
    Shutdown();
  });
}

void Server::Run() {
  impl_->Accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->options.io_threads; ++i) {
    threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->ioc.run();
  for (auto& thread : threads) thread.join();
  impl_->handlers.join();
}

void Server::Shutdown() { impl_->Shutdown(); }

}  // namespace rapport::api
