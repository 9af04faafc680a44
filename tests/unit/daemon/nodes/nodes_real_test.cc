// NodeManager against the real host: runc, the CNI bridge and host-local
// plugins, loop-mounted ext4 volumes, cgroups. Needs root and those tools;
// skips with a reason otherwise, but fails when CI=true so that CI always
// runs it.
//
// Each test has its own instance name, data dir, bridge and a random
// 10.240.<n>.0/24 subnet that no route on the host uses, so it never meets a
// running instance; traffic goes only between the test's own nodes. TearDown
// deletes every node through the manager, then checks — and forcibly
// removes — everything a node can leave behind (container, netns, veth,
// lease, mount, loop device, cgroup, files, nftables tables), deletes the bridge, and puts
// the host's IPv4 forwarding setting back as it found it (the bridge plugin
// turns it on for a network with a gateway).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "daemon/database.h"
#include "daemon/nodes/network.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/nodes/node_spec.h"
#include "daemon/nodes/node_store.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/process.h"
#include "support/read_file.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;

using ::nexus::testing::ReadFileToString;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

struct Cmd {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a host command; with `output_file`, its stdio goes there instead of
// pipes (for `runc run -d`, whose container would hold our pipes open).
Cmd Host(std::vector<std::string> argv, const std::string& output_file = "") {
  static auto processes = NewPosixProcessRunner();
  SpawnOptions spawn;
  spawn.argv = std::move(argv);
  spawn.output_file = output_file;
  spawn.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  CommunicateOptions io;
  io.timeout_ms = 20000;
  auto outcome = processes->Run(spawn, io);
  if (!outcome.ok()) return {-1, "", outcome.status().ToString()};
  return {outcome->exit_code, outcome->stdout_data, outcome->stderr_data};
}

std::string Missing() {
  if (::geteuid() != 0) return "not root";
  if (FindExecutable("runc").empty() && ::access("/usr/sbin/runc", X_OK) != 0) {
    return "runc is not installed";
  }
  for (const char* p : {"/usr/lib/cni/bridge", "/usr/lib/cni/host-local"}) {
    if (::access(p, X_OK) != 0) return std::string("no CNI plugin ") + p;
  }
  for (const char* p :
       {"/usr/sbin/mkfs.ext4", "/usr/sbin/losetup", "/usr/sbin/ip", "/usr/sbin/nft"}) {
    if (::access(p, X_OK) != 0) return std::string("no ") + p;
  }
  return "";
}

std::string RandomName(std::mt19937& rng, size_t n) {
  const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name = "t";
  for (size_t i = 1; i < n; ++i) name += alphabet[rng() % 36];
  return name;
}

class NodesRealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = Missing();
    if (!why.empty()) {
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true") FAIL() << "nodes need root, runc and CNI: " << why;
      GTEST_SKIP() << "nodes need root, runc and CNI: " << why;
    }
    std::mt19937 rng{std::random_device{}()};
    char tmpl[] = "/tmp/nexus-nodes-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    data_dir_ = tmpl;
    config_.data_dir = data_dir_;
    config_.instance = RandomName(rng, 9);
    config_.network.bridge = "nx-" + config_.instance;
    const std::string routes = Host({"/usr/sbin/ip", "-4", "route", "show"}).out;
    do {
      third_octet_ = static_cast<int>(rng() % 256);
      subnet_prefix_ = "10.240." + std::to_string(third_octet_) + ".";
    } while (routes.find(subnet_prefix_) != std::string::npos);
    config_.network.subnet = subnet_prefix_ + "0/24";
    config_.nodes.metrics_interval_seconds = 1;
    ip_forward_before_ = ReadFileToString("/proc/sys/net/ipv4/ip_forward");
    auto db = OpenDatabase(data_dir_ + "/nexus.db", NodeMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    OpenManager();
  }

  void OpenManager() {
    auto m = NodeManager::ForHost(config_, *db_, clock_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(m).value();
    ASSERT_TRUE(manager_->availability().ok()) << manager_->availability().ToString();
  }

  void TearDown() override {
    if (data_dir_.empty()) return;
    // Delete what the tests left through the manager first: that is the path under test.
    if (manager_ && manager_->availability().ok()) {
      for (const auto& owner : owners_) {
        auto list = manager_->List(owner);
        if (!list.ok()) continue;
        for (const auto& n : *list) {
          Status s = manager_->Delete(owner, n.id);
          EXPECT_TRUE(s.ok()) << "delete " << owner << "/" << n.id << ": " << s.ToString();
        }
      }
    }
    manager_.reset();
    ExpectNothingLeft(/*force=*/true);
    auto net = NetworkOptionsFromConfig(config_);
    if (net.ok()) {
      auto processes = NewPosixProcessRunner();
      PosixEnv files;
      CniNetwork network(*net, *processes, files);
      EXPECT_TRUE(network.RemoveBridge().ok());
    }
    EXPECT_FALSE(fs::exists("/sys/class/net/" + config_.network.bridge)) << "bridge left";
    WriteFile("/proc/sys/net/ipv4/ip_forward", ip_forward_before_);
    db_.reset();
    std::error_code ec;
    fs::remove_all(data_dir_, ec);
  }

  // Checks that no node of this instance left anything on the host; with
  // `force`, also removes what it finds, so a failed test cleans up too.
  void ExpectNothingLeft(bool force) {
    const std::string prefix = config_.instance + "-n-";
    const std::string runc_root = data_dir_ + "/nodes/runc";
    Cmd list = Host({"/usr/sbin/runc", "--root", runc_root, "list", "-q"});
    std::istringstream ids(list.out);
    for (std::string id; std::getline(ids, id);) {
      if (id.empty()) continue;
      ADD_FAILURE() << "container left: " << id;
      if (force) Host({"/usr/sbin/runc", "--root", runc_root, "delete", "-f", id});
    }
    std::error_code ec;
    if (fs::is_directory("/run/netns")) {
      for (const auto& e : fs::directory_iterator("/run/netns", ec)) {
        std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        ADD_FAILURE() << "network namespace left: " << name;
        if (force) Host({"/usr/sbin/ip", "netns", "delete", name});
      }
    }
    if (fs::exists("/sys/class/net/" + config_.network.bridge + "/brif")) {
      for (const auto& e :
           fs::directory_iterator("/sys/class/net/" + config_.network.bridge + "/brif", ec)) {
        ADD_FAILURE() << "veth left on the bridge: " << e.path().filename().string();
        if (force) Host({"/usr/sbin/ip", "link", "delete", e.path().filename().string()});
      }
    }
    const std::string leases = data_dir_ + "/nodes/ipam/nexus-" + config_.instance;
    if (fs::is_directory(leases)) {
      for (const auto& e : fs::directory_iterator(leases, ec)) {
        std::string name = e.path().filename().string();
        if (name.rfind(subnet_prefix_, 0) == 0) ADD_FAILURE() << "IP lease left: " << name;
      }
    }
    std::istringstream mounts(ReadFileToString("/proc/self/mountinfo"));
    std::vector<std::string> mounted;
    for (std::string line; std::getline(mounts, line);) {
      std::istringstream f(line);
      std::string a, b, c, d, point;
      f >> a >> b >> c >> d >> point;
      if (point.rfind(data_dir_, 0) == 0) mounted.push_back(point);
    }
    for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) {
      ADD_FAILURE() << "mount left: " << *it;
      if (force) Host({"/usr/bin/umount", "-l", *it});
    }
    Cmd loops = Host({"/usr/sbin/losetup", "-a"});
    std::istringstream loop_lines(loops.out);
    for (std::string line; std::getline(loop_lines, line);) {
      if (line.find(data_dir_) == std::string::npos) continue;
      ADD_FAILURE() << "loop device left: " << line;
      if (force) Host({"/usr/sbin/losetup", "-d", line.substr(0, line.find(':'))});
    }
    auto cgroups = MakeCgroupFs(kCgroupAuto);
    ASSERT_TRUE(cgroups.ok());
    const std::string parent = "/nexus-" + config_.instance + "-nodes";
    for (const auto& uid : uids_) {
      EXPECT_FALSE((*cgroups)->Exists(parent + "/" + uid)) << "cgroup left for " << uid;
      if (force) (void)(*cgroups)->Remove(parent + "/" + uid);
    }
    if (force) (void)(*cgroups)->Remove(parent);
    const std::string by_uid = data_dir_ + "/nodes/by-uid";
    if (fs::is_directory(by_uid)) {
      for (const auto& e : fs::directory_iterator(by_uid, ec)) {
        ADD_FAILURE() << "node directory left: " << e.path();
      }
    }
    for (const char* family : {"bridge", "inet"}) {
      if (Host({"/usr/sbin/nft", "list", "table", family, Table()}).exit_code != 0) continue;
      ADD_FAILURE() << "nftables table left: " << family << " " << Table();
      if (force) Host({"/usr/sbin/nft", "delete", "table", family, Table()});
    }
  }

  std::string Table() const { return "nexus-" + config_.instance; }

  NodeInfo MustCreate(const std::string& owner, const std::string& name, int64_t memory_mb,
                      const std::string& storage) {
    owners_.insert(owner);
    CreateNodeRequest r{owner, name, memory_mb, 512, storage};
    auto n = manager_->Create(r);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) return {};
    NodeStore store(*db_);
    auto rec = store.Get(owner, name);
    if (rec.ok()) uids_.push_back(rec->uid);
    return *n;
  }

  ExecNodeResult MustExec(const std::string& owner, const std::string& id,
                          std::vector<std::string> command, int64_t timeout_ms = 20000) {
    auto r = manager_->Exec({owner, id, std::move(command), timeout_ms});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ExecNodeResult{"", "", -1};
  }

  std::string Ip(int host) { return subnet_prefix_ + std::to_string(host); }

  std::string data_dir_;
  std::string subnet_prefix_;
  int third_octet_ = 0;
  std::string ip_forward_before_;
  Config config_;
  SystemClock clock_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<NodeManager> manager_;
  std::set<std::string> owners_;
  std::vector<std::string> uids_;
};

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
  NodeStore store(*db_);
  auto rec = store.Get("alice", "phoenix");
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

// Not a timed test: prints how long Create and Delete take through the
// manager against the bare commands they cannot avoid (sparse file + mkfs +
// losetup + mount; netns + CNI ADD; `runc run -d` — and for teardown `runc
// delete -f`, CNI DEL, netns delete, umount, losetup -d, rm). Run with
// --gtest_also_run_disabled_tests.
TEST_F(NodesRealTest, DISABLED_MeasureCreateAndDeleteAgainstTheBareFloor) {
  constexpr int kRounds = 7;
  using Steady = std::chrono::steady_clock;
  auto ms_since = [](Steady::time_point t) {
    return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  MustCreate("bench", "warmup", 64, "64M");  // the bridge exists from here on
  ASSERT_TRUE(manager_->Delete("bench", "warmup").ok());

  std::vector<double> create, destroy;
  for (int i = 0; i < kRounds; ++i) {
    auto t = Steady::now();
    MustCreate("bench", "n" + std::to_string(i), 64, "64M");
    create.push_back(ms_since(t));
  }
  for (int i = 0; i < kRounds; ++i) {
    auto t = Steady::now();
    ASSERT_TRUE(manager_->Delete("bench", "n" + std::to_string(i)).ok());
    destroy.push_back(ms_since(t));
  }

  auto net = NetworkOptionsFromConfig(config_);
  ASSERT_TRUE(net.ok());
  const std::string config_json = CniNetworkConfig(*net).dump();
  const std::string runc_root = data_dir_ + "/floor-runc";
  auto processes = NewPosixProcessRunner();
  auto cni = [&](const std::string& command, const std::string& id, const std::string& netns) {
    SpawnOptions spawn;
    spawn.argv = {net->cni_path + "/bridge"};
    spawn.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                 "CNI_COMMAND=" + command,
                 "CNI_CONTAINERID=" + id,
                 "CNI_NETNS=" + netns,
                 "CNI_IFNAME=eth0",
                 "CNI_PATH=" + net->cni_path};
    CommunicateOptions io;
    io.stdin_data = config_json;
    io.timeout_ms = 10000;
    auto out = processes->Run(spawn, io);
    return out.ok() && out->exit_code == 0;
  };
  std::vector<double> floor_disk, floor_net, floor_run, floor_create, floor_destroy;
  for (int i = 0; i < kRounds; ++i) {
    const std::string id = config_.instance + "-n-floor" + std::to_string(i);
    const std::string dir = data_dir_ + "/floor/" + std::to_string(i);
    fs::create_directories(dir + "/mnt");
    auto t = Steady::now();
    int fd = ::open((dir + "/disk.img").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
    ::close(fd);
    ASSERT_EQ(Host({"/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0", "-E",
                    "lazy_itable_init=1,lazy_journal_init=1", dir + "/disk.img"})
                  .exit_code,
              0);
    Cmd loop = Host({"/usr/sbin/losetup", "--find", "--show", dir + "/disk.img"});
    ASSERT_EQ(loop.exit_code, 0);
    std::string dev = loop.out.substr(0, loop.out.find('\n'));
    ASSERT_EQ(Host({"/usr/bin/mount", dev, dir + "/mnt"}).exit_code, 0);
    floor_disk.push_back(ms_since(t));
    auto tn = Steady::now();
    ASSERT_EQ(Host({"/usr/sbin/ip", "netns", "add", id}).exit_code, 0);
    ASSERT_EQ(Host({"/usr/sbin/ip", "-n", id, "link", "set", "lo", "up"}).exit_code, 0);
    ASSERT_TRUE(cni("ADD", id, "/run/netns/" + id));
    floor_net.push_back(ms_since(tn));
    // Not timed: the rootfs and bundle files (the manager's cost, not the floor's).
    NodeRecord r{"floor" + std::to_string(i),
                 "bench",
                 "floor",
                 kNodeRunning,
                 "",
                 64,
                 512,
                 "64M",
                 64 << 20,
                 0};
    NodeSpec spec = manager_->SpecFor(r);
    spec.rootfs = dir + "/mnt/rootfs";
    spec.netns_path = "/run/netns/" + id;
    PosixEnv host;
    ASSERT_TRUE(PopulateNodeRootfs(host, spec.rootfs, spec, "", "").ok());
    ASSERT_TRUE(WriteNodeBundle(host, dir + "/bundle", spec).ok());
    auto tr = Steady::now();
    ASSERT_EQ(
        Host({"/usr/sbin/runc", "--root", runc_root, "run", "-d", "--bundle", dir + "/bundle", id},
             dir + "/bundle/init.log")
            .exit_code,
        0);
    floor_run.push_back(ms_since(tr));
    floor_create.push_back(floor_disk.back() + floor_net.back() + floor_run.back());
    uids_.push_back(r.uid);
  }
  for (int i = 0; i < kRounds; ++i) {
    const std::string id = config_.instance + "-n-floor" + std::to_string(i);
    const std::string dir = data_dir_ + "/floor/" + std::to_string(i);
    auto t = Steady::now();
    ASSERT_EQ(Host({"/usr/sbin/runc", "--root", runc_root, "delete", "-f", id}).exit_code, 0);
    ASSERT_TRUE(cni("DEL", id, "/run/netns/" + id));
    ASSERT_EQ(Host({"/usr/sbin/ip", "netns", "delete", id}).exit_code, 0);
    ASSERT_EQ(Host({"/usr/bin/umount", dir + "/mnt"}).exit_code, 0);
    Cmd loops = Host({"/usr/sbin/losetup", "-j", dir + "/disk.img"});
    ASSERT_EQ(Host({"/usr/sbin/losetup", "-d", loops.out.substr(0, loops.out.find(':'))}).exit_code,
              0);
    fs::remove_all(dir);
    floor_destroy.push_back(ms_since(t));
  }
  std::printf("median of %d, ms:\n", kRounds);
  std::printf(
      "  create  NodeManager %7.1f   floor %7.1f (disk %.1f, netns+CNI %.1f, runc run -d %.1f)\n",
      median(create), median(floor_create), median(floor_disk), median(floor_net),
      median(floor_run));
  std::printf(
      "  delete  NodeManager %7.1f   floor %7.1f (runc delete -f, CNI DEL, netns, umount, "
      "losetup -d, rm)\n",
      median(destroy), median(floor_destroy));
}

}  // namespace
}  // namespace nexus::daemon::runtime
