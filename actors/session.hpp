#pragma once

// One client connection (a CAF io broker): MessagePack-RPC framing, decoding, routing to
// the shards / coordinator / maintenance actor / lessor, and encoding the replies, which may leave
// out of order (matched by msgid).
//
// Requests of a connection execute in arrival order: reads run concurrently with each
// other, a write waits for every earlier request, and a read waits for every earlier
// write. Backpressure: past `max_inflight_per_connection` queued requests, or when the
// client does not read its replies, the session stops reading the socket.

#include "actors/node_context.hpp"

#include <caf/fwd.hpp>
#include <caf/io/broker.hpp>

#include <vector>

namespace revkv::actors {

struct Routes {
  std::vector<caf::actor> shards;
  caf::actor coordinator;
  caf::actor maintenance;
  caf::actor lessor;
  caf::actor watch_hub;
};

// Moves the accepted connection `hdl` out of `acceptor` into a new session broker.
caf::actor fork_session(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                        NodeContextPtr ctx, Routes routes);

}  // namespace revkv::actors
