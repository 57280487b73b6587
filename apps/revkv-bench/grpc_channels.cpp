#include "apps/revkv-bench/grpc_channels.hpp"

#include <chrono>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

namespace revkv::bench {

Channels connect_channels(const std::string& target, int count) {
  Channels out;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // gRPC shares one connection between channels whose arguments are equal (its global
    // subchannel pool); a pool per channel gives each its own connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("revkv.bench.channel", i);
    args.SetMaxReceiveMessageSize(-1);  // range ops may read large answers
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
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
