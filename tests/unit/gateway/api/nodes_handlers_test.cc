// The Nodes and Metrics routes without a socket: Pipeline::Handle over the
// real route table, a fake AuthClient and a fake nexusd that records each
// node call and answers what the test set.
#include "gateway/api/nodes_handlers.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/routes.h"
#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::BearerHeaders;
using testing::MakeRequest;
using testing::RunAwaitable;

daemonpb::Node MakeNode(const std::string& id, const std::string& ip, int64_t created_at) {
  daemonpb::Node n;
  n.set_id(id);
  n.set_ip(ip);
  n.set_status("Running");
  n.set_memory_mb(256);
  n.set_cpu_shares(512);
  n.set_storage_size("1G");
  n.set_created_at(created_at);
  return n;
}

// Every node RPC that answers a Node answers `node`.
void AnswerNodeCalls(testing::RecordingDaemonClient& daemon, const Result<daemonpb::Node>& node) {
  daemon.create_node.answer = node;
  daemon.get_node.answer = node;
  daemon.start_node.answer = node;
  daemon.stop_node.answer = node;
}

class NodesRoutesTest : public ::testing::Test {
 protected:
  NodesRoutesTest() : pipeline_(router_, auth_, PipelineOptions{1 << 16}) {
    RegisterRoutes(router_, auth_, daemon_);
    auth_.AcceptToken("tok", "alice", "alice@example.com", 1700000000);
    AnswerNodeCalls(daemon_, MakeNode("worker1", "10.0.42.2", 1700000000));
  }

  Response Send(std::string method, const std::string& target, std::string body = "") {
    Headers h = BearerHeaders("tok");
    if (!body.empty()) h.Add("Content-Type", "application/json");
    last_ = MakeRequest(std::move(method), std::move(body), std::move(h));
    return RunAwaitable(pipeline_.Handle(last_, target));
  }

  static nlohmann::json Json(const Response& r) { return nlohmann::json::parse(r.body); }

  testing::FakeAuthClient auth_;
  testing::RecordingDaemonClient daemon_;
  Router router_;
  Pipeline pipeline_;
  Request last_;
};

TEST_F(NodesRoutesTest, CreateSendsTheFieldsWhateverTheirCaseAndAnswers201WithTheNode) {
  Response r = Send("POST", "/api/nodes",
                    R"({"Name":"worker1","Memory_MB":256,"CPU_Shares":512,"storage_size":"1G"})");
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_EQ(daemon_.create_node.calls.size(), 1u);
  const auto& call = daemon_.create_node.calls[0];
  EXPECT_EQ(call.owner(), "alice");
  EXPECT_EQ(call.name(), "worker1");
  EXPECT_EQ(call.memory_mb(), 256);
  EXPECT_EQ(call.cpu_shares(), 512);
  EXPECT_EQ(call.storage_size(), "1G");
  nlohmann::json j = Json(r);
  EXPECT_EQ(j["id"], "worker1");
  EXPECT_EQ(j["ip"], "10.0.42.2");
  EXPECT_EQ(j["status"], "Running");
  EXPECT_EQ(j["memory_mb"], 256);
  EXPECT_EQ(j["cpu_shares"], 512);
  EXPECT_EQ(j["storage_size"], "1G");
  EXPECT_EQ(j["created_at"], 1700000000);
  EXPECT_EQ(j["created"], "2023-11-14T22:13:20Z");
}

TEST_F(NodesRoutesTest, CreateLeavesOmittedLimitsToNexusdAndTakesStorageAsBytesToo) {
  ASSERT_EQ(Send("POST", "/api/nodes", R"({"name":"a"})").status, 201);
  ASSERT_EQ(Send("POST", "/api/nodes", R"({"name":"b","storage_size":67108864})").status, 201);
  ASSERT_EQ(daemon_.create_node.calls.size(), 2u);
  EXPECT_EQ(daemon_.create_node.calls[0].memory_mb(), 0);
  EXPECT_EQ(daemon_.create_node.calls[0].cpu_shares(), 0);
  EXPECT_EQ(daemon_.create_node.calls[0].storage_size(), "");
  EXPECT_EQ(daemon_.create_node.calls[1].storage_size(), "67108864");
}

TEST_F(NodesRoutesTest, CreateRefusesMalformedFieldsNamingThemWithoutCallingNexusd) {
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {R"({"memory_mb":256})", "'name'"},
      {R"({"name":7})", "'name'"},
      {R"({"name":"w","memory_mb":"256"})", "'memory_mb'"},
      {R"({"name":"w","memory_mb":0})", "'memory_mb'"},
      {R"({"name":"w","cpu_shares":-5})", "'cpu_shares'"},
      {R"({"name":"w","cpu_shares":1.5})", "'cpu_shares'"},
      {R"({"name":"w","storage_size":true})", "'storage_size'"},
      {R"({"name":"w","storage_size":""})", "'storage_size'"},
      {R"({"name":"w","storage_size":-1})", "'storage_size'"},
  };
  for (const auto& c : cases) {
    Response r = Send("POST", "/api/nodes", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(r.body.find(c.field), std::string::npos) << c.body << " -> " << r.body;
  }
  EXPECT_TRUE(daemon_.rpcs.empty());
}

// Numbers no int64 holds, negative, fractional or written as floats are a
// 400 naming the field in the gateway; ones it holds go to nexusd, which
// bounds them (INT64_MAX there is "above the maximum", never wrapped).
TEST_F(NodesRoutesTest, CreateRefusesNumbersBeyondInt64OrNotWholeWithoutCallingNexusd) {
  const char* numbers[] = {
      "18446744073709551680",
      "18446744073709551616",
      "18446744073709551615",
      "9223372036854775808",
      "-9223372036854775809",
      "-9223372036854775808",
      "-1",
      "0",
      "1e30",
      "-1e30",
      "1.5",
      "256.0",
      "1e3",
      "\"256\"",
  };
  for (const char* field : {"memory_mb", "cpu_shares", "storage_size"}) {
    for (const char* number : numbers) {
      if (std::string_view(field) == "storage_size" && number[0] == '"') continue;
      const std::string body = std::string(R"({"name":"w",")") + field + "\":" + number + "}";
      Response r = Send("POST", "/api/nodes", body);
      EXPECT_EQ(r.status, 400) << body;
      EXPECT_NE(r.body.find(std::string("'") + field + "'"), std::string::npos)
          << body << " -> " << r.body;
    }
  }
  // Beyond even a double: the body as a whole is refused (once a 500).
  Response inf = Send("POST", "/api/nodes", R"({"name":"w","memory_mb":1e400})");
  EXPECT_EQ(inf.status, 400);
  EXPECT_EQ(Json(inf)["error"], "a number in the JSON body is out of range");
  EXPECT_TRUE(daemon_.rpcs.empty());
  const std::string max = R"({"name":"w","memory_mb":9223372036854775807,)"
                          R"("cpu_shares":9223372036854775807,"storage_size":9223372036854775807})";
  ASSERT_EQ(Send("POST", "/api/nodes", max).status, 201);
  ASSERT_EQ(daemon_.create_node.calls.size(), 1u);
  EXPECT_EQ(daemon_.create_node.calls[0].memory_mb(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(daemon_.create_node.calls[0].cpu_shares(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(daemon_.create_node.calls[0].storage_size(), "9223372036854775807");
}

TEST_F(NodesRoutesTest, ExecRefusesATimeoutBeyondInt64OrNotWhole) {
  const char* numbers[] = {"18446744073709551616", "9223372036854775808", "-1", "1e30", "0.5"};
  for (const char* number : numbers) {
    const std::string body = std::string(R"({"command":["true"],"timeout_ms":)") + number + "}";
    Response r = Send("POST", "/api/nodes/worker1/exec", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find("'timeout_ms'"), std::string::npos) << body << " -> " << r.body;
  }
  EXPECT_TRUE(daemon_.rpcs.empty());
}

TEST_F(NodesRoutesTest, NexusdAnswersBecomeTheirHttpStatusesWithTheirMessages) {
  struct Case {
    Status answer;
    int http;
    const char* body;
  } cases[] = {
      {InvalidArgumentError("memory_mb must be between 16 and 4096"), 400,
       R"({"error":"memory_mb must be between 16 and 4096"})"},
      {InvalidArgumentError("storage_size: '10X' is not a size"), 400,
       R"({"error":"storage_size: '10X' is not a size"})"},
      {AlreadyExistsError("node 'worker1' already exists"), 409,
       R"({"error":"node 'worker1' already exists"})"},
      {UnavailableError("daemon service unavailable"), 503,
       R"({"error":"daemon service unavailable"})"},
      // Without the reason, an unavailable answer is about this node, not the host.
      {UnavailableError("node 'worker1' is being created"), 503,
       R"({"error":"node 'worker1' is being created"})"},
  };
  for (const auto& c : cases) {
    daemon_.create_node.answer = c.answer;
    Response r = Send("POST", "/api/nodes", R"({"name":"worker1"})");
    EXPECT_EQ(r.status, c.http) << c.answer.ToString();
    EXPECT_EQ(r.body, c.body);
  }
}

TEST_F(NodesRoutesTest, AnUnavailableEngineIs503OnEveryRouteWithoutHostDetails) {
  const Status down =
      UnavailableError(
          "nodes need root, runc and the CNI plugins (nexusd is not root; no CNI plugin "
          "/usr/lib/cni/bridge)")
          .set_reason(Reason::kNodesUnsupportedHere);
  AnswerNodeCalls(daemon_, down);
  daemon_.list_nodes.answer = down;
  daemon_.delete_node.answer = down;
  daemon_.exec_node.answer = down;
  daemon_.get_node_metrics.answer = down;
  struct Case {
    const char* method;
    const char* target;
    const char* body;
  } cases[] = {
      {"POST", "/api/nodes", R"({"name":"w"})"},
      {"GET", "/api/nodes", ""},
      {"GET", "/api/nodes/w", ""},
      {"POST", "/api/nodes/w/start", ""},
      {"POST", "/api/nodes/w/stop", ""},
      {"DELETE", "/api/nodes/w", ""},
      {"POST", "/api/nodes/w/exec", R"({"command":["true"]})"},
      {"GET", "/api/nodes/w/metrics", ""},
  };
  for (const auto& c : cases) {
    Response r = Send(c.method, c.target, c.body);
    EXPECT_EQ(r.status, 503) << c.method << " " << c.target;
    EXPECT_EQ(Json(r)["error"],
              "nodes need root and runc with the CNI plugins; they are unavailable on this host");
  }
}

TEST_F(NodesRoutesTest, ListAnswersTheCallersNodesOldestFirst) {
  daemonpb::ListNodesResponse list;
  *list.add_nodes() = MakeNode("b", "10.0.42.3", 1700000005);
  *list.add_nodes() = MakeNode("a", "10.0.42.2", 1700000001);
  daemon_.list_nodes.answer = list;
  Response r = Send("GET", "/api/nodes");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(daemon_.list_nodes.calls.size(), 1u);
  EXPECT_EQ(daemon_.list_nodes.calls[0].owner(), "alice");
  nlohmann::json j = Json(r);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["id"], "a");
  EXPECT_EQ(j[1]["id"], "b");
  EXPECT_EQ(j[1]["ip"], "10.0.42.3");

  daemon_.list_nodes.answer = daemonpb::ListNodesResponse();
  EXPECT_EQ(Send("GET", "/api/nodes").body, "[]");
}

TEST_F(NodesRoutesTest, NodeRoutesNameTheOwnerAndThePathsNode) {
  struct Case {
    const char* method;
    const char* target;
    const char* rpc;
  } cases[] = {
      {"GET", "/api/nodes/worker1", "GetNode"},
      {"POST", "/api/nodes/worker1/start", "StartNode"},
      {"POST", "/api/nodes/worker1/stop", "StopNode"},
      {"DELETE", "/api/nodes/worker1", "DeleteNode"},
  };
  const std::vector<daemonpb::NodeRef>* refs[] = {
      &daemon_.get_node.calls, &daemon_.start_node.calls, &daemon_.stop_node.calls,
      &daemon_.delete_node.calls};
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    daemon_.rpcs.clear();
    Response r = Send(c.method, c.target);
    EXPECT_EQ(r.status, 200) << c.method << " " << c.target << ": " << r.body;
    ASSERT_EQ(daemon_.rpcs, std::vector<std::string>{c.rpc});
    ASSERT_EQ(refs[i]->size(), 1u);
    EXPECT_EQ(refs[i]->back().owner(), "alice");
    EXPECT_EQ(refs[i]->back().id(), "worker1");
  }
}

TEST_F(NodesRoutesTest, DeleteAnswersTheContractMessageAndAnUnknownNodeIs404) {
  Response r = Send("DELETE", "/api/nodes/worker1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json(r), nlohmann::json({{"message", "Node deleted"}, {"id", "worker1"}}));

  daemon_.delete_node.answer = NotFoundError("node 'bobs' not found");
  Response missing = Send("DELETE", "/api/nodes/bobs");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"node 'bobs' not found"})");
}

TEST_F(NodesRoutesTest, ExecSendsTheArgvAndAnswersOutputAsValidUtf8) {
  daemonpb::ExecNodeResponse out;
  out.set_stdout("268435456\n");
  out.set_stderr(std::string("bad \xff byte"));
  out.set_exit_code(137);
  out.set_timed_out(true);
  out.set_stdout_truncated(true);
  daemon_.exec_node.answer = out;
  Response r = Send("POST", "/api/nodes/worker1/exec",
                    R"({"Command":["cat","/sys/fs/cgroup/memory.max"],"timeout_ms":5000})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(daemon_.exec_node.calls.size(), 1u);
  const auto& call = daemon_.exec_node.calls[0];
  EXPECT_EQ(call.owner(), "alice");
  EXPECT_EQ(call.id(), "worker1");
  ASSERT_EQ(call.command_size(), 2);
  EXPECT_EQ(call.command(0), "cat");
  EXPECT_EQ(call.command(1), "/sys/fs/cgroup/memory.max");
  EXPECT_EQ(call.timeout_ms(), 5000);
  nlohmann::json j = Json(r);
  EXPECT_EQ(j["stdout"], "268435456\n");
  EXPECT_EQ(j["stderr"], "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(j["exit_code"], 137);
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(j["stdout_truncated"], true);
  EXPECT_EQ(j["stderr_truncated"], false);
}

TEST_F(NodesRoutesTest, ExecRefusesAMalformedCommandOrTimeout) {
  const char* cases[] = {
      R"({})",
      R"({"command":"ls -l"})",
      R"({"command":[]})",
      R"({"command":["ls",1]})",
      R"({"command":[""]})",
      R"({"command":["true"],"timeout_ms":0})",
      R"({"command":["true"],"timeout_ms":"5s"})",
  };
  for (const char* body : cases) {
    Response r = Send("POST", "/api/nodes/worker1/exec", body);
    EXPECT_EQ(r.status, 400) << body;
  }
  EXPECT_TRUE(daemon_.rpcs.empty());
}

TEST_F(NodesRoutesTest, MetricsAnswerTheContractFieldsAndHistoryOnlyWhenAsked) {
  daemonpb::NodeMetrics m;
  m.set_node_id("worker1");
  m.set_memory_usage(52428800);
  m.set_memory_limit(268435456);
  m.set_cpu_percent(0.42);
  auto* s = m.add_history();
  s->set_timestamp_ms(1700000000000);
  s->set_memory_usage(52428800);
  s->set_cpu_percent(0.42);
  daemon_.get_node_metrics.answer = m;

  Response plain = Send("GET", "/api/nodes/worker1/metrics");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(Json(plain), nlohmann::json({{"node_id", "worker1"},
                                         {"memory_usage", 52428800},
                                         {"memory_limit", 268435456},
                                         {"cpu_percent", 0.42}}));
  Response with = Send("GET", "/api/nodes/worker1/metrics?history=1");
  ASSERT_EQ(with.status, 200) << with.body;
  nlohmann::json j = Json(with);
  ASSERT_EQ(j["history"].size(), 1u);
  EXPECT_EQ(j["history"][0]["timestamp_ms"], 1700000000000);
  EXPECT_EQ(j["history"][0]["memory_usage"], 52428800);
  ASSERT_EQ(daemon_.get_node_metrics.calls.size(), 2u);
  EXPECT_FALSE(daemon_.get_node_metrics.calls[0].history());
  EXPECT_TRUE(daemon_.get_node_metrics.calls[1].history());
  EXPECT_EQ(daemon_.get_node_metrics.calls[1].owner(), "alice");
  EXPECT_EQ(daemon_.get_node_metrics.calls[1].id(), "worker1");

  EXPECT_EQ(Send("GET", "/api/nodes/worker1/metrics?history=maybe").status, 400);
}

TEST_F(NodesRoutesTest, EveryNodeRouteNeedsAToken) {
  struct Case {
    const char* method;
    const char* target;
  } cases[] = {
      {"POST", "/api/nodes"},         {"GET", "/api/nodes"},           {"GET", "/api/nodes/w"},
      {"POST", "/api/nodes/w/start"}, {"POST", "/api/nodes/w/stop"},   {"DELETE", "/api/nodes/w"},
      {"POST", "/api/nodes/w/exec"},  {"GET", "/api/nodes/w/metrics"},
  };
  for (const auto& c : cases) {
    last_ = MakeRequest(c.method);
    Response r = RunAwaitable(pipeline_.Handle(last_, c.target));
    EXPECT_EQ(r.status, 401) << c.method << " " << c.target;
  }
  EXPECT_TRUE(daemon_.rpcs.empty());
}

}  // namespace
}  // namespace nexus::gateway
