#pragma once

// etcd_network_peer_round_trip_time_seconds (docs/METRICS.md): libraft measures no round
// trips, so a member probes each peer itself, as etcd's prober does over its peer URL. A
// probe is one TCP connection to the peer's advertised Raft address, timed from connect() to
// the connection being established (the SYN / SYN-ACK round trip, through whatever sits
// between the members), then closed before sending anything: libraft (or the peer TLS
// listener) sees a connection that ends before its handshake and drops it quietly.
//
// One thread, one probe per peer per interval, one probe at a time, each bounded by a
// timeout: no storm whatever the peers do. Failed probes record nothing (as etcd's).

#include "actors/peer_round_trips.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace revkv::apps {

class PeerProber {
 public:
  struct Peer {
    uint64_t id = 0;
    std::string address;  // IPv4 HOST:PORT, as in --initial-cluster
  };
  PeerProber(std::vector<Peer> peers, actors::PeerRoundTrips& out,
             std::chrono::milliseconds interval = std::chrono::seconds(2),
             std::chrono::milliseconds timeout = std::chrono::seconds(1));
  // stop().
  ~PeerProber();
  PeerProber(const PeerProber&) = delete;
  PeerProber& operator=(const PeerProber&) = delete;

  // Ends the thread (a probe in flight ends within its timeout). Idempotent.
  void stop();

 private:
  void run();

  std::vector<Peer> peers_;
  actors::PeerRoundTrips& out_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool quit_ = false;
  std::thread thread_;
};

// One probe: seconds until a TCP connection to `address` was established, or a negative
// value when it was not within `timeout` (refused, unreachable, malformed address).
double probe_round_trip(const std::string& address, std::chrono::milliseconds timeout);

}  // namespace revkv::apps
