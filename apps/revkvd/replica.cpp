#include "apps/revkvd/replica.hpp"

#include "actors/fatal.hpp"
#include "actors/leadership_drain.hpp"
#include "actors/member_attributes.hpp"
#include "actors/messages.hpp"
#include "actors/replicated_entry.hpp"
#include "actors/state_change.hpp"
#include "storage/atomic_max.hpp"
#include "storage/history.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/record.hpp"
#include "storage/revision.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace revkv::apps {
namespace {

constexpr std::string_view kAppliedKey = "raft_applied_index";
// A snapshot descriptor: where the checkpoint is fetched (docs/CLUSTER.md).
constexpr std::string_view kFetchPrefix = "fetch ";
// Fetches tried while the member starts (about 15 s with the pauses) before it gives up.
constexpr int kStartAttempts = 4;

std::string encode_index(std::uint64_t index) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((index >> (8 * i)) & 0xff));
  return out;
}

}  // namespace

std::uint64_t read_applied_index(const storage::Backend& backend) {
  auto got = backend.get(storage::Column::meta, kAppliedKey);
  if (!got.ok()) throw std::runtime_error(got.error().message());
  if (!got->has_value() || (*got)->size() != 8) return 0;
  std::uint64_t index = 0;
  for (int i = 0; i < 8; ++i)
    index |= static_cast<std::uint64_t>(static_cast<unsigned char>((**got)[i])) << (8 * i);
  return index;
}

Replica::Replica(caf::actor_system& sys, const actors::Node& node, std::string catchup_address,
                 CheckpointFetcher& fetcher)
    : sys_(sys),
      ctx_(node.context()),
      routes_(node.routes()),
      catchup_address_(std::move(catchup_address)),
      fetcher_(fetcher) {
  applied_ = read_applied_index(*ctx_->backend);
  ctx_->cluster->applied_index.store(applied_);
  applied_revision_ = ctx_->last_revision.load();  // recovered: nothing is in flight
  // A member removed from the cluster does not come back on the same store.
  auto removed = ctx_->backend->get(storage::Column::meta,
                                    actors::member_removed_key(ctx_->cluster->member_id));
  if (!removed.ok()) throw std::runtime_error(removed.error().message());
  if (removed->has_value()) {
    throw std::runtime_error(
        "this member was removed from the cluster (member remove); to join again, empty its "
        "data directory, add it with member add and start it with --initial-cluster-state "
        "existing");
  }
  // The members' client addresses applied before this start (ChangeKind::member): every
  // record, since members added later have them too.
  const std::string from = actors::member_attributes_key(0).substr(0, 18);  // "member_attributes/"
  std::string to = from;
  to.back() = static_cast<char>(to.back() + 1);
  auto scanned = ctx_->backend->scan(
      storage::Column::meta, from, to, [this](std::string_view, std::string_view value) {
        if (auto attributes = actors::decode_member_attributes(value))
          ctx_->cluster->set_attributes(std::move(*attributes));
        return true;
      });
  if (!scanned.ok()) throw std::runtime_error(scanned.error().message());
}

void Replica::apply(std::uint64_t index, std::string_view bytes) {
  auto& link = *ctx_->cluster;
  link.proposals_committed.fetch_add(1);
  // Applied before a restart (libraft applies the entries after its last snapshot again).
  if (index <= applied_) return;
  if (auto change = actors::decode_state_change(bytes)) {
    apply_change(index, *change);
    return;
  }
  auto entry = actors::decode_replicated_entry(bytes);
  if (!entry)
    throw std::runtime_error("committed entry " + std::to_string(index) +
                             " is neither a revkv commit group nor a state change");
  if (entry->shards != ctx_->options.shards) {
    throw std::runtime_error("committed entry " + std::to_string(index) +
                             " comes from a member with " + std::to_string(entry->shards) +
                             " shards, this one has " + std::to_string(ctx_->options.shards) +
                             ": every member must run the same --shards");
  }
  bool own = entry->proposer == link.member_id && entry->incarnation == link.incarnation;
  // Another leader's group while this member's own groups are still in flight (it led and
  // handed out revisions above what was applied): those groups lost their place in the log
  // — libraft may apply the new leader's entries before it reports that — and its shards
  // hold their records at the very revisions this entry brings. Start again from what was
  // applied, before this entry touches anything (libraft delivers it again after the start).
  // The doors answer what waits with `leader changed` first: that holds this (Raft loop)
  // thread for at most actors::kDrainBound, which matters little to a member that is about
  // to restart and has no leadership left to keep.
  if (!own && ctx_->last_revision.load() > applied_revision_) {
    if (link.removed.load())
      actors::exit_removed("cluster: entry " + std::to_string(index) +
                               " from another leader arrived while this member's own writes "
                               "were in flight",
                           link.on_removed, std::chrono::seconds(1));
    actors::answer_leader_changed_then_restart(
        *ctx_, "cluster: entry " + std::to_string(index) +
                   " from another leader arrived while this member's own writes above revision " +
                   std::to_string(applied_revision_) + " were in flight");
  }
  storage::WriteBatch batch(*ctx_->backend);
  batch.assign(entry->batch, entry->latest_new_keys);
  batch.put(storage::Column::meta, kAppliedKey, encode_index(index));
  // Another member's records reach RocksDB before the shards' indexes: until they are
  // restored there, no shard may answer a range below the entry's last revision from it.
  if (!own) {
    for (const auto& keyspace : ctx_->keyspaces)
      keyspace->note_written_elsewhere(entry->last_revision);
  }
  auto written = ctx_->backend->write(batch, false);
  if (!written.ok()) throw std::runtime_error(written.error().message());
  applied_ = index;
  applied_revision_ = std::max(applied_revision_, entry->last_revision);
  link.set_applied(index);
  link.proposals_applied.fetch_add(1);
  // This process's shards evaluated the group: its records are in their indexes, and the
  // backend actor, waiting in propose(), moves W once this returns.
  if (own) return;
  restore_in_shards(batch, entry->last_revision);
}

void Replica::apply_change(std::uint64_t index, const actors::StateChange& change) {
  auto& link = *ctx_->cluster;
  storage::WriteBatch batch(*ctx_->backend);
  bool known = false;
  std::optional<storage::LeaseRecord> lease;
  std::optional<int64_t> compaction;
  std::optional<actors::MemberAttributes> member;
  std::optional<actors::AlarmChange> alarm;
  std::optional<std::uint64_t> removal;
  switch (change.kind) {
    case actors::ChangeKind::alarm:
      alarm = actors::decode_alarm_payload(change.payload);
      if (alarm) {
        ctx_->stage_nospace_alarm(batch, alarm->raised, alarm->member);
        known = true;
      }
      break;
    case actors::ChangeKind::removal:
      removal = actors::decode_removal_payload(change.payload);
      if (removal) {
        batch.put(storage::Column::meta, actors::member_removed_key(*removal), "");
        known = true;
      }
      break;
    case actors::ChangeKind::member:
      member = actors::decode_member_attributes(change.payload);
      if (member) {
        batch.put(storage::Column::meta, actors::member_attributes_key(member->id), change.payload);
        known = true;
      }
      break;
    case actors::ChangeKind::auth:
      known = ctx_->auth && ctx_->auth->stage_committed(change.payload, batch);
      break;
    case actors::ChangeKind::lease:
      lease = storage::decode_lease_record(change.payload);
      if (lease) {
        batch.put(storage::Column::lease, storage::encode_lease_key(lease->id), change.payload);
        known = true;
      }
      break;
    case actors::ChangeKind::compaction:
      compaction = actors::decode_compaction_payload(change.payload);
      if (compaction) {
        known = true;
        // A compaction at or below one the log already holds changes nothing, as etcd's
        // apply answers it ErrCompacted: two leaders in turn may each have proposed one
        // before the other's applied (the proposer answers its client so: maintenance
        // actor's compact()). The schedule never goes back.
        auto staged =
            storage::stage_compaction_schedule_if_newer(batch, *ctx_->backend, *compaction);
        if (!staged.ok()) throw std::runtime_error(staged.error().message());
        if (!*staged) {
          spdlog::info(
              "cluster: compaction at {} (entry {}) is not beyond the one scheduled; "
              "nothing to do",
              *compaction, index);
          if (change.proposer == link.member_id && change.incarnation == link.incarnation)
            link.own_compaction_skipped_at.store(index);
          compaction.reset();
        }
      }
      break;
  }
  if (!known) {
    throw std::runtime_error("committed entry " + std::to_string(index) +
                             " is a state change this member cannot apply (kind " +
                             std::to_string(static_cast<uint64_t>(change.kind)) + ")");
  }
  batch.put(storage::Column::meta, kAppliedKey, encode_index(index));
  auto written = ctx_->backend->write(batch, false);
  if (!written.ok()) throw std::runtime_error(written.error().message());
  applied_ = index;
  link.proposals_applied.fetch_add(1);
  // Whoever waits for this index acts as soon as it wakes — a follower relaying an
  // Authenticate answers with the token then, and the client's next call checks it here — so
  // the waiters wake only once the change is published below, on every way out.
  struct WakeAppliedWaiters {
    actors::ClusterLink& link;
    std::uint64_t index;
    ~WakeAppliedWaiters() { link.set_applied(index); }
  } wake{link, index};
  if (removal) {
    // Until the configuration without it is committed: if the proposer cannot finish the
    // change, the next leader does (ClusterMember::finish_removals).
    link.note_removal(*removal);
    if (*removal != link.member_id) return;
    link.removed.store(true);
    if (link.removing_self.load()) {
      // The leader removing itself: it still has to take itself out of the configuration
      // (raft_remove); it stops once that committed (ClusterMember::observe).
      spdlog::warn(
          "cluster: this member ({:x}) applied its own removal; it stops once the "
          "configuration without it is committed",
          link.member_id);
      return;
    }
    // The leader is removing this member (docs/CLUSTER.md "Membership"): it stops, as
    // etcd's removed member does, and refuses to start again on this store.
    spdlog::error("cluster: this member ({:x}) is being removed from the cluster; stopping",
                  link.member_id);
    link.leader.store(false);
    if (link.on_removed) link.on_removed();
    return;
  }
  // Published only once written: no member acts on a change its store does not hold. The
  // proposer's request thread waits for this (propose returns after apply).
  if (alarm) {
    // Every member refuses writes (and /health reports it) from here on, or accepts them
    // again; the proposer's Alarm request returns once this is done.
    ctx_->publish_nospace_alarm(alarm->raised, alarm->member);
    // A follower's wait for an alarm change it forwarded (actors/applied_here.hpp).
    caf::anon_send(routes_.maintenance, actors::alarm_applied_atom::value);
    return;
  }
  if (member) {
    // From now on a follower forwards to this member while it leads.
    link.set_attributes(std::move(*member));
    return;
  }
  if (compaction) {
    // Every member's maintenance actor is told, the proposer's too: waiting in propose(), it
    // starts its own once this returns and takes this message after, which then changes
    // nothing; but a proposal whose propose() failed (leadership moved) may still commit,
    // and is then started from here.
    caf::anon_send(routes_.maintenance, actors::replicated_compact_atom::value, *compaction);
    return;
  }
  if (lease) {
    // Every member knows the lease (a Put may attach keys once it leads); its lessor keeps
    // a timer, which only the leader's acts on.
    ctx_->leases.put(*lease);
    caf::anon_send(routes_.lessor, actors::lease_applied_atom::value, lease->id, lease->ttl);
    return;
  }
  auto published = ctx_->auth->committed(index, change.payload);
  if (!published.ok()) throw std::runtime_error(published.error().message());
}

void Replica::restore_in_shards(const storage::WriteBatch& batch, int64_t last_revision) {
  size_t shards = routes_.shards.size();
  std::vector<std::vector<actors::RestoredRecord>> parts(shards);
  std::string bad;
  auto scanned =
      batch.for_each_put(storage::Column::kv, [&](std::string_view k, std::string_view v) {
        auto rev = storage::decode_revision_key(k);
        auto kv = rev ? storage::decode_key_value(v, /*with_value=*/false) : std::nullopt;
        if (!kv || kv->key.empty()) {
          bad = "an undecodable kv record";
          return;
        }
        size_t shard = storage::shard_of(kv->key, shards);
        parts[shard].push_back({std::move(*kv), rev->rev, rev->tombstone});
      });
  if (!scanned.ok()) throw std::runtime_error(scanned.error().message());
  if (!bad.empty()) throw std::runtime_error("committed entry holds " + bad);
  // A revocation's group removes the lease's record: the lease is gone here too.
  auto revoked = batch.for_each_erase(storage::Column::lease, [&](std::string_view key) {
    auto id = storage::decode_lease_key(key);
    if (!id) return;
    ctx_->leases.erase(*id);
    caf::anon_send(routes_.lessor, actors::lease_gone_atom::value, *id);
  });
  if (!revoked.ok()) throw std::runtime_error(revoked.error().message());
  // Every shard has its records before W moves: a read at the new W finds them.
  caf::scoped_actor self{sys_, /*hide=*/true};
  for (size_t i = 0; i < shards; ++i) {
    if (parts[i].empty()) continue;
    auto records = std::make_shared<const std::vector<actors::RestoredRecord>>(std::move(parts[i]));
    bool stopped = false;
    self->request(routes_.shards[i], caf::infinite, actors::replicate_atom::value, records)
        .receive([](bool) {}, [&](caf::error&) { stopped = true; });
    // Only while revkvd stops (it stops the Raft member first, so this is not expected).
    if (stopped) return;
  }
  // The revision counter, for the day this member leads.
  storage::raise_to(ctx_->last_revision, last_revision);
  self->send(routes_.backend, actors::applied_atom::value, last_revision);
}

std::string Replica::snapshot(std::uint64_t) {
  // Entries are applied without an fsync (the Raft log is the durable copy), but once the
  // snapshot is taken libraft compacts the log before it: RocksDB must hold everything up to
  // `applied_index` on disk first, or a machine crash would lose entries that neither the
  // store nor the log still has (and restore() would refuse the snapshot at every start).
  // An exception makes libraft retry after another threshold (cluster/raft_node.cpp).
  auto synced = ctx_->backend->sync_wal();
  if (!synced.ok()) throw std::runtime_error(synced.error().message());
  return std::string(kFetchPrefix) + catchup_address_;
}

bool Replica::restore(std::uint64_t applied_index, std::string_view descriptor) {
  if (applied_index <= applied_) return true;
  // Snapshots taken before catch-up existed hold only the index: nothing to fetch from.
  if (descriptor.substr(0, kFetchPrefix.size()) != kFetchPrefix) {
    spdlog::error(
        "cluster: a snapshot at index {} is ahead of this member (applied {}) and names no "
        "checkpoint to fetch ('{}'); waiting for a newer snapshot",
        applied_index, applied_, descriptor);
    return false;
  }
  std::string source(descriptor.substr(kFetchPrefix.size()));
  if (starting_) {
    // raft_start's restore of the snapshot libraft stored when the leader sent it (libraft
    // stores it, and drops its log, even when the restore is refused). No loop runs yet, so
    // waiting here holds nothing up. A staged checkpoint restarts the process (the fetcher's
    // callback); refusing ends this start.
    spdlog::warn(
        "cluster: this member's stored Raft snapshot at index {} is ahead of its store (applied "
        "{}): fetching the checkpoint from {} before it starts",
        applied_index, applied_, source);
    auto pause = std::chrono::seconds(1);
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(pause *= 2);  // a back-off, not a sync
      if (fetcher_.fetch(source, applied_index)) return false;
    }
    start_failure_ = "its Raft snapshot at index " + std::to_string(applied_index) +
                     " is ahead of its store (applied " + std::to_string(applied_) +
                     ") and the checkpoint could not be fetched from " + source +
                     " (logged above); start it again once that member serves, or empty the "
                     "data directory to rejoin from the current leader";
    return false;
  }
  spdlog::warn(
      "cluster: the leader sent a snapshot at index {} but this member has applied only {}: "
      "catching up from {}'s checkpoint",
      applied_index, applied_, source);
  // libraft stored the snapshot, and dropped this member's log, before it asked for this
  // restore. Refused, it would answer the leader as if that log were still there (its last
  // index 0) and apply on from a store that is behind it until the process restarts
  // (docs/CLUSTER.md "Catch-up from a peer's checkpoint"). So the checkpoint is fetched here, on
  // libraft's loop thread — this member is behind and nothing it serves waits for that thread — and
  // the process restarts into it from here, as after a crash: the start swaps the checkpoint in,
  // and libraft's stored snapshot then matches the store. Only a fetch that fails is refused, and
  // fetched again on the fetcher's thread, whose retries do not wait for libraft to send the
  // snapshot again. When that thread fetches already (a snapshot sent again meanwhile), this
  // waits for its attempt (one fetch at a time), then restarts into what it staged or fetches
  // itself.
  if (fetcher_.stage(source, applied_index)) {
    // Stopping meanwhile (SIGTERM): the clean stop goes on, and the next start installs what
    // is staged.
    if (ctx_->cluster->closing.load() || fetcher_.cancelled()) return false;
    actors::restart_in_place("catch-up: the checkpoint from " + source + " for snapshot index " +
                                 std::to_string(applied_index) + " is staged",
                             "install it");
  }
  fetcher_.start(source, applied_index);
  return false;
}

}  // namespace revkv::apps
