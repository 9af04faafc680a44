#include "cli/local_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <vector>

namespace nexus::cli {

Result<OpenedFile> OpenForUpload(const std::string& path) {
  OpenedFile f;
  f.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.fd.valid()) return ErrnoError(StatusCode::kNotFound, "open '" + path + "'", errno);
  struct stat st {};
  if (::fstat(f.fd.get(), &st) != 0) {
    return ErrnoError(StatusCode::kInternal, "stat '" + path + "'", errno);
  }
  if (S_ISDIR(st.st_mode)) return InvalidArgumentError("'" + path + "' is a folder (use -r)");
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError("'" + path + "' is not a regular file");
  f.size = static_cast<uint64_t>(st.st_size);
  // The whole file is read once, front to back.
  ::posix_fadvise(f.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return f;
}

Result<std::string> Sha256OfFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(StatusCode::kNotFound, "open '" + path + "'", errno);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return InternalError("SHA-256 of '" + path + "': OpenSSL init failed");
  }
  std::vector<unsigned char> buf(1 << 20);
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(StatusCode::kInternal, "read '" + path + "'", errno);
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xF]);
  }
  return hex;
}

TempFileBeside::TempFileBeside(Fd fd, std::string temp, std::string target)
    : fd_(std::move(fd)), temp_(std::move(temp)), target_(std::move(target)) {}

TempFileBeside::TempFileBeside(TempFileBeside&& other) noexcept
    : fd_(std::move(other.fd_)),
      temp_(std::move(other.temp_)),
      target_(std::move(other.target_)),
      committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object owns nothing to remove
}

TempFileBeside::~TempFileBeside() {
  if (!committed_) {
    fd_.reset();
    ::unlink(temp_.c_str());
  }
}

Result<TempFileBeside> TempFileBeside::Create(const std::string& target) {
  const std::filesystem::path t(target);
  const std::filesystem::path dir = t.has_parent_path() ? t.parent_path() : ".";
  thread_local std::mt19937_64 rng(std::random_device{}());
  for (int attempt = 0; attempt < 16; ++attempt) {
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
    const std::string temp = (dir / ("." + t.filename().string() + ".nexus-" + suffix)).string();
    // O_EXCL: never opens a file (or follows a link) someone else put there.
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return TempFileBeside(Fd(fd), temp, target);
    if (errno != EEXIST) {
      return ErrnoError(StatusCode::kInternal, "create a temp file beside '" + target + "'", errno);
    }
  }
  return InternalError("create a temp file beside '" + target + "': every name taken");
}

Status TempFileBeside::Commit() {
  // No fsync, as `curl -o` and `cp` do not: a download is not a commit of
  // record, and the rename alone already means no reader sees a partial file.
  if (fd_.Close() != 0) {
    return ErrnoError(StatusCode::kInternal, "write '" + target_ + "'", errno);
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    return ErrnoError(StatusCode::kInternal, "rename into '" + target_ + "'", errno);
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace nexus::cli
