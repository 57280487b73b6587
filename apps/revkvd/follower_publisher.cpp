#include "apps/revkvd/follower_publisher.hpp"

#include "apps/revkvd/peer_dial.hpp"
#include "apps/revkvd/publish_request.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <sys/socket.h>

namespace revkv::apps {
namespace {

constexpr std::chrono::milliseconds kFirstPause{200};
constexpr std::chrono::milliseconds kLongestPause{5000};
constexpr std::chrono::milliseconds kConnectTimeout{1000};
constexpr std::chrono::milliseconds kHandshakeTimeout{2000};
// The leader answers within its own bound on the proposal (5 s) and reads the request
// within 5 s: beyond that the exchange is given up and tried again.
constexpr std::chrono::milliseconds kExchangeTimeout{12000};

}  // namespace

FollowerPublisher::FollowerPublisher(std::shared_ptr<actors::ClusterLink> link,
                                     tls::ClientConfig peer_tls)
    : link_(std::move(link)), tls_(std::move(peer_tls)) {
  thread_ = std::thread([this] { loop(); });
}

FollowerPublisher::~FollowerPublisher() {
  stop();
}

void FollowerPublisher::publish(actors::MemberAttributes own) {
  std::lock_guard lock(mutex_);
  own_ = std::move(own);
  nudged_ = true;
  leader_changed_ = true;
  wake_.notify_all();
}

void FollowerPublisher::leader_changed() {
  std::lock_guard lock(mutex_);
  nudged_ = true;
  leader_changed_ = true;
  wake_.notify_all();
}

void FollowerPublisher::stop() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
    if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FollowerPublisher::loop() {
  auto pause = kFirstPause;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return quit_ || (own_ && nudged_); });
    if (quit_) return;
    nudged_ = false;
    if (std::exchange(leader_changed_, false)) pause = kFirstPause;
    const auto own = *own_;
    lock.unlock();
    const Attempt outcome = attempt(own);
    lock.lock();
    switch (outcome) {
      case Attempt::held:
      case Attempt::idle:
        continue;
      case Attempt::sent:
        // Not a synchronisation: the pause before looking whether it was applied here (if
        // not, the leader answers the same request again at once, proposing nothing).
        wake_.wait_for(lock, kFirstPause, [this] { return quit_ || nudged_; });
        nudged_ = true;
        continue;
      case Attempt::failed:
        // The pause between attempts, cut short by a leader change or stop().
        wake_.wait_for(lock, pause, [this] { return quit_ || leader_changed_; });
        pause = std::min(pause * 2, kLongestPause);
        nudged_ = true;
        continue;
    }
  }
}

FollowerPublisher::Attempt FollowerPublisher::attempt(const actors::MemberAttributes& own) {
  if (link_->attributes_of(own.id) == own) return Attempt::held;
  const auto leader = link_->leader_id.load();
  if (leader == 0 || leader == link_->member_id) return Attempt::idle;
  const auto where = link_->attributes_of(leader);
  if (!where || where->catchup.empty()) {
    // The leader publishes its own (catch-up address included) as it starts to lead.
    spdlog::info(
        "cluster: client addresses not published yet: the catch-up address of the "
        "leader {:x} is not known here yet",
        leader);
    return Attempt::failed;
  }
  std::string refusal, error;
  if (!exchange(where->catchup, actors::encode_member_attributes(own), refusal, error)) {
    spdlog::warn("cluster: client addresses not published via the leader {} at {}: {}", where->name,
                 where->catchup, error);
    return Attempt::failed;
  }
  if (!refusal.empty()) {
    spdlog::warn("cluster: the leader {} at {} refused this member's client addresses: {}",
                 where->name, where->catchup, refusal);
    return Attempt::failed;
  }
  {
    std::lock_guard lock(mutex_);
    if (announced_ == own) return Attempt::sent;
    announced_ = own;
  }
  spdlog::info("cluster: published client addresses client={} grpc={} via the leader {} at {}",
               own.client, own.grpc, where->name, where->catchup);
  return Attempt::sent;
}

bool FollowerPublisher::exchange(const std::string& address, const std::string& payload,
                                 std::string& refusal, std::string& error) {
  auto connection = dial_peer(address, tls_, kConnectTimeout, kHandshakeTimeout, error);
  if (!connection.valid()) return false;
  const int plain = connection.plain.get();
  {
    std::lock_guard lock(mutex_);
    if (quit_) {
      error = "stopping";
      return false;
    }
    socket_ = plain;
  }
  const bool answered = exchange_publish(plain, payload, kExchangeTimeout, refusal, error);
  std::lock_guard lock(mutex_);
  socket_ = -1;
  return answered;
}

}  // namespace revkv::apps
