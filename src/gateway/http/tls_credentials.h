// TlsCredentials: the gateway's certificate and private key (PEM files, the
// certificate file may hold the chain) as the OpenSSL context new
// connections take. TLS 1.2 and later only.
//
// Reload reads the files again and, when they make a valid context, swaps
// it in: connections accepted from then on get it, open ones keep the one
// they started with (each holds its context). A failed reload keeps the
// current context. Thread-safe.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "common/status.h"

namespace nexus::gateway {

class TlsCredentials {
 public:
  // Fails naming the file and OpenSSL's reason when a file is unreadable,
  // not PEM, or the key does not match the certificate.
  static Result<std::unique_ptr<TlsCredentials>> Load(std::string cert_path, std::string key_path);

  std::shared_ptr<boost::asio::ssl::context> Current() const;
  Status Reload();

 private:
  TlsCredentials(std::string cert_path, std::string key_path,
                 std::shared_ptr<boost::asio::ssl::context> context);

  const std::string cert_path_;
  const std::string key_path_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // guarded by mu_
};

}  // namespace nexus::gateway
