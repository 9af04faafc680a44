// The properties of a WebDAV resource as PROPFIND reports them: the live
// ones computed from a tree entry (resourcetype, getcontentlength,
// getlastmodified, creationdate, getetag, getcontenttype, displayname,
// lockdiscovery, supportedlock, and
// RFC 4331's quota-available-bytes / quota-used-bytes, which allprop leaves
// out as that RFC says) and the dead ones PROPPATCH stored. Writes one
// DAV:response element per resource. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/backends/daemon_client.h"
#include "gateway/dav/dav_xml.h"

namespace nexus::gateway::dav {

struct DavResource {
  std::string href;
  daemonpb::DirEntry entry;
  std::vector<daemonpb::DeadProp> dead;
  std::vector<daemonpb::ActiveLock> locks;  // those covering it
  std::string prefix;                       // where the tree is mounted, for lock roots
};

// Writes the DAV:response of `resource` for `query`. `usage` serves the
// quota properties (absent: they are reported not found).
void WritePropResponse(XmlWriter& w, const DavResource& resource, const PropfindBody& query,
                       const std::optional<daemonpb::Usage>& usage);

// True when `query` needs the locks (allprop, or lockdiscovery by name).
bool WantsLocks(const PropfindBody& query);

// True when `query` can show dead properties (allprop, propname, or one
// named outside the DAV: namespace).
bool WantsDeadProps(const PropfindBody& query);

// True when `query` names a quota property (the caller then fetches usage).
bool WantsQuota(const PropfindBody& query);

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7).
std::string HttpDate(int64_t unix_seconds);

// A media type guessed from the name's extension; application/octet-stream
// when unknown.
std::string_view ContentTypeOf(std::string_view name);

}  // namespace nexus::gateway::dav
