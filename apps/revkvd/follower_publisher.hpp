#pragma once

// A follower's publication of its own client addresses (docs/CLUSTER.md "Membership"): a
// follower cannot propose, so once it serves it hands its attributes to the known leader's
// catch-up port (apps/revkvd/publish_request.hpp; with peer TLS over TLS with its peer
// certificate, as the checkpoint fetcher connects), and the leader proposes them. Retried
// with backoff (200 ms doubling to 5 s) while the applied log does not hold them and a
// leader is known; tried at once again when the leader changes; done once the log holds
// them. A member that leads publishes through its own gate instead (ClusterMember).

#include "actors/cluster_link.hpp"
#include "actors/member_attributes.hpp"
#include "tls/client_tunnel.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace revkv::apps {

class FollowerPublisher {
 public:
  FollowerPublisher(std::shared_ptr<actors::ClusterLink> link, tls::ClientConfig peer_tls);
  // stop().
  ~FollowerPublisher();
  FollowerPublisher(const FollowerPublisher&) = delete;
  FollowerPublisher& operator=(const FollowerPublisher&) = delete;

  // This member's attributes, once its doors serve: published until the log holds them.
  void publish(actors::MemberAttributes own);
  // The known leader changed (or leadership ended here): try it now, backoff restarted.
  void leader_changed();
  // Cuts an exchange in progress short and joins the thread. Idempotent.
  void stop();

 private:
  enum class Attempt {
    held,    // the applied log holds them: done
    idle,    // no leader known, or this member leads: wait for a leader change
    sent,    // the leader committed them: look again shortly (applied here soon)
    failed,  // try again after the pause
  };
  void loop();
  Attempt attempt(const actors::MemberAttributes& own);
  bool exchange(const std::string& address, const std::string& payload, std::string& refusal,
                std::string& error);

  std::shared_ptr<actors::ClusterLink> link_;
  tls::ClientConfig tls_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<actors::MemberAttributes> own_;
  std::optional<actors::MemberAttributes> announced_;  // the last ones logged as published
  bool nudged_ = false;                                // look now
  bool leader_changed_ = false;                        // ... and restart the backoff
  bool quit_ = false;
  int socket_ = -1;  // the exchange's connection, shut down by stop()
  std::thread thread_;
};

}  // namespace revkv::apps
