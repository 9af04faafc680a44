#include "auth/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace nexus::auth {

std::string ClientBucket(std::string_view client_ip) {
  std::string text(client_ip.substr(0, client_ip.find('%')));
  char out[INET6_ADDRSTRLEN + 4];

  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    ::inet_ntop(AF_INET, &v4, out, sizeof out);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return std::string(client_ip);
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
    ::inet_ntop(AF_INET, &v4, out, sizeof out);
    return out;
  }
  std::memset(&v6.s6_addr[8], 0, 8);
  ::inet_ntop(AF_INET6, &v6, out, sizeof out);
  return std::string(out) + "/64";
}

}  // namespace nexus::auth
