#include "actors/watch_hub.hpp"

#include "actors/fatal.hpp"
#include "actors/messages.hpp"
#include "storage/history.hpp"
#include "storage/keyspace_set.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace revkv::actors {

namespace {

// SPEC §7.8: a replay response holds at most this many revisions.
constexpr int64_t kReplayRevisions = 1000;
// etcd's gRPC framing allowance over --max-request-bytes: with it, the size from which a
// watch response is fragmented (SPEC §7.10), and the byte budget of one catch-up window.
constexpr size_t kResponseOverheadBytes = 512 * 1024;

struct Watcher {
  caf::actor owner;
  uint64_t tag = 0;
  WatchSpec spec;
  // Unsynced: the first revision it still needs. Synced: the lowest revision it accepts
  // (its start revision; not advanced per write, so that a write costs nothing per
  // watcher it does not match).
  int64_t next = 0;
  bool sent_since_tick = false;  // an event response went out since the last progress tick
};

struct Owner {
  caf::actor handle;
  bool congested = false;  // dropped responses; its watchers wait until it drains
  std::unordered_map<uint64_t, uint64_t> by_tag;  // tag -> watcher id
};

// Events matched to one watcher, by index into the batch they came from.
struct Match {
  uint64_t watcher = 0;
  std::vector<size_t> events;
};

}  // namespace

struct WatchHubState {
  WatchHubState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "watch_hub";

  NodeContextPtr ctx;
  std::vector<caf::actor> shards;
  int64_t published = 1;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, Watcher> watchers;
  std::map<caf::actor_addr, Owner> owners;
  // Single-key watchers by key; range watchers in a set scanned per event.
  std::unordered_map<std::string, std::unordered_set<uint64_t>> by_key;
  std::unordered_set<uint64_t> ranged;
  // The watchers behind `published`: they catch up from `kv`; the others get live events.
  std::unordered_set<uint64_t> unsynced;
  bool catch_up_scheduled = false;

  bool synced(uint64_t id) const { return !unsynced.contains(id); }

  void publish_gauges() const {
    ctx->watchers.store(static_cast<int64_t>(watchers.size()), std::memory_order_relaxed);
    ctx->slow_watchers.store(static_cast<int64_t>(unsynced.size()), std::memory_order_relaxed);
  }

  void index(uint64_t id, const Watcher& w) {
    if (w.spec.range.single()) {
      by_key[w.spec.range.start].insert(id);
    } else {
      ranged.insert(id);
    }
  }

  void remove(uint64_t id) {
    auto it = watchers.find(id);
    if (it == watchers.end()) return;
    const Watcher& w = it->second;
    if (w.spec.range.single()) {
      auto k = by_key.find(w.spec.range.start);
      if (k != by_key.end()) {
        k->second.erase(id);
        if (k->second.empty()) by_key.erase(k);
      }
    } else {
      ranged.erase(id);
    }
    auto o = owners.find(caf::actor_cast<caf::actor_addr>(w.owner));
    if (o != owners.end()) o->second.by_tag.erase(w.tag);
    unsynced.erase(id);
    watchers.erase(it);
  }

  // The watchers whose range holds `key` (they may still not want the event).
  template <class F>
  void for_each_candidate(const std::string& key, F&& f) const {
    if (auto k = by_key.find(key); k != by_key.end()) {
      for (uint64_t id : k->second)
        f(id);
    }
    for (uint64_t id : ranged)
      f(id);
  }
};

namespace {

using Self = caf::stateful_actor<WatchHubState>;

Owner& owner_of(Self* self) {
  auto addr = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto& st = self->state;
  auto it = st.owners.find(addr);
  if (it == st.owners.end()) {
    it = st.owners.emplace(addr, Owner{}).first;
    it->second.handle = caf::actor_cast<caf::actor>(self->current_sender());
    self->monitor(it->second.handle);
  }
  return it->second;
}

bool wants_prev(const storage::Event& ev) {
  // A creation has no previous value (SPEC §7.5).
  return ev.type == storage::Event::Type::del || ev.kv.create_revision != ev.kv.mod_revision;
}

// Fills prev_kv into events[i] for each i of `need` (ascending), asking the keys' shards,
// then calls done(). prev_kv stays empty where the history is gone (SPEC §7.5).
template <class Done>
void with_prev_kvs(Self* self, std::shared_ptr<std::vector<storage::Event>> events,
                   std::vector<size_t> need, Done done) {
  auto& st = self->state;
  int64_t compact = st.ctx->compact_revision.load();
  std::vector<std::vector<size_t>> per_shard(st.shards.size());
  for (size_t i : need) {
    const auto& ev = (*events)[i];
    if (ev.kv.mod_revision - 1 < compact) continue;
    per_shard[storage::shard_of(ev.kv.key, st.shards.size())].push_back(i);
  }
  auto remaining = std::make_shared<size_t>(0);
  for (const auto& part : per_shard)
    if (!part.empty()) ++*remaining;
  if (*remaining == 0) return done();
  for (size_t s = 0; s < per_shard.size(); ++s) {
    if (per_shard[s].empty()) continue;
    PrevKvLookups lookups;
    for (size_t i : per_shard[s])
      lookups.push_back(PrevKvLookup{(*events)[i].kv.key, (*events)[i].kv.mod_revision - 1});
    self->request(st.shards[s], caf::infinite, prev_kv_atom::value, std::move(lookups))
        .await(
            [events, indexes = per_shard[s], remaining, done](PrevKvs& found) mutable {
              for (size_t j = 0; j < indexes.size() && j < found.size(); ++j)
                (*events)[indexes[j]].prev_kv = std::move(found[j]);
              if (--*remaining == 0) done();
            },
            [remaining, done](caf::error&) mutable {
              // A shard that cannot answer is stopping with the node: no prev_kv then.
              if (--*remaining == 0) done();
            });
  }
}

// The delivery of events[indexes[from..to)] to `w`: pointers into the shared batch, no copy.
WatchDelivery delivery_of(const SharedEvents& events, const std::vector<size_t>& indexes,
                          size_t from, size_t to, const Watcher& w, const NodeContext& ctx,
                          int64_t header_rev) {
  WatchDelivery d;
  d.tag = w.tag;
  d.response.header = ctx.header(header_rev);
  d.shared = events;
  d.picks.reserve(to - from);
  for (size_t j = from; j < to; ++j)
    d.picks.push_back(static_cast<uint32_t>(indexes[j]));
  d.prev_kv = w.spec.prev_kv;
  return d;
}

void send_all(Self* self, std::map<caf::actor_addr, WatchDeliveries>& out) {
  auto& st = self->state;
  int64_t sent = 0;
  for (auto& [addr, deliveries] : out) {
    auto o = st.owners.find(addr);
    if (o == st.owners.end() || deliveries.empty()) continue;
    for (const auto& d : deliveries)
      sent += static_cast<int64_t>(d.event_count());
    self->send(o->second.handle, watch_out_atom::value, std::move(deliveries));
  }
  st.ctx->watch_events_sent_total.fetch_add(sent, std::memory_order_relaxed);
}

// Sends each match its events, after filling the prev_kvs the matches need: live
// (`header_rev` empty) one response per revision with that revision as header; a replay
// one response with header `header_rev`. Every delivery points into the one batch.
void deliver(Self* self, std::shared_ptr<std::vector<storage::Event>> events,
             std::vector<Match> matches, std::vector<size_t> need_prev,
             std::optional<int64_t> header_rev) {
  with_prev_kvs(
      self, events, std::move(need_prev), [self, events, header_rev, matches = std::move(matches)] {
        auto& st = self->state;
        // Complete now: from here on the batch is shared and never changes.
        SharedEvents shared = events;
        std::map<caf::actor_addr, WatchDeliveries> out;
        for (const Match& m : matches) {
          auto it = st.watchers.find(m.watcher);
          if (it == st.watchers.end()) continue;
          Watcher& w = it->second;
          auto& list = out[caf::actor_cast<caf::actor_addr>(w.owner)];
          size_t from = 0;
          while (from < m.events.size()) {
            int64_t rev = (*shared)[m.events[from]].kv.mod_revision;
            size_t to = header_rev ? m.events.size() : from;
            while (to < m.events.size() && (*shared)[m.events[to]].kv.mod_revision == rev)
              ++to;
            list.push_back(
                delivery_of(shared, m.events, from, to, w, *st.ctx, header_rev.value_or(rev)));
            from = to;
          }
          w.sent_since_tick = true;
        }
        send_all(self, out);
        st.publish_gauges();
      });
}

// Live fan-out of revisions (before, published] to the synced watchers: one response per
// watcher and revision, header = that revision.
void fan_out(Self* self, std::vector<storage::Event> batch) {
  auto& st = self->state;
  auto events = std::make_shared<std::vector<storage::Event>>(std::move(batch));
  std::vector<Match> matches;
  std::unordered_map<uint64_t, size_t> slot;
  std::set<size_t> need_prev;
  for (size_t i = 0; i < events->size(); ++i) {
    const auto& ev = (*events)[i];
    st.for_each_candidate(ev.kv.key, [&](uint64_t id) {
      const Watcher& w = st.watchers.at(id);
      if (!st.synced(id) || w.next > ev.kv.mod_revision || !w.spec.wants(ev)) return;
      auto [it, fresh] = slot.emplace(id, matches.size());
      if (fresh) matches.push_back(Match{id, {}});
      matches[it->second].events.push_back(i);
      if (w.spec.prev_kv && wants_prev(ev)) need_prev.insert(i);
    });
  }
  if (matches.empty()) return;
  deliver(self, std::move(events), std::move(matches), {need_prev.begin(), need_prev.end()},
          std::nullopt);
}

void schedule_catch_up(Self* self) {
  auto& st = self->state;
  if (st.catch_up_scheduled) return;
  st.catch_up_scheduled = true;
  self->send(self, watch_catch_up_atom::value);
}

// Revisions up to W are durable: read (published, W] once and hand it to the synced
// watchers.
void advance(Self* self, int64_t w) {
  auto& st = self->state;
  if (w <= st.published) return;
  int64_t before = st.published;
  if (st.unsynced.size() == st.watchers.size()) {  // nobody to feed live
    st.published = w;
    return;
  }
  auto events = storage::read_events(*st.ctx->backend, before + 1, w);
  if (!events.ok()) fatal("watch: reading the history failed: " + events.error().message());
  st.published = w;
  fan_out(self, std::move(*events));
}

// One catch-up step: the unsynced watchers (of owners that are not congested) that need
// the lowest revision get up to 1000 revisions of history from `kv`, in one response each.
// The window read is also bounded in bytes (docs/WATCH.md "Bounded catch-up"): whole
// revisions until their keys and values reach the response limit, half of it when some
// watcher adds prev_kvs. One window is in memory at a time, shared by the group.
void catch_up(Self* self) {
  auto& st = self->state;
  st.catch_up_scheduled = false;
  int64_t lowest = 0;
  for (uint64_t id : st.unsynced) {
    const Watcher& w = st.watchers.at(id);
    auto o = st.owners.find(caf::actor_cast<caf::actor_addr>(w.owner));
    if (o == st.owners.end() || o->second.congested) continue;
    if (lowest == 0 || w.next < lowest) lowest = w.next;
  }
  if (lowest == 0) return;
  std::vector<uint64_t> group;
  for (uint64_t id : st.unsynced) {
    const Watcher& w = st.watchers.at(id);
    if (w.next != lowest) continue;
    auto o = st.owners.find(caf::actor_cast<caf::actor_addr>(w.owner));
    if (o != st.owners.end() && !o->second.congested) group.push_back(id);
  }
  // Revision 1 is the empty store's: it has no events, so the window starts after it.
  int64_t last = std::min(st.published, std::max<int64_t>(lowest, 2) + kReplayRevisions - 1);
  size_t budget = st.ctx->options.max_request_bytes + kResponseOverheadBytes;
  bool prev_kvs = std::any_of(group.begin(), group.end(),
                              [&](uint64_t id) { return st.watchers.at(id).spec.prev_kv; });
  if (prev_kvs) budget /= 2;
  auto read = storage::read_event_window(*st.ctx->backend, lowest, last, budget);
  if (!read.ok()) fatal("watch: reading the history failed: " + read.error().message());
  last = read->last;
  // Checked after the read: a compaction that started meanwhile may have removed part of it.
  int64_t compact = st.ctx->compact_revision.load();
  if (lowest < compact) {
    std::map<caf::actor_addr, WatchDeliveries> out;
    for (uint64_t id : group) {
      const Watcher& w = st.watchers.at(id);
      protocol::WatchResponse r;
      r.header = st.ctx->header(0);  // revision 0, as etcd leaves it (SPEC §7.4)
      r.canceled = true;
      r.compact_revision = compact;
      out[caf::actor_cast<caf::actor_addr>(w.owner)].push_back(WatchDelivery{w.tag, r});
      st.remove(id);
    }
    send_all(self, out);
    schedule_catch_up(self);
    st.publish_gauges();
    return;
  }
  auto events = std::make_shared<std::vector<storage::Event>>(std::move(read->events));
  std::vector<Match> matches;
  std::set<size_t> need_prev;
  for (uint64_t id : group) {
    Watcher& w = st.watchers.at(id);
    Match m{id, {}};
    for (size_t i = 0; i < events->size(); ++i) {
      if (!w.spec.wants((*events)[i])) continue;
      m.events.push_back(i);
      if (w.spec.prev_kv && wants_prev((*events)[i])) need_prev.insert(i);
    }
    w.next = last + 1;
    if (w.next > st.published) st.unsynced.erase(id);
    if (!m.events.empty()) matches.push_back(std::move(m));
  }
  deliver(self, std::move(events), std::move(matches), {need_prev.begin(), need_prev.end()},
          st.published);
  schedule_catch_up(self);
}

// SPEC §7.9, periodic: watchers with progress_notify that got no event response since the
// last tick, are caught up and have reached their start revision.
void progress_tick(Self* self) {
  auto& st = self->state;
  std::map<caf::actor_addr, WatchDeliveries> out;
  for (auto& [id, w] : st.watchers) {
    bool due = w.spec.progress_notify && !w.sent_since_tick && st.synced(id) &&
               st.published >= w.spec.start_revision;
    w.sent_since_tick = false;
    if (!due) continue;
    protocol::WatchResponse r;
    r.header = st.ctx->header(st.published);
    out[caf::actor_cast<caf::actor_addr>(w.owner)].push_back(WatchDelivery{w.tag, r});
  }
  send_all(self, out);
}

}  // namespace

caf::behavior watch_hub(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                        int64_t published);

caf::actor spawn_watch_hub(caf::actor_system& sys, NodeContextPtr ctx,
                           std::vector<caf::actor> shards, int64_t published) {
  return sys.spawn(watch_hub, std::move(ctx), std::move(shards), published);
}

caf::behavior watch_hub(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                        int64_t published) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.shards = std::move(shards);
  st.published = published;
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    auto it = st.owners.find(down.source);
    if (it == st.owners.end()) return;
    std::vector<uint64_t> ids;
    for (const auto& [tag, id] : it->second.by_tag)
      ids.push_back(id);
    for (uint64_t id : ids)
      st.remove(id);
    st.owners.erase(it);
    st.publish_gauges();
  });
  self->delayed_send(self, st.ctx->options.watch_progress_interval, watch_tick_atom::value);
  return {
      [self](durable_atom, int64_t w) {
        // Reads see W before any watcher hears of an event at W: the backend stores W just
        // after telling the hub, and the hub may get here first. A client that reads after
        // an event (etcd's election observer, after its leader's key was deleted) must not
        // be answered from before it. W is durable already; only its store is early.
        auto& watermark = self->state.ctx->watermark;
        for (int64_t seen = watermark.load(); seen < w;)
          if (watermark.compare_exchange_weak(seen, w)) break;
        advance(self, w);
        self->state.publish_gauges();
      },
      [self](watch_create_atom, uint32_t msgid, uint64_t tag, WatchSpec& spec) {
        auto& st = self->state;
        Owner& owner = owner_of(self);
        uint64_t id = st.next_id++;
        Watcher w;
        w.owner = owner.handle;
        w.tag = tag;
        // 0: from now (every acknowledged write is in `published`: the backend tells the
        // hub before it releases the acknowledgements).
        w.next = spec.start_revision == 0 ? st.published + 1 : spec.start_revision;
        w.spec = std::move(spec);
        st.index(id, w);
        owner.by_tag[tag] = id;
        bool behind = w.next <= st.published;
        if (behind) st.unsynced.insert(id);
        st.watchers.emplace(id, std::move(w));
        self->send(owner.handle, watch_created_atom::value, msgid, tag, st.published);
        if (behind) schedule_catch_up(self);
        st.publish_gauges();
      },
      [self](watch_cancel_atom, uint32_t msgid, uint64_t tag) {
        // Answered by the hub, so the answer follows the watcher's created response.
        auto& st = self->state;
        Owner& owner = owner_of(self);
        auto it = owner.by_tag.find(tag);
        if (it != owner.by_tag.end()) st.remove(it->second);
        st.publish_gauges();
        self->send(owner.handle, watch_cancel_atom::value, msgid);
      },
      [](watch_sync_atom) {
        // Every durable(W) sent before the caller saw W has been fanned out (see the
        // maintenance actor: a compaction waits for this before deleting history).
        return true;
      },
      [self](watch_progress_atom, uint32_t msgid) {
        // SPEC §7.9, on request: only when every watcher of the stream is caught up and
        // has reached its start revision.
        auto& st = self->state;
        Owner& owner = owner_of(self);
        bool ready = !owner.by_tag.empty() && !owner.congested;
        for (const auto& [tag, id] : owner.by_tag) {
          const Watcher& w = st.watchers.at(id);
          if (!st.synced(id) || st.published < w.spec.start_revision) ready = false;
        }
        self->send(owner.handle, watch_progress_atom::value, msgid,
                   ready ? st.published : int64_t{-1});
      },
      [self](watch_slow_atom, uint64_t tag, int64_t from) {
        auto& st = self->state;
        Owner& owner = owner_of(self);
        owner.congested = true;
        auto it = owner.by_tag.find(tag);
        if (it != owner.by_tag.end()) {
          // Everything before `from` was written to the client; from `from` on it catches
          // up from `kv`.
          st.watchers.at(it->second).next = from;
          st.unsynced.insert(it->second);
        }
        self->send(owner.handle, watch_unpark_atom::value, tag);
        st.publish_gauges();
      },
      [self](watch_drained_atom) {
        owner_of(self).congested = false;
        schedule_catch_up(self);
      },
      [self](watch_catch_up_atom) { catch_up(self); },
      [self](watch_tick_atom) {
        progress_tick(self);
        self->delayed_send(self, self->state.ctx->options.watch_progress_interval,
                           watch_tick_atom::value);
      },
  };
}

}  // namespace revkv::actors
