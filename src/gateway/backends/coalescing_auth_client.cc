#include "gateway/backends/coalescing_auth_client.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <vector>

#include "gateway/http/posting_resumer.h"

namespace nexus::gateway {

struct CoalescingAuthClient::Flight {
  std::mutex mu;
  std::optional<Result<authpb::ValidateTokenResponse>> result;  // guarded by mu
  std::vector<std::function<void()>> waiters;                   // guarded by mu; each posts
};

namespace {

using Flight = CoalescingAuthClient::Flight;

// async_initiate initiation: waits for `flight` to land (at once if it has).
// The flight completes on the leader's thread; each waiter resumes on its
// own executor.
struct JoinFlight {
  std::shared_ptr<Flight> flight;

  template <typename Handler>
  void operator()(Handler handler) {
    std::function<void()> resume = PostingResumer(std::move(handler));
    {
      std::lock_guard lock(flight->mu);
      if (!flight->result) {
        flight->waiters.push_back(std::move(resume));
        return;
      }
    }
    resume();
  }
};

asio::awaitable<Result<authpb::ValidateTokenResponse>> WaitFor(std::shared_ptr<Flight> flight) {
  // A named local, not a braced temporary in the co_await (GCC 12 pitfall).
  JoinFlight join{flight};
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(std::move(join),
                                                                        asio::use_awaitable);
  std::lock_guard lock(flight->mu);
  co_return *flight->result;
}

}  // namespace

void CoalescingAuthClient::Detach(const std::string& token) {
  std::lock_guard lock(mu_);
  flights_.erase(token);
}

asio::awaitable<Result<authpb::ValidateTokenResponse>> CoalescingAuthClient::ValidateToken(
    authpb::ValidateTokenRequest request) {
  const std::string token = request.token();
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<Flight>& slot = flights_[token];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (!leader) {
    auto wait = WaitFor(flight);
    Result<authpb::ValidateTokenResponse> joined = co_await std::move(wait);
    co_return joined;
  }

  Result<authpb::ValidateTokenResponse> result = InternalError("ValidateToken did not complete");
  try {
    result = co_await inner_.ValidateToken(std::move(request));
  } catch (const std::exception& e) {
    result = InternalError(std::string("ValidateToken: ") + e.what());
  }
  {
    // Out of the table first: a request arriving from now on starts anew.
    std::lock_guard lock(mu_);
    auto it = flights_.find(token);
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
  }
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(flight->mu);
    flight->result = result;
    waiters.swap(flight->waiters);
  }
  for (auto& resume : waiters) resume();
  co_return result;
}

asio::awaitable<Result<authpb::LogoutResponse>> CoalescingAuthClient::Logout(
    authpb::LogoutRequest request) {
  const std::string token = request.token();
  Detach(token);
  Result<authpb::LogoutResponse> r = co_await inner_.Logout(std::move(request));
  Detach(token);
  co_return r;
}

}  // namespace nexus::gateway
