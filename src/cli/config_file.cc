#include "cli/config_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nexus::cli {
namespace {

Status MakeOwnerOnlyDirs(const std::filesystem::path& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return Status::Ok();
  NEXUS_RETURN_IF_ERROR(MakeOwnerOnlyDirs(dir.parent_path()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(StatusCode::kInternal, "create folder '" + dir.string() + "'", errno);
  }
  return Status::Ok();
}

}  // namespace

GetEnv ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::string> DefaultConfigPath(const GetEnv& env) {
  if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    return *xdg + "/nexus/config.toml";
  }
  if (auto home = env("HOME"); home && !home->empty()) {
    return *home + "/.config/nexus/config.toml";
  }
  return InvalidArgumentError(
      "cannot find the config file: neither HOME nor XDG_CONFIG_HOME is set");
}

std::string ConfigToToml(const CliConfig& config) {
  toml::table t;
  if (!config.server.empty()) t.insert("server", config.server);
  if (!config.token.empty()) t.insert("token", config.token);
  if (!config.username.empty()) t.insert("username", config.username);
  std::ostringstream out;
  out << "# nexus command-line client; written by `nexus login`\n" << t << "\n";
  return out.str();
}

Result<CliConfig> ConfigFromToml(const std::string& text, const std::string& origin) {
  toml::table t;
  try {
    t = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError("read config '" + origin + "': " + std::string(e.description()));
  }
  CliConfig config;
  config.server = t["server"].value_or(std::string());
  config.token = t["token"].value_or(std::string());
  config.username = t["username"].value_or(std::string());
  return config;
}

Result<CliConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return CliConfig{};
    return ErrnoError(StatusCode::kInternal, "open config '" + path + "'", errno);
  }
  std::stringstream text;
  text << in.rdbuf();
  return ConfigFromToml(text.str(), path);
}

Status SaveConfig(const std::string& path, const CliConfig& config) {
  const std::filesystem::path target(path);
  NEXUS_RETURN_IF_ERROR(MakeOwnerOnlyDirs(target.parent_path()));
  const std::string temp = path + ".tmp";
  // O_EXCL after an unlink: a leftover temp (or a link planted there) is never
  // followed, and the mode is 0600 from creation on.
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(StatusCode::kInternal, "create '" + temp + "'", errno);
  const std::string text = ConfigToToml(config);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return ErrnoError(StatusCode::kInternal, "write '" + temp + "'", err);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return ErrnoError(StatusCode::kInternal, "write '" + temp + "'", err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return ErrnoError(StatusCode::kInternal, "replace '" + path + "'", err);
  }
  // An older file may have had a wider mode; rename kept the temp's 0600.
  return Status::Ok();
}

}  // namespace nexus::cli
