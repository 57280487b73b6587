// cluster/progress_watch.hpp: the lines a member's log gets when Raft replication stalls,
// on an injected clock.

#include "cluster/progress_watch.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace revkv::cluster {
namespace {

using namespace std::chrono_literals;

struct Said {
  std::vector<std::string> lines;
  ProgressWatch watch{[this](const std::string& line) { lines.push_back(line); }};
};

ReplicationView leading(std::uint64_t last, std::uint64_t match) {
  ReplicationView view;
  view.leader = true;
  view.term = 3;
  view.commit = view.applied = view.last = last;
  ReplicationView::Peer peer;
  peer.id = 0xabc;
  peer.address = "127.0.0.1:7001";
  peer.state = "snapshot";
  peer.next = 8193;
  peer.match = match;
  peer.snapshot = 8192;
  view.peers.push_back(peer);
  return view;
}

TEST_CASE("progress watch: a member that replicates nothing while the log grows is reported",
          "[cluster]") {
  Said said;
  const auto t0 = ProgressWatch::Clock::time_point{} + 1h;
  said.watch.look(leading(9000, 9000), t0);
  said.watch.look(leading(9100, 9000), t0 + 5s);
  CHECK(said.lines.empty());
  said.watch.look(leading(9200, 9000), t0 + 10s);
  REQUIRE(said.lines.size() == 1);
  CHECK(said.lines[0] ==
        "member abc (127.0.0.1:7001) has replicated nothing for 10 s: match index 9000, log at "
        "9200; libraft's progress: state snapshot, next index 8193, snapshot index 8192, heard "
        "from recently: no");
  // Once, then again only every minute while it lasts.
  said.watch.look(leading(9300, 9000), t0 + 20s);
  CHECK(said.lines.size() == 1);
  said.watch.look(leading(9400, 9000), t0 + 70s);
  CHECK(said.lines.size() == 2);
  said.watch.look(leading(9500, 9450), t0 + 71s);
  REQUIRE(said.lines.size() == 3);
  CHECK(said.lines[2] == "member abc replicates again (match index 9450)");
}

TEST_CASE("progress watch: a member caught up, or an idle log, is no stall", "[cluster]") {
  Said said;
  const auto t0 = ProgressWatch::Clock::time_point{} + 1h;
  // Nothing written for a minute: the match index stays, and so does the log.
  for (int s = 0; s <= 60; s += 5)
    said.watch.look(leading(9000, 9000), t0 + std::chrono::seconds(s));
  // Followers do not watch members.
  ReplicationView follower;
  follower.commit = follower.applied = follower.last = 9000;
  said.watch.look(follower, t0 + 61s);
  CHECK(said.lines.empty());
}

TEST_CASE("progress watch: an applied index that stays below the commit index is reported",
          "[cluster]") {
  Said said;
  const auto t0 = ProgressWatch::Clock::time_point{} + 1h;
  ReplicationView view;
  view.term = 2;
  // A member that just started, behind at its first look: no stall yet.
  view.commit = view.last = 50;
  said.watch.look(view, t0 - 1s);
  CHECK(said.lines.empty());
  view.applied = 9166;
  view.commit = 9166;
  view.last = 9166;
  said.watch.look(view, t0);
  view.commit = view.last = 9500;
  said.watch.look(view, t0 + 9s);
  CHECK(said.lines.empty());
  said.watch.look(view, t0 + 11s);
  REQUIRE(said.lines.size() == 1);
  CHECK(said.lines[0] ==
        "applied index 9166 has not moved for 11 s below commit index 9500 (last index 9500, "
        "term 2)");
  view.applied = 9500;
  said.watch.look(view, t0 + 12s);
  REQUIRE(said.lines.size() == 2);
  CHECK(said.lines[1] == "applied index moves again (9500)");
}

}  // namespace
}  // namespace revkv::cluster
