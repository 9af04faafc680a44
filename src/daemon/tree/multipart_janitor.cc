#include "daemon/tree/multipart_janitor.h"

#include <spdlog/spdlog.h>

#include "common/named_thread.h"

namespace nexus::daemon::storage {

MultipartJanitor::~MultipartJanitor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<int64_t> MultipartJanitor::RunOnce() {
  if (max_age_seconds_ <= 0) return int64_t{0};
  Result<int64_t> gone = tree_.ExpireMultipartUploads(clock_.NowSeconds(), max_age_seconds_);
  if (!gone.ok()) {
    spdlog::warn("expiring multipart uploads: {}", gone.status().ToString());
  } else if (*gone > 0) {
    spdlog::info("dropped {} multipart upload(s) older than {} s with their parts", *gone,
                 max_age_seconds_);
  }
  return gone;
}

void MultipartJanitor::Start() {
  if (max_age_seconds_ <= 0 || thread_.joinable()) return;
  thread_ = StartNamedThread("mp-janitor", [this] { Loop(); });
}

void MultipartJanitor::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    (void)RunOnce();  // logged there; the next pass tries again
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace nexus::daemon::storage
