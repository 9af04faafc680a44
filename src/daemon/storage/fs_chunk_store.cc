#include "daemon/storage/fs_chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <set>
#include <vector>

#include "common/fd.h"
#include "common/private_files.h"
#include "common/sha256.h"
#include "daemon/storage/chunk_file_io.h"

namespace nexus::daemon::storage {
namespace {

constexpr std::string_view kTempPrefix = ".tmp-";

Status CheckHash(const std::string& hash) {
  if (!IsSha256Hex(hash)) return InvalidArgumentError("invalid chunk hash '" + hash + "'");
  return Status::Ok();
}

uint32_t HexValue(std::string_view hex) {
  uint32_t v = 0;
  for (char c : hex) v = (v << 4) | static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
}

// The directory of a chunk's path.
std::string DirOf(const std::string& path, const std::string& hash) {
  return path.substr(0, path.size() - hash.size() - 1);
}

}  // namespace

Result<std::unique_ptr<FsChunkStore>> FsChunkStore::Open(const std::string& root) {
  if (root.empty()) return InvalidArgumentError("chunk store directory is empty");
  // Every user's bytes live below: 0700 (tightened if it exists), and so are
  // the directories Put makes; chunk files are 0600.
  NEXUS_RETURN_IF_ERROR(MakePrivateDirectory(root).WithContext("chunk store"));
  return std::unique_ptr<FsChunkStore>(new FsChunkStore(root));
}

std::string FsChunkStore::PathOf(const std::string& hash) const {
  return root_ + "/" + hash.substr(0, 2) + "/" + hash.substr(2, 2) + "/" + hash;
}

Status FsChunkStore::EnsureDirs(const std::string& hash) {
  const std::string top = root_ + "/" + hash.substr(0, 2);
  const std::string leaf = top + "/" + hash.substr(2, 2);
  struct stat st;
  if (::stat(leaf.c_str(), &st) == 0) return Status::Ok();
  // No fsync here: the first Sync of a chunk in this directory makes its
  // entries durable (see Sync), together with the rest of the batch.
  NEXUS_RETURN_IF_ERROR(MakeDir(top).status());
  return MakeDir(leaf).status();
}

Result<bool> FsChunkStore::Put(const std::string& hash, std::string_view bytes) {
  return PutPieces(hash, std::span<const std::string_view>(&bytes, 1));
}

Result<bool> FsChunkStore::PutPieces(const std::string& hash,
                                     std::span<const std::string_view> pieces) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  const std::string path = PathOf(hash);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return false;
  if (errno != ENOENT) return DiskError("stat", path, errno);
  NEXUS_RETURN_IF_ERROR(EnsureDirs(hash));

  const std::string dir = path.substr(0, path.size() - hash.size() - 1);
  const std::string temp = dir + "/" + std::string(kTempPrefix) + hash + "-" +
                           std::to_string(::getpid()) + "-" + std::to_string(++temp_counter_);
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return DiskError("open for writing", temp, errno);
  auto fail = [&](Status s) {
    ::unlink(temp.c_str());
    return s;
  };
  if (Status s = WriteAll(fd.get(), pieces, temp); !s.ok()) return fail(s);
  // Start writing back now, without waiting, so the disk works while the
  // upload goes on and Sync finds little left to write. Only a hint: Sync's
  // fsync reports any write error.
  (void)::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
  if (fd.Close() != 0) return fail(DiskError("close", temp, errno));
  {
    // Marked before the rename: from the moment another Put can find the
    // chunk present, a Sync naming it must still fsync it. A mark left by a
    // failed or lost rename only costs an extra fsync later.
    std::lock_guard lock(unsynced_mu_);
    unsynced_.insert(hash);
  }
  Result<bool> renamed = RenameNoReplace(temp, path);
  if (!renamed.ok()) return fail(renamed.status());
  if (!*renamed) {
    // Another writer stored the same chunk first; keep theirs untouched.
    ::unlink(temp.c_str());
    return false;
  }
  {
    // A fresh inode: whatever failed for an earlier copy does not apply.
    std::lock_guard lock(unsynced_mu_);
    failed_.erase(hash);
  }
  return true;
}

Status FsChunkStore::Sync(const std::vector<std::string>& hashes) {
  std::vector<std::string> pending;
  {
    std::unique_lock lock(unsynced_mu_);
    // A chunk that another Sync is fsyncing is waited for, then looked at
    // again, never fsynced beside it: Linux reports a write-back error to
    // one fsync only, so a second one could succeed and call bytes durable
    // that never reached the disk.
    for (;;) {
      pending.clear();
      bool busy = false;
      for (const auto& hash : hashes) {
        if (failed_.count(hash)) {
          return InternalError("chunk " + hash +
                               ": an earlier fsync of it failed, so its bytes may not be on disk");
        }
        if (!unsynced_.count(hash)) continue;
        if (in_flight_.count(hash)) {
          busy = true;
          break;
        }
        pending.push_back(hash);
      }
      if (!busy) break;
      sync_done_.wait(lock);
    }
    std::sort(pending.begin(), pending.end());
    pending.erase(std::unique(pending.begin(), pending.end()), pending.end());
    in_flight_.insert(pending.begin(), pending.end());
  }
  if (pending.empty()) return Status::Ok();
  // Runs after the outcome is recorded below (declared before its locks).
  struct InFlightRelease {
    FsChunkStore& store;
    const std::vector<std::string>& hashes;
    ~InFlightRelease() {
      {
        std::lock_guard lock(store.unsynced_mu_);
        for (const auto& hash : hashes) store.in_flight_.erase(hash);
      }
      store.sync_done_.notify_all();
    }
  } release{*this, pending};

  // Each renamed entry needs its leaf directory synced. A leaf not yet known
  // durable may be new (EnsureDirs does not sync): its entry in the top
  // directory is synced too, and a top not yet known durable gets the root
  // synced. A directory that existed before an fsync of its parent is
  // durable after it, so the marks are set once the fsyncs succeeded.
  struct Deps {
    std::string leaf;
    std::string top;    // empty: the leaf is known durable
    bool root = false;  // the top may be new
  };
  std::vector<Deps> deps(pending.size());
  std::vector<std::string> paths;
  std::set<std::string> dirs;
  {
    std::lock_guard lock(unsynced_mu_);
    for (size_t i = 0; i < pending.size(); ++i) {
      const std::string& hash = pending[i];
      paths.push_back(PathOf(hash));
      deps[i].leaf = DirOf(paths.back(), hash);
      if (!durable_leaves_[LeafIndex(hash)]) deps[i].top = root_ + "/" + hash.substr(0, 2);
      deps[i].root = !durable_tops_[TopIndex(hash)];
    }
  }
  for (const Deps& d : deps) {
    dirs.insert(d.leaf);
    if (!d.top.empty()) dirs.insert(d.top);
    if (d.root) dirs.insert(root_);
  }
  paths.insert(paths.end(), dirs.begin(), dirs.end());
  std::vector<char> failed;
  const auto fsync_started = std::chrono::steady_clock::now();
  Status synced = FsyncAll(paths, &failed);
  if (sync_latency_) {
    sync_latency_->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - fsync_started).count());
  }
  if (Status s = std::move(synced); !s.ok()) {
    // Linux reports a write-back error to one fsync only: a later fsync of
    // the same file may succeed although its bytes never reached the disk.
    // So a chunk whose fsync (or one of its directories') failed fails every
    // later Sync until it is removed — the failed upload's cleanup removes it
    // when nothing references it — or written afresh.
    std::set<std::string> failed_dirs;
    for (size_t i = pending.size(); i < paths.size(); ++i) {
      if (failed[i]) failed_dirs.insert(paths[i]);
    }
    std::lock_guard lock(unsynced_mu_);
    for (size_t i = 0; i < pending.size(); ++i) {
      const Deps& d = deps[i];
      if (failed[i] || failed_dirs.count(d.leaf) || (!d.top.empty() && failed_dirs.count(d.top)) ||
          (d.root && failed_dirs.count(root_))) {
        failed_.insert(pending[i]);
      }
    }
    return s.WithContext("sync " + std::to_string(pending.size()) + " chunks");
  }
  // The callers lease these chunks, so none was removed and re-created (not
  // yet durable again) while we synced it.
  std::lock_guard lock(unsynced_mu_);
  last_synced_paths_ = paths;
  std::sort(last_synced_paths_.begin(), last_synced_paths_.end());
  for (const auto& hash : pending) {
    unsynced_.erase(hash);
    durable_leaves_[LeafIndex(hash)] = true;
    durable_tops_[TopIndex(hash)] = true;
  }
  return Status::Ok();
}

size_t FsChunkStore::LeafIndex(const std::string& hash) {
  return HexValue(std::string_view(hash).substr(0, 4));
}

size_t FsChunkStore::TopIndex(const std::string& hash) {
  return HexValue(std::string_view(hash).substr(0, 2));
}

std::vector<std::string> FsChunkStore::last_synced_paths() {
  std::lock_guard lock(unsynced_mu_);
  return last_synced_paths_;
}

size_t FsChunkStore::unsynced_count() {
  std::lock_guard lock(unsynced_mu_);
  return unsynced_.size();
}

Result<bool> FsChunkStore::Has(const std::string& hash) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  const std::string path = PathOf(hash);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return DiskError("stat", path, errno);
}

namespace {

Status Verify(const std::string& hash, std::string_view bytes) {
  const std::string actual = Sha256::HexDigest(bytes);
  if (actual != hash) {
    return InternalError("chunk " + hash + " is corrupt: its content hashes to " + actual);
  }
  return Status::Ok();
}

// Opens chunk `hash`, stored at `path`, for reading and sets `*size`; the
// caller owns the descriptor.
Result<int> OpenChunk(const std::string& hash, const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError("chunk " + hash + " not found");
    return DiskError("open for reading", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return DiskError("stat", path, e);
  }
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

}  // namespace

Result<std::string> FsChunkStore::Get(const std::string& hash) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  const std::string path = PathOf(hash);
  uint64_t size = 0;
  NEXUS_ASSIGN_OR_RETURN(int raw_fd, OpenChunk(hash, path, &size));
  Fd fd(raw_fd);
  std::string bytes(static_cast<size_t>(size), '\0');
  // Truncated underneath us: the hash check catches it.
  NEXUS_ASSIGN_OR_RETURN(size_t done, ReadFull(fd.get(), bytes, path));
  bytes.resize(done);
  NEXUS_RETURN_IF_ERROR(Verify(hash, bytes));
  return bytes;
}

Status FsChunkStore::ReadInto(const std::string& hash, std::span<char> out) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  const std::string path = PathOf(hash);
  uint64_t size = 0;
  NEXUS_ASSIGN_OR_RETURN(int raw_fd, OpenChunk(hash, path, &size));
  Fd fd(raw_fd);
  if (size != out.size()) return ChunkSizeMismatch(hash, size, out.size());
  NEXUS_ASSIGN_OR_RETURN(size_t done, ReadFull(fd.get(), out, path));
  if (done != out.size()) return ChunkSizeMismatch(hash, done, out.size());
  return Verify(hash, std::string_view(out.data(), out.size()));
}

Status FsChunkStore::Remove(const std::string& hash) {
  NEXUS_RETURN_IF_ERROR(CheckHash(hash));
  const std::string path = PathOf(hash);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return DiskError("remove", path, errno);
  std::lock_guard lock(unsynced_mu_);
  unsynced_.erase(hash);
  failed_.erase(hash);
  return Status::Ok();
}

Status FsChunkStore::Walk(
    const std::function<Status(const std::string& dir, const std::string& name)>& fn) {
  auto is_hex2 = [](const std::string& s) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    return s.size() == 2 && hex(s[0]) && hex(s[1]);
  };
  std::vector<std::string> tops;
  NEXUS_RETURN_IF_ERROR(ListDirectory(root_, &tops));
  for (const auto& top : tops) {
    if (!is_hex2(top)) continue;
    std::vector<std::string> leaves;
    NEXUS_RETURN_IF_ERROR(ListDirectory(root_ + "/" + top, &leaves));
    for (const auto& leaf : leaves) {
      if (!is_hex2(leaf)) continue;
      const std::string dir = root_ + "/" + top + "/" + leaf;
      std::vector<std::string> files;
      NEXUS_RETURN_IF_ERROR(ListDirectory(dir, &files));
      for (const auto& name : files) {
        // A hash-named file in the wrong directory is not a chunk Get could find.
        if (IsSha256Hex(name) && (name.compare(0, 2, top) != 0 || name.compare(2, 2, leaf) != 0)) {
          continue;
        }
        NEXUS_RETURN_IF_ERROR(fn(dir, name));
      }
    }
  }
  return Status::Ok();
}

Status FsChunkStore::List(const std::function<void(const std::string& hash)>& fn) {
  return Walk([&](const std::string&, const std::string& name) {
    if (IsSha256Hex(name)) fn(name);
    return Status::Ok();
  });
}

Result<SweepStats> FsChunkStore::Sweep(const std::function<bool(const std::string& hash)>& keep) {
  SweepStats stats;
  Status s = Walk([&](const std::string& dir, const std::string& name) -> Status {
    const std::string path = dir + "/" + name;
    if (std::string_view(name).starts_with(kTempPrefix)) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return DiskError("remove", path, errno);
      ++stats.temp_files_removed;
      return Status::Ok();
    }
    if (!IsSha256Hex(name)) return Status::Ok();  // not ours: leave it alone
    if (keep(name)) {
      ++stats.chunks_kept;
      return Status::Ok();
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return DiskError("remove", path, errno);
    {
      std::lock_guard lock(unsynced_mu_);
      unsynced_.erase(name);
      failed_.erase(name);
    }
    ++stats.chunks_removed;
    return Status::Ok();
  });
  NEXUS_RETURN_IF_ERROR(s);
  return stats;
}

}  // namespace nexus::daemon::storage
