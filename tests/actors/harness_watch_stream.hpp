#pragma once

// One watch stream of the actor-message test harness: what a session does for Watch.Watch,
// without TCP. It owns a scoped actor (the stream's identity towards the watch hub) and an
// actors::WatchStream (ids and checks, shared with the session), and keeps the hub's
// notifications in arrival order until the test takes them.

#include "actors/node_context.hpp"
#include "actors/watch_stream.hpp"
#include "protocol/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <optional>

namespace revkv::testing {

class HarnessWatchStream {
 public:
  HarnessWatchStream(caf::actor_system& sys, caf::actor hub, actors::NodeContextPtr ctx,
                     std::chrono::milliseconds timeout);

  // The RPC result of a create / cancel / progress request; nullopt where etcd answers
  // nothing (the session writes {} then). Throws CallTimeout when the hub does not answer.
  std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& request);
  // The next notification (events, progress, a compaction cancel) within `timeout`;
  // nullopt when none came.
  std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout);

 private:
  // Takes one message of the hub; false when none came within `timeout`.
  bool receive(std::chrono::milliseconds timeout);
  // Waits for the hub's answer to `msgid` (a created or progress revision, a cancel).
  int64_t answer(uint32_t msgid);

  caf::scoped_actor self_;
  caf::actor hub_;
  actors::NodeContextPtr ctx_;
  std::chrono::milliseconds timeout_;
  actors::WatchStream stream_;
  std::deque<protocol::WatchResponse> inbox_;
  std::map<uint32_t, int64_t> answers_;  // msgid -> created / progress revision
  uint32_t next_msgid_ = 1;
};

}  // namespace revkv::testing
