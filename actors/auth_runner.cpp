#include "actors/auth_runner.hpp"

#include "actors/msgpack_auth.hpp"
#include "actors/thread_names.hpp"

#include <caf/all.hpp>

#include <deque>
#include <exception>
#include <map>
#include <msgpack.hpp>
#include <utility>

namespace revkv::actors {

using auth_turn_atom = caf::atom_constant<caf::atom("authturn")>;

struct AuthRunnerState {
  AuthRunnerState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "auth_runner";

  struct Waiting {
    AuthCallPtr call;
    caf::response_promise answer;
  };
  // Each door's calls in its order, and the doors with calls in the order of their turns.
  std::map<caf::actor_addr, std::deque<Waiting>> queues;
  std::deque<caf::actor_addr> turns;
  bool turn_sent = false;  // an auth_turn_atom is in the mailbox
};

namespace {

using Self = caf::stateful_actor<AuthRunnerState>;

constexpr int64_t kInternal = 13;  // gRPC's Internal

std::string run(const NodeContext& ctx, const AuthCall& call) {
  msgpack::sbuffer out;
  try {
    serve_auth_call(out, ctx, call.frame, call.certificate_cn);
  } catch (const std::exception& e) {
    // This call fails alone; the runner serves every door's calls and goes on.
    out.clear();
    protocol::write_error(
        out, call.frame.msgid,
        protocol::WireError{kInternal, std::string("revkv: auth call failed: ") + e.what()});
  }
  return std::string(out.data(), out.size());
}

// One call per turn, the doors taking turns: calls that arrive meanwhile join their door's
// queue first, so a door that pipelines hundreds of logins makes another door's one wait
// for at most one of them.
void send_turn(Self* self) {
  auto& st = self->state;
  if (st.turn_sent || st.turns.empty()) return;
  st.turn_sent = true;
  self->send(self, auth_turn_atom::value);
}

caf::behavior auth_runner(Self* self, NodeContextPtr ctx) {
  name_this_thread("revkv.auth");
  // A door that is gone (its connection closed) is owed nothing: its calls are dropped, not
  // run for no one.
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& st = self->state;
    st.queues.erase(down.source);
    std::erase(st.turns, down.source);
  });
  return {
      [self](auth_call_atom, AuthCallPtr& call) -> caf::result<std::string> {
        auto& st = self->state;
        auto door = caf::actor_cast<caf::actor_addr>(self->current_sender());
        auto [queue, first] = st.queues.try_emplace(door);
        if (first) self->monitor(door);
        if (queue->second.empty()) st.turns.push_back(door);
        auto answer = self->make_response_promise();
        queue->second.push_back({std::move(call), answer});
        send_turn(self);
        return answer;
      },
      [self, ctx](auth_turn_atom) {
        auto& st = self->state;
        st.turn_sent = false;
        if (st.turns.empty()) return;
        const auto door = st.turns.front();
        st.turns.pop_front();
        auto& queue = st.queues[door];
        auto next = std::move(queue.front());
        queue.pop_front();
        if (!queue.empty()) st.turns.push_back(door);
        next.answer.deliver(run(*ctx, *next.call));
        send_turn(self);
      },
  };
}

}  // namespace

caf::actor spawn_auth_runner(caf::actor_system& sys, NodeContextPtr ctx) {
  return sys.spawn<caf::detached>(auth_runner, std::move(ctx));
}

}  // namespace revkv::actors
