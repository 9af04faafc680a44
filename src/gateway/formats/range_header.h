// Range requests (RFC 9110 §14) for the download routes: parsing the Range
// header into the one byte range nexusd is asked for, and formatting
// Content-Range.
//
// Only a single byte range is served. Anything the gateway will not serve as
// a range — a missing header, another unit, a syntax error, several ranges —
// means "send the whole file" (RFC 9110 lets a server ignore Range), so the
// parser never fails; whether a range fits the file is nexusd's decision (it
// knows the size), which answers kRangeNotSatisfiable. A position too large
// for int64 is valid syntax that lies past the end of any file: it reads as
// INT64_MAX, so "bytes=99999999999999999999-" is a 416 and a last position or
// suffix that large means "to the end" / "the whole file", never a wrapped
// number. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::gateway {

// A byte range in the encoding of nexus.daemon.v1.ByteRange:
//   "bytes=a-b" → {a, b-a+1};  "bytes=a-" → {a, -1};  "bytes=-n" → {-n, -1}.
// "bytes=-0" (a suffix of no bytes, never satisfiable) → {0, 0}, which
// nexusd refuses as unsatisfiable.
struct RequestedRange {
  int64_t offset = 0;
  int64_t length = -1;

  bool operator==(const RequestedRange&) const = default;
};

// The range to request for a Range header value, or nullopt to send the
// whole file.
std::optional<RequestedRange> ParseRangeHeader(std::string_view value);

// "bytes 0-99/1000" for `length` bytes at `offset` of a `size`-byte file
// (length > 0).
std::string ContentRange(int64_t offset, int64_t length, int64_t size);

// "bytes */1000", for a 416 answer.
std::string UnsatisfiedContentRange(int64_t size);

}  // namespace nexus::gateway
