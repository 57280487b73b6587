// Verified client-certificate names by connection descriptor (auth/certificate_names.hpp):
// what a gRPC call's peer string "fd:N" finds, and that a hand-off overwrites what an
// earlier connection on the same descriptor number left.

#include "auth/certificate_names.hpp"

#include <catch2/catch.hpp>

using revkv::auth::CertificateNames;

TEST_CASE("certificate names are found by the gRPC peer fd string", "[auth]") {
  CertificateNames names;
  CHECK_FALSE(names.recording());
  // A connection without a certificate records nothing and turns nothing on.
  names.record(7, std::nullopt);
  CHECK_FALSE(names.recording());
  CHECK_FALSE(names.of_grpc_peer("fd:7"));

  names.record(12, "app1");
  CHECK(names.recording());
  CHECK(names.of_grpc_peer("fd:12") == std::optional<std::string>("app1"));
  CHECK(names.of_fd(12) == std::optional<std::string>("app1"));
  // Other descriptors, and peers that are not a descriptor gRPC was handed: no one.
  CHECK_FALSE(names.of_grpc_peer("fd:11"));
  CHECK_FALSE(names.of_grpc_peer("fd:1200"));
  CHECK_FALSE(names.of_grpc_peer("ipv4:127.0.0.1:12"));
  CHECK_FALSE(names.of_grpc_peer("fd:12x"));
  CHECK_FALSE(names.of_grpc_peer("fd:"));
  CHECK_FALSE(names.of_grpc_peer("fd:-1"));
  CHECK_FALSE(names.of_grpc_peer("inproc"));

  // A verified certificate without a CN is the user "" (no such user: denied, as etcd).
  names.record(3, "");
  CHECK(names.of_grpc_peer("fd:3") == std::optional<std::string>(""));

  // The next connection on descriptor 12 overwrites the name, with one or with none.
  names.record(12, "root");
  CHECK(names.of_grpc_peer("fd:12") == std::optional<std::string>("root"));
  names.record(12, std::nullopt);
  CHECK_FALSE(names.of_grpc_peer("fd:12"));
  CHECK_FALSE(names.of_fd(-5));
}
