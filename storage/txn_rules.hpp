#pragma once

// etcd's request checks and Txn rules (SPEC §3.4-3.6) as pure functions shared by the
// single-store engine and the sharded node.

#include "storage/error.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <vector>

namespace revkv::storage {

Status validate_put(const PutRequest& request);
Status validate_delete(const DeleteRangeRequest& request);
// Static validation of a whole Txn, in etcd's order: operation counts (with the nested
// budget rule), compare keys, each op, then the duplicate-key rule per branch.
Status validate_txn(const TxnRequest& request, int64_t max_txn_ops);

// What a LeaseGrant costs against the space quota (SPEC §10; etcd's leaseOverhead). The
// node's request path checks it (storage::Store has no quota).
inline constexpr int64_t kLeaseGrantCost = 64;

// What a request costs against the space quota (SPEC §10): a Put 256 + key + value bytes,
// a Txn the larger of its branches' summed costs (nested Txns included), others 0.
int64_t request_cost(const PutRequest& request);
int64_t request_cost(const TxnRequest& request);

// Whether the Txn writes: some top-level op of either branch is not a Range.
bool is_write_txn(const TxnRequest& request);
// etcd's isTxnSerializable: every op of both branches is a serializable Range (so the Txn
// writes nothing). etcd serves such a Txn from the member's own store, without the leader.
// Unlike etcd, a Txn without any op does not count: etcd serves a compare-only Txn that way
// too (stale on a lagging follower), which a client using it as a guard would not expect;
// here it stays linearizable, never staler than etcd's answer.
bool is_serializable_read_txn(const TxnRequest& request);

// Whether an answered write took a revision: some Put ran, or some DeleteRange deleted a
// key (nested Txns included). A Txn whose compare chose a branch of Ranges only (or an empty
// one) and a DeleteRange of nothing change nothing and answer at the current revision: the
// answer is a read of the store.
bool took_revision(const DeleteRangeResponse& response);
bool took_revision(const TxnResponse& response);

// A compare over the key-values it selects (empty: no key matched).
bool compare_holds(const Compare& compare, const std::vector<KeyValue>& selected);

// Every key a Put on the given branch could write and every range it could delete, with
// nested Txns included (both of their branches): what a Txn may touch.
void collect_write_ranges(const std::vector<RequestOp>& ops, std::vector<KeyRange>& out);

}  // namespace revkv::storage
