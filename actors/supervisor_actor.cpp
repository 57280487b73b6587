#include "actors/supervisor_actor.hpp"

#include "actors/messages.hpp"
#include "actors/thread_names.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace revkv::actors {

struct SupervisorState {
  SupervisorState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "supervisor";

  NodeContextPtr ctx;
  std::map<caf::actor_addr, std::string> names;  // the watched actors still alive
  caf::actor acceptor;
  FailureCallback on_failure;
};

namespace {

using Self = caf::stateful_actor<SupervisorState>;

// exit_reason::normal is the empty error, which renders as "none".
std::string describe(caf::actor_system& sys, const caf::error& reason) {
  return reason ? sys.render(reason) : "exit_reason(normal)";
}

}  // namespace

caf::behavior supervisor_actor(Self* self, NodeContextPtr ctx, std::vector<NamedActor> watched,
                               caf::actor acceptor, FailureCallback on_failure);

caf::actor spawn_supervisor_actor(caf::actor_system& sys, NodeContextPtr ctx,
                                  std::vector<NamedActor> watched, caf::actor acceptor,
                                  FailureCallback on_failure) {
  // Detached: the one actor that must react when the others misbehave does not queue for
  // a scheduler thread behind them.
  return sys.spawn<caf::detached>(supervisor_actor, std::move(ctx), std::move(watched),
                                  std::move(acceptor), std::move(on_failure));
}

caf::behavior supervisor_actor(Self* self, NodeContextPtr ctx, std::vector<NamedActor> watched,
                               caf::actor acceptor, FailureCallback on_failure) {
  name_this_thread("revkv.supervise");  // detached: this is its own thread
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.acceptor = std::move(acceptor);
  st.on_failure = std::move(on_failure);
  for (auto& [name, actor] : watched) {
    // An actor that is already gone is reported at once: monitor() of a dead actor
    // delivers its down message immediately.
    self->monitor(actor);
    st.names.emplace(actor.address(), std::move(name));
  }
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    auto it = st.names.find(down.source);
    if (it == st.names.end()) return;
    std::string reason =
        "core actor " + it->second + " died: " + describe(self->system(), down.reason);
    st.names.erase(it);
    // Every death is logged; only the first is the node's failure (later ones usually
    // follow from it).
    spdlog::error("supervision: {}; the node cannot serve and exits", reason);
    if (!st.ctx->failure.record(reason)) return;
    if (st.acceptor) self->send(st.acceptor, node_failed_atom::value, reason);
    if (st.on_failure) st.on_failure(reason);
  });
  return {
      // CAF ends an actor without a behavior: this one handler keeps it alive, and lets
      // a test ask what was recorded.
      [self](caf::get_atom) { return self->state.ctx->failure.reason(); },
  };
}

}  // namespace revkv::actors
