// Small helpers shared by the handlers to build contract JSON answers.
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gateway/http/http_types.h"

namespace nexus::gateway {

// `status` with `json` serialised as the body. Invalid UTF-8 in strings is
// replaced rather than thrown over.
Response JsonValueResponse(int status, const nlohmann::json& json);

// 200 {"message": message}.
Response MessageResponse(std::string_view message);

// "2024-01-02T03:04:05Z" for a unix time in seconds.
std::string FormatRfc3339Utc(int64_t unix_seconds);

}  // namespace nexus::gateway
