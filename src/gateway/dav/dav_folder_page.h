// The answer to a GET of a folder on the DAV tree: a small HTML index of its
// entries (as Apache's mod_autoindex or nginx's autoindex give), so a
// browser pointed at /dav/ can walk the tree and download files with the
// same Basic sign-in. Links are the entries' percent-encoded hrefs; names
// are HTML-escaped. No script, no style: the page is sent with a
// Content-Security-Policy of default-src 'none'.
// Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nexus/daemon/v1/tree.pb.h"

namespace nexus::gateway {
namespace daemonpb = ::nexus::daemon::v1;  // as in backends/daemon_client.h
}  // namespace nexus::gateway

namespace nexus::gateway::dav {

// The page of the folder at `tree_path` under `prefix` ("/dav"), listing
// `entries` in the order given (nexusd's: folders first, then by name).
std::string FolderPage(std::string_view prefix, std::string_view tree_path,
                       const std::vector<daemonpb::DirEntry>& entries);

}  // namespace nexus::gateway::dav
