#include "apps/revkv-floor/grpc_floor.hpp"

#include "apps/revkv-floor/floor_response.hpp"

#include <condition_variable>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace revkv::floor {

namespace {

// Every method a callback method, as revkvd's KvService (etcdapi/kv_service.hpp): one
// synchronous method would make gRPC add its synchronous request threads to the server.
// Only Range is served; the others answer Unimplemented (the base class's default).
using RawRange =
    etcdserverpb::KV::WithRawCallbackMethod_Range<etcdserverpb::KV::WithCallbackMethod_Put<
        etcdserverpb::KV::WithCallbackMethod_DeleteRange<etcdserverpb::KV::WithCallbackMethod_Txn<
            etcdserverpb::KV::WithCallbackMethod_Compact<etcdserverpb::KV::Service>>>>>;

}  // namespace

struct GrpcFloorServer::Impl : RawRange {
  struct Call {
    grpc::ServerUnaryReactor* reactor;
    grpc::ByteBuffer* response;
  };

  const bool hop;
  grpc::Slice response_slice{range_response()};
  std::mutex mu;
  std::condition_variable work;
  std::vector<Call> calls;
  bool stopping = false;
  std::thread worker;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  Impl(uint16_t wanted, bool with_hop) : hop(with_hop) {
    if (hop) worker = std::thread([this] { work_loop(); });
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(wanted),
                             grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(this);
    server = builder.BuildAndStart();
    if (!server || port == 0) {
      stop_worker();
      throw std::runtime_error("revkv-floor: cannot listen on 127.0.0.1:" + std::to_string(wanted));
    }
  }

  ~Impl() override {
    // The worker finishes the calls still queued, which Shutdown waits for.
    server->Shutdown();
    stop_worker();
  }

  void stop_worker() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    work.notify_all();
    if (worker.joinable()) worker.join();
  }

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context, const grpc::ByteBuffer*,
                                  grpc::ByteBuffer* response) override {
    // The floor reads no request: its whole cost is the transport's.
    auto* reactor = context->DefaultReactor();
    if (!hop) {
      finish({reactor, response});
      return reactor;
    }
    {
      std::lock_guard lock(mu);
      calls.push_back({reactor, response});
    }
    work.notify_one();
    return reactor;
  }

  void finish(const Call& call) {
    *call.response = grpc::ByteBuffer(&response_slice, 1);
    call.reactor->Finish(grpc::Status::OK);
  }

  void work_loop() {
    std::vector<Call> batch;
    for (;;) {
      {
        std::unique_lock lock(mu);
        work.wait(lock, [this] { return stopping || !calls.empty(); });
        if (calls.empty()) return;  // stopping, nothing left
        batch.swap(calls);
      }
      for (const auto& call : batch)
        finish(call);
      batch.clear();
    }
  }
};

GrpcFloorServer::GrpcFloorServer(uint16_t port, bool hop)
    : impl_(std::make_unique<Impl>(port, hop)) {}

GrpcFloorServer::~GrpcFloorServer() = default;

uint16_t GrpcFloorServer::port() const {
  return static_cast<uint16_t>(impl_->port);
}

}  // namespace revkv::floor
