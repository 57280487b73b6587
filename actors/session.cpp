#include "actors/session.hpp"

#include "actors/messages.hpp"
#include "actors/msgpack_door.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace revkv::actors {

struct SessionState {
  SessionState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "session";
  ~SessionState() {
    if (metrics) metrics->connection_closed();
  }

  ::revkv::metrics::NodeMetrics* metrics = nullptr;
  NodeContextPtr ctx;  // keeps `metrics` alive
  caf::io::connection_handle hdl;
  caf::actor door;
  uint64_t queued = 0;       // bytes the door handed over
  uint64_t transferred = 0;  // ... that the socket took
  uint64_t reported = 0;     // ... as the door last heard
  bool closing = false;
  // Reading the socket, as the door last asked (read_atom); as last told to CAF (halt or
  // trigger); and whether that change may still wait in CAF's multiplexer (settle_reading).
  bool want_reading = true;
  bool reading = true;
  bool settling = false;
};

namespace {

using Self = caf::io::stateful_broker<SessionState>;

constexpr uint64_t kReportBytes = 256 * 1024;

// The multiplexer has applied the last halt or trigger (settle_reading).
using reading_settled_atom = caf::atom_constant<caf::atom("rdsettled")>;

// Tells CAF to stop or resume reading the socket as the door asks, one change per cycle of
// CAF 0.17's multiplexer. A halt() and a trigger() in the same cycle can lose the socket's
// read event for good: trigger() registers it only when the stream holds no reader, and the
// stream drops its reader only when the multiplexer applies a halt. So halt-then-trigger
// leaves it halted, and trigger-then-halt cancels the registration while the reader stays
// (every later trigger() then does nothing). Seen: a connection never read again after its
// door paused and resumed quickly. A task post()ed now runs after the multiplexer has
// applied this cycle's changes; only then is the next change made. This leans on CAF
// 0.17's default_multiplexer as it is (post() from its own thread queues the task for its
// next poll_once, which first applies the pending events): recheck it on a CAF upgrade.
// tests/node/bad_input_test.cpp's reads-in-turns case hung in about 2 runs of 5 without it.
void settle_reading(Self* self) {
  auto& st = self->state;
  if (st.closing || st.settling || st.want_reading == st.reading) return;
  st.reading = st.want_reading;
  if (st.reading) {
    self->trigger(st.hdl);
  } else {
    self->halt(st.hdl);
  }
  st.settling = true;
  self->backend().post([broker = caf::actor_cast<caf::actor>(self)] {
    caf::anon_send(broker, reading_settled_atom::value);
  });
}

void close_connection(Self* self) {
  auto& st = self->state;
  if (st.closing) return;
  st.closing = true;
  self->flush(st.hdl);
  self->close(st.hdl);
  if (st.door) self->send_exit(st.door, caf::exit_reason::user_shutdown);
  self->quit();
}

}  // namespace

caf::behavior session_actor(Self* self, caf::io::connection_handle hdl, NodeContextPtr ctx,
                            Routes routes, CertificateName name);

caf::actor fork_session(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                        NodeContextPtr ctx, Routes routes,
                        std::optional<std::string> certificate_cn) {
  return acceptor->fork(session_actor, hdl, std::move(ctx), std::move(routes),
                        CertificateName{std::move(certificate_cn)});
}

caf::behavior session_actor(Self* self, caf::io::connection_handle hdl, NodeContextPtr ctx,
                            Routes routes, CertificateName name) {
  auto& st = self->state;
  st.hdl = hdl;
  st.metrics = ctx->metrics.get();
  if (st.metrics) st.metrics->connection_opened();
  // The handle's id is the socket's descriptor (CAF's default multiplexer); the door
  // writes answers to a duplicate of it, off this thread. Close-on-exec like the original
  // (CAF marks those): a duplicate made while the member restarts in place
  // (actors/fatal.hpp) must not outlive the exec, keeping a connection open that no one reads.
  int socket = ::fcntl(static_cast<int>(hdl.id()), F_DUPFD_CLOEXEC, 0);
  st.door = spawn_msgpack_door(self->system(), ctx, std::move(routes),
                               caf::actor_cast<caf::actor>(self), socket, std::move(name.cn));
  st.ctx = std::move(ctx);
  self->monitor(st.door);
  self->set_down_handler([self](const caf::down_msg&) { close_connection(self); });
  self->configure_read(hdl, caf::io::receive_policy::at_most(64 * 1024));
  self->ack_writes(hdl, true);
  return {
      [self](caf::io::new_data_msg& msg) {
        auto& st = self->state;
        if (st.closing) return;
        if (st.metrics) st.metrics->bytes_received(msg.buf.size());
        self->send(st.door, bytes_atom::value, std::vector<char>(msg.buf.begin(), msg.buf.end()));
      },
      [self](caf::io::data_transferred_msg& msg) {
        // The door's limits are megabytes: it hears every 256 KiB and when everything it
        // handed over is sent (it then writes directly again), not of every write.
        auto& st = self->state;
        st.transferred += msg.written;
        bool drained = st.transferred == st.queued && st.reported != st.transferred;
        if (!st.closing && (drained || st.transferred - st.reported >= kReportBytes)) {
          st.reported = st.transferred;
          self->send(st.door, sent_atom::value, st.transferred);
        }
      },
      [self](bytes_atom, std::vector<char>& bytes) {
        auto& st = self->state;
        if (st.closing) return;
        st.queued += bytes.size();
        auto& out = self->wr_buf(st.hdl);
        if (out.empty()) {
          out.swap(bytes);
        } else {
          out.insert(out.end(), bytes.begin(), bytes.end());
        }
        self->flush(st.hdl);
      },
      [self](read_atom, bool on) {
        self->state.want_reading = on;
        settle_reading(self);
      },
      [self](reading_settled_atom) {
        self->state.settling = false;
        settle_reading(self);
      },
      [self](close_atom) { close_connection(self); },
      [self](const caf::io::connection_closed_msg&) { close_connection(self); },
      [self](shutdown_atom) { self->send(self->state.door, shutdown_atom::value); },
      [self](node_failed_atom, std::string& reason) {
        self->send(self->state.door, node_failed_atom::value, std::move(reason));
      },
      [self](leader_lost_atom, DrainHoldPtr& hold) {
        self->send(self->state.door, leader_lost_atom::value, std::move(hold));
      },
  };
}

}  // namespace revkv::actors
