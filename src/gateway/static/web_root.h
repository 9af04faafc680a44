// Where the web UI's files are: the one place that decides, so the
// installed service, `make run` from a checkout and the tests agree.
// Stateless; thread-safe.
#pragma once

#include <string>

#include "common/env.h"

namespace nexus::gateway {

// `configured` (gateway.static_dir) when set. Else the installed share
// folder beside the binary (<prefix>/sbin/nexus-api ->
// <prefix>/share/nexus/web) when it is a folder, else `source_web_dir` (the
// checkout's web/, for a binary run from its build tree) when it is a
// folder, else "" (no UI: "/" stays 404).
std::string ResolveWebRoot(Env& env, const std::string& configured, const std::string& exe_path,
                           const std::string& source_web_dir);

}  // namespace nexus::gateway

#include "gateway/static/static_assets.h"

namespace nexus::gateway {

// What the page needs to know of this installation before anyone signs in,
// served as /ui-settings.json. Nothing secret and no host paths.
struct UiSettings {
  bool mail_outbox = false;  // codes are written to the outbox folder, not mailed
};

// The UI's files for a gateway with gateway.static_dir = `configured`: the
// resolved folder (the binary's path read from /proc/self/exe, the source
// tree's web/ compiled in), loaded, plus /ui-settings.json. Says in the log
// what it serves; a folder that fails to load is logged and leaves the UI
// off rather than stopping the API.
StaticAssets LoadWebUi(Env& env, const std::string& configured, const UiSettings& settings);

}  // namespace nexus::gateway
