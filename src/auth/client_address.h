// ClientBucket: the key under which a client's requests are counted.
//
// Per-address limits mean little against IPv6, where one subscriber is
// routinely given a whole /64 (2^64 addresses to rotate through). So an IPv6
// client counts as its /64; an IPv4 client as its address; an IPv4-mapped
// IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4
// peer) as the IPv4 address it carries. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nexus::auth {

// "203.0.113.7" -> "203.0.113.7"; "::ffff:203.0.113.7" -> "203.0.113.7";
// "2001:db8:1:2:aaaa::1" -> "2001:db8:1:2::/64" (an IPv6 zone suffix such as
// "%eth0" is dropped). Anything that is not an IP address (a Unix socket
// peer, "") is returned unchanged, so it still counts as one client.
std::string ClientBucket(std::string_view client_ip);

}  // namespace nexus::auth
