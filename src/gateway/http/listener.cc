#include "gateway/http/listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <charconv>
#include <csignal>
#include <exception>
#include <thread>

namespace nexus::gateway {
namespace {

using namespace std::chrono_literals;

std::string EndpointText(const tcp::endpoint& ep) {
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int n) {
  std::vector<std::unique_ptr<asio::io_context>> out;
  for (int i = 0; i < n; ++i) out.push_back(std::make_unique<asio::io_context>(1));
  return out;
}

// Logs the exception that ended a spawned coroutine, if one did.
auto LogIfThrown(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
    }
  };
}

}  // namespace

// The resolver would take "99999" and listen on 99999 mod 65536.
Result<std::pair<std::string, std::string>> SplitHostPort(const std::string& listen) {
  std::size_t colon = listen.rfind(':');
  const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535) {
    return InvalidArgumentError("gateway.listen '" + listen +
                                "' must be host:port with a port from 0 to 65535");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, port);
}

Listener::Listener(const Pipeline& pipeline, ServerOptions options)
    : options_(std::move(options)),
      threads_(options_.threads > 0 ? options_.threads
                                    : std::max(1u, std::thread::hardware_concurrency())),
      contexts_(MakeContexts(threads_)),
      control_(*contexts_[0]),
      acceptor_(control_),
      signals_(control_),
      grace_timer_(control_),
      sessions_{pipeline, options_, stopping_, *this} {
  for (auto& ctx : contexts_) keep_running_.push_back(asio::make_work_guard(*ctx));
}

void Listener::Stop() {
  asio::post(control_, [this] { BeginShutdown(); });
}

Result<std::string> Listener::Listen() {
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    auto tls = TlsCredentials::Load(options_.tls_cert, options_.tls_key);
    if (!tls.ok()) return tls.status();
    tls_ = std::move(tls).value();
  }
  auto hp = SplitHostPort(options_.listen);
  if (!hp.ok()) return hp.status();
  const auto& [host, port] = *hp;
  beast::error_code ec;
  tcp::resolver resolver(control_);
  auto results = resolver.resolve(host, port, tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return InvalidArgumentError("resolve listen address '" + options_.listen +
                                "': " + (ec ? ec.message() : "no address"));
  }
  tcp::endpoint ep = results.begin()->endpoint();
  auto fail = [&](const char* what) {
    return UnavailableError(std::string(what) + " " + EndpointText(ep) + ": " + ec.message());
  };
  acceptor_.open(ep.protocol(), ec);
  if (ec) return fail("open socket for");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on");
  acceptor_.bind(ep, ec);
  if (ec) return fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return fail("read bound address of");
  return EndpointText(bound);
}

bool Listener::Run() {
  if (options_.handle_signals) {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    // Caught even without TLS: `systemctl reload` must not end the gateway.
    signals_.add(SIGHUP);
    WaitForSignal();
  }
  // The acceptor is already bound (Listen), so nothing in the loop's start
  // can fail silently; its own failures are logged here.
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(this), LogIfThrown("accept loop ended"));

  auto run = [](asio::io_context& ctx) {
    for (;;) {
      try {
        ctx.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("I/O thread: unhandled exception: {}", e.what());
      }
    }
  };
  std::vector<std::thread> extra;
  for (int i = 1; i < threads_; ++i) extra.emplace_back(run, std::ref(*contexts_[i]));
  run(*contexts_[0]);
  for (auto& t : extra) t.join();
  return !abandoned_.load();
}

void Listener::WaitForSignal() {
  signals_.async_wait([this](const beast::error_code& ec, int signo) {
    if (ec) return;
    if (signo != SIGHUP) {
      spdlog::info("signal {}: shutting down", signo);
      BeginShutdown();
      return;
    }
    if (!tls_) {
      spdlog::info("SIGHUP: no TLS files to re-read");
    } else if (Status s = tls_->Reload(); !s.ok()) {
      spdlog::error("SIGHUP: keeping the current TLS certificate: {}", s.ToString());
    } else {
      spdlog::info("SIGHUP: TLS certificate and key re-read; new connections use them");
    }
    WaitForSignal();
  });
}

uint64_t Listener::Register(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  connections_.emplace(id, conn);
  return id;
}

void Listener::SessionEnded(uint64_t id) {
  bool last = false;
  {
    std::lock_guard lock(mu_);
    connections_.erase(id);
    last = connections_.empty();
  }
  if (last && stopping_.load()) {
    asio::post(control_, [this] { grace_timer_.cancel(); });
  }
}

void Listener::BeginShutdown() {
  if (stopping_.exchange(true)) return;
  beast::error_code ignored;
  signals_.cancel(ignored);
  acceptor_.close(ignored);
  // Each context now ends when its last connection does.
  keep_running_.clear();
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : connections_) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  // Idle connections are closed now; busy ones notice stopping_ after their
  // response and close themselves.
  for (auto& c : open) {
    asio::post(c->stream.get_executor(), [c] {
      if (c->idle) c->stream.cancel();
    });
  }
  if (open.empty()) return;
  grace_timer_.expires_after(options_.shutdown_grace);
  grace_timer_.async_wait([this](const beast::error_code& ec) {
    if (ec) return;  // cancelled: the last connection finished in time
    std::size_t left = 0;
    {
      std::lock_guard lock(mu_);
      left = connections_.size();
    }
    if (left == 0) return;
    spdlog::warn("{} connection(s) still busy after the shutdown grace period; abandoning them",
                 left);
    abandoned_ = true;
    for (auto& ctx : contexts_) ctx->stop();
  });
}

asio::awaitable<void> Listener::AcceptLoop(Listener* self) {
  for (;;) {
    asio::io_context& home = *self->contexts_[self->next_context_++ % self->contexts_.size()];
    auto [ec, socket] = co_await self->acceptor_.async_accept(home, kTupleAwaitable);
    if (ec) {
      if (self->stopping_.load() || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept: {}", ec.message());
      // Out of file descriptors and similar: wait a little instead of spinning.
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer pause(executor, 50ms);
      co_await pause.async_wait(kTupleAwaitable);
      continue;
    }
    if (self->stopping_.load()) co_return;
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto conn = std::make_shared<Connection>(tcp::socket(std::move(socket)), self->options_,
                                             self->tls_ ? self->tls_->Current() : nullptr);
    uint64_t id = self->Register(conn);
    // The completion handler holds the connection, and so its request id
    // cell, until the last function the executor runs (request_executor.h).
    RequestIdExecutor<asio::io_context::executor_type> executor(home.get_executor(),
                                                                &conn->request_id);
    asio::co_spawn(
        executor, ServeConnection(self->sessions_, conn, id),
        [conn, log = LogIfThrown("session ended by exception")](std::exception_ptr e) { log(e); });
  }
}

}  // namespace nexus::gateway
