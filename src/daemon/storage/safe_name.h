// SafeBaseName: reduces the file name a client sent to one that is safe to
// store, list and send back in JSON, a proto string and a Content-Disposition
// header. Pure function; thread-safe.
//
// Rules: keep only what follows the last '/' or '\'; drop control characters
// (C0 incl. CR, LF and NUL, DEL, and C1); replace bytes that are not valid
// UTF-8 with '_'; bound the result to 255 bytes without splitting a UTF-8
// sequence; "." and ".." become "_" and "__"; an empty result becomes "file".
//
// Bidirectional controls — the embeddings and overrides U+202A-U+202E and the
// isolates U+2066-U+2069 — make a name display other than it reads
// ("invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf"). Names that contain
// them are refused (kInvalidArgument, HTTP 400) wherever a name is created,
// rather than stripped: the client learns that its name was not taken as
// sent, and never finds a file under a name it did not choose.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace nexus::daemon::storage {

inline constexpr size_t kMaxFileNameBytes = 255;

std::string SafeBaseName(std::string_view client_name);

// Whether UTF-8 `text` contains a bidirectional embedding, override or
// isolate control (U+202A-U+202E, U+2066-U+2069).
bool HasBidiControl(std::string_view text);

// kInvalidArgument "<what> must not contain ..." when HasBidiControl(text).
Status RefuseBidiControls(std::string_view what, std::string_view text);

}  // namespace nexus::daemon::storage
