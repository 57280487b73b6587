#include "storage/range_rules.hpp"

#include <algorithm>
#include <cstdint>

namespace revkv::storage {

Status validate_range(const RangeRequest& request) {
  if (request.key.empty()) return Errc::empty_key;
  if (request.sort_order < 0 || request.sort_order > 2) return Errc::invalid_sort_option;
  if (request.sort_target < 0 || request.sort_target > 4) return Errc::invalid_sort_option;
  return {};
}

Result<int64_t> resolve_read_revision(int64_t requested, int64_t current, int64_t compact) {
  if (requested > current) return Errc::future_revision;
  int64_t rev = requested <= 0 ? current : requested;
  if (rev < compact) return Errc::compacted;
  return rev;
}

int64_t fetch_limit(const RangeRequest& r) {
  bool fetch_all = r.sort_order != static_cast<int32_t>(SortOrder::none) ||
                   r.min_mod_revision != 0 || r.max_mod_revision != 0 ||
                   r.min_create_revision != 0 || r.max_create_revision != 0;
  // limit + 1 detects `more`; at INT64_MAX that is every key anyway (and must not overflow).
  if (fetch_all || r.limit <= 0 || r.limit == INT64_MAX) return 0;
  return r.limit + 1;
}

FetchDepth fetch_depth(const RangeRequest& r) {
  // etcd counts every key of the range, before the revision filters (mvcc's rangeKeys
  // returns the count alone for count_only): the index answers that.
  if (r.count_only) return FetchDepth::count;
  if (r.keys_only && r.sort_target != static_cast<int32_t>(SortTarget::value)) {
    return FetchDepth::keys;
  }
  return FetchDepth::values;
}

RangeResponse finish_range(const RangeRequest& r, std::vector<KeyValue> kvs, int64_t count,
                           int64_t header_revision) {
  std::erase_if(kvs, [&](const KeyValue& kv) {
    return (r.max_mod_revision != 0 && kv.mod_revision > r.max_mod_revision) ||
           (r.min_mod_revision != 0 && kv.mod_revision < r.min_mod_revision) ||
           (r.max_create_revision != 0 && kv.create_revision > r.max_create_revision) ||
           (r.min_create_revision != 0 && kv.create_revision < r.min_create_revision);
  });

  auto order = static_cast<SortOrder>(r.sort_order);
  auto target = static_cast<SortTarget>(r.sort_target);
  if (target != SortTarget::key && order == SortOrder::none) order = SortOrder::ascend;
  bool key_order =
      order == SortOrder::none || (target == SortTarget::key && order == SortOrder::ascend);
  if (!key_order) {
    // Stable, so that ties keep key order and every engine answers identically.
    auto less = [target](const KeyValue& a, const KeyValue& b) {
      switch (target) {
        case SortTarget::key:
          return a.key < b.key;
        case SortTarget::version:
          return a.version < b.version;
        case SortTarget::create:
          return a.create_revision < b.create_revision;
        case SortTarget::mod:
          return a.mod_revision < b.mod_revision;
        case SortTarget::value:
          return a.value < b.value;
      }
      return false;
    };
    if (order == SortOrder::ascend) {
      std::stable_sort(kvs.begin(), kvs.end(), less);
    } else {
      std::stable_sort(kvs.begin(), kvs.end(),
                       [&](const KeyValue& a, const KeyValue& b) { return less(b, a); });
    }
  }

  RangeResponse out;
  out.revision = header_revision;
  out.count = count;
  if (r.count_only) return out;
  if (r.limit > 0 && static_cast<int64_t>(kvs.size()) > r.limit) {
    kvs.resize(static_cast<size_t>(r.limit));
    out.more = true;
  }
  if (r.keys_only) {
    for (auto& kv : kvs)
      kv.value.clear();
  }
  out.kvs = std::move(kvs);
  return out;
}

}  // namespace revkv::storage
