#pragma once

// The Raft entry of a state change that is not a commit group (docs/CLUSTER.md "State
// changes"): the auth store's changes and the tokens Authenticate assigns. The leader
// evaluates the request and proposes the change; every member, the leader included, applies
// it in log order, in one RocksDB write together with the applied Raft index. The payload
// belongs to the part of the node named by `kind` (auth/replication.hpp for auth), which
// also says how it is applied. A different tag than the commit groups' (rkvent03), so an
// entry is never taken for the other kind.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::actors {

enum class ChangeKind : uint64_t {
  auth = 1,   // auth/replication.hpp
  lease = 2,  // a granted lease's record (storage::encode_lease_record); actors/lessor_actor.cpp
  compaction = 3,  // a scheduled compaction's revision (8 bytes); actors/maintenance_actor.cpp
  member = 4,      // a leader's client addresses (actors/member_attributes.hpp)
  alarm = 5,       // the NOSPACE alarm raised or cleared (AlarmChange); apps/revkvd/replica.cpp
  removal = 6,     // a member about to be removed (its id, 8 bytes): it stops once applied
};

// The alarm payload: the NOSPACE alarm's new state and the member that raised it (etcd
// names an alarm by the member whose backend hit the quota), 0 when cleared.
struct AlarmChange {
  bool raised = false;
  uint64_t member = 0;
};
std::string encode_alarm_payload(const AlarmChange& change);
std::optional<AlarmChange> decode_alarm_payload(std::string_view payload);

// The removal payload: the member's id.
std::string encode_removal_payload(uint64_t id);
std::optional<uint64_t> decode_removal_payload(std::string_view payload);
// The meta column key recording a removed member (it refuses to start again on this store).
std::string member_removed_key(uint64_t id);

// The compaction payload.
std::string encode_compaction_payload(int64_t revision);
std::optional<int64_t> decode_compaction_payload(std::string_view payload);

struct StateChange {
  uint64_t proposer = 0;     // member id
  uint64_t incarnation = 0;  // the proposer's process start (ClusterLink::incarnation)
  ChangeKind kind = ChangeKind::auth;
  std::string_view payload;
};

std::string encode_state_change(const StateChange& change);
// Empty when the bytes are not an entry of this format (another tag, too short). The kind
// is not checked: a member that does not know it refuses the entry when it applies it.
std::optional<StateChange> decode_state_change(std::string_view bytes);

}  // namespace revkv::actors
