#include "actors/auth_runner.hpp"

#include "actors/msgpack_auth.hpp"
#include "actors/thread_names.hpp"

#include <caf/all.hpp>

#include <exception>
#include <msgpack.hpp>

namespace revkv::actors {
namespace {

constexpr int64_t kInternal = 13;  // gRPC's Internal

caf::behavior auth_runner(caf::event_based_actor*, NodeContextPtr ctx) {
  name_this_thread("revkv.auth");
  return {
      [ctx](auth_call_atom, const AuthCallPtr& call) {
        msgpack::sbuffer out;
        try {
          serve_auth_call(out, *ctx, call->frame, call->certificate_cn);
        } catch (const std::exception& e) {
          // This call fails alone; the runner serves every door's calls and goes on.
          out.clear();
          protocol::write_error(
              out, call->frame.msgid,
              protocol::WireError{kInternal, std::string("revkv: auth call failed: ") + e.what()});
        }
        return std::string(out.data(), out.size());
      },
  };
}

}  // namespace

caf::actor spawn_auth_runner(caf::actor_system& sys, NodeContextPtr ctx) {
  return sys.spawn<caf::detached>(auth_runner, std::move(ctx));
}

}  // namespace revkv::actors
