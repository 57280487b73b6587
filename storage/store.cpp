#include "storage/store.hpp"

#include "storage/engine.hpp"
#include "storage/history.hpp"
#include "storage/range_rules.hpp"
#include "storage/record.hpp"
#include "storage/txn_rules.hpp"

#include <algorithm>
#include <filesystem>

namespace revkv::storage {
namespace {

constexpr size_t kKeptCompactionHashes = 10;

}  // namespace

// -- open and recovery ------------------------------------------------------------------------

Store::Store(std::unique_ptr<Backend> backend, StoreOptions options)
    : options_(std::move(options)),
      backend_(std::move(backend)),
      keyspace_(std::make_unique<Keyspace>(*backend_)),
      keyspaces_(std::vector<Keyspace*>{keyspace_.get()}) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, StoreOptions options) {
  if (options.max_txn_ops <= 0 || options.compaction_batch_limit <= 0) {
    return Error{Errc::invalid_argument,
                 "revkv: max_txn_ops and compaction_batch_limit must be > 0"};
  }
  auto backend = Backend::open(dir, options.backend);
  if (!backend.ok()) return backend.error();
  std::unique_ptr<Store> store(new Store(std::move(*backend), std::move(options)));
  REVKV_TRY(store->recover());
  return store;
}

Status Store::recover() {
  auto recovered = recover_history(*backend_, keyspaces_, options_.min_lease_ttl);
  if (!recovered.ok()) return recovered.error();
  current_ = recovered->current;
  compact_ = recovered->compact;
  leases_ = std::move(recovered->leases);
  if (!leases_.empty()) next_lease_id_ = std::max<int64_t>(1, leases_.rbegin()->first + 1);
  // An interrupted compaction is finished now (SPEC §6 step 5).
  if (recovered->unfinished_compaction) {
    REVKV_TRY(schedule_compaction(*recovered->unfinished_compaction, /*resumed=*/true));
    while (pending_compaction_) {
      auto done = compaction_step();
      if (!done.ok()) return done.error();
    }
  }
  return {};
}

Status Store::check_usable() const {
  if (closed_) return Error{Errc::failed, "revkv: store is closed"};
  if (failed_) return Errc::failed;
  return {};
}

WriteTxn Store::begin_txn() {
  return WriteTxn(keyspaces_, *backend_, current_, [this] { return current_ + 1; });
}

Status Store::commit(WriteTxn& txn) {
  if (txn.batch().empty()) return {};
  auto written = backend_->write(txn.batch());
  if (!written.ok()) {
    // The index already holds the changes; refuse everything until a reopen rebuilds it.
    failed_ = true;
    return written;
  }
  if (txn.changes() > 0) {
    current_ = txn.revision();
    keyspace_->mark_durable(current_);
  }
  return {};
}

RequestContext Store::context() const {
  return RequestContext{compact_, [this](int64_t id) { return leases_.contains(id); }};
}

// -- KV ---------------------------------------------------------------------------------------

Result<RangeResponse> Store::range(const RangeRequest& request) {
  REVKV_TRY(check_usable());
  REVKV_TRY(validate_range(request));
  return run_range(keyspaces_, request, current_, current_, compact_);
}

Result<PutResponse> Store::put(const PutRequest& request) {
  REVKV_TRY(check_usable());
  REVKV_TRY(validate_put(request));
  // Standalone Put checks the lease before key existence (etcd 3.5/3.6, SPEC §12).
  if (request.lease != 0 && !leases_.contains(request.lease)) return Errc::lease_not_found;
  WriteTxn txn = begin_txn();
  auto out = run_put(txn, request);
  if (!out.ok()) return out;
  REVKV_TRY(commit(txn));
  return out;
}

Result<DeleteRangeResponse> Store::delete_range(const DeleteRangeRequest& request) {
  REVKV_TRY(check_usable());
  REVKV_TRY(validate_delete(request));
  WriteTxn txn = begin_txn();
  auto out = txn.delete_range(request);
  if (!out.ok()) return out;
  REVKV_TRY(commit(txn));
  return out;
}

Result<TxnResponse> Store::txn(const TxnRequest& request) {
  REVKV_TRY(check_usable());
  REVKV_TRY(validate_txn(request, options_.max_txn_ops));
  WriteTxn txn = begin_txn();
  auto out = run_txn(txn, request, context());
  if (!out.ok()) {
    // Execution fails only on I/O; staged index changes cannot be taken back.
    if (txn.changes() > 0) failed_ = true;
    return out;
  }
  REVKV_TRY(commit(txn));
  return out;
}

// -- compaction -------------------------------------------------------------------------------

Result<CompactResponse> Store::compact(int64_t revision, bool physical) {
  REVKV_TRY(check_usable());
  if (revision <= compact_) return Errc::compacted;
  if (revision > current_) return Errc::future_revision;
  // One compaction at a time: the previous one finishes first.
  while (pending_compaction_) {
    auto done = compaction_step();
    if (!done.ok()) return done.error();
  }
  REVKV_TRY(schedule_compaction(revision, /*resumed=*/false));
  while (physical && pending_compaction_) {
    auto done = compaction_step();
    if (!done.ok()) return done.error();
  }
  return CompactResponse{current_};
}

Status Store::schedule_compaction(int64_t revision, bool resumed) {
  if (!resumed) REVKV_TRY(persist_compaction_schedule(*backend_, revision));
  pending_compaction_.emplace(revision, compact_, keyspace_->index().compact(revision), resumed);
  compact_ = revision;
  return {};
}

Result<bool> Store::compaction_step() {
  REVKV_TRY(check_usable());
  if (!pending_compaction_) return true;
  auto done = pending_compaction_->step(*backend_, options_.compaction_batch_limit);
  if (!done.ok()) {
    failed_ = true;
    return done.error();
  }
  if (!*done) return false;
  const CompactionJob& job = *pending_compaction_;
  if (!job.resumed()) {
    compaction_hashes_.push_back(CompactionHash{job.revision(), job.previous(), job.hash()});
    if (compaction_hashes_.size() > kKeptCompactionHashes) compaction_hashes_.pop_front();
  }
  pending_compaction_.reset();
  return true;
}

// -- consistency and history ------------------------------------------------------------------

Result<HashKVResponse> Store::hash_kv(int64_t revision) {
  REVKV_TRY(check_usable());
  if (revision != 0) {
    for (const CompactionHash& h : compaction_hashes_) {
      if (h.revision == revision) return HashKVResponse{current_, h.hash, h.previous, h.revision};
    }
  }
  if (revision > 0 && revision < compact_) return Errc::compacted;
  if (revision > current_) return Errc::future_revision;
  // Only 0 means the current revision; a negative one hashes no record (etcd's HashByRev).
  int64_t h_rev = revision == 0 ? current_ : revision;
  auto hash = compute_hash(*backend_, h_rev, compact_, keyspace_->index().keep(h_rev));
  if (!hash.ok()) return hash.error();
  return HashKVResponse{current_, *hash, compact_, h_rev};
}

Result<std::vector<Event>> Store::events(int64_t from, int64_t to, bool prev_kv) {
  REVKV_TRY(check_usable());
  if (from < compact_) return Errc::compacted;
  if (to > current_) return Errc::future_revision;
  auto out = read_events(*backend_, from, to);
  if (!out.ok()) return out;
  if (prev_kv) {
    for (Event& ev : *out) {
      int64_t before = ev.kv.mod_revision - 1;
      if (before < compact_) continue;  // history gone: no prev_kv, as in etcd
      auto got = keyspaces_.get(ev.kv.key, before);
      if (!got.ok()) return got.error();
      ev.prev_kv = std::move(*got);
    }
  }
  return out;
}

// -- leases -----------------------------------------------------------------------------------

Result<LeaseGrantResponse> Store::lease_grant(int64_t id, int64_t ttl) {
  REVKV_TRY(check_usable());
  if (ttl > kMaxLeaseTtl) return Errc::lease_ttl_too_large;
  if (id == 0) {
    while (leases_.contains(next_lease_id_))
      ++next_lease_id_;
    id = next_lease_id_++;
  }
  if (leases_.contains(id)) return Errc::lease_exists;
  LeaseRecord rec{id, std::max(ttl, options_.min_lease_ttl), 0};
  WriteBatch b(*backend_);
  b.put(Column::lease, encode_lease_key(id), encode_lease_record(rec));
  auto written = backend_->write(b);
  if (!written.ok()) {
    failed_ = true;
    return written.error();
  }
  leases_[id] = rec;
  return LeaseGrantResponse{current_, id, rec.ttl};
}

Result<LeaseRevokeResponse> Store::lease_revoke(int64_t id) {
  REVKV_TRY(check_usable());
  auto it = leases_.find(id);
  if (it == leases_.end()) return Errc::lease_not_found;
  // Every attached key is deleted in one write transaction, in key order, together with
  // the lease record (SPEC §8.4).
  std::vector<std::string> keys = keyspaces_.keys_with_lease(id);
  WriteTxn txn = begin_txn();
  for (const std::string& k : keys)
    txn.erase(k);
  txn.batch().erase(Column::lease, encode_lease_key(id));
  REVKV_TRY(commit(txn));
  leases_.erase(id);
  return LeaseRevokeResponse{current_};
}

std::vector<std::string> Store::lease_keys(int64_t id) const {
  if (!leases_.contains(id)) return {};
  return keyspaces_.keys_with_lease(id);
}

std::vector<LeaseRecord> Store::leases() const {
  std::vector<LeaseRecord> out;
  out.reserve(leases_.size());
  for (const auto& [id, record] : leases_)
    out.push_back(record);
  return out;
}

// -- maintenance ------------------------------------------------------------------------------

Result<StoreSize> Store::size() const {
  REVKV_TRY(check_usable());
  auto s = backend_->size();
  if (!s.ok()) return s.error();
  return StoreSize{s->total_bytes, s->in_use_bytes};
}

Status Store::defragment() {
  REVKV_TRY(check_usable());
  return backend_->defragment();
}

Status Store::snapshot(const std::string& dir) {
  REVKV_TRY(check_usable());
  return backend_->checkpoint(dir);
}

Status Store::restore(const std::string& snapshot_dir, const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(snapshot_dir, ec)) {
    return Error{Errc::invalid_argument, "revkv: snapshot is not a directory: " + snapshot_dir};
  }
  if (std::filesystem::exists(data_dir, ec)) {
    return Error{Errc::invalid_argument, "revkv: data directory already exists: " + data_dir};
  }
  std::filesystem::copy(snapshot_dir, data_dir, std::filesystem::copy_options::recursive, ec);
  if (ec) {
    return Error{Errc::io_error, "revkv: copying snapshot: " + ec.message()};
  }
  // Prove the copy is a store before reporting success.
  StoreOptions check;
  check.backend.create_if_missing = false;
  auto opened = Store::open(data_dir, check);
  if (!opened.ok()) {
    std::filesystem::remove_all(data_dir, ec);
    return Error{opened.error().code(),
                 "revkv: snapshot does not open: " + opened.error().message()};
  }
  return (*opened)->close();
}

Status Store::close() {
  if (closed_) return {};
  closed_ = true;
  return backend_->close();
}

}  // namespace revkv::storage
