// The request id through the real server: two requests served at once by
// one I/O thread each see their own id after waits the other request's work
// filled (server_rig.h has the client and the fixture).
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "common/logging.h"
#include "unit/gateway/http/server_rig.h"

namespace nexus::gateway {
namespace {

using namespace server_rig;

// Notes the thread's request id, waits (a timer, not a backend call) until
// `*arrived` says the other request has started too, and answers with what
// it saw: its own id each time, if the id travels with the request.
asio::awaitable<Result<Response>> MeetTheOther(Request& req, int* arrived) {
  const std::string at_entry = CurrentRequestId();
  ++*arrived;  // one I/O thread: no race
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < 2000 && *arrived < 2; ++i) {
    timer.expires_after(1ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  const std::string after_wait = CurrentRequestId();
  co_return JsonResponse(200, "{\"own\":\"" + req.request_id + "\",\"entry\":\"" + at_entry +
                                  "\",\"after\":\"" + after_wait + "\"}");
}

TEST_F(ServerTest, ConcurrentRequestsOnOneThreadEachKeepTheirOwnId) {
  int arrived = 0;
  router_.Add("GET", "/meet", {}, [&arrived](Request& r) { return MeetTheOther(r, &arrived); });
  Start();  // one I/O thread
  Client one(port_);
  Client two(port_);
  one.Send("GET /meet HTTP/1.1\r\nHost: x\r\nX-Request-Id: request-one\r\n\r\n");
  two.Send("GET /meet HTTP/1.1\r\nHost: x\r\nX-Request-Id: request-two\r\n\r\n");
  EXPECT_EQ(Body(one.ReadResponse()),
            R"({"own":"request-one","entry":"request-one","after":"request-one"})");
  EXPECT_EQ(Body(two.ReadResponse()),
            R"({"own":"request-two","entry":"request-two","after":"request-two"})");
  EXPECT_EQ(arrived, 2);
}

// Between requests a connection works for none: nothing of an earlier
// request's id is left for the next one to inherit.
TEST_F(ServerTest, AKeptAliveConnectionsNextRequestHasItsOwnId) {
  int arrived = 1;  // no waiting
  router_.Add("GET", "/meet", {}, [&arrived](Request& r) { return MeetTheOther(r, &arrived); });
  Start();
  Client c(port_);
  c.Send("GET /meet HTTP/1.1\r\nHost: x\r\nX-Request-Id: first-one\r\n\r\n");
  EXPECT_NE(Body(c.ReadResponse()).find(R"("after":"first-one")"), std::string::npos);
  c.Send("GET /meet HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string second = Body(c.ReadResponse());
  EXPECT_EQ(second.find("first-one"), std::string::npos) << second;
  EXPECT_EQ(second.find(R"("entry":"")"), std::string::npos) << second;
}

}  // namespace
}  // namespace nexus::gateway
