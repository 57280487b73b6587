#include "tests/actors/harness_watch_stream.hpp"

#include "actors/request_path.hpp"
#include "tests/actors/actor_harness.hpp"
#include "tests/actors/harness_door.hpp"

namespace revkv::testing {

HarnessWatchStream::HarnessWatchStream(caf::actor_system& sys, actors::NodeContextPtr ctx,
                                       const actors::Routes& routes,
                                       std::chrono::milliseconds timeout)
    : self_(sys, /*hide=*/true), timeout_(timeout) {
  door_ = spawn_harness_door(sys, std::move(ctx), routes, caf::actor{self_});
}

HarnessWatchStream::~HarnessWatchStream() {
  caf::anon_send_exit(door_, caf::exit_reason::user_shutdown);
}

std::optional<protocol::WatchResponse> HarnessWatchStream::request(
    const protocol::WatchRequest& request) {
  auto handle = self_->request(door_, timeout_, harness_call_atom::value, actors::Request{request});
  // Watch responses the door sends meanwhile stay in the scoped actor's mailbox (receive
  // below skips them) until next() takes them.
  std::optional<actors::Answer> answer;
  caf::error failure;
  handle.receive([&](actors::Answer& a) { answer = std::move(a); },
                 [&](caf::error& e) { failure = std::move(e); });
  if (!answer) {
    throw CallTimeout("the watch stream did not answer within " + std::to_string(timeout_.count()) +
                      " ms: " + caf::to_string(failure));
  }
  auto* response = std::get_if<actors::Response>(&*answer);
  if (!response) throw CallFailed("watch: " + actors::wire_error(*answer).message);
  if (std::holds_alternative<actors::NoAnswer>(*response)) return std::nullopt;
  return std::get<protocol::WatchResponse>(*response);
}

std::optional<protocol::WatchResponse> HarnessWatchStream::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (inbox_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !receive(left)) break;
  }
  if (inbox_.empty()) return std::nullopt;
  auto out = std::move(inbox_.front());
  inbox_.pop_front();
  return out;
}

bool HarnessWatchStream::receive(std::chrono::milliseconds timeout) {
  bool got = true;
  self_->receive(
      [&](harness_watch_atom, protocol::WatchResponse& r) { inbox_.push_back(std::move(r)); },
      [&](harness_chunk_atom, protocol::SnapshotChunk&) {},
      caf::after(timeout) >> [&] { got = false; });
  return got;
}

}  // namespace revkv::testing
