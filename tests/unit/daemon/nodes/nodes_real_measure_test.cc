// Create and Delete on the real host (nodes_real_rig.h) against the bare
// commands they cannot avoid; disabled unless asked for.
#include <gtest/gtest.h>

#include "nodes_real_rig.h"

namespace nexus::daemon::runtime {
namespace {

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
