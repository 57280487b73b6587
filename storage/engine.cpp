#include "storage/engine.hpp"

#include "storage/range_rules.hpp"
#include "storage/txn_rules.hpp"

namespace revkv::storage {
namespace {

// The branch each Txn on the taken path takes, chosen up front (SPEC §3.6.4 step 2).
struct TxnPath {
  bool succeeded = true;
  std::vector<TxnPath> nested;  // one per nested Txn of the taken branch, in op order
};

Result<TxnPath> choose_path(const KeyspaceSet& keyspaces, const TxnRequest& t, int64_t view_rev) {
  TxnPath path;
  for (const Compare& c : t.compare) {
    auto fetched = keyspaces.range(KeyRange::from_request(c.key, c.range_end), view_rev, 0);
    if (!fetched.ok()) return fetched.error();
    if (!compare_holds(c, fetched->kvs)) {
      path.succeeded = false;
      break;
    }
  }
  for (const RequestOp& op : path.succeeded ? t.success : t.failure) {
    if (auto* nested = std::get_if<Box<TxnRequest>>(&op.op)) {
      auto sub = choose_path(keyspaces, **nested, view_rev);
      if (!sub.ok()) return sub.error();
      path.nested.push_back(std::move(*sub));
    }
  }
  return path;
}

Status precheck(const KeyspaceSet& keyspaces, const TxnRequest& t, const TxnPath& path,
                int64_t view_rev, const RequestContext& ctx) {
  size_t nested = 0;
  for (const RequestOp& op : path.succeeded ? t.success : t.failure) {
    if (auto* r = std::get_if<RangeRequest>(&op.op)) {
      // Negative revisions are compared too (etcd quirk Q3).
      if (r->revision != 0 && r->revision > view_rev) return Errc::future_revision;
      if (r->revision != 0 && r->revision < ctx.compact_revision) return Errc::compacted;
    } else if (auto* p = std::get_if<PutRequest>(&op.op)) {
      // Inside a Txn, key existence is checked before the lease (etcd <= 3.6, SPEC §12).
      if ((p->ignore_value || p->ignore_lease) && !keyspaces.exists(p->key, view_rev)) {
        return Errc::key_not_found;
      }
      if (p->lease != 0 && !ctx.lease_exists(p->lease)) return Errc::lease_not_found;
    } else if (auto* n = std::get_if<Box<TxnRequest>>(&op.op)) {
      REVKV_TRY(precheck(keyspaces, **n, path.nested[nested++], view_rev, ctx));
    }
  }
  return {};
}

Result<TxnResponse> execute(WriteTxn& txn, const TxnRequest& t, const TxnPath& path,
                            const RequestContext& ctx) {
  TxnResponse out;
  out.succeeded = path.succeeded;
  size_t nested = 0;
  for (const RequestOp& op : path.succeeded ? t.success : t.failure) {
    ResponseOp resp;
    if (auto* r = std::get_if<RangeRequest>(&op.op)) {
      auto got =
          run_range(txn.keyspaces(), *r, txn.read_rev(), txn.read_rev(), ctx.compact_revision);
      if (!got.ok()) return got.error();
      resp.op = std::move(*got);
    } else if (auto* p = std::get_if<PutRequest>(&op.op)) {
      auto got = run_put(txn, *p);
      if (!got.ok()) return got.error();
      resp.op = std::move(*got);
    } else if (auto* d = std::get_if<DeleteRangeRequest>(&op.op)) {
      auto got = txn.delete_range(*d);
      if (!got.ok()) return got.error();
      resp.op = std::move(*got);
    } else if (auto* n = std::get_if<Box<TxnRequest>>(&op.op)) {
      auto got = execute(txn, **n, path.nested[nested++], ctx);
      if (!got.ok()) return got.error();
      got->revision = 0;  // a nested TxnResponse's header revision is 0 (etcd quirk Q4)
      resp.op = Box<TxnResponse>(std::move(*got));
    }
    out.responses.push_back(std::move(resp));
  }
  return out;
}

}  // namespace

Result<RangeResponse> run_range(const KeyspaceSet& keyspaces, const RangeRequest& request,
                                int64_t view_rev, int64_t header_rev, int64_t compact_revision) {
  auto rev = resolve_read_revision(request.revision, view_rev, compact_revision);
  if (!rev.ok()) return rev.error();
  auto fetched = keyspaces.range(KeyRange::from_request(request.key, request.range_end), *rev,
                                 fetch_limit(request), fetch_depth(request));
  if (!fetched.ok()) return fetched.error();
  return finish_range(request, std::move(fetched->kvs), fetched->count, header_rev);
}

Result<PutResponse> run_put(WriteTxn& txn, const PutRequest& request) {
  std::optional<KeyValue> prev;
  if (request.prev_kv || request.ignore_value || request.ignore_lease) {
    auto got = txn.keyspaces().get(request.key, txn.read_rev());
    if (!got.ok()) return got.error();
    prev = std::move(*got);
  }
  if ((request.ignore_value || request.ignore_lease) && !prev) return Errc::key_not_found;
  std::string value = request.ignore_value ? prev->value : request.value;
  int64_t lease = request.ignore_lease ? prev->lease : request.lease;
  txn.put(request.key, std::move(value), lease);
  PutResponse out;
  out.revision = txn.revision();
  if (request.prev_kv) out.prev_kv = std::move(prev);
  return out;
}

Result<TxnResponse> run_txn(WriteTxn& txn, const TxnRequest& request, const RequestContext& ctx) {
  auto path = choose_path(txn.keyspaces(), request, txn.view_rev());
  if (!path.ok()) return path.error();
  REVKV_TRY(precheck(txn.keyspaces(), request, *path, txn.view_rev(), ctx));
  auto out = execute(txn, request, *path, ctx);
  if (!out.ok()) return out;
  out->revision = txn.changes() > 0 ? txn.revision() : txn.view_rev();
  return out;
}

}  // namespace revkv::storage
