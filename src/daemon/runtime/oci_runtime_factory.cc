#include "daemon/runtime/oci_runtime_factory.h"

#include <filesystem>
#include <utility>

namespace nexus::daemon::runtime {
namespace {

struct OciEngine {
  std::string_view name;
  bool needs_unified_cgroups;  // runs on pure cgroup v2 hosts only
  std::unique_ptr<OciRuntime> (*make)(RuncOptions options, ProcessRunner& processes);
};

std::unique_ptr<OciRuntime> MakeRuncCli(RuncOptions options, ProcessRunner& processes) {
  return std::make_unique<RuncRuntime>(std::move(options), processes);
}

constexpr OciEngine kOciEngines[] = {
    {"runc", false, MakeRuncCli}, {"crun", true, MakeRuncCli},  // crun speaks runc's command line
};

Result<const OciEngine*> FindEngine(std::string_view name) {
  for (const OciEngine& e : kOciEngines) {
    if (e.name == name) return &e;
  }
  std::string known;
  for (const OciEngine& e : kOciEngines) known += (known.empty() ? "" : ", ") + std::string(e.name);
  return InvalidArgumentError("unknown OCI runtime '" + std::string(name) + "' (known: " + known +
                              ")");
}

}  // namespace

std::string OciEngineFor(const std::string& binary) {
  return std::filesystem::path(binary).filename() == "crun" ? "crun" : "runc";
}

Status CheckOciEngineFits(std::string_view engine, const CgroupFs& cgroups) {
  NEXUS_ASSIGN_OR_RETURN(const OciEngine* e, FindEngine(engine));
  if (e->needs_unified_cgroups && !cgroups.unified()) {
    return UnavailableError(std::string(e->name) + " needs a pure cgroup v2 host; select runc");
  }
  return Status::Ok();
}

Result<std::unique_ptr<OciRuntime>> MakeOciRuntime(std::string_view engine, RuncOptions options,
                                                   ProcessRunner& processes) {
  NEXUS_ASSIGN_OR_RETURN(const OciEngine* e, FindEngine(engine));
  return e->make(std::move(options), processes);
}

}  // namespace nexus::daemon::runtime
