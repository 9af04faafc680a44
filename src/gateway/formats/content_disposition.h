// The Content-Disposition header of a download (RFC 6266): the file's name
// made safe to put into a header and to save under.
//
// The name is cleaned first: invalid UTF-8 becomes U+FFFD, control
// characters (CR and LF included: no header injection), '/' and '\' become
// '_', and an empty name becomes "download". The header then carries an
// ASCII fallback `filename="..."` (every non-ASCII character, '"' and '\'
// replaced by '_') and, only when that fallback differs from the cleaned
// name, `filename*=UTF-8''<percent-encoded>` (RFC 8187) which current
// clients prefer. Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nexus::gateway {

// `attachment; filename="..."[; filename*=UTF-8''...]` for `name`.
std::string AttachmentDisposition(std::string_view name);

}  // namespace nexus::gateway
