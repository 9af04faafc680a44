// Percent-encoding as RFC 3986 section 2.1 has it: every byte but the
// unreserved characters A-Z a-z 0-9 - . _ ~ becomes "%XX", hex in upper
// case. That is also the URI encoding SigV4 canonicalises to (AWS's
// UriEncode), so the S3 client, the S3 API's signature check, WebDAV hrefs
// and the CLI's URLs all use this one.
#pragma once

#include <string>
#include <string_view>

namespace nexus {

// `text` encoded; with `keep_slash`, '/' stays as it is (a path of several
// segments, or an S3 object key in a URL path).
std::string PercentEncode(std::string_view text, bool keep_slash = false);

}  // namespace nexus
