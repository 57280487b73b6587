// Randomized model-based test of storage::Store.
//
// The test keeps a small, independent in-memory model of etcd's MVCC semantics written from
// The semantics (docs/STORAGE.md): the whole history as per-key lists of records, the current
// revision and the compact revision. Reads at revision r take the newest record of the key
// with main <= r (absent if it is a tombstone). Compaction in the model only moves the compact
// revision: reads below it fail, reads at or above it must stay exactly as they were, which is
// what the engine has to preserve while it physically drops history.
//
// Random operations run against both; after every operation the engine's full response
// (error code or response value) must equal the model's. Nothing of the engine's internals
// (key index, keyspace, range/txn rules) is used here.
//
// Reproduce a run: REVKV_MODEL_SEED=<seed> overrides the seed of every section,
// REVKV_MODEL_OPS=<n> the number of operations, REVKV_MODEL_VERBOSE=1 prints op statistics.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "storage/error.hpp"
#include "storage/store.hpp"
#include "storage/types.hpp"
#include "tests/temp_dir.hpp"

using namespace revkv::storage;
using revkv::testing::TempDir;

namespace {

// ---------------------------------------------------------------------------------------------
// Printing (for failure messages and the op log)

std::string esc(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

std::string esc(const std::string& s) { return esc(std::string_view(s)); }
std::string esc(const std::optional<std::string>& s) { return s ? esc(*s) : "none"; }

const char* errc_name(Errc c) {
  switch (c) {
    case Errc::ok: return "ok";
    case Errc::empty_key: return "empty_key";
    case Errc::key_not_found: return "key_not_found";
    case Errc::value_provided: return "value_provided";
    case Errc::lease_provided: return "lease_provided";
    case Errc::too_many_ops: return "too_many_ops";
    case Errc::duplicate_key: return "duplicate_key";
    case Errc::invalid_sort_option: return "invalid_sort_option";
    case Errc::request_too_large: return "request_too_large";
    case Errc::compacted: return "compacted";
    case Errc::future_revision: return "future_revision";
    case Errc::no_space: return "no_space";
    case Errc::lease_not_found: return "lease_not_found";
    case Errc::lease_exists: return "lease_exists";
    case Errc::lease_ttl_too_large: return "lease_ttl_too_large";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::io_error: return "io_error";
    case Errc::corruption: return "corruption";
    case Errc::failed: return "failed";
  }
  return "?";
}

std::string show(const KeyValue& kv) {
  std::ostringstream o;
  o << esc(kv.key) << "{" << esc(kv.value) << "," << kv.create_revision << "," << kv.mod_revision
    << "," << kv.version << "," << kv.lease << "}";
  return o.str();
}

std::string show(const std::optional<KeyValue>& kv) { return kv ? show(*kv) : "none"; }

std::string show(const std::vector<KeyValue>& kvs) {
  std::string out = "[";
  for (size_t i = 0; i < kvs.size(); ++i) out += (i ? " " : "") + show(kvs[i]);
  return out + "]";
}

std::string show(const RangeRequest& r) {
  std::ostringstream o;
  o << "Range(" << esc(r.key) << ", end=" << esc(r.range_end) << ", limit=" << r.limit
    << ", rev=" << r.revision << ", sort=" << r.sort_order << "/" << r.sort_target;
  if (r.keys_only) o << ", keys_only";
  if (r.count_only) o << ", count_only";
  if (r.serializable) o << ", serializable";
  if (r.min_mod_revision || r.max_mod_revision) {
    o << ", mod=[" << r.min_mod_revision << "," << r.max_mod_revision << "]";
  }
  if (r.min_create_revision || r.max_create_revision) {
    o << ", create=[" << r.min_create_revision << "," << r.max_create_revision << "]";
  }
  return o.str() + ")";
}

std::string show(const PutRequest& r) {
  std::ostringstream o;
  o << "Put(" << esc(r.key) << ", " << esc(r.value) << ", lease=" << r.lease;
  if (r.prev_kv) o << ", prev_kv";
  if (r.ignore_value) o << ", ignore_value";
  if (r.ignore_lease) o << ", ignore_lease";
  return o.str() + ")";
}

std::string show(const DeleteRangeRequest& r) {
  return "Delete(" + esc(r.key) + ", end=" + esc(r.range_end) + (r.prev_kv ? ", prev_kv)" : ")");
}

std::string show(const Compare& c) {
  static const char* targets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
  static const char* results[] = {"==", ">", "<", "!="};
  std::ostringstream o;
  o << "Cmp(" << esc(c.key);
  if (c.range_end) o << ".." << esc(c.range_end);
  o << " " << (c.target >= 0 && c.target <= 4 ? targets[c.target] : "T?") << " "
    << (c.result >= 0 && c.result <= 3 ? results[c.result] : "R?") << " ";
  if (!c.union_kind) {
    o << "<unset>";
  } else {
    auto k = static_cast<int32_t>(*c.union_kind);
    if (k != c.target) o << "<kind " << (k >= 0 && k <= 4 ? targets[k] : "?") << ">";
  }
  o << " n=" << c.number << " v=" << esc(c.value) << ")";
  return o.str();
}

std::string show(const TxnRequest& t);

std::string show(const RequestOp& op) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) {
          return "EmptyOp";
        } else if constexpr (std::is_same_v<V, Box<TxnRequest>>) {
          return show(*v);
        } else {
          return show(v);
        }
      },
      op.op);
}

std::string show(const TxnRequest& t) {
  std::string out = "Txn(If[";
  for (size_t i = 0; i < t.compare.size(); ++i) out += (i ? "; " : "") + show(t.compare[i]);
  out += "] Then[";
  for (size_t i = 0; i < t.success.size(); ++i) out += (i ? "; " : "") + show(t.success[i]);
  out += "] Else[";
  for (size_t i = 0; i < t.failure.size(); ++i) out += (i ? "; " : "") + show(t.failure[i]);
  return out + "])";
}

std::string show(const RangeResponse& r) {
  std::ostringstream o;
  o << "RangeResp{rev=" << r.revision << ", count=" << r.count << ", more=" << r.more
    << ", kvs=" << show(r.kvs) << "}";
  return o.str();
}

std::string show(const PutResponse& r) {
  return "PutResp{rev=" + std::to_string(r.revision) + ", prev=" + show(r.prev_kv) + "}";
}

std::string show(const DeleteRangeResponse& r) {
  return "DelResp{rev=" + std::to_string(r.revision) + ", deleted=" + std::to_string(r.deleted) +
         ", prev=" + show(r.prev_kvs) + "}";
}

std::string show(const TxnResponse& r);

std::string show(const ResponseOp& op) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, Box<TxnResponse>>) {
          return show(*v);
        } else {
          return show(v);
        }
      },
      op.op);
}

std::string show(const TxnResponse& r) {
  std::string out = "TxnResp{rev=" + std::to_string(r.revision) +
                    ", succeeded=" + (r.succeeded ? "true" : "false") + ", [";
  for (size_t i = 0; i < r.responses.size(); ++i) out += (i ? "; " : "") + show(r.responses[i]);
  return out + "]}";
}

std::string show(const CompactResponse& r) {
  return "CompactResp{rev=" + std::to_string(r.revision) + "}";
}

std::string show(const HashKVResponse& r) {
  std::ostringstream o;
  o << "HashKVResp{rev=" << r.revision << ", hash=" << r.hash << ", compact=" << r.compact_revision
    << ", hash_rev=" << r.hash_revision << "}";
  return o.str();
}

std::string show(const LeaseGrantResponse& r) {
  std::ostringstream o;
  o << "GrantResp{rev=" << r.revision << ", id=" << r.id << ", ttl=" << r.ttl << "}";
  return o.str();
}

std::string show(const LeaseRevokeResponse& r) {
  return "RevokeResp{rev=" + std::to_string(r.revision) + "}";
}

std::string show(const Event& e) {
  return std::string(e.type == Event::Type::put ? "PUT " : "DEL ") + show(e.kv) +
         (e.prev_kv ? " prev=" + show(e.prev_kv) : "");
}

std::string show(const std::vector<Event>& evs) {
  std::string out = "[";
  for (size_t i = 0; i < evs.size(); ++i) out += (i ? "; " : "") + show(evs[i]);
  return out + "]";
}

std::string show(const std::vector<LeaseRecord>& ls) {
  std::ostringstream o;
  o << "[";
  for (const auto& l : ls) o << " {" << l.id << "," << l.ttl << "," << l.remaining_ttl << "}";
  o << " ]";
  return o.str();
}

std::string show(const std::vector<std::string>& keys) {
  std::string out = "[";
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? " " : "") + esc(keys[i]);
  return out + "]";
}

template <class T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::ok : r.error().code();
}

template <class T>
std::string show(const Result<T>& r) {
  if (!r.ok()) return std::string("error ") + errc_name(r.error().code()) + " (" + r.error().message() + ")";
  return show(*r);
}

// ---------------------------------------------------------------------------------------------
// The model

constexpr int64_t kMaxLeaseTtl = 9'000'000'000;

// The set of keys a key/range_end pair names (SPEC §3.2); also a deleted interval for the
// duplicate-key rule (SPEC §3.6.2, "\0" is +infinity).
struct Sel {
  enum Kind { single, open, bounded };
  std::string start;
  Kind kind = single;
  std::string end;

  static Sel of(const std::string& key, const std::optional<std::string>& range_end) {
    if (!range_end || range_end->empty()) return Sel{key, single, {}};
    if (*range_end == std::string(1, '\0')) return Sel{key, open, {}};
    return Sel{key, bounded, *range_end};
  }
  // std::string compares bytes as unsigned char (char_traits<char>): etcd's key order.
  bool contains(const std::string& k) const {
    switch (kind) {
      case single: return k == start;
      case open: return k >= start;
      case bounded: return k >= start && k < end;
    }
    return false;
  }
};

struct Rec {
  int64_t main = 0;
  int64_t sub = 0;
  bool tomb = false;
  std::string value;
  int64_t lease = 0;
  int64_t create = 0;
  int64_t version = 0;
};

int sign_cmp(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

int sign_cmp(const std::string& a, const std::string& b) {
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Three-way comparison of two key-values by a sort target (SPEC §3.3 step 4).
int cmp_target(const KeyValue& a, const KeyValue& b, int32_t target) {
  switch (target) {
    case 1: return sign_cmp(a.version, b.version);
    case 2: return sign_cmp(a.create_revision, b.create_revision);
    case 3: return sign_cmp(a.mod_revision, b.mod_revision);
    case 4: return sign_cmp(a.value, b.value);
    default: return sign_cmp(a.key, b.key);
  }
}

// True if `engine` is an equally valid answer to a sorted range whose model answer is
// `model` (uncleared values, truncated) chosen from `candidates` (filtered and sorted, not
// truncated, uncleared): the order of ties is unspecified (SPEC §3.3 step 4).
bool tie_equivalent(const std::vector<KeyValue>& engine, const std::vector<KeyValue>& model,
                    const std::vector<KeyValue>& candidates, int32_t target, bool keys_only) {
  if (engine.size() != model.size()) return false;
  std::set<std::string> seen;
  for (size_t i = 0; i < engine.size(); ++i) {
    auto it = std::find_if(candidates.begin(), candidates.end(),
                           [&](const KeyValue& c) { return c.key == engine[i].key; });
    if (it == candidates.end() || !seen.insert(it->key).second) return false;
    KeyValue c = *it;
    if (keys_only) c.value.clear();
    if (!(c == engine[i])) return false;
    if (cmp_target(*it, model[i], target) != 0) return false;
  }
  return true;
}

class Model {
 public:
  explicit Model(int64_t max_txn_ops, int64_t min_ttl) : max_txn_ops_(max_txn_ops), min_ttl_(min_ttl) {}

  int64_t cur = 1;
  int64_t compact = -1;
  std::map<std::string, std::vector<Rec>> hist;  // per key, in (main, sub) order
  std::map<int64_t, int64_t> leases;             // id -> effective TTL
  std::string broken;                            // set when the model reaches an impossible state

  // -- reads -----------------------------------------------------------------------------------

  const Rec* newest(const std::string& key, int64_t rev) const {
    auto it = hist.find(key);
    if (it == hist.end()) return nullptr;
    const auto& v = it->second;
    auto pos = std::upper_bound(v.begin(), v.end(), rev,
                                [](int64_t r, const Rec& rec) { return r < rec.main; });
    if (pos == v.begin()) return nullptr;
    return &*std::prev(pos);
  }

  std::optional<KeyValue> get(const std::string& key, int64_t rev) const {
    const Rec* r = newest(key, rev);
    if (!r || r->tomb) return std::nullopt;
    return KeyValue{key, r->create, r->main, r->version, r->value, r->lease};
  }

  std::vector<KeyValue> select(const Sel& s, int64_t rev) const {
    std::vector<KeyValue> out;
    for (const auto& [k, v] : hist) {
      if (!s.contains(k)) continue;
      if (auto kv = get(k, rev)) out.push_back(std::move(*kv));
    }
    return out;
  }

  static Errc validate_range(const RangeRequest& r) {
    if (r.key.empty()) return Errc::empty_key;
    if (r.sort_order < 0 || r.sort_order > 2 || r.sort_target < 0 || r.sort_target > 4) {
      return Errc::invalid_sort_option;
    }
    return Errc::ok;
  }

  // SPEC §2.2 + §3.3, in a view whose current revision is `view`.
  Result<RangeResponse> range_at(const RangeRequest& r, int64_t view, int64_t header,
                                 const RangeResponse* hint) const {
    int64_t rev = r.revision;
    if (rev > view) return Errc::future_revision;
    if (rev <= 0) rev = view;
    if (rev < compact) return Errc::compacted;
    std::vector<KeyValue> kvs = select(Sel::of(r.key, r.range_end), rev);
    RangeResponse out;
    out.revision = header;
    out.count = static_cast<int64_t>(kvs.size());
    bool fetch_all = r.sort_order != 0 || r.min_mod_revision != 0 || r.max_mod_revision != 0 ||
                     r.min_create_revision != 0 || r.max_create_revision != 0;
    if (!fetch_all && r.limit > 0 && r.limit < static_cast<int64_t>(kvs.size()) - 1) {
      kvs.resize(static_cast<size_t>(r.limit) + 1);
    }
    std::erase_if(kvs, [&](const KeyValue& kv) {
      return (r.max_mod_revision != 0 && kv.mod_revision > r.max_mod_revision) ||
             (r.min_mod_revision != 0 && kv.mod_revision < r.min_mod_revision) ||
             (r.max_create_revision != 0 && kv.create_revision > r.max_create_revision) ||
             (r.min_create_revision != 0 && kv.create_revision < r.min_create_revision);
    });
    int32_t order = r.sort_order;
    if (r.sort_target != 0 && order == 0) order = 1;
    bool sorted = !(order == 0 || (r.sort_target == 0 && order == 1));
    if (sorted) {
      std::stable_sort(kvs.begin(), kvs.end(), [&](const KeyValue& a, const KeyValue& b) {
        int c = cmp_target(a, b, r.sort_target);
        return order == 1 ? c < 0 : c > 0;
      });
    }
    std::vector<KeyValue> candidates = kvs;
    if (r.limit > 0 && static_cast<int64_t>(kvs.size()) > r.limit) {
      kvs.resize(static_cast<size_t>(r.limit));
      out.more = true;
    }
    if (r.count_only) {
      out.more = false;
      return out;
    }
    if (sorted && hint && tie_equivalent(hint->kvs, kvs, candidates, r.sort_target, r.keys_only)) {
      out.kvs = hint->kvs;  // an equally valid order of ties
      return out;
    }
    if (r.keys_only) {
      for (auto& kv : kvs) kv.value.clear();
    }
    out.kvs = std::move(kvs);
    return out;
  }

  Result<RangeResponse> range(const RangeRequest& r, const RangeResponse* hint) const {
    if (Errc e = validate_range(r); e != Errc::ok) return e;
    return range_at(r, cur, cur, hint);
  }

  // -- writes ----------------------------------------------------------------------------------

  struct WTxn {
    int64_t begin = 0;
    int64_t changes = 0;
    int64_t read_rev() const { return changes > 0 ? begin + 1 : begin; }
  };

  void write_put(WTxn& w, const std::string& key, std::string value, int64_t lease) {
    auto prev = get(key, w.begin + 1);
    Rec r;
    r.main = w.begin + 1;
    r.sub = w.changes++;
    r.value = std::move(value);
    r.lease = lease;
    r.create = prev ? prev->create_revision : w.begin + 1;
    r.version = prev ? prev->version + 1 : 1;
    hist[key].push_back(std::move(r));
  }

  void write_del(WTxn& w, const std::string& key) {
    Rec r;
    r.main = w.begin + 1;
    r.sub = w.changes++;
    r.tomb = true;
    hist[key].push_back(std::move(r));
  }

  void finish(const WTxn& w) {
    if (w.changes > 0) cur = w.begin + 1;
  }

  static Errc validate_put(const PutRequest& r) {
    if (r.key.empty()) return Errc::empty_key;
    if (r.ignore_value && !r.value.empty()) return Errc::value_provided;
    if (r.ignore_lease && r.lease != 0) return Errc::lease_provided;
    return Errc::ok;
  }

  PutResponse apply_put(WTxn& w, const PutRequest& r) {
    auto prev = get(r.key, w.read_rev());
    if ((r.ignore_value || r.ignore_lease) && !prev) {
      broken = "model: ignore_value/ignore_lease put of a missing key reached execution";
      return PutResponse{};
    }
    std::string value = r.ignore_value ? prev->value : r.value;
    int64_t lease = r.ignore_lease ? prev->lease : r.lease;
    write_put(w, r.key, std::move(value), lease);
    PutResponse out;
    out.revision = w.begin + 1;
    if (r.prev_kv) out.prev_kv = prev;
    return out;
  }

  Result<PutResponse> put(const PutRequest& r) {
    if (Errc e = validate_put(r); e != Errc::ok) return e;
    // Standalone: the lease is checked before key existence (SPEC §3.4, §12).
    if (r.lease != 0 && !leases.contains(r.lease)) return Errc::lease_not_found;
    if ((r.ignore_value || r.ignore_lease) && !get(r.key, cur)) return Errc::key_not_found;
    WTxn w{cur};
    PutResponse out = apply_put(w, r);
    finish(w);
    return out;
  }

  DeleteRangeResponse apply_delete(WTxn& w, const DeleteRangeRequest& r) {
    std::vector<KeyValue> doomed = select(Sel::of(r.key, r.range_end), w.read_rev());
    for (const auto& kv : doomed) write_del(w, kv.key);
    DeleteRangeResponse out;
    out.deleted = static_cast<int64_t>(doomed.size());
    out.revision = w.read_rev();
    if (r.prev_kv) out.prev_kvs = std::move(doomed);
    return out;
  }

  Result<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r) {
    if (r.key.empty()) return Errc::empty_key;
    WTxn w{cur};
    DeleteRangeResponse out = apply_delete(w, r);
    finish(w);
    return out;
  }

  // -- txn -------------------------------------------------------------------------------------

  Errc validate_op(const RequestOp& op, int64_t budget) const {
    if (std::holds_alternative<std::monostate>(op.op)) return Errc::key_not_found;
    if (auto* r = std::get_if<RangeRequest>(&op.op)) return validate_range(*r);
    if (auto* p = std::get_if<PutRequest>(&op.op)) return validate_put(*p);
    if (auto* d = std::get_if<DeleteRangeRequest>(&op.op)) {
      return d->key.empty() ? Errc::empty_key : Errc::ok;
    }
    return validate_txn(*std::get<Box<TxnRequest>>(op.op), budget);
  }

  // SPEC §3.6.1 steps 1-3.
  Errc validate_txn(const TxnRequest& t, int64_t budget) const {
    auto n = static_cast<int64_t>(std::max({t.compare.size(), t.success.size(), t.failure.size()}));
    if (n > budget) return Errc::too_many_ops;
    for (const auto& c : t.compare) {
      if (c.key.empty()) return Errc::empty_key;
    }
    for (const auto* branch : {&t.success, &t.failure}) {
      for (const auto& op : *branch) {
        if (Errc e = validate_op(op, budget - n); e != Errc::ok) return e;
      }
    }
    return Errc::ok;
  }

  static bool covered(const std::vector<Sel>& dels, const std::string& k) {
    return std::any_of(dels.begin(), dels.end(), [&](const Sel& s) { return s.contains(k); });
  }

  // SPEC §3.6.2; false on a duplicate.
  static bool dup_check(const std::vector<RequestOp>& ops, std::set<std::string>& puts,
                        std::vector<Sel>& dels) {
    for (const auto& op : ops) {
      if (auto* d = std::get_if<DeleteRangeRequest>(&op.op)) dels.push_back(Sel::of(d->key, d->range_end));
    }
    for (const auto& op : ops) {
      auto* n = std::get_if<Box<TxnRequest>>(&op.op);
      if (!n) continue;
      std::set<std::string> pt, pe;
      std::vector<Sel> dt, de;
      if (!dup_check((*n)->success, pt, dt)) return false;
      if (!dup_check((*n)->failure, pe, de)) return false;
      for (const auto& k : pt) {
        if (puts.contains(k) || covered(dels, k)) return false;
        puts.insert(k);
      }
      for (const auto& k : pe) {
        if (puts.contains(k) && !pt.contains(k)) return false;
        if (covered(dels, k)) return false;
        puts.insert(k);
      }
      dels.insert(dels.end(), dt.begin(), dt.end());
      dels.insert(dels.end(), de.begin(), de.end());
    }
    for (const auto& op : ops) {
      auto* p = std::get_if<PutRequest>(&op.op);
      if (!p) continue;
      if (puts.contains(p->key) || covered(dels, p->key)) return false;
      puts.insert(p->key);
    }
    return true;
  }

  static bool compare_one(const Compare& c, const KeyValue& kv) {
    bool kind_ok = c.union_kind && static_cast<int32_t>(*c.union_kind) == c.target;
    int res = 0;
    switch (c.target) {
      case 0: res = sign_cmp(kv.version, kind_ok ? c.number : 0); break;
      case 1: res = sign_cmp(kv.create_revision, kind_ok ? c.number : 0); break;
      case 2: res = sign_cmp(kv.mod_revision, kind_ok ? c.number : 0); break;
      case 3: res = sign_cmp(kv.value, kind_ok ? c.value : std::string()); break;
      case 4: res = sign_cmp(kv.lease, kind_ok ? c.number : 0); break;
      default: res = 0;
    }
    switch (c.result) {
      case 0: return res == 0;
      case 1: return res > 0;
      case 2: return res < 0;
      case 3: return res != 0;
      default: return true;  // unknown result: true (SPEC §3.6.3)
    }
  }

  bool compare_holds(const Compare& c, int64_t view) const {
    auto kvs = select(Sel::of(c.key, c.range_end), view);
    if (kvs.empty()) return c.target == 3 ? false : compare_one(c, KeyValue{});
    return std::all_of(kvs.begin(), kvs.end(), [&](const KeyValue& kv) { return compare_one(c, kv); });
  }

  struct Path {
    bool succeeded = false;
    std::vector<Path> nested;
  };

  Path choose(const TxnRequest& t, int64_t view) const {
    Path p;
    p.succeeded = std::all_of(t.compare.begin(), t.compare.end(),
                              [&](const Compare& c) { return compare_holds(c, view); });
    for (const auto& op : p.succeeded ? t.success : t.failure) {
      if (auto* n = std::get_if<Box<TxnRequest>>(&op.op)) p.nested.push_back(choose(**n, view));
    }
    return p;
  }

  Errc precheck(const TxnRequest& t, const Path& p, int64_t view) const {
    size_t ni = 0;
    for (const auto& op : p.succeeded ? t.success : t.failure) {
      if (auto* r = std::get_if<RangeRequest>(&op.op)) {
        if (r->revision != 0 && r->revision > view) return Errc::future_revision;
        if (r->revision != 0 && r->revision < compact) return Errc::compacted;
      } else if (auto* put = std::get_if<PutRequest>(&op.op)) {
        // Inside a Txn: key existence before the lease (SPEC §3.6.4 step 3).
        if ((put->ignore_value || put->ignore_lease) && !get(put->key, view)) return Errc::key_not_found;
        if (put->lease != 0 && !leases.contains(put->lease)) return Errc::lease_not_found;
      } else if (auto* n = std::get_if<Box<TxnRequest>>(&op.op)) {
        if (Errc e = precheck(**n, p.nested[ni++], view); e != Errc::ok) return e;
      }
    }
    return Errc::ok;
  }

  TxnResponse execute(WTxn& w, const TxnRequest& t, const Path& p, const TxnResponse* hint) {
    TxnResponse out;
    out.succeeded = p.succeeded;
    size_t ni = 0;
    const auto& ops = p.succeeded ? t.success : t.failure;
    for (size_t i = 0; i < ops.size(); ++i) {
      const RequestOp& op = ops[i];
      const ResponseOp* h = hint && i < hint->responses.size() ? &hint->responses[i] : nullptr;
      ResponseOp resp;
      if (auto* r = std::get_if<RangeRequest>(&op.op)) {
        const RangeResponse* rh = h ? std::get_if<RangeResponse>(&h->op) : nullptr;
        auto got = range_at(*r, w.read_rev(), w.read_rev(), rh);
        if (!got.ok()) {
          broken = "model: a range that passed the prechecks failed in execution";
          return out;
        }
        resp.op = std::move(*got);
      } else if (auto* put = std::get_if<PutRequest>(&op.op)) {
        resp.op = apply_put(w, *put);
      } else if (auto* d = std::get_if<DeleteRangeRequest>(&op.op)) {
        resp.op = apply_delete(w, *d);
      } else if (auto* n = std::get_if<Box<TxnRequest>>(&op.op)) {
        const Box<TxnResponse>* nh = h ? std::get_if<Box<TxnResponse>>(&h->op) : nullptr;
        TxnResponse sub = execute(w, **n, p.nested[ni++], nh ? &**nh : nullptr);
        sub.revision = 0;  // nested header revision is 0 (SPEC §3.6.5)
        resp.op = Box<TxnResponse>(std::move(sub));
      }
      out.responses.push_back(std::move(resp));
    }
    return out;
  }

  Result<TxnResponse> txn(const TxnRequest& t, const TxnResponse* hint) {
    if (Errc e = validate_txn(t, max_txn_ops_); e != Errc::ok) return e;
    for (const auto* branch : {&t.success, &t.failure}) {
      std::set<std::string> puts;
      std::vector<Sel> dels;
      if (!dup_check(*branch, puts, dels)) return Errc::duplicate_key;
    }
    Path p = choose(t, cur);
    if (Errc e = precheck(t, p, cur); e != Errc::ok) return e;
    WTxn w{cur};
    TxnResponse out = execute(w, t, p, hint);
    finish(w);
    out.revision = cur;
    return out;
  }

  // Only the duplicate-key rule, for the generator's self-check.
  static bool txn_has_duplicates(const TxnRequest& t) {
    for (const auto* branch : {&t.success, &t.failure}) {
      std::set<std::string> puts;
      std::vector<Sel> dels;
      if (!dup_check(*branch, puts, dels)) return true;
    }
    return false;
  }

  // -- compaction, leases, history -------------------------------------------------------------

  Result<CompactResponse> do_compact(int64_t rev) {
    if (rev <= compact) return Errc::compacted;
    if (rev > cur) return Errc::future_revision;
    compact = rev;
    return CompactResponse{cur};
  }

  Result<LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) {
    if (ttl > kMaxLeaseTtl) return Errc::lease_ttl_too_large;
    if (leases.contains(id)) return Errc::lease_exists;
    leases[id] = std::max(ttl, min_ttl_);
    return LeaseGrantResponse{cur, id, leases[id]};
  }

  std::vector<std::string> lease_keys(int64_t id) const {
    std::vector<std::string> out;
    if (!leases.contains(id)) return out;
    for (const auto& [k, v] : hist) {
      auto kv = get(k, cur);
      if (kv && kv->lease == id) out.push_back(k);
    }
    return out;
  }

  Result<LeaseRevokeResponse> lease_revoke(int64_t id) {
    if (!leases.contains(id)) return Errc::lease_not_found;
    WTxn w{cur};
    for (const auto& k : lease_keys(id)) write_del(w, k);
    finish(w);
    leases.erase(id);
    return LeaseRevokeResponse{cur};
  }

  std::vector<LeaseRecord> lease_records() const {
    std::vector<LeaseRecord> out;
    for (const auto& [id, ttl] : leases) out.push_back(LeaseRecord{id, ttl, 0});
    return out;
  }

  Result<std::vector<Event>> events(int64_t from, int64_t to, bool prev_kv) const {
    if (from < compact) return Errc::compacted;
    if (to > cur) return Errc::future_revision;
    std::vector<std::tuple<int64_t, int64_t, Event>> evs;
    for (const auto& [k, v] : hist) {
      for (const Rec& r : v) {
        if (r.main < from || r.main > to) continue;
        Event e;
        if (r.tomb) {
          e.type = Event::Type::del;
          e.kv.key = k;
          e.kv.mod_revision = r.main;
        } else {
          e.kv = KeyValue{k, r.create, r.main, r.version, r.value, r.lease};
        }
        if (prev_kv && r.main - 1 >= compact) e.prev_kv = get(k, r.main - 1);
        evs.emplace_back(r.main, r.sub, std::move(e));
      }
    }
    std::sort(evs.begin(), evs.end(), [](const auto& a, const auto& b) {
      return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
    });
    std::vector<Event> out;
    for (auto& e : evs) out.push_back(std::move(std::get<2>(e)));
    return out;
  }

 private:
  int64_t max_txn_ops_;
  int64_t min_ttl_;
};

// ---------------------------------------------------------------------------------------------
// The harness: random operations against the engine and the model

const std::vector<std::string> kKeys = {
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l",
    std::string("\0", 1), std::string("a\0", 2), "\xff", "\xff\xff", "b\xff",
};
// Extra range bounds that are not keys.
const std::vector<std::string> kBounds = {"c5", std::string("a\x01", 2), "m", "zz", std::string("\x01", 1),
                                          "b\xff\xff"};
const std::vector<std::string> kValues = {"", "x", "y", "v1", "v2", "zz", std::string("\0v", 2), "\xffq"};
const std::vector<int64_t> kLeaseIds = {1, 2, 3, -7};  // 42 is never granted

std::string prefix_end_of(std::string p) {
  while (!p.empty() && static_cast<unsigned char>(p.back()) == 0xff) p.pop_back();
  if (p.empty()) return std::string(1, '\0');
  p.back() = static_cast<char>(static_cast<unsigned char>(p.back()) + 1);
  return p;
}

struct Weights {
  int put = 25, del = 8, range = 20, txn = 25, compact = 3, step = 2, hash = 3, events = 3,
      grant = 2, revoke = 1, reopen = 1, check = 1;
};

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

bool verbose() { return std::getenv("REVKV_MODEL_VERBOSE") != nullptr; }

class Harness {
 public:
  Harness(uint64_t seed, int64_t batch_limit) : seed_(seed), rng_(seed), model_(12, 2) {
    opts_.backend.sync = false;
    opts_.max_txn_ops = 12;
    opts_.min_lease_ttl = 2;
    opts_.compaction_batch_limit = batch_limit;
    open();
  }

  ~Harness() {
    if (store_) (void)store_->close();
  }

  bool failed() const { return failed_; }
  int64_t ops() const { return step_; }

  // Compact(0) / Compact(1) on a fresh store are accepted (SPEC §3.7, §11-Q5).
  void compact_fresh_store(int64_t rev) {
    op_compact(rev);
    check_light();
  }

  void run(int64_t n, const Weights& w, bool reopen_every_step) {
    thorough_ = reopen_every_step;
    for (int64_t i = 0; i < n && !failed_; ++i) {
      ++step_;
      random_op(w);
      if (failed_) return;
      check_light();
      if (!model_.broken.empty()) fail(model_.broken);
      if (reopen_every_step && !failed_) {
        reopen();
        if (!failed_) check_all(true);
      }
    }
    if (!failed_) check_all(true);
  }

  void print_stats(const char* name) const {
    if (!verbose()) return;
    std::printf("[%s] seed %" PRIu64 ": %" PRId64 " ops, final revision %" PRId64 ", compact %" PRId64
                ", reopens %d\n",
                name, seed_, step_, model_.cur, model_.compact, reopens_);
    for (const auto& [k, n] : stats_) std::printf("   %-36s %6d\n", k.c_str(), n);
  }

 private:
  // -- infrastructure --------------------------------------------------------------------------

  void open() {
    auto s = Store::open(dir_.str(), opts_);
    if (!s.ok()) {
      fail("Store::open failed: " + s.error().message());
      return;
    }
    store_ = std::move(*s);
  }

  void fail(const std::string& what) {
    if (failed_) return;
    failed_ = true;
    std::ostringstream o;
    o << "seed " << seed_ << ", step " << step_ << ": " << what << "\nlast operations:\n";
    size_t from = log_.size() > 80 ? log_.size() - 80 : 0;
    for (size_t i = from; i < log_.size(); ++i) o << "  " << log_[i] << "\n";
    FAIL_CHECK(o.str());
  }

  void log(std::string line) { log_.push_back("#" + std::to_string(step_) + " " + std::move(line)); }

  template <class T>
  bool expect(const std::string& what, const Result<T>& engine, const Result<T>& model) {
    Errc ec = code_of(engine);
    Errc mc = code_of(model);
    ++stats_[what + " -> " + errc_name(mc)];
    if (!log_.empty() && what.rfind("check", 0) != 0) log_.back() += std::string(" => ") + errc_name(ec);
    if (ec == mc && (ec != Errc::ok || *engine == *model)) return true;
    fail(what + " differs\n  engine: " + show(engine) + "\n  model:  " + show(model));
    return false;
  }

  int64_t rnd(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool chance(int pct) { return rnd(0, 99) < pct; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(rnd(0, static_cast<int64_t>(v.size()) - 1))];
  }

  // -- generators ------------------------------------------------------------------------------

  std::pair<std::string, std::optional<std::string>> gen_sel() {
    std::string start = chance(92) ? pick(kKeys) : pick(kBounds);
    int p = static_cast<int>(rnd(0, 99));
    std::optional<std::string> end;
    if (p < 35) {
      end = std::nullopt;
    } else if (p < 40) {
      end = std::string();
    } else if (p < 52) {
      if (chance(35)) start = std::string(1, '\0');
      end = std::string(1, '\0');
    } else if (p < 80) {
      end = chance(80) ? pick(kKeys) : pick(kBounds);
    } else {
      end = prefix_end_of(start);
    }
    return {start, end};
  }

  std::string gen_value() { return chance(55) ? pick(kValues) : "u" + std::to_string(unique_++); }
  int64_t gen_lease() { return chance(80) ? 0 : (chance(85) ? pick(kLeaseIds) : 42); }

  int64_t gen_read_rev(bool in_txn) {
    int64_t lo = std::max<int64_t>(1, model_.compact);
    int p = static_cast<int>(rnd(0, 99));
    if (p < 45 || (in_txn && chance(60))) return 0;
    if (p < 70) return model_.cur;
    if (p < 82) return rnd(lo, model_.cur);
    if (p < 87) return model_.compact - rnd(0, 3);
    if (p < 92) return model_.cur + rnd(1, 3);
    if (p < 97) return -rnd(1, 3);
    return chance(50) ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }

  RangeRequest gen_range(bool in_txn) {
    RangeRequest r;
    auto [k, end] = gen_sel();
    r.key = k;
    r.range_end = end;
    // Inside a Txn one bad op fails the whole Txn: inject validation errors more rarely.
    int bad = in_txn ? 3 : 10;  // per mille
    if (rnd(0, 999) < bad) r.key.clear();
    int p = static_cast<int>(rnd(0, 99));
    if (p < 45) {
      r.limit = 0;
    } else if (p < 80) {
      r.limit = rnd(1, 4);
    } else if (p < 90) {
      r.limit = rnd(5, 20);
    } else if (p < 91) {
      r.limit = std::numeric_limits<int64_t>::max();
    } else {
      r.limit = -rnd(1, 3);
    }
    r.revision = gen_read_rev(in_txn);
    if (chance(45)) {
      r.sort_order = static_cast<int32_t>(rnd(0, 2));
      r.sort_target = static_cast<int32_t>(rnd(0, 4));
    }
    if (rnd(0, 999) < 2 * bad) r.sort_order = chance(50) ? 3 : -1;
    if (rnd(0, 999) < 2 * bad) r.sort_target = chance(50) ? 5 : -2;
    r.keys_only = chance(15);
    r.count_only = chance(8);
    r.serializable = chance(20);
    auto filter = [&] { return chance(8) ? rnd(0, model_.cur + 1) : 0; };
    r.min_mod_revision = filter();
    r.max_mod_revision = filter();
    r.min_create_revision = filter();
    r.max_create_revision = filter();
    return r;
  }

  PutRequest gen_put(const std::string& key) {
    PutRequest p;
    p.key = key;
    p.value = gen_value();
    p.lease = gen_lease();
    p.prev_kv = chance(50);
    if (chance(12)) {
      p.ignore_value = true;
      if (!chance(10)) p.value.clear();
    }
    if (chance(12)) {
      p.ignore_lease = true;
      if (!chance(10)) p.lease = 0;
    }
    return p;
  }

  DeleteRangeRequest gen_delete(std::pair<std::string, std::optional<std::string>> sel) {
    DeleteRangeRequest d;
    d.key = std::move(sel.first);
    d.range_end = std::move(sel.second);
    d.prev_kv = chance(50);
    return d;
  }

  Compare gen_compare() {
    Compare c;
    if (chance(75)) {
      c.key = pick(kKeys);
    } else {
      auto [k, end] = gen_sel();
      c.key = k;
      c.range_end = end;
    }
    c.target = static_cast<int32_t>(rnd(0, 4));
    c.result = chance(2) ? 7 : static_cast<int32_t>(rnd(0, 3));
    int k = static_cast<int>(rnd(0, 99));
    if (k < 90) {
      c.union_kind = static_cast<CompareTarget>(c.target);
    } else if (k < 95) {
      c.union_kind = std::nullopt;
    } else {
      c.union_kind = static_cast<CompareTarget>((c.target + rnd(1, 4)) % 5);
    }
    auto existing = model_.get(c.key, model_.cur);
    if (existing && chance(60)) {
      switch (c.target) {
        case 0: c.number = existing->version; break;
        case 1: c.number = existing->create_revision; break;
        case 2: c.number = existing->mod_revision; break;
        case 4: c.number = existing->lease; break;
        default: break;
      }
      if (chance(30)) c.number += rnd(-1, 1);
      c.value = chance(70) ? existing->value : gen_value();
    } else {
      switch (c.target) {
        case 0: c.number = rnd(0, 4); break;
        case 1:
        case 2: c.number = rnd(0, model_.cur + 1); break;
        case 4: c.number = chance(50) ? 0 : pick(kLeaseIds); break;
        default: c.number = rnd(-1, 3); break;
      }
      c.value = gen_value();
    }
    if (rnd(0, 999) < 3) c.key.clear();
    return c;
  }

  // Keys written and intervals deleted so far in one branch (and its nested Txns), so that
  // valid-mode Txns pass the duplicate-key rule.
  struct Tracker {
    bool enabled = true;
    std::set<std::string> puts;
    std::vector<Sel> dels;
    bool put_ok(const std::string& k) const { return !enabled || (!puts.contains(k) && !Model::covered(dels, k)); }
    bool del_ok(const Sel& s) const {
      return !enabled || std::none_of(puts.begin(), puts.end(), [&](const std::string& k) { return s.contains(k); });
    }
  };

  RequestOp gen_txn_op(int depth, Tracker& tr) {
    int p = static_cast<int>(rnd(0, 99));
    if (p < 30) return RequestOp{gen_range(true)};
    if (p < 65) {
      for (int tries = 0; tries < 8; ++tries) {
        const std::string& k = pick(kKeys);
        if (!tr.put_ok(k)) continue;
        tr.puts.insert(k);
        return RequestOp{gen_put(k)};
      }
      return RequestOp{gen_range(true)};
    }
    if (p < 87 || depth > 0) {
      for (int tries = 0; tries < 8; ++tries) {
        auto sel = chance(50) ? std::pair<std::string, std::optional<std::string>>{pick(kKeys), std::nullopt} : gen_sel();
        Sel s = Sel::of(sel.first, sel.second);
        if (!tr.del_ok(s)) continue;
        tr.dels.push_back(s);
        return RequestOp{gen_delete(std::move(sel))};
      }
      return RequestOp{gen_range(true)};
    }
    return RequestOp{Box<TxnRequest>(gen_txn(depth + 1, tr.enabled, &tr))};
  }

  TxnRequest gen_txn(int depth, bool valid, Tracker* shared) {
    TxnRequest t;
    int64_t nc = rnd(0, 3);
    for (int64_t i = 0; i < nc; ++i) t.compare.push_back(gen_compare());
    Tracker ts, tf;
    ts.enabled = tf.enabled = valid;
    Tracker& s = shared ? *shared : ts;
    Tracker& f = shared ? *shared : tf;
    int64_t ns = rnd(0, 4), nf = rnd(0, 3);
    for (int64_t i = 0; i < ns; ++i) t.success.push_back(gen_txn_op(depth, s));
    for (int64_t i = 0; i < nf; ++i) t.failure.push_back(gen_txn_op(depth, f));
    return t;
  }

  TxnRequest gen_txn_top() {
    int p = static_cast<int>(rnd(0, 99));
    if (p < 80) {
      TxnRequest t = gen_txn(0, true, nullptr);
      if (Model::txn_has_duplicates(t)) fail("generator: valid-mode txn breaks the duplicate-key rule: " + show(t));
      return t;
    }
    if (p < 90) return gen_txn(0, false, nullptr);  // free mode: duplicates likely
    if (p < 94) {
      // Sibling nested Txns: put then delete of one key is allowed (SPEC §3.6.2, etcd #16380);
      // delete then put is a duplicate.
      std::string k = pick(kKeys);
      TxnRequest put_txn, del_txn;
      put_txn.success.push_back(RequestOp{gen_put(k)});
      if (chance(50)) put_txn.failure.push_back(RequestOp{gen_put(k)});
      del_txn.success.push_back(RequestOp{gen_delete({k, chance(50) ? std::optional<std::string>() : prefix_end_of(k)})});
      if (chance(30)) del_txn.compare.push_back(gen_compare());
      TxnRequest t;
      if (chance(50)) t.compare.push_back(gen_compare());
      bool reverse = chance(30);
      t.success.push_back(RequestOp{Box<TxnRequest>(reverse ? del_txn : put_txn)});
      t.success.push_back(RequestOp{Box<TxnRequest>(reverse ? put_txn : del_txn)});
      if (chance(40)) t.success.push_back(RequestOp{gen_range(true)});
      return t;
    }
    // Static validation errors.
    TxnRequest t = gen_txn(0, true, nullptr);
    switch (rnd(0, 5)) {
      case 0: {  // too many compares at the top level
        while (static_cast<int64_t>(t.compare.size()) <= opts_.max_txn_ops) t.compare.push_back(gen_compare());
        break;
      }
      case 1: {  // a nested Txn exceeding the budget left by its parent (or exactly at it)
        TxnRequest nested;
        int64_t n = std::max<int64_t>(1, static_cast<int64_t>(t.success.size()) + 1);
        int64_t size = opts_.max_txn_ops - n + rnd(0, 1);
        for (int64_t i = 0; i < size; ++i) nested.success.push_back(RequestOp{gen_range(true)});
        t.success.push_back(RequestOp{Box<TxnRequest>(std::move(nested))});
        break;
      }
      case 2: {
        Compare c = gen_compare();
        c.key.clear();
        t.compare.push_back(c);
        break;
      }
      case 3: {
        auto& branch = chance(50) ? t.success : t.failure;
        branch.insert(branch.begin() + rnd(0, static_cast<int64_t>(branch.size())), RequestOp{});
        break;
      }
      case 4: {
        RangeRequest r = gen_range(true);
        r.sort_target = 9;
        t.failure.push_back(RequestOp{r});
        break;
      }
      default: {
        PutRequest p = gen_put("a");
        p.key.clear();
        t.success.push_back(RequestOp{p});
        break;
      }
    }
    return t;
  }

  // -- operations ------------------------------------------------------------------------------

  void random_op(const Weights& w) {
    int total = w.put + w.del + w.range + w.txn + w.compact + w.step + w.hash + w.events + w.grant +
                w.revoke + w.reopen + w.check;
    int p = static_cast<int>(rnd(0, total - 1));
    if ((p -= w.put) < 0) return op_put();
    if ((p -= w.del) < 0) return op_delete();
    if ((p -= w.range) < 0) return op_range();
    if ((p -= w.txn) < 0) return op_txn();
    if ((p -= w.compact) < 0) return op_compact();
    if ((p -= w.step) < 0) return op_step();
    if ((p -= w.hash) < 0) return op_hash(-1);
    if ((p -= w.events) < 0) return op_events();
    if ((p -= w.grant) < 0) return op_grant();
    if ((p -= w.revoke) < 0) return op_revoke();
    if ((p -= w.reopen) < 0) {
      log("reopen");
      reopen();
      if (!failed_) check_all(true);
      return;
    }
    log("full check");
    check_all(true);
  }

  void op_put() {
    PutRequest r = gen_put(pick(kKeys));
    if (chance(1)) r.key.clear();
    log(show(r));
    auto e = store_->put(r);
    auto m = model_.put(r);
    expect("put", e, m);
  }

  void op_delete() {
    DeleteRangeRequest r = gen_delete(gen_sel());
    if (chance(1)) r.key.clear();
    log(show(r));
    auto e = store_->delete_range(r);
    auto m = model_.delete_range(r);
    expect("delete", e, m);
  }

  void op_range() {
    RangeRequest r = gen_range(false);
    log(show(r));
    auto e = store_->range(r);
    auto m = model_.range(r, e.ok() ? &*e : nullptr);
    expect("range", e, m);
  }

  void op_txn() {
    TxnRequest t = gen_txn_top();
    if (failed_) return;
    log(show(t));
    auto e = store_->txn(t);
    auto m = model_.txn(t, e.ok() ? &*e : nullptr);
    if (m.ok()) ++stats_[m->succeeded ? "txn took success" : "txn took failure"];
    expect("txn", e, m);
  }

  // Compactions finished since the last open, with the compact revision before each:
  // HashKV at such a revision answers the stored compaction hash (SPEC §5.5, §9 step 1).
  void compaction_finished() {
    if (!pending_) return;
    if (!pending_->resumed) {
      stored_hashes_.emplace_back(pending_->revision, pending_->previous);
      if (stored_hashes_.size() > 10) stored_hashes_.pop_front();
    }
    pending_.reset();
  }

  void op_compact(std::optional<int64_t> forced = std::nullopt) {
    int64_t rev;
    if (forced) {
      rev = *forced;
    } else if (model_.compact + 1 <= model_.cur && chance(75)) {
      // Mostly in the older half, so that a good part of the history stays readable.
      int64_t span = model_.cur - model_.compact - 1;
      rev = model_.compact + 1 + rnd(0, chance(60) ? span / 2 : span);
    } else {
      const std::vector<int64_t> odd = {model_.compact, model_.compact - 1, model_.cur + 1,
                                        model_.cur + 7, 0, 1, model_.cur,
                                        std::numeric_limits<int64_t>::max(),
                                        std::numeric_limits<int64_t>::min()};
      rev = pick(odd);
    }
    bool physical = forced || chance(60);
    log("Compact(" + std::to_string(rev) + (physical ? ", physical)" : ")"));
    int64_t previous = model_.compact;
    auto e = store_->compact(rev, physical);
    auto m = model_.do_compact(rev);
    if (!expect("compact", e, m) || !m.ok()) return;
    compaction_finished();
    pending_ = Pending{rev, previous, false};
    if (physical) compaction_finished();
  }

  void op_step() {
    bool to_end = chance(30);
    log(to_end ? "compaction_step() until done" : "compaction_step()");
    for (int i = 0; i < 1'000'000; ++i) {
      auto r = store_->compaction_step();
      if (!r.ok()) {
        fail("compaction_step failed: " + r.error().message());
        return;
      }
      if (!pending_ && !*r) {
        fail("compaction_step reports work left but no compaction is pending");
        return;
      }
      if (*r) {
        compaction_finished();
        return;
      }
      if (!to_end) return;
    }
    fail("compaction_step never finished");
  }

  // HashKV: metadata against the model, the hash against earlier answers for the same
  // (revision, compact revision) — it must survive writes above it and reopens (SPEC §9).
  void op_hash(int64_t forced) {
    int64_t rev = forced;
    if (rev < 0) {
      int p = static_cast<int>(rnd(0, 99));
      if (p < 25) {
        rev = 0;
      } else if (p < 40 && !stored_hashes_.empty()) {
        rev = pick(std::vector<std::pair<int64_t, int64_t>>(stored_hashes_.begin(), stored_hashes_.end())).first;
      } else if (p < 50) {
        rev = model_.cur + rnd(1, 2);
      } else {
        rev = rnd(std::max<int64_t>(0, model_.compact - 3), model_.cur);
      }
    }
    log("HashKV(" + std::to_string(rev) + ")");
    auto e = store_->hash_kv(rev);
    Result<HashKVResponse> m = Errc::ok;
    bool stored = false;
    auto it = std::find_if(stored_hashes_.begin(), stored_hashes_.end(),
                           [&](const auto& h) { return h.first == rev; });
    if (rev != 0 && it != stored_hashes_.end()) {
      stored = true;
      m = HashKVResponse{model_.cur, 0, it->second, rev};
    } else if (rev > 0 && rev < model_.compact) {
      m = Errc::compacted;
    } else if (rev > model_.cur) {
      m = Errc::future_revision;
    } else {
      m = HashKVResponse{model_.cur, 0, model_.compact, rev == 0 ? model_.cur : rev};
    }
    if (e.ok() && m.ok()) m->hash = e->hash;  // the value itself is checked for consistency below
    if (!expect("hash_kv", e, m) || !e.ok()) return;
    if (stored) ++stats_["hash_kv -> stored compaction hash"];
    if (!stored && pending_) return;  // a pending compaction may still move it (SPEC §9)
    auto key = std::make_tuple(stored, e->hash_revision, e->compact_revision);
    auto [pos, inserted] = hashes_.emplace(key, e->hash);
    if (!inserted && pos->second != e->hash) {
      fail("HashKV(" + std::to_string(rev) + ") changed: was " + std::to_string(pos->second) + ", now " +
           std::to_string(e->hash) + " (compact " + std::to_string(e->compact_revision) + ")");
    }
  }

  void op_events() {
    int64_t from = rnd(model_.compact - 2, model_.cur + 1);
    int64_t to = chance(20) ? model_.cur + rnd(0, 1) : from + rnd(-1, 15);
    bool prev = chance(50);
    log("Events(" + std::to_string(from) + ", " + std::to_string(to) + (prev ? ", prev_kv)" : ")"));
    auto e = store_->events(from, to, prev);
    auto m = model_.events(from, to, prev);
    expect("events", e, m);
  }

  void op_grant() {
    int64_t id = pick(kLeaseIds);
    const std::vector<int64_t> ttls = {0, 1, 2, 10, 3600, kMaxLeaseTtl, kMaxLeaseTtl + 1, -5};
    int64_t ttl = pick(ttls);
    log("LeaseGrant(" + std::to_string(id) + ", " + std::to_string(ttl) + ")");
    auto e = store_->lease_grant(id, ttl);
    auto m = model_.lease_grant(id, ttl);
    expect("lease_grant", e, m);
  }

  void op_revoke() {
    int64_t id = chance(90) ? pick(kLeaseIds) : 42;
    log("LeaseRevoke(" + std::to_string(id) + ")");
    auto e = store_->lease_revoke(id);
    auto m = model_.lease_revoke(id);
    expect("lease_revoke", e, m);
  }

  void reopen() {
    ++reopens_;
    Status closed = store_->close();
    if (!closed.ok()) {
      fail("close failed: " + closed.error().message());
      return;
    }
    store_.reset();
    open();
    if (failed_) return;
    // A pending compaction is resumed (and finished) by open; its hash is not stored, and
    // stored compaction hashes do not survive a restart (SPEC §5.5, §6).
    if (pending_) pending_->resumed = true;
    compaction_finished();
    stored_hashes_.clear();
    // Re-ask a few earlier HashKV answers.
    std::vector<int64_t> revs;
    for (const auto& [key, hash] : hashes_) {
      if (!std::get<0>(key) && std::get<2>(key) == model_.compact) revs.push_back(std::get<1>(key));
    }
    for (int i = 0; i < 4 && !revs.empty() && !failed_; ++i) op_hash(pick(revs));
  }

  // -- state checks ----------------------------------------------------------------------------

  void check_light() {
    if (failed_) return;
    if (store_->current_revision() != model_.cur || store_->compact_revision() != model_.compact) {
      fail("revisions differ: engine current " + std::to_string(store_->current_revision()) + " compact " +
           std::to_string(store_->compact_revision()) + ", model current " + std::to_string(model_.cur) +
           " compact " + std::to_string(model_.compact));
    } else if (store_->compaction_pending() != pending_.has_value()) {
      fail(std::string("compaction_pending() is ") + (store_->compaction_pending() ? "true" : "false") +
           ", expected the opposite");
    }
  }

  // Every key at every readable revision, leases, and the whole retained event history.
  void check_all(bool every_revision) {
    check_light();
    if (failed_) return;
    int64_t lo = std::max<int64_t>(1, model_.compact);
    auto read = [&](RangeRequest r, const char* what) {
      auto e = store_->range(r);
      auto m = model_.range(r, nullptr);
      if (!expect(what, e, m)) fail("while checking " + show(r));
    };
    for (int64_t rev = lo; rev <= model_.cur && !failed_; ++rev) {
      if (!every_revision && rev != lo && rev != model_.cur) continue;
      RangeRequest all;
      all.key = std::string(1, '\0');
      all.range_end = std::string(1, '\0');
      all.revision = rev;
      read(all, "check: full range");
      if (thorough_ || rev == lo || rev == model_.cur) {
        for (const auto& k : kKeys) {
          RangeRequest one;
          one.key = k;
          one.revision = rev;
          read(one, "check: single key");
        }
      }
    }
    if (model_.compact >= 2 && !failed_) {
      RangeRequest below;
      below.key = "a";
      below.range_end = std::string(1, '\0');
      below.revision = model_.compact - 1;
      read(below, "check: below compact");
    }
    if (failed_) return;
    auto le = store_->leases();
    auto lm = model_.lease_records();
    std::sort(le.begin(), le.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    if (le != lm) return fail("leases differ\n  engine: " + show(le) + "\n  model:  " + show(lm));
    for (int64_t id : kLeaseIds) {
      auto ke = store_->lease_keys(id);
      std::sort(ke.begin(), ke.end());
      auto km = model_.lease_keys(id);
      if (ke != km) {
        return fail("lease_keys(" + std::to_string(id) + ") differ\n  engine: " + show(ke) +
                    "\n  model:  " + show(km));
      }
    }
    auto e = store_->events(lo, model_.cur, true);
    auto m = model_.events(lo, model_.cur, true);
    expect("check: events", e, m);
  }

  struct Pending {
    int64_t revision = 0;
    int64_t previous = -1;
    bool resumed = false;
  };

  uint64_t seed_;
  std::mt19937_64 rng_;
  TempDir dir_;
  StoreOptions opts_;
  std::unique_ptr<Store> store_;
  Model model_;
  std::optional<Pending> pending_;
  std::deque<std::pair<int64_t, int64_t>> stored_hashes_;           // (revision, previous)
  std::map<std::tuple<bool, int64_t, int64_t>, uint32_t> hashes_;  // (stored, H, C) -> hash
  std::map<std::string, int> stats_;
  std::vector<std::string> log_;
  int64_t step_ = 0;
  int64_t unique_ = 0;
  int reopens_ = 0;
  bool failed_ = false;
  bool thorough_ = false;  // single-key reads at every revision too
};

void run_profile(const char* name, uint64_t seed, int64_t ops, int64_t batch_limit, const Weights& w,
                 bool reopen_every_step, std::optional<int64_t> fresh_compact = std::nullopt) {
  seed = env_u64("REVKV_MODEL_SEED", seed);
  ops = static_cast<int64_t>(env_u64("REVKV_MODEL_OPS", static_cast<uint64_t>(ops)));
  INFO("profile " << name << ", seed " << seed << " (REVKV_MODEL_SEED), " << ops << " ops");
  CAPTURE(seed);
  auto start = std::chrono::steady_clock::now();
  Harness h(seed, batch_limit);
  if (fresh_compact) h.compact_fresh_store(*fresh_compact);
  h.run(ops, w, reopen_every_step);
  h.print_stats(name);
  if (verbose()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::printf("[%s] %lld ms\n", name, static_cast<long long>(ms.count()));
  }
  CHECK_FALSE(h.failed());
}

}  // namespace

TEST_CASE("random operations match the in-memory model", "[model]") {
  SECTION("general mix") {
    run_profile("general", 0x5eed0001, 3000, 1000, Weights{}, false);
  }
  SECTION("txn heavy") {
    Weights w;
    w.txn = 60;
    w.put = 15;
    w.range = 10;
    run_profile("txn", 0x5eed0002, 2500, 1000, w, false);
  }
  SECTION("compaction heavy with small deletion batches") {
    Weights w;
    w.compact = 10;
    w.step = 8;
    w.hash = 8;
    w.events = 6;
    w.reopen = 3;
    run_profile("compaction", 0x5eed0003, 2500, 3, w, false, 0);
  }
  SECTION("leases") {
    Weights w;
    w.grant = 8;
    w.revoke = 5;
    w.reopen = 2;
    run_profile("leases", 0x5eed0004, 2000, 50, w, false);
  }
}

TEST_CASE("recovery after every step", "[model]") {
  Weights w;
  w.reopen = 0;
  w.check = 0;
  w.compact = 6;
  w.step = 4;
  w.hash = 4;
  run_profile("recovery", 0x5eed0005, 300, 4, w, true, 1);
}

TEST_CASE("range-heavy operations match the in-memory model", "[model]") {
  // Ranges (limits, sorts, filters, past revisions) between puts, deletes, compactions and
  // reopens: the latest column serves the head, kv the past, and both must agree with the
  // model whatever was written, compacted or rebuilt in between.
  Weights w;
  w.range = 55;
  w.put = 20;
  w.del = 10;
  w.txn = 8;
  w.compact = 4;
  w.step = 3;
  w.revoke = 2;
  w.grant = 2;
  w.reopen = 3;
  w.check = 2;
  run_profile("ranges", 0x5eed0006, 3000, 7, w, false);
}
