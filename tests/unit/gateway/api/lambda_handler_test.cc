// The lambda route without a socket: the fields it passes and answers, the
// input it refuses before calling nexusd, its larger body limit, and what an
// unavailable runner shows.
#include "gateway/api/lambda_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "unit/gateway/api/files_routes_rig.h"

namespace nexus::gateway {
namespace {

// ---- lambda ---------------------------------------------------------------------

TEST_F(FilesRoutesTest, LambdaPassesFieldsAndAnswersEveryOutcomeField) {
  daemonpb::RunLambdaResponse run;
  run.set_stdout("hello from nexus\n");
  run.set_stderr("bad \xff byte");
  run.set_exit_code(0);
  run.set_execution_time_ms(31);
  daemon_.run_lambda.answer = run;
  Response r =
      PostJson("/api/lambda/run", R"j({"code":"print('hello from nexus')","RUNTIME":"python3",)j"
                                  R"("Stdin":"in","timeoutms":5000,"MemoryMb":64})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"execution_time_ms":31,"exit_code":0,"oom_killed":false,"signal":null,)"
                    "\"stderr\":\"bad \xEF\xBF\xBD byte\",\"stderr_truncated\":false,"
                    R"("stdout":"hello from nexus\n","stdout_truncated":false,"timed_out":false})");
  const auto& call = daemon_.run_lambda.calls.at(0);
  EXPECT_EQ(call.owner(), "alice");
  EXPECT_EQ(call.code(), "print('hello from nexus')");
  EXPECT_EQ(call.runtime(), "python3");
  EXPECT_EQ(call.stdin(), "in");
  EXPECT_EQ(call.timeout_ms(), 5000);
  EXPECT_EQ(call.memory_mb(), 64);

  run.set_signal("SIGKILL");
  run.set_exit_code(137);
  run.set_timed_out(true);
  daemon_.run_lambda.answer = run;
  Response killed = PostJson("/api/lambda/run", R"({"Code":"while 1: pass","Runtime":"python3"})");
  auto j = nlohmann::json::parse(killed.body);
  EXPECT_EQ(j["signal"], "SIGKILL");
  EXPECT_EQ(j["exit_code"], 137);
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(daemon_.run_lambda.calls.at(1).timeout_ms(), 0);
}

TEST_F(FilesRoutesTest, LambdaRefusesBadInputBeforeCallingNexusd) {
  const char* bodies[] = {
      R"({"Runtime":"python3"})",
      R"j({"Code":"print(1)"})j",
      R"({"Code":1,"Runtime":"python3"})",
      R"({"Code":"x","Runtime":"python3","TimeoutMs":0})",
      R"({"Code":"x","Runtime":"python3","MemoryMb":-5})",
      R"({"Code":"x","Runtime":"python3","Stdin":5})",
      R"(not json)",
  };
  for (const char* b : bodies) {
    EXPECT_EQ(PostJson("/api/lambda/run", b).status, 400) << b;
  }
  EXPECT_TRUE(daemon_.run_lambda.calls.empty());
}

TEST_F(FilesRoutesTest, LambdaRefusesLimitsBeyondInt64OrNotWholeNamingTheField) {
  const char* numbers[] = {"18446744073709551680",
                           "18446744073709551616",
                           "9223372036854775808",
                           "-9223372036854775809",
                           "-9223372036854775808",
                           "-1",
                           "1e30",
                           "1.5",
                           "64.0"};
  for (const char* field : {"TimeoutMs", "MemoryMb"}) {
    for (const char* number : numbers) {
      const std::string body =
          std::string(R"({"Code":"x","Runtime":"sh",")") + field + "\":" + number + "}";
      Response r = PostJson("/api/lambda/run", body);
      EXPECT_EQ(r.status, 400) << body;
      EXPECT_NE(r.body.find(std::string("'") + field + "'"), std::string::npos)
          << body << " -> " << r.body;
    }
  }
  EXPECT_TRUE(daemon_.run_lambda.calls.empty());
}

TEST_F(FilesRoutesTest, LambdaAcceptsBodiesLargerThanOtherJsonRoutes) {
  const std::string code(8000, '#');  // the fixture's JSON limit is 1024
  Response big = PostJson("/api/lambda/run", R"({"Code":")" + code + R"(","Runtime":"sh"})");
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(daemon_.run_lambda.calls.at(0).code(), code);
  Response other = PostJson("/api/fs/mkdir", R"({"path":")" + code + R"("})");
  EXPECT_EQ(other.status, 413);
  const std::string huge(kLambdaMaxBodyBytes, '#');
  EXPECT_EQ(PostJson("/api/lambda/run", R"({"Code":")" + huge + R"("})").status, 413);
}

TEST_F(FilesRoutesTest, LambdaUnavailableHidesTheRunnersMessage) {
  daemon_.run_lambda.answer =
      UnavailableError("runc not found at /usr/sbin/runc (running as uid 1000)");
  Response r = PostJson("/api/lambda/run", R"({"Code":"x","Runtime":"sh"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"j({"error":"lambda is unavailable on this host (needs root and runc)"})j");

  daemon_.run_lambda.answer =
      UnavailableError("daemon service unavailable").set_reason(Reason::kBackendDown);
  Response down = PostJson("/api/lambda/run", R"({"Code":"x","Runtime":"sh"})");
  EXPECT_EQ(down.body, R"({"error":"daemon service unavailable"})");
}

}  // namespace
}  // namespace nexus::gateway
