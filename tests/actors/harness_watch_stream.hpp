#pragma once

// One watch stream of the actor-message test harness: its own harness door (the node's
// request path, as one connection), and a scoped actor that receives the stream's watch
// responses and keeps them in arrival order until the test takes them.

#include "actors/node_context.hpp"
#include "actors/routes.hpp"
#include "protocol/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <optional>

namespace revkv::testing {

class HarnessWatchStream {
 public:
  HarnessWatchStream(caf::actor_system& sys, actors::NodeContextPtr ctx,
                     const actors::Routes& routes, std::chrono::milliseconds timeout);
  ~HarnessWatchStream();
  HarnessWatchStream(const HarnessWatchStream&) = delete;
  HarnessWatchStream& operator=(const HarnessWatchStream&) = delete;

  // The RPC result of a create / cancel / progress request; nullopt where etcd answers
  // nothing (the MessagePack door writes {} then). Throws CallTimeout when no answer comes.
  std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& request);
  // The next notification (events, progress, a compaction cancel) within `timeout`;
  // nullopt when none came.
  std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout);

 private:
  // Takes one message of the door; false when none came within `timeout`.
  bool receive(std::chrono::milliseconds timeout);

  caf::scoped_actor self_;
  caf::actor door_;
  std::chrono::milliseconds timeout_;
  std::deque<protocol::WatchResponse> inbox_;
};

}  // namespace revkv::testing
