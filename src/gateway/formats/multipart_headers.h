// The header side of multipart/form-data (RFC 7578): the parameters of a
// Content-Type or Content-Disposition value (`main; name=token;
// name="quoted"`), RFC 5987 ext-values (filename*=), and a part's whole
// header block (obs-fold unfolded, bounded by MultipartLimits) turned into a
// MultipartPart. MultipartBoundary, declared in multipart.h, is defined here
// beside the parameter parser it uses. MultipartParser (multipart.h) finds
// the header blocks in the body and hands them here.
//
// Every malformed input is kInvalidArgument with a message fit for a client.
// Stateless; thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"
#include "gateway/formats/multipart.h"

namespace nexus::gateway {

// Parses `block`, a part's header lines without the blank line that ends
// them, into `part` (reset first): every header in order, the
// Content-Disposition name and filename, the Content-Type. A part without a
// form-data Content-Disposition is refused.
Status ParseMultipartPartHeaders(std::string_view block, const MultipartLimits& limits,
                                 MultipartPart& part);

}  // namespace nexus::gateway
