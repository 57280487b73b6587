#pragma once

// The gRPC door's families under go-grpc-prometheus's names, as etcd exports them, so the
// gRPC panels of etcd's dashboards work against revkvd unchanged:
//
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
//
// The series of every served method (every code of handled_total) are created up front,
// as go-grpc-prometheus's InitializeMetrics does, so dashboards see zeros rather than no
// data, and counting a call is a few atomic adds with no lookup. Methods the server does
// not know get series of their own on first use, at most kMaxUnknownMethods of them: past
// that they share grpc_service="unknown", grpc_method="unknown", so a client sending
// made-up method names cannot grow the registry without bound. What calls these is the
// gRPC interceptor of etcdapi/metrics_interceptor.hpp; docs/METRICS.md lists the families.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <array>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace revkv::metrics {

// gRPC's status codes, OK (0) .. Unauthenticated (16).
inline constexpr size_t kGrpcCodeCount = 17;

class GrpcServerMetrics {
 public:
  static constexpr size_t kMaxUnknownMethods = 64;

  // The series of one method.
  struct Method {
    prometheus::Counter* started = nullptr;
    prometheus::Counter* msg_received = nullptr;
    prometheus::Counter* msg_sent = nullptr;
    std::array<prometheus::Counter*, kGrpcCodeCount> handled{};

    // A code outside 0..16 counts as Unknown (2), as gRPC maps it.
    void handled_with(int code) const {
      size_t i =
          code >= 0 && static_cast<size_t>(code) < kGrpcCodeCount ? static_cast<size_t>(code) : 2;
      handled[i]->Increment();
    }
  };

  // Registers the four families in `registry` (kept alive by this object).
  explicit GrpcServerMetrics(std::shared_ptr<prometheus::Registry> registry);
  GrpcServerMetrics(const GrpcServerMetrics&) = delete;
  GrpcServerMetrics& operator=(const GrpcServerMetrics&) = delete;

  // Creates the series of a served method; `type` is go-grpc-prometheus's: unary,
  // client_stream, server_stream or bidi_stream; `service` is fully qualified
  // ("etcdserverpb.KV"). The reference stays valid as long as this object.
  const Method& add(std::string_view type, std::string_view service, std::string_view method);

  // The series of a method the server does not serve (grpc_type="unknown": nothing says
  // what it would have been). Thread-safe; looks up under a lock (the rare path).
  const Method& unknown(std::string_view service, std::string_view method);

 private:
  const Method& add_locked(std::string_view type, std::string_view service,
                           std::string_view method);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* started_ = nullptr;
  prometheus::Family<prometheus::Counter>* handled_ = nullptr;
  prometheus::Family<prometheus::Counter>* msg_received_ = nullptr;
  prometheus::Family<prometheus::Counter>* msg_sent_ = nullptr;
  // std::deque: the references handed out stay valid as methods are added.
  std::deque<Method> methods_;
  std::mutex mutex_;  // guards methods_ and unknown_
  // "service/method" -> its series, for the methods the server does not serve.
  std::map<std::string, const Method*, std::less<>> unknown_;
  const Method* unknown_overflow_ = nullptr;  // grpc_service="unknown", grpc_method="unknown"
};

// "/etcdserverpb.KV/Range" -> {"etcdserverpb.KV", "Range"}; {"unknown", "unknown"} when
// the name has no '/' between them (go-grpc-prometheus splits the same way).
std::pair<std::string_view, std::string_view> split_method_name(std::string_view full);

}  // namespace revkv::metrics
