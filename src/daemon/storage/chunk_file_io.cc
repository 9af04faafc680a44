#include "daemon/storage/chunk_file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/fd.h"
#include "common/insufficient_storage.h"

namespace nexus::daemon::storage {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

}  // namespace

Status DiskError(std::string_view what, const std::string& path, int e) {
  if (e == ENOSPC || e == EDQUOT) {
    spdlog::warn("chunk store full: {} '{}': {}", what, path, std::strerror(e));
    return InsufficientStorageError();
  }
  return ErrnoError(StatusCode::kInternal, std::string(what) + " '" + path + "'", e);
}

Result<bool> MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return true;
  if (errno == EEXIST) return false;
  return DiskError("create directory", dir, errno);
}

Status WriteAll(int fd, std::span<const std::string_view> pieces, const std::string& path) {
  iovec iov[IOV_MAX];
  size_t next = 0;  // first piece not yet (fully) written
  size_t done = 0;  // bytes of pieces[next] already written
  while (next < pieces.size()) {
    int count = 0;
    for (size_t i = next; i < pieces.size() && count < IOV_MAX; ++i) {
      const size_t skip = i == next ? done : 0;
      if (pieces[i].size() == skip) continue;
      iov[count].iov_base = const_cast<char*>(pieces[i].data() + skip);
      iov[count].iov_len = pieces[i].size() - skip;
      ++count;
    }
    if (count == 0) break;
    ssize_t n = ::writev(fd, iov, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return DiskError("write", path, errno);
    }
    if (n == 0) return DiskError("write", path, EIO);
    // Advance past what was written.
    auto left = static_cast<size_t>(n);
    while (next < pieces.size() && left >= pieces[next].size() - done) {
      left -= pieces[next].size() - done;
      done = 0;
      ++next;
    }
    done += left;
  }
  return Status::Ok();
}

Result<size_t> ReadFull(int fd, std::span<char> out, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return DiskError("read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<bool> RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS) return DiskError("rename to", to, errno);
  // The filesystem cannot refuse to replace; the target holds the same bytes
  // anyway (same hash), so a plain rename is correct, merely not minimal.
  if (::rename(from.c_str(), to.c_str()) != 0) return DiskError("rename to", to, errno);
  return true;
}

Status FsyncPath(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return DiskError("open for fsync", path, errno);
  if (::fsync(fd.get()) != 0) return DiskError("fsync", path, errno);
  return Status::Ok();
}

Status FsyncAll(const std::vector<std::string>& paths, std::vector<char>* failed) {
  failed->assign(paths.size(), 0);
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
      Status s = FsyncPath(paths[i]);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        (*failed)[i] = 1;
        if (first.ok()) first = std::move(s);
      }
    }
  };
  std::vector<std::thread> threads;
  const size_t helpers = paths.empty() ? 0 : std::min(kSyncThreads, paths.size()) - 1;
  for (size_t i = 0; i < helpers; ++i) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no thread to spare: the threads we have (at least this one) do it all
    }
  }
  work();
  for (auto& t : threads) t.join();
  return first;
}

Status ListDirectory(const std::string& dir, std::vector<std::string>* names) {
  DirPtr d(::opendir(dir.c_str()));
  if (!d) return DiskError("open directory", dir, errno);
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names->push_back(std::move(name));
  }
  if (errno != 0) return DiskError("read directory", dir, errno);
  return Status::Ok();
}

}  // namespace nexus::daemon::storage
