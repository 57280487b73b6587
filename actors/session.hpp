#pragma once

// One client connection's broker (a CAF io broker, on CAF's single I/O multiplexer thread).
// It only moves bytes: what the socket delivers goes to the connection's door actor
// (actors/msgpack_door.hpp), which decodes, runs the request path and encodes on the
// scheduler's threads, and writes the answers itself while the socket takes them; what the
// socket did not take comes back here to be written when it can. The door decides when
// reading stops and resumes (backpressure) and when the connection closes.

#include "actors/node_context.hpp"
#include "actors/routes.hpp"

#include <caf/fwd.hpp>
#include <caf/io/broker.hpp>

#include <optional>
#include <string>

namespace revkv::actors {

// Moves the accepted connection `hdl` out of `acceptor` into a new session broker.
// `certificate_cn`: the verified client certificate's CN of a TLS connection (for its door).
caf::actor fork_session(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                        NodeContextPtr ctx, Routes routes,
                        std::optional<std::string> certificate_cn);

}  // namespace revkv::actors
