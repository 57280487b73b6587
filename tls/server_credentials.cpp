#include "tls/server_credentials.hpp"

#include "tls/openssl_errors.hpp"

#include <cstring>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace revkv::tls {

namespace {

// ALPN, in OpenSSL's wire format, in the server's order of preference: HTTP/1.1 when the
// client offers it, for the JSON gateway speaks HTTP/1.1 only (curl and browsers offer
// both and then speak what was chosen), else HTTP/2 (gRPC clients offer only h2). A client
// offering neither (the MessagePack door's) goes on without ALPN.
constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1', 2, 'h', '2'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kAlpn, sizeof kAlpn, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// Records why a client certificate failed verification (the first failure) for the
// refusal's log line: after a failed handshake OpenSSL no longer holds the certificate.
int record_verify_failure(int ok, X509_STORE_CTX* store) {
  if (ok) return ok;
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* reason =
      ssl ? static_cast<std::string*>(SSL_get_ex_data(ssl, verify_failure_index())) : nullptr;
  if (reason && reason->empty()) {
    char subject[256] = {};
    if (X509* cert = X509_STORE_CTX_get_current_cert(store))
      X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject - 1);
    *reason = std::string("client certificate ") + subject +
              " rejected: " + X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
  }
  return ok;
}

std::string asn1_time(const ASN1_TIME* t) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return "?";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// The leaf certificate the context serves, described for the log.
std::string describe(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (!cert) return "no certificate";
  char subject[512] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject - 1);
  std::string serial = "?";
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  std::string out = std::string("subject=") + subject + " serial=" + serial +
                    " expires=" + asn1_time(X509_get0_notAfter(cert));
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) out += " (EXPIRED)";
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) out += " (NOT YET VALID)";
  return out;
}

std::shared_ptr<boost::asio::ssl::context> build(const ServerConfig& config, std::string& error) {
  namespace ssl = boost::asio::ssl;
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.2 and 1.3 only, as etcd (Go's crypto/tls defaults).
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  const auto flag = [&](const char* name) { return "--" + config.flag_prefix + name; };
  auto fail = [&](const std::string& what, const std::string& file) {
    error = "cannot load " + what + " " + file + ": " + openssl_errors();
    return nullptr;
  };
  if (SSL_CTX_use_certificate_chain_file(native, config.cert_file.c_str()) != 1)
    return fail(flag("cert-file"), config.cert_file);
  if (SSL_CTX_use_PrivateKey_file(native, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      error = flag("key-file") + " " + config.key_file + " does not match " + flag("cert-file") +
              " " + config.cert_file;
      return nullptr;
    }
    return fail(flag("key-file"), config.key_file);
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = flag("key-file") + " " + config.key_file + " does not match " + flag("cert-file") +
            " " + config.cert_file + ": " + openssl_errors();
    return nullptr;
  }
  if (!config.trusted_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(native, config.trusted_ca_file.c_str(), nullptr) != 1)
      return fail(flag("trusted-ca-file"), config.trusted_ca_file);
    // The CA names sent in the CertificateRequest, so that a client picks a fitting cert.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.trusted_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
  }
  if (config.client_cert_auth)
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       record_verify_failure);
  else
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
  // No session resumption across reloads to think about: tickets are per context, and the
  // cost of a full handshake is paid once per connection, which clients keep open.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  return ctx;
}

}  // namespace

int verify_failure_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::shared_ptr<ServerCredentials> ServerCredentials::load(const ServerConfig& config,
                                                           std::string& error) {
  if (error = config.check(); !error.empty()) return nullptr;
  std::shared_ptr<ServerCredentials> out(new ServerCredentials(config));
  std::string description;
  if (!out->reload(error, description)) return nullptr;
  return out;
}

bool ServerCredentials::reload(std::string& error, std::string& description) {
  auto ctx = build(config_, error);
  if (!ctx) return false;
  description = describe(ctx->native_handle());
  std::lock_guard lock(mutex_);
  context_ = std::move(ctx);
  description_ = description;
  return true;
}

std::shared_ptr<boost::asio::ssl::context> ServerCredentials::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::string ServerCredentials::description() const {
  std::lock_guard lock(mutex_);
  return description_;
}

}  // namespace revkv::tls
