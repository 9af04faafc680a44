#include "daemon/nodes/volume.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/memory_env.h"
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

// Fake mkfs, losetup and mount: the order of the steps and the undo.
class FakeVolumeTools {
 public:
  FakeVolumeTools() {
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

  FakeProcessRunner processes_;
  std::string attached_;  // what `losetup -j` prints
  std::string mount_error_;
  std::string mkfs_error_;
};

// The bookkeeping (mount point, mount table, removing files) over a MemoryEnv.
class LoopVolumeTest : public ::testing::Test, public FakeVolumeTools {
 protected:
  // `paths_.mount_dir` as the kernel's mount table lists a mounted volume.
  void ListAsMounted() {
    files_.PutFile("/proc/self/mountinfo",
                   "90 22 7:5 / " + paths_.mount_dir + " rw,nosuid,nodev - ext4 /dev/loop5 rw\n");
  }

  MemoryEnv files_;
  LoopVolumeManager volumes_{VolumeTools{}, processes_, files_};
  VolumePaths paths_{"/var/lib/nexus/nodes/by-uid/abc/disk.img",
                     "/var/lib/nexus/nodes/by-uid/abc/volume"};
};

TEST_F(LoopVolumeTest, RemoveDetachesEveryLoopOfTheImageAndDeletesTheFiles) {
  ASSERT_TRUE(files_.MakeDirs(paths_.mount_dir, 0755).ok());
  files_.PutFile(paths_.image, "x");
  attached_ = "/dev/loop5: [65024]:1 (" + paths_.image + ")\n/dev/loop6: [65024]:1 (" +
              paths_.image + ")\n";
  ASSERT_TRUE(volumes_.Remove(paths_).ok());
  auto argvs = Argvs();
  ASSERT_EQ(argvs.size(), 3u) << "not mounted: no umount";
  EXPECT_EQ(argvs[0], (std::vector<std::string>{"/usr/sbin/losetup", "-j", paths_.image}));
  EXPECT_EQ(argvs[1], (std::vector<std::string>{"/usr/sbin/losetup", "-d", "/dev/loop5"}));
  EXPECT_EQ(argvs[2], (std::vector<std::string>{"/usr/sbin/losetup", "-d", "/dev/loop6"}));
  EXPECT_FALSE(files_.Exists(paths_.image));
  EXPECT_FALSE(files_.Exists(paths_.mount_dir));
  ASSERT_TRUE(volumes_.Remove(paths_).ok()) << "idempotent";
}

TEST_F(LoopVolumeTest, MountAttachesAnImageOnceAndAMountedVolumeIsLeftAlone) {
  files_.PutFile(paths_.image, "x");
  ASSERT_TRUE(volumes_.Mount(paths_).ok());
  EXPECT_TRUE(files_.IsDir(paths_.mount_dir)) << "the mount point is made again";
  auto argvs = Argvs();
  ASSERT_EQ(argvs.size(), 3u);
  EXPECT_EQ(argvs[0], (std::vector<std::string>{"/usr/sbin/losetup", "-j", paths_.image}))
      << "a loop device left attached is detached first";
  EXPECT_EQ(argvs[1],
            (std::vector<std::string>{"/usr/sbin/losetup", "--find", "--show", paths_.image}));
  EXPECT_EQ(argvs[2], (std::vector<std::string>{"/usr/bin/mount", "-t", "ext4", "-o",
                                                "nosuid,nodev", "/dev/loop5", paths_.mount_dir}));

  ListAsMounted();
  EXPECT_TRUE(volumes_.Mounted(paths_));
  ASSERT_TRUE(volumes_.Mount(paths_).ok());
  EXPECT_EQ(Argvs().size(), 3u) << "mounted already: nothing to do";
}

TEST_F(LoopVolumeTest, MountWithoutAnImageFailsAndRunsNothing) {
  Status s = volumes_.Mount(paths_);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find(paths_.image), std::string::npos) << s.message();
  EXPECT_TRUE(Argvs().empty());
}

TEST_F(LoopVolumeTest, UnmountUnmountsAMountedVolumeThenDetachesItsLoops) {
  files_.PutFile(paths_.image, "x");
  ListAsMounted();
  attached_ = "/dev/loop5: [65024]:1 (" + paths_.image + ")\n";
  ASSERT_TRUE(volumes_.Unmount(paths_).ok());
  auto argvs = Argvs();
  ASSERT_EQ(argvs.size(), 3u);
  EXPECT_EQ(argvs[0], (std::vector<std::string>{"/usr/bin/umount", paths_.mount_dir}));
  EXPECT_EQ(argvs[1], (std::vector<std::string>{"/usr/sbin/losetup", "-j", paths_.image}));
  EXPECT_EQ(argvs[2], (std::vector<std::string>{"/usr/sbin/losetup", "-d", "/dev/loop5"}));
}

// Create over a real directory: the image is the kernel's (a sparse file).
class LoopVolumeCreateTest : public ::testing::Test, public FakeVolumeTools {
 protected:
  testing::TempDir dir_;
  PosixEnv files_;
  LoopVolumeManager volumes_{VolumeTools{}, processes_, files_};
  VolumePaths paths_{dir_ / "disk.img", dir_ / "volume"};
};

TEST_F(LoopVolumeCreateTest, CreateMakesASparseImageFormatsAttachesAndMounts) {
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

TEST_F(LoopVolumeCreateTest, FailedFormatLeavesNothing) {
  mkfs_error_ = "mkfs.ext4: No space left on device";
  Status s = volumes_.Create(paths_, 96LL << 20);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(paths_.image));
  EXPECT_FALSE(fs::exists(paths_.mount_dir));
}

TEST_F(LoopVolumeCreateTest, FailedMountDetachesTheLoopDeviceAndLeavesNothing) {
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

}  // namespace
}  // namespace nexus::daemon::runtime
