#pragma once

// The client listener: accepts connections and forks one session broker for each.
// (shutdown_atom) stops accepting and asks every session to finish what it has in flight
// and close; the acceptor quits when the last one is gone.

#include "actors/node_context.hpp"
#include "actors/session.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/io/doorman.hpp>

namespace revkv::actors {

// Takes over the listening socket `doorman` (bound by the caller, so that a busy port is
// reported before anything starts); null for none. Either way (adopt_atom, int fd,
// CertificateName) hands it a connected socket to serve as if it had accepted it (a TLS
// terminator's plaintext end, with the client certificate's CN it verified); it closes the
// descriptor when it is stopping.
caf::actor spawn_acceptor(caf::actor_system& sys, caf::io::doorman_ptr doorman, NodeContextPtr ctx,
                          Routes routes);

}  // namespace revkv::actors
