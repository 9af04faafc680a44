#include "common/key_file.h"

#include <cstdio>

namespace nexus {
namespace {

// Enough to tell a wrong file (a PEM, a log) from a key without reading it all.
constexpr size_t kMaxKeyFileBytes = 4096;

std::string ModeText(mode_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  return text;
}

}  // namespace

Result<std::string> LoadOrCreateKeyFile(Env& env, const std::string& path,
                                        const KeyFileRules& rules,
                                        const std::function<std::string()>& new_key) {
  const std::string what(rules.what);
  auto key = env.ReadFile(path, kMaxKeyFileBytes);
  if (!key.ok() && key.status().code() != StatusCode::kNotFound) {
    return key.status().WithContext("read " + what);
  }
  if (!key.ok()) {
    const std::string parent = DirName(path);
    if (parent != ".") NEXUS_RETURN_IF_ERROR(env.MakeDirs(parent, 0700));
    Status created = env.WriteFileAtomically(path, new_key(), 0600, WriteMode::kNoReplace);
    // kAlreadyExists: another process created it first; use theirs.
    if (!created.ok() && created.code() != StatusCode::kAlreadyExists) {
      return created.WithContext("create " + what);
    }
    key = env.ReadFile(path, kMaxKeyFileBytes);
    if (!key.ok()) return key.status().WithContext("read " + what);
  }
  auto info = env.Stat(path);
  if (!info.ok()) return info.status().WithContext("read " + what);
  if (info->mode & ~mode_t{0600}) {
    return InvalidArgumentError(what + " '" + path + "' has mode " + ModeText(info->mode) +
                                ", wider than 0600; chmod 600 it");
  }
  const size_t size = key->size();
  if (rules.min_bytes == rules.max_bytes && size != rules.min_bytes) {
    return InvalidArgumentError(what + " '" + path + "' holds " + std::to_string(size) +
                                " bytes, not " + std::to_string(rules.min_bytes));
  }
  if (size < rules.min_bytes) {
    return InvalidArgumentError(what + " '" + path + "' is shorter than " +
                                std::to_string(rules.min_bytes) + " bytes");
  }
  if (size > rules.max_bytes) {
    return InvalidArgumentError(what + " '" + path + "' is longer than " +
                                std::to_string(rules.max_bytes) + " bytes");
  }
  return std::move(key).value();
}

}  // namespace nexus
