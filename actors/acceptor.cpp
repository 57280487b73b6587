#include "actors/acceptor.hpp"

#include "actors/messages.hpp"
#include "actors/thread_names.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <set>
#include <unistd.h>

namespace revkv::actors {

struct AcceptorState {
  AcceptorState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "acceptor";
  NodeContextPtr ctx;
  Routes routes;
  std::set<caf::actor_addr> sessions;
  bool stopping = false;
  bool refusing = false;  // a leadership drain closed the listener (leader_lost_atom)
};

caf::behavior acceptor_actor(caf::io::stateful_broker<AcceptorState>* self, NodeContextPtr ctx,
                             Routes routes);

caf::actor spawn_acceptor(caf::actor_system& sys, caf::io::doorman_ptr doorman, NodeContextPtr ctx,
                          Routes routes) {
  return sys.middleman().spawn_broker(
      [ptr = std::move(doorman)](caf::io::stateful_broker<AcceptorState>* self, NodeContextPtr c,
                                 Routes r) mutable {
        if (ptr) self->add_doorman(std::move(ptr));
        return acceptor_actor(self, std::move(c), std::move(r));
      },
      std::move(ctx), std::move(routes));
}

caf::behavior acceptor_actor(caf::io::stateful_broker<AcceptorState>* self, NodeContextPtr ctx,
                             Routes routes) {
  // This runs on CAF's I/O thread, as every broker does.
  name_io_and_worker_threads();
  self->state.ctx = std::move(ctx);
  self->state.routes = std::move(routes);
  self->set_down_handler([self](caf::down_msg& msg) {
    self->state.sessions.erase(msg.source);
    if (self->state.stopping && self->state.sessions.empty()) self->quit();
  });
  return {
      [self](const caf::io::new_connection_msg& msg) {
        auto& st = self->state;
        auto session = fork_session(self, msg.handle, st.ctx, st.routes, std::nullopt);
        self->monitor(session);
        st.sessions.insert(session.address());
      },
      [](const caf::io::acceptor_closed_msg&) {},
      [self](adopt_atom, int fd, CertificateName& name) {
        auto& st = self->state;
        if (st.stopping || st.refusing) {
          ::close(fd);
          return;
        }
        auto session =
            fork_session(self, self->add_scribe(fd), st.ctx, st.routes, std::move(name.cn));
        self->monitor(session);
        st.sessions.insert(session.address());
      },
      [self](node_failed_atom, const std::string& reason) {
        for (const auto& addr : self->state.sessions) {
          if (auto session = caf::actor_cast<caf::actor>(addr))
            self->send(session, node_failed_atom::value, reason);
        }
      },
      [self](leader_lost_atom, const DrainHoldPtr& hold) {
        // The member restarts in place once the drain ends: a connection accepted from now
        // on could land in this process just as it executes the new image (and a
        // descriptor made after the close-on-exec marking would outlive it, unread). Closed,
        // the port refuses until the new image binds it again; clients retry.
        self->state.refusing = true;
        self->close_all();  // only the listening socket: the sessions are brokers of their own
        for (const auto& addr : self->state.sessions) {
          if (auto session = caf::actor_cast<caf::actor>(addr))
            self->send(session, leader_lost_atom::value, hold);
        }
      },
      [self](shutdown_atom) {
        auto& st = self->state;
        st.stopping = true;
        self->close_all();  // the acceptor holds only the listening socket
        for (const auto& addr : st.sessions) {
          if (auto session = caf::actor_cast<caf::actor>(addr))
            self->send(session, shutdown_atom::value);
        }
        if (st.sessions.empty()) self->quit();
      },
  };
}

}  // namespace revkv::actors
