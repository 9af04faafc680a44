// InsufficientStorageError: what a full disk answers (ENOSPC or EDQUOT under
// the chunk store, SQLITE_FULL under a database), whatever context callers
// add on the way up. The daemon's edge sends the client this message alone
// (HTTP 507); see IsInsufficientStorage.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace nexus {

inline constexpr std::string_view kInsufficientStorage = "insufficient storage";

inline Status InsufficientStorageError() {
  return QuotaExceededError(std::string(kInsufficientStorage));
}

// True for InsufficientStorageError() with or without added context. Quota
// errors (the same code) never end this way.
inline bool IsInsufficientStorage(const Status& s) {
  return s.code() == StatusCode::kQuotaExceeded && s.message().ends_with(kInsufficientStorage);
}

}  // namespace nexus
