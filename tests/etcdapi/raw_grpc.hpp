#pragma once

// Raw gRPC for the bad-input and metrics tests: any bytes as the one message of any method
// name (grpc::GenericStub), so a test can send what no generated stub would, and the
// node's process figures the tests bound (threads, resident memory).

#include <chrono>
#include <fstream>
#include <future>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <string>
#include <sys/types.h>

namespace revkv::testing {

struct RawAnswer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  std::string body;  // the response's bytes when OK
};

// Sends `bytes` as the request of `method` ("/etcdserverpb.KV/Range") and waits (30 s
// deadline) for the status.
inline RawAnswer raw_unary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                           const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  auto status = done.get_future().get();
  RawAnswer out{status.error_code(), status.error_message(), {}};
  if (status.ok()) {
    std::vector<grpc::Slice> slices;
    if (response.Dump(&slices).ok()) {
      for (const auto& s : slices)
        out.body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return out;
}

}  // namespace revkv::testing
