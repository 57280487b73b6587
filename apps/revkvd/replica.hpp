#pragma once

// What a cluster member's Raft log is applied to (docs/CLUSTER.md "Replicated writes"): the
// node's RocksDB and, for entries other members proposed, its shards' indexes and W.
//
// Each committed entry is one commit group (actors/replicated_entry.hpp). It is written as
// one RocksDB batch together with the applied Raft index (meta `raft_applied_index`), with
// no fsync: the Raft log is the durable copy, and an entry RocksDB lost in a crash is
// applied again after the restart, while one it kept is skipped by its index. The entries
// this process proposed are already in its shards' overlays; for any other entry the
// records go to their shards exactly as recovery puts them there, and then the backend actor
// moves W to the entry's newest revision, which releases watches and waiters as on the
// leader. A follower is a node in permanent recovery.

#include "actors/node.hpp"
#include "actors/state_change.hpp"
#include "apps/revkvd/catchup_fetcher.hpp"
#include "cluster/raft_node.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace revkv::apps {

class Replica final : public cluster::StateMachine {
 public:
  // Reads the applied index from the node's store. `node` outlives the replica.
  // `catchup_address`: this member's catch-up port (HOST:PORT), named in its snapshots;
  // `fetcher` fetches a peer's checkpoint when a snapshot is ahead of this store (both
  // docs/CLUSTER.md "Catch-up from a peer's checkpoint").
  Replica(caf::actor_system& sys, const actors::Node& node, std::string catchup_address,
          CheckpointFetcher& fetcher);

  void apply(std::uint64_t index, std::string_view entry) override;
  // Syncs the store's WAL (libraft compacts the log before the snapshot), then names where a
  // member that is behind fetches a checkpoint: "fetch HOST:PORT", this member's catch-up
  // port. The checkpoint is made when fetched, so it covers at least `applied_index`.
  std::string snapshot(std::uint64_t applied_index) override;
  // Accepts a snapshot this member's store already covers. A newer one is refused while the
  // checkpoint it names is fetched in the background (retried until it is staged); once
  // staged, the process restarts into it. While the member
  // starts (the RaftNode constructor restores its latest local snapshot) the fetch runs on
  // the calling thread instead, and a staged checkpoint restarts the process as well.
  bool restore(std::uint64_t applied_index, std::string_view descriptor) override;
  // The RaftNode is constructed: restores come from the leader from now on.
  void started() { starting_ = false; }
  // Why the start's own restore failed (empty: it did not, or not for catch-up).
  const std::string& start_failure() const { return start_failure_; }

  std::uint64_t applied() const { return applied_; }

 private:
  // A state change (actors/state_change.hpp): its records and the applied index in one
  // write, then the part of the node it belongs to publishes it.
  void apply_change(std::uint64_t index, const actors::StateChange& change);
  void restore_in_shards(const storage::WriteBatch& batch, int64_t last_revision);

  caf::actor_system& sys_;
  actors::NodeContextPtr ctx_;
  actors::Routes routes_;
  std::uint64_t applied_ = 0;
  // The highest revision of the commit groups applied (or recovered at start). While this
  // member leads, the revisions it handed out above it belong to its own groups in flight.
  int64_t applied_revision_ = 0;
  std::string catchup_address_;
  CheckpointFetcher& fetcher_;
  bool starting_ = true;
  std::string start_failure_;
};

// The applied Raft index a store holds (0: none).
std::uint64_t read_applied_index(const storage::Backend& backend);

}  // namespace revkv::apps
