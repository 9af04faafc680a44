// A node on the real host (nodes_real_rig.h): its address, memory limit and
// disk as the node sees them, two nodes on the bridge, stop and start.
#include <gtest/gtest.h>

#include "nodes_real_rig.h"

namespace nexus::daemon::runtime {
namespace {

TEST_F(NodesRealTest, CreatedNodeRunsWithItsIpMemoryLimitAndDisk) {
  NodeInfo a = MustCreate("alice", "worker1", 64, "96M");
  EXPECT_EQ(a.id, "worker1");
  EXPECT_EQ(a.status, "Running");
  EXPECT_EQ(a.ip, Ip(2)) << "the first node gets .2";
  EXPECT_EQ(a.memory_mb, 64);
  EXPECT_EQ(a.cpu_shares, 512);
  EXPECT_EQ(a.storage_size, "96M");

  auto hostname = MustExec("alice", "worker1", {"cat", "/etc/hostname"});
  EXPECT_EQ(hostname.stdout_data, "worker1\n");
  EXPECT_EQ(hostname.exit_code, 0);

  // The memory limit, as the node itself sees it.
  auto cgroups = MakeCgroupFs(kCgroupAuto);
  ASSERT_TRUE(cgroups.ok());
  const std::string limit_file = (*cgroups)->unified()
                                     ? "/sys/fs/cgroup/memory.max"
                                     : "/sys/fs/cgroup/memory/memory.limit_in_bytes";
  auto limit = MustExec("alice", "worker1", {"cat", limit_file});
  EXPECT_EQ(limit.stdout_data, std::to_string(64 << 20) + "\n") << limit.stderr_data;
  if (!(*cgroups)->unified() && (*cgroups)->swap_limit_supported()) {
    auto swap =
        MustExec("alice", "worker1", {"cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"});
    EXPECT_EQ(swap.stdout_data, std::to_string(64 << 20) + "\n") << "no swap beyond the limit";
  }

  // The node's address, on its own eth0.
  auto addr = MustExec("alice", "worker1", {"cat", "/proc/net/fib_trie"});
  EXPECT_NE(addr.stdout_data.find(Ip(2)), std::string::npos);

  // Writing past the storage size fails inside the node.
  auto dd = MustExec("alice", "worker1",
                     {"dd", "if=/dev/zero", "of=/root/fill", "bs=1M", "count=200"}, 60000);
  EXPECT_NE(dd.exit_code, 0);
  EXPECT_NE(dd.stderr_data.find("No space left on device"), std::string::npos) << dd.stderr_data;
  auto df = MustExec("alice", "worker1", {"df", "-k", "/"});
  EXPECT_NE(df.stdout_data.find("100%"), std::string::npos) << df.stdout_data;

  // The host's /etc is not the node's, and /usr is read-only.
  auto passwd = MustExec("alice", "worker1", {"cat", "/etc/passwd"});
  EXPECT_EQ(passwd.stdout_data.find("daemon:"), std::string::npos) << passwd.stdout_data;
  auto touch = MustExec("alice", "worker1", {"touch", "/usr/nexus-test"});
  EXPECT_NE(touch.exit_code, 0);

  auto metrics = manager_->GetMetrics("alice", "worker1", true);
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_EQ(metrics->node_id, "worker1");
  EXPECT_EQ(metrics->memory_limit, 64 << 20);
  EXPECT_GT(metrics->memory_usage, 0);
  EXPECT_LE(metrics->memory_usage, 64 << 20);
  EXPECT_FALSE(metrics->history.empty());
}

TEST_F(NodesRealTest, TwoNodesGetConsecutiveAddressesAndReachEachOther) {
  NodeInfo a = MustCreate("alice", "client", 64, "64M");
  NodeInfo b = MustCreate("alice", "server", 64, "64M");
  EXPECT_EQ(a.ip, Ip(2));
  EXPECT_EQ(b.ip, Ip(3));

  const std::string listener =
      "import socket\n"
      "s = socket.socket()\n"
      "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(('0.0.0.0', 7777))\n"
      "s.listen(1)\n"
      "s.settimeout(15)\n"
      "c, peer = s.accept()\n"
      "print(peer[0], c.recv(100).decode())\n";
  auto served = std::async(std::launch::async, [&] {
    return MustExec("alice", "server", {"/usr/bin/python3", "-c", listener});
  });
  const std::string client =
      "import socket, time\n"
      "for i in range(200):\n"
      "    try:\n"
      "        c = socket.create_connection(('" +
      b.ip +
      "', 7777), timeout=1)\n"
      "        break\n"
      "    except OSError:\n"
      "        time.sleep(0.05)\n"
      "c.sendall(b'hello-from-client')\n";
  auto sent = MustExec("alice", "client", {"/usr/bin/python3", "-c", client});
  EXPECT_EQ(sent.exit_code, 0) << sent.stderr_data;
  auto got = served.get();
  EXPECT_EQ(got.exit_code, 0) << got.stderr_data;
  EXPECT_EQ(got.stdout_data, a.ip + " hello-from-client\n");
}

TEST_F(NodesRealTest, StopAndStartKeepTheAddressAndTheDisk) {
  NodeInfo a = MustCreate("alice", "keeper", 64, "64M");
  auto wrote = MustExec("alice", "keeper", {"sh", "-c", "echo kept > /root/note && sync"});
  EXPECT_EQ(wrote.exit_code, 0) << wrote.stderr_data;

  auto stopped = manager_->Stop("alice", "keeper");
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(stopped->status, "Stopped");
  auto got = manager_->Get("alice", "keeper");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "Stopped");
  auto exec = manager_->Exec({"alice", "keeper", {"true"}, 1000});
  EXPECT_EQ(exec.status().code(), StatusCode::kInvalidArgument);

  auto started = manager_->Start("alice", "keeper");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->status, "Running");
  EXPECT_EQ(started->ip, a.ip);
  auto note = MustExec("alice", "keeper", {"cat", "/root/note"});
  EXPECT_EQ(note.stdout_data, "kept\n");
  auto addr = MustExec("alice", "keeper", {"cat", "/proc/net/fib_trie"});
  EXPECT_NE(addr.stdout_data.find(a.ip), std::string::npos);
}

}  // namespace
}  // namespace nexus::daemon::runtime
