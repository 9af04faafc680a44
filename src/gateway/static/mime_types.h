// MIME types of the web UI's files, by file name extension, and whether a
// type is worth compressing. The table is closed: an unknown extension is
// served as application/octet-stream, which a browser (with nosniff) will
// neither run nor render. Stateless; thread-safe.
#pragma once

#include <string_view>

namespace nexus::gateway {

// "text/javascript; charset=utf-8" for "js/app.js"; matching is on the last
// extension, case-insensitive.
std::string_view MimeTypeFor(std::string_view file_name);

// Text formats (and SVG) shrink under gzip; images and fonts are compressed
// already.
bool IsCompressibleType(std::string_view mime_type);

}  // namespace nexus::gateway
