// AuthTempDir: a fresh directory under $TMPDIR (or /tmp) for one test,
// removed with everything in it when the object goes out of scope.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace nexus::testing {

class AuthTempDir {
 public:
  AuthTempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/nexus-auth-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~AuthTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  AuthTempDir(const AuthTempDir&) = delete;
  AuthTempDir& operator=(const AuthTempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace nexus::testing
