#include "apps/revkv-bench/grpc_channels.hpp"

#include <chrono>
#include <fstream>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <optional>
#include <sstream>

namespace revkv::bench {

namespace {

// A PEM file's text; "" for no file, nullopt when it cannot be read.
std::optional<std::string> pem(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Channels connect_channels(const std::string& target, int count, const ChannelTls& tls) {
  Channels out;
  auto credentials = grpc::InsecureChannelCredentials();
  if (tls.enabled()) {
    grpc::SslCredentialsOptions ssl;
    for (auto [file, into] :
         {std::pair{&tls.cacert, &ssl.pem_root_certs}, std::pair{&tls.cert, &ssl.pem_cert_chain},
          std::pair{&tls.key, &ssl.pem_private_key}}) {
      auto text = pem(*file);
      if (!text) {
        out.error = "cannot read " + *file;
        return out;
      }
      *into = std::move(*text);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // gRPC shares one connection between channels whose arguments are equal (its global
    // subchannel pool); a pool per channel gives each its own connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("revkv.bench.channel", i);
    args.SetMaxReceiveMessageSize(-1);  // range ops may read large answers
    // The load generator shares the machine with the server it measures: gRPC's minimal
    // stack leaves out what it has no use for (the message-size, compression and idle
    // filters, transparent retries) and cuts its CPU per call by about a sixth
    // (docs/BENCHMARKS.md "Static archives, and a leaner load generator"). Without retries
    // a call refused before it was sent fails its client, counted in the report's errors.
    // The minimal stack also turns off deadlines, which end a run against a stuck node:
    // back on.
    args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    args.SetInt(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 1);
    auto channel = grpc::CreateCustomChannel(target, credentials, args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      out.error = "cannot connect to " + target + " (gRPC)";
      return out;
    }
    out.channels.push_back(std::move(channel));
  }
  return out;
}

std::string describe(const grpc::Status& status) {
  if (!status.error_message().empty()) return status.error_message();
  return "gRPC status " + std::to_string(static_cast<int>(status.error_code()));
}

}  // namespace revkv::bench
