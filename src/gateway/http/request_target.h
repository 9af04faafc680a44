// Splitting an HTTP request target ("/api/fs/ls?path=%2Fdocs") into the
// encoded path, decoded path segments and decoded query parameters.
// Stateless; thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

// Sets req.target, req.path, req.segments and req.query from `target`, which
// must be in origin form (starts with "/"). Malformed targets are 400.
Status ParseRequestTarget(std::string_view target, Request& req);

}  // namespace nexus::gateway
