#pragma once

// One write transaction (SPEC §2.3): every change at one revision with increasing sub
// revisions, staged into a WriteBatch and the keyspaces' indexes. The revision is taken
// lazily, on the first change, so a transaction that changes nothing takes none; the
// caller commits the batch (synchronously in Store, through group commit in the node).

#include "storage/backend.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace revkv::storage {

class WriteTxn {
 public:
  // Returns the revision the transaction writes at (> view_rev); called at most once.
  using AllocateRevision = std::function<int64_t()>;

  WriteTxn(const KeyspaceSet& keyspaces, const Backend& backend, int64_t view_rev,
           AllocateRevision allocate);

  // The revision the transaction started from (R0).
  int64_t view_rev() const { return view_; }
  // Reads inside the transaction see its own earlier changes.
  int64_t read_rev() const { return changes_ > 0 ? rev_ : view_; }
  // The revision written at; 0 while nothing changed.
  int64_t revision() const { return rev_; }
  int64_t changes() const { return changes_; }
  WriteBatch& batch() { return batch_; }
  const KeyspaceSet& keyspaces() const { return keyspaces_; }
  // The changes in sub-revision order, as watch events.
  const std::vector<Event>& events() const { return events_; }

  const KeyValue& put(const std::string& key, std::string value, int64_t lease);
  void erase(const std::string& key);
  // Deletes every key of the request's range existing at read_rev(), in key order.
  Result<DeleteRangeResponse> delete_range(const DeleteRangeRequest& request);

 private:
  Revision next();

  const KeyspaceSet& keyspaces_;
  int64_t view_;
  AllocateRevision allocate_;
  int64_t rev_ = 0;
  int64_t changes_ = 0;
  WriteBatch batch_;
  std::vector<Event> events_;
};

}  // namespace revkv::storage
