#pragma once

// The channels of a gRPC run (revkv-bench --grpc): each its own HTTP/2 connection, as
// etcd's benchmark tool opens --conns of them, connected before the load starts.

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>
#include <memory>
#include <string>
#include <vector>

namespace revkv::bench {

struct Channels {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::string error;  // why a channel could not connect, or ""
};

// TLS files (PEM paths); all empty: plaintext.
struct ChannelTls {
  std::string cacert, cert, key;
  bool enabled() const { return !cacert.empty() || !cert.empty() || !key.empty(); }
};

// `count` channels to `target` (HOST:PORT), each connected within 5 s.
Channels connect_channels(const std::string& target, int count, const ChannelTls& tls = {});

// A failed call's status for the report: its message, or its code when it has none (gRPC's
// own Unimplemented carries no message).
std::string describe(const grpc::Status& status);

}  // namespace revkv::bench
