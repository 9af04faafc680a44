#include "daemon/nodes/volume.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <sstream>

#include "common/env.h"
#include "common/mountinfo.h"

namespace nexus::daemon::runtime {
namespace {

const std::vector<std::string> kToolEnv = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// A remove that tolerates what is gone already.
Status RemoveIfPresent(Env& files, const std::string& path) {
  Status removed = files.Remove(path);
  return removed.code() == StatusCode::kNotFound ? Status::Ok() : removed;
}

// The mount point, made if missing (it outlives unmounts, not Remove()).
Status MakeMountDir(Env& files, const std::string& dir) {
  Status made = files.MakeDir(dir, 0755);
  return made.code() == StatusCode::kAlreadyExists ? Status::Ok() : made;
}

}  // namespace

bool IsMountPoint(const std::string& mountinfo, const std::string& path) {
  for (const auto& mount : ParseMountinfo(mountinfo)) {
    if (mount.mount_point == path) return true;
  }
  return false;
}

std::vector<std::string> ParseLosetupAssociations(const std::string& text) {
  std::vector<std::string> devices;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos || line.rfind("/dev/", 0) != 0) continue;
    devices.push_back(line.substr(0, colon));
  }
  return devices;
}

LoopVolumeManager::LoopVolumeManager(VolumeTools tools, ProcessRunner& processes, Env& files)
    : tools_(std::move(tools)), processes_(processes), files_(files) {}

Result<ProcessOutcome> LoopVolumeManager::Tool(const std::string& what,
                                               std::vector<std::string> argv) {
  SpawnOptions spawn;
  spawn.argv = std::move(argv);
  spawn.env = kToolEnv;
  CommunicateOptions io;
  io.timeout_ms = tools_.timeout_ms;
  io.stdout_limit = 64 << 10;
  io.stderr_limit = 64 << 10;
  auto outcome = processes_.Run(spawn, io);
  if (!outcome.ok()) return outcome.status().WithContext(what);
  if (outcome->timed_out) return InternalError(what + ": did not finish in time");
  if (outcome->exit_code != 0) {
    std::string err = Trim(outcome->stderr_data);
    if (err.empty()) err = "exit status " + std::to_string(outcome->ShellExitCode());
    return InternalError(what + ": " + err);
  }
  return outcome;
}

bool LoopVolumeManager::Mounted(const VolumePaths& paths) {
  // The kernel's view of this process's mounts.
  auto mountinfo = files_.ReadFile("/proc/self/mountinfo", 16 << 20);
  return mountinfo.ok() && IsMountPoint(*mountinfo, paths.mount_dir);
}

// This and FreeBytes ask the kernel about blocks (allocated, available),
// which an Env does not describe: they stay plain calls on the real image.
Result<int64_t> LoopVolumeManager::AllocatedBytes(const VolumePaths& paths) {
  struct stat st;
  if (::stat(paths.image.c_str(), &st) != 0) {
    if (errno == ENOENT) return int64_t{0};
    return ErrnoError(StatusCode::kInternal, "stat '" + paths.image + "'", errno);
  }
  return static_cast<int64_t>(st.st_blocks) * 512;  // st_blocks counts 512-byte units
}

Result<int64_t> LoopVolumeManager::FreeBytes(const std::string& dir) {
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) {
    return ErrnoError(StatusCode::kInternal, "statvfs '" + dir + "'", errno);
  }
  return static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
}

Status LoopVolumeManager::AttachAndMount(const VolumePaths& paths) {
  NEXUS_ASSIGN_OR_RETURN(ProcessOutcome attached,
                         Tool("attach '" + paths.image + "' to a loop device",
                              {tools_.losetup, "--find", "--show", paths.image}));
  const std::string device = Trim(attached.stdout_data);
  if (device.rfind("/dev/", 0) != 0) {
    (void)DetachLoops(paths);
    return InternalError("attach '" + paths.image + "': losetup printed '" + device + "'");
  }
  Status mounted = Tool("mount '" + paths.image + "' at '" + paths.mount_dir + "'",
                        {tools_.mount, "-t", "ext4", "-o", "nosuid,nodev", device, paths.mount_dir})
                       .status();
  if (!mounted.ok()) (void)DetachLoops(paths);
  return mounted;
}

Status LoopVolumeManager::Create(const VolumePaths& paths, int64_t bytes) {
  // The image is the loop device's data, sized by the kernel (a sparse
  // ftruncate): plain calls, not Env's whole-file writes.
  int fd = ::open(paths.image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(StatusCode::kInternal, "create '" + paths.image + "'", errno);
  if (::ftruncate(fd, bytes) != 0) {
    int e = errno;
    ::close(fd);
    (void)files_.Remove(paths.image);
    return ErrnoError(StatusCode::kInternal, "size '" + paths.image + "'", e);
  }
  ::close(fd);
  auto undo = [&](Status failed) {
    (void)files_.Remove(paths.image);
    (void)files_.Remove(paths.mount_dir);
    return failed;
  };
  Status formatted =
      Tool("format '" + paths.image + "'", {tools_.mkfs, "-q", "-F", "-m", "0", "-E",
                                            "lazy_itable_init=1,lazy_journal_init=1", paths.image})
          .status();
  if (!formatted.ok()) return undo(formatted);
  if (Status made = MakeMountDir(files_, paths.mount_dir); !made.ok()) return undo(made);
  Status mounted = AttachAndMount(paths);
  if (!mounted.ok()) return undo(mounted);
  return Status::Ok();
}

Status LoopVolumeManager::Mount(const VolumePaths& paths) {
  if (Mounted(paths)) return Status::Ok();
  if (auto image = files_.Stat(paths.image); !image.ok()) {
    return InternalError("mount volume '" + paths.image + "': " + image.status().message());
  }
  NEXUS_RETURN_IF_ERROR(MakeMountDir(files_, paths.mount_dir));
  // A loop device left attached (nexusd stopped between the steps) is
  // detached first, so the image is never attached twice.
  NEXUS_RETURN_IF_ERROR(DetachLoops(paths));
  return AttachAndMount(paths);
}

Status LoopVolumeManager::DetachLoops(const VolumePaths& paths) {
  if (!files_.Exists(paths.image)) return Status::Ok();  // no image, no loop
  NEXUS_ASSIGN_OR_RETURN(ProcessOutcome listed, Tool("list loop devices of '" + paths.image + "'",
                                                     {tools_.losetup, "-j", paths.image}));
  Status first;
  for (const auto& device : ParseLosetupAssociations(listed.stdout_data)) {
    Status s = Tool("detach loop device '" + device + "'", {tools_.losetup, "-d", device}).status();
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Status LoopVolumeManager::Unmount(const VolumePaths& paths) {
  if (Mounted(paths)) {
    NEXUS_RETURN_IF_ERROR(
        Tool("unmount '" + paths.mount_dir + "'", {tools_.umount, paths.mount_dir}).status());
  }
  return DetachLoops(paths);
}

Status LoopVolumeManager::Remove(const VolumePaths& paths) {
  NEXUS_RETURN_IF_ERROR(Unmount(paths));
  NEXUS_RETURN_IF_ERROR(RemoveIfPresent(files_, paths.image));
  return RemoveIfPresent(files_, paths.mount_dir);
}

}  // namespace nexus::daemon::runtime
