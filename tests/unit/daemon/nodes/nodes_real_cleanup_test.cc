// Nodes on the real host (nodes_real_rig.h): users' nodes kept apart, delete
// leaving nothing behind, and a restarted nexusd restarting its nodes and
// removing strays.
#include <gtest/gtest.h>

#include "nodes_real_rig.h"

namespace nexus::daemon::runtime {
namespace {

TEST_F(NodesRealTest, UsersNodesAreSeparateAndDeleteLeavesNothing) {
  NodeInfo a = MustCreate("alice", "worker1", 32, "64M");
  NodeInfo b = MustCreate("bob", "worker1", 32, "64M");
  EXPECT_NE(a.ip, b.ip);
  EXPECT_EQ(manager_->Get("carol", "worker1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Delete("carol", "worker1").code(), StatusCode::kNotFound);
  auto alices = manager_->List("alice");
  ASSERT_TRUE(alices.ok());
  ASSERT_EQ(alices->size(), 1u);
  EXPECT_EQ((*alices)[0].ip, a.ip);

  // Alice's node cannot even reach Bob's: a closed port there would answer
  // "refused" on a shared bridge; the firewall drops the packets instead.
  const std::string probe =
      "import socket, sys\n"
      "try:\n"
      "    socket.create_connection((sys.argv[1], 9), timeout=2)\n"
      "    print('connected')\n"
      "except ConnectionRefusedError:\n"
      "    print('refused')\n"
      "except OSError as e:\n"
      "    print('unreachable', e)\n";
  auto reach = MustExec("alice", "worker1", {"/usr/bin/python3", "-c", probe, b.ip});
  EXPECT_EQ(reach.stdout_data.rfind("unreachable", 0), 0u) << reach.stdout_data;

  // A timed-out command is killed, not left running in the node.
  auto slow = manager_->Exec({"alice", "worker1", {"sleep", "30"}, 300});
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  EXPECT_TRUE(slow->timed_out);
  EXPECT_EQ(slow->exit_code, 137);
  const std::string ps =
      "import os\n"
      "for p in os.listdir('/proc'):\n"
      "    if p.isdigit():\n"
      "        print(open('/proc/' + p + '/cmdline').read().replace('\\0', ' '))\n";
  // SIGKILL is delivered asynchronously: on a loaded host the killed command
  // can still be listed for a moment, so allow it up to ~2 s to be gone.
  auto procs = MustExec("alice", "worker1", {"/usr/bin/python3", "-c", ps});
  for (int i = 0; i < 20 && procs.stdout_data.find("sleep 30") != std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    procs = MustExec("alice", "worker1", {"/usr/bin/python3", "-c", ps});
  }
  EXPECT_NE(procs.stdout_data.find("sleep 2147483647"), std::string::npos) << procs.stdout_data;
  EXPECT_EQ(procs.stdout_data.find("sleep 30"), std::string::npos) << procs.stdout_data;

  auto missing = MustExec("alice", "worker1", {"no-such-command"});
  EXPECT_EQ(missing.exit_code, 127) << missing.stderr_data;
  // The command is the command, never options of `runc exec`.
  auto flags = MustExec("alice", "worker1", {"--user", "1000", "id", "-u"});
  EXPECT_EQ(flags.exit_code, 127) << flags.stdout_data << flags.stderr_data;

  ASSERT_TRUE(manager_->Delete("alice", "worker1").ok());
  ASSERT_TRUE(manager_->Delete("bob", "worker1").ok());
  EXPECT_EQ(manager_->Get("alice", "worker1").status().code(), StatusCode::kNotFound);
  ExpectNothingLeft(/*force=*/false);
}

TEST_F(NodesRealTest, RestartedDaemonRestartsItsNodesAndRemovesStrays) {
  NodeInfo a = MustCreate("alice", "phoenix", 32, "64M");
  ASSERT_FALSE(a.ip.empty());
  auto rec = Record("alice", "phoenix");
  ASSERT_TRUE(rec.ok());
  const std::string id = manager_->ContainerId(rec->uid);
  const std::string dir = manager_->NodeDir(rec->uid);
  manager_.reset();

  // As after a host reboot: the container, its namespace, the mount and the
  // loop device are gone; the lease file and the database row remain.
  const std::string runc_root = data_dir_ + "/nodes/runc";
  ASSERT_EQ(Host({"/usr/sbin/runc", "--root", runc_root, "delete", "-f", id}).exit_code, 0);
  ASSERT_EQ(Host({"/usr/sbin/ip", "netns", "delete", id}).exit_code, 0);
  ASSERT_EQ(Host({"/usr/bin/umount", dir + "/volume"}).exit_code, 0);
  Cmd loops = Host({"/usr/sbin/losetup", "-j", dir + "/disk.img"});
  ASSERT_EQ(Host({"/usr/sbin/losetup", "-d", loops.out.substr(0, loops.out.find(':'))}).exit_code,
            0);
  // And strays: a namespace and a node directory no row owns.
  const std::string stray = config_.instance + "-n-stray00000";
  ASSERT_EQ(Host({"/usr/sbin/ip", "netns", "add", stray}).exit_code, 0);
  fs::create_directories(data_dir_ + "/nodes/by-uid/stray00000");
  // The rules went with the reboot too.
  for (const char* family : {"bridge", "inet"}) {
    ASSERT_EQ(Host({"/usr/sbin/nft", "delete", "table", family, Table()}).exit_code, 0) << family;
  }

  OpenManager();
  auto got = manager_->Get("alice", "phoenix");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "Running");
  EXPECT_EQ(got->ip, a.ip);
  auto hostname = MustExec("alice", "phoenix", {"cat", "/etc/hostname"});
  EXPECT_EQ(hostname.stdout_data, "phoenix\n");
  auto addr = MustExec("alice", "phoenix", {"cat", "/proc/net/fib_trie"});
  EXPECT_NE(addr.stdout_data.find(a.ip), std::string::npos);
  EXPECT_FALSE(fs::exists("/run/netns/" + stray));
  EXPECT_FALSE(fs::exists(data_dir_ + "/nodes/by-uid/stray00000"));
  // The rules are back, naming the node's new port on the bridge.
  std::string port;
  for (const auto& e :
       fs::directory_iterator("/sys/class/net/" + config_.network.bridge + "/brif")) {
    port = e.path().filename().string();
  }
  ASSERT_FALSE(port.empty());
  Cmd rules = Host({"/usr/sbin/nft", "list", "table", "bridge", Table()});
  ASSERT_EQ(rules.exit_code, 0) << rules.err;
  EXPECT_NE(rules.out.find("\"" + port + "\""), std::string::npos) << rules.out;
  EXPECT_EQ(Host({"/usr/sbin/nft", "list", "table", "inet", Table()}).exit_code, 0);
}

}  // namespace
}  // namespace nexus::daemon::runtime
