#include "actors/read_index_actor.hpp"

#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <utility>
#include <vector>

namespace revkv::actors {

struct ReadIndexState {
  ReadIndexState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "read_index";

  std::shared_ptr<ClusterLink> link;
  std::vector<caf::response_promise> waiting;    // for the next barrier
  std::vector<caf::response_promise> in_flight;  // for the running one
  bool busy = false;
};

namespace {

using Self = caf::stateful_actor<ReadIndexState>;

void start_barrier(Self* self) {
  auto& st = self->state;
  if (st.busy || st.waiting.empty()) return;
  st.busy = true;
  st.in_flight = std::exchange(st.waiting, {});
  auto me = caf::actor_cast<caf::actor>(self);
  st.link->barrier([me](bool ok) { caf::anon_send(me, barrier_done_atom::value, ok); });
}

caf::behavior read_index_actor(Self* self, std::shared_ptr<ClusterLink> link) {
  self->state.link = std::move(link);
  return {
      [self](read_index_atom) -> caf::result<bool> {
        auto rp = self->make_response_promise();
        self->state.waiting.push_back(rp);
        start_barrier(self);
        return rp;
      },
      [self](barrier_done_atom, bool ok) {
        auto& st = self->state;
        for (auto& rp : st.in_flight)
          rp.deliver(ok);
        st.in_flight.clear();
        st.busy = false;
        start_barrier(self);
      },
  };
}

}  // namespace

caf::actor spawn_read_index_actor(caf::actor_system& sys, std::shared_ptr<ClusterLink> link) {
  return sys.spawn(read_index_actor, std::move(link));
}

}  // namespace revkv::actors
