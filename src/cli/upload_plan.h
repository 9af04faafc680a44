// What `nexus put LOCAL... REMOTE` does, worked out before any byte moves,
// with the rules of cp(1): into REMOTE when it is a folder (it exists as one,
// is written with a trailing "/", or several sources are given), else as
// REMOTE; folders only with -r, their whole subtree. Reads the local file
// system only; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace nexus::cli {

struct FileTransfer {
  std::string local;
  std::string remote;
  uint64_t size = 0;
  std::string remote_id;  // downloads: the file's id (for --sync's hash)
};

struct TransferPlan {
  std::vector<std::string> folders;  // to create first, parents before children
  std::vector<FileTransfer> files;
  uint64_t total_bytes = 0;
};

Result<TransferPlan> PlanUploads(const std::vector<std::string>& locals, const std::string& remote,
                                 bool remote_is_folder, bool recursive);

}  // namespace nexus::cli
