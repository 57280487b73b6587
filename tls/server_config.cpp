#include "tls/server_config.hpp"

namespace revkv::tls {

std::string ServerConfig::check() const {
  if (!enabled()) {
    if (client_cert_auth) return "--client-cert-auth needs --cert-file and --key-file";
    if (!trusted_ca_file.empty()) return "--trusted-ca-file needs --cert-file and --key-file";
    return {};
  }
  if (cert_file.empty()) return "--key-file needs --cert-file";
  if (key_file.empty()) return "--cert-file needs --key-file";
  if (client_cert_auth && trusted_ca_file.empty())
    return "--client-cert-auth needs --trusted-ca-file (the CA client certificates must chain to)";
  return {};
}

}  // namespace revkv::tls
