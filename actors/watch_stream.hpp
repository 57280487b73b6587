#pragma once

// One connection's watch stream (SPEC §7.1–7.2, 7.11): the watch ids it hands out, the
// checks a create request gets before any watcher exists, and the map between the
// stream's ids and the hub's watcher tags. Plain C++, no actor: the session and the
// actor-message test harness both drive one.
//
// Tags, not ids, name a watcher towards the watch hub: an id may be cancelled and given
// again while messages for its first watcher are still on their way; a tag is never
// reused on a stream, so such messages are recognised and dropped.

#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace revkv::actors {

// What a watcher wants, as the hub keeps it.
struct WatchSpec {
  storage::KeyRange range;
  int64_t start_revision = 0;  // 0: from now
  bool prev_kv = false;
  bool progress_notify = false;
  bool noput = false;
  bool nodelete = false;

  bool wants(const storage::Event& ev) const {
    if (ev.type == storage::Event::Type::put ? noput : nodelete) return false;
    return range.contains(ev.kv.key);
  }
};

// Events the hub read once and hands to every watcher that wants some of them: immutable
// once shared, so watchers on any number of streams point into one copy.
using SharedEvents = std::shared_ptr<const std::vector<storage::Event>>;

// A response for one watcher of a stream, from the hub. Its events are `picks` of the
// shared batch (with their prev_kv when the watcher asked for it), followed by the ones in
// `response.events`; they are copied out only when the stream writes the response.
struct WatchDelivery {
  WatchDelivery() = default;
  // A response that carries its own events (or none: progress, a compaction cancel).
  WatchDelivery(uint64_t tag, protocol::WatchResponse response)
      : tag(tag), response(std::move(response)) {}

  uint64_t tag = 0;
  protocol::WatchResponse response;  // watch_id filled in by the stream
  SharedEvents shared;               // null: every event is in `response`
  std::vector<uint32_t> picks;       // indexes into *shared, in revision order
  bool prev_kv = false;              // the picked events keep their prev_kv

  size_t event_count() const { return picks.size() + response.events.size(); }
  // The revision of the first event (the delivery has at least one).
  int64_t first_revision() const;
  // The response with its events, the one copy of them made for this watcher.
  protocol::WatchResponse take_response();
};

class WatchStream {
 public:
  struct Accepted {
    int64_t watch_id = 0;
    uint64_t tag = 0;
    WatchSpec spec;
  };

  // A create request: accepted (the caller registers it with the hub), or the rejection
  // to answer with ({created, canceled, watch_id -1, cancel_reason}).
  std::variant<Accepted, protocol::WatchResponse> create(const protocol::WatchCreateRequest& r);

  // A cancel request: the tag of the cancelled watcher (0 when the hub has none left: it
  // was cancelled by a compaction), or nullopt for an unknown id (no answer in etcd). The
  // id is free again.
  std::optional<uint64_t> cancel(int64_t watch_id);

  // The hub cancelled the watcher (compaction): its id stays reserved until the client
  // cancels it (SPEC §7.4 [QUIRK]); later messages for the tag are dropped.
  void compacted(uint64_t tag);

  // The stream id of a live watcher's tag.
  std::optional<int64_t> id_of(uint64_t tag) const;
  bool fragments(uint64_t tag) const;
  bool empty() const { return by_tag_.empty(); }

 private:
  struct Entry {
    uint64_t tag = 0;
    bool fragment = false;
  };

  std::set<int64_t> ids_;                         // ids in use, live or reserved
  std::unordered_map<uint64_t, int64_t> by_tag_;  // live watchers
  std::map<int64_t, Entry> live_;                 // id -> tag, for cancel
  int64_t next_id_ = 0;
  uint64_t next_tag_ = 1;
};

// SPEC §7.10: a response of >= 2 events whose encoding is at least `limit` bytes, split
// into consecutive responses of >= 1 event each, under `limit` whenever one holds more
// than one event; all but the last carry fragment = true. Others come back whole.
std::vector<protocol::WatchResponse> fragment_response(protocol::WatchResponse response,
                                                       size_t limit);

}  // namespace revkv::actors
