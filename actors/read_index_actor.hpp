#pragma once

// Cluster mode: batches the confirmations linearizable reads wait for, as etcd's read-index
// loop does (docs/CLUSTER.md "Reads"). One Raft barrier is in flight at a time; the reads
// that arrive while it runs wait for the next one, because the running barrier may have
// started before them. A barrier applied here while this member still leads proves that it
// led when the read arrived and that everything committed before is applied here, so the
// read is answered at W then.
//
//   (read_index_atom) -> bool   true once confirmed; false: leadership was lost meanwhile

#include "actors/cluster_link.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>

namespace revkv::actors {

caf::actor spawn_read_index_actor(caf::actor_system& sys, std::shared_ptr<ClusterLink> link);

}  // namespace revkv::actors
