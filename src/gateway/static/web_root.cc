#include "gateway/static/web_root.h"

#include <spdlog/spdlog.h>

namespace nexus::gateway {
namespace {

bool IsDir(Env& env, const std::string& path) {
  if (path.empty()) return false;
  Result<FileInfo> info = env.Stat(path);
  return info.ok() && info->type == FileType::kDirectory;
}

// "/usr/local/sbin/nexus-api" -> "/usr/local": two levels up.
std::string PrefixOf(std::string path) {
  for (int i = 0; i < 2; ++i) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return "";
    path.resize(slash);
  }
  return path;
}

}  // namespace

std::string ResolveWebRoot(Env& env, const std::string& configured, const std::string& exe_path,
                           const std::string& source_web_dir) {
  if (!configured.empty()) return configured;
  if (exe_path.find('/') != std::string::npos) {
    const std::string installed = PrefixOf(exe_path) + "/share/nexus/web";
    if (IsDir(env, installed)) return installed;
  }
  if (IsDir(env, source_web_dir)) return source_web_dir;
  return "";
}

StaticAssets LoadWebUi(Env& env, const std::string& configured, const UiSettings& settings) {
#ifdef NEXUS_SOURCE_WEB_DIR
  const std::string source_web_dir = NEXUS_SOURCE_WEB_DIR;
#else
  const std::string source_web_dir;
#endif
  Result<std::string> exe = env.ReadLink("/proc/self/exe");
  const std::string root =
      ResolveWebRoot(env, configured, exe.ok() ? *exe : std::string(), source_web_dir);
  if (root.empty()) {
    spdlog::info("web UI: no folder of files found; set gateway.static_dir to serve it");
    return StaticAssets();
  }
  Result<StaticAssets> assets = StaticAssets::Load(env, root);
  if (!assets.ok()) {
    spdlog::error("web UI off: {}", assets.status().ToString());
    return StaticAssets();
  }
  spdlog::info("web UI: {} files from {}", assets->assets().size(), root);
  assets->AddGenerated("/ui-settings.json", std::string(R"({"mail_outbox":)") +
                                                (settings.mail_outbox ? "true" : "false") + "}");
  return std::move(assets).value();
}

}  // namespace nexus::gateway
