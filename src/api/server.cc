#include "api/server.h"

// Boost 1.74 with g++ 12 needs <utility> before the Asio headers.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <exception>
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

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

// Converts a parsed Beast request into the transport-independent Request.
Result<Request> ToRequest(http::request<http::string_body>&& in, std::string remote) {
  Request request;
  request.method = std::string(in.method_string());
  const std::string_view target(in.target().data(), in.target().size());
  const size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) {
    RAPPORT_ASSIGN_OR_RETURN(const auto pairs, ParseFormEncoded(target.substr(question + 1)));
    for (const auto& [key, value] : pairs) request.query[key] = value;
  }
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[name] = std::string(field.value());
  }
  request.body = std::move(in.body());
  request.remote_address = std::move(remote);
  return request;
}

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
  void Read() {
    if (draining_) return Close();
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    stream_.expires_after(first_request_ ? server_.options.read_timeout
                                         : server_.options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    first_request_ = false;
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset || draining_) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return WriteResponse(
          ProblemResponse(413, "request body is larger than " +
                                   std::to_string(server_.options.max_body_bytes) + " bytes"),
          /*close=*/true);
    }
    if (ec == http::error::header_limit) {
      return WriteResponse(
          ProblemResponse(431, "request headers are larger than " +
                                   std::to_string(server_.options.max_header_bytes) + " bytes"),
          /*close=*/true);
    }
    if (ec) {
      if (ec.category() == beast::error_code(http::error::bad_target).category()) {
        return WriteResponse(ProblemResponse(400, "malformed HTTP request: " + ec.message()),
                             /*close=*/true);
      }
      return Close();
    }
    http::request<http::string_body> raw = parser_->release();
    keep_alive_ = raw.keep_alive();
    head_ = raw.method() == http::verb::head;
    auto request = ToRequest(std::move(raw), remote_);
    if (!request.ok()) return WriteResponse(ProblemResponse(request.status()), /*close=*/true);

    busy_ = true;
    // The work guard keeps the I/O loop alive while the handler runs on the other pool.
    net::post(server_.handlers, [self = shared_from_this(), request = std::move(request).value(),
                                 work = net::make_work_guard(server_.ioc)]() mutable {
      Response response;
      try {
        response = self->server_.router.Handle(request);
      } catch (const std::exception& e) {
        log::Error("handler threw", {{"path", request.path}, {"error", e.what()}});
        response = ProblemResponse(500, "an internal error occurred; it has been logged");
      }
      if (response.status >= 500) {
        log::Error(
            "request failed",
            {{"method", request.method}, {"path", request.path}, {"status", response.status}});
      }
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->WriteResponse(std::move(response), /*close=*/false);
      });
    });
  }

  void WriteResponse(Response response, bool close) {
    auto out = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    out->set(http::field::server, "Rapport");
    out->set(http::field::content_type, response.content_type);
    out->set(http::field::cache_control, "no-store");
    out->set("Content-Security-Policy", std::string(kContentSecurityPolicy));
    out->set("X-Content-Type-Options", "nosniff");
    out->set("X-Frame-Options", "DENY");
    out->set("Referrer-Policy", "no-referrer");
    for (auto& [name, value] : response.headers) out->set(name, value);
    out->keep_alive(keep_alive_ && !close && !draining_ && !server_.stopping.load());
    if (head_) {
      out->content_length(response.body.size());
    } else {
      out->body() = std::move(response.body);
      out->prepare_payload();
    }
    stream_.expires_after(server_.options.read_timeout);
    http::async_write(stream_, *out,
                      [self = shared_from_this(), out](beast::error_code ec, size_t) {
                        self->busy_ = false;
                        if (ec || !out->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_;
  bool keep_alive_ = false;
  bool head_ = false;
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

void Server::Run(bool handle_signals) {
  if (handle_signals) {
    impl_->signals.add(SIGINT);
    impl_->signals.add(SIGTERM);
    impl_->signals.async_wait([this](beast::error_code ec, int signal_number) {
      if (ec) return;
      log::Info("shutting down", {{"signal", signal_number}});
      Shutdown();
    });
  }
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
