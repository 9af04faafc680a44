// Recognising a DownloadResponse `data` message in its wire form, so the
// gateway can copy a download's payload straight out of gRPC's received
// slices instead of parsing it into a protobuf string first (every parse of
// the `part` oneof allocates a fresh payload-sized string: a page-faulted
// mmap per 1 MiB message).
//
// DownloadDataPayload looks at the first bytes of a serialized message given
// as a sequence of pieces (gRPC slices, in order) and answers where the
// payload starts when the message is exactly one `data` field (tag 2, wire
// type LEN) whose length covers the rest of the message. Anything else — the
// header, an empty message, unknown or repeated fields, a malformed varint —
// answers nullopt, and the caller parses the message the ordinary way: the
// shortcut never decides what a message means. The wire reading is
// common/proto_wire.h, shared with nexusd. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace nexus::gateway {

// Where the payload of a `data`-only DownloadResponse begins.
struct DataPayload {
  size_t offset = 0;  // bytes of tag and length before the payload
  size_t length = 0;  // payload bytes (the rest of the message)
};

// `pieces` is the serialized message (concatenated in order), `total` its
// length (the sum of the pieces' sizes).
std::optional<DataPayload> DownloadDataPayload(std::span<const std::string_view> pieces,
                                               size_t total);

}  // namespace nexus::gateway
