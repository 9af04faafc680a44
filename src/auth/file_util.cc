#include "auth/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "auth/crypto.h"

namespace nexus::auth {
namespace {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes now so that a close error (delayed write failure) can be reported.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(StatusCode::kInternal, "write '" + what + "'", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Durability of the rename/link itself; failure here is not worth failing
// the write for (the data is already safe in the file).
void SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) (void)::fsync(fd.get());
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t perms,
                           WriteMode mode) {
  const std::string dir = DirName(path);
  const std::string tmp = dir + "/.tmp-" + ToHex(RandomBytes(8));
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, perms));
    if (fd.get() < 0) return ErrnoError(StatusCode::kInternal, "create '" + tmp + "'", errno);
    Status s = WriteAll(fd.get(), data, tmp);
    if (s.ok() && ::fsync(fd.get()) != 0)
      s = ErrnoError(StatusCode::kInternal, "fsync '" + tmp + "'", errno);
    if (s.ok() && fd.Close() != 0)
      s = ErrnoError(StatusCode::kInternal, "close '" + tmp + "'", errno);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (mode == WriteMode::kReplace) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      return ErrnoError(StatusCode::kInternal, "rename '" + tmp + "' to '" + path + "'", e);
    }
  } else {
    int rc = ::link(tmp.c_str(), path.c_str());
    int e = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
      if (e == EEXIST) return AlreadyExistsError("'" + path + "' already exists");
      return ErrnoError(StatusCode::kInternal, "link '" + tmp + "' to '" + path + "'", e);
    }
  }
  SyncDir(dir);
  return Status::Ok();
}

Status MakePrivateDirs(const std::string& dir) {
  for (size_t end = dir.find('/', 1);; end = dir.find('/', end + 1)) {
    const std::string part = dir.substr(0, end);
    if (!part.empty() && part.back() != '/' && ::mkdir(part.c_str(), 0700) != 0) {
      struct stat st;
      if (errno != EEXIST || ::stat(part.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return ErrnoError(StatusCode::kInternal, "create directory '" + part + "'",
                          errno == EEXIST ? ENOTDIR : errno);
      }
    }
    if (end == std::string::npos) return Status::Ok();
  }
}

Result<FileContents> ReadSmallFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFoundError("'" + path + "' does not exist");
    return ErrnoError(StatusCode::kInternal, "open '" + path + "'", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoError(StatusCode::kInternal, "stat '" + path + "'", errno);
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return InvalidArgumentError("'" + path + "' is larger than " + std::to_string(max_bytes) +
                                " bytes");
  }
  FileContents out;
  out.perms = st.st_mode & 07777;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(StatusCode::kInternal, "read '" + path + "'", errno);
    }
    if (n == 0) break;
    out.data.append(buf, static_cast<size_t>(n));
    if (out.data.size() > max_bytes) {
      return InvalidArgumentError("'" + path + "' is larger than " + std::to_string(max_bytes) +
                                  " bytes");
    }
  }
  return out;
}

}  // namespace nexus::auth
