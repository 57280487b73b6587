#include "metrics/grpc_server_metrics.hpp"

#include "metrics/node_metrics.hpp"

namespace revkv::metrics {

namespace {

prometheus::Family<prometheus::Counter>& counter_family(prometheus::Registry& registry,
                                                        const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

}  // namespace

std::pair<std::string_view, std::string_view> split_method_name(std::string_view full) {
  if (full.starts_with('/')) full.remove_prefix(1);
  auto slash = full.find('/');
  if (slash == std::string_view::npos) return {"unknown", "unknown"};
  return {full.substr(0, slash), full.substr(slash + 1)};
}

GrpcServerMetrics::GrpcServerMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {
  auto& r = *registry_;
  started_ = &counter_family(r, "grpc_server_started_total", "gRPC calls started by the server.");
  handled_ = &counter_family(r, "grpc_server_handled_total",
                             "gRPC calls the server finished, by status code (OK or not).");
  msg_received_ = &counter_family(r, "grpc_server_msg_received_total",
                                  "gRPC messages the server received (requests, stream messages).");
  msg_sent_ = &counter_family(r, "grpc_server_msg_sent_total",
                              "gRPC messages the server sent (responses, stream messages).");
  unknown_overflow_ = &add_locked("unknown", "unknown", "unknown");
}

const GrpcServerMetrics::Method& GrpcServerMetrics::add(std::string_view type,
                                                        std::string_view service,
                                                        std::string_view method) {
  std::lock_guard lock(mutex_);
  return add_locked(type, service, method);
}

const GrpcServerMetrics::Method& GrpcServerMetrics::unknown(std::string_view service,
                                                            std::string_view method) {
  std::string key;
  key.reserve(service.size() + method.size() + 1);
  key.append(service).append("/").append(method);
  std::lock_guard lock(mutex_);
  if (auto it = unknown_.find(key); it != unknown_.end()) return *it->second;
  if (unknown_.size() >= kMaxUnknownMethods) return *unknown_overflow_;
  const auto& m = add_locked("unknown", service, method);
  unknown_.emplace(std::move(key), &m);
  return m;
}

// Family::Add returns the existing child for labels it has, so a method added twice (a
// second server on the same registry) shares its series.
const GrpcServerMetrics::Method& GrpcServerMetrics::add_locked(std::string_view type,
                                                               std::string_view service,
                                                               std::string_view method) {
  const prometheus::Labels labels{{"grpc_type", std::string(type)},
                                  {"grpc_service", std::string(service)},
                                  {"grpc_method", std::string(method)}};
  Method m;
  m.started = &started_->Add(labels);
  m.msg_received = &msg_received_->Add(labels);
  m.msg_sent = &msg_sent_->Add(labels);
  for (size_t code = 0; code < kGrpcCodeCount; ++code) {
    auto with_code = labels;
    with_code.emplace("grpc_code", std::string(code_name(static_cast<int64_t>(code))));
    m.handled[code] = &handled_->Add(with_code);
  }
  return methods_.emplace_back(m);
}

}  // namespace revkv::metrics
