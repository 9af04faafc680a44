// VolumeManager: a node's disk — a sparse file of exactly its storage size,
// formatted ext4 and loop-mounted, so that the node's writes stop with ENOSPC
// at that size (ARCHITECTURE.md "Nodes").
//
// Create() makes the image (ftruncate: sparse, so the host pays only for what
// is written), formats it (mkfs.ext4 with lazy inode-table and journal init
// and no reserved blocks: a node's root would use them anyway), attaches it
// to a free loop device (`losetup --find --show`) and mounts it (nosuid,
// nodev) at the mount point; a failure undoes the earlier steps. Unmount()
// unmounts and detaches every loop device backed by the image (`losetup -j`),
// so it needs no remembered device name and works after a crash or reboot.
// Remove() unmounts and deletes image and mount point. Mount(), Unmount() and
// Remove() are idempotent.
//
// LoopVolumeManager holds no state (the mount table and the loop devices are
// the state) and is thread-safe for different volumes. Its bookkeeping (the
// mount point, removing files, reading the mount table) goes through an Env;
// the image itself (creating and sizing it, its allocated and free blocks)
// is the kernel's. Other code's tests use FakeVolumeManager
// (tests/support/nodes_fakes.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/result.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

struct VolumePaths {
  std::string image;      // absolute: the ext4 image file
  std::string mount_dir;  // absolute: where it is mounted
};

class VolumeManager {
 public:
  virtual ~VolumeManager() = default;
  // `paths.image` must not exist; the mount point is created. Leaves the
  // volume mounted; on failure leaves nothing.
  virtual Status Create(const VolumePaths& paths, int64_t bytes) = 0;
  // Mounts an existing image (after a reboot); mounted already is success.
  virtual Status Mount(const VolumePaths& paths) = 0;
  virtual Status Unmount(const VolumePaths& paths) = 0;
  // Unmounts, then deletes the image and the (empty) mount point.
  virtual Status Remove(const VolumePaths& paths) = 0;
  virtual bool Mounted(const VolumePaths& paths) = 0;
  // What the image takes on the host's disk now (its allocated blocks: a
  // sparse image takes far less than its size until the node writes). An
  // absent image takes 0.
  virtual Result<int64_t> AllocatedBytes(const VolumePaths& paths) = 0;
  // Free bytes (available to unprivileged users, so the filesystem's own
  // reserve stays untouched) on the filesystem holding `dir`.
  virtual Result<int64_t> FreeBytes(const std::string& dir) = 0;
};

struct VolumeTools {
  std::string mkfs = "/usr/sbin/mkfs.ext4";
  std::string losetup = "/usr/sbin/losetup";
  std::string mount = "/usr/bin/mount";
  std::string umount = "/usr/bin/umount";
  int64_t timeout_ms = 60000;  // per command; mkfs of a large image takes a while
};

class LoopVolumeManager final : public VolumeManager {
 public:
  // `processes` and `files` must outlive the manager.
  LoopVolumeManager(VolumeTools tools, ProcessRunner& processes, Env& files);

  Status Create(const VolumePaths& paths, int64_t bytes) override;
  Status Mount(const VolumePaths& paths) override;
  Status Unmount(const VolumePaths& paths) override;
  Status Remove(const VolumePaths& paths) override;
  bool Mounted(const VolumePaths& paths) override;
  Result<int64_t> AllocatedBytes(const VolumePaths& paths) override;
  Result<int64_t> FreeBytes(const std::string& dir) override;

 private:
  Result<ProcessOutcome> Tool(const std::string& what, std::vector<std::string> argv);
  Status AttachAndMount(const VolumePaths& paths);
  Status DetachLoops(const VolumePaths& paths);

  VolumeTools tools_;
  ProcessRunner& processes_;
  Env& files_;
};

// Whether `path` is a mount point according to `mountinfo` (the text of
// /proc/self/mountinfo; fields unescaped).
bool IsMountPoint(const std::string& mountinfo, const std::string& path);

// The loop devices `losetup -j <image>` lists ("/dev/loop3: []: (...)" each).
std::vector<std::string> ParseLosetupAssociations(const std::string& text);

}  // namespace nexus::daemon::runtime
