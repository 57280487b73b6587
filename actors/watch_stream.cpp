#include "actors/watch_stream.hpp"

#include "protocol/codec.hpp"

#include <algorithm>
#include <iterator>

namespace revkv::actors {

namespace {

protocol::WatchResponse rejected(std::string reason) {
  protocol::WatchResponse out;
  out.created = true;
  out.canceled = true;
  out.watch_id = -1;
  out.cancel_reason = std::move(reason);
  return out;
}

}  // namespace

std::variant<WatchStream::Accepted, protocol::WatchResponse> WatchStream::create(
    const protocol::WatchCreateRequest& r) {
  if (r.start_revision < 0) {
    return rejected("etcdserver: mvcc: required revision has been compacted");
  }
  std::string key = r.key.empty() ? std::string(1, '\0') : r.key;
  if (r.range_end && !r.range_end->empty() && *r.range_end != std::string(1, '\0') &&
      *r.range_end <= key) {
    return rejected("mvcc: watcher range is empty");
  }
  int64_t id = r.watch_id;
  if (id == 0) {
    // The counter only moves forward, skipping ids in use (etcd's watchStream).
    while (ids_.contains(next_id_))
      ++next_id_;
    id = next_id_++;
  } else if (ids_.contains(id)) {
    return rejected("mvcc: duplicate watch ID provided on the WatchStream");
  }
  Accepted out;
  out.watch_id = id;
  out.tag = next_tag_++;
  std::optional<std::string> end;
  if (r.range_end && !r.range_end->empty()) end = r.range_end;
  out.spec.range = storage::KeyRange::from_request(key, end);
  out.spec.start_revision = r.start_revision;
  out.spec.prev_kv = r.prev_kv;
  out.spec.progress_notify = r.progress_notify;
  for (auto f : r.filters) {
    if (f == protocol::WatchFilter::noput) out.spec.noput = true;
    if (f == protocol::WatchFilter::nodelete) out.spec.nodelete = true;
  }
  ids_.insert(id);
  by_tag_[out.tag] = id;
  live_[id] = Entry{out.tag, r.fragment};
  return out;
}

std::optional<uint64_t> WatchStream::cancel(int64_t watch_id) {
  if (!ids_.contains(watch_id)) return std::nullopt;
  ids_.erase(watch_id);
  auto it = live_.find(watch_id);
  if (it == live_.end()) return 0;  // reserved by a compaction cancel: no hub watcher left
  uint64_t tag = it->second.tag;
  by_tag_.erase(tag);
  live_.erase(it);
  return tag;
}

void WatchStream::compacted(uint64_t tag) {
  auto it = by_tag_.find(tag);
  if (it == by_tag_.end()) return;
  live_.erase(it->second);
  by_tag_.erase(it);
}

std::optional<int64_t> WatchStream::id_of(uint64_t tag) const {
  auto it = by_tag_.find(tag);
  if (it == by_tag_.end()) return std::nullopt;
  return it->second;
}

bool WatchStream::fragments(uint64_t tag) const {
  auto id = id_of(tag);
  if (!id) return false;
  auto it = live_.find(*id);
  return it != live_.end() && it->second.fragment;
}

int64_t WatchDelivery::first_revision() const {
  return picks.empty() ? response.events.front().kv.mod_revision
                       : (*shared)[picks.front()].kv.mod_revision;
}

protocol::WatchResponse WatchDelivery::take_response() {
  protocol::WatchResponse out = std::move(response);
  if (picks.empty()) return out;
  std::vector<storage::Event> events;
  events.reserve(picks.size() + out.events.size());
  for (uint32_t i : picks) {
    events.push_back((*shared)[i]);
    if (!prev_kv) events.back().prev_kv.reset();
  }
  std::move(out.events.begin(), out.events.end(), std::back_inserter(events));
  out.events = std::move(events);
  picks.clear();
  shared.reset();
  return out;
}

std::vector<protocol::WatchResponse> fragment_response(protocol::WatchResponse response,
                                                       size_t limit) {
  std::vector<protocol::WatchResponse> out;
  if (response.events.size() < 2 || protocol::encode_to_string(response).size() < limit) {
    out.push_back(std::move(response));
    return out;
  }
  // The fixed part (header, ids, flags) is what an empty response costs; every event adds
  // its own encoding plus at most a few bytes of array length.
  protocol::WatchResponse shell = response;
  shell.events.clear();
  shell.fragment = true;
  const size_t fixed = protocol::encode_to_string(shell).size() + 8;
  protocol::WatchResponse current = shell;
  size_t size = fixed;
  for (auto& ev : response.events) {
    protocol::WatchResponse one = shell;
    one.events.push_back(ev);
    size_t cost = protocol::encode_to_string(one).size() - fixed + 8;
    if (!current.events.empty() && size + cost >= limit) {
      out.push_back(std::move(current));
      current = shell;
      size = fixed;
    }
    current.events.push_back(std::move(ev));
    size += cost;
  }
  current.fragment = false;
  out.push_back(std::move(current));
  return out;
}

}  // namespace revkv::actors
