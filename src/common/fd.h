// Fd: owns one file descriptor and closes it when it goes away, so every
// early return closes what it opened. Move-only; -1 means "none".
// Thread-compatible (one owner at a time, like the descriptor itself).
#pragma once

#include <unistd.h>

namespace nexus {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives the descriptor up without closing it.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

  // Closes the held descriptor (if any) and takes `fd`. A close error is lost
  // here; use Close() where it matters.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

  // Closes now and returns close(2)'s result (errno set on -1): on some file
  // systems a deferred write error only shows up here, so writers that
  // promise durability must look at it.
  int Close() {
    int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_ = -1;
};

}  // namespace nexus
