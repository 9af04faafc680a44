#include "gateway/dav/dav_path.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "common/percent_encode.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway::dav {
namespace {

// The number of segments of `prefix` ("/remote.php/webdav" → 2).
size_t SegmentCount(std::string_view prefix) {
  size_t n = 0;
  for (char c : prefix) n += c == '/';
  return n;
}

// True when `segments` start with the segments of `prefix`.
bool StartsWith(const std::vector<std::string>& segments, std::string_view prefix) {
  size_t i = 0;
  std::string_view rest = prefix.substr(1);
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    if (i >= segments.size() || segments[i] != seg) return false;
    ++i;
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return true;
}

}  // namespace

Result<std::string> TreePathOf(const std::vector<std::string>& segments, size_t prefix_segments) {
  std::string out;
  for (size_t i = prefix_segments; i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    // An empty segment (a trailing '/') and "." name the folder they are in.
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") return InvalidArgumentError("a path segment is '..'");
    if (seg.find('/') != std::string::npos) {
      return InvalidArgumentError("a path segment holds an encoded '/'");
    }
    if (seg.find('\0') != std::string::npos) {
      return InvalidArgumentError("a path segment holds a NUL byte");
    }
    out += '/';
    out += seg;
  }
  if (out.empty()) return std::string("/");
  return out;
}

Result<std::string> DestinationTreePath(std::string_view destination, std::string_view host) {
  auto parsed = boost::urls::parse_uri_reference(destination);
  if (!parsed) return InvalidArgumentError("malformed Destination header");
  const boost::urls::url_view& url = *parsed;
  if (url.has_authority() && !host.empty() &&
      !EqualsIgnoreCase(url.encoded_host_and_port(), host)) {
    return UpstreamFailedError("the Destination names another server");
  }
  if (url.encoded_path().empty() || url.encoded_path().front() != '/') {
    return InvalidArgumentError("the Destination header names no absolute path");
  }
  std::vector<std::string> segments;
  for (std::string seg : url.segments()) segments.push_back(std::move(seg));
  for (std::string_view prefix : {kDavPrefix, kNextcloudPrefix}) {
    if (StartsWith(segments, prefix)) return TreePathOf(segments, SegmentCount(prefix));
  }
  return PermissionDeniedError("the Destination lies outside the WebDAV tree");
}

std::string HrefOf(std::string_view prefix, std::string_view tree_path, bool folder) {
  std::string out(prefix);
  std::string_view rest = tree_path;
  while (!rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    const size_t slash = rest.find('/');
    out += '/';
    out += PercentEncode(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (folder || out.size() == prefix.size()) out += '/';
  return out;
}

std::string ChildPath(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (out != "/") out += '/';
  out += name;
  return out;
}

}  // namespace nexus::gateway::dav
