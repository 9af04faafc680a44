#include "gateway/static/mime_types.h"

#include "gateway/http/http_types.h"

namespace nexus::gateway {
namespace {

struct MimeType {
  std::string_view extension;
  std::string_view type;
};

constexpr MimeType kMimeTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
};

constexpr std::string_view kUnknown = "application/octet-stream";

}  // namespace

std::string_view MimeTypeFor(std::string_view file_name) {
  const std::size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const std::size_t dot = file_name.rfind('.');
  // A name that is only an extension (".js") is a hidden file, not a type.
  if (dot == std::string_view::npos || dot == 0) return kUnknown;
  const std::string_view ext = file_name.substr(dot + 1);
  for (const auto& m : kMimeTypes) {
    if (EqualsIgnoreCase(m.extension, ext)) return m.type;
  }
  return kUnknown;
}

bool IsCompressibleType(std::string_view mime_type) {
  return mime_type.starts_with("text/") || mime_type.starts_with("application/json") ||
         mime_type.starts_with("application/manifest+json") ||
         mime_type.starts_with("image/svg+xml");
}

}  // namespace nexus::gateway
