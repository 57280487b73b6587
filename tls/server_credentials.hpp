#pragma once

// A TLS server's certificates (etcd's --cert-file, --key-file, --trusted-ca-file,
// --client-cert-auth) loaded into an OpenSSL context, and reloaded on demand (revkvd does
// it on SIGHUP). Every new connection takes the context current at its accept; one loaded
// earlier stays alive as long as a connection uses it, so a reload never disturbs an open
// connection and a failed reload keeps the previous certificates.

#include "tls/server_config.hpp"

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>

namespace revkv::tls {

class ServerCredentials {
 public:
  // nullptr and `error` set when a file cannot be read or the key does not match.
  static std::shared_ptr<ServerCredentials> load(const ServerConfig& config, std::string& error);

  // Reads the files again; on success new connections get the new certificates and the
  // answer is the new certificate's description, on failure the old ones stay and `error`
  // says why.
  bool reload(std::string& error, std::string& description);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  const ServerConfig& config() const { return config_; }
  // "subject=..., serial=..., expires=..." of the certificate in use.
  std::string description() const;

 private:
  explicit ServerCredentials(ServerConfig config) : config_(std::move(config)) {}

  ServerConfig config_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::string description_;
};

// The SSL ex_data slot where a connection may put a std::string* for the reason its
// client certificate failed verification (filled during the handshake).
int verify_failure_index();

}  // namespace revkv::tls
