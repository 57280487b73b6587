#pragma once

// Cluster mode: what a follower waits for before it answers a change it forwarded to the
// leader (docs/CLUSTER.md "Forwarding"). etcd's member answers its own proposal once it
// applied the entry itself, so whatever a client reads from that member next (serializably)
// already shows the change. The leader's answer says the change committed; the follower
// waits until its own state shows it too:
//   - AppliedAtRevision (Put, DeleteRange, Txn, LeaseRevoke): its W reaches the revision
//     of the answer (the backend actor's wait_atom). The same for a linearizable Range: etcd's
//     follower answers one once it applied up to the leader's read index, so a serializable
//     read on it next sees at least what the linearizable one saw. A read the leader refused
//     as compacted waits for this member's own compaction to pass its revision instead, so
//     the same read, serializable, is refused here next too;
//   - CompactedHere (Compact): its own compaction reached the revision (the maintenance
//     actor's applied_here_atom), and for a physical one, its physical job finished;
//   - AlarmHere (an Alarm that raises or clears NOSPACE): its copy of the alarm says so
//     (the maintenance actor's applied_here_atom).
// Nothing for the rest: a lease grant or keep-alive changes nothing a follower serves
// itself (LeaseTimeToLive and LeaseLeases are forwarded too, and read the leader's lessor).
// The leader announces the commit of each such change another member forwarded
// (ClusterLink::announce_commit), so the follower does not wait for a heartbeat to learn it.

#include "actors/alarm_effect.hpp"
#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <type_traits>
#include <variant>

namespace revkv::actors {

struct AppliedAtRevision {
  // A linearizable Range's revision (0: the latest, or not a Range). The leader refuses one
  // below its compaction; that refusal waits until this member's compaction reached
  // read_revision + 1.
  int64_t read_revision = 0;
};
struct CompactedHere {
  int64_t revision = 0;
  bool physical = false;
};
struct AlarmHere {
  bool raised = false;
};
using AppliedHere = std::variant<std::monostate, AppliedAtRevision, CompactedHere, AlarmHere>;

// `request`: a request path's Request (actors/request_path.hpp), which names this type.
template <class Request>
AppliedHere applied_here(const Request& request) {
  return std::visit(
      [](const auto& r) -> AppliedHere {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, storage::PutRequest> ||
                      std::is_same_v<T, storage::DeleteRangeRequest> ||
                      std::is_same_v<T, storage::TxnRequest> ||
                      std::is_same_v<T, protocol::LeaseRevokeRequest>) {
          return AppliedAtRevision{};
        } else if constexpr (std::is_same_v<T, storage::RangeRequest>) {
          // Only a linearizable one is forwarded (or asks for anything here).
          if (r.serializable) return std::monostate{};
          return AppliedAtRevision{r.revision > 0 ? r.revision : 0};
        } else if constexpr (std::is_same_v<T, protocol::CompactionRequest>) {
          return CompactedHere{r.revision, r.physical};
        } else if constexpr (std::is_same_v<T, protocol::AlarmRequest>) {
          auto effect = alarm_effect(r);
          if (effect == AlarmEffect::none) return std::monostate{};
          return AlarmHere{effect == AlarmEffect::raise};
        } else {
          return std::monostate{};
        }
      },
      request);
}

template <class Request>
bool waits_applied_here(const Request& request) {
  return !std::holds_alternative<std::monostate>(applied_here(request));
}

}  // namespace revkv::actors
