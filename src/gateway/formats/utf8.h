// UTF-8 repair for bytes that must travel as text: file names taken from a
// client's multipart header (proto string fields must hold valid UTF-8) and
// lambda output (JSON strings).
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nexus::gateway {

// `bytes` with every ill-formed sequence (stray continuation bytes, overlong
// forms, surrogates, code points above U+10FFFF, truncated sequences)
// replaced by U+FFFD, one per maximal ill-formed subpart as Unicode §3.9
// recommends. Valid input comes back unchanged.
std::string ToValidUtf8(std::string_view bytes);

}  // namespace nexus::gateway
