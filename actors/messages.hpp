#pragma once

// The atoms and message types the node's actors exchange. Messages are the engine's and
// the protocol's own structs, passed by value inside one process; they never cross a
// process boundary as CAF messages (the wire is msgpack), so they are whitelisted rather
// than made CAF-inspectable (std::optional / std::variant members are not, in CAF 0.17).

#include "actors/snapshot_source.hpp"
#include "actors/watch_stream.hpp"
#include "protocol/messages.hpp"
#include "storage/backend.hpp"
#include "storage/error.hpp"
#include "storage/keyspace.hpp"
#include "storage/revision.hpp"
#include "storage/types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace revkv::actors {

using commit_atom = caf::atom_constant<caf::atom("commit")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
// A write that takes no revision (a lease record's removal, the NOSPACE alarm's record),
// made durable by the backend actor's next commit group (actors/backend_actor.hpp).
using write_atom = caf::atom_constant<caf::atom("write")>;
// W has reached a revision and every write without revision handed to the backend actor
// before this message is durable: what a write's refusal waits for (actors/backend_actor.hpp).
using all_durable_atom = caf::atom_constant<caf::atom("alldurable")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
// The backend actor's periodic look at an idle store (Backend::flush_latest_if_idle).
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using range_atom = caf::atom_constant<caf::atom("range")>;
// A range whose count the asker knows already: the shard counts only what it fetches.
using range_page_atom = caf::atom_constant<caf::atom("rangepage")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using compact_atom = caf::atom_constant<caf::atom("compact")>;
using keep_atom = caf::atom_constant<caf::atom("keep")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using step_atom = caf::atom_constant<caf::atom("step")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
// A connected socket for the acceptor to serve (actors/acceptor.hpp), with its
// CertificateName.
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
// Leases: the coordinator's revocation, a shard's keys of one lease, an expiry check asked
// of the lessor (its own timer sends caf::tick_atom).
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;
using lease_keys_atom = caf::atom_constant<caf::atom("leasekeys")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
// Cluster mode, from the Raft apply path to the lessor: a grant was applied here
// (lease_applied_atom, id, ttl), a lease's record was removed by a revocation another member
// made (lease_gone_atom, id).
using lease_applied_atom = caf::atom_constant<caf::atom("leaseappl")>;
using lease_gone_atom = caf::atom_constant<caf::atom("leasegone")>;
// Cluster mode, from the Raft loop to the lessor: the proposal of the grant of lease `id` was
// settled (grant_settled_atom, id, applied, why-not).
using grant_settled_atom = caf::atom_constant<caf::atom("grantdone")>;
// Cluster mode, from the Raft apply path to the maintenance actor: another member's
// compaction at a revision was applied here (its schedule written); run it here too.
using replicated_compact_atom = caf::atom_constant<caf::atom("replcompct")>;
// Cluster mode: a follower's wait, at the maintenance actor, for a change it forwarded to be
// applied here (actors/applied_here.hpp): (applied_here_atom, revision, physical, patience)
// for a compaction, (applied_here_atom, raised, patience) for the NOSPACE alarm; each
// answered `true` once this member's state shows it, `false` once `patience` ran out.
using applied_here_atom = caf::atom_constant<caf::atom("appliedhr")>;
// From the Raft apply path to the maintenance actor: the NOSPACE alarm changed here.
using alarm_applied_atom = caf::atom_constant<caf::atom("alarmappl")>;
// The watch hub's vocabulary (actors/watch_hub.hpp).
using durable_atom = caf::atom_constant<caf::atom("durable")>;
using hub_atom = caf::atom_constant<caf::atom("hub")>;
using prev_kv_atom = caf::atom_constant<caf::atom("prevkv")>;
using watch_create_atom = caf::atom_constant<caf::atom("wcreate")>;
using watch_created_atom = caf::atom_constant<caf::atom("wcreated")>;
using watch_cancel_atom = caf::atom_constant<caf::atom("wcancel")>;
using watch_out_atom = caf::atom_constant<caf::atom("wout")>;
using watch_slow_atom = caf::atom_constant<caf::atom("wslow")>;
using watch_unpark_atom = caf::atom_constant<caf::atom("wunpark")>;
using watch_drained_atom = caf::atom_constant<caf::atom("wdrained")>;
using watch_progress_atom = caf::atom_constant<caf::atom("wprogress")>;
using watch_catch_up_atom = caf::atom_constant<caf::atom("wcatchup")>;
using watch_tick_atom = caf::atom_constant<caf::atom("wtick")>;
using watch_sync_atom = caf::atom_constant<caf::atom("wsync")>;
// A MessagePack connection: its broker (bytes only, on the I/O thread) and its door actor
// (decode, the request path, encode; on the scheduler), actors/session.hpp.
using bytes_atom = caf::atom_constant<caf::atom("bytes")>;
using sent_atom = caf::atom_constant<caf::atom("sent")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using out_flush_atom = caf::atom_constant<caf::atom("outflush")>;
// A core actor died (actors/supervisor_actor.hpp): (node_failed_atom, std::string reason)
// goes from the supervisor to the acceptor, to every session, to its door, which fails what
// waits with Unavailable (actors/request_path.hpp fail()).
using node_failed_atom = caf::atom_constant<caf::atom("nodefailed")>;
// Cluster mode: leadership was lost with writes in flight (actors/leadership_drain.hpp):
// (leader_lost_atom, DrainHoldPtr) goes from revkvd to the acceptor, to every session, to
// its door, and to the gRPC doors; each answers what waits with `etcdserver: leader
// changed`, writes it, then drops the hold.
using leader_lost_atom = caf::atom_constant<caf::atom("leaderlost")>;
// A request path checks whether a snapshot stream that waits for its client made progress
// within NodeOptions::snapshot_idle_timeout: (snapshot_idle_atom, request id).
using snapshot_idle_atom = caf::atom_constant<caf::atom("snapidle")>;
// Cluster mode (docs/CLUSTER.md): a follower's shard restores the records of an applied
// entry into its index (replicate_atom, RestoredRecordsPtr) -> bool; the backend actor
// moves W to an applied entry's newest revision (applied_atom, int64_t).
using replicate_atom = caf::atom_constant<caf::atom("replicate")>;
using applied_atom = caf::atom_constant<caf::atom("applied")>;
// A linearizable read's leadership confirmation (actors/read_index_actor.hpp).
using read_index_atom = caf::atom_constant<caf::atom("readindex")>;
using barrier_done_atom = caf::atom_constant<caf::atom("barrierok")>;

// A staged write batch; shared because CAF messages must be copyable.
using BatchPtr = std::shared_ptr<storage::WriteBatch>;
using KeepSet = std::vector<storage::Revision>;

// A key's value just before an event (the watch hub's prev_kv): answered by the key's
// shard, which owns the index that knows it.
// The CN of the verified client certificate an adopted TLS connection presented (nullopt:
// none; "" a certificate without a CN): the user of its requests that carry no token
// (docs/SECURITY.md "The certificate's CN as the user").
struct CertificateName {
  std::optional<std::string> cn;
};

struct PrevKvLookup {
  std::string key;
  int64_t revision = 0;  // the event's revision - 1
};
using PrevKvLookups = std::vector<PrevKvLookup>;
using PrevKvs = std::vector<std::optional<storage::KeyValue>>;
using WatchDeliveries = std::vector<WatchDelivery>;

// One kv record of an applied Raft entry, as recovery reads it (storage/history.cpp).
struct RestoredRecord {
  storage::KeyValue kv;
  storage::Revision rev;
  bool tombstone = false;
};
using RestoredRecordsPtr = std::shared_ptr<const std::vector<RestoredRecord>>;

struct ShardStats {
  size_t keys = 0;
  size_t revisions = 0;
};

}  // namespace revkv::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::BatchPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::CertificateName)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::KeepSet)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::RestoredRecordsPtr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::ShardStats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::PrevKvLookups)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::PrevKvs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::WatchDeliveries)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::WatchSpec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::WatchResponse)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::RangeRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::PutRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::DeleteRangeRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::TxnRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::storage::RangeFetch>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::storage::PutResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::storage::DeleteRangeResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::storage::TxnResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::storage::CompactResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::CompactionRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::HashKVRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::HashRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::StatusRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::DefragmentRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::AlarmRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::SnapshotRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::HashKVResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::HashResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::StatusResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::DefragmentResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::AlarmResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::actors::SnapshotSourcePtr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::LeaseGrantRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::LeaseRevokeRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::LeaseKeepAliveRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::LeaseTimeToLiveRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::LeaseLeasesRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::storage::LeaseRevokeResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::LeaseGrantResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::LeaseRevokeResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::LeaseKeepAliveResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::LeaseTimeToLiveResponse>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::storage::Result<revkv::protocol::LeaseLeasesResponse>)
