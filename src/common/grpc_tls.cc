#include "common/grpc_tls.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <iterator>

namespace nexus {
namespace {

// Certificates and keys are a few KiB; a chain of many is still far below this.
constexpr std::streamsize kMaxPemBytes = 1 << 20;

enum class Secret { kNo, kYes };

Result<std::string> ReadPem(const std::string& path, std::string_view what, Secret secret) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoError(StatusCode::kInvalidArgument, std::string(what) + " '" + path + "'", errno);
  }
  if (secret == Secret::kYes && (st.st_mode & 077) != 0) {
    return InvalidArgumentError(std::string(what) + " '" + path +
                                "' is accessible by group or others; chmod 600");
  }
  if (st.st_size > kMaxPemBytes) {
    return InvalidArgumentError(std::string(what) + " '" + path + "' is larger than 1 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return InvalidArgumentError("read " + std::string(what) + " '" + path + "'");
  }
  if (text.find("-----BEGIN ") == std::string::npos) {
    return InvalidArgumentError(std::string(what) + " '" + path + "' holds no PEM block");
  }
  return text;
}

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> MutualTlsServerCredentials(
    const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  NEXUS_ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem(client_ca_file, "client CA", Secret::kNo));
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  NEXUS_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(cert_file, "certificate", Secret::kNo));
  NEXUS_ASSIGN_OR_RETURN(pair.private_key, ReadPem(key_file, "private key", Secret::kYes));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(options);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> MutualTlsChannelCredentials(
    const std::string& ca_file, const std::string& cert_file, const std::string& key_file) {
  grpc::SslCredentialsOptions options;
  NEXUS_ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem(ca_file, "CA", Secret::kNo));
  NEXUS_ASSIGN_OR_RETURN(options.pem_cert_chain, ReadPem(cert_file, "certificate", Secret::kNo));
  NEXUS_ASSIGN_OR_RETURN(options.pem_private_key, ReadPem(key_file, "private key", Secret::kYes));
  return grpc::SslCredentials(options);
}

}  // namespace nexus
