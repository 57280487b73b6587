// The worked scenarios of sections A–G of the scenario catalogue (S01–S58), transcribed
// step by step against a ScenarioTarget (tests/scenarios/scenario_target.hpp): linked into
// storage_scenarios_tests (storage::Store) and node_scenarios_tests (revkvd over TCP). One
// TEST_CASE per scenario, each on a fresh target; the statements follow the scenario's
// numbered steps in order. Steps that need the lessor's clock or a watch stream are reduced
// to what the storage layer can answer, with a comment. Steps a target cannot perform
// (Feature) are skipped on that target only, with a comment saying why.

#include "tests/scenarios/scenario_target.hpp"
#include "tests/skip.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

using namespace revkv::storage;
using revkv::testing::ApiError;
using revkv::testing::Feature;
using revkv::testing::Outcome;
using revkv::testing::ScenarioOptions;
using revkv::testing::ScenarioTarget;

namespace {

const std::string NUL(1, '\0');   // "\0"
const std::string FF(1, '\xff');  // "\xff"

// -- the target under test ------------------------------------------------------------------

class Db {
 public:
  explicit Db(ScenarioOptions options = {})
      : target_(revkv::testing::make_scenario_target(options)) {}

  ScenarioTarget* operator->() { return target_.get(); }

  bool supports(Feature feature) const { return target_->supports(feature); }
  // For a scenario the target cannot run at all: reports why and returns true.
  bool cannot_run(Feature feature, const std::string& why) {
    if (supports(feature)) return false;
    revkv::testing::report_skipped("on " + target_->name() + ": " + why);
    return true;
  }

  // Restart(): clean shutdown, then start again on the same data directory.
  void restart() { target_->restart(); }
  // Reset: throw the data away and start again from an empty store.
  void reset() { target_->reset(); }

 private:
  std::unique_ptr<ScenarioTarget> target_;
};

// -- requests -------------------------------------------------------------------------------

// Range(key[, end=E][, rev=R][, limit=N][, sort=TARGET/ORDER][, keys_only][, count_only]...)
class RangeOf {
 public:
  explicit RangeOf(std::string key) { r_.key = std::move(key); }
  RangeOf& end(std::string e) {
    r_.range_end = std::move(e);
    return *this;
  }
  RangeOf& rev(int64_t rev) {
    r_.revision = rev;
    return *this;
  }
  RangeOf& limit(int64_t n) {
    r_.limit = n;
    return *this;
  }
  RangeOf& sort(SortTarget t, SortOrder o) {
    return sort_raw(static_cast<int32_t>(t), static_cast<int32_t>(o));
  }
  RangeOf& sort_raw(int32_t target, int32_t order) {
    r_.sort_target = target;
    r_.sort_order = order;
    return *this;
  }
  RangeOf& keys_only() {
    r_.keys_only = true;
    return *this;
  }
  RangeOf& count_only() {
    r_.count_only = true;
    return *this;
  }
  RangeOf& min_create(int64_t rev) {
    r_.min_create_revision = rev;
    return *this;
  }
  RangeOf& max_create(int64_t rev) {
    r_.max_create_revision = rev;
    return *this;
  }

  operator RangeRequest() const { return r_; }          // NOLINT: implicit by design
  operator RequestOp() const { return RequestOp{r_}; }  // NOLINT

 private:
  RangeRequest r_;
};
RangeOf range(std::string key) {
  return RangeOf(std::move(key));
}

// Put(key, value[, lease=L][, prev_kv][, ignore_value][, ignore_lease])
class PutOf {
 public:
  PutOf(std::string key, std::string value) {
    r_.key = std::move(key);
    r_.value = std::move(value);
  }
  PutOf& lease(int64_t id) {
    r_.lease = id;
    return *this;
  }
  PutOf& prev_kv() {
    r_.prev_kv = true;
    return *this;
  }
  PutOf& ignore_value() {
    r_.ignore_value = true;
    return *this;
  }
  PutOf& ignore_lease() {
    r_.ignore_lease = true;
    return *this;
  }

  operator PutRequest() const { return r_; }            // NOLINT
  operator RequestOp() const { return RequestOp{r_}; }  // NOLINT

 private:
  PutRequest r_;
};
PutOf put(std::string key, std::string value) {
  return PutOf(std::move(key), std::move(value));
}

// Delete(key[, end=E][, prev_kv])
class DeleteOf {
 public:
  explicit DeleteOf(std::string key) { r_.key = std::move(key); }
  DeleteOf& end(std::string e) {
    r_.range_end = std::move(e);
    return *this;
  }
  DeleteOf& prev_kv() {
    r_.prev_kv = true;
    return *this;
  }

  operator DeleteRangeRequest() const { return r_; }    // NOLINT
  operator RequestOp() const { return RequestOp{r_}; }  // NOLINT

 private:
  DeleteRangeRequest r_;
};
DeleteOf del(std::string key) {
  return DeleteOf(std::move(key));
}

// Txn(If[compares] Then[ops] Else[ops]); usable as a request or as a nested op.
using Ops = std::vector<RequestOp>;
class TxnOf {
 public:
  TxnOf(std::vector<Compare> when, Ops then, Ops otherwise) {
    t_.compare = std::move(when);
    t_.success = std::move(then);
    t_.failure = std::move(otherwise);
  }
  operator const TxnRequest&() const { return t_; }                      // NOLINT
  operator RequestOp() const { return RequestOp{Box<TxnRequest>(t_)}; }  // NOLINT

 private:
  TxnRequest t_;
};
TxnOf txn(std::vector<Compare> when, Ops then, Ops otherwise = {}) {
  return TxnOf(std::move(when), std::move(then), std::move(otherwise));
}
const RequestOp kEmptyOp{};  // a RequestOp with no operation set

// Compares: TARGET("key"[..end]) OP value, e.g. version("k") == 0, value("a") != "x".
struct CompareOn {
  CompareTarget target;
  std::string key;
  std::optional<std::string> end;
};
CompareOn version(std::string key, std::optional<std::string> end = std::nullopt) {
  return {CompareTarget::version, std::move(key), std::move(end)};
}
CompareOn create(std::string key, std::optional<std::string> end = std::nullopt) {
  return {CompareTarget::create, std::move(key), std::move(end)};
}
CompareOn mod(std::string key, std::optional<std::string> end = std::nullopt) {
  return {CompareTarget::mod, std::move(key), std::move(end)};
}
CompareOn value(std::string key, std::optional<std::string> end = std::nullopt) {
  return {CompareTarget::value, std::move(key), std::move(end)};
}
CompareOn lease(std::string key, std::optional<std::string> end = std::nullopt) {
  return {CompareTarget::lease, std::move(key), std::move(end)};
}

Compare compare(const CompareOn& on, CompareResult result) {
  Compare c;
  c.result = static_cast<int32_t>(result);
  c.target = static_cast<int32_t>(on.target);
  c.key = on.key;
  c.range_end = on.end;
  c.union_kind = on.target;
  return c;
}
Compare compare(const CompareOn& on, CompareResult result, int64_t number) {
  Compare c = compare(on, result);
  c.number = number;
  return c;
}
Compare compare(const CompareOn& on, CompareResult result, std::string bytes) {
  Compare c = compare(on, result);
  c.value = std::move(bytes);
  return c;
}
Compare operator==(const CompareOn& on, int64_t n) {
  return compare(on, CompareResult::equal, n);
}
Compare operator<(const CompareOn& on, int64_t n) {
  return compare(on, CompareResult::less, n);
}
Compare operator>(const CompareOn& on, int64_t n) {
  return compare(on, CompareResult::greater, n);
}
Compare operator==(const CompareOn& on, std::string v) {
  return compare(on, CompareResult::equal, std::move(v));
}
Compare operator!=(const CompareOn& on, std::string v) {
  return compare(on, CompareResult::not_equal, std::move(v));
}

// -- expected results -----------------------------------------------------------------------

// "key"{value="…", create=C mod=M ver=V[, lease=L]}
KeyValue kv(std::string key, std::string value, int64_t create, int64_t mod, int64_t ver,
            int64_t lease = 0) {
  return KeyValue{std::move(key), create, mod, ver, std::move(value), lease};
}
// A keys_only result: the value is empty, every other field is kept.
KeyValue key_only(std::string key, int64_t create, int64_t mod, int64_t ver, int64_t lease = 0) {
  return kv(std::move(key), "", create, mod, ver, lease);
}

RangeResponse range_ok(int64_t rev, int64_t count, bool more, std::vector<KeyValue> kvs) {
  return RangeResponse{rev, std::move(kvs), more, count};
}
PutResponse put_ok(int64_t rev, std::optional<KeyValue> prev_kv = std::nullopt) {
  return PutResponse{rev, std::move(prev_kv)};
}
DeleteRangeResponse del_ok(int64_t rev, int64_t deleted, std::vector<KeyValue> prev_kvs = {}) {
  return DeleteRangeResponse{rev, deleted, std::move(prev_kvs)};
}

// One entry of a TxnResponse: range{…}, put{…}, delete{…} or a nested txn{…}.
struct Sub {
  Sub(RangeResponse r) : op{std::move(r)} {}                  // NOLINT: implicit by design
  Sub(PutResponse r) : op{std::move(r)} {}                    // NOLINT
  Sub(DeleteRangeResponse r) : op{std::move(r)} {}            // NOLINT
  Sub(TxnResponse r) : op{Box<TxnResponse>(std::move(r))} {}  // NOLINT
  ResponseOp op;
};
TxnResponse txn_ok(bool succeeded, int64_t rev, std::vector<Sub> responses) {
  TxnResponse t;
  t.revision = rev;
  t.succeeded = succeeded;
  for (Sub& s : responses)
    t.responses.push_back(std::move(s.op));
  return t;
}

CompactResponse compact_ok(int64_t rev) {
  return CompactResponse{rev};
}
HashKVResponse hash_ok(uint32_t hash, int64_t compact_revision, int64_t hash_revision,
                       int64_t header_rev) {
  return HashKVResponse{header_rev, hash, compact_revision, hash_revision};
}
LeaseGrantResponse grant_ok(int64_t id, int64_t ttl, int64_t rev) {
  return LeaseGrantResponse{rev, id, ttl};
}
LeaseRevokeResponse revoke_ok(int64_t rev) {
  return LeaseRevokeResponse{rev};
}

// DELETE "key" mod=M: a DELETE event carries only the key and the deleting revision.
Event delete_event(std::string key, int64_t mod) {
  Event e;
  e.type = Event::Type::del;
  e.kv.key = std::move(key);
  e.kv.mod_revision = mod;
  return e;
}

// The errors of SPEC §4, with etcd's wire messages written out literally.
ApiError api(Errc code, GrpcCode grpc, std::string message) {
  return ApiError{code, static_cast<int64_t>(grpc), std::move(message)};
}
const ApiError ErrEmptyKey =
    api(Errc::empty_key, GrpcCode::invalid_argument, "etcdserver: key is not provided");
const ApiError ErrKeyNotFound =
    api(Errc::key_not_found, GrpcCode::invalid_argument, "etcdserver: key not found");
const ApiError ErrValueProvided =
    api(Errc::value_provided, GrpcCode::invalid_argument, "etcdserver: value is provided");
const ApiError ErrLeaseProvided =
    api(Errc::lease_provided, GrpcCode::invalid_argument, "etcdserver: lease is provided");
const ApiError ErrTooManyOps = api(Errc::too_many_ops, GrpcCode::invalid_argument,
                                   "etcdserver: too many operations in txn request");
const ApiError ErrDuplicateKey = api(Errc::duplicate_key, GrpcCode::invalid_argument,
                                     "etcdserver: duplicate key given in txn request");
const ApiError ErrInvalidSortOption =
    api(Errc::invalid_sort_option, GrpcCode::invalid_argument, "etcdserver: invalid sort option");
const ApiError ErrCompacted = api(Errc::compacted, GrpcCode::out_of_range,
                                  "etcdserver: mvcc: required revision has been compacted");
const ApiError ErrFutureRev = api(Errc::future_revision, GrpcCode::out_of_range,
                                  "etcdserver: mvcc: required revision is a future revision");
const ApiError ErrLeaseNotFound =
    api(Errc::lease_not_found, GrpcCode::not_found, "etcdserver: requested lease not found");

// -- rendering in the scenarios' notation, for failure messages -------------------------------

std::string show(const std::string& bytes);
std::string show(const KeyValue& kv);
std::string show(const RangeResponse& r);
std::string show(const PutResponse& r);
std::string show(const DeleteRangeResponse& r);
std::string show(const TxnResponse& r);
std::string show(const ResponseOp& r);
std::string show(const CompactResponse& r);
std::string show(const HashKVResponse& r);
std::string show(const LeaseGrantResponse& r);
std::string show(const LeaseRevokeResponse& r);
std::string show(const LeaseRecord& r);
std::string show(const Event& e);
std::string show(const ApiError& e);

template <class T>
std::string show(const std::vector<T>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + show(items[i]);
  return out + "]";
}

template <class T>
std::string show(const Outcome<T>& o) {
  if (o.error) return show(*o.error);
  return o.value ? show(*o.value) : "<nothing>";
}

std::string show(const std::string& bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

std::string show(const KeyValue& kv) {
  std::string out =
      show(kv.key) + "{value=" + show(kv.value) + ", create=" + std::to_string(kv.create_revision) +
      " mod=" + std::to_string(kv.mod_revision) + " ver=" + std::to_string(kv.version);
  if (kv.lease != 0) out += ", lease=" + std::to_string(kv.lease);
  return out + "}";
}

std::string show(const RangeResponse& r) {
  return "rev=" + std::to_string(r.revision) + " count=" + std::to_string(r.count) +
         " more=" + (r.more ? "true" : "false") + " kvs=" + show(r.kvs);
}

std::string show(const PutResponse& r) {
  std::string out = "rev=" + std::to_string(r.revision);
  if (r.prev_kv) out += " prev_kv=" + show(*r.prev_kv);
  return out;
}

std::string show(const DeleteRangeResponse& r) {
  std::string out = "rev=" + std::to_string(r.revision) + " deleted=" + std::to_string(r.deleted);
  if (!r.prev_kvs.empty()) out += " prev_kvs=" + show(r.prev_kvs);
  return out;
}

std::string show(const TxnResponse& r) {
  return std::string("succeeded=") + (r.succeeded ? "true" : "false") +
         " rev=" + std::to_string(r.revision) + " responses=" + show(r.responses);
}

std::string show(const ResponseOp& r) {
  struct {
    std::string operator()(const RangeResponse& x) const { return "range{" + show(x) + "}"; }
    std::string operator()(const PutResponse& x) const { return "put{" + show(x) + "}"; }
    std::string operator()(const DeleteRangeResponse& x) const { return "delete{" + show(x) + "}"; }
    std::string operator()(const Box<TxnResponse>& x) const { return "txn{" + show(*x) + "}"; }
  } visitor;
  return std::visit(visitor, r.op);
}

std::string show(const CompactResponse& r) {
  return "rev=" + std::to_string(r.revision);
}

std::string show(const HashKVResponse& r) {
  return "hash=" + std::to_string(r.hash) +
         " compact_revision=" + std::to_string(r.compact_revision) +
         " hash_revision=" + std::to_string(r.hash_revision) +
         " header.rev=" + std::to_string(r.revision);
}

std::string show(const LeaseGrantResponse& r) {
  return "id=" + std::to_string(r.id) + " ttl=" + std::to_string(r.ttl) +
         " rev=" + std::to_string(r.revision);
}

std::string show(const LeaseRevokeResponse& r) {
  return "rev=" + std::to_string(r.revision);
}

std::string show(const LeaseRecord& r) {
  return "lease{id=" + std::to_string(r.id) + " ttl=" + std::to_string(r.ttl) +
         " remaining_ttl=" + std::to_string(r.remaining_ttl) + "}";
}

std::string show(const Event& e) {
  std::string out = e.type == Event::Type::del ? "DELETE " : "PUT ";
  out += show(e.kv);
  if (e.prev_kv) out += " prev_kv=" + show(*e.prev_kv);
  return out;
}

std::string show(const ApiError& e) {
  std::string code = e.code ? std::to_string(static_cast<int>(*e.code)) : "?";
  return "ERROR Errc(" + code + ") grpc(" + std::to_string(e.grpc) + ") " + show(e.message);
}

}  // namespace

#define SCENARIO_STRING_MAKER(T)                                 \
  namespace Catch {                                              \
  template <>                                                    \
  struct StringMaker<T> {                                        \
    static std::string convert(const T& v) { return ::show(v); } \
  };                                                             \
  }

SCENARIO_STRING_MAKER(KeyValue)
SCENARIO_STRING_MAKER(RangeResponse)
SCENARIO_STRING_MAKER(PutResponse)
SCENARIO_STRING_MAKER(DeleteRangeResponse)
SCENARIO_STRING_MAKER(TxnResponse)
SCENARIO_STRING_MAKER(CompactResponse)
SCENARIO_STRING_MAKER(HashKVResponse)
SCENARIO_STRING_MAKER(LeaseGrantResponse)
SCENARIO_STRING_MAKER(LeaseRevokeResponse)
SCENARIO_STRING_MAKER(LeaseRecord)
SCENARIO_STRING_MAKER(Event)
SCENARIO_STRING_MAKER(ApiError)

namespace Catch {
template <class T>
struct StringMaker<revkv::testing::Outcome<T>> {
  static std::string convert(const revkv::testing::Outcome<T>& o) { return ::show(o); }
};
}  // namespace Catch

// =============================================================================================
// A. Revisions, versions and basic reads/writes
// =============================================================================================

TEST_CASE("S01: empty store starts at revision 1", "[scenario]") {
  Db db;
  CHECK(db->range(range("foo")) == range_ok(1, 0, false, {}));
  CHECK(db->range(range(NUL).end(NUL)) == range_ok(1, 0, false, {}));
  CHECK(db->range(range("foo").rev(1)) == range_ok(1, 0, false, {}));
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->range(range("foo")) == range_ok(2, 1, false, {kv("foo", "bar", 2, 2, 1)}));
}

TEST_CASE("S02: overwrite keeps create_revision, bumps mod_revision and version", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->put(put("foo", "baz").prev_kv()) == put_ok(3, kv("foo", "bar", 2, 2, 1)));
  CHECK(db->put(put("foo", "qux")) == put_ok(4));
  CHECK(db->range(range("foo")) == range_ok(4, 1, false, {kv("foo", "qux", 2, 4, 3)}));
  CHECK(db->range(range("foo").rev(2)) == range_ok(4, 1, false, {kv("foo", "bar", 2, 2, 1)}));
  CHECK(db->range(range("foo").rev(3)) == range_ok(4, 1, false, {kv("foo", "baz", 2, 3, 2)}));
}

TEST_CASE("S04: point-in-time reads over three keys", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->put(put("foo1", "bar1")) == put_ok(3));
  CHECK(db->put(put("foo2", "bar2")) == put_ok(4));
  const auto foo = kv("foo", "bar", 2, 2, 1);
  const auto foo1 = kv("foo1", "bar1", 3, 3, 1);
  const auto foo2 = kv("foo2", "bar2", 4, 4, 1);
  CHECK(db->range(range("foo").end("foo3").rev(-1)) == range_ok(4, 3, false, {foo, foo1, foo2}));
  CHECK(db->range(range("foo").end("foo3")) == range_ok(4, 3, false, {foo, foo1, foo2}));
  CHECK(db->range(range("foo").end("foo3").rev(1)) == range_ok(4, 0, false, {}));
  CHECK(db->range(range("foo").end("foo3").rev(2)) == range_ok(4, 1, false, {foo}));
  CHECK(db->range(range("foo").end("foo3").rev(3)) == range_ok(4, 2, false, {foo, foo1}));
  CHECK(db->range(range("foo").end("foo3").rev(4)) == range_ok(4, 3, false, {foo, foo1, foo2}));
  CHECK(db->range(range("foo").end("foo3").rev(5)) == ErrFutureRev);
}

TEST_CASE("S05: delete then re-create starts a new generation", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->delete_range(del("foo")) == del_ok(3, 1));
  CHECK(db->range(range("foo")) == range_ok(3, 0, false, {}));
  CHECK(db->put(put("foo", "bar")) == put_ok(4));
  CHECK(db->range(range("foo")) == range_ok(4, 1, false, {kv("foo", "bar", 4, 4, 1)}));
  CHECK(db->delete_range(del("foo")) == del_ok(5, 1));
  CHECK(db->put(put("foo", "again")) == put_ok(6));
  CHECK(db->range(range("foo")) == range_ok(6, 1, false, {kv("foo", "again", 6, 6, 1)}));
  CHECK(db->range(range("foo").rev(2)) == range_ok(6, 1, false, {kv("foo", "bar", 2, 2, 1)}));
  CHECK(db->range(range("foo").rev(3)) == range_ok(6, 0, false, {}));
  CHECK(db->range(range("foo").rev(4)) == range_ok(6, 1, false, {kv("foo", "bar", 4, 4, 1)}));
}

TEST_CASE("S06: deleting a missing key does not consume a revision", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->delete_range(del("foo")) == del_ok(3, 1));
  CHECK(db->delete_range(del("foo")) == del_ok(3, 0));
  CHECK(db->delete_range(del("foo")) == del_ok(3, 0));
  CHECK(db->delete_range(del("nope").end("nopf")) == del_ok(3, 0));
  CHECK(db->range(range("foo")) == range_ok(3, 0, false, {}));
}

TEST_CASE("S07: empty values are legal and distinct from missing keys", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "")) == put_ok(2));
  CHECK(db->range(range("foo")) == range_ok(2, 1, false, {kv("foo", "", 2, 2, 1)}));
  CHECK(db->range(range("bar")) == range_ok(2, 0, false, {}));
}

// =============================================================================================
// B. Range: key ranges, limits, counts, sorting, filters
// =============================================================================================

TEST_CASE("S08: range end conventions", "[scenario]") {
  Db db;
  CHECK(db->put(put("a", "bar")) == put_ok(2));
  CHECK(db->put(put("b", "bar")) == put_ok(3));
  CHECK(db->put(put("c", "bar")) == put_ok(4));
  CHECK(db->put(put("d", "bar")) == put_ok(5));
  CHECK(db->put(put("e", "bar")) == put_ok(6));
  const auto a = kv("a", "bar", 2, 2, 1);
  const auto b = kv("b", "bar", 3, 3, 1);
  const auto c = kv("c", "bar", 4, 4, 1);
  const auto d = kv("d", "bar", 5, 5, 1);
  const auto e = kv("e", "bar", 6, 6, 1);
  CHECK(db->range(range("a").end("z")) == range_ok(6, 5, false, {a, b, c, d, e}));
  CHECK(db->range(range("b").end("d")) == range_ok(6, 2, false, {b, c}));
  CHECK(db->range(range("f").end("z")) == range_ok(6, 0, false, {}));
  CHECK(db->range(range("c").end("c")) == range_ok(6, 0, false, {}));
  CHECK(db->range(range("d").end("b")) == range_ok(6, 0, false, {}));
  CHECK(db->range(range(NUL).end(NUL)) == range_ok(6, 5, false, {a, b, c, d, e}));
  CHECK(db->range(range("c").end(NUL)) == range_ok(6, 3, false, {c, d, e}));
  CHECK(db->range(range("c")) == range_ok(6, 1, false, {c}));
}

TEST_CASE("S10: limit, more and count", "[scenario]") {
  Db db;
  CHECK(db->put(put("a", "bar")) == put_ok(2));
  CHECK(db->put(put("b", "bar")) == put_ok(3));
  CHECK(db->put(put("c", "bar")) == put_ok(4));
  const auto a = kv("a", "bar", 2, 2, 1);
  const auto b = kv("b", "bar", 3, 3, 1);
  const auto c = kv("c", "bar", 4, 4, 1);
  CHECK(db->range(range("a").end("z").limit(1)) == range_ok(4, 3, true, {a}));
  CHECK(db->range(range("a").end("z").limit(2)) == range_ok(4, 3, true, {a, b}));
  CHECK(db->range(range("a").end("z").limit(3)) == range_ok(4, 3, false, {a, b, c}));
  CHECK(db->range(range("a").end("z").limit(4)) == range_ok(4, 3, false, {a, b, c}));
  CHECK(db->range(range("a").end("z")) == range_ok(4, 3, false, {a, b, c}));
  CHECK(db->range(range("a").end("z").limit(-1)) == range_ok(4, 3, false, {a, b, c}));
}

TEST_CASE("S11: count_only and keys_only", "[scenario]") {
  Db db;
  CHECK(db->put(put("a", "bar")) == put_ok(2));
  CHECK(db->put(put("b", "bar")) == put_ok(3));
  CHECK(db->put(put("c", "bar")) == put_ok(4));
  CHECK(db->range(range("a").end("z").count_only()) == range_ok(4, 3, false, {}));
  CHECK(db->range(range("b").end("c").count_only()) == range_ok(4, 1, false, {}));
  CHECK(db->range(range("x").end("z").count_only()) == range_ok(4, 0, false, {}));
  CHECK(db->range(range("a").end("z").limit(1).count_only()) == range_ok(4, 3, false, {}));
  CHECK(db->range(range("a").end("z").keys_only()) ==
        range_ok(4, 3, false,
                 {key_only("a", 2, 2, 1), key_only("b", 3, 3, 1), key_only("c", 4, 4, 1)}));
  CHECK(db->range(range("a").end("z").keys_only().count_only()) == range_ok(4, 3, false, {}));
  CHECK(db->range(range("a").end("z").limit(2).keys_only()) ==
        range_ok(4, 3, true, {key_only("a", 2, 2, 1), key_only("b", 3, 3, 1)}));
}

TEST_CASE("S12: sorting by key, create and mod revision", "[scenario]") {
  Db db;
  CHECK(db->put(put("b", "bar")) == put_ok(2));
  CHECK(db->put(put("a", "bar")) == put_ok(3));
  CHECK(db->put(put("c", "bar")) == put_ok(4));
  CHECK(db->put(put("d", "bar")) == put_ok(5));
  CHECK(db->put(put("c", "bar")) == put_ok(6));
  const auto a = kv("a", "bar", 3, 3, 1);
  const auto b = kv("b", "bar", 2, 2, 1);
  const auto c = kv("c", "bar", 4, 6, 2);
  const auto d = kv("d", "bar", 5, 5, 1);
  CHECK(db->range(range("a").end("z").limit(1).sort(SortTarget::key, SortOrder::ascend)) ==
        range_ok(6, 4, true, {a}));
  CHECK(db->range(range("a").end("z").limit(1).sort(SortTarget::key, SortOrder::descend)) ==
        range_ok(6, 4, true, {d}));
  CHECK(db->range(range("a").end("z").limit(1).sort(SortTarget::create, SortOrder::ascend)) ==
        range_ok(6, 4, true, {b}));
  CHECK(db->range(range("a").end("z").limit(1).sort(SortTarget::mod, SortOrder::descend)) ==
        range_ok(6, 4, true, {c}));
  CHECK(db->range(range("z").end("z").limit(1).sort(SortTarget::create, SortOrder::descend)) ==
        range_ok(6, 0, false, {}));
  CHECK(db->range(range("a").end("z").limit(10).sort(SortTarget::create, SortOrder::none)) ==
        range_ok(6, 4, false, {b, a, c, d}));
}

TEST_CASE("S14: a sort target with sort order NONE only sorts the first limit+1 keys",
          "[scenario]") {
  Db db;
  CHECK(db->put(put("a", "1")) == put_ok(2));
  CHECK(db->put(put("a", "2")) == put_ok(3));
  CHECK(db->put(put("a", "3")) == put_ok(4));
  CHECK(db->put(put("b", "1")) == put_ok(5));
  CHECK(db->put(put("b", "2")) == put_ok(6));
  CHECK(db->put(put("c", "1")) == put_ok(7));
  CHECK(db->range(range("a").end("z").limit(1).sort(SortTarget::version, SortOrder::none)) ==
        range_ok(7, 3, true, {kv("b", "2", 5, 6, 2)}));
  CHECK(db->range(range("a").end("z").limit(1).sort(SortTarget::version, SortOrder::ascend)) ==
        range_ok(7, 3, true, {kv("c", "1", 7, 7, 1)}));
}

TEST_CASE("S16: min/max create_revision filters", "[scenario]") {
  Db db;
  CHECK(db->put(put("rev2", "bar")) == put_ok(2));
  CHECK(db->put(put("rev3", "bar")) == put_ok(3));
  CHECK(db->put(put("rev2", "bar")) == put_ok(4));
  CHECK(db->put(put("rev2", "bar")) == put_ok(5));
  CHECK(db->put(put("rev6", "bar")) == put_ok(6));
  CHECK(db->put(put("rev3", "bar")) == put_ok(7));
  const auto rev2 = kv("rev2", "bar", 2, 5, 3);
  const auto rev3 = kv("rev3", "bar", 3, 7, 2);
  const auto rev6 = kv("rev6", "bar", 6, 6, 1);
  CHECK(db->range(range(NUL).end(NUL).min_create(3)) == range_ok(7, 3, false, {rev3, rev6}));
  CHECK(db->range(range(NUL).end(NUL).max_create(3)) == range_ok(7, 3, false, {rev2, rev3}));
  CHECK(db->range(range(NUL).end(NUL).min_create(3).max_create(5)) ==
        range_ok(7, 3, false, {rev3}));
  CHECK(db->range(range(NUL).end(NUL).max_create(10)) == range_ok(7, 3, false, {rev2, rev3, rev6}));
}

TEST_CASE("S18: prefix ranges", "[scenario]") {
  Db db;
  CHECK(db->put(put("fo", "v")) == put_ok(2));
  CHECK(db->put(put("foo", "v")) == put_ok(3));
  CHECK(db->put(put("foo/abc", "v")) == put_ok(4));
  CHECK(db->put(put("fooLong", "v")) == put_ok(5));
  CHECK(db->put(put("fop", "v")) == put_ok(6));
  CHECK(db->range(range("foo").end("fop").keys_only()) ==
        range_ok(6, 3, false,
                 {key_only("foo", 3, 3, 1), key_only("foo/abc", 4, 4, 1),
                  key_only("fooLong", 5, 5, 1)}));
  CHECK(db->range(range("foo/").end("foo0").keys_only()) ==
        range_ok(6, 1, false, {key_only("foo/abc", 4, 4, 1)}));
}

TEST_CASE("S19: range errors: future and compacted revisions, empty key, bad sort", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->put(put("foo1", "bar1")) == put_ok(3));
  CHECK(db->put(put("foo2", "bar2")) == put_ok(4));
  CHECK(db->compact(4) == compact_ok(4));
  const std::vector<KeyValue> all = {kv("foo", "bar", 2, 2, 1), kv("foo1", "bar1", 3, 3, 1),
                                     kv("foo2", "bar2", 4, 4, 1)};
  CHECK(db->range(range("foo").end("foo3").rev(-1)) == range_ok(4, 3, false, all));
  CHECK(db->range(range("foo").end("foo3")) == range_ok(4, 3, false, all));
  CHECK(db->range(range("foo").end("foo3").rev(1)) == ErrCompacted);
  CHECK(db->range(range("foo").end("foo3").rev(3)) == ErrCompacted);
  CHECK(db->range(range("foo").end("foo3").rev(4)) == range_ok(4, 3, false, all));
  CHECK(db->range(range("foo").end("foo3").rev(5)) == ErrFutureRev);
  CHECK(db->range(range("foo").end("foo3").rev(100)) == ErrFutureRev);
  CHECK(db->range(range("")) == ErrEmptyKey);
  CHECK(db->range(range("foo").sort_raw(100, 1)) == ErrInvalidSortOption);  // 100/ASCEND
  CHECK(db->range(range("foo").sort_raw(0, 7)) == ErrInvalidSortOption);    // KEY/7
}

// =============================================================================================
// C. Put options: prev_kv, ignore_value, ignore_lease, leases
// =============================================================================================

TEST_CASE("S20: ignore_value", "[scenario]") {
  Db db;
  // Every later step depends on lease 100 existing.
  if (db.cannot_run(Feature::leases, "needs LeaseGrant")) return;
  CHECK(db->lease_grant(100, 30) == grant_ok(100, 30, 1));
  CHECK(db->put(put("foo", "").ignore_value()) == ErrKeyNotFound);
  CHECK(db->txn(txn({}, {put("foo", "").ignore_value()})) == ErrKeyNotFound);
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->txn(txn({}, {put("foo", "").lease(100).ignore_value()})) ==
        txn_ok(true, 3, {put_ok(3)}));
  CHECK(db->range(range("foo")) == range_ok(3, 1, false, {kv("foo", "bar", 2, 3, 2, 100)}));
  CHECK(db->put(put("foo", "bar").ignore_value()) == ErrValueProvided);
  CHECK(db->put(put("foo", "").ignore_value()) == put_ok(4));
  CHECK(db->range(range("foo")) == range_ok(4, 1, false, {kv("foo", "bar", 2, 4, 3)}));
  CHECK(db->lease_revoke(100) == revoke_ok(4));
  CHECK(db->range(range("foo")) == range_ok(4, 1, false, {kv("foo", "bar", 2, 4, 3)}));
}

TEST_CASE("S22: put with unknown lease fails without consuming a revision", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar").lease(305419896)) == ErrLeaseNotFound);
  CHECK(db->range(range("foo")) == range_ok(1, 0, false, {}));
  if (db.supports(Feature::leases)) {  // else lease 7 never exists either
    CHECK(db->lease_grant(7, 10) == grant_ok(7, 10, 1));
    CHECK(db->lease_revoke(7) == revoke_ok(1));
  }
  CHECK(db->put(put("foo", "bar").lease(7)) == ErrLeaseNotFound);
  CHECK(db->range(range("foo")) == range_ok(1, 0, false, {}));
}

TEST_CASE("S23: prev_kv on put", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar").prev_kv()) == put_ok(2));
  CHECK(db->put(put("foo", "baz").prev_kv()) == put_ok(3, kv("foo", "bar", 2, 2, 1)));
  CHECK(db->delete_range(del("foo")) == del_ok(4, 1));
  CHECK(db->put(put("foo", "new").prev_kv()) == put_ok(5));
}

// =============================================================================================
// D. DeleteRange
// =============================================================================================

TEST_CASE("S24: DeleteRange interval cases", "[scenario]") {
  Db db;
  // Reset: fresh store; Put("foo",""), Put("foo/abc",""), Put("fop","") → current rev=4
  auto reset = [&db] {
    db.reset();
    CHECK(db->put(put("foo", "")) == put_ok(2));
    CHECK(db->put(put("foo/abc", "")) == put_ok(3));
    CHECK(db->put(put("fop", "")) == put_ok(4));
    CHECK(db->current_revision() == 4);
  };
  const auto foo = key_only("foo", 2, 2, 1);
  const auto foo_abc = key_only("foo/abc", 3, 3, 1);
  const auto fop = key_only("fop", 4, 4, 1);
  auto everything = [] { return range(NUL).end(FF).keys_only(); };

  reset();
  CHECK(db->delete_range(del("foo/").end("fop")) == del_ok(5, 1));
  CHECK(db->range(everything()) == range_ok(5, 2, false, {foo, fop}));

  reset();
  CHECK(db->delete_range(del("foo/").end("foo/")) == del_ok(4, 0));
  CHECK(db->range(everything()) == range_ok(4, 3, false, {foo, foo_abc, fop}));

  reset();
  CHECK(db->delete_range(del("fo").end("fop")) == del_ok(5, 2));
  CHECK(db->range(everything()) == range_ok(5, 1, false, {fop}));

  reset();
  CHECK(db->delete_range(del("foo/").end("fos")) == del_ok(5, 2));
  CHECK(db->range(everything()) == range_ok(5, 1, false, {foo}));

  reset();
  CHECK(db->delete_range(del("foo/abc")) == del_ok(5, 1));
  CHECK(db->range(everything()) == range_ok(5, 2, false, {foo, fop}));

  reset();
  CHECK(db->delete_range(del("foo").end("foo")) == del_ok(4, 0));
  CHECK(db->range(everything()) == range_ok(4, 3, false, {foo, foo_abc, fop}));

  reset();
  CHECK(db->delete_range(del("foo/").end("fop").prev_kv()) ==
        del_ok(5, 1, {kv("foo/abc", "", 3, 3, 1)}));
  CHECK(db->range(everything()) == range_ok(5, 2, false, {foo, fop}));
}

TEST_CASE("S26: DeleteRange with prev_kv returns full previous pairs in key order", "[scenario]") {
  Db db;
  // Key "a" is attached to lease 5.
  if (db.cannot_run(Feature::leases, "needs LeaseGrant")) return;
  CHECK(db->lease_grant(5, 60) == grant_ok(5, 60, 1));
  CHECK(db->put(put("a", "1").lease(5)) == put_ok(2));
  CHECK(db->put(put("b", "2")) == put_ok(3));
  CHECK(db->put(put("b", "22")) == put_ok(4));
  CHECK(db->delete_range(del("a").end(NUL).prev_kv()) ==
        del_ok(5, 2, {kv("a", "1", 2, 2, 1, 5), kv("b", "22", 3, 4, 2)}));
  CHECK(db->range(range("a").end(NUL)) == range_ok(5, 0, false, {}));
  // AdvanceClock(0.5s) → current rev=5.
  CHECK(db->current_revision() == 5);
  // LeaseTimeToLive(5, keys) → id=5 ttl=59 granted_ttl=60 keys=[]: the remaining ttl (59) is
  // checked later by the lessor; the lease, its granted TTL and its (empty) key set are here.
  CHECK(db->lease_exists(5));
  CHECK(db->leases() == std::vector<LeaseRecord>{{5, 60, 0}});
  CHECK(db->lease_keys(5).empty());
}

// =============================================================================================
// E. Transactions
// =============================================================================================

TEST_CASE("S27: create-if-absent with VERSION = 0", "[scenario]") {
  Db db;
  CHECK(db->txn(txn({version("foo") == 0}, {put("foo", "bar")}, {range("foo")})) ==
        txn_ok(true, 2, {put_ok(2)}));
  CHECK(db->txn(txn({version("foo") == 0}, {put("foo", "bar")}, {range("foo")})) ==
        txn_ok(false, 2, {range_ok(2, 1, false, {kv("foo", "bar", 2, 2, 1)})}));
}

TEST_CASE("S28: txn revision: only changes bump it", "[scenario]") {
  Db db;
  CHECK(db->put(put("abc", "def")) == put_ok(2));
  CHECK(db->txn(txn({}, {range("abc")})) ==
        txn_ok(true, 2, {range_ok(2, 1, false, {kv("abc", "def", 2, 2, 1)})}));
  CHECK(db->txn(txn({}, {del("def")})) == txn_ok(true, 2, {del_ok(2, 0)}));
  CHECK(db->txn(txn({}, {put("abc", "123")})) == txn_ok(true, 3, {put_ok(3)}));
  CHECK(db->txn(txn({}, {})) == txn_ok(true, 3, {}));
}

TEST_CASE("S30: VALUE compares on missing keys always fail", "[scenario]") {
  Db db;
  auto if_then_else = [](Compare c) { return txn({c}, {put("r", "then")}, {put("r", "else")}); };
  CHECK(db->txn(if_then_else(value("nokey") == "")) == txn_ok(false, 2, {put_ok(2)}));
  CHECK(db->txn(if_then_else(value("nokey") != "x")) == txn_ok(false, 3, {put_ok(3)}));
  CHECK(db->txn(if_then_else(version("nokey") == 0)) == txn_ok(true, 4, {put_ok(4)}));
  CHECK(db->txn(if_then_else(mod("nokey") < 5)) == txn_ok(true, 5, {put_ok(5)}));
  CHECK(db->txn(if_then_else(lease("nokey") == 0)) == txn_ok(true, 6, {put_ok(6)}));
}

TEST_CASE("S32: compares over a key range", "[scenario]") {
  Db db;
  CHECK(db->put(put("/a/2", "x")) == put_ok(2));
  CHECK(db->put(put("/a/3", "x")) == put_ok(3));
  CHECK(db->put(put("/a/4", "x")) == put_ok(4));
  CHECK(db->put(put("/f/5", "x")) == put_ok(5));
  auto holds = [&db](Compare c) { return db->txn(txn({c}, {})); };
  CHECK(holds(create("/a/", NUL) < 6) == txn_ok(true, 5, {}));
  CHECK(holds(create("/a/", NUL) < 5) == txn_ok(false, 5, {}));
  CHECK(holds(create("/a/", "/a0") < 5) == txn_ok(true, 5, {}));
  CHECK(holds(create("/a/", "/a0") < 4) == txn_ok(false, 5, {}));
  CHECK(holds(value("/b/", "/b0") == "x") == txn_ok(false, 5, {}));
  CHECK(holds(version("/b/", "/b0") == 0) == txn_ok(true, 5, {}));
  CHECK(holds(lease("/a/", "/a0") > 0) == txn_ok(false, 5, {}));
  CHECK(holds(lease("/a/", "/a0") == 0) == txn_ok(true, 5, {}));
  CHECK(holds(create("/a/", "/a0") == 2) == txn_ok(false, 5, {}));
}

TEST_CASE("S33: nested txns: path selection and response shape", "[scenario]") {
  Db db;
  CHECK(db->txn(txn({version("foo") == 0}, {put("foo", "bar"), txn({}, {put("abc", "123")})},
                    {put("foo", "baz")})) ==
        txn_ok(true, 2, {put_ok(2), txn_ok(true, 0, {put_ok(2)})}));
  CHECK(db->range(range("abc")) == range_ok(2, 1, false, {kv("abc", "123", 2, 2, 1)}));
  CHECK(db->txn(txn({version("foo") == 0}, {put("x", "1")},
                    {txn({value("abc") == "123"}, {range("abc")}, {range("foo")}),
                     txn({value("abc") == "nope"}, {put("y", "1")}, {put("z", "1")})})) ==
        txn_ok(false, 3,
               {txn_ok(true, 0, {range_ok(2, 1, false, {kv("abc", "123", 2, 2, 1)})}),
                txn_ok(false, 0, {put_ok(3)})}));
}

TEST_CASE("S34: nested compares see the state before the outer txn ran", "[scenario]") {
  Db db;
  CHECK(db->txn(txn({version("k") == 0},
                    {put("k", "v"), txn({version("k") == 0}, {put("a", "1")}, {put("b", "2")})})) ==
        txn_ok(true, 2, {put_ok(2), txn_ok(true, 0, {put_ok(2)})}));
  CHECK(db->range(range("a").end("c")) == range_ok(2, 1, false, {kv("a", "1", 2, 2, 1)}));
}

TEST_CASE("S35: duplicate-key rules", "[scenario]") {
  // Each line is an independent Txn on a store that contains nothing.
  auto on_empty_store = [](const TxnRequest& t) {
    Db db;
    return db->txn(t);
  };
  const auto abc = [] { return put("abc", "def"); };
  const auto del_in = [] { return del("a").end("b"); };
  const auto del_out = [] { return del("abb").end("abc"); };
  CHECK(on_empty_store(txn({}, {abc(), abc()})) == ErrDuplicateKey);
  CHECK(on_empty_store(txn({}, {abc(), del("abc")})) == ErrDuplicateKey);
  CHECK(on_empty_store(txn({}, {abc(), del_in()})) == ErrDuplicateKey);
  CHECK(on_empty_store(txn({}, {abc(), txn({}, {del_in()})})) == ErrDuplicateKey);
  CHECK(on_empty_store(txn({}, {del_in(), txn({}, {abc()})})) == ErrDuplicateKey);
  CHECK(on_empty_store(txn({}, {txn({}, {abc()}, {abc()}), txn({}, {abc()}, {abc()})})) ==
        ErrDuplicateKey);
  CHECK(on_empty_store(txn({}, {del_out(), txn({}, {abc()}, {abc()})})) ==
        txn_ok(true, 2, {del_ok(1, 0), txn_ok(true, 0, {put_ok(2)})}));
  CHECK(on_empty_store(txn({}, {txn({}, {del_in()}), txn({}, {del_in()}, {del_in()})})) ==
        txn_ok(true, 1, {txn_ok(true, 0, {del_ok(1, 0)}), txn_ok(true, 0, {del_ok(1, 0)})}));
  CHECK(on_empty_store(txn({}, {del("abc"), del_in(), del("abc"), del_in()})) ==
        txn_ok(true, 1, {del_ok(1, 0), del_ok(1, 0), del_ok(1, 0), del_ok(1, 0)}));
  CHECK(on_empty_store(txn({}, {abc(), del_out()})) == txn_ok(true, 2, {put_ok(2), del_ok(2, 0)}));
}

TEST_CASE("S36: open-ended delete plus put in one txn is rejected", "[scenario]") {
  Db db;
  CHECK(db->put(put("b", "old")) == put_ok(2));
  CHECK(db->txn(txn({}, {del("a").end(NUL), put("b", "new")})) == ErrDuplicateKey);
  CHECK(db->txn(txn({}, {del("a").end("c"), put("b", "new")})) == ErrDuplicateKey);
  CHECK(db->txn(txn({}, {del("c").end(NUL), put("b", "new")})) ==
        txn_ok(true, 3, {del_ok(2, 0), put_ok(3)}));
  CHECK(db->range(range("b")) == range_ok(3, 1, false, {kv("b", "new", 2, 3, 2)}));
}

TEST_CASE("S38: too many operations", "[scenario]") {
  ScenarioOptions options;
  options.max_txn_ops = 3;
  Db db(options);
  const Compare absent = version("k") == 0;
  CHECK(db->txn(txn({absent, absent, absent, absent}, {})) == ErrTooManyOps);
  CHECK(db->txn(txn({}, {put("a", "1"), put("b", "1"), put("c", "1"), put("d", "1")})) ==
        ErrTooManyOps);
  CHECK(db->txn(txn({}, {}, {put("a", "1"), put("b", "1"), put("c", "1"), put("d", "1")})) ==
        ErrTooManyOps);
  CHECK(db->txn(txn({absent, absent, absent}, {put("a", "1"), put("b", "1"), put("c", "1")},
                    {put("d", "1")})) == txn_ok(true, 2, {put_ok(2), put_ok(2), put_ok(2)}));
  CHECK(db->txn(txn({}, {put("a", "1"), txn({}, {put("b", "1"), put("c", "1")})})) ==
        ErrTooManyOps);
  CHECK(db->txn(txn({}, {put("a", "1"), txn({}, {put("b", "1")})})) ==
        txn_ok(true, 3, {put_ok(3), txn_ok(true, 0, {put_ok(3)})}));
}

TEST_CASE("S40: a txn range cannot name the revision the txn itself creates", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->txn(txn({}, {put("foo", "baz"), range("foo").rev(3)})) == ErrFutureRev);
  CHECK(db->txn(txn({}, {put("foo", "baz"), range("foo").rev(2)})) ==
        txn_ok(true, 3, {put_ok(3), range_ok(3, 1, false, {kv("foo", "bar", 2, 2, 1)})}));
}

TEST_CASE("S41: lease checks only cover the branch that runs", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "").lease(123456)) == ErrLeaseNotFound);
  CHECK(db->txn(txn({}, {put("foo", "").lease(123456)})) == ErrLeaseNotFound);
  CHECK(db->txn(txn({create("bar") > 0}, {}, {put("foo", "").lease(123456)})) == ErrLeaseNotFound);
  CHECK(db->txn(txn({}, {range("bar")}, {put("foo", "").lease(123456)})) ==
        txn_ok(true, 1, {range_ok(1, 0, false, {})}));
  CHECK(db->range(range("foo")) == range_ok(1, 0, false, {}));
}

TEST_CASE("S42: request validation errors", "[scenario]") {
  Db db;
  CHECK(db->txn(txn({version("") == 0}, {})) == ErrEmptyKey);
  CHECK(db->txn(txn({}, {kEmptyOp})) == ErrKeyNotFound);
  CHECK(db->txn(txn({}, {put("", "x")})) == ErrEmptyKey);
  CHECK(db->txn(txn({}, {del("")})) == ErrEmptyKey);
  CHECK(db->txn(txn({}, {range("")})) == ErrEmptyKey);
  CHECK(db->put(put("", "x")) == ErrEmptyKey);
  CHECK(db->delete_range(del("")) == ErrEmptyKey);
  CHECK(db->txn(txn({}, {put("k", "x").ignore_value()})) == ErrValueProvided);
  CHECK(db->txn(txn({}, {put("k", "").lease(5).ignore_lease()})) == ErrLeaseProvided);
}

// =============================================================================================
// F. Compaction
// =============================================================================================

TEST_CASE("S44: compaction argument checks", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar0")) == put_ok(2));
  CHECK(db->put(put("foo", "bar1")) == put_ok(3));
  CHECK(db->put(put("foo", "bar2")) == put_ok(4));
  CHECK(db->compact(0) == compact_ok(4));
  CHECK(db->compact(1) == compact_ok(4));
  CHECK(db->compact(1) == ErrCompacted);
  CHECK(db->compact(4) == compact_ok(4));
  CHECK(db->compact(4) == ErrCompacted);
  CHECK(db->compact(5) == ErrFutureRev);
  CHECK(db->compact(100) == ErrFutureRev);
  CHECK(db->range(range("foo")) == range_ok(4, 1, false, {kv("foo", "bar2", 2, 4, 3)}));
}

TEST_CASE("S46: reads below the compact revision fail, at or above succeed with intact versions",
          "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "v0")) == put_ok(2));
  CHECK(db->put(put("foo", "v1")) == put_ok(3));
  CHECK(db->put(put("foo", "v2")) == put_ok(4));
  CHECK(db->put(put("foo", "v3")) == put_ok(5));
  CHECK(db->put(put("foo", "v4")) == put_ok(6));
  CHECK(db->put(put("bar", "b")) == put_ok(7));
  CHECK(db->compact(4) == compact_ok(7));
  CHECK(db->range(range("foo").rev(3)) == ErrCompacted);
  CHECK(db->range(range("foo").rev(4)) == range_ok(7, 1, false, {kv("foo", "v2", 2, 4, 3)}));
  CHECK(db->range(range("foo").rev(5)) == range_ok(7, 1, false, {kv("foo", "v3", 2, 5, 4)}));
  CHECK(db->range(range(NUL).end(NUL).rev(4)) == range_ok(7, 1, false, {kv("foo", "v2", 2, 4, 3)}));
  CHECK(db->put(put("foo", "v5")) == put_ok(8));
  CHECK(db->range(range("foo")) == range_ok(8, 1, false, {kv("foo", "v5", 2, 8, 6)}));
}

TEST_CASE("S47: a tombstone exactly at the compact revision survives until the next compaction",
          "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "1")) == put_ok(2));
  CHECK(db->put(put("foo", "2")) == put_ok(3));
  CHECK(db->delete_range(del("foo")) == del_ok(4, 1));
  CHECK(db->put(put("other", "x")) == put_ok(5));
  CHECK(db->compact(4) == compact_ok(5));
  // W.Watch("foo", start=4) is the watch layer's; the history it replays must still hold
  // the DELETE of revision 4.
  if (db.supports(Feature::history)) {
    CHECK(db->events(4, 4) == std::vector<Event>{delete_event("foo", 4)});
  }
  CHECK(db->compact(5) == compact_ok(5));
  // W.Watch("foo", start=4) and W.Watch("foo", start=5): watch steps, checked with the watch
  // layer. Storage analogue of the first: history from revision 4 is now compacted.
  if (db.supports(Feature::history)) CHECK(db->events(4, 4) == ErrCompacted);
  CHECK(db->range(range("foo").rev(5)) == range_ok(5, 0, false, {}));
}

TEST_CASE("S49: HashKV is stable, bounded by revision, and matches etcd bit-for-bit",
          "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->hash_kv(0) == hash_ok(3305255506u, -1, 2, 2));
  CHECK(db->hash_kv(2) == hash_ok(3305255506u, -1, 2, 2));
  CHECK(db->put(put("foo", "baz")) == put_ok(3));
  CHECK(db->hash_kv(2) == hash_ok(3305255506u, -1, 2, 3));
  CHECK(db->hash_kv(0) == hash_ok(2020292994u, -1, 3, 3));
  CHECK(db->delete_range(del("foo")) == del_ok(4, 1));
  CHECK(db->hash_kv(0) == hash_ok(3153096970u, -1, 4, 4));
  CHECK(db->compact(3) == compact_ok(4));
  CHECK(db->hash_kv(3) == hash_ok(2020292994u, -1, 3, 4));  // the stored compaction hash
  CHECK(db->hash_kv(4) == hash_ok(588758777u, 3, 4, 4));
  CHECK(db->hash_kv(2) == ErrCompacted);
  CHECK(db->hash_kv(5) == ErrFutureRev);
}

// =============================================================================================
// G. Restart and recovery
// =============================================================================================

TEST_CASE("S50: restart preserves revisions, versions and history", "[scenario]") {
  Db db;
  // Every put is attached to a lease.
  if (db.cannot_run(Feature::leases, "needs LeaseGrant")) return;
  // Leases 1, 2, 3 (TTL 300) exist before step 1.
  CHECK(db->lease_grant(1, 300) == grant_ok(1, 300, 1));
  CHECK(db->lease_grant(2, 300) == grant_ok(2, 300, 1));
  CHECK(db->lease_grant(3, 300) == grant_ok(3, 300, 1));

  CHECK(db->put(put("foo", "bar0").lease(1)) == put_ok(2));
  CHECK(db->put(put("foo", "bar1").lease(2)) == put_ok(3));
  CHECK(db->put(put("foo", "bar2").lease(3)) == put_ok(4));
  CHECK(db->put(put("foo2", "bar0").lease(1)) == put_ok(5));
  CHECK(db->hash_kv(0) == hash_ok(2333001393u, -1, 5, 5));
  db.restart();
  CHECK(db->current_revision() == 5);
  CHECK(db->compact_revision() == -1);
  CHECK(db->range(range("a").end("z")) ==
        range_ok(5, 2, false, {kv("foo", "bar2", 2, 4, 3, 3), kv("foo2", "bar0", 5, 5, 1, 1)}));
  CHECK(db->range(range("a").end("z").rev(3)) ==
        range_ok(5, 1, false, {kv("foo", "bar1", 2, 3, 2, 2)}));
  CHECK(db->hash_kv(0) == hash_ok(2333001393u, -1, 5, 5));
  CHECK(db->put(put("foo", "bar3")) == put_ok(6));
  CHECK(db->range(range("foo")) == range_ok(6, 1, false, {kv("foo", "bar3", 2, 6, 4)}));
}

TEST_CASE("S52: restart keeps the compact revision", "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar0")) == put_ok(2));
  CHECK(db->put(put("foo", "bar1")) == put_ok(3));
  CHECK(db->compact(2) == compact_ok(3));
  db.restart();
  CHECK(db->current_revision() == 3);
  CHECK(db->compact_revision() == 2);
  CHECK(db->range(range("foo").rev(1)) == ErrCompacted);
  CHECK(db->range(range("foo").rev(2)) == range_ok(3, 1, false, {kv("foo", "bar0", 2, 2, 1)}));
  CHECK(db->compact(2) == ErrCompacted);
}

TEST_CASE("S54: current revision never goes backwards, even if every revision was compacted away",
          "[scenario]") {
  Db db;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->put(put("foo", "bar1")) == put_ok(3));
  CHECK(db->put(put("foo", "bar2")) == put_ok(4));
  CHECK(db->delete_range(del("foo")) == del_ok(5, 1));
  CHECK(db->compact(5) == compact_ok(5));
  db.restart();
  CHECK(db->current_revision() == 5);
  CHECK(db->compact_revision() == 5);
  CHECK(db->range(range("foo")) == range_ok(5, 0, false, {}));
  CHECK(db->range(range("foo").rev(5)) == range_ok(5, 0, false, {}));
  CHECK(db->range(range("foo").rev(4)) == ErrCompacted);
  CHECK(db->put(put("foo", "z")) == put_ok(6));
}

TEST_CASE("S55: interrupted compaction is resumed on restart", "[scenario]") {
  Db db;
  // A client cannot stop revkvd between scheduling a compaction and its first batch.
  if (db.cannot_run(Feature::crash_after_scheduling, "cannot crash mid-compaction")) return;
  CHECK(db->put(put("foo", "bar")) == put_ok(2));
  CHECK(db->put(put("foo", "bar1")) == put_ok(3));
  CHECK(db->put(put("foo", "bar2")) == put_ok(4));
  // CrashAfterSchedulingCompaction(2) then Restart(): the schedule marker is persisted and the
  // index compacted, but no deletion batch runs before the store goes down.
  CHECK(db->crash_after_scheduling_compaction(2) == compact_ok(4));
  db.restart();
  CHECK(db->current_revision() == 4);
  CHECK(db->compact_revision() == 2);
  CHECK(db->range(range("foo").rev(1)) == ErrCompacted);
  CHECK(db->range(range("foo").rev(2)) == range_ok(4, 1, false, {kv("foo", "bar", 2, 2, 1)}));
  CHECK(db->compact(2) == ErrCompacted);
}

TEST_CASE("S56: leases and attachments survive restart", "[scenario]") {
  Db db;
  // Every step is about lease 9.
  if (db.cannot_run(Feature::leases, "needs LeaseGrant")) return;
  CHECK(db->lease_grant(9, 300) == grant_ok(9, 300, 1));
  CHECK(db->put(put("foo", "bar").lease(9)) == put_ok(2));
  db.restart();
  CHECK(db->current_revision() == 2);
  CHECK(db->compact_revision() == -1);
  // AdvanceClock(0.5s) → current rev=2.
  CHECK(db->current_revision() == 2);
  // LeaseTimeToLive(9, keys) → id=9 ttl=300 granted_ttl=300 keys=["foo"]: the remaining ttl
  // is checked later by the lessor; the granted TTL and the re-attached key are here.
  CHECK(db->leases() == std::vector<LeaseRecord>{{9, 300, 0}});
  CHECK(db->lease_keys(9) == std::vector<std::string>{"foo"});
  CHECK(db->lease_revoke(9) == revoke_ok(3));
  CHECK(db->range(range("foo")) == range_ok(3, 0, false, {}));
  db.restart();
  CHECK(db->current_revision() == 3);
  CHECK(db->compact_revision() == -1);
  CHECK(db->range(range("foo")) == range_ok(3, 0, false, {}));
  // LeaseTimeToLive(9) → id=9 ttl=-1 granted_ttl=0 keys=[]: the lease is unknown.
  CHECK_FALSE(db->lease_exists(9));
  CHECK(db->leases().empty());
}

TEST_CASE("S58: lease remaining TTL after restart (default: reset)", "[scenario]") {
  Db db;
  // Without leases only the revision steps run.
  const bool leases = db.supports(Feature::leases) && db.supports(Feature::lease_records);
  if (leases) CHECK(db->lease_grant(4, 10) == grant_ok(4, 10, 1));
  // AdvanceClock(6s) → current rev=1.
  CHECK(db->current_revision() == 1);
  // LeaseTimeToLive(4) → id=4 ttl=4 granted_ttl=10: remaining ttl checked later by the lessor.
  if (leases) CHECK(db->leases() == std::vector<LeaseRecord>{{4, 10, 0}});
  db.restart();
  CHECK(db->current_revision() == 1);
  CHECK(db->compact_revision() == -1);
  // AdvanceClock(0.5s) → current rev=1.
  CHECK(db->current_revision() == 1);
  // LeaseTimeToLive(4) → ttl=10 granted_ttl=10: with no checkpoint persisted (remaining_ttl 0)
  // the lessor restarts the lease with its full TTL; the timing is checked later by the lessor.
  if (leases) {
    CHECK(db->leases() == std::vector<LeaseRecord>{{4, 10, 0}});
    CHECK(db->lease_keys(4).empty());
  }
  // AdvanceClock(10s), LeaseTimeToLive(4) → ttl=0: lessor timing, checked later.
  // AdvanceClock(0.5s) → lease 4 expired and was revoked; current rev=1. The expiry is the
  // lessor's; the revocation it applies is this one (no keys attached: no new revision).
  if (leases) CHECK(db->lease_revoke(4) == revoke_ok(1));
  CHECK(db->current_revision() == 1);
  // LeaseTimeToLive(4) → id=4 ttl=-1 granted_ttl=0 keys=[]: the lease is unknown.
  if (leases) {
    CHECK_FALSE(db->lease_exists(4));
    CHECK(db->leases().empty());
  }
}
