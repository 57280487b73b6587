#pragma once

// The backend actor as a door's request path reaches it in tests on CAF's deterministic
// coordinator, where the test plays the backend (it moves the watermark itself).

#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace revkv::testing {

// The backend actor as a door's request path reaches it: the all_durable_atom it asks
// before a write's refusal leaves, and the wait_atom a follower asks before the answer to a
// write it forwarded leaves, each answered at once unless the test holds the answers; a
// flush_atom sent to it answers those held.
struct BackendStub {
  bool hold = false;
  std::vector<int64_t> asked;   // the revisions asked for with all_durable_atom, in order
  std::vector<int64_t> waited;  // ... with wait_atom
  std::vector<std::pair<int64_t, caf::response_promise>> held;
};

inline caf::result<int64_t> stub_answer(caf::event_based_actor* self, BackendStub& stub,
                                        int64_t revision) {
  if (!stub.hold) return revision;
  auto rp = self->make_response_promise();
  stub.held.emplace_back(revision, rp);
  return rp;
}

inline caf::behavior backend_stub(caf::event_based_actor* self, std::shared_ptr<BackendStub> stub) {
  return {
      [self, stub](actors::all_durable_atom, int64_t revision) -> caf::result<int64_t> {
        stub->asked.push_back(revision);
        return stub_answer(self, *stub, revision);
      },
      [self, stub](actors::wait_atom, int64_t revision) -> caf::result<int64_t> {
        stub->waited.push_back(revision);
        return stub_answer(self, *stub, revision);
      },
      [self, stub](actors::wait_atom, int64_t revision, caf::timespan) -> caf::result<int64_t> {
        stub->waited.push_back(revision);
        return stub_answer(self, *stub, revision);
      },
      [stub](actors::flush_atom) {
        for (auto& [revision, rp] : std::exchange(stub->held, {}))
          rp.deliver(revision);
      },
  };
}

}  // namespace revkv::testing
