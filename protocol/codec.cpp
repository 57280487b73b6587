#include "protocol/codec.hpp"

#include "util/utf8.hpp"

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace revkv::protocol {
namespace {

// ---- helpers shared by both directions

template <class T, class S>
concept Is = std::same_as<std::remove_const_t<T>, S>;

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsBox : std::false_type {};
template <class T>
struct IsBox<storage::Box<T>> : std::true_type {};

// An enum's upper-case proto names; names[i] is value i. Open enums accept any integer
// (sort options: the engine answers etcd's "invalid sort option" for bad values;
// Compare.result: an unknown result evaluates to true, as in etcd). A name must always be
// one of the table's.
struct EnumTable {
  std::span<const std::string_view> names;
  bool open = false;
};

constexpr std::string_view kSortOrderNames[] = {"NONE", "ASCEND", "DESCEND"};
constexpr std::string_view kSortTargetNames[] = {"KEY", "VERSION", "CREATE", "MOD", "VALUE"};
constexpr std::string_view kCompareResultNames[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
constexpr std::string_view kCompareTargetNames[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
constexpr std::string_view kEventTypeNames[] = {"PUT", "DELETE"};
constexpr std::string_view kFilterNames[] = {"NOPUT", "NODELETE"};
constexpr std::string_view kAlarmActionNames[] = {"GET", "ACTIVATE", "DEACTIVATE"};
constexpr std::string_view kAlarmTypeNames[] = {"NONE", "NOSPACE", "CORRUPT"};
constexpr std::string_view kPermissionTypeNames[] = {"READ", "WRITE", "READWRITE"};

const EnumTable kSortOrder{kSortOrderNames, true};
const EnumTable kSortTarget{kSortTargetNames, true};
const EnumTable kCompareResult{kCompareResultNames, true};
const EnumTable kCompareTarget{kCompareTargetNames, true};

// Enum-typed members find their table by type; int32 members name it at the field.
template <class E>
const EnumTable& enum_table();
template <>
const EnumTable& enum_table<storage::Event::Type>() {
  static const EnumTable t{kEventTypeNames};
  return t;
}
template <>
const EnumTable& enum_table<WatchFilter>() {
  static const EnumTable t{kFilterNames};
  return t;
}
template <>
const EnumTable& enum_table<AlarmAction>() {
  static const EnumTable t{kAlarmActionNames};
  return t;
}
template <>
const EnumTable& enum_table<AlarmType>() {
  static const EnumTable t{kAlarmTypeNames};
  return t;
}
template <>
const EnumTable& enum_table<PermissionType>() {
  // Open: a number beyond the names is kept, as etcd keeps it (it grants nothing).
  static const EnumTable t{kPermissionTypeNames, true};
  return t;
}

// ---- field lists: one per map-shaped message, read by the encoder and the decoder.
// v.field(name, member): typed member; v.text(name, member): a proto string (str on the
// wire, not bin); v.enumeration(name, int32 member, table); v.header(name, revision): the
// header of a KV response, whose other fields are the node's.

template <class V, Is<ResponseHeader> T>
void describe(V& v, T& x) {
  v.field("cluster_id", x.cluster_id);
  v.field("member_id", x.member_id);
  v.field("revision", x.revision);
  v.field("raft_term", x.raft_term);
}

template <class V, Is<WireError> T>
void describe(V& v, T& x) {
  v.field("code", x.code);
  v.text("message", x.message);
}

template <class V, Is<storage::KeyValue> T>
void describe(V& v, T& x) {
  v.field("key", x.key);
  v.field("create_revision", x.create_revision);
  v.field("mod_revision", x.mod_revision);
  v.field("version", x.version);
  v.field("value", x.value);
  v.field("lease", x.lease);
}

template <class V, Is<storage::Event> T>
void describe(V& v, T& x) {
  v.field("type", x.type);
  v.field("kv", x.kv);
  v.field("prev_kv", x.prev_kv);
}

template <class V, Is<storage::RangeRequest> T>
void describe(V& v, T& x) {
  v.field("key", x.key);
  v.field("range_end", x.range_end);
  v.field("limit", x.limit);
  v.field("revision", x.revision);
  v.enumeration("sort_order", x.sort_order, kSortOrder);
  v.enumeration("sort_target", x.sort_target, kSortTarget);
  v.field("serializable", x.serializable);
  v.field("keys_only", x.keys_only);
  v.field("count_only", x.count_only);
  v.field("min_mod_revision", x.min_mod_revision);
  v.field("max_mod_revision", x.max_mod_revision);
  v.field("min_create_revision", x.min_create_revision);
  v.field("max_create_revision", x.max_create_revision);
}

template <class V, Is<storage::RangeResponse> T>
void describe(V& v, T& x) {
  v.header("header", x.revision);
  v.field("kvs", x.kvs);
  v.field("more", x.more);
  v.field("count", x.count);
}

template <class V, Is<storage::PutRequest> T>
void describe(V& v, T& x) {
  v.field("key", x.key);
  v.field("value", x.value);
  v.field("lease", x.lease);
  v.field("prev_kv", x.prev_kv);
  v.field("ignore_value", x.ignore_value);
  v.field("ignore_lease", x.ignore_lease);
}

template <class V, Is<storage::PutResponse> T>
void describe(V& v, T& x) {
  v.header("header", x.revision);
  v.field("prev_kv", x.prev_kv);
}

template <class V, Is<storage::DeleteRangeRequest> T>
void describe(V& v, T& x) {
  v.field("key", x.key);
  v.field("range_end", x.range_end);
  v.field("prev_kv", x.prev_kv);
}

template <class V, Is<storage::DeleteRangeResponse> T>
void describe(V& v, T& x) {
  v.header("header", x.revision);
  v.field("deleted", x.deleted);
  v.field("prev_kvs", x.prev_kvs);
}

template <class V, Is<storage::TxnRequest> T>
void describe(V& v, T& x) {
  v.field("compare", x.compare);
  v.field("success", x.success);
  v.field("failure", x.failure);
}

template <class V, Is<storage::TxnResponse> T>
void describe(V& v, T& x) {
  v.header("header", x.revision);
  v.field("succeeded", x.succeeded);
  v.field("responses", x.responses);
}

template <class V, Is<storage::CompactResponse> T>
void describe(V& v, T& x) {
  v.header("header", x.revision);
}

template <class V, Is<CompactionRequest> T>
void describe(V& v, T& x) {
  v.field("revision", x.revision);
  v.field("physical", x.physical);
}

template <class V, Is<WatchCreateRequest> T>
void describe(V& v, T& x) {
  v.field("key", x.key);
  v.field("range_end", x.range_end);
  v.field("start_revision", x.start_revision);
  v.field("progress_notify", x.progress_notify);
  v.field("filters", x.filters);
  v.field("prev_kv", x.prev_kv);
  v.field("watch_id", x.watch_id);
  v.field("fragment", x.fragment);
}

template <class V, Is<WatchCancelRequest> T>
void describe(V& v, T& x) {
  v.field("watch_id", x.watch_id);
}

template <class V, Is<WatchResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("watch_id", x.watch_id);
  v.field("created", x.created);
  v.field("canceled", x.canceled);
  v.field("compact_revision", x.compact_revision);
  v.text("cancel_reason", x.cancel_reason);
  v.field("fragment", x.fragment);
  v.field("events", x.events);
}

template <class V, Is<LeaseGrantRequest> T>
void describe(V& v, T& x) {
  v.field("TTL", x.ttl);
  v.field("ID", x.id);
}

template <class V, Is<LeaseGrantResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("ID", x.id);
  v.field("TTL", x.ttl);
}

template <class V, Is<LeaseRevokeRequest> T>
void describe(V& v, T& x) {
  v.field("ID", x.id);
}

template <class V, Is<LeaseKeepAliveRequest> T>
void describe(V& v, T& x) {
  v.field("ID", x.id);
}

template <class V, Is<LeaseKeepAliveResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("ID", x.id);
  v.field("TTL", x.ttl);
}

template <class V, Is<LeaseTimeToLiveRequest> T>
void describe(V& v, T& x) {
  v.field("ID", x.id);
  v.field("keys", x.keys);
}

template <class V, Is<LeaseTimeToLiveResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("ID", x.id);
  v.field("TTL", x.ttl);
  v.field("grantedTTL", x.granted_ttl);
  v.field("keys", x.keys);
}

template <class V, Is<LeaseStatus> T>
void describe(V& v, T& x) {
  v.field("ID", x.id);
}

template <class V, Is<LeaseLeasesResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("leases", x.leases);
}

template <class V, Is<StatusResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.text("version", x.version);
  v.field("dbSize", x.db_size);
  v.field("dbSizeInUse", x.db_size_in_use);
  v.field("leader", x.leader);
  v.field("raftIndex", x.raft_index);
  v.field("raftTerm", x.raft_term);
  v.text("errors", x.errors);
  v.field("shards", x.shards);
  v.field("compactRevision", x.compact_revision);
}

template <class V, Is<HashResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("hash", x.hash);
}

template <class V, Is<HashKVRequest> T>
void describe(V& v, T& x) {
  v.field("revision", x.revision);
}

template <class V, Is<HashKVResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("hash", x.hash);
  v.field("compact_revision", x.compact_revision);
  v.field("hash_revision", x.hash_revision);
}

template <class V, Is<SnapshotChunk> T>
void describe(V& v, T& x) {
  v.field("msgid", x.msgid);
  v.field("blob", x.blob);
  v.field("remaining_bytes", x.remaining_bytes);
}

template <class V, Is<SnapshotResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("size", x.size);
  v.field("sha256", x.sha256);
}

template <class V, Is<AlarmRequest> T>
void describe(V& v, T& x) {
  v.field("action", x.action);
  v.field("memberID", x.member_id);
  v.field("alarm", x.alarm);
}

template <class V, Is<AlarmMember> T>
void describe(V& v, T& x) {
  v.field("memberID", x.member_id);
  v.field("alarm", x.alarm);
}

template <class V, Is<AlarmResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("alarms", x.alarms);
}

// ---- Auth.* (names and passwords are proto strings: str; keys are bytes: bin)

template <class V, Is<AuthNamePasswordRequest> T>
void describe(V& v, T& x) {
  v.text("name", x.name);
  v.text("password", x.password);
}

template <class V, Is<AuthUserAddOptions> T>
void describe(V& v, T& x) {
  v.field("no_password", x.no_password);
}

template <class V, Is<AuthUserAddRequest> T>
void describe(V& v, T& x) {
  v.text("name", x.name);
  v.text("password", x.password);
  v.field("options", x.options);
}

template <class V, Is<AuthNameRequest> T>
void describe(V& v, T& x) {
  v.text("name", x.name);
}

template <class V, Is<AuthRoleRequest> T>
void describe(V& v, T& x) {
  v.text("role", x.role);
}

template <class V, Is<AuthUserGrantRoleRequest> T>
void describe(V& v, T& x) {
  v.text("user", x.user);
  v.text("role", x.role);
}

template <class V, Is<AuthUserRevokeRoleRequest> T>
void describe(V& v, T& x) {
  v.text("name", x.name);
  v.text("role", x.role);
}

template <class V, Is<AuthPermission> T>
void describe(V& v, T& x) {
  v.field("permType", x.perm_type);
  v.field("key", x.key);
  v.field("range_end", x.range_end);
}

template <class V, Is<AuthRoleGrantPermissionRequest> T>
void describe(V& v, T& x) {
  v.text("name", x.name);
  v.field("perm", x.perm);
}

template <class V, Is<AuthRoleRevokePermissionRequest> T>
void describe(V& v, T& x) {
  v.text("role", x.role);
  v.field("key", x.key);
  v.field("range_end", x.range_end);
}

template <class V, Is<AuthStatusResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("enabled", x.enabled);
  v.field("authRevision", x.auth_revision);
}

template <class V, Is<AuthenticateResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.text("token", x.token);
}

template <class V, Is<AuthUserListResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.text("users", x.users);
}

template <class V, Is<AuthRolesResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.text("roles", x.roles);
}

template <class V, Is<AuthRoleGetResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("perm", x.perm);
}

// ---- Cluster.* and Maintenance.MoveLeader (names and URLs are proto strings: str)

template <class V, Is<ClusterMember> T>
void describe(V& v, T& x) {
  v.field("ID", x.id);
  v.text("name", x.name);
  v.text("peerURLs", x.peer_urls);
  v.text("clientURLs", x.client_urls);
  v.field("isLearner", x.is_learner);
}

template <class V, Is<MemberAddRequest> T>
void describe(V& v, T& x) {
  v.text("peerURLs", x.peer_urls);
  v.field("isLearner", x.is_learner);
}

template <class V, Is<MemberIdRequest> T>
void describe(V& v, T& x) {
  v.field("ID", x.id);
}

template <class V, Is<MemberUpdateRequest> T>
void describe(V& v, T& x) {
  v.field("ID", x.id);
  v.text("peerURLs", x.peer_urls);
}

template <class V, Is<MembersResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("members", x.members);
}

template <class V, Is<MemberAddResponse> T>
void describe(V& v, T& x) {
  v.field("header", x.header);
  v.field("member", x.member);
  v.field("members", x.members);
}

template <class V, Is<MoveLeaderRequest> T>
void describe(V& v, T& x) {
  v.field("targetID", x.target_id);
}

// Bodies without fields: the decoder still checks that they are maps.
template <class V, class T>
requires Is<T, WatchProgressRequest> || Is<T, LeaseLeasesRequest> || Is<T, LeaseRevokeResponse> ||
    Is<T, StatusRequest> || Is<T, DefragmentRequest> || Is<T, DefragmentResponse> ||
    Is<T, SnapshotRequest> || Is<T, HashRequest> || Is<T, AuthEmptyRequest> ||
    Is<T, AuthEmptyResponse> || Is<T, MemberListRequest> || Is<T, MoveLeaderResponse>
void describe(V& v, T& x) {
  if constexpr (requires { x.header; }) v.field("header", x.header);
}

// ---- encoding

class Encoder {
 public:
  Encoder(Packer& packer, const ResponseHeader* node) : pk_(packer), node_(node) {}

  template <class T>
  void value(const T& x) {
    if constexpr (std::is_same_v<T, std::string>) {
      pk_.pack_bin(static_cast<uint32_t>(x.size()));
      pk_.pack_bin_body(x.data(), static_cast<uint32_t>(x.size()));
    } else if constexpr (std::is_same_v<T, bool>) {
      pk_.pack(x);
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      pk_.pack_int64(x);
    } else if constexpr (std::is_integral_v<T>) {
      pk_.pack_uint64(x);
    } else if constexpr (std::is_enum_v<T>) {
      pk_.pack_int64(static_cast<int64_t>(x));
    } else if constexpr (IsOptional<T>::value) {
      if (x) {
        value(*x);
      } else {
        pk_.pack_nil();
      }
    } else if constexpr (IsVector<T>::value) {
      pk_.pack_array(static_cast<uint32_t>(x.size()));
      for (const auto& e : x)
        value(e);
    } else if constexpr (IsBox<T>::value) {
      value(*x);
    } else if constexpr (std::is_same_v<T, storage::RequestOp>) {
      request_op(x);
    } else if constexpr (std::is_same_v<T, storage::ResponseOp>) {
      response_op(x);
    } else if constexpr (std::is_same_v<T, storage::Compare>) {
      compare(x);
    } else if constexpr (std::is_same_v<T, WatchRequest>) {
      watch_request(x);
    } else {
      map(x);
    }
  }

  // msgpack's str is UTF-8. A text that is not (a user name, or an error message quoting a
  // client's bytes) goes as bin, which readers of text fields accept too: strict decoders
  // (Python's msgpack with raw=False) fail on a str that is not UTF-8.
  void text(const std::string& s) {
    if (!util::utf8::valid(s)) {
      pk_.pack_bin(static_cast<uint32_t>(s.size()));
      pk_.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
      return;
    }
    pk_.pack_str(static_cast<uint32_t>(s.size()));
    pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
  }
  void text(const std::vector<std::string>& list) {
    pk_.pack_array(static_cast<uint32_t>(list.size()));
    for (const auto& s : list)
      text(s);
  }

  void key(std::string_view name) {
    pk_.pack_str(static_cast<uint32_t>(name.size()));
    pk_.pack_str_body(name.data(), static_cast<uint32_t>(name.size()));
  }

  void header(int64_t revision) {
    ResponseHeader h = node_ ? *node_ : ResponseHeader{};
    h.revision = revision;
    value(h);
  }

  Packer& packer() { return pk_; }

 private:
  // Map sizes come first in msgpack: one pass counts the present fields, one writes them.
  struct Counter {
    uint32_t n = 0;
    template <class T>
    void field(std::string_view, const T& x) {
      if constexpr (IsOptional<T>::value) {
        if (!x) return;
      }
      ++n;
    }
    template <class T>
    void text(std::string_view, const T&) {
      ++n;
    }
    void enumeration(std::string_view, const int32_t&, const EnumTable&) { ++n; }
    void header(std::string_view, const int64_t&) { ++n; }
  };

  struct Writer {
    Encoder& e;
    template <class T>
    void field(std::string_view name, const T& x) {
      if constexpr (IsOptional<T>::value) {
        if (!x) return;
      }
      e.key(name);
      e.value(x);
    }
    template <class T>
    void text(std::string_view name, const T& x) {
      e.key(name);
      e.text(x);
    }
    void enumeration(std::string_view name, const int32_t& x, const EnumTable&) {
      e.key(name);
      e.pk_.pack_int64(x);
    }
    void header(std::string_view name, const int64_t& revision) {
      e.key(name);
      e.header(revision);
    }
  };

  template <class T>
  void map(const T& x) {
    Counter c;
    describe(c, x);
    pk_.pack_map(c.n);
    Writer w{*this};
    describe(w, x);
  }

  void request_op(const storage::RequestOp& op) {
    std::visit(
        [&](const auto& o) {
          using O = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<O, std::monostate>) {
            pk_.pack_map(0);
          } else {
            pk_.pack_map(1);
            if constexpr (std::is_same_v<O, storage::RangeRequest>) key("request_range");
            if constexpr (std::is_same_v<O, storage::PutRequest>) key("request_put");
            if constexpr (std::is_same_v<O, storage::DeleteRangeRequest>)
              key("request_delete_range");
            if constexpr (std::is_same_v<O, storage::Box<storage::TxnRequest>>) key("request_txn");
            value(o);
          }
        },
        op.op);
  }

  void response_op(const storage::ResponseOp& op) {
    pk_.pack_map(1);
    std::visit(
        [&](const auto& o) {
          using O = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<O, storage::RangeResponse>) key("response_range");
          if constexpr (std::is_same_v<O, storage::PutResponse>) key("response_put");
          if constexpr (std::is_same_v<O, storage::DeleteRangeResponse>)
            key("response_delete_range");
          if constexpr (std::is_same_v<O, storage::Box<storage::TxnResponse>>) key("response_txn");
          value(o);
        },
        op.op);
  }

  void compare(const storage::Compare& c) {
    pk_.pack_map(3 + (c.range_end ? 1 : 0) + (c.union_kind ? 1 : 0));
    key("result");
    pk_.pack_int64(c.result);
    key("target");
    pk_.pack_int64(c.target);
    key("key");
    value(c.key);
    if (c.range_end) {
      key("range_end");
      value(*c.range_end);
    }
    if (c.union_kind) {
      switch (*c.union_kind) {
        case storage::CompareTarget::version:
          key("version");
          break;
        case storage::CompareTarget::create:
          key("create_revision");
          break;
        case storage::CompareTarget::mod:
          key("mod_revision");
          break;
        case storage::CompareTarget::value:
          key("value");
          break;
        case storage::CompareTarget::lease:
          key("lease");
          break;
      }
      if (*c.union_kind == storage::CompareTarget::value) {
        value(c.value);
      } else {
        pk_.pack_int64(c.number);
      }
    }
  }

  void watch_request(const WatchRequest& r) {
    pk_.pack_map(1);
    std::visit(
        [&](const auto& o) {
          using O = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<O, WatchCreateRequest>) key("create_request");
          if constexpr (std::is_same_v<O, WatchCancelRequest>) key("cancel_request");
          if constexpr (std::is_same_v<O, WatchProgressRequest>) key("progress_request");
          value(o);
        },
        r.request);
  }

  Packer& pk_;
  const ResponseHeader* node_;
};

// ---- decoding

// Thrown inside the decoder only; the entry points turn it into a WireError.
struct BadRequest {
  std::string what;
};

// Where a field sits in the body, for the error message: "success[2].request_put.key".
struct Path {
  const Path* parent = nullptr;
  std::string_view name;  // empty: an array index (or the body itself at the root)
  std::size_t index = 0;

  Path field(std::string_view n) const { return Path{this, n, 0}; }
  Path element(std::size_t i) const { return Path{this, {}, i}; }

  void append_to(std::string& out) const {
    if (parent == nullptr) return;  // the body itself
    parent->append_to(out);
    if (name.empty()) {
      out += '[' + std::to_string(index) + ']';
    } else {
      if (!out.empty()) out += '.';
      out += name;
    }
  }
  std::string str() const {
    std::string out;
    append_to(out);
    return out.empty() ? std::string("body") : out;
  }
};

[[noreturn]] void fail(const Path& p, std::string_view what) {
  throw BadRequest{p.str() + ": " + std::string(what)};
}

std::string_view as_view(const msgpack::object& o) {
  // STR and BIN share the layout {size, ptr}; msgpack-cxx keeps them in different members.
  if (o.type == msgpack::type::STR) return {o.via.str.ptr, o.via.str.size};
  return {o.via.bin.ptr, o.via.bin.size};
}

bool is_bytes(const msgpack::object& o) {
  return o.type == msgpack::type::STR || o.type == msgpack::type::BIN;
}

// Quoted and cut short: the name comes from the client and goes back into a message.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

int64_t read_int64(const msgpack::object& o, const Path& p) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(p, "integer out of range");
    return static_cast<int64_t>(o.via.u64);
  }
  fail(p, "expected an integer");
}

uint64_t read_uint64(const msgpack::object& o, const Path& p) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) return o.via.u64;
  if (o.type == msgpack::type::NEGATIVE_INTEGER) fail(p, "expected a non-negative integer");
  fail(p, "expected an integer");
}

int64_t read_enum(const msgpack::object& o, const Path& p, const EnumTable& table) {
  if (is_bytes(o)) {
    std::string_view name = as_view(o);
    for (std::size_t i = 0; i < table.names.size(); ++i)
      if (table.names[i] == name) return static_cast<int64_t>(i);
    fail(p, "unknown value " + quoted(name));
  }
  if (o.type != msgpack::type::POSITIVE_INTEGER && o.type != msgpack::type::NEGATIVE_INTEGER)
    fail(p, "expected an integer or an enum name");
  int64_t v = o.type == msgpack::type::NEGATIVE_INTEGER ? o.via.i64
              : o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                  ? std::numeric_limits<int64_t>::max()
                  : static_cast<int64_t>(o.via.u64);
  if (!table.open && (v < 0 || v >= static_cast<int64_t>(table.names.size())))
    fail(p, "unknown value " + std::to_string(v));
  return v;
}

// An int32 enum member's value: saturated, so that an open enum's out-of-range integer
// stays out of range instead of wrapping onto a known value.
int32_t read_enum32(const msgpack::object& o, const Path& p, const EnumTable& table) {
  return static_cast<int32_t>(std::clamp<int64_t>(read_enum(o, p, table),
                                                  std::numeric_limits<int32_t>::min(),
                                                  std::numeric_limits<int32_t>::max()));
}

class Decoder {
 public:
  template <class T>
  void value(const msgpack::object& o, const Path& p, T& out) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!is_bytes(o)) fail(p, "expected bytes");
      out.assign(as_view(o));
    } else if constexpr (std::is_same_v<T, bool>) {
      if (o.type != msgpack::type::BOOLEAN) fail(p, "expected a boolean");
      out = o.via.boolean;
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      int64_t v = read_int64(o, p);
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
        fail(p, "integer out of range");
      out = static_cast<T>(v);
    } else if constexpr (std::is_integral_v<T>) {
      uint64_t v = read_uint64(o, p);
      if (v > std::numeric_limits<T>::max()) fail(p, "integer out of range");
      out = static_cast<T>(v);
    } else if constexpr (std::is_enum_v<T>) {
      // An open table takes any number its type holds, and no other (a cast would wrap it
      // onto a named value).
      using U = std::underlying_type_t<T>;
      const int64_t v = read_enum(o, p, enum_table<T>());
      if (v < std::numeric_limits<U>::min() || v > std::numeric_limits<U>::max())
        fail(p, "integer out of range");
      out = static_cast<T>(v);
    } else if constexpr (IsOptional<T>::value) {
      out.emplace();
      value(o, p, *out);
    } else if constexpr (IsVector<T>::value) {
      if (o.type != msgpack::type::ARRAY) fail(p, "expected an array");
      out.clear();
      // The elements are already in memory: the size is checked by what was received.
      out.resize(o.via.array.size);
      for (uint32_t i = 0; i < o.via.array.size; ++i)
        value(o.via.array.ptr[i], p.element(i), out[i]);
    } else if constexpr (IsBox<T>::value) {
      value(o, p, *out);
    } else if constexpr (std::is_same_v<T, storage::RequestOp>) {
      request_op(o, p, out);
    } else if constexpr (std::is_same_v<T, storage::ResponseOp>) {
      response_op(o, p, out);
    } else if constexpr (std::is_same_v<T, storage::Compare>) {
      compare(o, p, out);
    } else if constexpr (std::is_same_v<T, WatchRequest>) {
      watch_request(o, p, out);
    } else {
      map(o, p, out);
    }
  }

  void text(const msgpack::object& o, const Path& p, std::string& out) {
    value(o, p, out);  // a client may send text as bin: accept both
  }
  void text(const msgpack::object& o, const Path& p, std::vector<std::string>& out) {
    value(o, p, out);
  }

  // Calls f(key, value) for every entry with a str/bin key and a non-nil value: nil is
  // "absent", and keys of other types cannot name a field.
  template <class F>
  static void entries(const msgpack::object& o, const Path& p, F&& f) {
    if (o.type == msgpack::type::NIL) return;
    if (o.type != msgpack::type::MAP) fail(p, "expected a map");
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const msgpack::object_kv& kv = o.via.map.ptr[i];
      if (!is_bytes(kv.key) || kv.val.type == msgpack::type::NIL) continue;
      f(as_view(kv.key), kv.val);
    }
  }

 private:
  // Visits a field list with one map entry: the field of that name, if any, reads it.
  struct Entry {
    Decoder& d;
    std::string_view key;
    const msgpack::object& val;
    const Path& parent;

    template <class T>
    void field(std::string_view name, T& x) {
      if (name == key) d.value(val, parent.field(name), x);
    }
    template <class T>
    void text(std::string_view name, T& x) {
      if (name == key) d.text(val, parent.field(name), x);
    }
    void enumeration(std::string_view name, int32_t& x, const EnumTable& table) {
      if (name != key) return;
      x = read_enum32(val, parent.field(name), table);
    }
    void header(std::string_view name, int64_t& revision) {
      if (name != key) return;
      ResponseHeader h;
      d.value(val, parent.field(name), h);
      revision = h.revision;
    }
  };

  template <class T>
  void map(const msgpack::object& o, const Path& p, T& out) {
    entries(o, p, [&](std::string_view k, const msgpack::object& v) {
      Entry e{*this, k, v, p};
      describe(e, out);
    });
  }

  void request_op(const msgpack::object& o, const Path& p, storage::RequestOp& out) {
    int set = 0;
    entries(o, p, [&](std::string_view k, const msgpack::object& v) {
      bool known = k == "request_range" || k == "request_put" || k == "request_delete_range" ||
                   k == "request_txn";
      if (!known) return;
      if (++set > 1) fail(p, "more than one op set");
      Path fp = p.field(k);
      if (k == "request_range") {
        value(v, fp, out.op.emplace<storage::RangeRequest>());
      } else if (k == "request_put") {
        value(v, fp, out.op.emplace<storage::PutRequest>());
      } else if (k == "request_delete_range") {
        value(v, fp, out.op.emplace<storage::DeleteRangeRequest>());
      } else {
        if (txn_depth_ >= kMaxTxnDepth)
          fail(fp, "txn nested deeper than " + std::to_string(kMaxTxnDepth) + " levels");
        ++txn_depth_;
        value(v, fp, *out.op.emplace<storage::Box<storage::TxnRequest>>());
        --txn_depth_;
      }
    });
  }

  void response_op(const msgpack::object& o, const Path& p, storage::ResponseOp& out) {
    int set = 0;
    entries(o, p, [&](std::string_view k, const msgpack::object& v) {
      bool known = k == "response_range" || k == "response_put" || k == "response_delete_range" ||
                   k == "response_txn";
      if (!known) return;
      if (++set > 1) fail(p, "more than one response set");
      Path fp = p.field(k);
      if (k == "response_range") {
        value(v, fp, out.op.emplace<storage::RangeResponse>());
      } else if (k == "response_put") {
        value(v, fp, out.op.emplace<storage::PutResponse>());
      } else if (k == "response_delete_range") {
        value(v, fp, out.op.emplace<storage::DeleteRangeResponse>());
      } else {
        if (txn_depth_ >= kMaxTxnDepth)
          fail(fp, "txn nested deeper than " + std::to_string(kMaxTxnDepth) + " levels");
        ++txn_depth_;
        value(v, fp, *out.op.emplace<storage::Box<storage::TxnResponse>>());
        --txn_depth_;
      }
    });
    if (set == 0) fail(p, "no response set");
  }

  void compare(const msgpack::object& o, const Path& p, storage::Compare& out) {
    int targets = 0;
    auto target_value = [&](storage::CompareTarget kind) {
      if (++targets > 1) fail(p, "more than one target value set");
      out.union_kind = kind;
    };
    entries(o, p, [&](std::string_view k, const msgpack::object& v) {
      Path fp = p.field(k);
      if (k == "result") {
        out.result = read_enum32(v, fp, kCompareResult);  // open: unknown values evaluate true
      } else if (k == "target") {
        // open: an unknown target compares as equal (etcd evaluates it; so does a request
        // the gRPC door takes, and a follower forwards here over this door)
        out.target = read_enum32(v, fp, kCompareTarget);
      } else if (k == "key") {
        value(v, fp, out.key);
      } else if (k == "range_end") {
        value(v, fp, out.range_end);
      } else if (k == "version") {
        target_value(storage::CompareTarget::version);
        value(v, fp, out.number);
      } else if (k == "create_revision") {
        target_value(storage::CompareTarget::create);
        value(v, fp, out.number);
      } else if (k == "mod_revision") {
        target_value(storage::CompareTarget::mod);
        value(v, fp, out.number);
      } else if (k == "value") {
        target_value(storage::CompareTarget::value);
        value(v, fp, out.value);
      } else if (k == "lease") {
        target_value(storage::CompareTarget::lease);
        value(v, fp, out.number);
      }
    });
  }

  void watch_request(const msgpack::object& o, const Path& p, WatchRequest& out) {
    int set = 0;
    entries(o, p, [&](std::string_view k, const msgpack::object& v) {
      bool known = k == "create_request" || k == "cancel_request" || k == "progress_request";
      if (!known) return;
      if (++set > 1) fail(p, "more than one of create_request, cancel_request, progress_request");
      Path fp = p.field(k);
      if (k == "create_request") {
        value(v, fp, out.request.emplace<WatchCreateRequest>());
      } else if (k == "cancel_request") {
        value(v, fp, out.request.emplace<WatchCancelRequest>());
      } else {
        value(v, fp, out.request.emplace<WatchProgressRequest>());
      }
    });
    if (set == 0) fail(p, "expected one of create_request, cancel_request, progress_request");
  }

  int txn_depth_ = 0;
};

}  // namespace

template <class T>
Decoded<T> decode_body(const msgpack::object& body) {
  try {
    T out{};
    Decoder d;
    d.value(body, Path{}, out);
    return out;
  } catch (const BadRequest& e) {
    return bad_request(e.what);
  }
}

template <class T>
void encode_body(Packer& packer, const T& value) {
  Encoder e(packer, nullptr);
  e.value(value);
}

template <class T>
void encode_kv_response(Packer& packer, const ResponseHeader& node, const T& response) {
  Encoder e(packer, &node);
  e.value(response);
}

template <class T>
Decoded<KvResponse<T>> decode_kv_response(const msgpack::object& body) {
  try {
    KvResponse<T> out{};
    Decoder d;
    Path root;
    d.value(body, root, out.response);
    Decoder::entries(body, root, [&](std::string_view k, const msgpack::object& v) {
      if (k == "header") d.value(v, root.field(k), out.header);
    });
    return out;
  } catch (const BadRequest& e) {
    return bad_request(e.what);
  }
}

void encode_error(Packer& packer, const WireError& error) {
  Encoder e(packer, nullptr);
  e.value(error);
}

std::optional<WireError> decode_error(const msgpack::object& error) {
  if (error.type != msgpack::type::MAP) return std::nullopt;
  try {
    WireError out;
    Decoder d;
    d.value(error, Path{}, out);
    return out;
  } catch (const BadRequest&) {
    return std::nullopt;
  }
}

#define REVKV_PROTOCOL_BODY(T)                                \
  template Decoded<T> decode_body<T>(const msgpack::object&); \
  template void encode_body<T>(Packer&, const T&);

REVKV_PROTOCOL_BODY(storage::RangeRequest)
REVKV_PROTOCOL_BODY(storage::PutRequest)
REVKV_PROTOCOL_BODY(storage::DeleteRangeRequest)
REVKV_PROTOCOL_BODY(storage::TxnRequest)
REVKV_PROTOCOL_BODY(CompactionRequest)
REVKV_PROTOCOL_BODY(WatchRequest)
REVKV_PROTOCOL_BODY(WatchResponse)
REVKV_PROTOCOL_BODY(LeaseGrantRequest)
REVKV_PROTOCOL_BODY(LeaseGrantResponse)
REVKV_PROTOCOL_BODY(LeaseRevokeRequest)
REVKV_PROTOCOL_BODY(LeaseRevokeResponse)
REVKV_PROTOCOL_BODY(LeaseKeepAliveRequest)
REVKV_PROTOCOL_BODY(LeaseKeepAliveResponse)
REVKV_PROTOCOL_BODY(LeaseTimeToLiveRequest)
REVKV_PROTOCOL_BODY(LeaseTimeToLiveResponse)
REVKV_PROTOCOL_BODY(LeaseLeasesRequest)
REVKV_PROTOCOL_BODY(LeaseLeasesResponse)
REVKV_PROTOCOL_BODY(StatusRequest)
REVKV_PROTOCOL_BODY(StatusResponse)
REVKV_PROTOCOL_BODY(DefragmentRequest)
REVKV_PROTOCOL_BODY(DefragmentResponse)
REVKV_PROTOCOL_BODY(HashRequest)
REVKV_PROTOCOL_BODY(HashResponse)
REVKV_PROTOCOL_BODY(HashKVRequest)
REVKV_PROTOCOL_BODY(HashKVResponse)
REVKV_PROTOCOL_BODY(SnapshotRequest)
REVKV_PROTOCOL_BODY(SnapshotChunk)
REVKV_PROTOCOL_BODY(SnapshotResponse)
REVKV_PROTOCOL_BODY(AlarmRequest)
REVKV_PROTOCOL_BODY(AlarmResponse)
REVKV_PROTOCOL_BODY(AuthEmptyRequest)
REVKV_PROTOCOL_BODY(AuthNamePasswordRequest)
REVKV_PROTOCOL_BODY(AuthUserAddRequest)
REVKV_PROTOCOL_BODY(AuthNameRequest)
REVKV_PROTOCOL_BODY(AuthRoleRequest)
REVKV_PROTOCOL_BODY(AuthUserGrantRoleRequest)
REVKV_PROTOCOL_BODY(AuthUserRevokeRoleRequest)
REVKV_PROTOCOL_BODY(AuthRoleGrantPermissionRequest)
REVKV_PROTOCOL_BODY(AuthRoleRevokePermissionRequest)
REVKV_PROTOCOL_BODY(AuthEmptyResponse)
REVKV_PROTOCOL_BODY(AuthStatusResponse)
REVKV_PROTOCOL_BODY(AuthenticateResponse)
REVKV_PROTOCOL_BODY(AuthUserListResponse)
REVKV_PROTOCOL_BODY(AuthRolesResponse)
REVKV_PROTOCOL_BODY(AuthRoleGetResponse)
REVKV_PROTOCOL_BODY(MemberListRequest)
REVKV_PROTOCOL_BODY(MemberAddRequest)
REVKV_PROTOCOL_BODY(MemberIdRequest)
REVKV_PROTOCOL_BODY(MemberUpdateRequest)
REVKV_PROTOCOL_BODY(MembersResponse)
REVKV_PROTOCOL_BODY(MemberAddResponse)
REVKV_PROTOCOL_BODY(MoveLeaderRequest)
REVKV_PROTOCOL_BODY(MoveLeaderResponse)
#undef REVKV_PROTOCOL_BODY

#define REVKV_PROTOCOL_KV_RESPONSE(T)                                            \
  template void encode_kv_response<T>(Packer&, const ResponseHeader&, const T&); \
  template Decoded<KvResponse<T>> decode_kv_response<T>(const msgpack::object&);

REVKV_PROTOCOL_KV_RESPONSE(storage::RangeResponse)
REVKV_PROTOCOL_KV_RESPONSE(storage::PutResponse)
REVKV_PROTOCOL_KV_RESPONSE(storage::DeleteRangeResponse)
REVKV_PROTOCOL_KV_RESPONSE(storage::TxnResponse)
REVKV_PROTOCOL_KV_RESPONSE(storage::CompactResponse)
#undef REVKV_PROTOCOL_KV_RESPONSE

}  // namespace revkv::protocol
