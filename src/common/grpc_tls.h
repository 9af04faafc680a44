// Mutual TLS between gateways and daemons on other machines: nexusd trusts
// the owner each call names, so a TCP listener must admit only callers with
// a certificate from the deployment's own CA, and a gateway must check it
// reaches a daemon of that deployment. Unix sockets need none of this (their
// file permissions are the access control).
//
// Each function reads its PEM files once; a private key readable by group
// or others is refused, as the gateway's HTTPS key is.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"

namespace grpc {
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc

namespace nexus {

// TLS for a server that requires, and verifies against `client_ca`, a
// client certificate.
Result<std::shared_ptr<grpc::ServerCredentials>> MutualTlsServerCredentials(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file);

// TLS for a client that presents `cert_file` and accepts servers whose
// certificate chains to `ca_file` and names the address it dialled.
Result<std::shared_ptr<grpc::ChannelCredentials>> MutualTlsChannelCredentials(
    const std::string& ca_file, const std::string& cert_file, const std::string& key_file);

}  // namespace nexus
