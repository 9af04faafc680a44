#include "daemon/nodes/volume.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/runtime_fake_process.h"
#include "support/temp_dir.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;
using testing::FakeProcessRunner;
using testing::FakeProcessScript;

TEST(IsMountPointTest, MatchesTheMountPointFieldUnescaped) {
  const std::string mountinfo =
      "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "90 22 7:0 / /data/nodes/by-uid/abc/volume rw,nosuid,nodev - ext4 /dev/loop0 rw\n"
      "91 22 7:1 / /data/with\\040space/volume rw - ext4 /dev/loop1 rw\n";
  EXPECT_TRUE(IsMountPoint(mountinfo, "/data/nodes/by-uid/abc/volume"));
  EXPECT_TRUE(IsMountPoint(mountinfo, "/data/with space/volume"));
  EXPECT_TRUE(IsMountPoint(mountinfo, "/"));
  EXPECT_FALSE(IsMountPoint(mountinfo, "/data/nodes/by-uid/abc"));
  EXPECT_FALSE(IsMountPoint(mountinfo, "/data/nodes/by-uid/abc/volume/rootfs"));
  EXPECT_FALSE(IsMountPoint("", "/"));
}

TEST(ParseLosetupAssociationsTest, ListsEveryDeviceBackingTheImage) {
  EXPECT_EQ(ParseLosetupAssociations("/dev/loop3: [65024]:1234 (/data/disk.img)\n"
                                     "/dev/loop7: [65024]:1234 (/data/disk.img)\n"),
            (std::vector<std::string>{"/dev/loop3", "/dev/loop7"}));
  EXPECT_TRUE(ParseLosetupAssociations("").empty());
  EXPECT_TRUE(ParseLosetupAssociations("losetup: oops\n").empty());
}

// LoopVolumeManager driving fake tools: the order of the steps and the undo.
class LoopVolumeTest : public ::testing::Test {
 protected:
  LoopVolumeTest() {
    processes_.script = [this](const SpawnOptions& o) {
      FakeProcessScript s;
      s.outcome.exit_code = 0;
      const std::string tool = fs::path(o.argv[0]).filename();
      if (tool == "losetup" && o.argv[1] == "--find") s.outcome.stdout_data = "/dev/loop5\n";
      if (tool == "losetup" && o.argv[1] == "-j") s.outcome.stdout_data = attached_;
      if (tool == "mount" && !mount_error_.empty()) {
        s.outcome.exit_code = 32;
        s.outcome.stderr_data = mount_error_;
      }
      if (tool == "mkfs.ext4" && !mkfs_error_.empty()) {
        s.outcome.exit_code = 1;
        s.outcome.stderr_data = mkfs_error_;
      }
      return s;
    };
  }

  std::vector<std::vector<std::string>> Argvs() {
    std::vector<std::vector<std::string>> out;
    for (const auto& s : processes_.Spawned()) out.push_back(s.argv);
    return out;
  }

  testing::TempDir dir_;
  FakeProcessRunner processes_;
  std::string attached_;
  std::string mount_error_;
  std::string mkfs_error_;
  LoopVolumeManager volumes_{VolumeTools{}, processes_};
  VolumePaths paths_{dir_ / "disk.img", dir_ / "volume"};
};

TEST_F(LoopVolumeTest, CreateMakesASparseImageFormatsAttachesAndMounts) {
  ASSERT_TRUE(volumes_.Create(paths_, 96LL << 20).ok());
  struct stat st;
  ASSERT_EQ(::stat(paths_.image.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 96LL << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "sparse: nothing written yet";
  EXPECT_TRUE(fs::is_directory(paths_.mount_dir));
  auto argvs = Argvs();
  ASSERT_EQ(argvs.size(), 3u);
  EXPECT_EQ(argvs[0],
            (std::vector<std::string>{"/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0", "-E",
                                      "lazy_itable_init=1,lazy_journal_init=1", paths_.image}));
  EXPECT_EQ(argvs[1],
            (std::vector<std::string>{"/usr/sbin/losetup", "--find", "--show", paths_.image}));
  EXPECT_EQ(argvs[2], (std::vector<std::string>{"/usr/bin/mount", "-t", "ext4", "-o",
                                                "nosuid,nodev", "/dev/loop5", paths_.mount_dir}));
  EXPECT_FALSE(volumes_.Create(paths_, 96LL << 20).ok()) << "the image must not exist yet";
}

TEST_F(LoopVolumeTest, FailedFormatLeavesNothing) {
  mkfs_error_ = "mkfs.ext4: No space left on device";
  Status s = volumes_.Create(paths_, 96LL << 20);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(paths_.image));
  EXPECT_FALSE(fs::exists(paths_.mount_dir));
}

TEST_F(LoopVolumeTest, FailedMountDetachesTheLoopDeviceAndLeavesNothing) {
  mount_error_ = "mount: wrong fs type";
  attached_ = "/dev/loop5: [65024]:1 (" + paths_.image + ")\n";
  Status s = volumes_.Create(paths_, 96LL << 20);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("wrong fs type"), std::string::npos);
  auto argvs = Argvs();
  EXPECT_EQ(argvs.back(), (std::vector<std::string>{"/usr/sbin/losetup", "-d", "/dev/loop5"}));
  EXPECT_FALSE(fs::exists(paths_.image));
  EXPECT_FALSE(fs::exists(paths_.mount_dir));
}

TEST_F(LoopVolumeTest, RemoveDetachesEveryLoopOfTheImageAndDeletesTheFiles) {
  fs::create_directories(paths_.mount_dir);
  std::ofstream(paths_.image) << "x";
  attached_ = "/dev/loop5: [65024]:1 (" + paths_.image + ")\n/dev/loop6: [65024]:1 (" +
              paths_.image + ")\n";
  ASSERT_TRUE(volumes_.Remove(paths_).ok());
  auto argvs = Argvs();
  ASSERT_EQ(argvs.size(), 3u) << "not mounted: no umount";
  EXPECT_EQ(argvs[0], (std::vector<std::string>{"/usr/sbin/losetup", "-j", paths_.image}));
  EXPECT_EQ(argvs[1], (std::vector<std::string>{"/usr/sbin/losetup", "-d", "/dev/loop5"}));
  EXPECT_EQ(argvs[2], (std::vector<std::string>{"/usr/sbin/losetup", "-d", "/dev/loop6"}));
  EXPECT_FALSE(fs::exists(paths_.image));
  EXPECT_FALSE(fs::exists(paths_.mount_dir));
  ASSERT_TRUE(volumes_.Remove(paths_).ok()) << "idempotent";
}

}  // namespace
}  // namespace nexus::daemon::runtime
