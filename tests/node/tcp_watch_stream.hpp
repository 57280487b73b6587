#pragma once

// A scenario watch stream (tests/scenarios/scenario_target.hpp) over the MessagePack door:
// a connection of its own, Watch.Watch requests on it, notifications queued as they arrive.
// Used by the scenario targets that are revkvd processes (one node, a cluster).

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "tests/scenarios/scenario_target.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <string>

namespace revkv::testing {

// A watch stream: a connection of its own; notifications are queued as they arrive.
class TcpWatchStream final : public WatchStreamHandle {
 public:
  explicit TcpWatchStream(const std::string& endpoint) {
    client::ClientOptions options;
    options.request_timeout = std::chrono::seconds(30);
    auto c = client::Client::connect(endpoint, options);
    if (!c.ok()) FAIL("connect " << endpoint << ": " << c.error().message);
    client_.emplace(std::move(c).value());
    client_->set_notification_handler([this](const client::Notification& n) {
      auto w = client::decode_watch_notification(n);
      if (!w.ok()) FAIL("undecodable Watch.Watch notification: " << w.error().message);
      inbox_.push_back(std::move(w).value());
    });
  }

  std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& r) override {
    auto raw = client_->call(protocol::method_name(protocol::Method::watch),
                             protocol::encode_to_string(r));
    if (!raw.ok()) FAIL("Watch.Watch: " << raw.error().message);
    // {}: etcd would have answered nothing.
    if (raw.value().result.type == msgpack::type::MAP && raw.value().result.via.map.size == 0) {
      return std::nullopt;
    }
    auto decoded = protocol::decode_body<protocol::WatchResponse>(raw.value().result);
    if (!decoded.ok()) FAIL("Watch.Watch result: " << decoded.error().message);
    return std::move(decoded).value();
  }

  std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (inbox_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      auto got = client_->pump_for(left);
      if (!got.ok()) FAIL("watch stream: " << got.error().message);
    }
    if (inbox_.empty()) return std::nullopt;
    auto out = std::move(inbox_.front());
    inbox_.pop_front();
    return out;
  }

 private:
  std::optional<client::Client> client_;
  std::deque<protocol::WatchResponse> inbox_;
};

}  // namespace revkv::testing
