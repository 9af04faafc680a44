#include "daemon/storage/safe_name.h"

#include <cstdint>

namespace nexus::daemon::storage {
namespace {

// Length of the valid UTF-8 sequence starting at s[0], or 0 if it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, uint32_t* code_point) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = b(0);
  size_t len;
  uint32_t cp;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
    cp = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    cp = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  *code_point = cp;
  return len;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

}  // namespace

std::string SafeBaseName(std::string_view client_name) {
  if (size_t slash = client_name.find_last_of("/\\"); slash != std::string_view::npos) {
    client_name.remove_prefix(slash + 1);
  }
  std::string out;
  while (!client_name.empty()) {
    uint32_t cp = 0;
    size_t len = Utf8SequenceLength(client_name, &cp);
    std::string_view piece = len == 0 ? std::string_view("_") : client_name.substr(0, len);
    client_name.remove_prefix(len == 0 ? 1 : len);
    if (len != 0 && IsControl(cp)) continue;
    // Whole sequences only, so the bound never splits a character.
    if (out.size() + piece.size() > kMaxFileNameBytes) break;
    out.append(piece);
  }
  if (out.empty()) return "file";
  if (out == ".") return "_";
  if (out == "..") return "__";
  return out;
}

bool HasBidiControl(std::string_view text) {
  // U+202A-U+202E are E2 80 AA-AE in UTF-8, U+2066-U+2069 E2 81 A6-A9. 0xE2
  // only ever leads a sequence, so a byte search finds exactly these.
  for (size_t i = text.find('\xe2'); i != std::string_view::npos && i + 2 < text.size();
       i = text.find('\xe2', i + 1)) {
    const auto b1 = static_cast<uint8_t>(text[i + 1]);
    const auto b2 = static_cast<uint8_t>(text[i + 2]);
    if ((b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) || (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9)) {
      return true;
    }
  }
  return false;
}

Status RefuseBidiControls(std::string_view what, std::string_view text) {
  if (!HasBidiControl(text)) return Status::Ok();
  return InvalidArgumentError(std::string(what) +
                              " must not contain bidirectional control characters"
                              " (U+202A-U+202E, U+2066-U+2069)");
}

}  // namespace nexus::daemon::storage
