#include "common/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <random>
#include <thread>

#include "common/fd.h"

namespace nexus {
namespace {

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PathError("write", path, errno);
    }
    if (n == 0) return PathError("write", path, EIO);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Unique among processes (pid), threads (counter) and restarts (random seed);
// the file is created O_EXCL anyway, so a collision is an error, not a mixup.
std::string TempNameBeside(const std::string& path) {
  static std::atomic<uint64_t> counter{std::random_device{}()};
  return DirName(path) + "/.tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

FileInfo InfoFrom(const struct stat& st) {
  FileInfo info;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  if (S_ISREG(st.st_mode)) {
    info.type = FileType::kRegular;
  } else if (S_ISDIR(st.st_mode)) {
    info.type = FileType::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    info.type = FileType::kSymlink;
  } else {
    info.type = FileType::kOther;
  }
  return info;
}

Status TooLarge(const std::string& path, size_t max_bytes) {
  return InvalidArgumentError("'" + path + "' is larger than " + std::to_string(max_bytes) +
                              " bytes");
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// WriteNewFile, handing the file to `owner` (when given) while it is still
// empty.
Status CreateFileWith(const std::string& path, std::string_view data, mode_t mode,
                      const FileOwner* owner) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return PathError("create", path, errno);
  if (owner != nullptr && ::fchown(fd.get(), owner->uid, owner->gid) != 0) {
    return PathError("chown", path, errno);
  }
  NEXUS_RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  // The umask must not narrow what the caller asked for.
  if (::fchmod(fd.get(), mode) != 0) return PathError("chmod", path, errno);
  if (fd.Close() != 0) return PathError("close", path, errno);
  return Status::Ok();
}

}  // namespace

// ENOENT and EEXIST are answers callers act on (create if missing, lost a
// race); the rest are environmental failures.
Status PathError(std::string_view operation, const std::string& path, int errno_value) {
  const std::string what = std::string(operation) + " '" + path + "'";
  switch (errno_value) {
    case ENOENT:
      return ErrnoError(StatusCode::kNotFound, what, errno_value);
    case EEXIST:
      return ErrnoError(StatusCode::kAlreadyExists, what, errno_value);
    default:
      return ErrnoError(StatusCode::kInternal, what, errno_value);
  }
}

Result<std::string> AbsolutePath(Env& env, const std::string& path) {
  std::string joined = path;
  if (path.empty() || path[0] != '/') {
    NEXUS_ASSIGN_OR_RETURN(std::string cwd, env.CurrentDir());
    joined = cwd + "/" + path;
  }
  std::vector<std::string> names;
  for (size_t begin = 0; begin <= joined.size();) {
    size_t end = joined.find('/', begin);
    if (end == std::string::npos) end = joined.size();
    std::string name = joined.substr(begin, end - begin);
    if (name == "..") {
      if (!names.empty()) names.pop_back();
    } else if (!name.empty() && name != ".") {
      names.push_back(std::move(name));
    }
    begin = end + 1;
  }
  std::string out;
  for (const auto& name : names) out += "/" + name;
  return out.empty() ? "/" : out;
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::string> PosixEnv::ReadFile(const std::string& path, size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PathError("open", path, errno);
  // The bound is on the bytes read, not on st_size: /proc files report 0
  // and sysfs attributes a whole page, whatever they hold. A file larger
  // than the bound costs at most one buffer more than it.
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PathError("read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return TooLarge(path, max_bytes);
  }
  return out;
}

Status PosixEnv::WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                                     WriteMode write_mode) {
  const std::string tmp = TempNameBeside(path);
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd.valid()) return PathError("create", tmp, errno);
    Status s = WriteAll(fd.get(), data, tmp);
    if (s.ok() && ::fsync(fd.get()) != 0) s = PathError("fsync", tmp, errno);
    if (s.ok() && fd.Close() != 0) s = PathError("close", tmp, errno);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (write_mode == WriteMode::kReplace) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return PathError("rename '" + tmp + "' to", path, e);
    }
  } else {
    // link(2) fails with EEXIST instead of replacing: the no-replace rename
    // that works on every file system (renameat2 does not).
    int rc = ::link(tmp.c_str(), path.c_str());
    int e = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) return PathError("link '" + tmp + "' to", path, e);
  }
  // The data is safe in the file by now; a failed directory sync only risks
  // the name after a crash, which is not worth failing the write for.
  (void)SyncDir(DirName(path));
  return Status::Ok();
}

Status PosixEnv::WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  return CreateFileWith(path, data, mode, nullptr);
}

Status PosixEnv::WriteNewFileAs(const std::string& path, std::string_view data, mode_t mode,
                                FileOwner owner) {
  return CreateFileWith(path, data, mode, &owner);
}

Status PosixEnv::MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return PathError("create directory", path, errno);
  // The umask must not narrow what the caller asked for.
  if (::chmod(path.c_str(), mode) != 0) return PathError("chmod", path, errno);
  return Status::Ok();
}

Status PosixEnv::MakeDirs(const std::string& path, mode_t mode) {
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    const std::string part = path.substr(0, end);
    if (!part.empty() && part.back() != '/' && ::mkdir(part.c_str(), mode) != 0) {
      struct stat st;
      if (errno != EEXIST || ::stat(part.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return PathError("create directory", part, errno == EEXIST ? ENOTDIR : errno);
      }
    }
    if (end == std::string::npos) return Status::Ok();
  }
}

Status PosixEnv::Chmod(const std::string& path, mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0) return PathError("chmod", path, errno);
  return Status::Ok();
}

Status PosixEnv::Chown(const std::string& path, FileOwner owner) {
  if (::lchown(path.c_str(), owner.uid, owner.gid) != 0) return PathError("chown", path, errno);
  return Status::Ok();
}

Status PosixEnv::Remove(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return Status::Ok();
  if (errno == EISDIR || errno == EPERM) {
    // unlink refuses directories (EISDIR on Linux, EPERM per POSIX).
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      if (::rmdir(path.c_str()) == 0) return Status::Ok();
      return PathError("remove directory", path, errno);
    }
    errno = EPERM;
  }
  return PathError("remove", path, errno);
}

Status PosixEnv::RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return PathError("stat", path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    NEXUS_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(path));
    for (const auto& name : names) NEXUS_RETURN_IF_ERROR(RemoveTree(path + "/" + name));
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
      return PathError("remove directory", path, errno);
    }
    return Status::Ok();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PathError("remove", path, errno);
  return Status::Ok();
}

Status PosixEnv::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return PathError("rename '" + from + "' to", to, errno);
  }
  return Status::Ok();
}

Status PosixEnv::Symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0) return PathError("symlink", link, errno);
  return Status::Ok();
}

Result<std::string> PosixEnv::ReadLink(const std::string& path) {
  char target[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), target, sizeof target);
  if (n < 0) return PathError("readlink", path, errno);
  if (static_cast<size_t>(n) == sizeof target) return PathError("readlink", path, ENAMETOOLONG);
  return std::string(target, static_cast<size_t>(n));
}

Status PosixEnv::SyncDir(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return PathError("open directory", path, errno);
  if (::fsync(fd.get()) != 0) return PathError("fsync directory", path, errno);
  return Status::Ok();
}

Result<std::vector<std::string>> PosixEnv::ListDir(const std::string& path) {
  std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
  if (!dir) return PathError("list directory", path, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return PathError("list directory", path, errno);
      break;
    }
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<FileInfo> PosixEnv::Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PathError("stat", path, errno);
  return InfoFrom(st);
}

Result<FileInfo> PosixEnv::LinkStat(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return PathError("stat", path, errno);
  return InfoFrom(st);
}

Result<std::string> PosixEnv::CurrentDir() {
  char dir[PATH_MAX];
  if (::getcwd(dir, sizeof dir) == nullptr) return PathError("getcwd", ".", errno);
  return std::string(dir);
}

void PosixEnv::SleepFor(std::chrono::milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

}  // namespace nexus
