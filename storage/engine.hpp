#pragma once

// Request execution (SPEC §3): Range, Put, DeleteRange and Txn over a KeyspaceSet inside a
// WriteTxn. Store runs them on its single keyspace; the node runs them on one shard's
// keyspace, or on every shard's under its coordinator. One definition, so every
// partitioning gives byte-identical answers. Requests arrive already validated
// (range_rules / txn_rules).

#include "storage/error.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/types.hpp"
#include "storage/write_txn.hpp"

#include <cstdint>
#include <functional>

namespace revkv::storage {

// What a request checks besides the keys themselves.
struct RequestContext {
  int64_t compact_revision = -1;
  std::function<bool(int64_t)> lease_exists;
};

// A Range read at `view_rev` (the newest readable revision) answered with `header_rev`.
Result<RangeResponse> run_range(const KeyspaceSet& keyspaces, const RangeRequest& request,
                                int64_t view_rev, int64_t header_rev, int64_t compact_revision);

// A Put inside `txn`. A standalone Put checks its lease before calling this (etcd's order).
Result<PutResponse> run_put(WriteTxn& txn, const PutRequest& request);

// A Txn inside `txn`: compares of the whole taken path first (against txn.view_rev()), then
// the pre-checks of that path, then its ops in order. The response's header revision is
// the written revision, or the view revision when nothing changed.
Result<TxnResponse> run_txn(WriteTxn& txn, const TxnRequest& request, const RequestContext& ctx);

}  // namespace revkv::storage
