#pragma once

// What every actor of one node shares: the options, the backend (RocksDB reads are
// thread-safe; writes go through the backend actor), the revision counters and the
// lease records. Ownership of the keyspaces is by actor: a shard touches only its own,
// and the coordinator touches them only while every shard is paused.

#include "actors/cluster_link.hpp"
#include "actors/door_urls.hpp"
#include "actors/range_count_cache.hpp"
#include "auth/certificate_names.hpp"
#include "auth/store.hpp"
#include "metrics/node_metrics.hpp"
#include "protocol/messages.hpp"
#include "storage/backend.hpp"
#include "storage/keyspace.hpp"
#include "storage/types.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace revkv::actors {

enum class SyncMode : uint8_t { always, interval, never };

// etcd's --auto-compaction-mode / --auto-compaction-retention.
struct AutoCompaction {
  enum class Mode : uint8_t { periodic, revision };
  Mode mode = Mode::periodic;
  // periodic: keep this much history (0 = off).
  std::chrono::milliseconds period{0};
  // revision: keep this many revisions (0 = off).
  int64_t revisions = 0;
  // How often the revision mode looks (etcd: every 5 minutes).
  std::chrono::milliseconds revision_check_interval{5 * 60 * 1000};

  bool enabled() const { return mode == Mode::periodic ? period.count() > 0 : revisions > 0; }
};

struct NodeOptions {
  size_t shards = 1;
  SyncMode sync = SyncMode::always;
  int64_t sync_interval_ms = 100;
  int64_t max_txn_ops = 128;
  size_t max_request_bytes = 1536 * 1024;
  int64_t min_lease_ttl = 2;
  // What a lease gets beyond its full TTL when this node's lessor starts or becomes the
  // leader's (etcd: the election timeout, 1 s by default).
  std::chrono::milliseconds lease_restart_extension{1000};
  // The lessor looks for expired leases this often and revokes at most this many per
  // second (etcd: 500 ms, 1000/s).
  std::chrono::milliseconds lease_check_interval{500};
  int64_t lease_revoke_rate = 1000;
  int64_t compaction_batch_limit = 1000;
  int64_t quota_backend_bytes = 2ll << 30;  // <= 0: no quota
  size_t max_inflight_per_connection = 256;
  // Reads of one client connection handed to the shards at once (both socket doors); the
  // others wait in the door, in the connection's order. One client's burst of large Ranges
  // would otherwise fill the shards' mailboxes ahead of every other client's writes.
  size_t reads_in_flight_per_connection = 64;
  AutoCompaction auto_compaction;
  // Periodic watch progress notifications (etcd: 10 minutes).
  std::chrono::milliseconds watch_progress_interval{10 * 60 * 1000};
  // Unsent bytes a session holds for its watchers before it parks them: they catch up
  // from `kv` once the client has read its backlog (SPEC §7.8).
  size_t watch_buffer_bytes = 4u << 20;
  // Maintenance.Snapshot (docs/NODE.md "Snapshot"): streams open at once (one more is
  // refused with ResourceExhausted "etcdserver: too many requests"), and how long a stream
  // may make no progress because its client reads nothing before it is dropped.
  size_t max_snapshots = 8;
  std::chrono::milliseconds snapshot_idle_timeout{30 * 1000};
  // etcd's --auth-token-ttl: a simple token unused this long is no longer valid.
  std::chrono::seconds auth_token_ttl{300};
  // etcd's --auth-token jwt,...: the loaded key and ttl; null for simple tokens.
  std::shared_ptr<const auth::JwtTokens> auth_jwt;
};

// Lease records, as the shards check them when they apply a put. Only the lessor adds one
// (grant) and only the coordinator removes one, with every shard paused (revoke); the
// lessor owns the timing (actors/lessor_actor.hpp).
class LeaseTable {
 public:
  bool exists(int64_t id) const {
    std::shared_lock lock(mutex_);
    return leases_.contains(id);
  }
  void put(const storage::LeaseRecord& record) {
    std::unique_lock lock(mutex_);
    leases_[record.id] = record;
  }
  // False when there was no such lease.
  bool erase(int64_t id) {
    std::unique_lock lock(mutex_);
    return leases_.erase(id) > 0;
  }
  size_t size() const {
    std::shared_lock lock(mutex_);
    return leases_.size();
  }
  std::vector<storage::LeaseRecord> all() const {
    std::shared_lock lock(mutex_);
    std::vector<storage::LeaseRecord> out;
    for (const auto& [id, r] : leases_)
      out.push_back(r);
    return out;
  }

 private:
  mutable std::shared_mutex mutex_;
  std::map<int64_t, storage::LeaseRecord> leases_;
};

// Supervision's verdict (actors/supervisor_actor.hpp): set once, by the supervisor, when a
// core actor died while the node was not stopping. Read from any thread (/health on the
// metrics listener's workers, the sessions); the flag is lock-free, the reason takes a lock
// because a std::string cannot be published atomically.
class NodeFailure {
 public:
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  // "" while the node has not failed.
  std::string reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
  }
  // Whether requests are refused with the reason itself as the error's message (a member
  // that lost leadership with writes in flight: etcd's `etcdserver: leader changed`,
  // actors/leadership_drain.hpp) rather than `revkv: unavailable: <reason>`.
  bool as_answer() const {
    std::lock_guard lock(mutex_);
    return as_answer_;
  }
  // Records the first failure only (what dies after it is a consequence); false when one
  // was recorded already.
  bool record(std::string reason, bool as_answer = false) {
    std::lock_guard lock(mutex_);
    if (failed_.load(std::memory_order_relaxed)) return false;
    reason_ = std::move(reason);
    as_answer_ = as_answer;
    failed_.store(true, std::memory_order_release);
    return true;
  }

 private:
  std::atomic<bool> failed_{false};
  mutable std::mutex mutex_;
  std::string reason_;
  bool as_answer_ = false;
};

// A shard's index size, published by whoever just changed the keyspace (its shard, or
// the coordinator while every shard is paused) for the metrics collector to read.
struct IndexCounts {
  std::atomic<int64_t> keys{0};
  std::atomic<int64_t> revisions{0};
};

struct NodeContext {
  NodeOptions options;
  std::unique_ptr<storage::Backend> backend;
  // etcd's users, roles and permissions (auth/store.hpp); null in harnesses that never
  // enable auth. Declared after the backend it writes to, so destroyed before it.
  std::unique_ptr<auth::AuthStore> auth;
  // With --client-cert-auth: the verified certificate CN of each gRPC connection, etcd's
  // user for calls without a token (auth/certificate_names.hpp). Filled by the client port.
  auth::CertificateNames certificate_names;
  std::vector<std::unique_ptr<storage::Keyspace>> keyspaces;  // one per shard
  std::deque<IndexCounts> index_counts;                       // one per shard

  // The last revision handed to a write; revisions are taken only by writes that change
  // something, so there are no gaps.
  std::atomic<int64_t> last_revision{1};
  // The commit watermark W: every revision <= W is durable (or written, without fsync).
  // Reads are served at W; acknowledgements wait for it.
  std::atomic<int64_t> watermark{1};
  // The revision of the last scheduled compaction: stored as the maintenance actor starts
  // it, and from then on reads below it fail (the shards' index compaction follows at once,
  // the physical removal in batches).
  std::atomic<int64_t> compact_revision{-1};
  // The revision of the last compaction whose physical removal finished (-1: none); lags
  // compact_revision while a compaction runs. Read by the metrics collector and by a
  // follower's wait for a physical compaction it forwarded (actors/applied_here.hpp).
  std::atomic<int64_t> finished_compact_revision{-1};
  std::atomic<bool> nospace_alarm{false};
  // The member named by the persisted NOSPACE alarm (0: none persisted). In cluster mode the
  // one whose quota raised it, as every member applied it from the log; on a single node
  // this node. nospace_alarm may be set before this (a leader's quota raised it and the
  // entry is on its way).
  std::atomic<uint64_t> nospace_alarm_member{0};
  // The database's size as the quota sees it (SST files + memtables), refreshed by the
  // backend actor after each commit group.
  std::atomic<int64_t> db_size{0};
  // LIST pages' counts, carried from each page to the next (whichever door asks).
  RangeCountCache range_counts;
  LeaseTable leases;
  // Where snapshots' checkpoints live while they stream (inside the data dir, so that the
  // checkpoint hard-links the SST files; emptied when the node starts), and how many
  // snapshots hold a slot of options.max_snapshots now (actors/snapshot_source.hpp).
  std::string snapshot_dir;
  std::atomic<size_t> snapshots_open{0};
  // Set by the supervisor when a core actor died: /health answers 503 with the reason, the
  // sessions answer Unavailable, and revkvd exits non-zero.
  NodeFailure failure;
  // Set by Node::stop before it ends the core actors together: a core actor's request to
  // another that finds it stopped from then on is no failure (actors/fatal.hpp).
  std::atomic<bool> stopping{false};
  // Watch and lease activity for the metrics collector: the watch hub and the lessor
  // update them (relaxed atomics, nothing else reads them).
  std::atomic<int64_t> watchers{0};                 // watchers registered now
  std::atomic<int64_t> slow_watchers{0};            // watchers whose events are held back now
  std::atomic<int64_t> watch_events_sent_total{0};  // events sent to watchers since start
  std::atomic<int64_t> lease_expired_total{0};      // leases revoked by expiry since start
  std::atomic<int64_t> lease_granted_total{0};      // leases granted since start
  std::atomic<int64_t> lease_revoked_total{0};      // leases revoked since start (expiry too)
  std::atomic<int64_t> lease_renewed_total{0};      // keep-alives that renewed a lease
  // Messages queued in each shard's mailbox, counted by the shard actor itself
  // (actors/counted_mailbox.hpp): enqueued minus processed.
  std::deque<std::atomic<int64_t>> shard_mailbox_depth;  // one per shard
  // The hot-path counters and histograms (metrics/); null when nothing exposes them (the
  // in-process test harness).
  ::revkv::metrics::NodeMetricsPtr metrics;

  // Cluster mode (docs/CLUSTER.md): the Raft group this node replicates its commit groups
  // through; null on a single node.
  std::shared_ptr<ClusterLink> cluster;

  // The client doors' URLs (Cluster.MemberList's clientURLs for this member).
  DoorUrls door_urls;

  uint64_t cluster_id = 0x7265766b76ull;  // "revkv"
  uint64_t member_id = 0x6e6f6465ull;     // "node"
  uint64_t raft_term = 1;

  int64_t allocate_revision() { return last_revision.fetch_add(1) + 1; }

  // Refreshes index_counts[shard]; only from the actor that owns the keyspace now.
  void publish_index_counts(size_t shard) {
    if (shard >= index_counts.size()) return;
    const auto& index = keyspaces[shard]->index();
    index_counts[shard].keys.store(static_cast<int64_t>(index.key_count()),
                                   std::memory_order_relaxed);
    index_counts[shard].revisions.store(static_cast<int64_t>(index.revision_count()),
                                        std::memory_order_relaxed);
  }

  // NOSPACE (SPEC §10): raised when a write would pass the quota, persisted so that it
  // survives a restart, cleared only by an explicit disarm.
  // The batch that persists the alarm's state.
  storage::WriteBatch nospace_alarm_record(bool raised) const;
  // Writes that batch synced, then sets the flag: the maintenance actor's Alarm requests,
  // on its own (detached) thread.
  storage::Status set_nospace_alarm(bool raised);
  // Cluster mode: adds the record of an applied alarm entry (raised by `member`, or
  // cleared) to `batch`; publish_nospace_alarm once the batch is written.
  void stage_nospace_alarm(storage::WriteBatch& batch, bool raised, uint64_t member) const;
  void publish_nospace_alarm(bool raised, uint64_t member);
  // The member an alarm list names for the raised alarm.
  uint64_t nospace_alarm_owner() const {
    uint64_t member = nospace_alarm_member.load();
    return member != 0 ? member : member_id;
  }

  enum class SpaceVerdict : uint8_t {
    accept,
    refuse,         // ErrNoSpace
    refuse_raised,  // ErrNoSpace, and this request raised the alarm (see check_space)
  };
  // Whether a request costing `cost` must be refused with ErrNoSpace. When the quota is what
  // refuses it, the alarm is raised here in memory only (refuse_raised, for one caller):
  // that caller makes nospace_alarm_record(true) durable through the backend actor before
  // it answers, so no door's thread ever waits for an fsync.
  SpaceVerdict check_space(int64_t cost);

  protocol::ResponseHeader header(int64_t revision) const {
    uint64_t term = cluster ? cluster->term.load() : raft_term;
    return protocol::ResponseHeader{cluster_id, member_id, revision, term};
  }
};

using NodeContextPtr = std::shared_ptr<NodeContext>;

// Whether a NOSPACE alarm was raised before the last shutdown.
storage::Result<bool> load_nospace_alarm(const storage::Backend& backend);
// The member a persisted NOSPACE alarm names: 0 when none is raised, `own` for a single
// node's record (which names no member).
storage::Result<uint64_t> load_nospace_alarm_member(const storage::Backend& backend, uint64_t own);

}  // namespace revkv::actors
