// InsufficientStorageError: what a full disk answers (ENOSPC or EDQUOT under
// the chunk store, SQLITE_FULL under a database), whatever context callers
// add on the way up. It is a kQuotaExceeded status (HTTP 507) marked with
// Reason::kInsufficientStorage, which travels with it between services and
// fixes the text a client reads to "insufficient storage" alone (the message
// with its context goes to the log); see IsInsufficientStorage.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace nexus {

inline constexpr std::string_view kInsufficientStorage = "insufficient storage";

inline Status InsufficientStorageError() {
  return QuotaExceededError(std::string(kInsufficientStorage))
      .set_reason(Reason::kInsufficientStorage);
}

// True for InsufficientStorageError() with or without added context. Quota
// errors (the same code) carry no reason.
inline bool IsInsufficientStorage(const Status& s) {
  return s.code() == StatusCode::kQuotaExceeded && s.reason() == Reason::kInsufficientStorage;
}

}  // namespace nexus
