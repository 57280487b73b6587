#pragma once

// The door actor of one MessagePack-RPC connection (docs/PROTOCOL.md). It runs on the
// scheduler's threads, not on CAF's I/O multiplexer thread: its broker (actors/session.cpp)
// only moves bytes. The door splits the received bytes into frames, decodes each request
// into a typed Request, hands it to the connection's RequestPath, and encodes the path's
// answers, watch notifications and snapshot chunks into response frames, sent back to the
// socket: what one turn produced leaves at its end when the mailbox is empty (no extra hop
// at one request in flight), else once the queued messages are handled (one write for
// many answers). The door writes to the socket itself (a duplicate descriptor, non-blocking)
// while the broker holds no unsent bytes; what the socket does not take goes through the
// broker, which reports when it has sent it all.
//
//   from the broker: (bytes_atom, vector<char>)  received bytes
//                    (sent_atom, uint64_t)       bytes the socket took in all (told
//                                                every 256 KiB: the limits are megabytes)
//                    (shutdown_atom)             drain: finish what is in flight, close
//                    (node_failed_atom, string)  fail everything waiting (Unavailable)
//                    (leader_lost_atom, DrainHoldPtr)  fail everything waiting with
//                                                `etcdserver: leader changed`; drop the hold
//                                                once the socket took the answers
//   to the broker:   (bytes_atom, vector<char>)  bytes to write (those the socket did not
//                                                take from the door directly)
//                    (read_atom, bool)           stop / resume reading the socket
//                    (close_atom)                close the connection
//
// Backpressure: past `max_inflight_per_connection` requests in the path, or 8 MiB of output
// the socket has not taken, the door asks the broker to stop reading; bytes that still
// arrive wait, undecoded, in the frame decoder.

#include "actors/node_context.hpp"
#include "actors/routes.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <optional>
#include <string>

namespace revkv::actors {

// `socket`: a duplicate of the connection's descriptor, owned by the door from now on, or
// -1 (every byte then goes through the broker). `certificate_cn`: the CN of the client
// certificate TLS verified on the connection (nullopt: none), the user of its requests
// without a token (docs/SECURITY.md "The certificate's CN as the user").
caf::actor spawn_msgpack_door(caf::actor_system& sys, NodeContextPtr ctx, Routes routes,
                              caf::actor broker, int socket,
                              std::optional<std::string> certificate_cn = std::nullopt);

}  // namespace revkv::actors
