// MultipartJanitor: drops the S3 multipart uploads nobody completed or
// aborted once they are older than a maximum age (MinIO's default is 24 h),
// with their parts (TreeService::ExpireMultipartUploads), so a client that
// gave up does not hold quota and chunks for ever. nexusd has no other
// periodic storage work, so this owns one thread that wakes every
// `interval`; Start runs the first pass at once.
//
// Thread-safe. The TreeService and the Clock must outlive the janitor; the
// destructor stops and joins its thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/result.h"
#include "daemon/tree/tree_service.h"

namespace nexus::daemon::storage {

class MultipartJanitor {
 public:
  // `max_age_seconds` <= 0: uploads never expire (RunOnce and Start do
  // nothing).
  MultipartJanitor(TreeService& tree, const Clock& clock, int64_t max_age_seconds,
                   std::chrono::seconds interval = std::chrono::hours(1))
      : tree_(tree), clock_(clock), max_age_seconds_(max_age_seconds), interval_(interval) {}
  ~MultipartJanitor();
  MultipartJanitor(const MultipartJanitor&) = delete;
  MultipartJanitor& operator=(const MultipartJanitor&) = delete;

  // One pass: how many uploads went.
  Result<int64_t> RunOnce();
  // Starts the thread (once).
  void Start();

 private:
  void Loop();

  TreeService& tree_;
  const Clock& clock_;
  const int64_t max_age_seconds_;
  const std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace nexus::daemon::storage
