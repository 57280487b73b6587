#include "storage/write_txn.hpp"

namespace revkv::storage {

WriteTxn::WriteTxn(const KeyspaceSet& keyspaces, const Backend& backend, int64_t view_rev,
                   AllocateRevision allocate)
    : keyspaces_(keyspaces), view_(view_rev), allocate_(std::move(allocate)), batch_(backend) {}

Revision WriteTxn::next() {
  if (changes_ == 0) rev_ = allocate_();
  return Revision{rev_, changes_++};
}

const KeyValue& WriteTxn::put(const std::string& key, std::string value, int64_t lease) {
  Revision rev = next();
  Event ev;
  ev.kv = keyspaces_.owner(key).put(key, std::move(value), lease, rev, batch_);
  events_.push_back(std::move(ev));
  return events_.back().kv;
}

void WriteTxn::erase(const std::string& key) {
  Revision rev = next();
  keyspaces_.owner(key).erase(key, rev, batch_);
  Event ev;
  ev.type = Event::Type::del;
  ev.kv.key = key;
  ev.kv.mod_revision = rev.main;
  events_.push_back(std::move(ev));
}

Result<DeleteRangeResponse> WriteTxn::delete_range(const DeleteRangeRequest& r) {
  DeleteRangeResponse out;
  KeyRange range = KeyRange::from_request(r.key, r.range_end);
  std::vector<std::string> keys;
  if (r.prev_kv) {
    auto fetched = keyspaces_.range(range, read_rev(), 0);
    if (!fetched.ok()) return fetched.error();
    for (const KeyValue& kv : fetched->kvs)
      keys.push_back(kv.key);
    out.prev_kvs = std::move(fetched->kvs);
  } else {
    keys = keyspaces_.keys(range, read_rev());
  }
  for (const std::string& k : keys)
    erase(k);
  out.deleted = static_cast<int64_t>(keys.size());
  out.revision = read_rev();
  return out;
}

}  // namespace revkv::storage
