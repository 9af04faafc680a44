#include "gateway/s3/s3_address.h"

#include "gateway/http/http_types.h"
#include "gateway/s3/sigv4.h"

namespace nexus::gateway::s3 {
namespace {

// The host name of a Host header: without its port, lowercase. An IPv6
// literal ("[::1]:9000") keeps its brackets.
std::string HostName(std::string_view host) {
  const size_t bracket = host.rfind(']');
  const size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = host.substr(0, colon);
  }
  if (host.ends_with('.')) host.remove_suffix(1);  // a fully qualified name
  return AsciiLower(host);
}

}  // namespace

S3Address AddressOf(std::string_view host, std::string_view raw_path, std::string_view domain) {
  if (raw_path.starts_with("/")) raw_path.remove_prefix(1);
  if (!domain.empty()) {
    const std::string name = HostName(host);
    const std::string suffix = "." + AsciiLower(domain);
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return S3Address{name.substr(0, name.size() - suffix.size()), PercentDecode(raw_path)};
    }
  }
  const size_t slash = raw_path.find('/');
  return S3Address{
      PercentDecode(raw_path.substr(0, slash)),
      slash == std::string_view::npos ? "" : PercentDecode(raw_path.substr(slash + 1))};
}

}  // namespace nexus::gateway::s3
