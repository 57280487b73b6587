#include "storage/txn_rules.hpp"

#include "storage/range_rules.hpp"

#include <algorithm>
#include <set>
#include <string>

namespace revkv::storage {
namespace {

Status validate_op(const RequestOp& op, int64_t budget);

Status validate_txn_level(const TxnRequest& t, int64_t budget) {
  auto n = static_cast<int64_t>(std::max({t.compare.size(), t.success.size(), t.failure.size()}));
  if (n > budget) return Errc::too_many_ops;
  // An unknown compare target is no error: etcd evaluates it (compare_one), and so do both
  // doors.
  for (const Compare& c : t.compare)
    if (c.key.empty()) return Errc::empty_key;
  for (const RequestOp& op : t.success)
    REVKV_TRY(validate_op(op, budget - n));
  for (const RequestOp& op : t.failure)
    REVKV_TRY(validate_op(op, budget - n));
  return {};
}

Status validate_op(const RequestOp& op, int64_t budget) {
  return std::visit(
      [budget](const auto& v) -> Status {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return Errc::key_not_found;  // etcd's answer to an empty RequestOp
        } else if constexpr (std::is_same_v<T, RangeRequest>) {
          return validate_range(v);
        } else if constexpr (std::is_same_v<T, PutRequest>) {
          return validate_put(v);
        } else if constexpr (std::is_same_v<T, DeleteRangeRequest>) {
          return validate_delete(v);
        } else {
          return validate_txn_level(*v, budget);
        }
      },
      op.op);
}

// -- duplicate-key rule (SPEC §3.6.2) ---------------------------------------------------------

struct Writes {
  std::set<std::string> puts;
  std::vector<KeyRange> deletes;
};

bool in_any(const std::string& key, const std::vector<KeyRange>& ranges) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const KeyRange& r) { return r.contains(key); });
}

Result<Writes> branch_writes(const std::vector<RequestOp>& ops) {
  Writes w;
  // An open-ended delete ("\0") covers [key, +inf): etcd treats it as empty (§11-D1).
  for (const RequestOp& op : ops) {
    if (auto* d = std::get_if<DeleteRangeRequest>(&op.op)) {
      w.deletes.push_back(KeyRange::from_request(d->key, d->range_end));
    }
  }
  for (const RequestOp& op : ops) {
    auto* nested = std::get_if<Box<TxnRequest>>(&op.op);
    if (nested == nullptr) continue;
    auto then_writes = branch_writes((*nested)->success);
    if (!then_writes.ok()) return then_writes.error();
    auto else_writes = branch_writes((*nested)->failure);
    if (!else_writes.ok()) return else_writes.error();
    for (const std::string& k : then_writes->puts) {
      if (w.puts.contains(k) || in_any(k, w.deletes)) return Errc::duplicate_key;
      w.puts.insert(k);
    }
    for (const std::string& k : else_writes->puts) {
      if (in_any(k, w.deletes)) return Errc::duplicate_key;
      // then and else never both run: the same key in both is fine.
      if (w.puts.contains(k) && !then_writes->puts.contains(k)) return Errc::duplicate_key;
      w.puts.insert(k);
    }
    for (auto& r : then_writes->deletes)
      w.deletes.push_back(std::move(r));
    for (auto& r : else_writes->deletes)
      w.deletes.push_back(std::move(r));
  }
  for (const RequestOp& op : ops) {
    auto* p = std::get_if<PutRequest>(&op.op);
    if (p == nullptr) continue;
    if (w.puts.contains(p->key) || in_any(p->key, w.deletes)) return Errc::duplicate_key;
    w.puts.insert(p->key);
  }
  return w;
}

template <class T>
int compare_values(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

bool compare_one(const Compare& c, const KeyValue& kv) {
  auto target = static_cast<CompareTarget>(c.target);
  // A target_union member of the wrong kind compares as the zero value (etcd).
  bool given = c.union_kind.has_value() && *c.union_kind == target;
  // An unknown target compares as equal, as etcd's compareKV leaves it.
  int cmp = 0;
  switch (target) {
    case CompareTarget::value:
      cmp = kv.value.compare(given ? c.value : std::string{});
      break;
    case CompareTarget::version:
      cmp = compare_values(kv.version, given ? c.number : 0);
      break;
    case CompareTarget::create:
      cmp = compare_values(kv.create_revision, given ? c.number : 0);
      break;
    case CompareTarget::mod:
      cmp = compare_values(kv.mod_revision, given ? c.number : 0);
      break;
    case CompareTarget::lease:
      cmp = compare_values(kv.lease, given ? c.number : 0);
      break;
  }
  switch (static_cast<CompareResult>(c.result)) {
    case CompareResult::equal:
      return cmp == 0;
    case CompareResult::not_equal:
      return cmp != 0;
    case CompareResult::greater:
      return cmp > 0;
    case CompareResult::less:
      return cmp < 0;
  }
  return true;  // unknown result: etcd evaluates it to true
}

}  // namespace

Status validate_put(const PutRequest& r) {
  if (r.key.empty()) return Errc::empty_key;
  if (r.ignore_value && !r.value.empty()) return Errc::value_provided;
  if (r.ignore_lease && r.lease != 0) return Errc::lease_provided;
  return {};
}

Status validate_delete(const DeleteRangeRequest& r) {
  if (r.key.empty()) return Errc::empty_key;
  return {};
}

Status validate_txn(const TxnRequest& request, int64_t max_txn_ops) {
  REVKV_TRY(validate_txn_level(request, max_txn_ops));
  REVKV_TRY(branch_writes(request.success));
  REVKV_TRY(branch_writes(request.failure));
  return {};
}

int64_t request_cost(const PutRequest& r) {
  return 256 + static_cast<int64_t>(r.key.size() + r.value.size());
}

int64_t request_cost(const TxnRequest& request) {
  auto branch = [](const std::vector<RequestOp>& ops) {
    int64_t sum = 0;
    for (const RequestOp& op : ops) {
      if (auto* p = std::get_if<PutRequest>(&op.op)) sum += request_cost(*p);
      if (auto* t = std::get_if<Box<TxnRequest>>(&op.op)) sum += request_cost(**t);
    }
    return sum;
  };
  return std::max(branch(request.success), branch(request.failure));
}

bool is_write_txn(const TxnRequest& request) {
  auto writes = [](const std::vector<RequestOp>& ops) {
    return std::any_of(ops.begin(), ops.end(), [](const RequestOp& op) {
      return !std::holds_alternative<RangeRequest>(op.op);
    });
  };
  return writes(request.success) || writes(request.failure);
}

bool is_serializable_read_txn(const TxnRequest& request) {
  auto serializable = [](const std::vector<RequestOp>& ops) {
    return std::all_of(ops.begin(), ops.end(), [](const RequestOp& op) {
      const auto* range = std::get_if<RangeRequest>(&op.op);
      return range != nullptr && range->serializable;
    });
  };
  const bool has_ops = !request.success.empty() || !request.failure.empty();
  return has_ops && serializable(request.success) && serializable(request.failure);
}

bool took_revision(const DeleteRangeResponse& response) {
  return response.deleted > 0;
}

bool took_revision(const TxnResponse& response) {
  return std::any_of(response.responses.begin(), response.responses.end(),
                     [](const ResponseOp& op) {
                       return std::visit(
                           [](const auto& r) {
                             using R = std::decay_t<decltype(r)>;
                             if constexpr (std::is_same_v<R, PutResponse>) return true;
                             if constexpr (std::is_same_v<R, DeleteRangeResponse>)
                               return took_revision(r);
                             if constexpr (std::is_same_v<R, Box<TxnResponse>>)
                               return took_revision(*r);
                             return false;
                           },
                           op.op);
                     });
}

bool compare_holds(const Compare& c, const std::vector<KeyValue>& selected) {
  if (selected.empty()) {
    if (static_cast<CompareTarget>(c.target) == CompareTarget::value) return false;
    return compare_one(c, KeyValue{});
  }
  return std::all_of(selected.begin(), selected.end(),
                     [&](const KeyValue& kv) { return compare_one(c, kv); });
}

void collect_write_ranges(const std::vector<RequestOp>& ops, std::vector<KeyRange>& out) {
  for (const RequestOp& op : ops) {
    if (auto* p = std::get_if<PutRequest>(&op.op)) {
      out.push_back(KeyRange{p->key, std::nullopt});
    } else if (auto* d = std::get_if<DeleteRangeRequest>(&op.op)) {
      out.push_back(KeyRange::from_request(d->key, d->range_end));
    } else if (auto* t = std::get_if<Box<TxnRequest>>(&op.op)) {
      collect_write_ranges((*t)->success, out);
      collect_write_ranges((*t)->failure, out);
    }
  }
}

}  // namespace revkv::storage
