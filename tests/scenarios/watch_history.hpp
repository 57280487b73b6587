#pragma once

// The event history of a target that has watch streams (Feature::history over
// Feature::watch): what a watch of every key from `from` replays, up to `to`. Shared by the
// TCP and the actor-harness scenario targets.

#include "tests/scenarios/scenario_target.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace revkv::testing {

inline Outcome<std::vector<storage::Event>> replay_history(WatchStreamHandle& stream, int64_t from,
                                                           int64_t to) {
  protocol::WatchCreateRequest create;
  create.key = std::string(1, '\0');
  create.range_end = std::string(1, '\0');
  create.start_revision = from;
  REQUIRE(stream.request(protocol::WatchRequest{create}));
  std::vector<storage::Event> out;
  for (;;) {
    auto r = stream.next(std::chrono::seconds(10));
    REQUIRE(r);
    if (r->canceled) return api_error(storage::Error{storage::Errc::compacted});
    for (auto& ev : r->events)
      if (ev.kv.mod_revision <= to) out.push_back(std::move(ev));
    if (!r->events.empty() && r->events.back().kv.mod_revision >= to) return out;
  }
}

}  // namespace revkv::testing
