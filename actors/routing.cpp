#include "actors/routing.hpp"

#include "storage/keyspace_set.hpp"

namespace revkv::actors {
namespace {

// Accumulates the owner of every single key; gives up on a range.
class OwnerOf {
 public:
  explicit OwnerOf(size_t shards) : shards_(shards) {}

  void key(const std::string& k, const std::optional<std::string>& range_end) {
    if (range_end.has_value() && !range_end->empty()) {
      spans_ = true;
      return;
    }
    size_t s = storage::shard_of(k, shards_);
    if (owner_ && *owner_ != s) spans_ = true;
    owner_ = s;
  }

  void ops(const std::vector<storage::RequestOp>& ops) {
    for (const auto& op : ops) {
      if (auto* r = std::get_if<storage::RangeRequest>(&op.op)) {
        key(r->key, r->range_end);
      } else if (auto* p = std::get_if<storage::PutRequest>(&op.op)) {
        key(p->key, std::nullopt);
      } else if (auto* d = std::get_if<storage::DeleteRangeRequest>(&op.op)) {
        key(d->key, d->range_end);
      } else if (auto* t = std::get_if<storage::Box<storage::TxnRequest>>(&op.op)) {
        txn(**t);
      }
    }
  }

  void txn(const storage::TxnRequest& t) {
    for (const auto& c : t.compare)
      key(c.key, c.range_end);
    ops(t.success);
    ops(t.failure);
  }

  // A txn touching no key at all (no compares, empty branches) can run anywhere.
  std::optional<size_t> result() const {
    if (spans_) return std::nullopt;
    return owner_.value_or(0);
  }

 private:
  size_t shards_;
  std::optional<size_t> owner_;
  bool spans_ = false;
};

}  // namespace

std::optional<size_t> single_shard(const storage::RangeRequest& r, size_t shards) {
  OwnerOf o(shards);
  o.key(r.key, r.range_end);
  return o.result();
}

std::optional<size_t> single_shard(const storage::DeleteRangeRequest& r, size_t shards) {
  OwnerOf o(shards);
  o.key(r.key, r.range_end);
  return o.result();
}

std::optional<size_t> single_shard(const storage::TxnRequest& r, size_t shards) {
  OwnerOf o(shards);
  o.txn(r);
  return o.result();
}

namespace {

Route owner_or(std::optional<size_t> owner, Target otherwise) {
  if (owner) return Route{Target::owner_shard, *owner};
  return Route{otherwise, 0};
}

constexpr Route kMaintenance{Target::maintenance, 0};
constexpr Route kLessor{Target::lessor, 0};

}  // namespace

Route route(const storage::RangeRequest& r, size_t shards) {
  return owner_or(single_shard(r, shards), Target::all_shards);
}

Route route(const storage::PutRequest& r, size_t shards) {
  return Route{Target::owner_shard, storage::shard_of(r.key, shards)};
}

Route route(const storage::DeleteRangeRequest& r, size_t shards) {
  return owner_or(single_shard(r, shards), Target::coordinator);
}

Route route(const storage::TxnRequest& r, size_t shards) {
  return owner_or(single_shard(r, shards), Target::coordinator);
}

Route route(const protocol::CompactionRequest&, size_t) {
  return kMaintenance;
}
Route route(const protocol::HashKVRequest&, size_t) {
  return kMaintenance;
}
Route route(const protocol::HashRequest&, size_t) {
  return kMaintenance;
}
Route route(const protocol::StatusRequest&, size_t) {
  return kMaintenance;
}
Route route(const protocol::DefragmentRequest&, size_t) {
  return kMaintenance;
}
Route route(const protocol::AlarmRequest&, size_t) {
  return kMaintenance;
}

Route route(const protocol::LeaseGrantRequest&, size_t) {
  return kLessor;
}
Route route(const protocol::LeaseRevokeRequest&, size_t) {
  return kLessor;
}
Route route(const protocol::LeaseKeepAliveRequest&, size_t) {
  return kLessor;
}
Route route(const protocol::LeaseTimeToLiveRequest&, size_t) {
  return kLessor;
}
Route route(const protocol::LeaseLeasesRequest&, size_t) {
  return kLessor;
}

}  // namespace revkv::actors
