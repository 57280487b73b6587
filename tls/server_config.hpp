#pragma once

// The TLS settings of the client doors, as etcd names them: --cert-file, --key-file,
// --trusted-ca-file, --client-cert-auth (docs/SECURITY.md). Apart from the OpenSSL
// context (tls/server_credentials.hpp) so that option parsing needs no TLS headers.

#include <string>

namespace revkv::tls {

struct ServerConfig {
  std::string cert_file;
  std::string key_file;
  // The CA client certificates must chain to; needed by client_cert_auth.
  std::string trusted_ca_file;
  // Require a client certificate and verify it against trusted_ca_file.
  bool client_cert_auth = false;
  // Put before the flag names in error messages: "peer-" for the peer port's certificates
  // (--peer-cert-file, ...; cluster/peer_tls.hpp), "" for the client doors'.
  std::string flag_prefix;

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
  // "" when the combination is usable, else what is wrong (naming etcd's flags).
  std::string check() const;
};

}  // namespace revkv::tls
