#include "cluster/progress_watch.hpp"

#include <cstdio>

namespace revkv::cluster {
namespace {

std::string progress_state_name(unsigned short state) {
  // libraft 0.15's PROGRESS__PROBE, __PIPELINE and __SNAPSHOT (its src/progress.h).
  switch (state) {
    case 0:
      return "probe";
    case 1:
      return "pipeline";
    case 2:
      return "snapshot";
    default:
      return "unknown (" + std::to_string(state) + ")";
  }
}

std::string hex(std::uint64_t id) {
  char text[17];
  std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(id));
  return text;
}

long long seconds_since(ProgressWatch::Clock::time_point since,
                        ProgressWatch::Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
}

}  // namespace

ReplicationView replication_view(const raft& node) {
  auto& mutable_node = const_cast<raft&>(node);  // libraft's getters take no const
  ReplicationView view;
  view.term = node.current_term;
  view.commit = node.commit_index;
  view.applied = raft_last_applied(&mutable_node);
  view.last = raft_last_index(&mutable_node);
  view.leader = raft_state(&mutable_node) == RAFT_LEADER;
  if (!view.leader) return view;
  for (unsigned i = 0; i < node.configuration.n; ++i) {
    const raft_server& server = node.configuration.servers[i];
    if (server.id == node.id || server.role == RAFT_SPARE) continue;
    const raft_progress& p = node.leader_state.progress[i];
    view.peers.push_back({server.id, server.address != nullptr ? server.address : "",
                          progress_state_name(p.state), p.next_index, p.match_index,
                          p.snapshot_index, p.recent_recv});
  }
  return view;
}

ProgressWatch::Seen ProgressWatch::track(Watched& w, std::uint64_t value, bool behind,
                                         Clock::time_point now) {
  if (!w.seen || value != w.value || !behind) {
    const bool was_reported = w.reported;
    w = Watched{true, value, now};
    return was_reported ? Seen::recovered : Seen::moving;
  }
  if (now - w.since < kStallAfter) return Seen::moving;
  if (w.reported && now - w.reported_at < kRepeatEvery) return Seen::stalled;
  w.reported = true;
  w.reported_at = now;
  return Seen::report;
}

void ProgressWatch::look(const ReplicationView& view, Clock::time_point now) {
  switch (track(applied_, view.applied, view.commit > view.applied, now)) {
    case Seen::report:
      say_("applied index " + std::to_string(view.applied) + " has not moved for " +
           std::to_string(seconds_since(applied_.since, now)) + " s below commit index " +
           std::to_string(view.commit) + " (last index " + std::to_string(view.last) + ", term " +
           std::to_string(view.term) + ")");
      break;
    case Seen::recovered:
      say_("applied index moves again (" + std::to_string(view.applied) + ")");
      break;
    default:
      break;
  }
  std::unordered_map<std::uint64_t, Watched> watched;
  for (const auto& peer : view.peers) {
    auto known = matches_.find(peer.id);
    Watched w = known != matches_.end() ? known->second : Watched{};
    switch (track(w, peer.match, peer.match < view.last, now)) {
      case Seen::report:
        say_("member " + hex(peer.id) + " (" + peer.address + ") has replicated nothing for " +
             std::to_string(seconds_since(w.since, now)) + " s: match index " +
             std::to_string(peer.match) + ", log at " + std::to_string(view.last) +
             "; libraft's progress: state " + peer.state + ", next index " +
             std::to_string(peer.next) + ", snapshot index " + std::to_string(peer.snapshot) +
             ", heard from recently: " + (peer.heard_recently ? "yes" : "no"));
        break;
      case Seen::recovered:
        say_("member " + hex(peer.id) + " replicates again (match index " +
             std::to_string(peer.match) + ")");
        break;
      default:
        break;
    }
    watched.emplace(peer.id, w);
  }
  // Only while leading, and only members still in the configuration.
  matches_ = std::move(watched);
}

}  // namespace revkv::cluster
