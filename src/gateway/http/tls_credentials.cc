#include "gateway/http/tls_credentials.h"

#include <openssl/ssl.h>

#include <utility>

namespace nexus::gateway {
namespace {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> MakeContext(const std::string& cert_path,
                                                  const std::string& key_path) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  if (ec) return InternalError("TLS options: " + ec.message());
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1) {
    return InternalError("TLS: cannot require TLS 1.2 or later");
  }
  ctx->use_certificate_chain_file(cert_path, ec);
  if (ec) return InvalidArgumentError("read TLS certificate '" + cert_path + "': " + ec.message());
  ctx->use_private_key_file(key_path, ssl::context::pem, ec);
  if (ec) return InvalidArgumentError("read TLS key '" + key_path + "': " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return InvalidArgumentError("TLS key '" + key_path + "' does not match certificate '" +
                                cert_path + "'");
  }
  return ctx;
}

}  // namespace

Result<std::unique_ptr<TlsCredentials>> TlsCredentials::Load(std::string cert_path,
                                                             std::string key_path) {
  auto ctx = MakeContext(cert_path, key_path);
  if (!ctx.ok()) return ctx.status();
  return std::unique_ptr<TlsCredentials>(
      new TlsCredentials(std::move(cert_path), std::move(key_path), std::move(ctx).value()));
}

TlsCredentials::TlsCredentials(std::string cert_path, std::string key_path,
                               std::shared_ptr<ssl::context> context)
    : cert_path_(std::move(cert_path)),
      key_path_(std::move(key_path)),
      current_(std::move(context)) {}

std::shared_ptr<ssl::context> TlsCredentials::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

Status TlsCredentials::Reload() {
  auto ctx = MakeContext(cert_path_, key_path_);
  if (!ctx.ok()) return ctx.status();
  std::lock_guard lock(mu_);
  current_ = std::move(ctx).value();
  return Status::Ok();
}

}  // namespace nexus::gateway
