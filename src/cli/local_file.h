// Local files as transfers need them: a file opened for upload with its
// size, a download's temp file beside its target that is renamed into place
// only when complete (removed on any other way out), and a file's SHA-256.
// RAII types, thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "common/fd.h"
#include "common/result.h"
#include "common/status.h"

namespace nexus::cli {

struct OpenedFile {
  Fd fd;
  uint64_t size = 0;
};

// A regular file opened read-only; folders and missing files are errors
// that name the path.
Result<OpenedFile> OpenForUpload(const std::string& path);

// SHA-256 of a file's bytes, lowercase hex (OpenSSL EVP: uses SHA-NI).
Result<std::string> Sha256OfFile(const std::string& path);

class TempFileBeside {
 public:
  // Creates "<dir>/.<name>.nexus-<random>" (mode 0666 less the umask, like
  // the file it becomes) in the target's folder, so the rename is atomic.
  static Result<TempFileBeside> Create(const std::string& target);

  TempFileBeside(TempFileBeside&& other) noexcept;
  TempFileBeside& operator=(TempFileBeside&&) = delete;
  ~TempFileBeside();

  int fd() const { return fd_.get(); }
  const std::string& temp_path() const { return temp_; }

  // Closes the file and renames it over the target.
  Status Commit();

 private:
  TempFileBeside(Fd fd, std::string temp, std::string target);

  Fd fd_;
  std::string temp_;
  std::string target_;
  bool committed_ = false;
};

}  // namespace nexus::cli
