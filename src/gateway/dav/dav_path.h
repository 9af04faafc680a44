// WebDAV paths: from a request's decoded segments (or a Destination header)
// to a path in the caller's tree, and from a tree path back to an href.
//
// The DAV tree is mounted at a prefix ("/dav", or "/remote.php/webdav" for
// clients that expect Nextcloud's layout): "/dav/a/b.txt" is the tree path
// "/a/b.txt". A decoded segment that holds a '/' (sent as %2F) or a NUL is
// refused here, since the tree would read it as a different path; nexusd
// refuses ".." and control characters (common/vfs_path.h). Hrefs are the
// prefix plus each name percent-encoded as UTF-8 (RFC 3986 unreserved
// characters stay as they are), with a trailing '/' for folders.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus::gateway::dav {

// The prefixes the DAV tree is served under, as path text ("/dav").
inline constexpr std::string_view kDavPrefix = "/dav";
inline constexpr std::string_view kNextcloudPrefix = "/remote.php/webdav";

// The tree path of the request segments after the first `prefix_segments`
// ones: "/" for none, empty segments (a trailing '/') and "." skipped. A
// segment with '/' or NUL in it, or "..", is kInvalidArgument.
Result<std::string> TreePathOf(const std::vector<std::string>& segments, size_t prefix_segments);

// The tree path a Destination header (or a tagged If list) names: an
// absolute URI or an absolute path whose path lies under one of the DAV
// prefixes (else kPermissionDenied). An absolute URI whose host and port
// are not `host` (the request's Host header; "" skips the check) names
// another server: kUpstreamFailed, answered 502 (RFC 4918 §9.8.5).
Result<std::string> DestinationTreePath(std::string_view destination, std::string_view host);

// The href of `tree_path` under `prefix`, percent-encoded; a folder's ends
// in '/'.
std::string HrefOf(std::string_view prefix, std::string_view tree_path, bool folder);

// The tree path of `name` inside the folder at `parent`.
std::string ChildPath(std::string_view parent, std::string_view name);

}  // namespace nexus::gateway::dav
